"""Dense, bitmap and coordinate (COO) storage.

* ``dense``: every position, ``value_bits`` each; its zeros count as padding entries.
* ``bitmap``: one bit per position plus the nonzero values (Sparseloop's ``B``
  rank; SIGMA stores both operands this way, Qin et al., HPCA 2020, Sec. IV-A).
* ``coo``: each nonzero with its absolute offset in ``ceil(log2 n)`` bits
  (``n`` = number of positions; ``index_bits`` overrides the width, and must
  still address every position).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import FormatError
from .base import Encoded, Expected, Format, FormatParams, index_bits, register


@register
class Dense(Format):
    name = "dense"
    description = "every position stored"
    Params = FormatParams

    def _encode(self, t):
        e = self._measure(t != 0)
        e.payload = {"values": t.ravel().copy()}
        return e

    def _measure(self, mask):
        nnz = int(np.count_nonzero(mask))
        return Encoded(self.name, mask.shape, nnz, mask.size * self.p.value_bits, 0, mask.size - nnz)

    def _decode(self, e):
        return e.payload["values"].reshape(e.shape)

    def _expected(self, shape, density):
        n = float(np.prod(shape))
        return Expected(self.name, shape, density * n, n * self.p.value_bits, 0.0, (1 - density) * n)


@register
class Bitmap(Format):
    name = "bitmap"
    description = "one presence bit per position plus nonzero values"
    Params = FormatParams

    def _encode(self, t):
        flat = t.ravel()
        mask = flat != 0
        e = self._measure(mask)
        e.shape = t.shape
        e.payload = {"mask": mask, "values": flat[mask]}
        return e

    def _measure(self, mask):
        nnz = int(np.count_nonzero(mask))
        return Encoded(self.name, mask.shape, nnz, nnz * self.p.value_bits, int(mask.size), 0,
                       breakdown={"bitmap": int(mask.size)})

    def _decode(self, e):
        out = np.zeros(int(np.prod(e.shape)), dtype=e.payload["values"].dtype)
        out[e.payload["mask"]] = e.payload["values"]
        return out.reshape(e.shape)

    def _expected(self, shape, density):
        n = float(np.prod(shape))
        return Expected(self.name, shape, density * n, density * n * self.p.value_bits, n,
                        breakdown={"bitmap": n})


@dataclass
class COOParams:
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})
    index_bits: int | None = dataclasses.field(default=None, metadata={"min": 1, "max": 64})


@register
class COO(Format):
    name = "coo"
    description = "each nonzero with its absolute offset (ceil(log2 n) bits)"
    Params = COOParams

    def _width(self, n: int) -> int:
        need = index_bits(n)
        ib = self.p.index_bits or need
        if ib < need:
            raise FormatError(f"coo: index_bits={ib} cannot address {n} positions (need {need})")
        return ib

    def _encode(self, t):
        flat = t.ravel()
        idx = np.flatnonzero(flat)
        e = self._account(t.shape, int(idx.size))
        e.payload = {"offsets": idx, "values": flat[idx]}
        return e

    def _measure(self, mask):
        return self._account(mask.shape, int(np.count_nonzero(mask)))

    def _account(self, shape, nnz):
        ib = self._width(int(np.prod(shape)))
        return Encoded(self.name, shape, nnz, nnz * self.p.value_bits, nnz * ib, 0, breakdown={"offsets": nnz * ib})

    def _decode(self, e):
        out = np.zeros(int(np.prod(e.shape)), dtype=e.payload["values"].dtype)
        out[e.payload["offsets"]] = e.payload["values"]
        return out.reshape(e.shape)

    def _expected(self, shape, density):
        n = float(np.prod(shape))
        ib = self._width(int(n))
        nnz = density * n
        return Expected(self.name, shape, nnz, nnz * self.p.value_bits, nnz * ib, breakdown={"offsets": nnz * ib})
