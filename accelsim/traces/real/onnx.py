"""Read the weight tensors of an ONNX model with a small protobuf reader (no ``onnx`` package needed).

ONNX files are protobuf messages (``onnx/onnx.proto``): ``ModelProto.graph``
(field 7) holds ``GraphProto.initializer`` (field 5, the weights as
``TensorProto``) and ``node`` (field 1); a node's attributes (field 5) may hold
a tensor (``Constant`` nodes, field 5 ``t``) or subgraphs (``If`` and
``Loop`` branches, fields 6 ``g`` and 11 ``graphs``), which are searched too.
A ``TensorProto`` gives ``dims`` (1), ``data_type`` (2), ``name`` (8) and
its values in ``raw_data`` (9, little-endian) or in a typed repeated field
(``float_data`` 4, ``int32_data`` 5, ``int64_data`` 7, ``double_data`` 10).

Only what is needed to get weights out is decoded; everything else is skipped
by length. Tensors stored outside the file (``data_location`` EXTERNAL) are
refused with a clear message, as are sizes that do not match the bytes.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...errors import TraceError
from ..trace import MAX_ELEMENTS

# TensorProto.DataType
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
           9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise TraceError("truncated protobuf varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise TraceError("protobuf varint longer than 64 bits")


def fields(buf: bytes):
    """Yield ``(field_number, wire_type, value)``; length-delimited values are ``memoryview`` slices."""
    pos, n = 0, len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, pos = _varint(buf, pos)
        elif wt == 1:
            if pos + 8 > n:
                raise TraceError("truncated protobuf field")
            v, pos = buf[pos:pos + 8], pos + 8
        elif wt == 2:
            ln, pos = _varint(buf, pos)
            if pos + ln > n:
                raise TraceError("protobuf field runs past the end of its message")
            v, pos = buf[pos:pos + ln], pos + ln
        elif wt == 5:
            if pos + 4 > n:
                raise TraceError("truncated protobuf field")
            v, pos = buf[pos:pos + 4], pos + 4
        else:
            raise TraceError(f"unsupported protobuf wire type {wt}")
        yield num, wt, v


def _packed_varints(v) -> list[int]:
    out, pos, b = [], 0, bytes(v)
    while pos < len(b):
        x, pos = _varint(b, pos)
        out.append(x)
    return out


def _signed(x: int) -> int:
    return x - (1 << 64) if x >= 1 << 63 else x


def parse_tensor(buf) -> tuple[str, np.ndarray]:
    dims, dtype, name, raw = [], 1, "", None
    typed: dict[int, list] = {}
    external = False
    for num, wt, v in fields(buf):
        if num == 1:
            dims.extend(_packed_varints(v) if wt == 2 else [v])
        elif num == 2:
            dtype = v
        elif num == 8:
            name = bytes(v).decode("utf-8", "replace")
        elif num == 9:
            raw = bytes(v)
        elif num == 14:
            external = v == 1
        elif num == 4:      # float_data
            typed.setdefault(4, []).append(np.frombuffer(bytes(v), "<f4"))   # packed, or one fixed32
        elif num == 10:     # double_data
            typed.setdefault(10, []).append(np.frombuffer(bytes(v), "<f8"))
        elif num in (5, 7, 11):  # int32_data, int64_data, uint64_data (varints)
            typed.setdefault(num, []).append(np.array(_packed_varints(v) if wt == 2 else [v], dtype=np.uint64))
    if external:
        raise TraceError(f"ONNX tensor '{name}' is stored in an external file; load the model with its data")
    if dtype not in _DTYPES:
        raise TraceError(f"ONNX tensor '{name}' has data type {dtype}, which accelsim does not read")
    dims = [_signed(d) for d in dims]
    if any(d < 0 for d in dims):
        raise TraceError(f"ONNX tensor '{name}' has negative dims {dims}")
    n = int(np.prod(dims, dtype=np.float64))
    if n > MAX_ELEMENTS:
        raise TraceError(f"ONNX tensor '{name}' has {n:.3g} elements, too many")
    dt = np.dtype(_DTYPES[dtype])
    if raw is not None:
        if len(raw) != n * dt.itemsize:
            raise TraceError(f"ONNX tensor '{name}' of shape {dims} has {len(raw)} bytes, needs {n * dt.itemsize}")
        arr = np.frombuffer(raw, dtype=dt.newbyteorder("<")).astype(dt)
    elif typed:
        (field, parts), = typed.items()
        vals = np.concatenate(parts)
        if field in (5, 7, 11):
            vals = vals.astype(np.uint64)
            if field != 11:
                vals = vals.view(np.int64)
        arr = vals.astype(dt)
        if arr.size != n:
            raise TraceError(f"ONNX tensor '{name}' of shape {dims} holds {arr.size} values")
    else:
        arr = np.zeros(n, dtype=dt)
    return name, arr.reshape(dims)


def _walk_graph(buf, out: dict, prefix: str = "") -> None:
    for num, wt, v in fields(buf):
        if num == 5 and wt == 2:            # initializer
            name, arr = parse_tensor(v)
            out[prefix + name] = arr
        elif num == 1 and wt == 2:          # node: look into attributes for constants and subgraphs
            node_out, attrs = [], []
            for n2, w2, v2 in fields(v):
                if n2 == 2 and w2 == 2:
                    node_out.append(bytes(v2).decode("utf-8", "replace"))
                elif n2 == 5 and w2 == 2:
                    attrs.append(v2)
            for a in attrs:
                for n3, w3, v3 in fields(a):
                    if n3 == 5 and w3 == 2:     # t: a Constant's value
                        name, arr = parse_tensor(v3)
                        out[prefix + (name or (node_out[0] if node_out else f"const{len(out)}"))] = arr
                    elif n3 in (6, 11) and w3 == 2:   # g / graphs: subgraph
                        _walk_graph(v3, out, prefix)


def load_onnx(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every initializer and constant tensor of an ONNX model, by name."""
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"ONNX file '{path}' not found")
    if path.stat().st_size > 8 * MAX_ELEMENTS:
        raise TraceError(f"{path}: too large")
    buf = memoryview(path.read_bytes())
    out: dict[str, np.ndarray] = {}
    try:
        graphs = [v for num, wt, v in fields(buf) if num == 7 and wt == 2]
        if not graphs:
            raise TraceError("no graph")
        for g in graphs:
            _walk_graph(g, out)
    except TraceError as e:
        raise TraceError(f"{path}: not a readable ONNX model ({e})") from None
    return out
