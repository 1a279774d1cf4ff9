"""Your own network in: what a ``--model`` / ``--workload`` string names, as a trace or as a workload.

Accepted (``SPEC[key=value,...]`` gives options inside the string, for sweep specs):

* ``FILE.onnx`` (options: one ``NAME=1x3x640x640`` per symbolic input, ``batch``, ``inputs=FILE.npz``);
* a Hugging Face style directory (``config.json`` + ``*.safetensors``) of the BERT, GPT-2 or Llama family
  (options: ``seq_len`` (default min(positions, 128)), ``batch``); a weights file inside such a directory
  stands for the directory;
* a trace ``t.npz`` (its own tensors; pruned again by magnitude when a pattern or density is asked, its
  activations as captured);
* a SCALE-Sim topology ``topo.csv`` (geometry only: convolution rows ``Layer name, IFMAP Height, IFMAP Width,
  Filter Height, Filter Width, Channels, Num Filter, Strides[, Stride W]``, or GEMM rows ``Layer, M, N, K``
  with SCALE-Sim's meaning: ``M x K`` inputs against ``K x N`` filters), option ``batch``;
* a shipped real model: ``minilm``, ``efficientnet-lite0``, ``silero-vad`` (or ``real:NAME``).

A weights-only file (``.safetensors``, ``.pth``, ``.pt``, ``.bin``, ``.ckpt``) has no graph: it is refused
in one line, since its layers' geometry (and whether a tensor is a layer at all: optimizer state, embeddings)
cannot be known from the tensors.
"""
from __future__ import annotations

import csv
import functools
import os
import re
from dataclasses import replace
from pathlib import Path

from ...errors import TraceError, WorkloadError
from ...workload.layer import conv, gemm
from ...workload.zoo import Workload
from .capture import RECORD_LIMIT, Source, capture_source, onnx_source, output_fidelity
from .hf import is_hf_dir
from .models import MODELS

WEIGHTS_ONLY = (".safetensors", ".pth", ".pt", ".bin", ".ckpt")
#: options that are not input shapes
OPTIONS = ("batch", "seq_len", "inputs", "record_limit")
_PARAMS_RE = re.compile(r"^(?P<name>.+?)\[(?P<params>[^\[\]]*)\]$")


def split(spec: str) -> tuple[str, dict]:
    """``det.onnx[x=1x3x640x640,batch=2]`` -> ``("det.onnx", {"x": "1x3x640x640", "batch": "2"})``."""
    m = _PARAMS_RE.match(spec)
    if not m or kind(m.group("name")) is None:
        return spec, {}
    out = {}
    for item in filter(None, (x.strip() for x in m.group("params").split(","))):
        k, sep, v = item.partition("=")
        if not sep or not k.strip():
            raise WorkloadError(f"'{spec}': options are written NAME[key=value,...], got '{item}'")
        out[k.strip()] = v.strip()
    return m.group("name"), out


def kind(spec: str) -> str | None:
    """What *spec* (without options) names: shipped, onnx, hf, trace, topology, weights, or None."""
    s = spec[len("real:"):] if spec.startswith("real:") else spec
    if s in MODELS:
        return "shipped"
    p = Path(s)
    suffix = p.suffix.lower()
    if suffix == ".onnx":
        return "onnx"
    if suffix in WEIGHTS_ONLY:
        return "hf" if is_hf_dir(p.parent) and p.is_file() else "weights"
    if suffix == ".npz" and p.is_file():
        return "trace"
    if suffix == ".csv" and p.is_file():
        return "topology"
    if is_hf_dir(p):
        return "hf"
    return None


def _int_opt(opts: dict, key: str, default=None):
    v = opts.get(key, default)
    if v is None:
        return None
    try:
        v = int(v)
    except (TypeError, ValueError):
        raise WorkloadError(f"option {key} must be a positive integer, got {v!r}") from None
    if v < 1:
        raise WorkloadError(f"option {key} must be a positive integer, got {v}")
    return v


def _refuse_weights(path: str) -> None:
    raise TraceError(f"'{path}' holds weights only, not a network: give an ONNX graph (export the model with "
                     f"torch.onnx.export or similar) or a Hugging Face directory (config.json + *.safetensors) of "
                     f"the BERT, GPT-2 or Llama family")


