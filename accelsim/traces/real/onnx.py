"""Own networks from ONNX graphs: layers with their real geometry, in graph order, read with the ``onnx`` library.

:func:`import_onnx` loads a model (``onnx.load``), checks it, fixes the
input shapes (``--input-shape NAME=1x3x640x640``; a symbolic dimension left
open is an error naming the input and its symbolic shape), folds ``Constant``
nodes into initializers and runs ONNX shape inference. Every weighted compute
node of the main graph then becomes one accelsim layer, in the graph's
topological order (the order the ONNX standard requires of ``graph.node``):

* ``Conv`` (1-D and 2-D): strides, dilations, pads (explicit or ``auto_pad``),
  groups and depthwise. A :class:`~accelsim.workload.Layer` has one stride and
  one symmetric pad, and the trace's im2col (``LayerTrace.x_gemm``) is the
  arbiter of what every model computes, so a convolution the fields cannot
  say is *lowered* to an exactly equivalent one (same products, same weights):

  - ``prepadded``: unequal pads are applied to the stored input (``pad = 0``);
  - ``rows``: unequal strides or a dilation along H: each output row's ``R``
    input rows are gathered (``batch = B*P``, ``H = R``, stride ``sw``);
  - ``cols``: the same along W (``batch = B*Q``, ``W = S``, stride ``sh``);
  - ``patches``: dilation along both axes: each output's ``R x S`` window.

  The stored input grows by the duplication (``R/sh`` for ``rows``); the
  source geometry stays in the layer's ``strides``, ``dilation``, ``pads``.
* ``ConvTranspose``: the GEMM + col2im form (how Caffe and cuDNN compute it):
  ``W`` is ``(M/g*R*S) x (C/g)`` per group against the input's ``C x B*H*W``
  (``op = matmul``, ``transposed = True``), so MACs are the real
  ``B*H*W*C*M/g*R*S``, not the zero-inserted convolution's.
* ``MatMul``, ``Gemm`` and ``Einsum`` (when it is a matmul: every index is a
  batch, contracted or free index of one operand): with a constant operand, an
  ``fc`` layer ``W (M x K)`` against the activation's ``K x N`` (``N`` = every
  other dimension); with two activation operands (attention's ``Q K^T`` and
  ``A V``), a ``matmul`` layer with ``prunable = False`` and ``count`` = the
  batch of products (batch x heads); the trace holds the first instance.
* ``LSTM`` (one layer per direction): ``W = [W_ih | W_hh]`` (``4H x (I+H)``)
  against one column ``[x_t; h_{t-1}]`` per step and sequence (``op = lstm``).

A weight is any operand that reaches the node from an initializer (or a folded
``Constant``) through ``Identity``, ``Cast``, ``DequantizeLinear``,
``Transpose``, ``Reshape``, ``Flatten``, ``Squeeze`` or ``Unsqueeze``. A
quantized weight's zeros are its integer zero points, so its sparsity is kept;
pruning writes the zero point back into the integer tensor.

Refused with one line (exit 2): an unreadable or truncated file, an operator
that is not ONNX (``onnx.defs``), weighted operators accelsim does not import
(``QLinearConv``, ``ConvInteger``, ``GRU``, fused contrib ops ...), compute
nodes inside control flow (``If``/``Loop``/``Scan``), 3-D convolutions, a
tensor beyond :data:`~accelsim.traces.trace.MAX_ELEMENTS`, a symbolic input
dimension with no ``--input-shape``.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import os
import re
import string
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import TraceError
from ...workload.layer import Layer, conv, gemm
from ..trace import MAX_ELEMENTS, MAX_TRACE_ELEMENTS

#: The compute operators that become layers.
LAYER_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum", "LSTM")
#: Operators that pass a weight through unchanged in meaning (a path from an initializer to a layer).
WEIGHT_PATH_OPS = ("Identity", "Cast", "DequantizeLinear", "Transpose", "Reshape", "Flatten", "Squeeze",
                   "Unsqueeze")
#: Weighted compute operators accelsim does not import (a graph holding one is refused, not mis-simulated).
REFUSED_OPS = ("QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger", "GRU", "RNN", "DeformConv",
               "Attention", "MultiHeadAttention", "GroupQueryAttention", "QAttention", "FusedConv", "FusedGemm",
               "FusedMatMul", "QGemm", "DynamicQuantizeMatMul", "MatMulNBits", "MatMulIntegerToFloat", "NhwcConv")
_SUBGRAPH_ATTRS = ("then_branch", "else_branch", "body")


def _onnx():
    try:
        import onnx
    except ImportError:  # pragma: no cover - a dependency of accelsim
        raise TraceError("the own-network path needs the 'onnx' package (pip install onnx onnxruntime)") from None
    return onnx


# ---- small typed structures -------------------------------------------------------------------------------
@dataclass
class WeightPath:
    """Where a layer's weight comes from: an initializer, then value-preserving ops up to the layer's input."""
    root: str
    nodes: list[int]          # indices in graph.node, from the root's consumer to the layer's own input
    consumer: int             # the layer's node index
    slot: int                 # which input of the consumer


@dataclass
class OnnxLayer:
    """One imported layer: its :class:`Layer` and how to read its tensors from the graph."""
    layer: Layer
    node: int                 # index in graph.node
    node_name: str
    kind: str                 # conv | convT | fc_right | fc_left | actact | lstm
    weights: list[WeightPath]
    acts: list[str]           # activation tensors the trace input is built from
    output: str               # the node output compared for fidelity
    geo: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.layer.name


@dataclass
class OnnxNet:
    """A prepared model (input shapes fixed, constants folded, shapes inferred) and its layers."""
    name: str
    model: object                       # onnx.ModelProto
    layers: list[OnnxLayer]
    inputs: dict[str, tuple]            # graph input -> static shape
    input_types: dict[str, np.dtype]
    shapes: dict[str, tuple]            # tensor -> static shape (where known)
    outputs: list[str]                  # graph outputs, in order
    source: str = ""
    declared: frozenset = frozenset()   # weights given by shape only (geometry without values)

    def layer(self, name: str) -> OnnxLayer:
        for ol in self.layers:
            if ol.name == name:
                return ol
        raise TraceError(f"{self.name}: no layer '{name}'")

    # ---- weights ------------------------------------------------------------------------------------------
    def initializers(self, model=None) -> dict:
        return {t.name: t for t in (model or self.model).graph.initializer}

    def weight_gemm(self, ol: OnnxLayer) -> np.ndarray:
        """The layer's weight in the GEMM view (``M x K``, float32), read from the model's initializers."""
        if ol.kind == "actact":
            raise TraceError(f"layer '{ol.name}' has no weight: both operands are activations")
        inits = self.initializers()
        vals = [_path_value(self.model, inits, wp, self.shapes)[-1] for wp in ol.weights]
        return _to_gemm(ol, vals)

    def with_weights(self, gemms: dict[str, np.ndarray]):
        """A copy of the model whose layers *gemms* (by layer name, GEMM view) replace the stored weights."""
        model = copy.deepcopy(self.model)
        uses = _consumers(model)
        clones: list = []
        for ol in self.layers:
            if ol.name not in gemms:
                continue
            inits = {t.name: t for t in model.graph.initializer}
            news = _from_gemm(ol, gemms[ol.name], [_path_value(model, inits, wp, self.shapes)[-1]
                                                   for wp in ol.weights])
            for wp, new in zip(ol.weights, news):
                _write_back(model, wp, new, self.shapes, ol.name, uses, clones)
        _insert_clones(model, clones)
        return model


def _to_gemm(ol: OnnxLayer, vals: list[np.ndarray]) -> np.ndarray:
    g = ol.geo
    if ol.kind == "conv":
        w = vals[0]
        return np.ascontiguousarray(w.reshape(w.shape[0], -1), dtype=np.float32)
    if ol.kind == "convT":
        w = vals[0].reshape(g["C"], g["Mg"], g["R"], g["S"])
        G, Cg = g["groups"], g["C"] // g["groups"]
        out = w.reshape(G, Cg, g["Mg"], g["R"], g["S"]).transpose(0, 2, 3, 4, 1).reshape(-1, Cg)
        return np.ascontiguousarray(out, dtype=np.float32)
    if ol.kind in ("fc_right", "fc_left"):
        w = vals[0].reshape(g["w_shape"]).transpose(g["w_perm"]).reshape(ol.layer.M, ol.layer.K)
        return np.ascontiguousarray(w, dtype=np.float32)
    if ol.kind == "lstm":
        d = g["direction_index"]
        return np.ascontiguousarray(np.concatenate([vals[0][d], vals[1][d]], axis=1), dtype=np.float32)
    raise TraceError(f"layer '{ol.name}': no weight view for kind {ol.kind}")


def _from_gemm(ol: OnnxLayer, wg: np.ndarray, old: list[np.ndarray]) -> list[np.ndarray]:
    """The inverse of :func:`_to_gemm`: the consumer-side tensors that give GEMM view *wg*."""
    g = ol.geo
    if ol.kind == "conv":
        return [wg.reshape(old[0].shape)]
    if ol.kind == "convT":
        G, Cg = g["groups"], g["C"] // g["groups"]
        w = wg.reshape(G, g["Mg"], g["R"], g["S"], Cg).transpose(0, 4, 1, 2, 3)
        return [w.reshape(old[0].shape)]
    if ol.kind in ("fc_right", "fc_left"):
        perm = g["w_perm"]
        inv = np.argsort(perm)
        shaped = wg.reshape([g["w_shape"][p] for p in perm]).transpose(inv)
        return [shaped.reshape(old[0].shape)]
    if ol.kind == "lstm":
        d, I = g["direction_index"], g["I"]
        W, R = old[0].copy(), old[1].copy()
        W[d], R[d] = wg[:, :I], wg[:, I:]
        return [W, R]
    raise TraceError(f"layer '{ol.name}': no weight view for kind {ol.kind}")


# ---- weight paths: evaluate, invert, write back -------------------------------------------------------------
def _np_dtype(elem_type: int) -> np.dtype:
    from onnx import helper
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))


def _const(model, inits: dict, name: str) -> np.ndarray | None:
    from onnx import numpy_helper
    if not name:
        return None
    t = inits.get(name)
    return None if t is None else numpy_helper.to_array(t)


def _attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _dq_broadcast(node, model, inits, x_shape) -> tuple[np.ndarray, np.ndarray]:
    """DequantizeLinear's scale and zero point broadcast to the quantized tensor's shape."""
    a = _attrs(node)
    if a.get("block_size", 0):
        raise TraceError(f"node '{node.name}': blocked DequantizeLinear is not supported")
    scale = _const(model, inits, node.input[1])
    zp = _const(model, inits, node.input[2]) if len(node.input) > 2 else None
    if scale is None:
        raise TraceError(f"node '{node.name}': DequantizeLinear scale is not a constant")
    zp = np.zeros_like(scale, dtype=np.int64) if zp is None else zp.astype(np.int64)
    if scale.ndim == 0 or scale.size == 1:
        return np.broadcast_to(scale.reshape(()), x_shape), np.broadcast_to(zp.reshape(()), x_shape)
    axis = a.get("axis", 1) % len(x_shape)
    shape = [1] * len(x_shape)
    shape[axis] = -1
    return np.broadcast_to(scale.reshape(shape), x_shape), np.broadcast_to(zp.reshape(shape), x_shape)


def _path_value(model, inits: dict, wp: WeightPath, shapes: dict) -> list[np.ndarray]:
    """Values along the path: the root's, then after each node (the last is what the layer reads)."""
    v = _const(model, inits, wp.root)
    if v is None:
        raise TraceError(f"weight '{wp.root}' has no value (a shape-only workload cannot be captured)")
    vals = [v]
    for i in wp.nodes:
        node = model.graph.node[i]
        op = node.op_type
        if op == "Identity":
            v = v
        elif op == "Cast":
            v = v.astype(_np_dtype(_attrs(node)["to"]))
        elif op == "DequantizeLinear":
            scale, zp = _dq_broadcast(node, model, inits, v.shape)
            v = ((v.astype(np.int64) - zp).astype(np.float32) * scale).astype(scale.dtype)
        elif op == "Transpose":
            perm = _attrs(node).get("perm")
            v = np.transpose(v, perm)
        else:  # Reshape, Flatten, Squeeze, Unsqueeze: the output's inferred static shape
            shp = shapes.get(node.output[0])
            if shp is None:
                raise TraceError(f"node '{node.name}' ({op}) on a weight has no static output shape")
            v = v.reshape(shp)
        vals.append(v)
    return vals


