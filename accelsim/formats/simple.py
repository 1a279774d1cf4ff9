"""Dense, bitmap and coordinate (COO) storage.

* ``dense``: every position, ``value_bits`` each.
* ``bitmap``: one bit per position plus the nonzero values (Sparseloop's ``B``
  rank; SIGMA stores both operands this way, Qin et al., HPCA 2020, Sec. IV-A).
* ``coo``: each nonzero with its absolute offset in ``ceil(log2 n)`` bits
  (``n`` = number of positions).
"""
from __future__ import annotations

import numpy as np

from .base import Encoded, Format, FormatParams, index_bits, register


@register
class Dense(Format):
    name = "dense"
    description = "every position stored"
    Params = FormatParams

    def encode(self, t):
        t = np.asarray(t)
        nnz = int(np.count_nonzero(t))
        return Encoded(self.name, t.shape, nnz, t.size * self.p.value_bits, 0, t.size - nnz,
                       payload={"values": t.ravel().copy()})

    def decode(self, e):
        return e.payload["values"].reshape(e.shape)

    def expected_bits(self, shape, density):
        return float(np.prod(shape)) * self.p.value_bits


@register
class Bitmap(Format):
    name = "bitmap"
    description = "one presence bit per position plus nonzero values"
    Params = FormatParams

    def encode(self, t):
        t = np.asarray(t)
        flat = t.ravel()
        mask = flat != 0
        vals = flat[mask]
        return Encoded(self.name, t.shape, int(vals.size), int(vals.size) * self.p.value_bits, int(t.size), 0,
                       payload={"mask": mask, "values": vals}, breakdown={"bitmap": int(t.size)})

    def decode(self, e):
        out = np.zeros(int(np.prod(e.shape)), dtype=e.payload["values"].dtype)
        out[e.payload["mask"]] = e.payload["values"]
        return out.reshape(e.shape)

    def expected_bits(self, shape, density):
        n = float(np.prod(shape))
        return n + density * n * self.p.value_bits


@register
class COO(Format):
    name = "coo"
    description = "each nonzero with its absolute offset (ceil(log2 n) bits)"
    Params = FormatParams

    def encode(self, t):
        t = np.asarray(t)
        flat = t.ravel()
        idx = np.flatnonzero(flat)
        ib = index_bits(t.size)
        return Encoded(self.name, t.shape, int(idx.size), int(idx.size) * self.p.value_bits, int(idx.size) * ib, 0,
                       payload={"offsets": idx, "values": flat[idx]}, breakdown={"offsets": int(idx.size) * ib})

    def decode(self, e):
        out = np.zeros(int(np.prod(e.shape)), dtype=e.payload["values"].dtype)
        out[e.payload["offsets"]] = e.payload["values"]
        return out.reshape(e.shape)

    def expected_bits(self, shape, density):
        n = float(np.prod(shape))
        return density * n * (self.p.value_bits + index_bits(int(n)))
