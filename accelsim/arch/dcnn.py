"""``dcnn``: DCNN, SCNN's dense twin (Parashar et al., ISCA 2017, Sec. V, the DCNN and DCNN-opt baselines).

What it models
--------------
The same array as :mod:`accelsim.arch.scnn` (8 x 8 PEs of 4 x 4 multipliers,
1,024 in all, 1 GHz, 16-bit multiplies into 24-bit accumulators) running the
dense twin of SCNN's dataflow, PT-IS-CP-dense (Sec. III-A): every PE owns a
planar tile of every input channel and multiplies *every* weight of an
output-channel group with *every* activation of its tile, zeros included. Cycles
come from the same mapping code as SCNN with dense counts, with the same
``Kc``, barriers, halo drain and sub-tiling; products land on dense, regular
accumulator addresses, so there are no bank conflicts. ``packing`` says how a
dense PE fills its multipliers: ``perfect`` (default; every multiplier busy
while the group's work lasts, ``ceil(products / (F I))`` cycles per PE and
group: a dense engine can always vectorize over a dimension that fills it, so
the baseline loses only to planar-tile imbalance, barriers and drains) or
``cartesian`` (SCNN's ``ceil(tile_c / I) * ceil(Kc R S / F)`` per channel: the
dense Cartesian product, with its partly filled vectors). The paper does not
describe DCNN's PE beyond "the same multipliers, dense"; ``perfect`` is the
conservative baseline for SCNN's speedup. Fully connected layers use SCNN's
output-slice mapping, densely.

Storage is uncompressed: activations are 16-bit values in a 16 KB IARAM and a
16 KB OARAM per PE (the paper gives DCNN 2 MB of SRAM against SCNN's 1 MB,
Table V; 2 MB / 64 PEs = 32 KB), weights 16-bit from DRAM. Activations that
do not fit go through DRAM.

**DCNN-opt** (``zero_gating: true, compress_dram: true``, the paper's
"DCNN-opt"): the multiplier and accumulator are gated (no energy) when either
operand is zero, and DRAM traffic (weights, spilled activations) travels in
``dram_format`` (default SCNN's 4-bit zero-run encoding). Its cycles are
DCNN's: gating saves energy, not time.

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

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from ..config import bounded, positive
from ..energy import ActionCounts
from ..errors import AccelsimError, ConfigError
from ..results import LayerResult
from .base import ArchModel, register
from .scnn import PEArray, _format, _rle16, _split, map_layer, pe_array_inventory, weight_stream_mask


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
    dram_format: str = "rle"
    dram_format_params: dict[str, Any] = field(default_factory=_rle16)
    #: density of the outputs for compressed spills; 0 means the layer's input activation density
    output_density: float = bounded(0.0, lo=0.0, hi=1.0)

    def validate(self) -> None:
        self.check_pes()
        try:
            _format(self.dram_format, tuple(sorted(self.dram_format_params.items())))
        except AccelsimError as e:
            raise ConfigError(f"'params.dram_format': {e}") from None


@register
class DCNN(ArchModel):
    name = "dcnn"
    description = "DCNN (SCNN's dense baseline, ISCA 2017): same 1,024 multipliers computing densely; DCNN-opt option"
    Params = DCNNParams

    def simulate(self, lt, p: DCNNParams) -> LayerResult:
        lay = lt.layer
        m = map_layer(lt, p, sparse=False, conflicts=False, packing=p.packing)
        vb, ab = p.value_bits, p.acc_bits
        # weights stream from DRAM once per image and sub-tile pass (conv) or batch chunk (FC):
        # the PEs keep no more than a FIFO of them
        w_passes = lay.batch * m.rounds if lay.is_conv else m.rounds
        x = lt.input if lay.is_conv else lt.x_gemm(0)
        n_act = float(x.size)
        act_bits = n_act * vb
        out_words = m.out_words
        # ---- storage and DRAM
        if lay.is_conv:
            tile = float(np.diff(_split(lay.H, p.pes[0])).max() * np.diff(_split(lay.W, p.pes[1])).max())
            own = float(np.diff(_split(lay.P, p.pes[0])).max() * np.diff(_split(lay.Q, p.pes[1])).max())
            tile_bits, out_tile_bits = lay.C * tile * vb, lay.M * own * vb
        else:
            tile_bits, out_tile_bits = act_bits, out_words * vb / p.n_pes
        iaram_fits = tile_bits <= 8 * p.iaram_bytes
        oaram_fits = out_tile_bits <= 8 * p.oaram_bytes
        dense_w_bits = float(lt.weight.size * vb)
        if p.compress_dram:
            fmt = _format(p.dram_format, tuple(sorted(p.dram_format_params.items())))
            w_dram_bits = float(fmt.measure(weight_stream_mask(lt, p)).total_bits)
            a_dram_bits = float(fmt.measure(x != 0).total_bits)
            od = p.output_density or lt.act_density
            o_dram_bits = fmt.expected_bits((int(out_words),), od) if od > 0 else 0.0
        else:
            w_dram_bits, a_dram_bits, o_dram_bits = dense_w_bits, act_bits, out_words * vb
        dram = w_dram_bits / 8 * w_passes
        if not iaram_fits:
            dram += a_dram_bits / 8
        if not oaram_fits:
            dram += o_dram_bits / 8
        onchip = m.timing.cycles
        mem = dram / p.dram_bytes_per_cycle
        cycles = max(onchip, mem, 1.0)
        # ---- actions
        if p.zero_gating:
            eff = map_layer(lt, p, sparse=True, conflicts=False)
            mults, accs = eff.products, eff.valid
        else:
            mults, accs = m.products, m.valid
        bank_bytes = p.acc_bank_entries * ab / 8
        acts = ActionCounts()
        acts.mult(mults, vb, component="mac")
        acts.add(accs, ab, component="mac")
        acts.rf(2 * accs * ab, bank_bytes, component="accumulator")
        acts.rf(m.fifo_reads * vb, p.weight_fifo_entries * vb / 8, component="weight_fifo")
        iaram_reads = act_bits * m.act_passes * (1 if lay.is_conv else p.n_pes)
        acts.sram(iaram_reads, p.iaram_bytes, component="iaram")
        acts.sram(out_words * vb, p.oaram_bytes, component="oaram")
        hops = (p.n_pes - 1) if lay.is_conv else (p.pes[0] + p.pes[1]) / 2
        acts.wire(dense_w_bits * w_passes * hops, component="noc")
        acts.wire(m.halo_words * ab, component="noc")
        acts.add(m.halo_words, ab, component="mac")
        acts.rf(2 * m.halo_words * ab + out_words * ab, bank_bytes, component="accumulator")
        acts.add(out_words, ab, component="ppu")
        acts.dram(dram)
        t = m.timing
        extra = {
            "mode": m.mode, "kc": m.kc, "tiles": m.tiles, "subtile_rounds": m.rounds, "barrier_phases": m.phases,
            "macs_useful": m.valid, "ideal_cycles": t.ideal, "loss_intra_pe_frag_cycles": t.frag,
            "loss_inter_pe_imbalance_cycles": t.imbalance, "loss_halo_cycles": t.halo,
            "dram_stall_cycles": cycles - onchip if mem > onchip else 0.0,
            "iaram_fits": bool(iaram_fits), "oaram_fits": bool(oaram_fits),
            "zero_gating": p.zero_gating, "compress_dram": p.compress_dram,
        }
        return LayerResult(cycles=cycles, compute_cycles=onchip, stall_cycles=cycles - onchip, freq_hz=p.freq_hz,
                           macs_performed=m.products, peak_macs_per_cycle=p.n_pes * p.F * p.I, pe_busy=t.pe_busy,
                           actions=acts, weight_bits=dense_w_bits, metadata_bits=0.0, dram_bytes=dram,
                           sram_bytes=(iaram_reads + out_words * vb) / 8, extra=extra)

    def inventory(self, p: DCNNParams):
        """SCNN's PE array without its sparse machinery (:func:`accelsim.arch.scnn.pe_array_inventory`)."""
        return pe_array_inventory(p, sparse=False)
