"""Workloads: the YAML zoo, inline GEMMs, and per-layer density profiles.

A workload file lists layers and, optionally, named density profiles::

    name: alexnet
    source: "Krizhevsky et al., NeurIPS 2012"
    layers:
      - {name: conv1, op: conv, C: 3, H: 227, W: 227, M: 96, R: 11, stride: 4}
      - {name: fc6, op: fc, in: 9216, out: 4096}
    profiles:
      han2015: {conv1: 0.84, fc6: 0.09}          # weight density per layer
      eie: {fc6: {weight: 0.09, act: 0.351}}     # weight and activation density
    default_profile: han2015

Two profiles are computed for any global density: ``uniform`` (every
prunable layer at that density) and ``erk`` (RigL's Erdos-Renyi-Kernel
allocation, Evci et al., ICML 2020, Sec. 3: density proportional to
``(C + M + R + S) / (C * M * R * S)``, layers that would exceed 1 made dense,
the first layer kept dense).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from ..config import check_keys, expect_mapping, load_yaml
from ..errors import AccelsimError, WorkloadError
from ..paths import WORKLOAD_DIR, resolve, shipped
from .layer import MAX_COUNT, OPS, Layer, conv, gemm

_LAYER_KEYS = {
    "conv": {"name", "op", "C", "H", "W", "M", "R", "S", "stride", "pad", "groups", "count", "prunable", "batch"},
    "fc": {"name", "op", "in", "out", "N", "count", "prunable", "batch"},
    "matmul": {"name", "op", "M", "K", "N", "count", "batched", "prunable"},
    "lstm": {"name", "op", "input", "hidden", "steps", "count", "prunable", "batch"},
}
_LAYER_KEYS["depthwise"] = _LAYER_KEYS["conv"]


@dataclass(frozen=True)
class Density:
    """Target densities of one layer: weight, and activation (None: not specified)."""
    weight: float = 1.0
    act: float | None = None


@dataclass
class Workload:
    name: str
    layers: list[Layer]
    profiles: dict[str, dict[str, Density]] = field(default_factory=dict)
    default_profile: str | None = None
    source: str = ""
    #: a transformer workload's shape (accelsim.workload.transformer.TransformerShape), else None
    transformer: object = None
    #: your own network with weights (an ONNX file, a Hugging Face directory, a trace): the spec its traces are
    #: captured from (real weights and activations), not drawn synthetically; "" for every other workload
    capture: str = ""

    def layer(self, name: str) -> Layer:
        for lay in self.layers:
            if lay.name == name:
                return lay
        raise WorkloadError(f"workload '{self.name}' has no layer '{name}' "
                            f"(layers: {', '.join(l.name for l in self.layers[:12])}"
                            f"{', ...' if len(self.layers) > 12 else ''})")

    def select(self, names: list[str] | None) -> "Workload":
        if not names:
            return self
        return replace(self, layers=[self.layer(n) for n in names])

    @property
    def total_macs(self) -> int:
        return sum(l.total_macs for l in self.layers)

    @property
    def total_weights(self) -> int:
        """Weights of the layers that have them (activation x activation matmuls have none)."""
        return sum(l.total_weights for l in self.layers if l.prunable)

    def profile_names(self) -> list[str]:
        return sorted(self.profiles) + ["uniform", "erk"]

    def densities(self, profile: str | None = None, density: float | None = None) -> dict[str, Density]:
        """Per-layer target densities.

        *profile* is a named profile of the workload, ``uniform`` or ``erk``;
        when it is None the workload's default profile is used if
        *density* is None, else ``uniform``.
        """
        if density is not None:
            check_density(density, "density")
        if profile is None:
            profile = "uniform" if density is not None or not self.default_profile else self.default_profile
        if profile == "uniform":
            d = 1.0 if density is None else density
            return {l.name: Density(d if l.prunable else 1.0) for l in self.layers}
        if profile == "erk":
            if density is None:
                raise AccelsimError("profile 'erk' needs a global --density")
            return erk_densities(self.layers, density)
        if profile not in self.profiles:
            raise AccelsimError(f"workload '{self.name}' has no profile '{profile}' "
                                f"(profiles: {', '.join(self.profile_names())})")
        prof = self.profiles[profile]
        return {l.name: prof.get(l.name, Density(1.0)) for l in self.layers}


def check_density(d, what: str = "density") -> float:
    if isinstance(d, bool) or not isinstance(d, (int, float)) or not (0.0 < float(d) <= 1.0):
        raise AccelsimError(f"{what} must be in (0, 1], got {d!r}")
    return float(d)


def erk_densities(layers: list[Layer], density: float) -> dict[str, Density]:
    """RigL's ERK allocation at global weight density *density* (first prunable layer dense)."""
    prunable = [l for l in layers if l.prunable]
    out = {l.name: Density(1.0) for l in layers}
    if not prunable:
        return out
    total = sum(l.total_weights for l in prunable)
    budget = density * total
    dense = {prunable[0].name}

    def raw(l: Layer) -> float:
        c = l.C // l.groups if l.is_conv else l.K
        return (c + l.M + l.R + l.S) / (c * l.M * l.R * l.S) if l.is_conv else (l.K + l.M) / (l.K * l.M)

    while True:
        dense_n = sum(l.total_weights for l in prunable if l.name in dense)
        rest = [l for l in prunable if l.name not in dense]
        if not rest:
            break
        denom = sum(raw(l) * l.total_weights for l in rest)
        eps = max(budget - dense_n, 0.0) / denom
        over = [l for l in rest if eps * raw(l) > 1.0]
        if not over:
            for l in rest:
                out[l.name] = Density(max(min(eps * raw(l), 1.0), 1e-6))
            break
        dense.update(l.name for l in over)
    for n in dense:
        out[n] = Density(1.0)
    return out


