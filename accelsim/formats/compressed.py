"""Compressed sparse row / column (CSR, CSC).

Pointers: ``rows + 1`` pointers of ``ptr_bits`` (default: enough for the
number of stored entries). Indices: ``index_mode="absolute"`` stores each
nonzero's column (row for CSC) in ``index_bits`` (default ``ceil(log2 K)``);
``index_mode="relative"`` stores the zero run before it within the row, with
padding entries for long gaps as in :mod:`accelsim.formats.rle` - EIE's CSC
with 4-bit relative indices is ``csc`` with ``index_bits=4,
index_mode=relative`` (Han et al., ISCA 2016, Sec. III-B).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import FormatError
from .base import Encoded, Format, index_bits, register
from .rle import expected_entries_per_nonzero, run_encode


@dataclass
class CSRParams:
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})
    index_bits: int | None = None
    ptr_bits: int | None = None
    index_mode: Literal["absolute", "relative"] = "absolute"

    def validate(self):
        for k in ("index_bits", "ptr_bits"):
            v = getattr(self, k)
            if v is not None and not 1 <= v <= 64:
                raise FormatError(f"{k} must be in 1..64, got {v}")


@register
class CSR(Format):
    name = "csr"
    description = "row pointers plus column indices (absolute or relative with padding)"
    Params = CSRParams
    transpose = False

    def _matrix(self, t):
        m = self.as_matrix(t)
        return m.T if self.transpose else m

    def encode(self, t):
        t = np.asarray(t)
        m = self._matrix(t)
        rows, cols = m.shape
        r_idx, c_idx = np.nonzero(m)  # row-major order
        vals = m[r_idx, c_idx]
        nnz = int(vals.size)
        if self.p.index_mode == "absolute":
            ib = self.p.index_bits or index_bits(cols)
            if (1 << ib) < cols:
                raise FormatError(f"{self.name}: index_bits={ib} cannot address {cols} columns; "
                                  "use index_mode=relative")
            pads = np.zeros(nnz, dtype=np.int64)
            idx = c_idx.astype(np.int64)
        else:
            ib = self.p.index_bits or 4
            first = np.ones(nnz, dtype=bool)
            first[1:] = r_idx[1:] != r_idx[:-1]
            starts = np.where(first, 0, np.concatenate(([0], c_idx[:-1] + 1)))
            idx, pads = run_encode(c_idx.astype(np.int64), starts.astype(np.int64), ib)
        entries_per_row = np.bincount(r_idx, weights=pads + 1, minlength=rows).astype(np.int64)
        entries = int(entries_per_row.sum())
        pb = self.p.ptr_bits or index_bits(entries + 1)
        if (1 << pb) <= entries:
            raise FormatError(f"{self.name}: ptr_bits={pb} cannot count {entries} entries")
        ptr_bits_total = (rows + 1) * pb
        meta = entries * ib + ptr_bits_total
        return Encoded(self.name, t.shape, nnz, entries * self.p.value_bits, meta, int(pads.sum()),
                       payload={"rows": r_idx, "cols": c_idx, "values": vals, "pads": pads, "idx": idx,
                                "ptr": np.concatenate(([0], np.cumsum(entries_per_row)))},
                       breakdown={"pointers": ptr_bits_total, "indices": entries * ib})

    def decode(self, e):
        rows_cols = self._matrix(np.empty(e.shape, dtype=np.uint8)).shape
        m = np.zeros(rows_cols, dtype=e.payload["values"].dtype)
        m[e.payload["rows"], e.payload["cols"]] = e.payload["values"]
        out = m.T if self.transpose else m
        return np.ascontiguousarray(out).reshape(e.shape)

    def expected_bits(self, shape, density):
        dims = self._matrix(np.empty(shape, dtype=np.uint8)).shape
        rows, cols = dims
        nnz = density * rows * cols
        if self.p.index_mode == "absolute":
            ib = self.p.index_bits or index_bits(cols)
            entries = nnz
        else:
            ib = self.p.index_bits or 4
            entries = nnz * expected_entries_per_nonzero(density, ib)
        pb = self.p.ptr_bits or index_bits(int(entries) + 1)
        return entries * (self.p.value_bits + ib) + (rows + 1) * pb


@register
class CSC(CSR):
    name = "csc"
    description = "column pointers plus row indices (absolute or relative with padding, as EIE)"
    transpose = True
