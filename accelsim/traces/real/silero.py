"""Silero VAD (v5, 16 kHz): the ``silero-vad`` package's own ONNX graph, run by onnxruntime on synthetic audio.

The package ships ONNX exports of the network; accelsim runs
``data/silero_vad_16k_sequence.onnx``, the export without control flow that
takes a whole sequence of chunks at once (``input``: ``n x 576``, each chunk's
512 samples preceded by the previous chunk's last 64, zeros before the first;
``h`` and ``c``: the LSTM state, zeros at the start). The graph (as the
package's ``tinygrad_model.py`` also writes it): reflect padding by 64, a
fixed 1-D convolution (258 filters of 256 taps, stride 128: the real and
imaginary parts of a 129-bin short-time Fourier transform) giving 4 frames,
their magnitudes, four 1-D convolutions (kernel 3, padding 1; strides 1, 2,
2, 1; ReLU) leaving one 128-wide feature per chunk, an LSTM (hidden 128)
across the chunks, ReLU, a 1x1 convolution and a sigmoid: the speech
probability of each chunk.

As layers (node names mapped to short ones): ``stft`` (the Fourier filter
bank: not learned, so never pruned), ``conv1`` .. ``conv4`` (1-D convolutions
are 2-D ones of height 1; their time padding is stored in the input),
``lstm`` (``W = [W_ih | W_hh]``, 512 x 256, one column ``[x_t; h_{t-1}]`` per
chunk) and ``final``.

The input is synthetic (no recording ships with the packages): low noise,
then a voiced vowel-like sound (a 120 Hz glottal pulse train through three
formant resonators, amplitude-modulated at a syllable rate of 4 Hz), then low
noise again. Fidelity compares the pruned model's per-chunk speech
probabilities with the dense model's.
"""
from __future__ import annotations

import numpy as np

from ...errors import TraceError
from .common import package_file

PIP_NAME = "silero-vad"
PACKAGE = "silero_vad"
ONNX_FILE = "data/silero_vad_16k_sequence.onnx"
RATE = 16000
CHUNK = 512
CONTEXT = 64
HIDDEN = 128
#: the graph's node names -> the layer names accelsim uses
RENAME = {"/stft/Conv": "stft", "/encoder.0/Conv": "conv1", "/encoder.1/Conv": "conv2",
          "/encoder.2/Conv": "conv3", "/encoder.3/Conv": "conv4", "/recurrent/LSTM": "lstm",
          "/output/Conv": "final"}
#: the Fourier filter bank is fixed, not learned: never pruned
FROZEN = ("stft",)


def onnx_path():
    return package_file(PACKAGE, PIP_NAME, ONNX_FILE)


def chunks(audio: np.ndarray) -> np.ndarray:
    """``(n_chunks, 576)``: each chunk of 512 samples preceded by 64 samples of context (zeros at first)."""
    a = np.asarray(audio, dtype=np.float32).ravel()
    if a.size == 0:
        raise TraceError("silero-vad needs at least one sample of audio")
    a = np.pad(a, (0, -a.size % CHUNK))
    n = a.size // CHUNK
    padded = np.concatenate([np.zeros(CONTEXT, np.float32), a])
    idx = np.arange(n)[:, None] * CHUNK + np.arange(CONTEXT + CHUNK)[None, :]
    return np.ascontiguousarray(padded[idx])


def feeds(audio: np.ndarray) -> dict[str, np.ndarray]:
    return {"input": chunks(audio), "h": np.zeros((1, 1, HIDDEN), np.float32),
            "c": np.zeros((1, 1, HIDDEN), np.float32)}


def synthetic_audio(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """Low noise, a voiced vowel-like middle half, low noise; 16 kHz float32."""
    rng = np.random.default_rng([int(seed), 7])
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    pulses = np.zeros(n)
    pulses[(np.arange(0, n, RATE // 120))] = 1.0                           # 120 Hz glottal pulses
    voiced = pulses
    for f0, bw in ((700.0, 110.0), (1220.0, 120.0), (2600.0, 160.0)):     # formants of an /a/
        r = np.exp(-np.pi * bw / RATE)
        a1, a2 = 2 * r * np.cos(2 * np.pi * f0 / RATE), -r * r
        y = np.zeros(n)
        y1 = y2 = 0.0
        for k in range(n):
            v = voiced[k] + a1 * y1 + a2 * y2
            y[k], y2, y1 = v, y1, v
        voiced = y
    voiced /= np.abs(voiced).max()
    env = 0.5 * (1 - np.cos(2 * np.pi * 4.0 * t)) * ((t > seconds / 4) & (t < 3 * seconds / 4))
    audio = 0.5 * env * voiced + 0.003 * rng.standard_normal(n)
    return audio.astype(np.float32)
