"""``ideal``: a zero-skipping roofline, the bound every sparse design is measured against.

What it models: an engine that performs only effectual products (both
operands nonzero) at ``peak_macs_per_cycle``, and moves each operand once
between DRAM and the chip at ``dram_bytes_per_cycle`` (weights and input
activations compressed to their nonzeros plus a bitmap, outputs dense),
overlapping compute and memory perfectly (the roofline of Williams et al.,
CACM 2009). Cycles are ``max(compute, memory)``.

It is also the worked example of the contract (docs/CONTRIBUTING.md): it declares its
hardware (:meth:`Ideal.hardware`: the MAC array, one SRAM, DRAM), records SRAM accesses
against the declared memory, and reports ``ceil(macs / peak)`` as ideal plus the rounding as
``tile_quantization``; the DRAM roofline is applied by :func:`accelsim.results.finish` from the
declared DRAM bandwidth, so this model does not compute it itself.

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
from ..hardware import Compute, Dram, Hardware, Memory
from ..results import LayerResult
from .base import ArchModel, CommonParams, register


@dataclass
class IdealParams(CommonParams):
    dram_bytes_per_cycle: float = positive(64.0)
    value_bits: int = field(default=16, metadata={"min": 1, "max": 64})
    peak_macs_per_cycle: int = positive(1024)
    sram_bytes: int = positive(1 << 20)


@register
class Ideal(ArchModel):
    name = "ideal"
    description = "zero-skipping roofline: effectual MACs at peak rate, each operand moved once"
    Params = IdealParams

    def hardware(self, p: IdealParams) -> Hardware:
        return Hardware(
            compute=[Compute("mac", "mac", p.peak_macs_per_cycle, p.value_bits)],
            memories=[Memory("sram", "sram", p.sram_bytes, width_bits=p.value_bits,
                             read_bits_per_cycle=2 * p.peak_macs_per_cycle * p.value_bits,
                             operands=("weights", "inputs", "outputs"))],
            dram=Dram(p.dram_bytes_per_cycle, "the config's roofline bandwidth"))

    def simulate(self, lt, p: IdealParams) -> LayerResult:
        return self._result(p, lt.layer, float(lt.effectual_macs()), float(np.count_nonzero(lt.weight)),
                            float(np.count_nonzero(lt.input)))

    def simulate_stats(self, ls, p: IdealParams) -> LayerResult:
        """Expected values under independent densities: every count here is linear in the nonzeros."""
        lay = ls.layer
        return self._result(p, lay, ls.expected_effectual_macs, lay.n_weights * ls.weight_density,
                            math.prod(lay.input_shape) * ls.act_density)

    def _result(self, p: IdealParams, lay, macs: float, w_nnz: float, x_nnz: float) -> LayerResult:
        hw = self.hardware(p)
        compute = max(math.ceil(macs / p.peak_macs_per_cycle), 1)
        vb = p.value_bits / 8
        out_elems = lay.M * lay.N
        w_bytes = w_nnz * vb + lay.n_weights / 8
        x_bytes = x_nnz * vb + math.prod(lay.input_shape) / 8
        dram = w_bytes + x_bytes + out_elems * vb
        acts = ActionCounts().mac(macs, p.value_bits).dram(dram)
        acts.read(hw.memory("sram"), 8 * (2 * macs * vb + out_elems * vb))
        # ideal = macs / peak; rounding up to whole cycles is the only loss (the DRAM roofline is the runner's)
        return LayerResult(cycles=compute, freq_hz=p.freq_hz, macs_performed=macs,
                           peak_macs_per_cycle=p.peak_macs_per_cycle,
                           losses={"tile_quantization": compute - macs / p.peak_macs_per_cycle}, actions=acts,
                           weight_bits=w_nnz * p.value_bits, metadata_bits=lay.n_weights, dram_bytes=dram,
                           sram_bytes=2 * macs * vb + out_elems * vb)
