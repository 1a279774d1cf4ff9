"""What Cambricon-X and Cambricon-S share: the DianNao-style PE array, the output-neuron mapping, the
buffer controller pipeline that feeds the PEs, and the cycle account both report.

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

The pipeline (:func:`run_pipeline`): for every task the BC streams what the indexing logic must examine
(``scan`` cycles: input neurons for Cambricon-X, index and neuron flags for Cambricon-S) and the PEs
consume their selected neurons at up to Tm per cycle. Each PE has a FIFO of ``fifo_tasks`` tasks between
the BC and itself, so PEs run asynchronously up to that slack: the BC starts a task once every PE has
finished the task ``fifo_tasks`` before it, and a PE finishes a task no earlier than the BC finished
streaming it. ``fifo_tasks: 1`` is lock step; a large value is fully asynchronous. A PE spends at least one
cycle per output neuron (the final accumulate and write). Layer cycles are when the last PE finishes;
``pe_busy`` is each PE's multiplying time. The trace path and the statistical mode feed the same pipeline:
they differ only in where the per-task costs come from (a trace's counts, or counts drawn from the
layer's densities).

The cycle account (:func:`cycle_losses`): ``ideal = products / (Tn*Tm)``; the rest of the pipeline's
cycles, by reason: ``fragmentation`` (multipliers idle inside a PE's cycles: the last, partly filled
group of Tm, and the one-cycle minimum per output neuron), ``tile_quantization`` (PEs with no row in a
tile: the last tile of a layer, or a depthwise layer's one row per group), ``load_imbalance`` (the busiest
PE beyond the mean), ``index`` (the BC's indexing logic slower than the busiest PE) and ``fifo_bubble``
(PEs stalled by a full FIFO or waiting for the stream). DRAM is bounded by the runner's roofline.

Assumptions shared by both models where the papers are silent (to our reading; neither paper's full text
was available to us, see the model docstrings for what was): the per-PE FIFO depth (2 tasks), the BC stream
width (256 neurons or index bits per cycle: as many as there are multipliers, so a dense layer is never
bound by the BC), the buffer sizes (NBin and NBout 8 KB, SB 16 KB per PE), the BC-to-PE wire length
(2 network hops, about 1 mm at 65 nm) and the DRAM bandwidth (16 B per cycle, see :data:`DRAM_SOURCE`).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..config import positive
from ..errors import ConfigError, FormatError
from ..hardware import Compute, Memory
from ..results import LayerResult
from .base import CommonParams

#: where the DRAM bandwidth comes from (the configs and docs/cambricon.md say the same)
DRAM_SOURCE = ("assumed: 16 B/cycle = 16 GB/s at 1 GHz, one 128-bit DRAM interface of the papers' time "
               "(e.g. LPDDR4-2000 x64); neither paper's DRAM setting could be read")


@dataclass
class CambriconParams(CommonParams):
    freq_hz: float = positive(1e9)
    #: DRAM bandwidth, bytes per cycle (assumed, see DRAM_SOURCE)
    dram_bytes_per_cycle: float = positive(16.0)
    #: neuron and (Cambricon-X) synapse width; both papers use 16-bit fixed point
    value_bits: int = field(default=16, metadata={"min": 1, "max": 64})
    #: Tn, processing elements (16 in both papers)
    pes: int = positive(16)
    #: Tm, multipliers per PE feeding one adder tree (16 in both papers)
    multipliers: int = positive(16)
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


def array_compute(p: CambriconParams) -> list[Compute]:
    """``pes x multipliers`` multipliers of ``value_bits`` feeding adder trees (priced as MACs with a
    ``2 x value_bits`` accumulate: the Tm - 1 tree adders and the accumulator of each PE)."""
    return [Compute("mac", "mac", p.pes * p.multipliers, p.value_bits)]


def array_memories(p: CambriconParams, weight_format=None, weight_operands=("weights", "indices")) -> list[Memory]:
    """The buffers both designs share, at the configured (assumed) capacities: NBin streams
    ``stream_width`` neurons per cycle to the BC, NBout takes one output per PE, each PE's SB feeds its Tm
    multipliers."""
    vb = p.value_bits
    return [Memory("nbin", "sram", p.nbin_bytes, width_bits=p.stream_width * vb, operands=("inputs",)),
            Memory("nbout", "sram", p.nbout_bytes, width_bits=p.pes * vb, operands=("outputs",)),
            Memory("sb", "sram", p.sb_bytes, count=p.pes, width_bits=p.multipliers * vb, operands=weight_operands,
                   format=weight_format)]


def selector_bits(count: int, outputs: int, inputs: int, bits: int) -> int:
    """Two-input multiplexer bits of *count* selectors picking *outputs* values of *bits* out of a window of
    *inputs* (an ``inputs:1`` multiplexer per output and bit: the crossbar rule of docs/area.md)."""
    return count * outputs * inputs * bits


def make_encoder(ref, key: str, **defaults):
    """A format encoder from a config's :class:`~accelsim.hardware.FormatRef` (*defaults* first, the
    reference's own parameters over them), with a config error naming *key* if it cannot be built.
    Encoders are stateless: one is built per distinct format and reused (layers ask for the same ones)."""
    return _encoder(ref.name, tuple(sorted({**defaults, **ref.kwargs}.items())), key)


@functools.lru_cache(maxsize=256)
def _encoder(name: str, params: tuple, key: str):
    from ..formats import get_format
    try:
        return get_format(name, **dict(params))
    except (FormatError, ConfigError) as e:
        raise ConfigError(f"'params.{key}': {e}") from None


# ---- mapping ----------------------------------------------------------------------------------

def tile_rows(M: int, groups: int, P: int) -> np.ndarray:
    """Row of ``W`` each PE computes in each tile: shape ``(tiles, P)``, -1 where a PE has no row.

    Tiles are Tn consecutive rows of one group (a tile never mixes groups: its rows meet one im2col)."""
    R = M // groups
    per = -(-R // P)
    t = np.arange(per)[:, None] * P + np.arange(P)[None, :]
    local = np.where(t < R, t, -1)
    base = (np.arange(groups, dtype=np.int64) * R)[:, None, None]
    return np.where(local[None] >= 0, local[None] + base, -1).reshape(groups * per, P).astype(np.int64)


def ceil_div(a, b):
    return -(-np.asarray(a, dtype=np.int64) // int(b))


# ---- the buffer controller / PE pipeline ------------------------------------------------------

@njit(cache=True)
def _pipeline(rowc, posc, active, scan, N, depth, state, pe, tile_busy, t0):
    """Tasks of tiles ``t0 .. t0 + len(scan) - 1`` through the BC and the PEs, continuing from *state*
    (``[BC end, tasks so far]``) and the per-PE rows of *pe* (see :class:`Pipeline`).

    When a tile's tasks all cost the same (*posc* has one column, Cambricon-X), the pipeline settles into a
    period: once the BC and every active PE have advanced by the same ``delta`` for ``depth + 1`` tasks in a
    row, every later task of the tile does the same (the recurrence is made of max and plus, so a state
    shifted by ``delta`` evolves shifted by ``delta``), and whole multiples of ``depth`` tasks are skipped.
    """
    n_tiles, P = rowc.shape
    pc = posc.shape[1]
    work = pe[0]                      # busy cycles per PE
    ring = pe[1:1 + depth]            # finish time of each of the last `depth` tasks, per PE
    fin = pe[1 + depth]               # when each PE finishes its latest task
    prev = np.zeros(P, np.int64)
    b_end = state[0]
    k = state[1]
    for t in range(n_tiles):
        s = scan[t]
        tb = 0
        steady = 0
        delta = -1
        n = 0
        while n < N:
            slot = k % depth
            start = b_end
            for p in range(P):
                if ring[slot, p] > start:     # a PE still on task k - depth: its FIFO is full
                    start = ring[slot, p]
            b_prev = b_end
            b_end = start + s
            j = n if pc > 1 else 0
            uniform = pc == 1
            cost = 0
            for p in range(P):
                if active[t, p]:
                    c = rowc[t, p] + posc[t, j]
                    if c < 1:
                        c = 1
                    prev[p] = fin[p]
                    st = fin[p] if fin[p] > start else start
                    f = st + c
                    if f < b_end:
                        f = b_end
                    fin[p] = f
                    work[p] += c
                    cost += c
                    if f - prev[p] != b_end - b_prev:
                        uniform = False
                ring[slot, p] = fin[p]
            tb += cost
            k += 1
            n += 1
            if uniform and b_end - b_prev == delta:
                steady += 1
            else:
                steady = 0
                delta = b_end - b_prev if uniform else -1
            if steady >= depth and N - n >= depth:
                jump = (N - n) // depth * depth
                b_end += jump * delta
                for p in range(P):
                    if active[t, p]:
                        c = rowc[t, p] + posc[t, 0]
                        if c < 1:
                            c = 1
                        fin[p] += jump * delta
                        work[p] += jump * c
                        for r in range(depth):
                            ring[r, p] += jump * delta
                tb += jump * cost
                k += jump
                n += jump
                steady = 0
        tile_busy[t0 + t] = tb
    state[0] = b_end
    state[1] = k


class Pipeline:
    """The BC/PE pipeline of one layer, fed tile by tile (so that a caller can stream the per-task costs of a
    large layer in bounded memory) and read at the end.

    Each call of :meth:`feed` takes the costs of consecutive tiles: *rowc* ``(tiles, P)``: cycles a PE's row
    costs in every task of the tile (Cambricon-X); *posc* ``(tiles, N)`` or ``(tiles, 1)``: cycles that
    depend on the position (Cambricon-S); a task costs an active PE ``max(1, rowc + posc)``. *scan*
    ``(tiles,)``: BC cycles per task of the tile.
    """

    def __init__(self, n_tiles: int, P: int, N: int, depth: int):
        self.N, self.depth = int(N), int(depth)
        self.state = np.zeros(2, dtype=np.int64)
        # row 0: per-PE busy cycles; rows 1..depth: the FIFO ring; last row: each PE's finish time
        self.pe = np.zeros((depth + 2, P), dtype=np.int64)
        self.tile_busy = np.zeros(n_tiles, dtype=np.int64)
        self.scan_cycles = 0
        self._t = 0

    def feed(self, rowc, posc, active, scan) -> None:
        rowc = np.ascontiguousarray(rowc, dtype=np.int64)
        _pipeline(rowc, np.ascontiguousarray(posc, dtype=np.int64), np.ascontiguousarray(active, dtype=np.bool_),
                  np.ascontiguousarray(scan, dtype=np.int64), self.N, self.depth, self.state, self.pe,
                  self.tile_busy, self._t)
        self.scan_cycles += int(np.asarray(scan, dtype=np.int64).sum()) * self.N
        self._t += rowc.shape[0]

    @property
    def cycles(self) -> int:
        return int(max(self.state[0], self.pe[-1].max(initial=0)))

    @property
    def busy(self) -> np.ndarray:
        return self.pe[0].copy()


def run_pipeline(rowc: np.ndarray, posc: np.ndarray, active: np.ndarray, scan: np.ndarray, N: int,
                 depth: int) -> tuple[int, np.ndarray]:
    """Cycles of a layer's tasks through the BC and the PEs, and each PE's busy cycles (one call of
    :class:`Pipeline`; see there for the arguments)."""
    pl = Pipeline(rowc.shape[0], rowc.shape[1], N, depth)
    pl.feed(rowc, posc, active, scan)
    return pl.cycles, pl.busy


# ---- the cycle account and the result both models return --------------------------------------

def cycle_losses(p: CambriconParams, pl: Pipeline, active_per_tile: np.ndarray, products: float) -> dict:
    """Split the pipeline's cycles beyond ``products / (Tn*Tm)`` by reason (the module docstring); the
    reasons add up to the pipeline's cycles exactly."""
    P = p.pes
    busy = pl.pe[0].astype(np.float64)
    cycles = float(pl.cycles)
    ideal = products / (P * p.multipliers)
    mean = float(busy.sum()) / P
    top = float(busy.max(initial=0.0))
    n_act = np.asarray(active_per_tile, dtype=np.float64)
    # PEs without a row in a tile stand idle for the tile's mean active time (averaged over the PEs)
    per_active = np.divide(pl.tile_busy, n_act, out=np.zeros(n_act.size), where=n_act > 0)
    empty = float(per_active @ (P - n_act)) / P
    frag = max(mean - ideal, 0.0)
    quant = min(empty, max(top - mean, 0.0))
    imbalance = max(top - mean - quant, 0.0)
    rest = max(cycles - ideal - frag - quant - imbalance, 0.0)
    index = min(rest, max(float(pl.scan_cycles) - top, 0.0))
    return {"fragmentation": frag, "tile_quantization": quant, "load_imbalance": imbalance, "index": index,
            "fifo_bubble": rest - index}


