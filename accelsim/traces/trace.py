"""Traces: the pruned weights and input activations of every layer.

A trace is a plain ``.npz`` file: ``L.weight`` (``M x K`` or the native
``M x C/g x R x S``) and optionally ``L.input`` (``B x C x H x W`` or
``K x N``) for a layer named ``L``, plus one ``__meta__`` entry, a JSON
string with the layers' geometry and the trace's provenance (pruner,
pattern, target density, seed, source). Files are read with
``allow_pickle=False``; a user's own ``.npz`` with just the arrays works.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AccelsimError, TraceError
from ..workload.layer import Layer, conv, gemm
from ..workload.zoo import Workload

#: Refuse single tensors above this many elements before allocating (about 4 GiB of float32).
MAX_ELEMENTS = 1 << 30
#: Refuse whole traces above this many elements (about 16 GiB of float32 on a 24 GiB machine).
MAX_TRACE_ELEMENTS = 4 << 30


def check_size(name: str, shape: tuple[int, ...], what: str = "tensor") -> None:
    n = int(np.prod([int(s) for s in shape], dtype=np.float64))
    if n > MAX_ELEMENTS:
        raise TraceError(f"layer '{name}': {what} of shape {'x'.join(map(str, shape))} has {n:.3g} elements, "
                         f"more than the {MAX_ELEMENTS:.3g} accelsim will allocate")


@dataclass
class LayerTrace:
    """One layer's tensors. ``weight`` is the GEMM view ``M x K``; ``input`` is native."""
    layer: Layer
    weight: np.ndarray
    input: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.layer.name

    # cached: traces are read-only once made, and every model run asks for these
    @functools.cached_property
    def weight_density(self) -> float:
        return float(np.count_nonzero(self.weight)) / self.weight.size

    @functools.cached_property
    def act_density(self) -> float:
        return float(np.count_nonzero(self.input)) / self.input.size

    def group_weight(self, g: int) -> np.ndarray:
        """Rows of W that belong to group *g*."""
        r = self.layer.rows_per_group
        return self.weight[g * r:(g + 1) * r]

    def x_gemm(self, g: int = 0) -> np.ndarray:
        """The ``K x N`` input matrix of group *g* (im2col for convolutions)."""
        lay = self.layer
        if not lay.is_conv:
            return self.input[g * lay.K:(g + 1) * lay.K]
        cg = lay.C // lay.groups
        return im2col(self.input[:, g * cg:(g + 1) * cg], lay.R, lay.S, lay.stride, lay.pad)

    def gemms(self):
        """Yield ``(W_g, X_g)`` for every group."""
        for g in range(self.layer.groups):
            yield self.group_weight(g), self.x_gemm(g)

    def x_masks(self) -> list[np.ndarray]:
        """The ``K x N`` nonzero mask of X for each group (im2col of the mask for convolutions, one byte a bit)."""
        lay = self.layer
        xmask = self.input != 0
        if not lay.is_conv:
            return [xmask[g * lay.K:(g + 1) * lay.K] for g in range(lay.groups)]
        cg = lay.C // lay.groups
        u8 = xmask.view(np.uint8)
        return [np.ascontiguousarray(im2col(u8[:, g * cg:(g + 1) * cg], lay.R, lay.S, lay.stride, lay.pad))
                .view(np.bool_) for g in range(lay.groups)]

    def x_row_nnz(self) -> np.ndarray:
        """Nonzeros of each row of X, per group: shape ``(groups, K)``."""
        return np.stack([np.count_nonzero(x, axis=1) for _, x in self.gemms()])

    def effectual_macs(self) -> int:
        """Products where both operands are nonzero: the work an ideal zero-skipping engine does."""
        total = 0
        for w, x in self.gemms():
            total += int(np.count_nonzero(w, axis=0).astype(np.int64) @ np.count_nonzero(x, axis=1).astype(np.int64))
        return total

    def output(self) -> np.ndarray:
        """The exact layer output ``W @ X`` (``M x N``), for fidelity checks on small layers."""
        return np.concatenate([w.astype(np.float64) @ x.astype(np.float64) for w, x in self.gemms()], axis=0)


