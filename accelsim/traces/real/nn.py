"""The numpy forward-pass machinery shared by the real models: layers run as GEMMs on a tape.

Every weighted layer runs exactly as a trace describes it: ``W (M x K) @ X (K x N)``
with ``X`` the im2col of the stored input (:meth:`LayerTrace.gemms`), so a
captured layer's :meth:`~accelsim.traces.LayerTrace.output` is, by
construction, what the forward pass computed. The :class:`Tape` holds the
weights in the GEMM view (dense or pruned), records each layer's geometry and
input as the trace stores it, and measures how far each layer's output is from
the dense model's.

Padding that a :class:`~accelsim.workload.Layer` cannot express with its one
symmetric ``pad`` (TensorFlow's "same" padding of stride-2 layers, 1-D
convolutions padded along time only) is applied to the stored input, and the
layer is recorded with ``pad = 0``; ``info["prepadded"]`` says so.
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np

from ...errors import TraceError
from ...workload.layer import Layer, conv, gemm
from ..trace import im2col


def package_dir(name: str, pip_name: str) -> Path:
    """Where an installed package's files are, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    locs = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locs:
        raise TraceError(f"package '{pip_name}' is not installed; install it with "
                         f"`pip install --no-deps {pip_name}`")
    return Path(locs[0])


def package_file(name: str, pip_name: str, rel: str) -> Path:
    p = package_dir(name, pip_name) / rel
    if not p.is_file():
        raise TraceError(f"package '{pip_name}' has no file '{rel}' (a different version?)")
    return p


def rel_error(a: np.ndarray, ref: np.ndarray) -> float:
    """``||a - ref|| / ||ref||`` in float64 (0 when both are zero)."""
    a = np.asarray(a, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    den = float(np.linalg.norm(ref))
    num = float(np.linalg.norm(a - ref))
    if den == 0.0:
        return 0.0 if num == 0.0 else math.inf
    return num / den


class Tape:
    """Runs weighted layers as GEMMs and records what a trace needs.

    *weights* maps a layer name to its GEMM-view matrix (``M x K``, float32).
    With *dense* (the unpruned matrices) given, every layer also reports
    ``local_rel_error``: ``||(W - W_dense) X|| / ||W_dense X||`` on this
    run's own input, the error that pruning this layer alone adds. With
    *reference* (the dense run's outputs by layer) given, ``output_rel_error``
    compares this layer's output with the dense model's at the same place,
    with every error upstream included.
    """

    def __init__(self, weights: dict[str, np.ndarray], dense: dict[str, np.ndarray] | None = None,
                 reference: dict[str, np.ndarray] | None = None, keep_outputs: bool = False):
        self.weights = weights
        self.dense = dense
        self.reference = reference
        self.keep_outputs = keep_outputs
        self.layers: dict[str, Layer] = {}
        self.inputs: dict[str, np.ndarray] = {}
        self.outputs: dict[str, np.ndarray] = {}
        self.info: dict[str, dict] = {}

    # ---- recording ----------------------------------------------------------
    def _record(self, lay: Layer, x_stored: np.ndarray, y: np.ndarray, x_gemm_fn, info: dict) -> None:
        name = lay.name
        if name in self.layers:
            raise TraceError(f"layer '{name}' runs twice in one forward pass")
        self.layers[name] = lay
        self.inputs[name] = x_stored
        if self.keep_outputs:  # a copy: callers add biases and clip in place on what a layer returns
            self.outputs[name] = y.copy()
        if self.dense is not None and self.dense[name] is not self.weights[name]:
            y_dense = x_gemm_fn(self.dense[name])
            info["local_rel_error"] = rel_error(y, y_dense)
        elif self.dense is not None:
            info["local_rel_error"] = 0.0
        if self.reference is not None:
            info["output_rel_error"] = rel_error(y, self.reference[name])
        self.info[name] = info

    # ---- layers -------------------------------------------------------------
    def fc(self, name: str, x_kn: np.ndarray, prunable: bool = True, op: str = "fc") -> np.ndarray:
        """``W @ X`` for ``X`` of ``K x N``; returns ``M x N`` (no bias)."""
        w = self.weights[name]
        x = np.array(x_kn, dtype=np.float32, order="C")  # a copy the caller cannot change later
        if x.ndim != 2 or x.shape[0] != w.shape[1]:
            raise TraceError(f"layer '{name}': input {x.shape} does not fit weight {w.shape}")
        lay = gemm(name, int(w.shape[0]), int(w.shape[1]), int(x.shape[1]), op=op, prunable=prunable,
                   batch=1)
        y = w @ x
        self._record(lay, x, y, lambda wd: wd @ x, {})
        return y

    def conv(self, name: str, x: np.ndarray, R: int, S: int, stride: int = 1,
             pads: tuple[int, int, int, int] = (0, 0, 0, 0), groups: int = 1,
             prunable: bool = True) -> np.ndarray:
        """A 2-D convolution of ``x`` (``B x C x H x W``); returns ``B x M x P x Q`` (no bias).

        *pads* is ``(top, bottom, left, right)``.
        """
        w = self.weights[name]
        x = np.array(x, dtype=np.float32, order="C")  # a copy the caller cannot change later
        B, C, H, W = x.shape
        M = int(w.shape[0])
        if w.shape[1] != C // groups * R * S:
            raise TraceError(f"layer '{name}': weight {w.shape} does not fit {C} channels, {groups} groups, "
                             f"{R}x{S} kernel")
        t, b, l, r = pads
        info = {}
        if t == b == l == r:
            pad, xs = t, x
        else:
            xs = np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)))
            pad = 0
            info["prepadded"] = [t, b, l, r]
        op = "depthwise" if groups == C == M and groups > 1 else "conv"
        lay = conv(name, C, xs.shape[2], xs.shape[3], M, R, S, stride=stride, pad=pad, groups=groups, batch=B,
                   op=op, prunable=prunable)

        def run(wm: np.ndarray) -> np.ndarray:
            return conv_gemm(wm, xs, lay)

        y = run(w)
        self._record(lay, xs, y, run, info)
        return y.reshape(M, B, lay.P, lay.Q).transpose(1, 0, 2, 3)


