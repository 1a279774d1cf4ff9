"""Compressed sparse row / column (CSR, CSC).

Pointers: ``rows + 1`` pointers of ``ptr_bits`` (default: enough to count
the stored entries, ``ceil(log2(entries + 1))``). Indices:
``index_mode="absolute"`` stores each nonzero's column (row for CSC) in
``index_bits`` (default ``ceil(log2 cols)``); ``index_mode="relative"``
stores the zero run before it within its row, in ``index_bits`` (default 4),
with padding entries (a zero value with the maximal run) for long gaps as in
:mod:`accelsim.formats.rle` - EIE's CSC with 4-bit relative indices is
``csc`` with ``index_bits=4, index_mode=relative`` (Han et al., ISCA 2016,
Sec. III-B). Tensors of rank > 2 are taken as their matrix view (last axis
as columns). The decoder uses only the pointers, the indices and the values.

In Sparseloop's per-rank words CSR is ``[UOP, CP]`` and EIE's CSC is
``[UOP, RLE]`` over the transposed matrix (see :mod:`accelsim.formats.ranks`,
which gives the same bit counts).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import FormatError
from .base import Encoded, Expected, Format, expected_padding, index_bits, register
from .kernels import stream_padding
from .rle import gap_encode, interleave_padding


@dataclass
class CSRParams:
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})
    index_bits: int | None = dataclasses.field(default=None, metadata={"min": 1, "max": 64})
    ptr_bits: int | None = dataclasses.field(default=None, metadata={"min": 1, "max": 64})
    index_mode: Literal["absolute", "relative"] = "absolute"

    def validate(self):
        if self.index_mode == "relative" and self.index_bits is not None and self.index_bits > 32:
            raise FormatError(f"relative index_bits must be <= 32, got {self.index_bits}")


@register
class CSR(Format):
    name = "csr"
    description = "row pointers plus column indices (absolute or relative with padding)"
    Params = CSRParams
    transpose = False

    def _dims(self, shape) -> tuple[int, int]:
        rows, cols = self.matrix_shape(shape)
        return (cols, rows) if self.transpose else (rows, cols)

    def _index_width(self, cols: int) -> int:
        if self.p.index_mode == "relative":
            return self.p.index_bits or 4
        need = index_bits(cols)
        ib = self.p.index_bits or need
        if ib < need:
            raise FormatError(f"{self.name}: index_bits={ib} cannot address {cols} "
                              f"{'rows' if self.transpose else 'columns'}; use index_mode=relative")
        return ib

    def _ptr_width(self, entries: int) -> int:
        need = index_bits(entries + 1)
        pb = self.p.ptr_bits or need
        if pb < need:
            raise FormatError(f"{self.name}: ptr_bits={pb} cannot count {entries} entries (need {need})")
        return pb

    def _account(self, shape, nnz, pads):
        rows, cols = self._dims(shape)
        ib = self._index_width(cols)
        entries = nnz + pads
        pb = self._ptr_width(entries)
        ptr_total = (rows + 1) * pb
        return Encoded(self.name, tuple(shape), nnz, entries * self.p.value_bits, entries * ib + ptr_total, pads,
                       breakdown={"pointers": ptr_total, "indices": entries * ib})

    def _encode(self, t):
        m = self.as_matrix(t)
        if self.transpose:
            m = m.T
        rows, cols = m.shape
        self._index_width(cols)  # reject a bad width before the work
        r_idx, c_idx = np.nonzero(m)  # row-major order
        vals = m[r_idx, c_idx]
        c_idx = c_idx.astype(np.int64)
        if self.p.index_mode == "absolute":
            pads = np.zeros(vals.size, dtype=np.int64)
            idx = c_idx
        else:
            span = 1 << self._index_width(cols)
            first = np.ones(vals.size, dtype=bool)
            first[1:] = r_idx[1:] != r_idx[:-1]
            starts = np.where(first, 0, np.concatenate(([0], c_idx[:-1] + 1)))
            runs, pads = gap_encode(c_idx - starts, span)
            vals, idx = interleave_padding(vals, runs, pads, span - 1)
        per_row = np.bincount(r_idx, weights=pads + 1, minlength=rows).astype(np.int64)
        e = self._account(t.shape, int(r_idx.size), int(pads.sum()))
        e.payload = {"ptr": np.concatenate(([0], np.cumsum(per_row))), "idx": idx, "values": vals}
        return e

    def _measure(self, mask):
        m = np.ascontiguousarray(self.as_matrix(mask))
        if self.p.index_mode == "absolute":
            return self._account(mask.shape, int(np.count_nonzero(m)), 0)
        span = 1 << self._index_width(self._dims(mask.shape)[1])
        nnz, pads = stream_padding(m, span, True, columns=self.transpose)
        return self._account(mask.shape, nnz, pads)

    def _decode(self, e):
        rows, cols = self._dims(e.shape)
        ptr = np.asarray(e.payload["ptr"], dtype=np.int64)
        idx = np.asarray(e.payload["idx"], dtype=np.int64)
        vals = e.payload["values"]
        counts = np.diff(ptr)
        row_of = np.repeat(np.arange(rows), counts)
        if self.p.index_mode == "absolute":
            col_of = idx
        else:
            adv = np.cumsum(idx + 1)
            base = np.concatenate(([0], adv))[ptr[:-1]]
            col_of = adv - np.repeat(base, counts) - 1
        m = np.zeros((rows, cols), dtype=vals.dtype)
        m[row_of, col_of] = vals  # padding entries write zeros onto zero positions
        if self.transpose:
            m = m.T
        return np.ascontiguousarray(m).reshape(e.shape)

    def _expected(self, shape, density):
        rows, cols = self._dims(shape)
        ib = self._index_width(cols)
        nnz = density * rows * cols
        pads = 0.0 if self.p.index_mode == "absolute" else rows * expected_padding(cols, density, 1 << ib)
        entries = nnz + pads
        pb = self._ptr_width(int(round(entries)))
        ptr_total = (rows + 1) * pb
        return Expected(self.name, shape, nnz, entries * self.p.value_bits, entries * ib + ptr_total, pads,
                        breakdown={"pointers": ptr_total, "indices": entries * ib})


@register
class CSC(CSR):
    name = "csc"
    description = "column pointers plus row indices (absolute or relative with padding, as EIE)"
    transpose = True
