"""Capture a trace from a real network: its weights pruned, its activations measured in onnxruntime, its fidelity.

Every network goes through one path: an ONNX graph (:mod:`.onnx`) run by
``onnxruntime`` on CPU.

1. The graph's layers are imported with their real geometry, in graph order.
2. Weights are read from the graph and pruned by *pattern* to *density* (any
   pattern of :mod:`accelsim.traces.pruners`, per layer, or
   ``unstructured:global``; or a named density profile such as ``erk``).
3. The dense model and the pruned model (the same graph with the pruned
   weights written back) both run on the same inputs, with each layer's input
   and output tensors exposed as graph outputs. Layers are taken in chunks
   whose exposed tensors stay under :data:`RUN_BUDGET_ELEMENTS`, so memory is
   bounded whatever the network (each chunk is one more run of the model).
4. Each layer's trace holds its pruned weight (GEMM view) and the input *the
   pruned model* gave it, so activation sparsity is measured on the network
   that would actually run. Inputs above *record_limit* elements (default
   :data:`RECORD_LIMIT`) are not kept as values: their measured density is
   recorded and the trace holds a seeded stand-in drawn at that density
   (``info["input"]`` says so).

Fidelity, against the dense model on the same inputs:

* whole network, in ``Trace.provenance`` (copied into result rows by the
  names of ``accelsim.results.TRACE_FIDELITY_KEYS``): ``fidelity`` in
  [0, 1] (1 for the dense model) and ``fidelity_metric``; for a classifier
  (an output of shape ``B x classes`` or ``B x T x classes``, or a softmax)
  ``top1_agreement`` over every row, else ``1 - output_rel_error``;
  ``logit_rel_error`` is ``||y - y_dense|| / ||y_dense||`` of the first graph
  output (logits or probabilities for a classifier). The shipped models add
  their own measures (MiniLM ``embedding_cosine``, silero-vad
  ``vad_decision_agreement``).
* per layer, in ``LayerTrace.info`` (``LAYER_FIDELITY_KEYS``):
  ``output_rel_error`` of the node's output (every upstream error included)
  and ``local_rel_error`` ``||(W - W_dense) X|| / ||W_dense X||`` on the
  pruned model's own input (this layer's pruning alone; measured on up to
  :data:`LOCAL_ERROR_COLUMNS` output positions, evenly spaced), plus
  ``act_density_dense``, ``target_weight_density`` and ``pattern``.

Inputs: ``--inputs FILE.npz`` (arrays by graph-input name), else a seeded
synthetic input (:func:`synthetic_feeds`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ...errors import TraceError
from ...workload.zoo import Density, Workload
from ..generate import layer_rng, make_activations
from ..make import plan_densities
from ..pruners import global_threshold_densities, parse_pattern, prune
from ..trace import LayerTrace, Trace, check_size
from .common import rel_error
from .onnx import OnnxNet, actact_weight, import_onnx, parse_input_shape, run_graph, stored_input

_P_STREAM = 3            # the pruners' random stream, as in make_trace
_STANDIN_STREAM = 4      # stand-ins for inputs above the record limit
#: Keep a layer's input values up to this many elements (256 MiB of float32); above it, density only.
RECORD_LIMIT = 1 << 26
#: Tensors exposed per onnxruntime run (elements); more layers take more runs.
RUN_BUDGET_ELEMENTS = 1 << 27
#: Output positions (columns of the GEMM) on which ``local_rel_error`` is measured.
LOCAL_ERROR_COLUMNS = 1024


@dataclass
class Source:
    """A network ready to capture: the imported graph, its inputs, and how to judge its fidelity."""
    net: OnnxNet
    feeds: dict[str, np.ndarray]
    inputs: str                                  # what the inputs are, in words
    fidelity: Callable[[list, list], dict] | None = None
    provenance: dict = field(default_factory=dict)


# ---- inputs ----------------------------------------------------------------------------------------------
def _vocab_of(net: OnnxNet, name: str) -> int | None:
    """The table size of the Gather (embedding) that *name* indexes, if any."""
    inits = {t.name: t for t in net.model.graph.initializer}
    for node in net.model.graph.node:
        if node.op_type == "Gather" and len(node.input) > 1 and node.input[1] == name and node.input[0] in inits:
            return int(inits[node.input[0]].dims[0])
    return None


def synthetic_feeds(net: OnnxNet, seed: int = 0) -> tuple[dict[str, np.ndarray], str]:
    """A seeded input for every graph input, and its description.

    * float, 4-D with H and W >= 8 (an image): a smooth random field, blocks of 8 x 8 pixels drawn from
      N(0, 1) plus N(0, 0.25^2) noise per pixel, scaled to unit variance (a normalized image's range);
    * other float inputs: N(0, 1);
    * integers indexing an embedding table (token ids): uniform over the table;
      named ``*mask*``: ones; named ``*type*``/``*segment*``: zeros; ``*position*``: 0..T-1 on the last axis;
      other integers: zeros;
    * booleans: true.
    """
    rng = np.random.default_rng([int(seed), 11])
    feeds, words = {}, []
    for name, shape in net.inputs.items():
        dt = np.dtype(net.input_types[name])
        low = name.lower()
        if dt.kind == "f":
            if len(shape) == 4 and shape[2] >= 8 and shape[3] >= 8:
                B, C, H, W = shape
                coarse = rng.standard_normal((B, C, -(-H // 8), -(-W // 8)))
                x = np.repeat(np.repeat(coarse, 8, axis=2), 8, axis=3)[:, :, :H, :W]
                x = x + 0.25 * rng.standard_normal(shape)
                x = x / x.std()
                words.append(f"{name}: smooth random image field")
            else:
                x = rng.standard_normal(shape)
                words.append(f"{name}: N(0, 1)")
            feeds[name] = x.astype(dt)
        elif dt.kind in "iu":
            vocab = _vocab_of(net, name)
            if "mask" in low:
                x, w = np.ones(shape), "ones"
            elif "type" in low or "segment" in low:
                x, w = np.zeros(shape), "zeros"
            elif "position" in low:
                x, w = np.broadcast_to(np.arange(shape[-1]), shape), "positions"
            elif vocab:
                x, w = rng.integers(0, vocab, size=shape), f"uniform token ids < {vocab}"
            else:
                x, w = np.zeros(shape), "zeros"
            feeds[name] = np.ascontiguousarray(x).astype(dt)
            words.append(f"{name}: {w}")
        elif dt.kind == "b":
            feeds[name] = np.ones(shape, dtype=bool)
            words.append(f"{name}: true")
        else:
            raise TraceError(f"input '{name}' has dtype {dt}: give it with --inputs FILE.npz")
    return feeds, f"synthetic (seed {seed}): " + "; ".join(words)


def read_inputs(path, where: str = "--inputs") -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` of named inputs (no pickles)."""
    p = Path(path)
    if not p.is_file():
        raise TraceError(f"{where} file '{path}' not found")
    try:
        with np.load(p, allow_pickle=False) as z:
            out = {k: z[k] for k in z.files}
    except ValueError as e:
        raise TraceError(f"{path}: not a plain .npz of named arrays ({e})") from None
    except Exception as e:  # noqa: BLE001 - zipfile, OSError, EOFError: one line
        raise TraceError(f"{path}: not a readable .npz ({type(e).__name__}: {e})") from None
    for k, v in out.items():
        check_size(k, v.shape, "input")
    return out


def onnx_source(path, input_shapes: dict | list | None = None, inputs=None, batch: int | None = None,
                seed: int = 0) -> Source:
    """A user's ONNX file with its input shapes (``{"x": (1, 3, 640, 640)}`` or ``["x=1x3x640x640"]``)."""
    from .onnx import load_model
    shapes = _shapes_arg(input_shapes)
    arrays = read_inputs(inputs) if inputs is not None else None
    model = load_model(path)
    if arrays is not None:
        inits = {t.name for t in model.graph.initializer}
        names = [vi.name for vi in model.graph.input if vi.name not in inits]
        extra = [k for k in arrays if k not in names]
        if extra:
            raise TraceError(f"{inputs}: array '{extra[0]}' is not an input of the graph (inputs: {', '.join(names)})")
        for k, v in arrays.items():
            shapes.setdefault(k, tuple(int(d) for d in v.shape))
    net = import_onnx(model, shapes, batch, name=Path(path).stem, where=str(path))
    net.source = str(path)
    if arrays is not None:
        missing = [k for k in net.inputs if k not in arrays]
        if missing:
            raise TraceError(f"{inputs}: no array for input '{missing[0]}' (inputs: {', '.join(net.inputs)})")
        feeds = {}
        for k, shp in net.inputs.items():
            a = arrays[k]
            if tuple(a.shape) != tuple(shp):
                raise TraceError(f"{inputs}: input '{k}' has shape {'x'.join(map(str, a.shape))}, the graph "
                                 f"needs {'x'.join(map(str, shp))}")
            feeds[k] = a.astype(net.input_types[k])
        words = f"{Path(inputs).name} ({', '.join(f'{k} {tuple(v.shape)}' for k, v in feeds.items())})"
    else:
        feeds, words = synthetic_feeds(net, seed)
    prov = {"input_shapes": {k: "x".join(map(str, v)) for k, v in net.inputs.items()}}
    return Source(net, feeds, words, None, prov)


def _shapes_arg(input_shapes) -> dict[str, tuple]:
    if not input_shapes:
        return {}
    if isinstance(input_shapes, dict):
        return {str(k): tuple(int(d) for d in (v if not isinstance(v, str) else v.lower().split("x")))
                for k, v in input_shapes.items()}
    out = {}
    for item in input_shapes:
        k, v = parse_input_shape(item)
        out[k] = v
    return out


# ---- fidelity --------------------------------------------------------------------------------------------
def is_classifier(net: OnnxNet, output: np.ndarray) -> bool:
    """The first output is ``B x classes`` or comes from a softmax over its last axis of 2 or more."""
    name = net.outputs[0]
    producer = next((n for n in net.model.graph.node if name in n.output), None)
    if output.ndim < 2 or output.shape[-1] < 2:
        return False
    if producer is not None and producer.op_type in ("Softmax", "LogSoftmax"):
        return True
    return output.ndim == 2


def output_fidelity(dense: list, pruned: list, classifier: bool) -> dict:
    d = np.asarray(dense[0], dtype=np.float64)
    p = np.asarray(pruned[0], dtype=np.float64)
    err = rel_error(p, d)
    out = {"logit_rel_error": err, "output_rel_error": err}
    if classifier:
        agree = float(np.mean(d.argmax(axis=-1) == p.argmax(axis=-1)))
        out.update({"fidelity": agree, "fidelity_metric": "top1_agreement", "top1_agreement": agree})
    else:
        out.update({"fidelity": float(max(0.0, 1.0 - err)), "fidelity_metric": "1 - output_rel_error"})
    return out


# ---- capture ---------------------------------------------------------------------------------------------
def _chunks(net: OnnxNet, budget: int) -> list[list]:
    out, cur, size = [], [], 0
    for ol in net.layers:
        names = list(dict.fromkeys(ol.acts + [ol.output]))
        n = sum(math.prod(net.shapes.get(t, (0,))) for t in names)
        if cur and size + n > budget:
            out.append(cur)
            cur, size = [], 0
        cur.append(ol)
        size += n
    if cur:
        out.append(cur)
    return out


def _prune_all(wl: Workload, weights: dict[str, np.ndarray], pattern: str, density: float | None,
               profile: str | None, seed: int) -> tuple[dict, dict, str]:
    pat = parse_pattern(pattern)
    dens = plan_densities(wl, pat, density, profile, None)
    if pat.kind == "unstructured" and pat.scope == "global":
        g = global_threshold_densities({l.name: weights[l.name] for l in wl.layers if l.prunable},
                                       1.0 if density is None else density)
        dens = {n: Density(g.get(n, 1.0), d.act) for n, d in dens.items()}
    out = {}
    for idx, lay in enumerate(wl.layers):
        if lay.name not in weights:
            continue
        d = dens[lay.name].weight
        w = weights[lay.name]
        if lay.prunable and (d < 1.0 or pat.kind == "nm"):
            w = prune(w, pat, d, layer_rng(seed, idx, _P_STREAM))
        out[lay.name] = w
    return out, dens, pat.name


def _cols(n: int) -> np.ndarray:
    return np.arange(n) if n <= LOCAL_ERROR_COLUMNS else np.linspace(0, n - 1, LOCAL_ERROR_COLUMNS).astype(np.int64)


def _x_columns(lt: LayerTrace, cols: np.ndarray) -> np.ndarray:
    """Columns *cols* of every group's ``K x N`` input, ``groups x K x n``, without building the whole im2col."""
    lay = lt.layer
    G = lay.groups
    if not lay.is_conv:
        return lt.input[:, cols].reshape(G, lay.K, len(cols))
    x = lt.input
    if lay.pad:
        x = np.pad(x, ((0, 0), (0, 0), (lay.pad, lay.pad), (lay.pad, lay.pad)))
    b, rem = np.divmod(cols, lay.P * lay.Q)
    p, q = np.divmod(rem, lay.Q)
    r = np.arange(lay.R)[:, None, None]
    s = np.arange(lay.S)[None, :, None]
    patch = x[b[None, None, :], :, (p * lay.stride)[None, None, :] + r, (q * lay.stride)[None, None, :] + s]
    cg = lay.C // G
    # patch: R, S, n, C -> G, (cg, R, S), n: rows in im2col's (c, r, s) order
    patch = patch.reshape(lay.R, lay.S, len(cols), G, cg).transpose(3, 4, 0, 1, 2)
    return patch.reshape(G, cg * lay.R * lay.S, len(cols))


def local_error(lt: LayerTrace, w_dense: np.ndarray) -> float:
    """``||(W - W_dense) X|| / ||W_dense X||`` on the layer's stored input (a subsample of its columns)."""
    lay = lt.layer
    x = _x_columns(lt, _cols(lay.N)).astype(np.float32)
    shape = (lay.groups, lay.rows_per_group, lay.K)
    wd = w_dense.reshape(shape).astype(np.float32)
    dw = lt.weight.reshape(shape).astype(np.float32) - wd
    if lay.rows_per_group == 1:    # depthwise: one weight row per group; a broadcast product beats G tiny GEMMs
        den = _norm(np.einsum("gk,gkn->gn", wd[:, 0], x, optimize=True))
        num = _norm(np.einsum("gk,gkn->gn", dw[:, 0], x, optimize=True))
    else:
        den = _norm(np.matmul(wd, x))
        num = _norm(np.matmul(dw, x))
    if den == 0.0:
        return 0.0 if num == 0.0 else math.inf
    return num / den


def _norm(a: np.ndarray) -> float:
    a = a.ravel()
    return math.sqrt(float(np.dot(a.astype(np.float64), a.astype(np.float64))))


def _density(a: np.ndarray) -> float:
    return float(np.count_nonzero(a)) / a.size if a.size else 1.0


def capture_source(src: Source, pattern: str = "dense", density: float | None = None, seed: int = 0, *,
                   profile: str | None = None, record_limit: int = RECORD_LIMIT, layers: list[str] | None = None,
                   name: str | None = None, budget: int = RUN_BUDGET_ELEMENTS) -> Trace:
    """The trace of *src* pruned by *pattern* to *density* (see the module docstring)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise TraceError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(record_limit, (int, np.integer)) or record_limit < 0:
        raise TraceError(f"record limit must be a non-negative integer, got {record_limit!r}")
    net = src.net
    wl = Workload(name=name or net.name, layers=[ol.layer for ol in net.layers])
    dense_w = {ol.name: net.weight_gemm(ol) for ol in net.layers if ol.kind != "actact"}
    pruned_w, dens, pat_name = _prune_all(wl, dense_w, pattern, density, profile, int(seed))
    changed = {n: w for n, w in pruned_w.items() if w is not dense_w[n]}
    pruned_model = net.with_weights(changed) if changed else net.model
    want = set(layers) if layers else None
    if want:
        missing = [n for n in layers if n not in {ol.name for ol in net.layers}]
        if missing:
            wl.layer(missing[0])      # raises with the list of layers
    out_layers: dict[str, LayerTrace] = {}
    final_dense = final_pruned = None
    for ci, chunk in enumerate(_chunks(net, budget)):
        chunk = [ol for ol in chunk if want is None or ol.name in want]
        if not chunk and ci > 0:
            continue
        names = [t for ol in chunk for t in ol.acts + [ol.output]]
        if ci == 0:
            names = names + net.outputs
        dv = run_graph(net.model, src.feeds, names)
        pv = run_graph(pruned_model, src.feeds, names) if changed else dv
        if ci == 0:
            final_dense = [dv[o] for o in net.outputs]
            final_pruned = [pv[o] for o in net.outputs]
        for ol in chunk:
            lay = ol.layer
            x = stored_input(ol, pv)
            x_dense = stored_input(ol, dv) if changed else x
            if ol.kind == "actact":
                w = actact_weight(ol, pv)
                wd = w
            else:
                w, wd = pruned_w[ol.name], dense_w[ol.name]
            info = {"target_weight_density": dens[lay.name].weight if lay.prunable else 1.0,
                    "pattern": pat_name if lay.prunable else "dense",
                    "act_density_dense": _density(x_dense),
                    "output_rel_error": rel_error(pv[ol.output], dv[ol.output]) if changed else 0.0,
                    "node": ol.node_name}
            if ol.kind == "actact":
                info["act_density_all_instances"] = _density(np.asarray(pv[ol.acts[1]]))
                info["instance"] = f"first of {lay.count} (batch x heads); both operands are activations"
            lt = LayerTrace(lay, w, x, info)
            info["local_rel_error"] = local_error(lt, wd) if (changed and w is not wd) else 0.0
            if x.size > record_limit:
                measured = _density(x)
                stand = make_activations(x.shape, max(measured, 1.0 / x.size),
                                         layer_rng(seed, net.layers.index(ol), _STANDIN_STREAM), clustered=True)
                info["act_density_measured"] = measured
                info["input"] = (f"stand-in drawn at the measured density {measured:.4f}: the real input has "
                                 f"{x.size} elements, above the record limit of {record_limit}")
                lt = LayerTrace(lay, w, stand, info)
            out_layers[ol.name] = lt
        del dv, pv
    order = [ol.name for ol in net.layers if ol.name in out_layers]
    prov = {"source": net.source, "model": name or net.name, "inputs": src.inputs,
            "pruner": "magnitude" if pat_name not in ("random", "dense") else pat_name, "pattern": pat_name,
            "density": density, "profile": profile, "seed": int(seed), "record_limit": int(record_limit),
            "runtime": "onnxruntime"}
    prov.update(src.provenance)
    fid = src.fidelity or (lambda d, p: output_fidelity(d, p, is_classifier(net, np.asarray(d[0]))))
    prov.update(fid(final_dense, final_pruned))
    return Trace(workload=name or net.name, layers=[out_layers[n] for n in order], provenance=prov)