def assemble(p: CambriconParams, pl: Pipeline, active_per_tile: np.ndarray, *, products: float, actions,
             weight_bits: float, metadata_bits: float, dram_bytes: float, sram_bytes: float, totals: dict,
             extra: dict) -> LayerResult:
    """The LayerResult both models return (DRAM is the runner's roofline over ``dram_bytes``)."""
    losses = cycle_losses(p, pl, active_per_tile, products)   # they add up to the pipeline's cycles
    return LayerResult(
        cycles=float(pl.cycles), freq_hz=p.freq_hz, macs_performed=products, peak_macs_per_cycle=p.pes * p.multipliers,
        losses=losses, pe_busy=pl.busy.astype(np.float64), actions=actions, weight_bits=weight_bits,
        metadata_bits=metadata_bits, dram_bytes=dram_bytes, sram_bytes=sram_bytes,
        totals={"index_bits_total": float(metadata_bits), "indexing_cycles": float(pl.scan_cycles),
                "pipeline_cycles": float(pl.cycles), **totals},
        extra=extra)


#: the component names of the indexing hardware in both designs (X's indexing modules, S's selectors)
IM_COMPONENTS = ("im", "im_mux", "im_window")


def indexing_energy_pj(rows) -> float:
    """Picojoules of the indexing hardware (:data:`IM_COMPONENTS`) in result rows (a DataFrame or one row)."""
    total = 0.0
    for c in IM_COMPONENTS:
        col = f"component_{c}_pj"
        if col in rows:
            v = rows[col]
            total += float(v.fillna(0.0).sum()) if hasattr(v, "fillna") else float(v)
    return total


def declared(model, p):
    """``model.hardware(p)``, built once per distinct configuration (every layer asks for it)."""
    key = repr(p)
    cache = model.__dict__.setdefault("_hardware_cache", {})
    if key not in cache:
        cache.clear()
        cache[key] = model.hardware(p)
    return cache[key]
