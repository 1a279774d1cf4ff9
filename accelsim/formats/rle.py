"""Gap-coded streams: run-length (``rle``) and zero-padded delta (``zero_padded_delta``).

Both store the nonzeros of a stream in order, each with a small code that
says how far it is from the previous one, and bridge a gap too long for the
code with padding entries (a stored zero value with the largest code).

* ``rle``: the code is the run of zeros before the nonzero, in ``run_bits``
  bits. A gap of more than ``2**run_bits - 1`` zeros inserts padding entries,
  each covering ``2**run_bits`` positions, exactly as EIE's 4-bit relative
  index does (Han et al., ISCA 2016, Sec. III-B and Fig. 3: a gap of 18 zeros
  with 4-bit runs stores one padding zero with run 15, then the value with
  run 2). SCNN uses the same zero-run index (Parashar et al., ISCA 2017,
  Sec. IV). ``value_bits=12, run_bits=4`` is EIE's 16-bit packing of a 12-bit
  value (a 4-bit codebook index after weight sharing is the other EIE option)
  with a 4-bit run.
* ``zero_padded_delta``: the code is the offset from the previous nonzero
  (the first counts from position -1) in ``delta_bits`` bits, so it lies in
  ``1 .. 2**delta_bits - 1``; a longer distance inserts padding entries, each
  a zero value ``2**delta_bits - 1`` positions on. This is the step indexing
  of Cambricon-X (Zhang et al., MICRO 2016), with the padding made explicit.
  With the same width it covers one position less per entry than ``rle``.

The stream is the tensor flattened in C order (``order="row"``) or the
columns of its matrix view one after another (``order="col"``); zeros after
the last nonzero are not stored (the decoder knows the shape).

Expected size: the gaps of i.i.d. sparsity are geometric, and the expected
padding of a stream of ``L`` positions is computed exactly by
:func:`accelsim.formats.base.expected_padding`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .base import Encoded, Expected, Format, expected_padding, register
from .kernels import stream_padding


@dataclass
class RLEParams:
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})
    run_bits: int = dataclasses.field(default=4, metadata={"min": 1, "max": 32})
    order: Literal["row", "col"] = "row"


@dataclass
class DeltaParams:
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})
    delta_bits: int = dataclasses.field(default=4, metadata={"min": 1, "max": 32})
    order: Literal["row", "col"] = "row"


def gap_encode(gaps: np.ndarray, span: int):
    """``(codes, pads)`` for zero gaps: ``gaps // span`` padding entries, each covering *span* positions,
    then the remaining gap ``< span``."""
    pads = gaps // span
    return gaps - pads * span, pads


def interleave_padding(values: np.ndarray, codes: np.ndarray, pads: np.ndarray, pad_code: int):
    """Entry arrays with ``pads[i]`` padding entries (value 0, *pad_code*) before value *i*."""
    entries = int(values.size + pads.sum())
    vals = np.zeros(entries, dtype=values.dtype)
    ent = np.full(entries, pad_code, dtype=np.int64)
    last = np.cumsum(pads + 1) - 1
    vals[last] = values
    ent[last] = codes
    return vals, ent


def expected_entries_per_nonzero(density: float, run_bits: int) -> float:
    """1 + expected padding per nonzero for an unbounded i.i.d. stream (geometric gaps):
    E[pads] = sum_k (1-d)^(k 2^r) = q / (1 - q), q = (1-d)^(2^r)."""
    if density >= 1.0 or density <= 0.0:
        return 1.0
    q = (1.0 - density) ** (1 << run_bits)
    return 1.0 + q / (1.0 - q)


class GapCoded(Format):
    """Shared logic of ``rle`` and ``zero_padded_delta``: ``span`` positions per padding entry,
    a stored code of ``gap + code_offset``."""
    code_key = "runs"
    code_offset = 0

    def width(self) -> int:
        raise NotImplementedError

    def span(self) -> int:
        raise NotImplementedError

    def _encode(self, t):
        flat = self.stream(t)
        pos = np.flatnonzero(flat)
        starts = np.concatenate(([0], pos[:-1] + 1)) if pos.size else pos
        codes, pads = gap_encode(pos - starts, self.span())
        vals, ent = interleave_padding(flat[pos], codes + self.code_offset, pads, self.span() - 1 + self.code_offset)
        e = self._account(t.shape, int(pos.size), int(pads.sum()))
        e.payload = {"values": vals, self.code_key: ent}
        return e

    def _measure(self, mask):
        m = np.ascontiguousarray(self.as_matrix(mask))
        nnz, pads = stream_padding(m, self.span(), False, columns=self.p.order == "col")
        return self._account(mask.shape, nnz, pads)

    def tile_bits(self, mask: np.ndarray, yb: np.ndarray, xb: np.ndarray) -> np.ndarray | None:
        """Total bits of every planar tile of a ``(B, C, H, W)`` mask (``[b, i * nx + j]``), each tile
        stored as its own stream, as :meth:`measure` on the slice gives; ``None`` for a column-order
        stream (the caller measures tile by tile)."""
        if self.p.order == "col":
            return None
        from .kernels import tile_stream_padding
        counts = tile_stream_padding(np.ascontiguousarray(mask), np.asarray(yb, np.int64), np.asarray(xb, np.int64),
                                     self.span())
        entries = counts[..., 0] + counts[..., 1]
        return (entries * (self.p.value_bits + self.width())).astype(np.float64)

    def _account(self, shape, nnz, pads):
        entries = nnz + pads
        meta = entries * self.width()
        return Encoded(self.name, tuple(shape), nnz, entries * self.p.value_bits, meta, pads,
                       breakdown={self.code_key: meta})

    def _decode(self, e):
        n = int(np.prod(e.shape))
        vals = e.payload["values"]
        out = np.zeros(n, dtype=vals.dtype)
        pos = np.cumsum(e.payload[self.code_key] + (1 - self.code_offset)) - 1
        out[pos] = vals  # padding entries land on zero positions and write zeros
        return self.unstream(out, e.shape)

    def _expected(self, shape, density):
        n = int(np.prod(shape))
        nnz = density * n
        pads = expected_padding(n, density, self.span())
        meta = (nnz + pads) * self.width()
        return Expected(self.name, shape, nnz, (nnz + pads) * self.p.value_bits, meta, pads,
                        breakdown={self.code_key: meta})


@register
class RLE(GapCoded):
    name = "rle"
    description = "values with zero-run lengths of run_bits; padding zeros for long gaps (EIE, SCNN)"
    Params = RLEParams
    code_key = "runs"
    code_offset = 0

    def width(self):
        return self.p.run_bits

    def span(self):
        return 1 << self.p.run_bits


@register
class ZeroPaddedDelta(GapCoded):
    name = "zero_padded_delta"
    description = "values with delta offsets of delta_bits; zero-padded when a delta overflows (Cambricon-X)"
    Params = DeltaParams
    code_key = "deltas"
    code_offset = 1

    def width(self):
        return self.p.delta_bits

    def span(self):
        return (1 << self.p.delta_bits) - 1
