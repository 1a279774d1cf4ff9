"""The format contract: ``encode(tensor) -> Encoded``, ``decode(Encoded) -> tensor``, ``expected_bits``.

Every format reports exact value bits, metadata bits and padding entries
(stored zeros that exist only to satisfy the format, such as EIE's padding
zeros for long runs or the zeros inside a kept block). ``total_bits`` is
their sum. Formats never import models.
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
    #: arrays the decoder needs (values, indices, pointers, ...)
    payload: dict[str, Any] = field(default_factory=dict, repr=False)
    #: named parts of the metadata (e.g. {"pointers": ..., "indices": ...})
    breakdown: dict[str, int] = field(default_factory=dict)

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
class FormatParams:
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})


class Format:
    """Base class of the format encoders. Subclasses set ``name`` and ``Params``."""
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type] = FormatParams

    def __init__(self, params=None, **kwargs):
        if params is None:
            params = build_dataclass(self.Params, kwargs, f"formats.{self.name}")
        self.p = params

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in dataclasses.asdict(self.p).items())
        return f"{self.name}({args})"

    # -- the contract -------------------------------------------------------------
    def encode(self, t: np.ndarray) -> Encoded:
        raise NotImplementedError

    def decode(self, e: Encoded) -> np.ndarray:
        raise NotImplementedError

    def expected_bits(self, shape: tuple[int, ...], density: float) -> float:
        """Analytic total bits for uniformly random sparsity at *density*."""
        raise NotImplementedError

    # -- helpers --------------------------------------------------------------------
    @staticmethod
    def as_matrix(t: np.ndarray) -> np.ndarray:
        """Tensors of any rank as 2-D: ``(rows, last axis)``; vectors as one row."""
        t = np.asarray(t)
        if t.ndim == 0:
            raise FormatError("cannot encode a scalar")
        if t.ndim == 1:
            return t.reshape(1, -1)
        return t.reshape(-1, t.shape[-1])


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


def list_formats() -> dict[str, str]:
    return {n: c.description for n, c in sorted(_REGISTRY.items())}
