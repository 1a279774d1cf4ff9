"""Read a PyTorch checkpoint (``torch.save`` of a state dict) into numpy, without torch and without trusting it.

Hand-written because no library serves: reading a ``.pth`` otherwise needs torch itself (gigabytes that
accelsim does not need), and ``torch.load`` would run the pickle. It serves the EfficientNet-Lite0 package
(which ships only a checkpoint) and Hugging Face directories with ``pytorch_model.bin``; safetensors and ONNX
files are read with their own libraries.

A ``.pth`` file is a pickle, and unpickling runs whatever callables the file
names; a hostile checkpoint can execute code. This reader unpickles with a
restricted :class:`pickle.Unpickler` whose ``find_class`` accepts only the
names a state dict needs (``collections.OrderedDict``, the typed storage
classes such as ``torch.FloatStorage``, ``torch._utils._rebuild_tensor(_v2)``
and ``_rebuild_parameter``) and maps each to a harmless local stand-in;
every other global (``os.system``, ``builtins.eval``, ...) is refused with a
:class:`~accelsim.errors.TraceError` before anything is called.

Both serializations of ``torch.save`` are read:

* the zip format (torch >= 1.6): ``<root>/data.pkl`` holds the object, with
  each storage a persistent id ``('storage', type, key, location, numel)``
  whose bytes are the entry ``<root>/data/<key>``;
* the legacy format (what the EfficientNet-Lite0 package ships): five
  concatenated streams, namely pickles of the magic number, the protocol
  version and a ``sys_info`` dict, the object (persistent ids
  ``('storage', type, key, location, numel, view)``), the list of storage
  keys, then for each key an 8-byte element count and the raw bytes.

Sizes are checked against the file before anything is allocated, and every
tensor's strided view is checked to lie inside its storage. Little-endian
files only (every checkpoint written on x86 or ARM).
"""
from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import TraceError
from ..trace import MAX_ELEMENTS

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
    "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype


@dataclass
class _Storage:
    key: str
    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None


@dataclass
class _TensorRef:
    storage: _Storage
    offset: int
    size: tuple
    stride: tuple

    def materialize(self, where: str) -> np.ndarray:
        st = self.storage
        if st.data is None:
            raise TraceError(f"{where}: storage '{st.key}' has no data")
        size = tuple(int(s) for s in self.size)
        stride = tuple(int(s) for s in self.stride)
        if len(size) != len(stride) or any(s < 0 for s in size) or any(s < 0 for s in stride):
            raise TraceError(f"{where}: a tensor has a bad size {size} or stride {stride}")
        n = int(np.prod(size, dtype=np.float64))
        if n == 0:
            return np.zeros(size, dtype=st.dtype)
        last = self.offset + sum((a - 1) * b for a, b in zip(size, stride))
        if self.offset < 0 or last >= st.data.size:
            raise TraceError(f"{where}: a tensor of size {size} reaches past its storage of {st.data.size}")
        base = st.data[self.offset:]
        item = base.itemsize
        view = np.lib.stride_tricks.as_strided(base, shape=size, strides=tuple(s * item for s in stride),
                                               writeable=False)
        return np.array(view)


def _rebuild_tensor(storage, storage_offset, size, stride, *_rest):
    if not isinstance(storage, (_Storage, _StorageView)):
        raise TraceError("a tensor is built from something other than a storage")
    return _TensorRef(storage, int(storage_offset), tuple(size), tuple(stride))


def _rebuild_parameter(data, *_rest):
    return data


_ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}
_ALLOWED.update({("torch", name): _StorageType(np.dtype(dt)) for name, dt in _STORAGES.items()})


class _RestrictedUnpickler(pickle.Unpickler):
    """Accepts tensors, storages and (ordered) dicts; refuses every other global."""

    def __init__(self, f, where: str, storages: dict[str, _Storage]):
        super().__init__(f)
        self.where = where
        self.storages = storages

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise TraceError(f"{self.where}: refuses to unpickle '{module}.{name}': a checkpoint may hold only "
                             f"tensors and dicts") from None

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise TraceError(f"{self.where}: unknown persistent id {str(pid)[:60]!r}")
        stype, key, _location, numel = pid[1], str(pid[2]), pid[3], pid[4]
        if not isinstance(stype, _StorageType):
            raise TraceError(f"{self.where}: storage '{key}' has an unknown type")
        if not isinstance(numel, int) or numel < 0 or numel > MAX_ELEMENTS:
            raise TraceError(f"{self.where}: storage '{key}' claims {numel!r} elements")
        st = self.storages.get(key)
        if st is None:
            st = self.storages[key] = _Storage(key, stype.dtype, numel)
        view = pid[5] if len(pid) > 5 else None
        if view is not None:  # legacy: (view_key, offset, view_size) into the root storage
            vkey, voff, vsize = view
            return _StorageView(st, str(vkey), int(voff), int(vsize))
        return st