def _invert(model, inits, node, new_out: np.ndarray, old_in: np.ndarray) -> np.ndarray:
    op = node.op_type
    if op == "Identity":
        return new_out
    if op == "Cast":
        return new_out.astype(old_in.dtype)
    if op == "DequantizeLinear":
        _, zp = _dq_broadcast(node, model, inits, old_in.shape)
        return np.where(new_out == 0, zp, old_in).astype(old_in.dtype)
    if op == "Transpose":
        perm = _attrs(node).get("perm")
        if perm is None:
            return np.transpose(new_out)
        return np.transpose(new_out, np.argsort(perm))
    return new_out.reshape(old_in.shape)


def _consumers(model) -> dict[str, int]:
    n = {}
    for node in model.graph.node:
        for i in node.input:
            n[i] = n.get(i, 0) + 1
    for o in model.graph.output:
        n[o.name] = n.get(o.name, 0) + 1
    return n


def _write_back(model, wp: WeightPath, new_consumer_value: np.ndarray, shapes: dict, layer_name: str,
                uses: dict, clones: list) -> None:
    """Put a new weight value (as the layer reads it) into *model*, through the inverse of its path.

    The root initializer is changed in place when this layer is its only user; a shared weight (a tied LM
    head, one constant feeding two nodes) gets its own copy, so pruning one layer never prunes another. Copies
    of the path's nodes go to *clones* as ``(consumer index, nodes, slot, input name)``; :func:`_insert_clones`
    puts them in (node indices stay those of the unchanged graph until then)."""
    from onnx import numpy_helper
    inits = {t.name: t for t in model.graph.initializer}
    vals = _path_value(model, inits, wp, shapes)
    new = new_consumer_value
    for k in range(len(wp.nodes) - 1, -1, -1):
        new = _invert(model, inits, model.graph.node[wp.nodes[k]], new, vals[k])
    new = np.ascontiguousarray(new.astype(vals[0].dtype, copy=False))
    chain = [wp.root] + [model.graph.node[i].output[0] for i in wp.nodes[:-1]]
    if not any(uses.get(t, 0) > 1 for t in chain):
        inits[wp.root].CopyFrom(numpy_helper.from_array(new, wp.root))
        return
    tag = re.sub(r"[^A-Za-z0-9_.]", "_", layer_name)
    root_new = f"{wp.root}::accelsim::{tag}"
    model.graph.initializer.append(numpy_helper.from_array(new, root_new))
    prev, nodes = root_new, []
    for i in wp.nodes:  # copies of the path's nodes, each reading the previous copy
        node = copy.deepcopy(model.graph.node[i])
        node.input[0] = prev
        node.output[0] = f"{node.output[0]}::accelsim::{tag}"
        node.name = f"{node.name}::accelsim::{tag}"
        nodes.append(node)
        prev = node.output[0]
    clones.append((wp.consumer, nodes, wp.slot, prev))


