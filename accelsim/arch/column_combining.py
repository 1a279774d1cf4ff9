"""``column_combining``: sparse filter matrices packed into dense ones for an ordinary systolic array.

What it models (Kung, McDanel and Zhang, "Packing Sparse Convolutional Neural
Networks for Efficient Systolic Array Implementations: Column Combining Under
Joint Optimization", ASPLOS 2019, Sec. 3-4): the columns of each layer's
filter matrix (rows = filters, columns = the C*R*S input channels and taps; in
our GEMM view the columns of ``W``, M x K) are partitioned into groups of at
most ``alpha`` columns, and each group becomes one *combined* column. A row
where more than one column of a group is nonzero is a *conflict*: only the
largest-magnitude weight is kept and the others are pruned (the paper then
retrains; we report the accuracy cost instead of retraining). A group may hold
at most ``gamma x rows`` conflicting rows (the limited-conflict condition).

Packing, as implemented (:func:`pack_columns`):

1. columns are considered densest first (most nonzeros; ties by index), so a
   dense column seeds a group and sparse ones fill its empty rows;
2. the first unassigned column seeds a new group; the group then repeatedly
   takes, among the unassigned columns after the seed in that order (only the
   next ``window`` of them when ``window > 0``), the one with the least
   overlap with the group (the fewest rows where both are nonzero: the weights
   it would cost), the denser (earlier) one on ties, provided the group stays within
   ``gamma x rows`` conflicting rows; it closes at ``alpha`` columns or when
   no candidate fits;
3. every cell of a combined column keeps the largest-magnitude weight of its
   row in the group and the index of the channel it came from.

The packed matrix (M x K' with K' the number of groups) runs on the systolic
baseline (:mod:`accelsim.arch.systolic`, weight stationary as in the paper,
Sec. 4: weights and their channel indices sit in the cells, data and partial
sums flow through): each cell multiplexes its input, picking the channel its
weight belongs to out of the group's channels, so the input bus of every array
row carries up to ``alpha`` values (Sec. 4, "multiplexed input cells"). Folds,
cycles, SRAM and DRAM traffic and stalls come from the systolic core with K'
for K; the input operand keeps its K channels (each still read once per
column fold), delivered ``K/K'`` per reduction index on the wider bus.

Energy: the systolic actions on the packed matrix (zero weights in packed
cells are still multiplied: nothing is skipped), plus ``ceil(log2 alpha)``
2:1 multiplexer levels per MAC (``energy_mux_pj``, priced as index
operations), the wider input registers between PEs (``K/K'`` values latched
per hop) and the channel indices stored and loaded with the weights
(``ceil(log2 alpha)`` bits each). ``speedup_vs_systolic`` and
``energy_ratio_vs_systolic`` compare with the plain systolic array (same
params) on the unpacked layer.

Accuracy columns: ``packed_columns`` (K', summed over groups of a grouped
convolution), ``weights_pruned`` (nonzeros lost to conflicts),
``weights_pruned_fraction`` (of the layer's nonzeros) and
``output_rel_error``, ``||(W - W_packed) X|| / ||W X||`` (Frobenius) on the
trace's activations.

Left out, and assumed where the paper is silent or where we could not read it:

* Retraining after packing (the paper's joint optimization) and the paper's
  iterative prune-combine-retrain schedule: packing is applied once to the
  trace's weights, and its accuracy cost is reported as the output error.
* The column order and the candidate window follow the description above;
  only the paper's abstract could be consulted while writing this model, so
  the densest-first order, the least-overlap rule and ``window`` (default 0,
  unlimited) are our reading, not a verified transcription of its algorithm.
* Conflicts are counted as conflicting rows (the issue's definition); the
  bound is ``floor(gamma x rows)``. The paper's bit-serial cells and its
  row-permutation of the filter matrix are not modelled; cells are the 16-bit
  MACs of the baseline.
* Input-stationary (``is``) is refused: the multiplexed cell needs the
  weight and its channel index to stay in place or travel together; ``os``
  (weights streaming with their indices) is allowed.
* Grouped convolutions are packed group by group; groups whose packed widths
  differ run as separate GEMMs back to back (their stalls add).
* ``energy_ratio_vs_systolic`` (systolic energy / ours, above 1 when packing
  saves energy) is priced by the runner with the config's own table.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..errors import ConfigError, ModelError
from ..hardware import Hardware, Logic, Memory
from ..results import LayerResult
from . import systolic as sy
from .base import ArchModel, register


@dataclass
class ColumnCombiningParams(sy.SystolicParams):
    #: most columns combined into one (the paper's alpha); 1 disables packing
    alpha: int = field(default=8, metadata={"min": 1, "max": 1024})
    #: most conflicting rows per group, as a fraction of the rows (the paper's gamma)
    gamma: float = field(default=0.5, metadata={"min": 0.0, "max": 1.0})
    #: candidates examined per group after its seed (0: all unassigned columns)
    window: int = field(default=0, metadata={"min": 0})
    #: compute output_rel_error (two products of the layer's size; false leaves it NaN)
    output_error: bool = True

    def validate(self):
        if self.dataflow == "is":
            raise ConfigError("'params.dataflow' must be ws or os for column combining: input-stationary cells "
                              "cannot multiplex a streaming weight's channel")


# ---- packing kernels ---------------------------------------------------------------------------

@njit(cache=True, inline="always")
def _popcount(x):
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return int((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True)
def _column_bits(mask):
    """Each column of a boolean ``rows x cols`` matrix as 64-bit words: ``cols x ceil(rows/64)``."""
    rows, cols = mask.shape
    words = (rows + 63) // 64
    out = np.zeros((cols, words), dtype=np.uint64)
    for i in range(rows):
        w = i // 64
        bit = np.uint64(1) << np.uint64(i % 64)
        for j in range(cols):
            if mask[i, j]:
                out[j, w] |= bit
    return out


@njit(cache=True)
def _group_columns(bits, order, alpha, max_conflicts, window):
    """Greedy groups (see the module docstring): member columns in ``cols``, group g is ``cols[ptr[g]:ptr[g+1]]``."""
    K, W = bits.shape
    assigned = np.zeros(K, dtype=np.bool_)
    cols = np.empty(K, dtype=np.int64)
    ptr = np.zeros(K + 1, dtype=np.int64)
    occ = np.empty(W, dtype=np.uint64)
    conf = np.empty(W, dtype=np.uint64)
    n_out = 0
    ng = 0
    for s in range(K):
        if assigned[s]:
            continue
        assigned[s] = True
        seed = order[s]
        for w in range(W):
            occ[w] = bits[seed, w]
            conf[w] = np.uint64(0)
        nconf = 0
        size = 1
        cols[n_out] = seed
        n_out += 1
        while size < alpha:
            best = -1
            best_ov = 1 << 62
            seen = 0
            for q in range(s + 1, K):
                if assigned[q]:
                    continue
                if window > 0 and seen >= window:
                    break
                seen += 1
                c = order[q]
                ov = 0
                new = 0
                for w in range(W):
                    x = occ[w] & bits[c, w]
                    ov += _popcount(x)
                    if ov >= best_ov:      # cannot beat the best candidate so far
                        break
                    new += _popcount(x & ~conf[w])
                    if nconf + new > max_conflicts:
                        break
                if ov < best_ov and nconf + new <= max_conflicts:
                    best_ov = ov
                    best = q
                    if ov == 0:
                        break
            if best < 0:
                break
            assigned[best] = True
            c = order[best]
            nconf = 0
            for w in range(W):
                conf[w] |= occ[w] & bits[c, w]
                occ[w] |= bits[c, w]
                nconf += _popcount(conf[w])
            cols[n_out] = c
            n_out += 1
            size += 1
        ng += 1
        ptr[ng] = n_out
    return cols, ptr[:ng + 1]


@njit(cache=True)
def _pack(w, cols, ptr):
    """Combined columns: per row the largest-magnitude weight of the group and its channel (first on ties)."""
    M = w.shape[0]
    G = ptr.size - 1
    vals = np.zeros((M, G), dtype=w.dtype)
    idx = np.empty((M, G), dtype=np.int64)
    conflicts = np.zeros(G, dtype=np.int64)
    pruned = 0
    for m in range(M):          # row by row: the row of w stays in cache
        for g in range(G):
            best = cols[ptr[g]]
            best_abs = -1.0
            n = 0
            for t in range(ptr[g], ptr[g + 1]):
                k = cols[t]
                v = w[m, k]
                if v != 0:
                    n += 1
                    if abs(v) > best_abs:
                        best_abs = abs(v)
                        best = k
            if n > 1:
                conflicts[g] += 1
                pruned += n - 1
            if n > 0:
                vals[m, g] = w[m, best]
            idx[m, g] = best
    return vals, idx, conflicts, pruned


# ---- the packing, as data ---------------------------------------------------------------------

@dataclass
class Packing:
    """A filter matrix ``W`` (M x K) packed into ``values`` (M x K') with channel ``index`` (M x K')."""
    shape: tuple[int, int]
    groups: list[np.ndarray]
    values: np.ndarray
    index: np.ndarray
    conflicts: np.ndarray          # conflicting rows per group
    max_conflicts: int             # the bound floor(gamma x rows)
    nnz: int                       # nonzeros of W
    pruned: int                    # nonzeros lost to conflicts

    @property
    def packed_columns(self) -> int:
        return self.values.shape[1]

    @property
    def kept(self) -> int:
        return self.nnz - self.pruned

    @property
    def packing_density(self) -> float:
        """Nonzeros per packed cell (the paper's utilization efficiency of the stored matrix)."""
        cells = self.values.size
        return self.kept / cells if cells else 0.0

    def pruned_matrix(self) -> np.ndarray:
        """``W`` with the conflict losers set to zero (what the packed matrix computes)."""
        out = np.zeros(self.shape, dtype=self.values.dtype)
        rows = np.broadcast_to(np.arange(self.shape[0])[:, None], self.index.shape)
        keep = self.values != 0
        out[rows[keep], self.index[keep]] = self.values[keep]
        return out

    def multiply(self, x: np.ndarray) -> np.ndarray:
        """The array's product: every cell multiplies its weight by the input channel it selects (float64)."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros((self.shape[0], x.shape[1]), dtype=np.float64)
        v = self.values.astype(np.float64)
        for g in range(self.packed_columns):
            out += v[:, g, None] * x[self.index[:, g]]
        return out


def pack_columns(w: np.ndarray, alpha: int, gamma: float, window: int = 0) -> Packing:
    """Column-combine filter matrix *w* (rows = filters, columns = channels): see the module docstring.

    Examples
    --------
    >>> w = np.array([[0, 1, 1, 0], [2, 0, 2, 0], [0, 2, 0, 0], [3, 1, 1, 0], [0, 0, 0, 4]], float)
    >>> p = pack_columns(w, alpha=3, gamma=0.2)
    >>> p.values[:, 0].tolist(), p.packed_columns, p.pruned
    ([1.0, 2.0, 2.0, 3.0, 4.0], 2, 1)
    """
    w = np.asarray(w)
    if w.ndim != 2 or w.size == 0:
        raise ModelError(f"column combining needs a non-empty 2-D filter matrix, got shape {w.shape}")
    if int(alpha) != alpha or alpha < 1:
        raise ModelError(f"alpha must be a positive integer, got {alpha!r}")
    if not 0.0 <= gamma <= 1.0:
        raise ModelError(f"gamma must be in [0, 1], got {gamma!r}")
    mask = np.ascontiguousarray(w != 0)
    nnz_col = mask.sum(axis=0)
    order = np.argsort(-nnz_col, kind="stable").astype(np.int64)
    bound = int(math.floor(gamma * w.shape[0] + 1e-9))
    cols, ptr = _group_columns(_column_bits(mask), order, int(alpha), bound, int(window))
    vals, idx, conflicts, pruned = _pack(np.ascontiguousarray(w), cols, ptr)
    groups = [cols[ptr[g]:ptr[g + 1]] for g in range(ptr.size - 1)]
    return Packing(shape=tuple(w.shape), groups=groups, values=vals, index=idx, conflicts=conflicts,
                   max_conflicts=bound, nnz=int(nnz_col.sum()), pruned=int(pruned))


# ---- the model ----------------------------------------------------------------------------------

def _index_bits(alpha: int) -> int:
    return int(math.ceil(math.log2(alpha))) if alpha > 1 else 0


def _combine(bds: list[sy.SystolicBreakdown]) -> sy.SystolicBreakdown:
    """GEMMs run back to back: counts and losses add; SCALE-Sim's 0-based last cycle is taken once."""
    if len(bds) == 1:
        return bds[0]
    first = bds[0]
    total = lambda key: sum(getattr(b, key) for b in bds)  # noqa: E731
    return dataclasses.replace(
        first, groups=total("groups"), macs=total("macs"), stream_cycles=total("stream_cycles"),
        fragmentation=total("fragmentation"), tile_quantization=total("tile_quantization"),
        fill_drain=total("fill_drain"), stationary_load=total("stationary_load"),
        index_offset=max(b.index_offset for b in bds), stall_cycles=total("stall_cycles"),
        mapping_efficiency=float(np.average([b.mapping_efficiency for b in bds], weights=[b.folds for b in bds])),
        sram_reads={k: sum(b.sram_reads[k] for b in bds) for k in first.sram_reads},
        output_writes=total("output_writes"), output_reads=total("output_reads"),
        dram_read_bytes={k: sum(b.dram_read_bytes[k] for b in bds) for k in first.dram_read_bytes},
        dram_write_bytes=total("dram_write_bytes"), rf_bits=total("rf_bits"), bus_bits=total("bus_bits"),
        index_bits=total("index_bits"))


def output_rel_error(lt, packings: list[Packing]) -> float:
    """``||(W - W_packed) X||_F / ||W X||_F`` over the layer's groups, on the trace's activations.

    Products in float32, norms accumulated in float64; exactly 0 when nothing was pruned.
    """
    num = 0.0
    den = 0.0
    for (w, x), pk in zip(lt.gemms(), packings):
        x = np.asarray(x, dtype=np.float32)
        y = np.asarray(w, dtype=np.float32) @ x
        den += float(np.sum(np.square(y, dtype=np.float64)))
        if pk.pruned:
            d = np.asarray(w, dtype=np.float32) - pk.pruned_matrix().astype(np.float32)
            cols = np.flatnonzero(np.any(d != 0, axis=0))
            e = d[:, cols] @ x[cols]
            num += float(np.sum(np.square(e, dtype=np.float64)))
    if num == 0.0:
        return 0.0
    return math.sqrt(num / den) if den > 0 else math.inf


@register
class ColumnCombining(ArchModel):
    name = "column_combining"
    description = "column combining (Kung et al., ASPLOS 2019): sparse columns packed for a systolic array"
    Params = ColumnCombiningParams

    def hardware(self, p: ColumnCombiningParams) -> Hardware:
        """The systolic array plus what multiplexed cells add (Sec. 4, "multiplexed input cells").

        Every cell holds its weight's channel index (``ceil(log2 alpha)`` bits, ``channel_index``), picks its
        input out of the ``alpha`` channels of its group with an ``alpha:1`` multiplexer of ``value_bits``
        (``alpha - 1`` two-input multiplexer bits per value bit, ``input_mux``), and forwards the whole
        ``alpha``-value input bus to its neighbour, so its input register is ``alpha`` values wide instead
        of one (``alpha - 1`` extra values, ``input_bus``). The weight SRAM holds each packed weight with its
        channel index. With ``alpha = 1`` this is the plain array.
        """
        cells = p.rows * p.cols
        extra = p.alpha - 1
        ib = _index_bits(p.alpha)
        memories: list[Memory] = []
        logic: list[Logic] = []
        if ib:
            memories.append(Memory("channel_index", "rf", ib / 8, count=cells, width_bits=ib,
                                   operands=("indices",)))
        if extra:
            memories.append(Memory("input_bus", "rf", extra * p.value_bits / 8, count=cells,
                                   width_bits=extra * p.value_bits, operands=("inputs",)))
            logic.append(Logic("input_mux", "mux", cells * extra * p.value_bits))
        return sy.array_hardware(p, tuple(memories), tuple(logic),
                                 weight_operands=("weights", "indices") if ib else ("weights",))

    def simulate(self, lt, p: ColumnCombiningParams) -> LayerResult:
        lay = lt.layer
        packings = [pack_columns(lt.group_weight(g), p.alpha, p.gamma, p.window) for g in range(lay.groups)]
        res = self._result(lay, p, [pk.packed_columns for pk in packings],
                           nnz=sum(pk.nnz for pk in packings), pruned=sum(pk.pruned for pk in packings),
                           max_conflicts=max(int(pk.conflicts.max()) for pk in packings),
                           bound=packings[0].max_conflicts)
        res.extra["output_rel_error"] = output_rel_error(lt, packings) if p.output_error else math.nan
        return res

    def _result(self, lay, p: ColumnCombiningParams, packed: list[int], *, nnz: float, pruned: float,
                max_conflicts: float, bound: int) -> LayerResult:
        """The packed layer (``packed[g]`` columns for group g) on the array, with the plain array beside it."""
        hw = self.hardware(p)
        ib = _index_bits(p.alpha)
        # groups of a grouped convolution with the same packed width run as one repeated GEMM
        widths: dict[int, int] = {}
        for kp in packed:
            widths[kp] = widths.get(kp, 0) + 1
        mem_base = sy.memory_spec(p, lay)
        bds = []
        for kp, count in widths.items():
            mem = dataclasses.replace(mem_base, input_width=lay.K / kp, weight_meta_bits=ib)
            bds.append(sy.systolic_gemm(lay.rows_per_group, kp, lay.N, p.rows, p.cols, p.dataflow, groups=count,
                                        memory=mem))
        bd = _combine(bds)
        acts = sy.actions(bd, p, hw)
        if ib:
            # every MAC selects its input through ceil(log2 alpha) levels of 2:1 multiplexers
            acts.index(bd.macs * ib, component="input_mux")
        kp_total = sum(packed)
        kept = nnz - pruned
        cells = lay.rows_per_group * kp_total
        totals = {"packed_columns": kp_total, "unpacked_columns": lay.K * lay.groups, "weights_pruned": pruned,
                  "macs_useful": kept * lay.N}
        extra = {
            "alpha": p.alpha, "gamma": p.gamma, "column_reduction": lay.K * lay.groups / kp_total,
            "max_group_conflicts": max_conflicts, "conflict_bound": bound,
            "weights_pruned_fraction": pruned / nnz if nnz else 0.0,
            # nonzeros kept per packed cell: the paper's "utilization efficiency" of the packed matrix
            "packing_density": kept / cells if cells else 0.0,
        }
        # the packed matrix is stored densely, each weight with its channel index
        weight_bits = sum(sy.dense_weight_bits((lay.rows_per_group, kp), p.value_bits) for kp in packed)
        res = sy.result(bd, p, hw, weight_bits=weight_bits, metadata_bits=float(cells * ib), acts=acts,
                        totals=totals, extra=extra)
        # the plain array on the unpacked layer; the runner prices it with the config's table and adds
        # systolic_cycles, systolic_energy_pj, speedup_vs_systolic and energy_ratio_vs_systolic
        base = sy.layer_breakdown(lay, p)
        res.baselines["systolic"] = sy.result(base, p, hw, weight_bits=sy.dense_weight_bits(lay.weight_shape,
                                                                                            p.value_bits))
        return res