@dataclass
class _StorageView:
    root: _Storage
    key: str
    offset: int
    size: int


def _unpickle(data: bytes | io.BufferedReader, where: str, storages: dict):
    f = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        return _RestrictedUnpickler(f, where, storages).load()
    except TraceError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            MemoryError) as e:
        raise TraceError(f"{where}: not a readable torch checkpoint ({type(e).__name__}: {e})") from None


def _resolve_views(obj):
    """Legacy storage views become tensor refs into their root storage."""
    if isinstance(obj, _TensorRef) and isinstance(obj.storage, _StorageView):
        v = obj.storage
        return _TensorRef(v.root, obj.offset + v.offset, obj.size, obj.stride)
    return obj


def _flatten(obj, where: str, prefix: str = "") -> dict[str, np.ndarray]:
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(_flatten(v, where, f"{prefix}{k}."))
    elif isinstance(obj, _TensorRef):
        out[prefix[:-1]] = _resolve_views(obj).materialize(where)
    return out


def _read_zip(path: Path) -> dict[str, np.ndarray]:
    where = str(path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl) != 1:
            raise TraceError(f"{where}: a torch zip checkpoint holds one data.pkl, found {len(pkl)}")
        root = pkl[0][:-len("data.pkl")]
        bo = root + "byteorder"
        if bo in names and zf.read(bo).strip() not in (b"little", b""):
            raise TraceError(f"{where}: big-endian checkpoints are not supported")
        info = zf.getinfo(pkl[0])
        if info.file_size > 1 << 28:
            raise TraceError(f"{where}: data.pkl is {info.file_size} bytes, too large for a state dict")
        storages: dict[str, _Storage] = {}
        obj = _unpickle(zf.read(pkl[0]), where, storages)
        for key, st in storages.items():
            entry = f"{root}data/{key}"
            if entry not in names:
                raise TraceError(f"{where}: storage '{key}' has no data entry")
            need = st.numel * st.dtype.itemsize
            if zf.getinfo(entry).file_size < need:
                raise TraceError(f"{where}: storage '{key}' holds fewer than its {st.numel} elements")
            st.data = np.frombuffer(zf.read(entry)[:need], dtype=st.dtype.newbyteorder("<")).astype(st.dtype)
    return _flatten(obj, where)


def _read_legacy(path: Path) -> dict[str, np.ndarray]:
    where = str(path)
    size = path.stat().st_size
    storages: dict[str, _Storage] = {}
    with open(path, "rb") as f:
        magic = _unpickle(f, where, storages)
        if magic != _LEGACY_MAGIC:
            raise TraceError(f"{where}: not a torch checkpoint (no magic number)")
        version = _unpickle(f, where, storages)
        if version != 1001:
            raise TraceError(f"{where}: unsupported legacy protocol version {version!r}")
        sys_info = _unpickle(f, where, storages)
        if isinstance(sys_info, dict) and sys_info.get("little_endian") is False:
            raise TraceError(f"{where}: big-endian checkpoints are not supported")
        obj = _unpickle(f, where, storages)
        keys = _unpickle(f, where, storages)
        if not isinstance(keys, list) or set(map(str, keys)) != set(storages):
            raise TraceError(f"{where}: the storage key list does not match the storages the object uses")
        for key in map(str, keys):
            st = storages[key]
            head = f.read(8)
            if len(head) < 8:
                raise TraceError(f"{where}: truncated before storage '{key}'")
            n = int.from_bytes(head, "little")
            if n != st.numel:
                raise TraceError(f"{where}: storage '{key}' holds {n} elements, its id says {st.numel}")
            nbytes = n * st.dtype.itemsize
            if f.tell() + nbytes > size:
                raise TraceError(f"{where}: truncated inside storage '{key}'")
            st.data = np.frombuffer(f.read(nbytes), dtype=st.dtype.newbyteorder("<")).astype(st.dtype)
    return _flatten(obj, where)


def load_torch(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The tensors of a ``torch.save``'d state dict, by dotted name, as numpy arrays.

    Nested dicts (``{"state_dict": {...}}``) are flattened with dots;
    values that are not tensors (epoch counters, strings) are dropped.
    """
    path = Path(path)
    if not path.is_file():
        raise TraceError(f"torch checkpoint '{path}' not found")
    try:
        if zipfile.is_zipfile(path):
            return _read_zip(path)
        return _read_legacy(path)
    except zipfile.BadZipFile as e:
        raise TraceError(f"{path}: corrupt torch zip checkpoint ({e})") from None