def im2col(x: np.ndarray, R: int, S: int, stride: int, pad: int) -> np.ndarray:
    """``(B, C, H, W)`` -> ``(C*R*S, B*P*Q)`` with rows ordered (c, r, s), columns (b, p, q)."""
    B, C, H, W = x.shape
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    P = (H + 2 * pad - R) // stride + 1
    Q = (W + 2 * pad - S) // stride + 1
    sb, sc, sh, sw = x.strides
    view = np.lib.stride_tricks.as_strided(
        x, shape=(C, R, S, B, P, Q), strides=(sc, sh, sw, sb, sh * stride, sw * stride), writeable=False)
    return view.reshape(C * R * S, B * P * Q)


@dataclass
class Trace:
    workload: str
    layers: list[LayerTrace]
    provenance: dict = field(default_factory=dict)

    def __iter__(self):
        return iter(self.layers)

    def __len__(self):
        return len(self.layers)

    def layer(self, name: str) -> LayerTrace:
        for lt in self.layers:
            if lt.name == name:
                return lt
        raise TraceError(f"trace has no layer '{name}'")

    def select(self, names: list[str] | None) -> "Trace":
        if not names:
            return self
        return Trace(self.workload, [self.layer(n) for n in names], dict(self.provenance))

    def digest(self) -> str:
        """A content hash: same tensors and provenance, same digest (for sweep caching)."""
        h = hashlib.sha256(json.dumps(self.provenance, sort_keys=True, default=str).encode())
        for lt in self.layers:
            h.update(lt.name.encode())
            h.update(np.ascontiguousarray(lt.weight).tobytes())
            h.update(np.ascontiguousarray(lt.input).tobytes())
        return h.hexdigest()[:16]


def _layer_to_json(lay: Layer) -> dict:
    return dataclasses.asdict(lay)


#: a layer name is a plain identifier-like word: it becomes a file-name part and an .npz key
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:\-]{0,199}$")


def check_layer_name(name, where: str) -> str:
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or ".." in name or name.endswith("."):
        raise TraceError(f"{where}: layer name {name!r} is not a plain name (letters, digits, _ . : -; "
                         "no path separators, no '..')")
    return name


def _layer_from_json(d, where: str) -> Layer:
    """A layer description read from a file: every field typed and checked, the geometry consistent."""
    from ..workload.layer import OPS
    if not isinstance(d, dict):
        raise TraceError(f"{where}: a layer description must be an object, got {type(d).__name__}")
    kw = {}
    for f in dataclasses.fields(Layer):
        if f.name not in d:
            continue
        v = d[f.name]
        if f.name == "name":
            v = check_layer_name(v, where)
        elif f.name == "op":
            if v not in OPS:
                raise TraceError(f"{where}: layer op {v!r} is not one of {', '.join(OPS)}")
        elif f.name == "prunable":
            if not isinstance(v, bool):
                raise TraceError(f"{where}: layer 'prunable' must be true or false, got {v!r}")
        elif f.name == "note":
            v = str(v)[:200]
        elif isinstance(f.default, int) or f.name in ("M", "K", "N"):
            lo = 0 if f.name in ("C", "H", "W", "pad") or f.name.startswith("pad") else 1
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= 1 << 40:
                raise TraceError(f"{where}: layer field '{f.name}' must be an integer in [{lo}, 2^40], got {v!r}")
        kw[f.name] = v
    for key in ("name", "op", "M", "K", "N"):
        if key not in kw:
            raise TraceError(f"{where}: layer description misses '{key}'")
    try:
        lay = Layer(**kw)
    except (TypeError, ValueError) as e:
        raise TraceError(f"{where}: bad layer description ({e})") from None
    bad = None
    if lay.count % lay.batched:
        bad = f"batched {lay.batched} does not divide count {lay.count}"
    elif lay.M % lay.groups:
        bad = f"M={lay.M} does not divide into {lay.groups} groups"
    elif lay.is_conv:
        if lay.C < 1 or lay.H < 1 or lay.W < 1 or lay.C % lay.groups:
            bad = f"convolution input {lay.C}x{lay.H}x{lay.W} in {lay.groups} groups is impossible"
        elif lay.P < 1 or lay.Q < 1:
            bad = f"filter {lay.R}x{lay.S} does not fit the padded input"
        elif lay.K != lay.C // lay.groups * lay.R * lay.S or lay.N != lay.batch * lay.P * lay.Q:
            bad = f"K={lay.K}, N={lay.N} do not follow from the convolution's geometry"
    if bad:
        raise TraceError(f"{where}: layer '{lay.name}': {bad}")
    return lay