def _source(spec: str, opts: dict, seed: int, values: bool = True) -> tuple[Source, str]:
    k = kind(spec)
    s = spec[len("real:"):] if spec.startswith("real:") else spec
    if k == "shipped":
        if opts:
            raise WorkloadError(f"'{spec}': the shipped models take no options ({', '.join(opts)})")
        from .models import source
        return source(s, seed, values), s
    if k == "onnx":
        shapes = {n: v for n, v in opts.items() if n not in OPTIONS}
        src = onnx_source(s, {n: tuple(int(d) for d in str(v).lower().split("x")) for n, v in shapes.items()},
                          opts.get("inputs"), _int_opt(opts, "batch"), seed)
        return src, Path(s).stem
    if k == "hf":
        from .hf import default_inputs, import_hf
        d = Path(s) if Path(s).is_dir() else Path(s).parent
        bad = [o for o in opts if o not in ("seq_len", "batch", "record_limit")]
        if bad:
            raise WorkloadError(f"'{spec}': a Hugging Face directory takes seq_len and batch, not '{bad[0]}'")
        net, c, ignored = import_hf(d, _int_opt(opts, "seq_len"), _int_opt(opts, "batch"), values)
        B, T = net.inputs["input_ids"]
        lm = c.family != "bert"     # GPT-2 and Llama output logits: fidelity is next-token top-1 agreement
        src = Source(net, default_inputs(c, B, T, seed) if values else {},
                     f"synthetic (seed {seed}): {B} x {T} token ids uniform over the vocabulary of {c.vocab}",
                     lambda d, p: output_fidelity(d, p, classifier=lm),
                     {"family": c.family, "ignored_tensors": len(ignored), "seq_len": T, "batch": B})
        return src, d.name
    if k == "weights":
        _refuse_weights(s)
    raise TraceError(f"'{spec}' is not a network accelsim can read (an ONNX file, a Hugging Face directory, a "
                     f"trace .npz, a SCALE-Sim .csv, or one of {', '.join(MODELS)})")


@functools.lru_cache(maxsize=2)
def _cached_source(spec: str, opts: tuple, seed: int, mtime: float) -> tuple[Source, str]:
    return _source(spec, dict(opts), seed)


def _mtime(spec: str) -> float:
    s = spec[len("real:"):] if spec.startswith("real:") else spec
    try:
        return os.stat(s).st_mtime
    except OSError:
        return 0.0


def capture(model: str, pattern: str = "dense", density: float | None = None, seed: int = 0, *,
            input_shapes=None, inputs=None, batch: int | None = None, seq_len: int | None = None,
            profile: str | None = None, record_limit: int | None = None, layers: list[str] | None = None):
    """A trace of *model* (anything :func:`kind` accepts) with real weights pruned and measured activations."""
    from ..trace import Trace
    spec, opts = split(str(model))
    for key, v in (("inputs", inputs), ("batch", batch), ("seq_len", seq_len), ("record_limit", record_limit)):
        if v is not None:
            opts[key] = v
    for item in input_shapes or []:
        from .onnx import parse_input_shape
        n, shp = parse_input_shape(item) if isinstance(item, str) else item
        opts[n] = "x".join(map(str, shp))
    if pattern == "dense" and density is not None and density < 1.0:
        pattern = "unstructured"
    k = kind(spec)
    if k == "trace":
        return reprune(spec, pattern, density, seed, profile, layers)
    if k == "topology":
        raise TraceError(f"'{spec}' is a topology (shapes, no weights): run it as --workload, which draws "
                         f"synthetic weights")
    try:
        limit = int(opts.get("record_limit", RECORD_LIMIT))
    except (TypeError, ValueError):
        raise TraceError(f"record limit must be an integer, got {opts.get('record_limit')!r}") from None
    if limit < 0:
        raise TraceError(f"record limit must be >= 0, got {limit}")
    key_opts = tuple(sorted((k2, str(v)) for k2, v in opts.items() if k2 != "record_limit"))
    src, name = _cached_source(spec, key_opts, int(seed), _mtime(spec))
    tr: Trace = capture_source(src, pattern, density, int(seed), profile=profile, record_limit=limit,
                               layers=layers, name=name)
    tr.provenance.setdefault("model", name)
    return tr


def workload(model: str) -> Workload:
    """The layers of *model* (geometry only; nothing runs) for statistical runs, sweeps and ``list``."""
    spec, opts = split(str(model))
    k = kind(spec)
    if k == "trace":
        from ..trace import load_trace
        tr = load_trace(spec)
        if opts:
            raise WorkloadError(f"'{model}': a trace's tensors fix its shapes; options ({', '.join(opts)}) do not "
                                f"apply")
        return Workload(name=str(model), layers=[lt.layer for lt in tr.layers], source=spec, capture=str(model))
    if k == "topology":
        return topology(spec, _int_opt(opts, "batch", 1), name=str(model))
    if k in ("onnx", "hf", "shipped"):
        src, name = _source(spec, opts, 0, values=(k != "hf"))
        return Workload(name=str(model), layers=[ol.layer for ol in src.net.layers], source=src.net.source,
                        capture=str(model))
    if k == "weights":
        _refuse_weights(spec)
    raise WorkloadError(f"'{model}' is not a network accelsim can read")


def is_own(spec) -> bool:
    """True when *spec* names an own network (ONNX, HF directory, trace, topology, weights file)."""
    if not isinstance(spec, (str, os.PathLike)):
        return False
    s, _ = split(str(spec))
    return kind(s) in ("onnx", "hf", "trace", "topology", "weights")


