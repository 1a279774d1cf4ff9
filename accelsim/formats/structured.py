"""Structured formats: N:M and blocked CSR.

* ``nm``: N:M along the last axis (Ampere's 2:4, NVIDIA A100 whitepaper 2020,
  "Fine-grained structured sparsity"): every group of ``m`` positions stores
  exactly ``n`` values with a ``ceil(log2 m)``-bit position each (2 bits per
  kept value for 2:4). A group with fewer than ``n`` nonzeros stores zeros
  (padding entries); a group with more cannot be encoded. A short tail group
  is stored as a full group. The expected size at a density above ``n/m`` is
  undefined (an error); below it, it is the size of an N:M-pruned tensor,
  which does not depend on the density.
* ``bcsr``: blocked CSR with ``block`` = (rows, cols): every block holding a
  nonzero is stored densely (its zeros are padding entries), with a block
  column index per kept block and a pointer per block row, so offsets are
  stored once per block (the 2-D blocks of Cambricon-S, Zhou et al., MICRO
  2018, Sec. 4). Edge blocks are padded with zeros to full size when
  ``pad_edges`` is true (the default); with ``pad_edges=false`` a block shape
  that does not divide the matrix is an error.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import FormatError
from .base import Encoded, Expected, Format, index_bits, register
from .kernels import block_occupancy, group_counts


@dataclass
class NMParams:
    n: int = dataclasses.field(default=2, metadata={"min": 1})
    m: int = dataclasses.field(default=4, metadata={"min": 1})
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})
    metadata_bits: int | None = dataclasses.field(default=None, metadata={"min": 1, "max": 32})

    def validate(self):
        if self.n > self.m:
            raise FormatError(f"nm: N must be <= M, got {self.n}:{self.m}")
        need = index_bits(self.m)
        if self.metadata_bits is not None and self.metadata_bits < need:
            raise FormatError(f"nm: metadata_bits={self.metadata_bits} cannot name one of {self.m} positions "
                              f"(need {need})")


@register
class NM(Format):
    name = "nm"
    description = "N values per M positions with ceil(log2 M)-bit positions (Ampere 2:4)"
    Params = NMParams

    def _groups(self, t):
        m2 = self.as_matrix(t)
        rows, k = m2.shape
        ng = -(-k // self.p.m)
        g = np.zeros((rows, ng * self.p.m), dtype=m2.dtype)
        g[:, :k] = m2
        return g.reshape(rows * ng, self.p.m)

    def _too_many(self, group: int, count: int):
        return FormatError(f"nm:{self.p.n}:{self.p.m}: group {group} holds {count} nonzeros; "
                           f"prune with pattern nm:{self.p.n}:{self.p.m} first")

    def _account(self, shape, nnz, groups):
        entries = groups * self.p.n
        mb = self.p.metadata_bits or index_bits(self.p.m)
        return Encoded(self.name, tuple(shape), nnz, entries * self.p.value_bits, entries * mb, entries - nnz,
                       breakdown={"positions": entries * mb})

    def _encode(self, t):
        g = self._groups(t)
        nzg = g != 0
        counts = nzg.sum(axis=1)
        if (counts > self.p.n).any():
            bad = int(np.argmax(counts > self.p.n))
            raise self._too_many(bad, int(counts[bad]))
        order = np.argsort(~nzg, axis=1, kind="stable")[:, :self.p.n]
        vals = np.take_along_axis(g, order, axis=1)
        e = self._account(t.shape, int(counts.sum()), g.shape[0])
        e.payload = {"values": vals, "positions": order}
        return e

    def _measure(self, mask):
        m2 = np.ascontiguousarray(self.as_matrix(mask))
        nnz, groups, bad, bad_count = group_counts(m2, self.p.m, self.p.n)
        if bad >= 0:
            raise self._too_many(int(bad), int(bad_count))
        return self._account(mask.shape, int(nnz), int(groups))

    def _decode(self, e):
        shape = e.shape
        rows, k = self.matrix_shape(shape)
        ng = -(-k // self.p.m)
        g = np.zeros((rows * ng, self.p.m), dtype=e.payload["values"].dtype)
        np.put_along_axis(g, e.payload["positions"], e.payload["values"], axis=1)
        return g.reshape(rows, ng * self.p.m)[:, :k].reshape(shape)

    def _expected(self, shape, density):
        if density > self.p.n / self.p.m + 1e-12:
            raise FormatError(f"nm:{self.p.n}:{self.p.m} holds at most {self.p.n / self.p.m:.0%} nonzeros; "
                              f"density {density:g} cannot be stored")
        rows, k = self.matrix_shape(shape)
        groups = rows * -(-k // self.p.m)
        entries = groups * self.p.n
        nnz = density * rows * k
        mb = self.p.metadata_bits or index_bits(self.p.m)
        return Expected(self.name, shape, nnz, entries * self.p.value_bits, entries * mb, entries - nnz,
                        breakdown={"positions": float(entries * mb)})


@dataclass
class BCSRParams:
    block: tuple[int, int] = (4, 4)
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})
    index_bits: int | None = dataclasses.field(default=None, metadata={"min": 1, "max": 64})
    ptr_bits: int | None = dataclasses.field(default=None, metadata={"min": 1, "max": 64})
    pad_edges: bool = True

    def validate(self):
        if min(self.block) < 1:
            raise FormatError(f"bcsr: block sides must be >= 1, got {self.block}")


@register
class BCSR(Format):
    name = "bcsr"
    description = "blocked CSR: nonzero blocks stored densely, one index per block (Cambricon-S)"
    Params = BCSRParams

    def _grid(self, shape) -> tuple[int, int, int, int]:
        rows, cols = self.matrix_shape(shape)
        bh, bw = self.p.block
        if not self.p.pad_edges and (rows % bh or cols % bw):
            raise FormatError(f"bcsr: block {bh}x{bw} does not divide the {rows}x{cols} matrix; "
                              "set pad_edges=true to pad the edge blocks with zeros")
        return rows, cols, -(-rows // bh), -(-cols // bw)

    def _widths(self, nbc: int, kept: int) -> tuple[int, int]:
        need_i, need_p = index_bits(nbc), index_bits(kept + 1)
        ib, pb = self.p.index_bits or need_i, self.p.ptr_bits or need_p
        if ib < need_i:
            raise FormatError(f"bcsr: index_bits={ib} cannot address {nbc} block columns (need {need_i})")
        if pb < need_p:
            raise FormatError(f"bcsr: ptr_bits={pb} cannot count {kept} blocks (need {need_p})")
        return ib, pb

    def _account(self, shape, nnz, kept):
        _, _, nbr, nbc = self._grid(shape)
        ib, pb = self._widths(nbc, kept)
        bsize = self.p.block[0] * self.p.block[1]
        return Encoded(self.name, tuple(shape), nnz, kept * bsize * self.p.value_bits, kept * ib + (nbr + 1) * pb,
                       kept * bsize - nnz, breakdown={"block_indices": kept * ib, "pointers": (nbr + 1) * pb})

    def _encode(self, t):
        rows, cols, nbr, nbc = self._grid(t.shape)
        bh, bw = self.p.block
        m2 = self.as_matrix(t)
        pad = np.zeros((nbr * bh, nbc * bw), dtype=m2.dtype)
        pad[:rows, :cols] = m2
        blocks = pad.reshape(nbr, bh, nbc, bw).transpose(0, 2, 1, 3)
        keep = blocks.reshape(nbr, nbc, -1).any(axis=2)
        br, bc = np.nonzero(keep)
        e = self._account(t.shape, int(np.count_nonzero(m2)), int(br.size))
        e.payload = {"ptr": np.concatenate(([0], np.cumsum(keep.sum(axis=1)))), "block_col": bc,
                     "blocks": blocks[br, bc].copy()}
        return e

    def _measure(self, mask):
        self._grid(mask.shape)
        m2 = np.ascontiguousarray(self.as_matrix(mask))
        occ = block_occupancy(m2, self.p.block[0], self.p.block[1])
        return self._account(mask.shape, int(np.count_nonzero(m2)), int(np.count_nonzero(occ)))

    def _decode(self, e):
        rows, cols, nbr, nbc = self._grid(e.shape)
        bh, bw = self.p.block
        br = np.repeat(np.arange(nbr), np.diff(e.payload["ptr"]))
        blocks = np.zeros((nbr, nbc, bh, bw), dtype=e.payload["blocks"].dtype)
        blocks[br, e.payload["block_col"]] = e.payload["blocks"]
        full = blocks.transpose(0, 2, 1, 3).reshape(nbr * bh, nbc * bw)
        return full[:rows, :cols].reshape(e.shape)

    def _expected(self, shape, density):
        rows, cols, nbr, nbc = self._grid(shape)
        bh, bw = self.p.block
        # edge blocks cover fewer positions, so they are kept less often
        eh, ew = rows - (nbr - 1) * bh, cols - (nbc - 1) * bw
        kept = 0.0
        for n_r, h in ((nbr - 1, bh), (1, eh)):
            for n_c, w in ((nbc - 1, bw), (1, ew)):
                kept += n_r * n_c * (1.0 - (1.0 - density) ** (h * w))
        ib, pb = self._widths(nbc, int(round(kept)))
        bsize = bh * bw
        nnz = density * rows * cols
        return Expected(self.name, shape, nnz, kept * bsize * self.p.value_bits, kept * ib + (nbr + 1) * pb,
                        kept * bsize - nnz, breakdown={"block_indices": kept * ib, "pointers": float((nbr + 1) * pb)})
