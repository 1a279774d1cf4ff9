"""Structured formats: N:M and blocked CSR.

* ``nm``: N:M along the last axis (Ampere's 2:4, NVIDIA A100 whitepaper 2020,
  "Fine-grained structured sparsity"): every group of ``m`` positions stores
  exactly ``n`` values with a ``ceil(log2 m)``-bit position each (2 bits per
  kept value for 2:4). A group with fewer than ``n`` nonzeros stores zeros
  (padding entries); a group with more cannot be encoded. A short tail group
  is stored as a full group.
* ``bcsr``: blocked CSR with ``block`` = (rows, cols): every block holding a
  nonzero is stored densely (its zeros are padding entries), with a block
  column index per kept block and a pointer per block row (the 2-D blocks of
  Cambricon-S, Zhou et al., MICRO 2018, Sec. 4). Edge blocks are padded with
  zeros to full size.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..errors import FormatError
from .base import Encoded, Format, index_bits, register


@dataclass
class NMParams:
    n: int = dataclasses.field(default=2, metadata={"min": 1})
    m: int = dataclasses.field(default=4, metadata={"min": 1})
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})
    metadata_bits: int | None = None

    def validate(self):
        if self.n > self.m:
            raise FormatError(f"nm: N must be <= M, got {self.n}:{self.m}")


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

    def encode(self, t):
        t = np.asarray(t)
        g = self._groups(t)
        nzg = g != 0
        counts = nzg.sum(axis=1)
        if (counts > self.p.n).any():
            bad = int(np.argmax(counts > self.p.n))
            raise FormatError(f"nm:{self.p.n}:{self.p.m}: group {bad} holds {int(counts[bad])} nonzeros; "
                              f"prune with pattern nm:{self.p.n}:{self.p.m} first")
        order = np.argsort(~nzg, axis=1, kind="stable")[:, :self.p.n]
        vals = np.take_along_axis(g, order, axis=1)
        entries = vals.size
        mb = self.p.metadata_bits or index_bits(self.p.m)
        nnz = int(counts.sum())
        return Encoded(self.name, t.shape, nnz, entries * self.p.value_bits, entries * mb, entries - nnz,
                       payload={"values": vals, "positions": order}, breakdown={"positions": entries * mb})

    def decode(self, e):
        shape = e.shape
        rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        k = shape[-1]
        ng = -(-k // self.p.m)
        g = np.zeros((rows * ng, self.p.m), dtype=e.payload["values"].dtype)
        np.put_along_axis(g, e.payload["positions"], e.payload["values"], axis=1)
        return g.reshape(rows, ng * self.p.m)[:, :k].reshape(shape)

    def expected_bits(self, shape, density):
        rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        groups = rows * -(-shape[-1] // self.p.m)
        mb = self.p.metadata_bits or index_bits(self.p.m)
        return groups * self.p.n * (self.p.value_bits + mb)


@dataclass
class BCSRParams:
    block: tuple[int, int] = (4, 4)
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})
    index_bits: int | None = None
    ptr_bits: int | None = None

    def validate(self):
        if min(self.block) < 1:
            raise FormatError(f"bcsr: block sides must be >= 1, got {self.block}")


@register
class BCSR(Format):
    name = "bcsr"
    description = "blocked CSR: nonzero blocks stored densely, one index per block (Cambricon-S)"
    Params = BCSRParams

    def _blocks(self, m2):
        bh, bw = self.p.block
        rows, cols = m2.shape
        nbr, nbc = -(-rows // bh), -(-cols // bw)
        pad = np.zeros((nbr * bh, nbc * bw), dtype=m2.dtype)
        pad[:rows, :cols] = m2
        return pad.reshape(nbr, bh, nbc, bw).transpose(0, 2, 1, 3), nbr, nbc

    def encode(self, t):
        t = np.asarray(t)
        m2 = self.as_matrix(t)
        blocks, nbr, nbc = self._blocks(m2)
        keep = blocks.reshape(nbr, nbc, -1).any(axis=2)
        br, bc = np.nonzero(keep)
        kept = int(br.size)
        bsize = self.p.block[0] * self.p.block[1]
        nnz = int(np.count_nonzero(m2))
        ib = self.p.index_bits or index_bits(nbc)
        pb = self.p.ptr_bits or index_bits(kept + 1)
        meta = kept * ib + (nbr + 1) * pb
        return Encoded(self.name, t.shape, nnz, kept * bsize * self.p.value_bits, meta, kept * bsize - nnz,
                       payload={"br": br, "bc": bc, "blocks": blocks[br, bc].copy()},
                       breakdown={"block_indices": kept * ib, "pointers": (nbr + 1) * pb})

    def decode(self, e):
        m_shape = self.as_matrix(np.empty(e.shape, dtype=np.uint8)).shape
        bh, bw = self.p.block
        nbr, nbc = -(-m_shape[0] // bh), -(-m_shape[1] // bw)
        blocks = np.zeros((nbr, nbc, bh, bw), dtype=e.payload["blocks"].dtype)
        blocks[e.payload["br"], e.payload["bc"]] = e.payload["blocks"]
        full = blocks.transpose(0, 2, 1, 3).reshape(nbr * bh, nbc * bw)
        return full[:m_shape[0], :m_shape[1]].reshape(e.shape)

    def expected_bits(self, shape, density):
        m_shape = self.as_matrix(np.empty(shape, dtype=np.uint8)).shape
        bh, bw = self.p.block
        nbr, nbc = -(-m_shape[0] // bh), -(-m_shape[1] // bw)
        p_keep = 1.0 - (1.0 - density) ** (bh * bw)
        kept = nbr * nbc * p_keep
        ib = self.p.index_bits or index_bits(nbc)
        pb = self.p.ptr_bits or index_bits(int(kept) + 1)
        return kept * (bh * bw * self.p.value_bits + ib) + (nbr + 1) * pb
