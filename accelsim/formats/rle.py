"""Run-length (delta) coding: each nonzero with the count of zeros before it.

Each stored entry is a value and a run of ``run_bits`` bits. A gap of more
than ``2**run_bits - 1`` zeros inserts padding entries: a zero value with the
maximal run, each covering ``2**run_bits`` positions, exactly as EIE's 4-bit
relative index does (Han et al., ISCA 2016, Sec. III-B and Fig. 3: a gap of
18 zeros with 4-bit runs stores one padding zero with run 15, then the value
with run 2). SCNN uses the same zero-run index (Parashar et al., ISCA 2017,
Sec. IV). The stream is the tensor flattened in C order (``order="row"``) or
column-major for matrices (``order="col"``); zeros after the last nonzero
are not stored. ``value_bits=12, run_bits=4`` is EIE's 16-bit packing.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

import numpy as np

from .base import Encoded, Format, register


@dataclass
class RLEParams:
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})
    run_bits: int = dataclasses.field(default=4, metadata={"min": 1, "max": 32})
    order: Literal["row", "col"] = "row"


def run_encode(positions: np.ndarray, starts: np.ndarray, run_bits: int):
    """Runs and padding for nonzeros at *positions*, each run counted from *starts* (previous position + 1).

    Returns ``(runs, pads)``: the run stored with each nonzero and the padding entries before it.
    """
    span = 1 << run_bits
    gaps = positions - starts
    pads = gaps // span
    return gaps - pads * span, pads


def expected_entries_per_nonzero(density: float, run_bits: int) -> float:
    """1 + expected padding per nonzero for i.i.d. zeros: gaps are geometric,
    P(gap >= j) = (1 - d)^j, so E[pads] = sum_k (1-d)^(k 2^r) = q / (1 - q), q = (1-d)^(2^r)."""
    if density >= 1.0:
        return 1.0
    q = (1.0 - density) ** (1 << run_bits)
    return 1.0 + q / (1.0 - q)


@register
class RLE(Format):
    name = "rle"
    description = "values with zero-run lengths of run_bits; padding zeros for long gaps (EIE, SCNN)"
    Params = RLEParams

    def _stream(self, t: np.ndarray) -> np.ndarray:
        return t.T.ravel() if (self.p.order == "col" and t.ndim == 2) else t.ravel()

    def encode(self, t):
        t = np.asarray(t)
        flat = self._stream(t)
        pos = np.flatnonzero(flat)
        starts = np.concatenate(([0], pos[:-1] + 1)) if pos.size else pos
        runs, pads = run_encode(pos, starts, self.p.run_bits)
        n_pad = int(pads.sum())
        entries = pos.size + n_pad
        # interleave: pads[i] padding entries (value 0, run 2^r - 1) then the value with runs[i]
        span = 1 << self.p.run_bits
        rep = pads + 1
        vals = np.zeros(entries, dtype=flat.dtype)
        ent_runs = np.full(entries, span - 1, dtype=np.int64)
        last = np.cumsum(rep) - 1
        vals[last] = flat[pos]
        ent_runs[last] = runs
        return Encoded(self.name, t.shape, int(pos.size), entries * self.p.value_bits, entries * self.p.run_bits,
                       n_pad, payload={"values": vals, "runs": ent_runs}, breakdown={"runs": entries * self.p.run_bits})

    def decode(self, e):
        n = int(np.prod(e.shape))
        out = np.zeros(n, dtype=e.payload["values"].dtype)
        pos = np.cumsum(e.payload["runs"] + 1) - 1
        out[pos] = e.payload["values"]
        if self.p.order == "col" and len(e.shape) == 2:
            return out.reshape(e.shape[1], e.shape[0]).T.copy()
        return out.reshape(e.shape)

    def expected_bits(self, shape, density):
        n = float(np.prod(shape))
        return n * density * expected_entries_per_nonzero(density, self.p.run_bits) * (self.p.value_bits + self.p.run_bits)