def _insert_clones(model, clones: list) -> None:
    """Rebuild the node list with each clone path just before its consumer (topological order kept)."""
    if not clones:
        return
    before: dict[int, list] = {}
    for consumer, nodes, slot, name in clones:
        before.setdefault(consumer, []).extend(nodes)
        model.graph.node[consumer].input[slot] = name
    out = []
    for i, node in enumerate(model.graph.node):
        out.extend(before.get(i, []))
        out.append(node)
    del model.graph.node[:]
    model.graph.node.extend(out)


# ---- onnxruntime -----------------------------------------------------------------------------------------
def _ort():
    try:
        import onnxruntime
    except ImportError:  # pragma: no cover - a dependency of accelsim
        raise TraceError("the own-network path needs 'onnxruntime' (pip install onnxruntime)") from None
    return onnxruntime


def run_graph(model, feeds: dict[str, np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
    """Run *model* on *feeds* and return the tensors *names* (graph inputs, initializers or intermediates)."""
    import onnx
    from onnx import numpy_helper
    ort = _ort()
    inits = {t.name: t for t in model.graph.initializer}
    out: dict[str, np.ndarray] = {}
    want = []
    for n in dict.fromkeys(names):
        if n in feeds:
            out[n] = feeds[n]
        elif n in inits:
            out[n] = numpy_helper.to_array(inits[n])
        else:
            want.append(n)
    if not want:
        return out
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in want:
        if n not in have:
            m.graph.output.append(onnx.ValueInfoProto(name=n))
    try:
        data = m.SerializeToString()
    except ValueError:
        raise TraceError("the model is over 2 GB: onnxruntime cannot take it in memory from accelsim; "
                         "use it as a workload (geometry only) or the statistical mode") from None
    so = ort.SessionOptions()
    so.log_severity_level = 3
    try:
        sess = ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])
        res = sess.run(want, feeds)
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types; one line for the user
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TraceError(f"onnxruntime cannot run the model: {msg[:300]}") from None
    out.update(zip(want, res))
    return out


# ---- loading and preparing ---------------------------------------------------------------------------------
def _dims(vi) -> list:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return []
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]


def _shape_str(dims) -> str:
    return "[" + ", ".join(str(d) for d in dims) + "]"


