"""``dcnn``: DCNN, SCNN's dense twin (Parashar et al., ISCA 2017, Sec. V, the DCNN and DCNN-opt baselines).

What it models
--------------
The same array as :mod:`accelsim.arch.scnn` (8 x 8 PEs of 4 x 4 multipliers,
1,024 in all, 1 GHz, 16-bit multiplies into 24-bit accumulators; the shared pieces are in
:mod:`accelsim.arch._scnn_pe`) running the dense twin of SCNN's dataflow, PT-IS-CP-dense
(Sec. III-A): every PE owns a planar tile of every input channel and multiplies *every* weight
of an output-channel group with *every* activation of its tile, zeros included. Cycles come from
the same mapping code as SCNN with dense counts (closed forms: no tensor is read), with the same
barriers, halo drain and sub-tiling; products land on dense, regular accumulator addresses, so
there are no bank conflicts, and the accumulators are ``F x I`` banks (the dense products of a
cycle are contiguous; SCNN's ``A = 2 F I`` over-provisioning exists to cut conflicts, Sec. IV-B),
so a group holds half SCNN's partial sums and ``Kc`` is chosen for that capacity. ``packing`` says
how a dense PE fills its multipliers: ``perfect`` (default; every multiplier busy while the
group's work lasts, ``ceil(products / (F I))`` cycles per PE and group: a dense engine can always
vectorize over a dimension that fills it, so the baseline loses only to planar-tile imbalance,
barriers and drains) or ``cartesian`` (SCNN's ``ceil(tile_c / I) * ceil(Kc R S / F)`` per
channel: the dense Cartesian product, with its partly filled vectors). The paper does not
describe DCNN's PE beyond "the same multipliers, dense"; ``perfect`` is the conservative baseline
for SCNN's speedup. Fully connected layers use SCNN's output-slice mapping, densely.

Storage is uncompressed: activations are 16-bit values in a 16 KB IARAM and a
16 KB OARAM per PE (the paper gives DCNN 2 MB of SRAM against SCNN's 1 MB,
Table V; 2 MB / 64 PEs = 32 KB), weights 16-bit from DRAM. Activations that
do not fit go through DRAM, which overlaps compute at ``dram_bytes_per_cycle``; the
excess is the ``dram`` loss.

**DCNN-opt** (``zero_gating: true, compress_dram: true``, the paper's
"DCNN-opt"): the multiplier and accumulator are gated (no energy) when either
operand is zero, and DRAM traffic (weights, spilled activations) travels in
``dram_format`` (a ``FormatRef``, default SCNN's 4-bit zero-run encoding). Its cycles
are DCNN's: gating saves energy, not time.

Energy: actions only, priced by the config's table; the shipped configs use the
45 nm Horowitz table scaled to 16 nm (``energy: {table: horowitz_45nm,
node_nm: 16}``), as SCNN's do.

What it leaves out
------------------
The paper's exact DCNN PE microarchitecture (it is described only as SCNN's
dense counterpart with the same multipliers); leakage; pooling; on-chip
compression of activations (DCNN-opt compresses only DRAM traffic).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from ..config import bounded, positive
from ..energy import ActionCounts
from ..hardware import FormatRef, Hardware
from ..results import LayerResult
from . import _scnn_pe as pe
from ._scnn_pe import PEArray, RLE16, map_counts
from .base import ArchModel, register


@dataclass
class DCNNParams(PEArray):
    #: dense activations need twice SCNN's SRAM: 2 MB over 64 PEs (Table V)
    iaram_bytes: int = positive(16384)
    oaram_bytes: int = positive(16384)
    #: how the dense PE fills its F x I multipliers: ``perfect`` (every multiplier busy while work
    #: remains, the dense engine's best case) or ``cartesian`` (SCNN's F- and I-vectors, dense)
    packing: Literal["perfect", "cartesian"] = "perfect"
    #: DCNN-opt: gate the multiplier and accumulator when an operand is zero
    zero_gating: bool = False
    #: DCNN-opt: compress weights and spilled activations on the way to and from DRAM
    compress_dram: bool = False
    dram_format: FormatRef = RLE16
    #: density of the outputs for compressed spills; 0 means the layer's input activation density
    output_density: float = bounded(0.0, lo=0.0, hi=1.0)
    #: deprecated (one release): the DRAM format's parameters, now ``dram_format: {name, params}``
    dram_format_params: dict[str, Any] | None = None

    #: dense products are contiguous: one bank per multiplier (SCNN over-provisions 2x, Sec. IV-B)
    BANKS_PER_MULT: ClassVar[int] = 1

    def validate(self) -> None:
        self.check_pes()
        pe.adopt_legacy_format(self, "dram_format", "dram_format_params")
        pe.check_format(self, "dram_format")


@register
class DCNN(ArchModel):
    name = "dcnn"
    description = "DCNN (SCNN's dense baseline, ISCA 2017): same 1,024 multipliers computing densely; DCNN-opt option"
    Params = DCNNParams

    def hardware(self, p: DCNNParams) -> Hardware:
        return pe.pe_array_hardware(p, False, None, None)

    def simulate(self, lt, p: DCNNParams) -> LayerResult:
        lay = lt.layer
        plan, dense = pe.trace_counts(lt, p, sparse=False)
        m = map_counts(lay, p, plan, dense, None, p.packing)
        gated = None
        sc = None
        if p.zero_gating:
            _, sc = pe.trace_counts(lt, p, sparse=True)
            gated = (pe.total_products(lay, sc), sc.valid)
        dram_bits = None
        if p.compress_dram:
            fmt = pe.encoder(p.dram_format)
            if sc is not None and sc.act_mask is not None:          # the zero-gating counts' input mask
                am = sc.act_mask
            else:
                am = (lt.input if lay.is_conv else lt.x_gemm(0)) != 0
            od = p.output_density or lt.act_density
            dram_bits = (float(pe.weight_stream_encoding(lt, p, fmt).total_bits),
                         float(fmt.measure(am).total_bits), self._out_dram_bits(lay, m, fmt, od))
        return self._result(lay, p, m, gated, dram_bits)

    def simulate_stats(self, ls, p: DCNNParams) -> LayerResult:
        """Dense counts are closed forms; DCNN-opt's gating and compressed DRAM take the expected nonzeros."""
        lay = ls.layer
        plan, dense = pe.stats_counts(ls, p, sparse=False)
        m = map_counts(lay, p, plan, dense, None, p.packing)
        gated = None
        if p.zero_gating:
            _, sc = pe.stats_counts(ls, p, sparse=True)
            gated = (pe.total_products(lay, sc), sc.valid)
        dram_bits = None
        if p.compress_dram:
            fmt = pe.encoder(p.dram_format)
            od = p.output_density or ls.act_density
            dram_bits = (fmt.expected_bits((lay.M * lay.K,), ls.weight_density),
                         fmt.expected_bits(lay.input_shape, ls.act_density), self._out_dram_bits(lay, m, fmt, od))
        return self._result(lay, p, m, gated, dram_bits)

    @staticmethod
    def _out_dram_bits(lay, m: pe.Mapped, fmt, od: float) -> float:
        return fmt.expected_bits((int(m.out_words),), od) if od > 0 else 0.0

    def _result(self, lay, p: DCNNParams, m: pe.Mapped, gated, dram_bits) -> LayerResult:
        hw = self.hardware(p)
        vb, ab = p.value_bits, p.acc_bits
        # weights stream from DRAM once per image and sub-tile pass (conv) or batch chunk (FC):
        # the PEs keep no more than a FIFO of them
        w_passes = lay.batch * m.rounds if lay.is_conv else m.rounds
        act_bits = float(np.prod(lay.input_shape)) * vb
        out_words = m.out_words
        # ---- storage and DRAM
        if lay.is_conv:
            tile = float(np.diff(pe.split(lay.H, p.pes[0])).max() * np.diff(pe.split(lay.W, p.pes[1])).max())
            own = float(np.diff(pe.split(lay.P, p.pes[0])).max() * np.diff(pe.split(lay.Q, p.pes[1])).max())
            tile_bits, out_tile_bits = lay.C * tile * vb, lay.M * own * vb
        else:
            tile_bits, out_tile_bits = act_bits, out_words * vb / p.n_pes
        iaram_fits = tile_bits <= 8 * p.iaram_bytes
        oaram_fits = out_tile_bits <= 8 * p.oaram_bytes
        dense_w_bits = float(lay.M * lay.K * vb)
        w_dram_bits, a_dram_bits, o_dram_bits = dram_bits or (dense_w_bits, act_bits, out_words * vb)
        dram = w_dram_bits / 8 * w_passes
        if not iaram_fits:
            dram += a_dram_bits / 8
        if not oaram_fits:
            dram += o_dram_bits / 8
        t = m.timing
        dram_stall = max(dram / p.dram_bytes_per_cycle - t.cycles, 0.0)
        cycles = max(t.cycles + dram_stall, 1.0)
        rounding = "tile_quantization" if p.packing == "perfect" else "fragmentation"
        losses = {rounding: t.frag, "load_imbalance": t.imbalance, "halo": t.halo, "dram": dram_stall,
                  "other": max(cycles - t.cycles - dram_stall, 0.0)}
        # ---- actions on the declared hardware
        mults, accs = gated if gated is not None else (m.products, m.valid)
        acc, fifo = hw.memory("accumulator"), hw.memory("weight_fifo")
        acts = ActionCounts()
        acts.mult(mults, vb, component="mac")
        acts.add(accs, ab, component="mac")
        acts.read(acc, accs * ab).write(acc, accs * ab)
        acts.write(fifo, dense_w_bits * w_passes * (p.n_pes if lay.is_conv else 1)).read(fifo, m.fifo_reads * vb)
        iaram_reads = act_bits * m.act_passes * (1 if lay.is_conv else p.n_pes)
        acts.read(hw.memory("iaram"), iaram_reads)
        acts.write(hw.memory("oaram"), out_words * vb)
        hops = (p.n_pes - 1) if lay.is_conv else (p.pes[0] + p.pes[1]) / 2
        acts.wire(dense_w_bits * w_passes * hops, component="noc")
        acts.wire(m.halo_words * ab, component="noc")
        acts.add(m.halo_words, ab, component="mac")
        acts.read(acc, (2 * m.halo_words + out_words) * ab)
        acts.add(out_words, ab, component="ppu")
        acts.dram(dram)
        extra = {"mode": m.mode, "kc": m.kc, "tiles": m.tiles, "subtile_rounds": m.rounds,
                 "barrier_phases": m.phases, "iaram_fits": bool(iaram_fits), "oaram_fits": bool(oaram_fits),
                 "zero_gating": p.zero_gating, "compress_dram": p.compress_dram}
        return LayerResult(cycles=cycles, freq_hz=p.freq_hz, macs_performed=m.products,
                           peak_macs_per_cycle=p.peak_macs_per_cycle, losses=losses, pe_busy=t.pe_busy,
                           actions=acts, weight_bits=dense_w_bits, metadata_bits=0.0, dram_bytes=dram,
                           sram_bytes=(iaram_reads + out_words * vb) / 8,
                           totals={"macs_useful": m.valid, "halo_words": m.halo_words}, extra=extra)
