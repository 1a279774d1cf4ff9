"""``ideal``: a zero-skipping roofline, the bound every sparse design is measured against.

What it models: an engine that performs only effectual products (both
operands nonzero) at ``peak_macs_per_cycle``, and moves each operand once
between DRAM and the chip at ``dram_bytes_per_cycle`` (weights and input
activations compressed to their nonzeros plus a bitmap, outputs dense),
overlapping compute and memory perfectly (the roofline of Williams et al.,
CACM 2009). Cycles are ``max(compute, memory)``.

What it leaves out: every real cost of finding the effectual pairs
(intersection, load imbalance, buffering limits, refetches). It is an upper
bound on speed, not a design.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..config import positive
from ..energy import ActionCounts
from ..results import LayerResult
from .base import ArchModel, register


@dataclass
class IdealParams:
    peak_macs_per_cycle: int = positive(1024)
    dram_bytes_per_cycle: float = positive(64.0)
    freq_hz: float = positive(1e9)
    value_bits: int = field(default=16, metadata={"min": 1, "max": 64})
    sram_bytes: int = positive(1 << 20)


@register
class Ideal(ArchModel):
    name = "ideal"
    description = "zero-skipping roofline: effectual MACs at peak rate, each operand moved once"
    Params = IdealParams

    def simulate(self, lt, p: IdealParams) -> LayerResult:
        macs = lt.effectual_macs()
        compute = math.ceil(macs / p.peak_macs_per_cycle)
        vb = p.value_bits / 8
        w_nnz = int(np.count_nonzero(lt.weight))
        x_nnz = int(np.count_nonzero(lt.input))
        out_elems = lt.layer.M * lt.layer.N
        w_bytes = w_nnz * vb + lt.weight.size / 8
        x_bytes = x_nnz * vb + lt.input.size / 8
        dram = w_bytes + x_bytes + out_elems * vb
        mem = math.ceil(dram / p.dram_bytes_per_cycle)
        cycles = max(compute, mem, 1)
        acts = ActionCounts().mac(macs, p.value_bits).dram(dram)
        acts.sram(8 * (2 * macs * vb + out_elems * vb), p.sram_bytes)
        return LayerResult(cycles=cycles, compute_cycles=compute, stall_cycles=cycles - compute, freq_hz=p.freq_hz,
                           macs_performed=macs, peak_macs_per_cycle=p.peak_macs_per_cycle, actions=acts,
                           weight_bits=w_nnz * p.value_bits, metadata_bits=lt.weight.size, dram_bytes=dram,
                           sram_bytes=2 * macs * vb + out_elems * vb,
                           extra={"bound": "compute" if compute >= mem else "memory"})