def load_model(path: str | os.PathLike):
    """``onnx.load`` with every failure as one line."""
    onnx = _onnx()
    from google.protobuf.message import DecodeError
    p = Path(path)
    if not p.is_file():
        raise TraceError(f"ONNX model '{path}' not found")
    try:
        model = onnx.load(str(p))
    except (DecodeError, ValueError, RuntimeError, OSError, TypeError, onnx.checker.ValidationError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise TraceError(f"{path}: not a readable ONNX model (truncated or corrupt? {msg})") from None
    if not model.graph.node:
        raise TraceError(f"{path}: not a readable ONNX model (no graph: a truncated file, or not ONNX)")
    return model


def _walk_nodes(graph, depth=0):
    for node in graph.node:
        yield node, depth
        for a in node.attribute:
            if a.name in _SUBGRAPH_ATTRS or a.type == 5:   # GRAPH
                if a.HasField("g"):
                    yield from _walk_nodes(a.g, depth + 1)
            for g in a.graphs:
                yield from _walk_nodes(g, depth + 1)


def check_ops(model, where: str) -> None:
    """Refuse operators that are not ONNX, weighted ops we do not import, and compute inside control flow."""
    import onnx.defs
    domains = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    for node, depth in _walk_nodes(model.graph):
        dom = node.domain or "ai.onnx"
        nm = node.name or node.output[0] if node.output else node.op_type
        if node.op_type in REFUSED_OPS:
            raise TraceError(f"{where}: node '{nm}' is {node.op_type}, a weighted op accelsim does not import "
                             f"(it imports {', '.join(LAYER_OPS)}; export without quantized or fused ops)")
        if dom == "ai.onnx" and not onnx.defs.has(node.op_type):
            raise TraceError(f"{where}: node '{nm}' uses op '{node.op_type}', which is not an ONNX operator "
                             f"(unsupported op)")
        if dom not in ("ai.onnx", "ai.onnx.ml", "com.microsoft"):
            raise TraceError(f"{where}: node '{nm}' uses op '{node.op_type}' of domain '{node.domain}', "
                             f"which neither ONNX nor onnxruntime defines (unsupported op)")
        if dom == "ai.onnx" and "ai.onnx" in domains:
            try:
                onnx.defs.get_schema(node.op_type, domains["ai.onnx"])
            except Exception:  # noqa: BLE001 - onnx raises SchemaError, its type is not public everywhere
                raise TraceError(f"{where}: node '{nm}' uses op '{node.op_type}', which opset "
                                 f"{domains['ai.onnx']} does not have (unsupported op)") from None
        if depth > 0 and node.op_type in LAYER_OPS:
            raise TraceError(f"{where}: a {node.op_type} node ('{nm}') sits inside control flow (If/Loop/Scan); "
                             f"accelsim imports straight-line graphs: export the model without it")


def parse_input_shape(text: str) -> tuple[str, tuple[int, ...]]:
    """``NAME=1x3x640x640`` -> ``("NAME", (1, 3, 640, 640))``."""
    name, sep, dims = str(text).rpartition("=")
    if not sep or not name or not dims:
        raise TraceError(f"--input-shape takes NAME=D1xD2x..., e.g. x=1x3x640x640; got '{text}'")
    try:
        shape = tuple(int(d) for d in dims.lower().split("x"))
    except ValueError:
        raise TraceError(f"--input-shape '{text}': dimensions are positive integers joined by 'x'") from None
    if any(d < 1 for d in shape):
        raise TraceError(f"--input-shape '{text}': dimensions must be >= 1")
    return name, shape


def _check_elems(name: str, shape, what: str) -> None:
    n = math.prod(int(d) for d in shape)
    if n > MAX_ELEMENTS:
        raise TraceError(f"{what} '{name}' would have shape {'x'.join(map(str, shape))} ({n:.3g} elements), more "
                         f"than the {MAX_ELEMENTS:.3g} accelsim will allocate")


def _fold_constants(model) -> None:
    """``Constant`` nodes of the main graph become initializers (so weights are found in one place)."""
    from onnx import helper, numpy_helper
    g = model.graph
    keep = []
    for node in g.node:
        if node.op_type != "Constant" or node.domain not in ("", "ai.onnx") or len(node.attribute) != 1:
            keep.append(node)
            continue
        a = node.attribute[0]
        if a.name == "value":
            t = copy.deepcopy(a.t)
        elif a.name in ("value_float", "value_int", "value_floats", "value_ints"):
            v = helper.get_attribute_value(a)
            dt = np.float32 if "float" in a.name else np.int64
            t = numpy_helper.from_array(np.array(v, dtype=dt))
        else:           # sparse_value, value_string(s): leave the node alone
            keep.append(node)
            continue
        t.name = node.output[0]
        g.initializer.append(t)
    del g.node[:]
    g.node.extend(keep)


def prepare(model, where: str, input_shapes: dict[str, tuple] | None = None, batch: int | None = None,
            declared: dict[str, tuple] | None = None):
    """Fix input shapes, fold constants, infer shapes. Returns ``(model, inputs, input_types, shapes)``."""
    _onnx()   # a clear error when the package is missing
    from onnx import shape_inference
    model = copy.deepcopy(model)
    check_ops(model, where)
    input_shapes = dict(input_shapes or {})
    declared = dict(declared or {})
    init_names = {t.name for t in model.graph.initializer}
    graph_inputs = [vi for vi in model.graph.input if vi.name not in init_names and vi.name not in declared]
    names = [vi.name for vi in graph_inputs]
    unknown = [n for n in input_shapes if n not in names]
    if unknown:
        raise TraceError(f"{where}: --input-shape names '{unknown[0]}', but the graph's inputs are "
                         f"{', '.join(names) or '(none)'}")
    if batch is not None and (not isinstance(batch, int) or batch < 1):
        raise TraceError(f"--batch must be a positive integer, got {batch!r}")
    inputs, types = {}, {}
    batch_used = False
    for vi in graph_inputs:
        dims = _dims(vi)
        given = input_shapes.get(vi.name)
        if given is not None:
            if dims and len(given) != len(dims):
                raise TraceError(f"{where}: input '{vi.name}' has {len(dims)} dimensions {_shape_str(dims)}, "
                                 f"--input-shape gives {len(given)}")
            for i, (d, v) in enumerate(zip(dims, given)):
                if isinstance(d, int) and d > 0 and d != v:
                    raise TraceError(f"{where}: input '{vi.name}' fixes dimension {i} at {d}, --input-shape "
                                     f"gives {v}")
            shape = list(given)
        else:
            shape = list(dims)
        symbolic_lead = bool(dims) and not (isinstance(dims[0], int) and dims[0] > 0)
        if batch is not None and symbolic_lead:
            if given is not None and given[0] != batch:
                raise TraceError(f"{where}: --batch {batch} and --input-shape {vi.name}={given[0]}x... disagree")
            shape[0] = batch
            batch_used = True
        if not all(isinstance(d, int) and d > 0 for d in shape):
            raise TraceError(f"{where}: input '{vi.name}' has symbolic shape {_shape_str(dims)}; give it with "
                             f"--input-shape {vi.name}={'x'.join(str(d) if isinstance(d, int) and d > 0 else 'N' for d in dims)}")
        _check_elems(vi.name, shape, "input")
        t = vi.type.tensor_type
        del t.shape.dim[:]
        for d in shape:
            t.shape.dim.add().dim_value = int(d)
        inputs[vi.name] = tuple(int(d) for d in shape)
        types[vi.name] = _np_dtype(t.elem_type)
    if batch is not None and not batch_used:
        raise TraceError(f"{where}: --batch {batch}: no graph input has a symbolic leading (batch) dimension")
    _fold_constants(model)
    for name, shp in declared.items():   # weights given by shape only stay graph inputs with a static shape
        _check_elems(name, shp, "weight")
    try:
        inferred = shape_inference.infer_shapes(model, data_prop=True)
    except Exception as e:  # noqa: BLE001 - onnx raises InferenceError and others; one line for the user
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise TraceError(f"{where}: ONNX shape inference failed ({msg})") from None
    shapes: dict[str, tuple] = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output) + list(inferred.graph.input):
        dims = _dims(vi)
        if dims and all(isinstance(d, int) and d > 0 for d in dims) or (vi.type.tensor_type.HasField("shape")
                                                                        and not dims):
            shapes[vi.name] = tuple(dims)
    for t in model.graph.initializer:
        shapes[t.name] = tuple(int(d) for d in t.dims)
    for name, shp in inputs.items():
        shapes[name] = shp
    for name, shp in shapes.items():
        _check_elems(name, shp, "tensor")
    return model, inputs, types, shapes