def conv_gemm(w: np.ndarray, x: np.ndarray, lay: Layer) -> np.ndarray:
    """``W @ im2col(X)`` per group, ``M x (B*P*Q)``: the trace's own definition of a conv layer's output."""
    g = lay.groups
    if g == 1:
        return w @ im2col(x, lay.R, lay.S, lay.stride, lay.pad)
    cg = lay.C // g
    if cg == 1 and lay.M == g:  # depthwise: one row of W per channel
        cols = im2col(x, lay.R, lay.S, lay.stride, lay.pad).reshape(g, lay.R * lay.S, -1)
        return np.einsum("ck,ckn->cn", w, cols, optimize=True).astype(np.float32, copy=False)
    rows = lay.M // g
    return np.concatenate([w[i * rows:(i + 1) * rows] @ im2col(x[:, i * cg:(i + 1) * cg], lay.R, lay.S,
                                                                  lay.stride, lay.pad) for i in range(g)])


def same_pads(size: int, k: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "SAME" padding along one axis: output ``ceil(size / stride)``, the extra pixel at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def erf(x: np.ndarray) -> np.ndarray:
    """The error function to float32 precision (Abramowitz and Stegun 7.1.26: absolute error below 1.5e-7)."""
    x = np.asarray(x, dtype=np.float64)
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
               + 0.254829592) * t * np.exp(-a * a)
    return s * y


def gelu(x: np.ndarray) -> np.ndarray:
    """BERT's exact GELU, ``x * Phi(x)``."""
    return (0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))).astype(np.float32)


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, axis: int = 0) -> np.ndarray:
    x64 = x.astype(np.float64)
    mu = x64.mean(axis=axis, keepdims=True)
    var = ((x64 - mu) ** 2).mean(axis=axis, keepdims=True)
    shape = [1] * x.ndim
    shape[axis] = -1
    return ((x64 - mu) / np.sqrt(var + eps) * gamma.reshape(shape) + beta.reshape(shape)).astype(np.float32)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))).astype(np.float32)
