"""``systolic``: a dense, TPU-like systolic array with output, weight or input stationary dataflow.

What it models. A ``rows x cols`` grid of multiply-accumulate PEs (Kung and
Leiserson's systolic array as the TPU uses it: Jouppi et al., "In-Datacenter
Performance Analysis of a Tensor Processing Unit", ISCA 2017, Sec. 2) running
the GEMM ``W (M x K) @ X (K x N)`` with one operand *stationary* in the PEs:

* ``os`` output stationary: each PE accumulates one output; array rows take
  N (output positions), columns take M (filters), K streams in time;
* ``ws`` weight stationary: each PE holds one weight; rows take K, columns
  take M, the N input vectors stream through;
* ``is`` input stationary: each PE holds one input; rows take K, columns
  take N, the M weight vectors stream through.

The two spatial dimensions are cut into folds (tiles) of ``rows x cols``,
taken column fold by column fold, row folds inner (SCALE-Sim's order). Every
fold costs the same ``T + rows + cols - 2`` cycles (the T streamed vectors
enter skewed, one array row or column later each, and the last result leaves
the far corner ``rows + cols - 2`` cycles after the last vector enters), plus
``rows`` cycles to shift a stationary *input* operand into the array
(weights or inputs, one array row per cycle; nothing is preloaded for output
stationary). A partly filled fold takes as long as a full one.

This is SCALE-Sim v3's compute model (Samajdar et al., "A Systematic
Methodology for Characterizing Scalability of DNN Accelerators using
SCALE-Sim", ISPASS 2020; ``compute/systolic_compute_{os,ws,is}.py``), and the
closed forms reproduce its "Total Cycles" and its SRAM read/write counts
exactly, for every layer shape and all three dataflows, in its compute-only
bandwidth mode (checked on 195 layer/array/dataflow cases, shipped in
``accelsim/data/scalesim_reference.csv`` and pinned in the tests):

* cycles = ``folds x (T + rows + cols - 2 [+ rows]) - 1``. SCALE-Sim reports
  the index of the last busy cycle, counting from 0; we keep its number.
* SRAM traffic per operand, from what each operand spans: an operand that
  spans the rows dimension and time (the row-edge stream) is read once per
  column fold; one that spans the columns dimension and time (the
  column-edge stream, or the outputs leaving the columns) once per row fold;
  the stationary one once. Outputs that leave the array while K is still
  folded are partial sums: written once per K fold and read back for the
  next (the read-back is ours; SCALE-Sim counts only the writes).

GEMM convention: SCALE-Sim writes ``ofmap (M_s x N_s) = ifmap (M_s x K) *
filter (K x N_s)`` with ``M_s`` the output pixels and ``N_s`` the filters, so
its M is our N and its N our M; its ifmap is our X^T and its filter our W^T.

Memory side (ours; SCALE-Sim's compute-only mode has no stalls). Each operand
has a double-buffered SRAM (``weight_sram_bytes``, ``input_sram_bytes``,
``output_sram_bytes``): one half serves the array while the other is filled
for the next fold. An operand is fetched from DRAM once if the data it reuses
fits in half its buffer, and again at every reuse otherwise: the row-edge
stream is reused across column folds (footprint: the whole operand), the
column-edge stream across row folds (footprint: one column fold's slice),
partial sums across K folds (kept in the output buffer if a column fold's
slice fits, spilled to DRAM and read back otherwise). Convolution inputs are
fetched as the feature map (unique elements), not as the im2col matrix; the
im2col duplicates are served from SRAM. A stationary tile must sit in its
buffer before its fold starts, so it is prefetched during the previous fold
(the layer's first tile is exposed); the streamed operands, partial sums and
outputs move while their fold runs. Over a single DRAM channel of
``dram_bytes_per_cycle`` a fold lasts the longer of its compute and its
traffic (its streams plus the next fold's tile): the difference is a stall.
The stall of this per-fold model is the cycle account's ``dram`` loss (the
runner's roofline ``dram_bytes / dram_bytes_per_cycle`` is then already met).

The cycle account (docs/CONTRIBUTING.md). ``ideal = M K N / (rows x cols)``
and, per fold, ``T`` cycles of streaming with ``ru x cu`` of the PEs mapped:

* ``fragmentation``: PE-cycles of the stream left empty because a spatial
  dimension is smaller than the array side it is laid along (every fold uses
  only ``Sr < rows`` rows, say);
* ``tile_quantization``: those left empty by the last, partial fold of a
  dimension that spans several folds (the rounding of ``ceil(Sr / rows)``);
  the empty PE-cycles of a fold, ``T (rows cols - ru cu)``, are split between
  the row and the column dimension by their symmetric (Shapley) shares, each
  share going to one of these two reasons;
* ``fill_drain``: the skew, ``rows + cols - 2`` per fold, less SCALE-Sim's
  0-based last cycle (taken once per layer);
* ``stationary_load``: ``rows`` per fold to shift the stationary weights or
  inputs in (none for output stationary);
* ``dram``: the memory side's stall above.

``ideal + fragmentation + tile_quantization + fill_drain + stationary_load``
is SCALE-Sim's compute-only "Total Cycles" (``compute_cycles`` in the row).

Declared hardware (:meth:`Systolic.hardware`): ``rows x cols`` MACs
(``mac``), ``pe_register_bytes`` of registers per PE (``pe_registers``), the
three operand SRAMs (``sram_weight``, ``sram_input``, ``sram_output``, each
as wide as the array edge it feeds) and DRAM at ``dram_bytes_per_cycle``.

Energy (action counts against that hardware; the table prices them): one
16-bit MAC per mapped PE per streamed vector (the dense array does not skip
zeros: ``macs_performed`` is the dense count), SRAM reads and writes per
operand buffer at its declared capacity (array traffic, DRAM fills and
drains), DRAM bytes, and PE register traffic (``pe_registers``): both
operand registers read per MAC, every moving input latched into the next PE,
the accumulator read and written (2 x value_bits wide), and each stationary
value written once.

Left out, and assumed where the sources are silent:

* No zero skipping or gating of any kind; idle PEs of a partial fold cost
  nothing.
* Grouped and depthwise convolutions run one group's GEMM after another
  (``LayerTrace.gemms()``); groups are never packed side by side in a fold.
* Partial sums are stored at ``value_bits`` (SCALE-Sim counts words), and the
  SRAM holds the working set whole (no banking or port conflicts).
* The memory side is not calibrated against SCALE-Sim's DRAM traces (its
  buffer simulation, e.g., writes every partial sum to DRAM); the compute side
  (every loss but ``dram``) is SCALE-Sim's compute-only figure, exactly.
* Layers do not overlap, and every layer reads its input from DRAM and writes
  its output there (as SCALE-Sim does): activations are not kept on chip
  between layers, so batch-1 networks on a wide array are often DRAM-bound.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
from numba import njit

from ..config import positive
from ..energy import ActionCounts
from ..errors import ModelError
from ..hardware import Compute, Dram, FormatRef, Hardware, Logic, Memory
from ..results import LayerResult
from .base import ArchModel, CommonParams, register

DATAFLOWS = ("os", "ws", "is")
#: which operand each dataflow keeps in the PEs
STATIONARY = {"os": "output", "ws": "weight", "is": "input"}
#: GEMM dimensions of each operand: W is M x K, X is K x N, the output M x N
OPERAND_DIMS = {"weight": ("M", "K"), "input": ("K", "N"), "output": ("M", "N")}
#: the stationary operand's dimensions on the array: (along its rows, along its columns); the third streams
_SPATIAL = {"output": ("N", "M"), "weight": ("K", "M"), "input": ("K", "N")}


@dataclass
class SystolicParams(CommonParams):
    #: clock: TPU v1's 700 MHz (Jouppi et al., ISCA 2017, Sec. 2)
    freq_hz: float = positive(700e6)
    #: DRAM bandwidth, finite: TPU v1's 34 GB/s at 700 MHz (Sec. 2) = 48.6 B/cycle
    dram_bytes_per_cycle: float = positive(48.0)
    #: datapath width of one operand value (multiplier input; also SRAM and DRAM words)
    value_bits: int = field(default=16, metadata={"min": 1, "max": 64})
    #: PE rows and columns of the array
    rows: int = positive(128)
    cols: int = positive(128)
    #: os (output), ws (weight) or is (input) stationary
    dataflow: Literal["os", "ws", "is"] = "ws"
    #: double-buffered SRAM per operand (half serves the array, half is filled)
    weight_sram_bytes: int = positive(256 << 10)
    input_sram_bytes: int = positive(8 << 20)
    output_sram_bytes: int = positive(2 << 20)
    #: capacity that prices a PE register access (operand, forwarding and accumulator registers)
    pe_register_bytes: int = positive(8)


def edge_role(dataflow: str, operand: str) -> str:
    """``stationary``, ``row`` (spans the rows dimension and time: enters along the array rows) or ``col``."""
    r_dim, c_dim = _SPATIAL[STATIONARY[dataflow]]
    dims = set(OPERAND_DIMS[operand])
    if dims == {r_dim, c_dim}:
        return "stationary"
    return "row" if r_dim in dims else "col"


# ---- compute side: folds and cycles from the dataflow -------------------------------------------

@dataclass(frozen=True)
class FoldPlan:
    """How one GEMM folds onto the array under one dataflow."""
    dataflow: str
    rows: int
    cols: int
    Sr: int                 # extent of the dimension laid along the array rows
    Sc: int                 # ... along the array columns
    T: int                  # the dimension that streams in time
    dims: tuple[str, str, str]   # names of (Sr, Sc, T) among M, K, N
    row_folds: int
    col_folds: int
    cycles_per_fold: int

    @property
    def stationary(self) -> str:
        return STATIONARY[self.dataflow]

    @property
    def folds(self) -> int:
        return self.row_folds * self.col_folds

    @property
    def load_cycles(self) -> int:
        """Cycles per fold to shift a stationary weight or input in, one array row per cycle (none for os)."""
        return self.rows if self.stationary != "output" else 0

    def role(self, operand: str) -> str:
        """``stationary``, ``row`` (spans the rows dimension and time) or ``col`` (the columns one and time)."""
        return edge_role(self.dataflow, operand)

    def size(self, operand: str) -> int:
        ext = dict(zip(self.dims, (self.Sr, self.Sc, self.T)))
        a, b = OPERAND_DIMS[operand]
        return ext[a] * ext[b]

    def passes(self, operand: str) -> int:
        """How many times the array reads (or writes) the whole operand: once per fold of the dimension it lacks."""
        role = self.role(operand)
        return 1 if role == "stationary" else (self.col_folds if role == "row" else self.row_folds)

    def rows_used(self) -> np.ndarray:
        return np.minimum(self.rows, self.Sr - self.rows * np.arange(self.row_folds))

    def cols_used(self) -> np.ndarray:
        return np.minimum(self.cols, self.Sc - self.cols * np.arange(self.col_folds))

    def empty_pe_cycles(self) -> tuple[tuple[str, float], tuple[str, float]]:
        """Stream cycles (of the whole array) left empty, charged to the row and to the column dimension.

        The folds leave ``T (folds rows cols - Sr Sc)`` PE-cycles empty. With ``u_r = Sr / (row_folds
        rows)`` and ``u_c`` alike, the used fraction is ``u_r u_c``; the row dimension's symmetric (Shapley)
        share of the empty fraction is ``(1 - u_r)(1 + u_c) / 2``, the column one's the rest. A share is
        ``fragmentation`` when its dimension fits in one fold (the array side is never filled) and
        ``tile_quantization`` when it spans several (the last fold is partial). Returns ``((reason, cycles),
        (reason, cycles))`` for one repetition of the GEMM.
        """
        u_r = self.Sr / (self.row_folds * self.rows)
        u_c = self.Sc / (self.col_folds * self.cols)
        stream = float(self.folds * self.T)
        empty = stream - self.Sr * self.Sc * self.T / (self.rows * self.cols)
        by_rows = stream * (1.0 - u_r) * (1.0 + u_c) / 2.0
        reason = lambda folds: "fragmentation" if folds == 1 else "tile_quantization"  # noqa: E731
        return (reason(self.row_folds), by_rows), (reason(self.col_folds), max(empty - by_rows, 0.0))


def fold_plan(M: int, K: int, N: int, rows: int, cols: int, dataflow: str) -> FoldPlan:
    """Fold ``W (M x K) @ X (K x N)`` onto a ``rows x cols`` array; the dataflow names the stationary operand."""
    if dataflow not in STATIONARY:
        raise ModelError(f"dataflow must be one of {', '.join(DATAFLOWS)}, got {dataflow!r}")
    for key, v in dict(M=M, K=K, N=N, rows=rows, cols=cols).items():
        if int(v) != v or v < 1:
            raise ModelError(f"systolic GEMM: {key} must be a positive integer, got {v!r}")
    stat = STATIONARY[dataflow]
    ext = {"M": int(M), "K": int(K), "N": int(N)}
    r_dim, c_dim = _SPATIAL[stat]
    t_dim = ({"M", "K", "N"} - {r_dim, c_dim}).pop()
    Sr, Sc, T = ext[r_dim], ext[c_dim], ext[t_dim]
    # skewed stream: T vectors enter, the last result leaves rows + cols - 2 cycles later;
    # a stationary input is first shifted in, one array row per cycle
    L = T + rows + cols - 2 + (rows if stat != "output" else 0)
    return FoldPlan(dataflow, int(rows), int(cols), Sr, Sc, T, (r_dim, c_dim, t_dim),
                    -(-Sr // rows), -(-Sc // cols), L)


# ---- memory side: DRAM traffic from reuse, stalls from bandwidth --------------------------------

@dataclass(frozen=True)
class MemorySpec:
    """What the memory side needs besides the fold plan (defaults: unbounded, compute only)."""
    value_bits: int = 16
    weight_sram_bytes: float = math.inf
    input_sram_bytes: float = math.inf
    output_sram_bytes: float = math.inf
    dram_bytes_per_cycle: float = math.inf
    #: distinct input elements / elements of the K x N input matrix (a convolution's im2col repeats pixels)
    input_unique_fraction: float = 1.0
    #: input values delivered per reduction index (column combining's multiplexed inputs carry several channels)
    input_width: float = 1.0
    #: extra bits stored with every weight (column combining's channel index)
    weight_meta_bits: float = 0.0

    def elem_bytes(self, operand: str) -> float:
        if operand == "weight":
            return (self.value_bits + self.weight_meta_bits) / 8.0
        if operand == "input":
            return self.value_bits * self.input_width / 8.0
        return self.value_bits / 8.0

    def capacity(self, operand: str) -> float:
        return {"weight": self.weight_sram_bytes, "input": self.input_sram_bytes,
                "output": self.output_sram_bytes}[operand]


_ROLE_CODE = {"stationary": 0, "row": 1, "col": 2}
_OPERANDS = ("weight", "input", "output")


@njit(cache=True)
def _memory_walk(Sr, Sc, T, rows, cols, groups, L, roles, ebytes, fits, bandwidth):
    """DRAM traffic per operand and stall cycles of ``groups`` repetitions of one GEMM's folds.

    Operands in the order weight, input, output; ``roles`` 0 stationary, 1
    spans (Sr, T) (reused across column folds), 2 spans (Sc, T) (reused across
    row folds); ``fits`` whether that reuse is served from SRAM. Folds run
    column fold by column fold, row folds inner. A stationary tile must be in
    its buffer before its fold starts, so it is prefetched during the previous
    fold (the first one is exposed); streamed operands, partial sums and
    outputs move while their fold runs. A fold lasts the longer of its compute
    and its DRAM traffic over one channel of ``bandwidth`` bytes per cycle.
    Returns (DRAM bytes read per operand, bytes written, stall cycles).
    """
    fr = (Sr + rows - 1) // rows
    fc = (Sc + cols - 1) // cols
    F = fr * fc
    prefetch = np.zeros(F)
    stream = np.zeros(F)
    read = np.zeros(3)
    written = 0.0
    f = 0
    for c in range(fc):
        cu = min(cols, Sc - c * cols)
        for r in range(fr):
            ru = min(rows, Sr - r * rows)
            for op in range(3):
                role = roles[op]
                if role == 0:
                    amount = ru * cu * ebytes[op]
                elif role == 1:
                    amount = ru * T * ebytes[op]
                else:
                    amount = cu * T * ebytes[op]
                if op < 2:
                    # an input is loaded when first used, and again at every reuse that does not fit
                    if role == 0:
                        prefetch[f] += amount
                        read[op] += amount
                    elif not fits[op] or (role == 1 and c == 0) or (role == 2 and r == 0):
                        stream[f] += amount
                        read[op] += amount
                elif role == 0:
                    stream[f] += amount
                    written += amount
                elif fits[op]:
                    # partial sums stay in the output buffer; the finished slice leaves after the last K fold
                    if r == fr - 1:
                        stream[f] += amount
                        written += amount
                else:
                    # partial sums spill to DRAM after every K fold and come back for the next
                    stream[f] += amount
                    written += amount
                    if r > 0:
                        stream[f] += amount
                        read[op] += amount
            f += 1
    stall = 0
    if bandwidth < np.inf:
        n = F * groups
        t = prefetch[0] / bandwidth
        for i in range(n):
            traffic = stream[i % F]
            if i + 1 < n:
                traffic += prefetch[(i + 1) % F]
            t += max(float(L), traffic / bandwidth)
        stall = max(int(np.ceil(t - 1e-9)) - n * L, 0)
    return read * groups, written * groups, stall


def memory_traffic(plan: FoldPlan, mem: MemorySpec, groups: int = 1) -> tuple[dict[str, float], float, int]:
    """DRAM bytes read per operand, bytes written and stall cycles of *plan*'s folds (``groups`` times).

    An input's reuse is served from SRAM when its footprint fits in half its
    (double-buffered) buffer: the whole operand for the row-edge stream
    (reused across column folds), one column fold's slice for the column-edge
    stream (reused across row folds) and for partial sums (kept across K folds).
    """
    roles = np.array([_ROLE_CODE[plan.role(op)] for op in _OPERANDS], dtype=np.int64)
    ebytes = np.array([mem.elem_bytes(op) * (mem.input_unique_fraction if op == "input" else 1.0)
                       for op in _OPERANDS])
    fits = np.zeros(3, dtype=np.bool_)
    for i, op in enumerate(_OPERANDS):
        footprint = {0: 0.0, 1: plan.Sr * plan.T, 2: min(plan.cols, plan.Sc) * plan.T}[int(roles[i])] * ebytes[i]
        fits[i] = footprint <= mem.capacity(op) / 2.0
    read, written, stall = _memory_walk(plan.Sr, plan.Sc, plan.T, plan.rows, plan.cols, int(groups),
                                        plan.cycles_per_fold, roles, ebytes, fits, float(mem.dram_bytes_per_cycle))
    return dict(zip(_OPERANDS, map(float, read))), float(written), int(stall)


# ---- the whole GEMM ------------------------------------------------------------------------------

@dataclass
class SystolicBreakdown:
    """Cycles, traffic and work of ``groups`` identical GEMMs run back to back on the array.

    The compute side is kept as the cycle account's parts: ``stream_cycles`` (T per fold), of which
    ``ideal`` is the full-array share and ``fragmentation`` + ``tile_quantization`` the empty PEs'
    share; ``fill_drain`` (``rows + cols - 2`` per fold) and ``stationary_load`` (``rows`` per fold for
    ws and is). SCALE-Sim's figure is their sum less ``index_offset`` (its 0-based last cycle).
    """
    plan: FoldPlan
    groups: int
    macs: float
    stream_cycles: int
    fragmentation: float
    tile_quantization: float
    fill_drain: int
    stationary_load: int
    #: 1: SCALE-Sim reports the 0-based index of the last busy cycle, one less than the count
    index_offset: int
    stall_cycles: int
    #: mapped PEs / (rows x cols), averaged over folds
    mapping_efficiency: float
    #: values the array reads from the weight and input SRAMs (SCALE-Sim's SRAM reads)
    sram_reads: dict[str, float]
    #: output elements written to the output SRAM, partial sums included (SCALE-Sim's writes)
    output_writes: float
    #: partial sums read back from the output SRAM to be accumulated
    output_reads: float
    #: DRAM bytes read per operand (the output's are spilled partial sums) and written (outputs)
    dram_read_bytes: dict[str, float]
    dram_write_bytes: float
    #: PE register bits read and written (one value per operand register, the accumulator at 2 x value_bits)
    rf_bits: float
    memory: "MemorySpec"
    #: bits latched by a widened input bus beyond its first value (column combining's multiplexed inputs)
    bus_bits: float = 0.0
    #: channel-index bits written into or forwarded between cells with their weights (column combining)
    index_bits: float = 0.0

    @property
    def ideal_cycles(self) -> float:
        return self.macs / (self.plan.rows * self.plan.cols)

    @property
    def compute_cycles(self) -> int:
        """SCALE-Sim's compute-only "Total Cycles": the cycles without the DRAM stall."""
        return self.stream_cycles + self.fill_drain + self.stationary_load - self.index_offset

    @property
    def cycles(self) -> int:
        return self.compute_cycles + self.stall_cycles

    @property
    def folds(self) -> int:
        return self.groups * self.plan.folds

    @property
    def dram_bytes(self) -> float:
        return sum(self.dram_read_bytes.values()) + self.dram_write_bytes

    def losses(self) -> dict[str, float]:
        """The cycle account's losses (``cycles = ideal_cycles + sum``); the 0-based offset comes off the
        fill/drain (or, on a 1-row, 1-column array, off the stationary load)."""
        fill, load = float(self.fill_drain), float(self.stationary_load)
        if self.index_offset:
            if fill >= self.index_offset:
                fill -= self.index_offset
            else:
                load -= self.index_offset
        return {"fragmentation": self.fragmentation, "tile_quantization": self.tile_quantization,
                "fill_drain": fill, "stationary_load": load, "dram": float(self.stall_cycles)}

    def sram_bits(self) -> dict[str, float]:
        """Bits accessed in each operand's SRAM: the array's traffic plus DRAM fills and drains."""
        m = self.memory
        vb = m.value_bits
        return {
            "weight": self.sram_reads["weight"] * m.elem_bytes("weight") * 8 + self.dram_read_bytes["weight"] * 8,
            "input": self.sram_reads["input"] * vb + self.dram_read_bytes["input"] * 8,
            "output": (self.output_writes + self.output_reads) * vb + self.dram_read_bytes["output"] * 8
            + self.dram_write_bytes * 8,
        }

    def pe_busy(self) -> np.ndarray:
        """Busy cycles of every PE (row-major ``rows x cols``): T per fold in which it is mapped."""
        p = self.plan
        # PE row i is mapped in every full row fold, and in the partial one if i < the remainder
        r_hits = p.Sr // p.rows + (np.arange(p.rows) < p.Sr % p.rows)
        c_hits = p.Sc // p.cols + (np.arange(p.cols) < p.Sc % p.cols)
        return (np.outer(r_hits * float(p.T * self.groups), c_hits)).ravel()