def own_trace(spec: str, pattern: str = "unstructured", density: float | None = None, seed: int = 0,
              profile: str | None = None, layers: list[str] | None = None):
    """The trace ``run``/``sweep``/``codesign`` use for an own network, or None (a topology: synthetic)."""
    s, _ = split(str(spec))
    k = kind(s)
    if k not in ("onnx", "hf", "trace", "weights"):
        return None
    tr = capture(str(spec), pattern, density, seed, profile=profile)
    tr.workload = str(spec)
    return tr.select(layers)


# ---- traces as workloads ---------------------------------------------------------------------------------
def reprune(path: str, pattern: str, density: float | None, seed: int, profile: str | None = None,
            layers: list[str] | None = None):
    """A trace file's own tensors, its weights pruned again (magnitude) when asked; its activations kept."""
    from ..trace import LayerTrace, Trace, load_trace
    from .capture import _prune_all
    tr = load_trace(path).select(layers)
    if pattern == "dense" and density is None and profile is None:
        return tr
    wl = Workload(name=tr.workload, layers=[lt.layer for lt in tr.layers])
    weights = {lt.name: lt.weight for lt in tr.layers}
    pruned, dens, pat = _prune_all(wl, weights, pattern, density, profile, int(seed))
    out = []
    for lt in tr.layers:
        info = dict(lt.info, pattern=pat if lt.layer.prunable else "dense",
                    target_weight_density=dens[lt.name].weight if lt.layer.prunable else 1.0,
                    input_note="activations as captured (the trace holds no graph to run again)")
        out.append(LayerTrace(lt.layer, pruned[lt.name], lt.input, info))
    prov = dict(tr.provenance, pattern=pat, density=density, profile=profile, seed=int(seed),
                pruner="magnitude" if pat not in ("random", "dense") else pat, repruned_from=str(path))
    for key in ("fidelity", "fidelity_metric", "top1_agreement", "logit_rel_error", "embedding_cosine",
                "vad_decision_agreement"):   # measured on the trace's own pruning, not this one
        prov.pop(key, None)
    return Trace(workload=tr.workload, layers=out, provenance=prov)


# ---- SCALE-Sim topologies --------------------------------------------------------------------------------
def _norm(h: str) -> str:
    return re.sub(r"[^a-z]", "", h.lower())


def topology(path: str, batch: int = 1, name: str | None = None) -> Workload:
    """A SCALE-Sim topology CSV as a workload (module docstring). SCALE-Sim's IFMAP sizes include padding."""
    p = Path(path)
    try:
        rows = [r for r in csv.reader(p.read_text().splitlines()) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise WorkloadError(f"{path}: not a readable CSV ({e})") from None
    if len(rows) < 2:
        raise WorkloadError(f"{path}: a topology needs a header row and at least one layer")
    head = [_norm(h) for h in rows[0] if h.strip()]
    gemm_fmt = head[1:4] == ["m", "n", "k"]
    layers, seen = [], set()
    for i, r in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in r if c.strip()]
        lname = cells[0] if cells else ""
        try:
            vals = [int(c) for c in cells[1:]]
        except ValueError:
            raise WorkloadError(f"{path}:{i}: layer '{lname}' has a value that is not an integer") from None
        if not lname or lname in seen:
            raise WorkloadError(f"{path}:{i}: every layer needs a unique name")
        seen.add(lname)
        if gemm_fmt:
            if len(vals) < 3:
                raise WorkloadError(f"{path}:{i}: a GEMM row is Layer, M, N, K")
            M, N, K = vals[:3]
            # SCALE-Sim's M x K input meets K x N filters: accelsim's W is the filters (N x K), X is K x M*batch
            layers.append(gemm(lname, N, K, M * batch, op="fc", batch=batch))
            continue
        if len(vals) < 7:
            raise WorkloadError(f"{path}:{i}: a convolution row is Layer name, IFMAP Height, IFMAP Width, "
                                f"Filter Height, Filter Width, Channels, Num Filter, Strides")
        H, W, R, S, C, M, sh = vals[:7]
        sw = vals[7] if len(vals) > 7 else sh
        if sh == sw:
            lay = conv(lname, C, H, W, M, R, S, stride=sh, batch=batch)
        else:   # unequal strides: gather each output row's R input rows (the importer's 'rows' lowering)
            P = (H - R) // sh + 1
            lay = replace(conv(lname, C, R, W, M, R, S, stride=sw, batch=batch * P), strides=(sh, sw),
                          lowering="rows")
        layers.append(lay)
    return Workload(name=name or p.stem, layers=layers, source=f"SCALE-Sim topology {p.name}")


__all__ = ["capture", "workload", "is_own", "own_trace", "reprune", "topology", "kind", "split"]