def save_trace(trace: Trace, path: str | os.PathLike) -> Path:
    """Write *trace* as ``.npz`` atomically (a temporary file renamed into place)."""
    path = Path(path)
    arrays = {}
    meta = {"workload": trace.workload, "provenance": trace.provenance, "layers": []}
    for lt in trace.layers:
        arrays[f"{lt.name}.weight"] = lt.weight
        arrays[f"{lt.name}.input"] = lt.input
        meta["layers"].append({"layer": _layer_to_json(lt.layer), "info": lt.info})
    arrays["__meta__"] = np.array(json.dumps(meta, default=str))
    from ..outputs import atomic_write
    atomic_write(path, lambda f: _write_npz(f, arrays))
    return path


def _write_npz(f, arrays: dict[str, np.ndarray]) -> None:
    """An ``.npz`` (``np.load`` reads it) deflated at level 1: a pruned AlexNet fc7 is written 3x faster than
    ``np.savez_compressed``'s level 6 for 6% more bytes (measured: 1.1 s against 3.5 s, 39.2 against 36.7 MB)."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, a in arrays.items():
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(a), allow_pickle=False)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise TraceError(f"trace file '{path}' not found")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            total = 0
            names = [i.filename for i in infos]
            if len(set(names)) != len(names):
                dup = next(n for n in names if names.count(n) > 1)
                raise TraceError(f"{path}: entry '{dup}' appears twice; a trace names each tensor once")
            for info in infos:
                if info.file_size > 8 * MAX_ELEMENTS:
                    raise TraceError(f"{path}: entry '{info.filename}' is {info.file_size / 2**30:.1f} GiB, too large")
                total += info.file_size
            if total > 4 * MAX_TRACE_ELEMENTS:
                raise TraceError(f"{path}: trace would need {total / 2**30:.1f} GiB, too large")
        # the declared (inflated) sizes, before inflating: loaded, plus float32 copies of each
        from .. import budget
        try:
            budget.check(2 * total, f"trace '{path.name}' ({total / 2**20:.0f} MiB uncompressed)")
        except AccelsimError as e:
            raise TraceError(str(e)) from None
        out = {}
        with np.load(path, allow_pickle=False) as z:
            for k in z.files:
                out[k] = z[k]
        return out
    except TraceError:
        raise
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise TraceError(f"{path}: holds pickled objects; accelsim reads only plain arrays") from None
        raise TraceError(f"{path}: not a readable .npz trace ({e})") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as e:
        raise TraceError(f"{path}: corrupt .npz trace ({type(e).__name__}: {e})") from None


def load_trace(path: str | os.PathLike, workload: Workload | None = None) -> Trace:
    """Read a trace; check it against *workload* when one is given.

    Without metadata or workload, layers are inferred from the arrays: a 2-D
    weight is an FC layer (input ``K x N``, or ``N = 1`` without input); a 4-D
    weight is a stride-1 'same' convolution over its input, which must be
    present.
    """
    path = Path(path)
    arrays = _read_npz(path)
    meta = {}
    if "__meta__" in arrays:
        try:
            meta = json.loads(str(arrays.pop("__meta__")))
        except (json.JSONDecodeError, TypeError) as e:
            raise TraceError(f"{path}: __meta__ is not valid JSON ({e})") from None
        if not isinstance(meta, dict):
            raise TraceError(f"{path}: __meta__ must be a JSON object")
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key, arr in arrays.items():
        if "." not in key:
            raise TraceError(f"{path}: entry '{key}' is not named LAYER.weight or LAYER.input")
        lname, kind = key.rsplit(".", 1)
        if kind not in ("weight", "input"):
            raise TraceError(f"{path}: entry '{key}' is not named LAYER.weight or LAYER.input")
        check_layer_name(lname, f"{path}: entry '{key}'")
        if arr.dtype.kind not in "fiu":
            raise TraceError(f"{path}: entry '{key}' has dtype {arr.dtype}, expected numbers (float or integer)")
        if arr.dtype.kind in "iu" and arr.size and max(abs(int(arr.min())), abs(int(arr.max()))) > 1 << 24:
            raise TraceError(f"{path}: entry '{key}' holds integers beyond 2^24, which float32 cannot hold "
                             "exactly; store quantized weights as their integer codes")
        groups.setdefault(lname, {})[kind] = arr
    if not groups:
        raise TraceError(f"{path}: holds no layers")
    declared = {}
    infos = {}
    items = meta.get("layers", [])
    if not isinstance(items, list):
        raise TraceError(f"{path}: __meta__ 'layers' must be a list")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("info", {}), dict):
            raise TraceError(f"{path}: each __meta__ layer must be an object with 'layer' and 'info' objects")
        lay = _layer_from_json(item.get("layer", {}), str(path))
        declared[lay.name] = lay
        infos[lay.name] = item.get("info", {})
    order = [n for n in declared if n in groups] + [n for n in groups if n not in declared]
    if workload is not None:
        order = [l.name for l in workload.layers if l.name in groups]
        missing = [l.name for l in workload.layers if l.name not in groups]
        if missing:
            raise TraceError(f"{path}: no weights for layer(s) {', '.join(missing[:5])} of workload '{workload.name}'")
    layers = []
    for name in order:
        g = groups[name]
        if "weight" not in g:
            raise TraceError(f"{path}: layer '{name}' has an input but no weight")
        if workload is not None:
            lay = workload.layer(name)
        elif name in declared:
            lay = declared[name]
        else:
            lay = _infer_layer(name, g, path)
        w = np.asarray(g["weight"], dtype=np.float32)
        if tuple(w.shape) not in (tuple(lay.weight_shape), tuple(lay.native_weight_shape)):
            raise TraceError(f"{path}: layer '{name}' weight has shape {'x'.join(map(str, w.shape))}, "
                             f"the workload needs {'x'.join(map(str, lay.weight_shape))}")
        w = w.reshape(lay.weight_shape)
        if not np.isfinite(w).all():
            raise TraceError(f"{path}: layer '{name}' weight holds NaN or infinity")
        x = g.get("input")
        if x is None:
            x = np.ones(lay.input_shape, dtype=np.float32)
        else:
            x = np.asarray(x, dtype=np.float32)
            if x.ndim == 3 and lay.is_conv:
                x = x[None]
            if tuple(x.shape) != tuple(lay.input_shape):
                raise TraceError(f"{path}: layer '{name}' input has shape {'x'.join(map(str, x.shape))}, "
                                 f"the workload needs {'x'.join(map(str, lay.input_shape))}")
            if not np.isfinite(x).all():
                raise TraceError(f"{path}: layer '{name}' input holds NaN or infinity")
        info = dict(infos.get(name, {}))
        if "input" not in g:
            info["input"] = "absent: all-ones (dense) activations assumed"
        layers.append(LayerTrace(lay, w, x, info))
    prov = meta.get("provenance", {})
    if not isinstance(prov, dict):
        raise TraceError(f"{path}: __meta__ 'provenance' must be an object")
    prov = dict(prov)
    prov.setdefault("source", str(path))
    return Trace(workload=meta.get("workload", workload.name if workload else path.stem), layers=layers,
                 provenance=prov)


def _infer_layer(name: str, g: dict[str, np.ndarray], path: Path) -> Layer:
    w = g["weight"]
    x = g.get("input")
    if w.ndim == 2:
        M, K = w.shape
        N = 1
        if x is not None:
            if x.ndim != 2 or x.shape[0] != K:
                raise TraceError(f"{path}: layer '{name}' weight {M}x{K} does not fit input "
                                 f"{'x'.join(map(str, x.shape))} (needs {K}xN)")
            N = x.shape[1]
        return gemm(name, M, K, N, op="fc")
    if w.ndim == 4:
        if x is None or x.ndim not in (3, 4):
            raise TraceError(f"{path}: layer '{name}' has a 4-D weight but no C x H x W input to give its geometry")
        M, Cg, R, S = w.shape
        xs = x.shape if x.ndim == 4 else (1,) + x.shape
        B, C, H, W = xs
        if C % Cg:
            raise TraceError(f"{path}: layer '{name}' weight has {Cg} input channels, input has {C}")
        return conv(name, C, H, W, M, R, S, stride=1, pad=(R - 1) // 2, groups=C // Cg, batch=B)
    raise TraceError(f"{path}: layer '{name}' weight must be 2-D or 4-D, got {w.ndim}-D")
