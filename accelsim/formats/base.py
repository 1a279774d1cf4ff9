"""The format contract: ``encode``, ``decode``, ``measure``, ``expected_bits``.

Every format reports exact value bits, metadata bits and padding entries
(stored zeros that exist only to satisfy the format, such as EIE's padding
zeros for long runs or the zeros inside a kept block). ``total_bits`` is
their sum. Formats never import models.

* ``encode(t) -> Encoded``: the stored arrays (``payload``) and the exact
  accounting. ``decode(encoded)`` rebuilds the tensor from the payload alone
  (plus the tensor's shape, which any storage keeps as a header).
* ``measure(t) -> Encoded``: the same accounting without building the
  payload; numba kernels over the nonzero mask, fast enough for every layer
  of a network. It always equals ``encode(t)``'s numbers (tested).
* ``expected(shape, density) -> Expected`` and ``expected_bits``: the
  analytic size for i.i.d. uniform random sparsity at *density*.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..config import build_dataclass
from ..errors import FormatError


def index_bits(n: int) -> int:
    """Bits to address *n* positions: ``ceil(log2 n)``, at least 1."""
    return max(1, math.ceil(math.log2(max(int(n), 2))))


@dataclass
class Encoded:
    format: str
    shape: tuple[int, ...]
    nnz: int
    value_bits: int
    metadata_bits: int
    padding_entries: int = 0
    #: arrays the decoder needs (values, indices, pointers, ...); empty for ``measure``
    payload: dict[str, Any] = field(default_factory=dict, repr=False)
    #: named parts of the metadata (e.g. {"pointers": ..., "indices": ...})
    breakdown: dict[str, int] = field(default_factory=dict)
    #: the encoder's parameters, so a decoder with other parameters refuses it
    params: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def total_bits(self) -> int:
        return int(self.value_bits + self.metadata_bits)

    @property
    def stored_entries(self) -> int:
        return int(self.nnz + self.padding_entries)

    def as_row(self) -> dict[str, Any]:
        return {"format": self.format, "nnz": self.nnz, "value_bits": int(self.value_bits),
                "metadata_bits": int(self.metadata_bits), "padding_entries": int(self.padding_entries),
                "total_bits": self.total_bits}


@dataclass
class Expected:
    """Analytic sizes (expectations, hence floats) for uniform random sparsity."""
    format: str
    shape: tuple[int, ...]
    nnz: float
    value_bits: float
    metadata_bits: float
    padding_entries: float = 0.0
    breakdown: dict[str, float] = field(default_factory=dict)

    @property
    def total_bits(self) -> float:
        return float(self.value_bits + self.metadata_bits)


@dataclass
class FormatParams:
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})


class Format:
    """Base class of the format encoders. Subclasses set ``name`` and ``Params`` and
    implement ``_encode``, ``_decode``, ``_measure`` (on a boolean mask) and ``_expected``."""
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type] = FormatParams

    def __init__(self, params=None, **kwargs):
        if params is None:
            params = build_dataclass(self.Params, kwargs, f"formats.{self.name}")
        self.p = params

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.params().items())
        return f"{self.name}({args})"

    def params(self) -> dict[str, Any]:
        """The parameters as a dict (computed once: a model measures thousands of tiles with one encoder)."""
        cached = self.__dict__.get("_params_dict")
        if cached is None or cached[0] is not self.p:
            cached = (self.p, dataclasses.asdict(self.p))
            self.__dict__["_params_dict"] = cached
        return dict(cached[1])

    # -- the contract -------------------------------------------------------------
    def encode(self, t) -> Encoded:
        """The stored form of *t*: payload and exact bit accounting."""
        t = self.check_tensor(t)
        e = self._encode(t)
        e.params = self.params()
        return e

    def decode(self, e: Encoded) -> np.ndarray:
        """The tensor back, from what the format stores (``e.payload``) and its shape."""
        if e.format != self.name:
            raise FormatError(f"{self.name}: cannot decode a '{e.format}' encoding")
        if e.params and e.params != self.params():
            raise FormatError(f"{self.name}: encoded with {e.params}, not with this decoder's {self.params()}")
        if not e.payload:
            raise FormatError(f"{self.name}: this encoding holds no payload (made by measure, not encode)")
        return self._decode(e)

    def measure(self, t) -> Encoded:
        """``encode(t)``'s accounting without its payload (fast; a boolean *t* is taken as the mask)."""
        t = self.check_tensor(t)
        mask = t if t.dtype == np.bool_ else (t != 0)
        e = self._measure(mask)
        e.params = self.params()
        return e

    def expected(self, shape, density: float) -> Expected:
        """Analytic sizes for i.i.d. uniform random sparsity at *density*."""
        shape = check_shape(shape)
        if not 0.0 <= float(density) <= 1.0:
            raise FormatError(f"{self.name}: density must be in [0, 1], got {density}")
        return self._expected(shape, float(density))

    def expected_bits(self, shape, density: float) -> float:
        """Analytic total bits for uniformly random sparsity at *density*."""
        return self.expected(shape, density).total_bits

    # -- for subclasses ---------------------------------------------------------------
    def _encode(self, t: np.ndarray) -> Encoded:
        raise NotImplementedError

    def _decode(self, e: Encoded) -> np.ndarray:
        raise NotImplementedError

    def _measure(self, mask: np.ndarray) -> Encoded:
        e = self._encode(mask)
        e.payload = {}
        return e

    def _expected(self, shape: tuple[int, ...], density: float) -> Expected:
        raise NotImplementedError

    # -- helpers --------------------------------------------------------------------
    def check_tensor(self, t) -> np.ndarray:
        t = np.asarray(t)
        if t.ndim == 0:
            raise FormatError(f"{self.name}: cannot encode a scalar")
        if t.size == 0:
            raise FormatError(f"{self.name}: cannot encode a tensor with no elements (shape {t.shape})")
        if t.dtype == object or not (np.issubdtype(t.dtype, np.number) or t.dtype == np.bool_):
            raise FormatError(f"{self.name}: cannot encode an array of {t.dtype}")
        return t

    @staticmethod
    def as_matrix(t: np.ndarray) -> np.ndarray:
        """Tensors of any rank as 2-D: ``(rows, last axis)``; vectors as one row."""
        t = np.asarray(t)
        if t.ndim == 0:
            raise FormatError("cannot encode a scalar")
        if t.ndim == 1:
            return t.reshape(1, -1)
        return t.reshape(-1, t.shape[-1])

    def stream(self, t: np.ndarray) -> np.ndarray:
        """The positions in storage order: row-major, or column-major when the params say ``order: col``."""
        m = self.as_matrix(t)
        return m.T.ravel() if getattr(self.p, "order", "row") == "col" else m.ravel()

    def unstream(self, flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The inverse of :meth:`stream`: positions in storage order back to a tensor of *shape*."""
        if getattr(self.p, "order", "row") == "col":
            rows, cols = self.matrix_shape(shape)
            return flat.reshape(cols, rows).T.reshape(shape).copy()
        return flat.reshape(shape)

    @staticmethod
    def matrix_shape(shape: tuple[int, ...]) -> tuple[int, int]:
        """The shape :meth:`as_matrix` gives a tensor of *shape*."""
        if len(shape) == 1:
            return 1, int(shape[0])
        return int(np.prod(shape[:-1])), int(shape[-1])


def check_shape(shape) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise FormatError(f"shape must be a sequence of positive integers, got {shape!r}") from None
    if not shape or min(shape) < 1:
        raise FormatError(f"shape must be a sequence of positive integers, got {shape!r}")
    return shape


def expected_padding(length: int, density: float, span: int) -> float:
    """Expected padding entries in one stream of *length* i.i.d. positions at *density*,
    where a nonzero after ``g`` zeros (counted from the previous nonzero or the stream start)
    needs ``g // span`` padding entries before it.

    For the nonzero at position ``i`` P(g >= j) = (1-d)^j for j <= i, so
    E[pads] = d * sum_{k=1}^{K} q^k (L - k S), q = (1-d)^S, K = floor((L-1)/S).
    Closed forms for the geometric sums; a fourth-order Taylor form where
    K(1-q) is small (the closed form cancels there).
    """
    L, S, d = int(length), int(span), float(density)
    if d <= 0.0 or d >= 1.0 or L <= S:
        return 0.0
    K = (L - 1) // S
    y = -S * math.log1p(-d)           # q = exp(-y)
    if K * y < 1e-2:
        # sum_k e^{-ky} (L - kS) = sum_p (-y)^p / p! * (L s_p - S s_{p+1}),  s_p = sum_{k=1}^K k^p
        Kf = float(K)
        s = [Kf, Kf * (Kf + 1) / 2, Kf * (Kf + 1) * (2 * Kf + 1) / 6, (Kf * (Kf + 1) / 2) ** 2,
             Kf * (Kf + 1) * (2 * Kf + 1) * (3 * Kf * Kf + 3 * Kf - 1) / 30]
        total = sum((-y) ** p / math.factorial(p) * (L * s[p] - S * s[p + 1]) for p in range(4))
        return max(0.0, d * total)
    q = math.exp(-y)
    x = -math.expm1(-y)               # 1 - q, accurate
    one_minus_qK = -math.expm1(-K * y)
    qK = 1.0 - one_minus_qK
    A = q * one_minus_qK / x                                   # sum q^k
    B = q * (one_minus_qK - K * qK * x) / (x * x)              # sum k q^k
    return max(0.0, d * (L * A - S * B))


_REGISTRY: dict[str, type[Format]] = {}


def register(cls: type[Format]) -> type[Format]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a name")
    _REGISTRY[cls.name] = cls
    return cls


def get_format(name: str, **params) -> Format:
    """A format encoder by name with its parameters (``get_format("rle", run_bits=4)``)."""
    cls = _REGISTRY.get(name)
    if cls is None:
        raise FormatError(f"unknown format '{name}' (known: {', '.join(sorted(_REGISTRY))})")
    return cls(**params)


def format_class(name: str) -> type[Format]:
    cls = _REGISTRY.get(name)
    if cls is None:
        raise FormatError(f"unknown format '{name}' (known: {', '.join(sorted(_REGISTRY))})")
    return cls


def list_formats() -> dict[str, str]:
    return {n: c.description for n, c in sorted(_REGISTRY.items())}
