"""Silero VAD (v5, 16 kHz) in numpy: the ``silero-vad`` package's safetensors weights, run on synthetic audio.

The network, as the package's own ``tinygrad_model.py`` defines it: audio is
cut into chunks of 512 samples, each preceded by the previous chunk's last 64
samples (zeros before the first) and reflect-padded by 64 at the end (640
samples). A fixed 1-D convolution (258 filters of 256 taps, stride 128: the
real and imaginary parts of a 129-bin short-time Fourier transform) gives 4
frames; their magnitudes go through four 1-D convolutions (kernel 3, padding
1; strides 1, 2, 2, 1; ReLU), leaving one 128-wide feature per chunk, which
drives an LSTM cell (input and hidden 128: ``W_ih`` and ``W_hh`` are
512 x 128, gates in PyTorch's order i, f, g, o) carried from chunk to chunk;
ReLU of the hidden state, a 1x1 convolution to one output and a sigmoid give
the speech probability of the chunk.

As layers: the convolutions run over all chunks at once (batch = chunks, a
1-D convolution is a 2-D one of height 1, its time padding stored in the
input); the LSTM is one layer with ``W = [W_ih | W_hh]`` (512 x 256) and one
column ``[x_t; h_{t-1}]`` per chunk, the ``lstm`` op of the workload zoo. The
Fourier filter bank is not learned, so it is captured but never pruned
(``prunable = False``).

The input is synthetic (no recording ships with the packages): low noise,
then a voiced vowel-like sound (a 120 Hz glottal pulse train through two
formant resonators, amplitude-modulated at a syllable rate of 4 Hz), then low
noise again. Fidelity compares the pruned model's per-chunk speech
probabilities with the dense model's.
"""
from __future__ import annotations

import numpy as np

from ...errors import TraceError
from .nn import Tape, package_file, sigmoid
from .safetensors import load_safetensors

PIP_NAME = "silero-vad"
PACKAGE = "silero_vad"
WEIGHTS = "data/silero_vad_16k.safetensors"
RATE = 16000
CHUNK = 512
CONTEXT = 64
HIDDEN = 128
#: (name, stride) of the four learned 1-D convolutions, kernel 3, padding 1
CONVS = [("conv1", 1), ("conv2", 2), ("conv3", 2), ("conv4", 1)]


def weights_path():
    return package_file(PACKAGE, PIP_NAME, WEIGHTS)


def load_weights(path=None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(weights, biases)`` by layer name, weights in the GEMM view."""
    sd = load_safetensors(path or weights_path())
    try:
        W = {"stft": sd["stft_conv.weight"].reshape(258, -1)}
        Bs = {}
        for name, _ in CONVS:
            w = sd[f"{name}.weight"]
            W[name] = w.reshape(w.shape[0], -1)
            Bs[name] = sd[f"{name}.bias"]
        W["lstm"] = np.concatenate([sd["lstm_cell.weight_ih"], sd["lstm_cell.weight_hh"]], axis=1)
        Bs["lstm"] = sd["lstm_cell.bias_ih"] + sd["lstm_cell.bias_hh"]
        W["final"] = sd["final_conv.weight"].reshape(1, -1)
        Bs["final"] = sd["final_conv.bias"]
    except KeyError as e:
        raise TraceError(f"silero-vad weights lack tensor {e}") from None
    return {k: v.astype(np.float32) for k, v in W.items()}, {k: v.astype(np.float32) for k, v in Bs.items()}


def chunks(audio: np.ndarray) -> np.ndarray:
    """``(n_chunks, 640)``: each chunk with its 64 samples of context and 64 reflected at the end."""
    a = np.asarray(audio, dtype=np.float32).ravel()
    if a.size == 0:
        raise TraceError("silero-vad needs at least one sample of audio")
    a = np.pad(a, (0, -a.size % CHUNK))
    n = a.size // CHUNK
    padded = np.concatenate([np.zeros(CONTEXT, np.float32), a])
    idx = np.arange(n)[:, None] * CHUNK + np.arange(CONTEXT + CHUNK)[None, :]
    x = padded[idx]
    return np.pad(x, ((0, 0), (0, CONTEXT)), mode="reflect")


def forward(tape: Tape, biases: dict[str, np.ndarray], audio: np.ndarray) -> np.ndarray:
    """Speech probability per chunk of *audio* (16 kHz, float in [-1, 1])."""
    x = chunks(audio)[:, None, None, :]                                      # B x 1 x 1 x 640
    spec = tape.conv("stft", x, 1, 256, stride=128, prunable=False)         # B x 258 x 1 x 4
    half = spec.shape[1] // 2
    h = np.sqrt(spec[:, :half] ** 2 + spec[:, half:] ** 2)
    for name, stride in CONVS:
        h = tape.conv(name, h, 1, 3, stride=stride, pads=(0, 0, 1, 1))
        h = np.maximum(h + biases[name][None, :, None, None], 0.0)
    feats = h[:, :, 0, 0]                                                   # B x 128 (one frame per chunk)
    w = tape.weights["lstm"]
    b = biases["lstm"]
    hs = np.zeros(HIDDEN, np.float32)
    cs = np.zeros(HIDDEN, np.float32)
    cols = np.empty((2 * HIDDEN, feats.shape[0]), np.float32)
    outs = np.empty((HIDDEN, feats.shape[0]), np.float32)
    for t in range(feats.shape[0]):
        cols[:HIDDEN, t] = feats[t]
        cols[HIDDEN:, t] = hs
        g = w @ cols[:, t] + b
        i, f, gg, o = (sigmoid(g[:HIDDEN]), sigmoid(g[HIDDEN:2 * HIDDEN]), np.tanh(g[2 * HIDDEN:3 * HIDDEN]),
                       sigmoid(g[3 * HIDDEN:]))
        cs = f * cs + i * gg
        hs = (o * np.tanh(cs)).astype(np.float32)
        outs[:, t] = hs
    tape.fc("lstm", cols, op="lstm")                  # records the layer: the same W @ [x_t; h_t-1] per chunk
    z = tape.fc("final", np.maximum(outs, 0.0)) + biases["final"][:, None]
    return sigmoid(z[0])


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