def systolic_gemm(M: int, K: int, N: int, rows: int, cols: int, dataflow: str = "ws", *, groups: int = 1,
                  memory: MemorySpec | None = None) -> SystolicBreakdown:
    """``groups`` GEMMs ``W (M x K) @ X (K x N)`` on a ``rows x cols`` array, from shapes alone.

    The compute side (:func:`fold_plan`) gives folds and cycles; the memory
    side (``memory``, default unbounded) gives DRAM traffic and stalls.

    Examples
    --------
    >>> bd = systolic_gemm(12, 10, 20, 8, 8, "ws")   # SCALE-Sim: M_s=20, N_s=12, K=10 on 8x8
    >>> bd.plan.folds, bd.plan.cycles_per_fold, bd.compute_cycles
    (4, 42, 167)
    """
    plan = fold_plan(M, K, N, rows, cols, dataflow)
    mem = memory or MemorySpec()
    if int(groups) != groups or groups < 1:
        raise ModelError(f"systolic GEMM: groups must be a positive integer, got {groups!r}")
    g = int(groups)
    n_folds = g * plan.folds
    (r_reason, r_loss), (c_reason, c_loss) = plan.empty_pe_cycles()
    empty = {"fragmentation": 0.0, "tile_quantization": 0.0}
    empty[r_reason] += g * r_loss
    empty[c_reason] += g * c_loss
    fill = n_folds * (plan.rows + plan.cols - 2)
    load = n_folds * plan.load_cycles
    reads = {op: float(g * plan.size(op) * plan.passes(op)) for op in ("weight", "input")}
    reads["input"] *= mem.input_width
    out_writes = float(g * plan.size("output") * plan.passes("output"))
    out_reads = out_writes - g * plan.size("output")
    dram_read, dram_write, stall = memory_traffic(plan, mem, g)
    macs = float(g) * M * K * N
    vb = mem.value_bits
    stat = plan.stationary
    # per MAC: both operand registers read, each moving operand latched into the next PE (an input bus
    # of input_width values latches them all; a moving weight carries its channel index), accumulator r + w
    per_mac = 2 * vb + 2 * (2 * vb)
    bus = index = 0.0
    if stat != "weight":
        per_mac += vb
        index += macs * mem.weight_meta_bits
    if stat != "input":
        per_mac += vb
        bus += macs * vb * (mem.input_width - 1.0)
    # each stationary value (with its index, or all values of a widened input) is written into its PE once
    stat_values = 0.0
    if stat != "output":
        stat_values = float(g * plan.size(stat))
        if stat == "weight":
            index += stat_values * mem.weight_meta_bits
        else:
            bus += stat_values * vb * (mem.input_width - 1.0)
    mapping = (plan.Sr * plan.Sc) / (plan.folds * plan.rows * plan.cols)
    return SystolicBreakdown(plan=plan, groups=g, macs=macs, stream_cycles=n_folds * plan.T,
                             fragmentation=empty["fragmentation"], tile_quantization=empty["tile_quantization"],
                             fill_drain=fill, stationary_load=load, index_offset=1 if fill + load >= 1 else 0,
                             stall_cycles=stall, mapping_efficiency=mapping, sram_reads=reads,
                             output_writes=out_writes, output_reads=out_reads, dram_read_bytes=dram_read,
                             dram_write_bytes=dram_write, rf_bits=macs * per_mac + stat_values * vb, memory=mem,
                             bus_bits=bus, index_bits=index)


