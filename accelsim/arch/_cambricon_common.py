"""What Cambricon-X and Cambricon-S share: the DianNao-style PE array, the output-neuron mapping, and the
buffer controller pipeline that feeds the PEs.

Both designs (Zhang et al., MICRO 2016; Zhou et al., MICRO 2018) descend from DianNao: ``pes`` (Tn) PEs,
each ``multipliers`` (Tm) multipliers and an adder tree, each PE computing one output neuron at a time as a
dot product over the reduction ``K`` (``C*R*S`` for a convolution). A buffer controller (BC) between the
input neuron buffer (NBin) and the PEs sends each PE the input neurons its output neuron needs; the PEs
keep their synapses in their own synapse buffers (SB); outputs go to NBout.

The mapping, the same for both models (Cambricon-X Sec. IV maps output neurons to PEs as DianNao does):
the rows of ``W`` (output channels, or output neurons of an FC layer) are cut into *tiles* of Tn
consecutive rows within each group, PE ``p`` taking row ``p`` of the tile; for every tile the PEs walk all
``N`` output positions, the tile's filters staying in their SBs. A *task* is one (tile, position): each PE
computes one output neuron.

The pipeline (:func:`pipeline`): for every task the BC streams what the indexing logic must examine
(``scan`` cycles: input neurons for Cambricon-X, index and neuron flags for Cambricon-S) and the PEs
consume their selected neurons at up to Tm per cycle. Each PE has a FIFO of ``fifo_tasks`` tasks between
the BC and itself, so PEs run asynchronously up to that slack: the BC starts a task once every PE has
finished the task ``fifo_tasks`` before it, and a PE finishes a task no earlier than the BC finished
streaming it. ``fifo_tasks: 1`` is lock step; a large value is fully asynchronous. A PE spends at least one
cycle per output neuron (the final accumulate and write). Layer cycles are when the last PE finishes;
``pe_busy`` is each PE's multiplying time.

Assumptions shared by both models where the papers are silent (to our reading; neither paper's full text
was available to us, see the model docstrings for what was): the per-PE FIFO depth (2 tasks), the BC stream
width (256 neurons or index bits per cycle: as many as there are multipliers, so a dense layer is never
bound by the BC), the buffer sizes (NBin and NBout 8 KB, SB 16 KB per PE) and the BC-to-PE wire length
(2 network hops, about 1 mm at 65 nm). DRAM bandwidth is not modelled by default
(``dram_bytes_per_cycle: 0``); set it to bound a layer by its DRAM traffic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..config import positive
from ..errors import ConfigError, FormatError
from ..results import LayerResult


@dataclass
class CambriconParams:
    #: Tn, processing elements (16 in both papers)
    pes: int = positive(16)
    #: Tm, multipliers per PE feeding one adder tree (16 in both papers)
    multipliers: int = positive(16)
    freq_hz: float = positive(1e9)
    #: neuron and (Cambricon-X) synapse width; both papers use 16-bit fixed point
    value_bits: int = field(default=16, metadata={"min": 1, "max": 64})
    #: neurons (X) or index bits (S) the buffer controller examines per cycle (assumed Tn*Tm)
    stream_width: int = positive(256)
    #: tasks of slack between the buffer controller and each PE (1 = lock step; assumed 2)
    fifo_tasks: int = positive(2)
    nbin_bytes: int = positive(8192)
    nbout_bytes: int = positive(8192)
    #: synapse buffer per PE
    sb_bytes: int = positive(16384)
    #: on-chip network hops from the buffer controller to a PE (one hop is about 0.5 mm)
    bc_pe_hops: float = field(default=2.0, metadata={"min": 0})
    #: DRAM bytes per cycle; 0 leaves DRAM bandwidth out of the cycle count (energy still counts it)
    dram_bytes_per_cycle: float = field(default=0.0, metadata={"min": 0})


def array_inventory(p: CambriconParams):
    """The DianNao-style part both designs share, for the area: ``pes`` PEs of ``multipliers`` (Tm)
    ``value_bits`` multipliers feeding an adder tree of Tm - 1 adders and an accumulator (Tm adders of
    ``2 x value_bits`` per PE, the MAC the energy counts), NBin and NBout, and one SB per PE, at the
    configured (assumed) capacities. The control processor, the BCFU (pooling, activation functions)
    and the DRAM interface are left out.
    """
    from ..energy import Inventory
    inv = Inventory()
    inv.mac(p.pes * p.multipliers, bits=p.value_bits, component="mac")
    inv.sram(p.nbin_bytes, component="nbin")
    inv.sram(p.nbout_bytes, component="nbout")
    inv.sram(p.sb_bytes, p.pes, component="sb")
    return inv


def selector(inv, count: int, outputs: int, inputs: int, bits: int, prefix_bits: int, component: str):
    """*count* selectors that each pick *outputs* values of *bits* out of a window of *inputs*.

    An ``inputs:1`` multiplexer per output and bit (``outputs x inputs x bits`` two-input multiplexer bits,
    the crossbar rule of :class:`accelsim.energy.Inventory`) and the index logic that turns the index into
    positions (*prefix_bits*: a prefix sum over the window's flags, or the running sum of the steps).
    """
    inv.mux(count * outputs * inputs * bits, component=component)
    inv.index(count * prefix_bits, component=component)
    return inv


def log2_ceil(n: int) -> int:
    return max(1, math.ceil(math.log2(max(n, 2))))


def make_encoder(name: str, params: dict, key: str):
    """A format encoder from the config, with a config error naming *key* if it cannot be built."""
    from ..formats import get_format
    try:
        return get_format(name, **params)
    except FormatError as e:
        raise ConfigError(f"'params.{key}': {e}") from None
    except ConfigError as e:
        raise ConfigError(f"'params.{key}': {e}") from None


# ---- mapping ----------------------------------------------------------------------------------

def tile_rows(M: int, groups: int, P: int) -> np.ndarray:
    """Row of ``W`` each PE computes in each tile: shape ``(tiles, P)``, -1 where a PE has no row.

    Tiles are Tn consecutive rows of one group (a tile never mixes groups: its rows meet one im2col)."""
    R = M // groups
    per = -(-R // P)
    t = np.arange(per)[:, None] * P + np.arange(P)[None, :]
    rows = []
    for g in range(groups):
        rows.append(np.where(t < R, g * R + t, -1))
    return np.concatenate(rows, axis=0).astype(np.int64)



# ---- the buffer controller / PE pipeline ------------------------------------------------------

@njit(cache=True)
def _pipeline(rowc, posc, active, scan, N, depth):
    n_tiles, P = rowc.shape
    pc = posc.shape[1]
    ring = np.zeros((depth, P), dtype=np.int64)   # finish time of each of the last `depth` tasks, per PE
    fin = np.zeros(P, dtype=np.int64)
    busy = np.zeros(P, dtype=np.int64)
    b_end = 0
    k = 0
    for t in range(n_tiles):
        s = scan[t]
        for n in range(N):
            slot = k % depth
            start = b_end
            for p in range(P):
                if ring[slot, p] > start:     # a PE still on task k - depth: its FIFO is full
                    start = ring[slot, p]
            b_end = start + s
            j = n if pc > 1 else 0
            for p in range(P):
                if active[t, p]:
                    c = rowc[t, p] + posc[t, j]
                    if c < 1:
                        c = 1
                    st = fin[p] if fin[p] > start else start
                    f = st + c
                    if f < b_end:
                        f = b_end
                    fin[p] = f
                    busy[p] += c
                ring[slot, p] = fin[p]
            k += 1
    end = b_end
    for p in range(P):
        if fin[p] > end:
            end = fin[p]
    return end, busy


def pipeline(rowc: np.ndarray, posc: np.ndarray, active: np.ndarray, scan: np.ndarray, N: int,
             depth: int) -> tuple[int, np.ndarray]:
    """Cycles of a layer's tasks through the BC and the PEs, and each PE's busy cycles.

    *rowc* ``(tiles, P)``: cycles a PE's row costs in every task of the tile (Cambricon-X); *posc*
    ``(tiles, N)`` or ``(tiles, 1)``: cycles that depend on the position (Cambricon-S); a task costs an
    active PE ``max(1, rowc + posc)``. *scan* ``(tiles,)``: BC cycles per task of the tile.
    """
    end, busy = _pipeline(np.ascontiguousarray(rowc, dtype=np.int64), np.ascontiguousarray(posc, dtype=np.int64),
                          np.ascontiguousarray(active, dtype=np.bool_), np.ascontiguousarray(scan, dtype=np.int64),
                          int(N), int(depth))
    return int(end), busy


def ceil_div(a, b):
    return -(-np.asarray(a, dtype=np.int64) // int(b))


def assemble(p: CambriconParams, *, pipeline_cycles: int, busy: np.ndarray, scan_cycles: float, products: float,
             actions, weight_bits: float, metadata_bits: float, dram_bytes: float, sram_bytes: float,
             extra: dict) -> LayerResult:
    """The LayerResult both models return: DRAM bound applied, compute and stall split."""
    mem = math.ceil(dram_bytes / p.dram_bytes_per_cycle) if p.dram_bytes_per_cycle > 0 else 0
    cycles = max(pipeline_cycles, mem, 1)
    compute = int(busy.max()) if busy.size else 0
    return LayerResult(
        cycles=cycles, compute_cycles=compute, stall_cycles=cycles - compute, freq_hz=p.freq_hz,
        macs_performed=products, peak_macs_per_cycle=p.pes * p.multipliers, pe_busy=busy.astype(np.float64),
        actions=actions, weight_bits=weight_bits, metadata_bits=metadata_bits, dram_bytes=dram_bytes,
        sram_bytes=sram_bytes,
        extra={"index_bits_total": float(metadata_bits), "indexing_cycles": float(scan_cycles),
               "memory_cycles": float(mem), "pipeline_cycles": float(pipeline_cycles), **extra})
