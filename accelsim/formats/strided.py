"""Strided storage: runs of nonzeros on arithmetic progressions, as (offset, stride, count) plus values.

The nonzeros of the stream (C order, or the columns of the matrix view one
after another with ``order="col"``) are cut greedily into segments: a
segment starts at a nonzero, the next nonzero fixes its stride, and it grows
while the following nonzeros continue the progression. Each segment stores
its absolute offset (``offset_bits``, default ``ceil(log2 n)``), its stride
(``stride_bits``, default ``ceil(log2 n)``) and its count (``count_bits``,
default ``ceil(log2(n + 1))``); the values follow in stream order. A stride
or a count that does not fit its width ends the segment (a one-element
segment stores stride 0). A tensor whose nonzeros are evenly spaced (every
``s``-th position kept, the layout of channel- or row-strided pruning) costs
one segment; random sparsity costs about one segment per two nonzeros.

Greedy segmentation is not the shortest one in every case; it is the one
that a streaming encoder produces, and the one this format reports.

Expected size: with geometric gaps P(stride = s) = d (1-d)^(s-1); a segment
with stride s extends with probability p_s = d (1-d)^(s-1) at each step, so
E[length | s] = 2 + sum_{j=1}^{cmax-2} p_s^j, and segments = nnz / E[length]
(renewal argument; the end of the stream is neglected).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import FormatError
from .base import Encoded, Expected, Format, index_bits, register
from .kernels import stride_segments


@dataclass
class StridedParams:
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})
    offset_bits: int | None = dataclasses.field(default=None, metadata={"min": 1, "max": 62})
    stride_bits: int | None = dataclasses.field(default=None, metadata={"min": 1, "max": 62})
    count_bits: int | None = dataclasses.field(default=None, metadata={"min": 1, "max": 62})
    order: Literal["row", "col"] = "row"


@register
class Strided(Format):
    name = "strided"
    description = "segments of evenly spaced nonzeros as (offset, stride, count) plus values"
    Params = StridedParams

    def _widths(self, n: int) -> tuple[int, int, int]:
        need = index_bits(n)
        ob = self.p.offset_bits or need
        if ob < need:
            raise FormatError(f"strided: offset_bits={ob} cannot address {n} positions (need {need})")
        return ob, self.p.stride_bits or need, self.p.count_bits or index_bits(n + 1)

    def _limits(self, n: int) -> tuple[int, int]:
        _, sb, cb = self._widths(n)
        return (1 << sb) - 1, (1 << cb) - 1

    def _segments(self, flat):
        pos = np.flatnonzero(flat).astype(np.int64)
        smax, cmax = self._limits(flat.size)
        offsets, strides, counts = stride_segments(pos, smax, cmax)
        return pos, offsets, strides, counts

    def _account(self, shape, nnz, segments):
        ob, sb, cb = self._widths(int(np.prod(shape)))
        return Encoded(self.name, tuple(shape), nnz, nnz * self.p.value_bits, segments * (ob + sb + cb), 0,
                       breakdown={"offsets": segments * ob, "strides": segments * sb, "counts": segments * cb})

    def _encode(self, t):
        flat = self.stream(t)
        pos, offsets, strides, counts = self._segments(flat)
        e = self._account(t.shape, int(pos.size), int(offsets.size))
        e.payload = {"offsets": offsets, "strides": strides, "counts": counts, "values": flat[pos]}
        return e

    def _measure(self, mask):
        pos, offsets, _, _ = self._segments(self.stream(mask))
        return self._account(mask.shape, int(pos.size), int(offsets.size))

    def _decode(self, e):
        counts = np.asarray(e.payload["counts"], dtype=np.int64)
        starts = np.repeat(np.asarray(e.payload["offsets"], dtype=np.int64), counts)
        steps = np.repeat(np.asarray(e.payload["strides"], dtype=np.int64), counts)
        first = np.cumsum(counts) - counts
        k = np.arange(int(counts.sum())) - np.repeat(first, counts)
        vals = e.payload["values"]
        out = np.zeros(int(np.prod(e.shape)), dtype=vals.dtype)
        out[starts + steps * k] = vals
        return self.unstream(out, e.shape)

    def _expected(self, shape, density):
        n = int(np.prod(shape))
        nnz = density * n
        if nnz == 0:
            segments = 0.0
        else:
            mean_len = expected_segment_length(density, n, *self._limits(n))
            segments = max(nnz / mean_len, 1.0 if nnz >= 1 else nnz)
        ob, sb, cb = self._widths(n)
        return Expected(self.name, shape, nnz, nnz * self.p.value_bits, segments * (ob + sb + cb),
                        breakdown={"offsets": segments * ob, "strides": segments * sb, "counts": segments * cb})


def expected_segment_length(d: float, n: int, max_stride: int, max_count: int) -> float:
    """Mean greedy segment length for i.i.d. gaps (see the module docstring)."""
    if max_count < 2:
        return 1.0
    if d >= 1.0:
        return float(min(max_count, n))
    log_q = math.log1p(-d)
    top = min(max_stride, n - 1, int(math.ceil(40.0 / -log_q)) + 1)
    total = 0.0
    covered = 0.0
    chunk = 1 << 22
    for lo in range(1, top + 1, chunk):
        s = np.arange(lo, min(top, lo + chunk - 1) + 1, dtype=np.float64)
        p = d * np.exp((s - 1) * log_q)      # P(stride = s) = probability of extending with it
        with np.errstate(divide="ignore", invalid="ignore"):
            ext = p * (1.0 - p ** float(max_count - 2)) / (1.0 - p)
        ext = np.where(p >= 1.0, float(max_count - 2), ext)
        total += float(np.sum(p * (2.0 + ext)))
        covered += float(np.sum(p))
    # strides beyond the limit (or beyond the stream) make one-element segments
    return total + max(0.0, 1.0 - covered) * 1.0
