"""A small numpy reader for the safetensors format, with no dependency on the ``safetensors`` package.

The format (https://github.com/huggingface/safetensors, "Format" section): an
8-byte little-endian header length ``n``, ``n`` bytes of UTF-8 JSON mapping
each tensor name to ``{"dtype", "shape", "data_offsets": [begin, end]}``
(offsets relative to the end of the header) plus an optional
``__metadata__`` of strings, then the raw little-endian data.

Everything the header claims is checked before memory is touched: the header
size, every dtype, that each tensor's byte span equals its shape times its
item size and lies inside the file. Tensors are read from a memory map and
copied out, so the file is not held open.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ...errors import TraceError

DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_,
}
#: The header of a real file is a few kilobytes; the format's own reference caps it at 100 MB.
MAX_HEADER_BYTES = 100_000_000


def read_header(path: str | os.PathLike) -> tuple[dict[str, dict], dict[str, str], int]:
    """``(tensors, metadata, data_start)``: the checked header of a safetensors file."""
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"safetensors file '{path}' not found")
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise TraceError(f"{path}: too short to be a safetensors file")
        n = int.from_bytes(head, "little")
        if n > MAX_HEADER_BYTES or 8 + n > size:
            raise TraceError(f"{path}: header length {n} does not fit a {size}-byte file")
        raw = f.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TraceError(f"{path}: header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise TraceError(f"{path}: header must be a JSON object")
    meta = header.pop("__metadata__", {}) or {}
    if not isinstance(meta, dict):
        raise TraceError(f"{path}: __metadata__ must be an object")
    data_start = 8 + n
    data_len = size - data_start
    for name, spec in header.items():
        if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
            raise TraceError(f"{path}: tensor '{name}' needs exactly dtype, shape and data_offsets")
        dt = spec["dtype"]
        if dt not in DTYPES:
            raise TraceError(f"{path}: tensor '{name}' has dtype {dt!r}, not one of {', '.join(DTYPES)}")
        shape, offs = spec["shape"], spec["data_offsets"]
        if (not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                   for s in shape)):
            raise TraceError(f"{path}: tensor '{name}' has a bad shape {shape!r}")
        if (not isinstance(offs, list) or len(offs) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offs)
                or not 0 <= offs[0] <= offs[1] <= data_len):
            raise TraceError(f"{path}: tensor '{name}' has data offsets {offs!r} outside the file's "
                             f"{data_len} data bytes")
        need = int(np.prod(shape, dtype=np.float64)) * np.dtype(DTYPES[dt]).itemsize
        if offs[1] - offs[0] != need:
            raise TraceError(f"{path}: tensor '{name}' of shape {shape} and dtype {dt} needs {need} bytes, "
                             f"its offsets span {offs[1] - offs[0]}")
    return header, meta, data_start


def load_safetensors(path: str | os.PathLike, names: list[str] | None = None) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file (all, or those in *names*) as numpy arrays."""
    header, _, start = read_header(path)
    if names is not None:
        missing = [n for n in names if n not in header]
        if missing:
            raise TraceError(f"{path}: no tensor named {', '.join(missing[:3])}")
        header = {n: header[n] for n in names}
    out = {}
    if not header:
        return out
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    try:
        for name, spec in header.items():
            b, e = spec["data_offsets"]
            dt = np.dtype(DTYPES[spec["dtype"]]).newbyteorder("<")
            arr = np.frombuffer(mm[start + b:start + e].tobytes(), dtype=dt).reshape(spec["shape"])
            out[name] = arr.astype(dt.newbyteorder("="), copy=False)
    finally:
        del mm
    return out


def save_safetensors(path: str | os.PathLike, tensors: dict[str, np.ndarray],
                     metadata: dict[str, str] | None = None) -> Path:
    """Write *tensors* as a safetensors file (for tests and for users' own weights)."""
    rev = {np.dtype(v): k for k, v in DTYPES.items()}
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        a = np.ascontiguousarray(arr)
        if a.dtype not in rev:
            raise TraceError(f"tensor '{name}' has dtype {a.dtype}, which safetensors cannot hold")
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": rev[a.dtype], "shape": list(a.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the reference writer pads the header to 8 bytes
    path = Path(path)
    with open(path, "wb") as f:
        f.write(len(raw).to_bytes(8, "little"))
        f.write(raw)
        for b in blobs:
            f.write(b)
    return path