# ---- from a layer to a result ---------------------------------------------------------------------

def memory_spec(p: SystolicParams, layer=None, **extra) -> MemorySpec:
    """The memory side of params *p*; for a convolution, the input's im2col repetition."""
    unique = 1.0
    if layer is not None and layer.is_conv:
        native = (layer.C // layer.groups) * layer.H * layer.W * layer.batch
        unique = min(1.0, native / float(layer.K * layer.N))
    return MemorySpec(value_bits=p.value_bits, weight_sram_bytes=p.weight_sram_bytes,
                      input_sram_bytes=p.input_sram_bytes, output_sram_bytes=p.output_sram_bytes,
                      dram_bytes_per_cycle=p.dram_bytes_per_cycle, input_unique_fraction=unique, **extra)


def layer_breakdown(layer, p: SystolicParams, K: int | None = None, **memory_extra) -> SystolicBreakdown:
    """The layer's per-group GEMMs on the array of *p* (``K`` replaces the reduction length, e.g. packed)."""
    mem = memory_spec(p, layer, **memory_extra)
    return systolic_gemm(layer.rows_per_group, layer.K if K is None else K, layer.N, p.rows, p.cols, p.dataflow,
                         groups=layer.groups, memory=mem)


def array_hardware(p: SystolicParams, memories: tuple[Memory, ...] = (), logic: tuple[Logic, ...] = (),
                   weight_operands: tuple[str, ...] = ("weights",)) -> Hardware:
    """The array's declared hardware (shared with the models built on it; *memories* and *logic* add theirs).

    ``rows x cols`` PEs, each a ``value_bits`` multiplier with a ``2 x value_bits`` accumulating adder
    (``mac``) and ``pe_register_bytes`` of registers (``pe_registers``: stationary operand, the moving
    operand's forwarding register and the accumulator, 8 bytes = 4 x 16 bits by default); the three
    double-buffered operand SRAMs at their full capacity (TPU v1's unified buffer, accumulators and weight
    FIFO, Jouppi et al., ISCA 2017, Sec. 2, scaled as in ``accelsim/configs/systolic.yaml``), each one
    array edge wide (``rows`` values for the operand entering along the rows, ``cols`` otherwise), all
    stored dense; DRAM at ``dram_bytes_per_cycle``. Control, the activation pipeline and the DRAM
    interface are left out of the area.
    """
    vb = p.value_bits
    n = p.rows * p.cols

    def sram(name: str, operand: str, capacity: int, operands: tuple[str, ...]) -> Memory:
        edge = p.rows if edge_role(p.dataflow, operand) == "row" else p.cols
        return Memory(name, "sram", capacity, width_bits=edge * vb, operands=operands,
                      format=FormatRef("dense", {"value_bits": vb}))

    return Hardware(
        compute=[Compute("mac", "mac", n, vb)],
        memories=[Memory("pe_registers", "rf", p.pe_register_bytes, count=n, width_bits=vb,
                         operands=("weights", "inputs", "psums")),
                  sram("sram_weight", "weight", p.weight_sram_bytes, weight_operands),
                  sram("sram_input", "input", p.input_sram_bytes, ("inputs",)),
                  sram("sram_output", "output", p.output_sram_bytes, ("outputs", "psums")),
                  *memories],
        logic=list(logic),
        dram=Dram(p.dram_bytes_per_cycle, "params.dram_bytes_per_cycle (the shipped configs state its source)"))


def array_inventory(p: SystolicParams):
    """The array's area inventory (:meth:`Hardware.inventory` of :func:`array_hardware`)."""
    return array_hardware(p).inventory()


def actions(bd: SystolicBreakdown, p: SystolicParams, hw: Hardware) -> ActionCounts:
    """Action counts of a breakdown on the declared hardware *hw*: MACs, PE registers, SRAMs, DRAM."""
    acts = ActionCounts().mac(bd.macs, p.value_bits)
    acts.read(hw.memory("pe_registers"), bd.rf_bits)
    if bd.bus_bits:
        acts.read(hw.memory("input_bus"), bd.bus_bits)
    if bd.index_bits:
        acts.read(hw.memory("channel_index"), bd.index_bits)
    bits = bd.sram_bits()
    for op in ("weight", "input", "output"):
        acts.read(hw.memory(f"sram_{op}"), bits[op])
    acts.dram(bd.dram_bytes)
    return acts


def breakdown_columns(bd: SystolicBreakdown) -> tuple[dict, dict]:
    """Model columns of one layer instance: ``(totals, extra)`` (counts scale with a layer's count)."""
    p = bd.plan
    totals = {"folds": bd.folds, "sram_weight_reads": bd.sram_reads["weight"],
              "sram_input_reads": bd.sram_reads["input"], "sram_output_writes": bd.output_writes,
              "sram_output_reads": bd.output_reads, "dram_weight_bytes": bd.dram_read_bytes["weight"],
              "dram_input_bytes": bd.dram_read_bytes["input"],
              "dram_output_bytes": bd.dram_write_bytes + bd.dram_read_bytes["output"]}
    extra = {"dataflow": p.dataflow, "array": f"{p.rows}x{p.cols}", "row_folds": p.row_folds,
             "col_folds": p.col_folds, "cycles_per_fold": p.cycles_per_fold,
             "mapping_efficiency": bd.mapping_efficiency}
    return totals, extra


def result(bd: SystolicBreakdown, p: SystolicParams, hw: Hardware, *, weight_bits: float,
           metadata_bits: float = 0.0, acts: ActionCounts | None = None, totals: dict | None = None,
           extra: dict | None = None) -> LayerResult:
    """A :class:`LayerResult` on the contract from a breakdown (shared with models built on this array)."""
    acts = actions(bd, p, hw) if acts is None else acts
    tot, ext = breakdown_columns(bd)
    sram_bytes = sum(bd.sram_bits().values()) / 8.0
    return LayerResult(cycles=bd.cycles, freq_hz=p.freq_hz, macs_performed=bd.macs,
                       peak_macs_per_cycle=p.rows * p.cols, losses=bd.losses(), pe_busy=bd.pe_busy(),
                       actions=acts, weight_bits=weight_bits, metadata_bits=metadata_bits,
                       dram_bytes=bd.dram_bytes, sram_bytes=sram_bytes, totals={**tot, **(totals or {})},
                       extra={**ext, **(extra or {})})


@lru_cache(maxsize=8)
def _dense_format(value_bits: int):
    from ..formats import get_format
    return get_format("dense", value_bits=value_bits)


def dense_weight_bits(shape: tuple[int, int], value_bits: int) -> float:
    """Dense storage of a weight matrix, from the ``dense`` format encoder (shape only: every position stored)."""
    return float(_dense_format(value_bits).expected(shape, 1.0).total_bits)


@register
class Systolic(ArchModel):
    name = "systolic"
    description = "dense TPU-like systolic array (os/ws/is), SCALE-Sim's cycles plus a double-buffered memory side"
    Params = SystolicParams

    def hardware(self, p: SystolicParams) -> Hardware:
        return array_hardware(p)

    def simulate(self, lt, p: SystolicParams) -> LayerResult:
        return self._layer(lt.layer, p)

    def simulate_stats(self, ls, p: SystolicParams) -> LayerResult:
        """The dense array never looks at a value: the statistical mode is the trace path on the shapes."""
        return self._layer(ls.layer, p)

    def _layer(self, lay, p: SystolicParams) -> LayerResult:
        bd = layer_breakdown(lay, p)
        return result(bd, p, self.hardware(p), weight_bits=dense_weight_bits((lay.M, lay.K), p.value_bits))