# ---- layers ------------------------------------------------------------------------------------------------
def _clean(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.:\-]+", ".", name).strip(".")
    return s or "node"


class _Importer:
    def __init__(self, model, shapes: dict, where: str, declared: frozenset, rename: dict | None = None,
                 frozen: frozenset = frozenset()):
        self.model = model
        self.g = model.graph
        self.shapes = shapes
        self.where = where
        self.inits = {t.name: t for t in self.g.initializer}
        self.declared = declared
        self.producer = {}
        for i, node in enumerate(self.g.node):
            for o in node.output:
                if o:
                    self.producer[o] = i
        self.rename = rename or {}
        self.frozen = frozen
        self.names: set[str] = set()

    def shape(self, name: str, what: str) -> tuple:
        s = self.shapes.get(name)
        if s is None:
            raise TraceError(f"{self.where}: the shape of {what} '{name}' is not static after shape inference "
                             f"(give every input's shape with --input-shape)")
        return s

    def weight_path(self, name: str, consumer: int, slot: int) -> WeightPath | None:
        """The path from an initializer to input *name*, or None when *name* is an activation."""
        nodes = []
        cur = name
        while True:
            if cur in self.inits or cur in self.declared:
                return WeightPath(cur, list(reversed(nodes)), consumer, slot)
            i = self.producer.get(cur)
            if i is None:
                return None
            node = self.g.node[i]
            if node.op_type not in WEIGHT_PATH_OPS:
                return None
            if node.op_type == "DequantizeLinear" and any(
                    x and x not in self.inits for x in node.input[1:]):
                return None
            if node.op_type == "Reshape" and node.input[1] not in self.inits:
                return None
            nodes.append(i)
            cur = node.input[0]

    def unique(self, node, idx: int) -> str:
        raw = node.name or (node.output[0] if node.output and node.output[0] else f"{node.op_type}_{idx}")
        base = self.rename.get(node.name, _clean(raw))
        name, k = base, 1
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name

    def run(self) -> list[OnnxLayer]:
        out = []
        for idx, node in enumerate(self.g.node):
            if node.op_type not in LAYER_OPS or node.domain not in ("", "ai.onnx"):
                continue
            fn = getattr(self, f"_{node.op_type.lower()}")
            made = fn(node, idx)
            for ol in made:
                if ol.layer.name in self.frozen and ol.layer.prunable:
                    ol.layer = dataclasses.replace(ol.layer, prunable=False)
            out.extend(made)
        return out

    # -- convolutions --
    def _conv_geometry(self, node, x_shape, w_shape, transposed: bool) -> dict:
        a = _attrs(node)
        nd = len(x_shape) - 2
        if nd not in (1, 2):
            raise TraceError(f"{self.where}: node '{node.name}' is a {nd}-D {node.op_type}; accelsim imports 1-D "
                             f"and 2-D convolutions")
        k = list(a.get("kernel_shape") or w_shape[2:])
        strides = list(a.get("strides") or [1] * nd)
        dil = list(a.get("dilations") or [1] * nd)
        pads = list(a.get("pads") or [0] * (2 * nd))
        group = int(a.get("group", 1))
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        spatial = list(x_shape[2:])
        if auto in ("SAME_UPPER", "SAME_LOWER") and not transposed:
            pads = [0] * (2 * nd)
            for i in range(nd):
                o = -(-spatial[i] // strides[i])
                total = max((o - 1) * strides[i] + (k[i] - 1) * dil[i] + 1 - spatial[i], 0)
                lo = total // 2 if auto == "SAME_UPPER" else total - total // 2
                pads[i], pads[i + nd] = lo, total - lo
        elif auto == "VALID":
            pads = [0] * (2 * nd)
        if nd == 1:   # a 1-D convolution is a 2-D one of height 1
            k, strides, dil, spatial = [1] + k, [strides[0]] + strides, [1] + dil, [1] + spatial
            pads = [0, pads[0], 0, pads[1]]
        return {"R": int(k[0]), "S": int(k[1]), "sh": int(strides[0]), "sw": int(strides[1]), "dh": int(dil[0]),
                "dw": int(dil[1]), "t": int(pads[0]), "l": int(pads[1]), "b": int(pads[2]), "r": int(pads[3]),
                "groups": group, "nd": nd, "H": int(spatial[0]), "W": int(spatial[1]), "auto_pad": auto,
                "output_padding": list(a.get("output_padding") or [])}

    def _conv(self, node, idx) -> list[OnnxLayer]:
        x_name, w_name = node.input[0], node.input[1]
        wp = self.weight_path(w_name, idx, 1)
        if wp is None:
            raise TraceError(f"{self.where}: Conv '{node.name}' takes its weight from an activation "
                             f"(a dynamic convolution); accelsim needs constant weights")
        xs = self.shape(x_name, "input")
        ws = self.shape(w_name, "weight")
        g = self._conv_geometry(node, xs, ws, False)
        B, C, M = int(xs[0]), int(xs[1]), int(ws[0])
        R, S, sh, sw, dh, dw = g["R"], g["S"], g["sh"], g["sw"], g["dh"], g["dw"]
        Hp, Wp = g["H"] + g["t"] + g["b"], g["W"] + g["l"] + g["r"]
        P = (Hp - dh * (R - 1) - 1) // sh + 1
        Q = (Wp - dw * (S - 1) - 1) // sw + 1
        if P < 1 or Q < 1:
            raise TraceError(f"{self.where}: Conv '{node.name}': kernel larger than its padded input")
        # strides or dilations that cannot matter are normalized away (one output row: H stride irrelevant)
        if P == 1:
            sh = sw if Q > 1 else sh
        if Q == 1:
            sw = sh
        if R == 1:
            dh = 1
        if S == 1:
            dw = 1
        out_shape = self.shapes.get(node.output[0])
        if out_shape is not None and tuple(out_shape[2:]) != ((P, Q) if g["nd"] == 2 else (Q,)):
            raise TraceError(f"{self.where}: Conv '{node.name}': geometry gives {P}x{Q}, shape inference says "
                             f"{_shape_str(out_shape)}")
        name = self.unique(node, idx)
        sym = g["t"] == g["b"] == g["l"] == g["r"]
        if sh == sw and dh == dw == 1:
            low = "" if sym else "prepadded"
            lay = conv(name, C, g["H"] if sym else Hp, g["W"] if sym else Wp, M, R, S, stride=sh,
                       pad=g["t"] if sym else 0, groups=g["groups"], batch=B)
        else:
            rows_ok, cols_ok = dw == 1, dh == 1
            if rows_ok and cols_ok:   # unequal strides only: gather whichever axis duplicates less
                rows_ok = B * P * R * Wp <= B * Q * Hp * S
                cols_ok = not rows_ok
            if rows_ok:
                low = "rows"
                lay = conv(name, C, R, Wp, M, R, S, stride=sw, pad=0, groups=g["groups"], batch=B * P)
            elif cols_ok:
                low = "cols"
                lay = conv(name, C, Hp, S, M, R, S, stride=sh, pad=0, groups=g["groups"], batch=B * Q)
            else:
                low = "patches"
                lay = conv(name, C, R, S, M, R, S, stride=1, pad=0, groups=g["groups"], batch=B * P * Q)
        lay = dataclasses.replace(lay, strides=(g["sh"], g["sw"]), dilation=(g["dh"], g["dw"]),
                                  pads=(g["t"], g["b"], g["l"], g["r"]), lowering=low)
        if lay.macs != B * M * P * Q * (C // g["groups"]) * R * S:   # the lowering is exact, or it is a bug
            raise TraceError(f"layer '{name}': lowering '{low}' changes the MAC count")  # pragma: no cover
        geo = dict(g, sh=sh, sw=sw, dh=dh, dw=dw, P=P, Q=Q, B=B, C=C, lowering=low)
        return [OnnxLayer(lay, idx, node.name, "conv", [wp], [x_name], node.output[0], geo)]

    def _convtranspose(self, node, idx) -> list[OnnxLayer]:
        x_name, w_name = node.input[0], node.input[1]
        wp = self.weight_path(w_name, idx, 1)
        if wp is None:
            raise TraceError(f"{self.where}: ConvTranspose '{node.name}' takes its weight from an activation")
        xs = self.shape(x_name, "input")
        ws = self.shape(w_name, "weight")
        g = self._conv_geometry(node, xs, ws, True)
        B, C = int(xs[0]), int(xs[1])
        G = g["groups"]
        Mg = int(ws[1])
        R, S = g["R"], g["S"]
        N = B * g["H"] * g["W"]
        name = self.unique(node, idx)
        lay = gemm(name, G * Mg * R * S, C // G, N, op="matmul", batch=B)
        lay = dataclasses.replace(lay, groups=G, strides=(g["sh"], g["sw"]), dilation=(g["dh"], g["dw"]),
                                  pads=(g["t"], g["b"], g["l"], g["r"]), lowering="col2im")
        geo = dict(g, C=C, Mg=Mg, B=B, ws=tuple(ws))
        return [OnnxLayer(lay, idx, node.name, "convT", [wp], [x_name], node.output[0], geo)]

    # -- matrix products --
    def _product(self, node, idx, spec_a: str, spec_b: str, spec_out: str, a_name: str, b_name: str,
                 op_label: str) -> list[OnnxLayer]:
        """Any two-operand product written as einsum letters (MatMul and Gemm are rewritten into this form)."""
        sa, sb = self.shape(a_name, "operand"), self.shape(b_name, "operand")
        if len(sa) != len(spec_a) or len(sb) != len(spec_b):
            raise TraceError(f"{self.where}: {op_label} '{node.name}': operand ranks do not match {spec_a},{spec_b}")
        if len(set(spec_a)) != len(spec_a) or len(set(spec_b)) != len(spec_b):
            raise TraceError(f"{self.where}: {op_label} '{node.name}' repeats an index within one operand "
                             f"(a trace or diagonal, not a matmul)")
        size = {}
        for spec, shp in ((spec_a, sa), (spec_b, sb)):
            for c, d in zip(spec, shp):
                if c in size and size[c] != d and 1 not in (size[c], d):
                    raise TraceError(f"{self.where}: {op_label} '{node.name}': index {c} is {size[c]} and {d}")
                size[c] = max(size.get(c, 1), int(d))
        batch = [c for c in spec_a if c in spec_b and c in spec_out]
        contr = [c for c in spec_a if c in spec_b and c not in spec_out]
        free_a = [c for c in spec_a if c not in spec_b]
        free_b = [c for c in spec_b if c not in spec_a]
        if any(c not in spec_out for c in free_a + free_b) or set(spec_out) != set(batch + free_a + free_b):
            raise TraceError(f"{self.where}: {op_label} '{node.name}' ({spec_a},{spec_b}->{spec_out}) sums an "
                             f"index of one operand alone: not a matmul (unsupported)")
        prod = lambda cs: int(math.prod(size[c] for c in cs))  # noqa: E731
        wa = self.weight_path(a_name, idx, list(node.input).index(a_name))
        wb = self.weight_path(b_name, idx, list(node.input).index(b_name))
        name = self.unique(node, idx)
        if wa is not None and wb is not None:
            self.names.discard(name)
            return []       # a product of two constants is folded, not run
        Kc = prod(contr)
        if wa is None and wb is None:
            M, N, count = prod(free_a), prod(free_b), prod(batch)
            lay = gemm(name, max(M, 1), max(Kc, 1), max(N, 1), op="matmul", count=max(count, 1), prunable=False,
                       batched=max(count, 1))   # the node's batch dimensions run in one launch
            geo = {"spec_a": spec_a, "spec_b": spec_b, "batch": batch, "contr": contr, "free_a": free_a,
                   "free_b": free_b}
            return [OnnxLayer(lay, idx, node.name, "actact", [], [a_name, b_name], node.output[0], geo)]
        # one constant operand: the weight; its batch indices must be trivial
        w_spec, x_spec, wpath, x_name, w_shape = ((spec_a, spec_b, wa, b_name, sa) if wa is not None
                                                  else (spec_b, spec_a, wb, a_name, sb))
        w_free = free_a if wa is not None else free_b
        x_free = free_b if wa is not None else free_a
        if any(size[c] > 1 for c in batch if c in w_spec) or any(
                w_shape[w_spec.index(c)] > 1 for c in batch if c in w_spec):
            raise TraceError(f"{self.where}: {op_label} '{node.name}' has a weight with batch dimensions "
                             f"{_shape_str(w_shape)}: one weight matrix per batch item is not supported")
        M = prod(w_free)
        N = prod(batch) * prod(x_free)
        w_perm = [w_spec.index(c) for c in w_free + contr] + [w_spec.index(c) for c in w_spec
                                                              if c not in w_free + contr]
        x_perm = [x_spec.index(c) for c in contr + batch + x_free if c in x_spec]
        lay = gemm(name, max(M, 1), max(Kc, 1), max(N, 1), op="fc",
                   batch=int(size[batch[0]]) if batch else 1)
        geo = {"w_shape": tuple(int(d) for d in w_shape), "w_perm": w_perm, "x_perm": x_perm,
               "x_shape": self.shape(x_name, "operand"), "Kc": Kc}
        return [OnnxLayer(lay, idx, node.name, "fc_right" if wb is not None else "fc_left", [wpath], [x_name],
                          node.output[0], geo)]

    def _matmul(self, node, idx) -> list[OnnxLayer]:
        a, b = node.input[0], node.input[1]
        sa, sb = self.shape(a, "operand"), self.shape(b, "operand")
        letters = iter(string.ascii_lowercase)
        ra, rb = len(sa), len(sb)
        if ra == 0 or rb == 0:
            raise TraceError(f"{self.where}: MatMul '{node.name}' on a scalar")
        nb = max(ra - 2 if ra >= 2 else 0, rb - 2 if rb >= 2 else 0)     # broadcast batch dimensions
        bl = [next(letters) for _ in range(nb)]
        m_, k_, n_ = "M", "K", "N"
        if ra == 1:
            spec_a = k_
        else:
            spec_a = "".join(bl[nb - (ra - 2):]) + m_ + k_
        if rb == 1:
            spec_b = k_
        else:
            spec_b = "".join(bl[nb - (rb - 2):]) + k_ + n_
        out = "".join(bl) + (m_ if ra > 1 else "") + (n_ if rb > 1 else "")
        return self._product(node, idx, spec_a, spec_b, out, a, b, "MatMul")

    def _gemm(self, node, idx) -> list[OnnxLayer]:
        at = _attrs(node)
        spec_a = "KM" if at.get("transA", 0) else "MK"
        spec_b = "NK" if at.get("transB", 0) else "KN"
        return self._product(node, idx, spec_a, spec_b, "MN", node.input[0], node.input[1], "Gemm")

    def _einsum(self, node, idx) -> list[OnnxLayer]:
        eq = _attrs(node)["equation"]
        eq = eq.decode() if isinstance(eq, bytes) else str(eq)
        eq = eq.replace(" ", "")
        if len(node.input) != 2:
            raise TraceError(f"{self.where}: Einsum '{node.name}' ({eq}) has {len(node.input)} operands; a matmul "
                             f"has two (unsupported)")
        lhs, _, rhs = eq.partition("->")
        parts = lhs.split(",")
        if "->" not in eq:
            counts = {c: lhs.count(c) for c in lhs if c.isalpha()}
            rhs = "".join(sorted(c for c, n in counts.items() if n == 1))
        shapes = [self.shape(n, "operand") for n in node.input]
        free = iter(c for c in string.ascii_uppercase if c not in eq)
        ell = None
        specs = []
        for p, shp in zip(parts, shapes):
            if "..." in p:
                n_ell = len(shp) - (len(p) - 3)
                if ell is None or len(ell) < n_ell:
                    ell = "".join(next(free) for _ in range(n_ell)) if ell is None else ell
                p = p.replace("...", ell[len(ell) - n_ell:] if n_ell else "")
            specs.append(p)
        if "..." in rhs:
            rhs = rhs.replace("...", ell or "")
        return self._product(node, idx, specs[0], specs[1], rhs, node.input[0], node.input[1], "Einsum")

    # -- recurrent --
    def _lstm(self, node, idx) -> list[OnnxLayer]:
        a = _attrs(node)
        x_name = node.input[0]
        wW = self.weight_path(node.input[1], idx, 1)
        wR = self.weight_path(node.input[2], idx, 2)
        if wW is None or wR is None:
            raise TraceError(f"{self.where}: LSTM '{node.name}' takes its weights from activations")
        xs = self.shape(x_name, "input")
        Ws = self.shape(node.input[1], "weight")
        layout = int(a.get("layout", 0))
        T, Bt, I = (xs[0], xs[1], xs[2]) if layout == 0 else (xs[1], xs[0], xs[2])
        D, G4, _ = Ws
        H = G4 // 4
        if not node.output or not node.output[0]:
            raise TraceError(f"{self.where}: LSTM '{node.name}' does not output its sequence Y, which the trace "
                             f"needs for h_t-1")
        h0 = node.input[5] if len(node.input) > 5 else ""
        out = []
        base = self.unique(node, idx)
        for d in range(int(D)):
            name = base if D == 1 else f"{base}.{'fwd' if d == 0 else 'bwd'}"
            if D > 1:
                self.names.add(name)
            lay = gemm(name, int(G4), int(I + H), int(T * Bt), op="lstm", batch=int(Bt))
            geo = {"direction_index": d, "reverse": (d == 1) or a.get("direction", b"forward") in (b"reverse",
                                                                                                     "reverse"),
                   "I": int(I), "H": int(H), "T": int(T), "Bt": int(Bt), "layout": layout, "h0": h0}
            acts = [x_name, node.output[0]] + ([h0] if h0 else [])
            out.append(OnnxLayer(lay, idx, node.name, "lstm", [wW, wR], acts, node.output[0], geo))
        return out


def stored_input(ol: OnnxLayer, vals: dict[str, np.ndarray]) -> np.ndarray:
    """The layer's input as the trace stores it (native for convolutions, ``K x N`` otherwise), float32."""
    g = ol.geo
    if ol.kind == "conv":
        x = np.asarray(vals[ol.acts[0]], dtype=np.float32)
        if g["nd"] == 1:
            x = x[:, :, None, :]
        low = g["lowering"]
        if low == "":
            return np.ascontiguousarray(x)
        xp = np.pad(x, ((0, 0), (0, 0), (g["t"], g["b"]), (g["l"], g["r"])))
        if low == "prepadded":
            return xp
        B, C = xp.shape[:2]
        if low == "rows":
            idx = np.arange(g["P"])[:, None] * g["sh"] + np.arange(g["R"])[None, :] * g["dh"]     # P x R
            y = xp[:, :, idx, :]                                   # B, C, P, R, Wp
            return np.ascontiguousarray(y.transpose(0, 2, 1, 3, 4).reshape(B * g["P"], C, g["R"], xp.shape[3]))
        if low == "cols":
            idx = np.arange(g["Q"])[:, None] * g["sw"] + np.arange(g["S"])[None, :] * g["dw"]     # Q x S
            y = xp[:, :, :, idx]                                   # B, C, Hp, Q, S
            return np.ascontiguousarray(y.transpose(0, 3, 1, 2, 4).reshape(B * g["Q"], C, xp.shape[2], g["S"]))
        ri = np.arange(g["P"])[:, None] * g["sh"] + np.arange(g["R"])[None, :] * g["dh"]
        ci = np.arange(g["Q"])[:, None] * g["sw"] + np.arange(g["S"])[None, :] * g["dw"]
        y = xp[:, :, ri[:, None, :, None], ci[None, :, None, :]]   # B, C, P, Q, R, S
        return np.ascontiguousarray(y.transpose(0, 2, 3, 1, 4, 5).reshape(B * g["P"] * g["Q"], C, g["R"], g["S"]))
    if ol.kind == "convT":
        x = np.asarray(vals[ol.acts[0]], dtype=np.float32)
        if g["nd"] == 1:
            x = x[:, :, None, :]
        return np.ascontiguousarray(x.transpose(1, 0, 2, 3).reshape(x.shape[1], -1))
    if ol.kind in ("fc_right", "fc_left"):
        x = np.asarray(vals[ol.acts[0]], dtype=np.float32)
        x = np.broadcast_to(x, g["x_shape"]) if x.shape != tuple(g["x_shape"]) else x
        xt = np.transpose(x, g["x_perm"]) if len(g["x_perm"]) == x.ndim else x
        return np.ascontiguousarray(xt.reshape(ol.layer.K, -1))
    if ol.kind == "actact":
        a = np.asarray(vals[ol.acts[1]], dtype=np.float32)
        return np.ascontiguousarray(_instance(a, g["spec_b"], g["batch"], g["contr"], g["free_b"]))
    if ol.kind == "lstm":
        x = np.asarray(vals[ol.acts[0]], dtype=np.float32)
        y = np.asarray(vals[ol.acts[1]], dtype=np.float32)
        if g["layout"] == 1:    # batch-first: X (B, T, I), Y (B, T, D, H)
            x = x.transpose(1, 0, 2)
            y = y.transpose(1, 2, 0, 3)
        d, T, Bt, H = g["direction_index"], g["T"], g["Bt"], g["H"]
        h0 = np.zeros((Bt, H), np.float32)
        if g["h0"] and g["h0"] in vals:
            hv = np.asarray(vals[g["h0"]], dtype=np.float32)
            h0 = hv[:, d] if g["layout"] == 1 else hv[d]
        yd = y[:, d]                                              # T, B, H
        if g["reverse"]:
            hprev = np.concatenate([yd[1:], h0[None]], axis=0)
        else:
            hprev = np.concatenate([h0[None], yd[:-1]], axis=0)
        cols = np.concatenate([x, hprev], axis=2).reshape(T * Bt, -1)
        return np.ascontiguousarray(cols.T)
    raise TraceError(f"layer '{ol.name}': unknown kind {ol.kind}")  # pragma: no cover


def _instance(a: np.ndarray, spec: str, batch: list, rows: list, cols: list) -> np.ndarray:
    """The first batch instance of an activation operand as a ``rows x cols`` matrix."""
    idx = tuple(0 if c in batch else slice(None) for c in spec)
    sub = a[idx]
    rest = [c for c in spec if c not in batch]
    perm = [rest.index(c) for c in rows + cols]
    nr = int(math.prod(sub.shape[rest.index(c)] for c in rows))
    return sub.transpose(perm).reshape(max(nr, 1), -1)


def actact_weight(ol: OnnxLayer, vals: dict[str, np.ndarray]) -> np.ndarray:
    """An activation-by-activation product's left operand (first instance), ``M x K``: the trace's 'weight'."""
    g = ol.geo
    a = np.asarray(vals[ol.acts[0]], dtype=np.float32)
    return np.ascontiguousarray(_instance(a, g["spec_a"], g["batch"], g["free_a"], g["contr"]))


def import_onnx(model_or_path, input_shapes: dict[str, tuple] | None = None, batch: int | None = None, *,
                name: str | None = None, rename: dict | None = None, frozen=(), declared: dict | None = None,
                check: bool = True, where: str | None = None) -> OnnxNet:
    """Read an ONNX model into an :class:`OnnxNet`: its layers in graph order with their real geometry.

    *input_shapes* fix symbolic input dimensions (``{"x": (1, 3, 640, 640)}``); *batch* sets every symbolic
    leading dimension. *rename* maps node names to layer names; *frozen* layer names are not prunable.
    *declared* names weights given by shape only (graph inputs), for geometry without values.
    """
    onnx = _onnx()
    if isinstance(model_or_path, (str, os.PathLike)):
        where = str(model_or_path)
        model = load_model(model_or_path)
        name = name or Path(model_or_path).stem
    else:
        model = model_or_path
        where = where or name or "model"
    if check:
        try:
            onnx.checker.check_model(model)
        except onnx.checker.ValidationError as e:
            check_ops(model, where)       # an unknown op says so first
            msg = str(e).strip().splitlines()[0] if str(e).strip() else "invalid"
            raise TraceError(f"{where}: not a valid ONNX graph ({msg})") from None
        except ValueError as e:   # > 2 GB protos cannot be checked in memory
            if "2GB" not in str(e) and "2 GB" not in str(e):
                raise TraceError(f"{where}: not a valid ONNX graph ({e})") from None
    model, inputs, types, shapes = prepare(model, where, input_shapes, batch, declared)
    dec = frozenset(declared or {})
    for n, s in (declared or {}).items():
        shapes[n] = tuple(s)
    need = [t for node in model.graph.node if node.op_type in LAYER_OPS
            for t in list(node.input[:3]) + list(node.output[:1]) if t and t not in shapes]
    if need and not dec:   # shapes that inference could not give (a Reshape to a computed shape): run once
        feeds = {n: np.zeros(s, dtype=types[n]) for n, s in inputs.items()}
        for n, v in run_graph(model, feeds, need).items():
            shapes[n] = tuple(int(d) for d in v.shape)
            _check_elems(n, shapes[n], "tensor")
    imp = _Importer(model, shapes, where, dec, rename, frozenset(frozen))
    layers = imp.run()
    if not layers:
        raise TraceError(f"{where}: no Conv, ConvTranspose, Gemm, MatMul, Einsum or LSTM node: nothing to simulate")
    total = sum(ol.layer.n_weights + math.prod(ol.layer.input_shape) for ol in layers)
    if total > MAX_TRACE_ELEMENTS:
        raise TraceError(f"{where}: a trace of this network would hold {total:.3g} elements, more than the "
                         f"{MAX_TRACE_ELEMENTS:.3g} accelsim will allocate; use a smaller input shape or the "
                         f"statistical mode")
    outputs = [o.name for o in model.graph.output]
    return OnnxNet(name=name or "model", model=model, layers=layers, inputs=inputs, input_types=types,
                   shapes=shapes, outputs=outputs, source=where, declared=dec)