_GEMM_RE = re.compile(r"^gemm:(\d+)x(\d+)x(\d+)$")


def parse_layer(spec: dict, where: str, batch: int = 1) -> Layer:
    spec = expect_mapping(spec, where)
    op = spec.get("op")
    if op not in OPS:
        raise WorkloadError(f"{where}.op: unknown op {op!r} (one of {', '.join(OPS)})")
    check_keys(spec, _LAYER_KEYS[op], where)
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise WorkloadError(f"{where}.name: every layer needs a name")
    def need(key):
        if key not in spec:
            raise WorkloadError(f"{where}.{key}: missing")
        v = spec[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise WorkloadError(f"{where}.{key}: must be a positive integer, got {v!r}")
        return v
    count = spec.get("count", 1)
    prunable = bool(spec.get("prunable", True))
    b = spec.get("batch", batch)
    if op in ("conv", "depthwise"):
        return conv(name, need("C"), need("H"), need("W"), need("M"), need("R"), spec.get("S"),
                    stride=spec.get("stride", 1), pad=spec.get("pad", 0), groups=spec.get("groups", 1),
                    batch=b, count=count, op=op, prunable=prunable)
    if op == "fc":
        n = spec.get("N", b)
        return gemm(name, need("out"), need("in"), n, op="fc", count=count, prunable=prunable, batch=b)
    if op == "lstm":
        h = need("hidden")
        steps = spec.get("steps", 1)
        # The four gates' weights stacked: W = [W_ih | W_hh] of shape 4H x (I + H) (Hochreiter 1997).
        return gemm(name, 4 * h, need("input") + h, b * steps, op="lstm", count=count, prunable=prunable,
                    batch=b)
    return gemm(name, need("M"), need("K"), need("N"), op="matmul", count=count, prunable=prunable,
                batched=spec.get("batched", 1))


def _parse_profile(raw, layers: list[Layer], where: str) -> dict[str, Density]:
    raw = expect_mapping(raw, where)
    names = {l.name for l in layers}
    out = {}
    for lname, v in raw.items():
        if lname not in names:
            raise WorkloadError(f"{where}.{lname}: no such layer")
        if isinstance(v, dict):
            check_keys(v, {"weight", "act"}, f"{where}.{lname}")
            w = check_density(v.get("weight", 1.0), f"{where}.{lname}.weight")
            a = v.get("act")
            a = None if a is None else check_density(a, f"{where}.{lname}.act")
            out[lname] = Density(w, a)
        else:
            out[lname] = Density(check_density(v, f"{where}.{lname}"))
    return out


def workload_from_dict(data, where: str, params: dict | None = None) -> Workload:
    data = expect_mapping(data, where)
    check_keys(data, {"name", "source", "batch", "repeat", "layers", "profiles", "default_profile", "notes",
                      "transformer"}, "")
    shape = None
    if "transformer" in data:
        from .transformer import shape_from_dict, transformer_layers, with_params
        if "layers" in data:
            raise WorkloadError(f"{where}: give either 'layers' or 'transformer', not both")
        shape = shape_from_dict(data["transformer"])
        shape = with_params(shape, params or {}, str(data.get("name", where)))
        layers = transformer_layers(shape)
    else:
        if params and set(params) != {"batch"}:
            raise WorkloadError(f"{where}: workload parameters ({', '.join(p for p in params if p != 'batch')}) "
                                "apply to transformer workloads only (any workload takes batch)")
        layers_raw = data.get("layers")
        if not isinstance(layers_raw, list) or not layers_raw:
            raise WorkloadError(f"{where}: 'layers' must be a non-empty list")
        batch = data.get("batch", 1)
        if params:      # --batch N: conv, fc and lstm layers take it as N; activation x activation matmuls repeat
            batch = _batch(params["batch"], where)
        layers = [parse_layer(s, f"layers[{i}]", batch) for i, s in enumerate(layers_raw)]
        if params:      # an fc layer's explicit N is per sequence; an attention product repeats per sequence
            layers = [replace(l, count=l.count * batch, batched=l.batched * batch)
                      if l.op == "matmul" and not l.prunable else
                      replace(l, N=l.N * batch) if l.op == "fc" and "N" in spec else l
                      for l, spec in zip(layers, layers_raw)]
    repeat = data.get("repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or not 1 <= repeat <= MAX_COUNT:
        raise WorkloadError(f"{where}: repeat must be an integer in [1, {MAX_COUNT:.0e}], got {repeat!r}")
    if repeat > 1:  # identical blocks (e.g. BERT's 12 encoder layers): simulate once, count many
        if any(l.count * repeat > MAX_COUNT for l in layers):
            raise WorkloadError(f"{where}: repeat {repeat} makes a layer repeat more than {MAX_COUNT:.0e} times")
        layers = [replace(l, count=l.count * repeat) for l in layers]
    seen = set()
    for l in layers:
        if l.name in seen:
            raise WorkloadError(f"{where}: duplicate layer name '{l.name}'")
        seen.add(l.name)
    profiles = {k: _parse_profile(v, layers, f"profiles.{k}")
                for k, v in expect_mapping(data.get("profiles"), "profiles").items()}
    default = data.get("default_profile")
    if default is not None and default not in profiles:
        raise WorkloadError(f"default_profile: no profile named '{default}'")
    name = str(data.get("name", where))
    if params:
        from .transformer import label
        name = label(name, params)
    return Workload(name=name, layers=layers, profiles=profiles,
                    default_profile=default, source=str(data.get("source", "")), transformer=shape)


def load_workload(name_or_path: str | Workload, params: dict | None = None) -> Workload:
    """A shipped workload by name, a workload YAML file, an inline ``gemm:MxNxK``, or your own network.

    ``gemm:MxNxK`` is one layer with ``W`` of ``M x K`` and ``X`` of ``K x N``. *params* (or a
    ``NAME[key=value,...]`` suffix) set a transformer workload's phase, seq_len, kv_len and batch; every
    workload takes ``batch``. Your own network (``accelsim.traces.real.own``): ``FILE.onnx[x=1x3x640x640]``,
    a Hugging Face directory (``config.json`` + ``*.safetensors``; ``[seq_len=..,batch=..]``), a trace
    ``.npz`` (its layers), a SCALE-Sim topology ``.csv``; geometry only here (nothing runs).
    """
    if isinstance(name_or_path, Workload):
        return name_or_path
    if not params:
        # your own network (issue 18): an ONNX file, a Hugging Face directory, a trace .npz, a SCALE-Sim .csv
        from ..traces.real.own import is_own, workload as own_workload
        if is_own(name_or_path):
            return own_workload(str(name_or_path))
    from .transformer import split_params
    s, in_name = split_params(str(name_or_path))
    params = {**in_name, **(params or {})}
    m = _GEMM_RE.match(s)
    if m:
        M, N, K = (int(x) for x in m.groups())
        if min(M, N, K) < 1:
            raise WorkloadError(f"{s}: every dimension must be >= 1")
        if params and set(params) != {"batch"}:
            raise WorkloadError(f"'{name_or_path}': an inline GEMM takes only batch (N is multiplied by it)")
        b = _batch(params["batch"], s) if params else 1
        return Workload(name=str(name_or_path) if params else s, layers=[gemm("gemm", M, K, N * b, op="matmul")])
    if s.startswith("real:"):
        from ..traces.real import workload as real_workload
        wl = real_workload(s[len("real:"):])
        wl.name = s
        return wl
    if s.startswith("gemm:"):
        raise WorkloadError(f"'{s}': inline GEMMs are written gemm:MxNxK, e.g. gemm:1024x512x256")
    try:
        path = resolve(s, WORKLOAD_DIR, "workload")
    except AccelsimError as e:
        raise WorkloadError(str(e)) from None
    data = load_yaml(path)
    try:
        return workload_from_dict(data, str(path), params)
    except AccelsimError as e:
        raise type(e)(f"{path}: {e}") from None


def _batch(v, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise WorkloadError(f"{where}: batch must be a positive integer, got {v!r}")
    return v


def list_workloads() -> list[str]:
    return shipped(WORKLOAD_DIR)
