"""``column_combining``: sparse filter matrices packed into dense ones for an ordinary systolic array.

What it models (Kung, McDanel and Zhang, "Packing Sparse Convolutional Neural
Networks for Efficient Systolic Array Implementations: Column Combining Under
Joint Optimization", ASPLOS 2019, arXiv 1811.04770, Sec. 3-4): the columns of
each layer's filter matrix (rows = filters, columns = the C*R*S input channels
and taps; in our GEMM view the columns of ``W``, M x K) are partitioned into
groups of at most ``alpha`` columns, and each group becomes one *combined*
column. Where a row has more than one nonzero in a group, only the
largest-magnitude weight is kept and the others are pruned (the paper then
retrains; we report the accuracy cost instead of retraining).

Packing (:func:`group_columns`, :func:`pack_columns`) follows the authors'
published code (github.com/BradMcDanel/column-combine, ``packing.py``:
``pack_model`` and ``pack_matrix``; read, not copied), step by step:

1. the columns are cut into sections of ``section_columns`` (256 in
   ``pack_model``) consecutive columns, each packed on its own: a group never
   spans two sections;
2. all-zero columns are dropped (they take no packed column) and all-zero
   rows are ignored (the packed matrix has only the rows with a nonzero);
3. the conflict bound is a number of *pruned weights* per group,
   ``int(gamma x M)`` with M the layer's filters (``overlap = int(overlap_pct
   * B)``); merging two groups costs ``sum over rows of max(n_r - 1, 0)``
   pruned weights, ``n_r`` the nonzeros of the merged group in row r (its
   ``overlap_dist`` on column counts), so gamma is not limited to 1: with
   ``gamma >= 1`` even dense columns combine (the repository's later training
   script defaults to 1.75, its first one and the ASIC comparison to 0.5);
4. a merge is allowed when the merged group has at most ``alpha`` columns
   (``max_paths``) and at most the bound of pruned weights; among allowed
   merges ``pack_matrix`` takes the lowest-index group that has one and merges
   it with the partner that leaves the fewest empty rows in the merged column
   (``density_dist``; the lowest index on ties), and repeats until no merge is
   allowed. Since a group that has no allowed partner never gets one later,
   this is the same as: seed a group with the next unassigned nonzero column
   (in index order), add the later column that covers the most rows the group
   does not yet cover (fewest empty rows), while one fits; then seed the next.
   (The issue text calls it a global best-pair merge; the code merges the
   *first* mergeable group with its best partner.)
5. every cell of a combined column keeps the largest-magnitude weight of its
   row in the group and the index of the channel it came from
   (``fix_mask``, ``gen_control_bits``).

``window`` (ours, default 0 = off) limits the candidates of a group to the
next ``window`` unassigned columns of its section.

The packed matrix (M' x K', M' the rows with a nonzero, K' the groups) runs on
the systolic baseline (:mod:`accelsim.arch.systolic`, weight stationary as in
the paper, Sec. 4: weights and their channel indices sit in the cells, data and
partial sums flow through): each cell multiplexes its input, picking the
channel its weight belongs to out of the group's channels, so the input bus of
every array row carries up to ``alpha`` values (Sec. 4, "multiplexed input
cells"). Folds, cycles (the cycle account of the systolic core), SRAM and DRAM
traffic and stalls come from the systolic core with K' for K and M' for M;
``folds`` is the paper's tile count (``visualization/plot_tiles.py`` counts
``ceil(rows / 64) x ceil(columns / 64)`` tiles of the packed matrix). The
input keeps its nonzero columns' channels (each still read once per column
fold), delivered ``K_nz/K'`` per reduction index on the wider bus.

Energy: the systolic actions on the packed matrix (zero weights in packed
cells are still multiplied: nothing is skipped), plus ``ceil(log2 alpha)``
2:1 multiplexer levels per MAC (``input_mux``, priced as index operations),
the wider input registers between PEs (``input_bus``: ``K_nz/K'`` values
latched per hop) and the channel indices stored, loaded and held with the
weights (``channel_index``, ``ceil(log2 alpha)`` bits each).
``speedup_vs_systolic`` and ``energy_ratio_vs_systolic`` compare with the
plain systolic array (same params) on the unpacked layer.

Columns: ``packed_columns`` (K', summed over groups of a grouped convolution),
``packed_rows`` (M'), ``weights_pruned`` (nonzeros lost to conflicts),
``weights_pruned_fraction`` (of the layer's nonzeros), ``packing_density``
(nonzeros kept per packed cell: the paper's "utilization efficiency"),
``macs_useful`` (MACs on a kept nonzero weight) and ``output_rel_error``,
``||(W - W_packed) X|| / ||W X||`` (Frobenius) on the trace's activations,
measured on up to 64 evenly spaced filters and 64 evenly spaced output
positions (the whole output when the layer is that small).

Statistical mode (:meth:`ColumnCombining.simulate_stats`): packing has no
closed form, so the same kernel packs a bounded sample of the layer drawn
with the trace path's weight generator and pruner (all its rows, whole
sections, up to about a million weights, a few groups of a grouped
convolution), and the packed widths, pruned weights and used rows are scaled
to the layer: sections are packed independently, so whole sections are the
unit of the sample.

Left out, and assumed where the paper is silent or where we could not read it:

* Retraining after packing (the paper's joint optimization) and the paper's
  iterative prune-combine-retrain schedule (``train_prune.py`` prunes to
  ``1 - 0.8 (1 - 1/alpha)`` in ten steps and re-packs after each): packing is
  applied once to the trace's weights, and its accuracy cost is reported as
  the output error. Only the paper's abstract and the authors' code were read
  (the full text was not available); sections and figures are cited from the
  code's plots.
* ``pack_model`` keeps the nonzero rows of the *last* section as the layer's
  rows (a quirk of its loop); we count the rows with a nonzero anywhere.
* The paper's bit-serial cells and its row permutation of the filter matrix
  (cross-layer pipelining) are not modelled; cells are the baseline's 16-bit
  MACs and every layer runs on its own from SRAM and DRAM.
* Input-stationary (``is``) is refused: the multiplexed cell needs the
  weight and its channel index to stay in place or travel together; ``os``
  (weights streaming with their indices) is allowed.
* Grouped convolutions are packed group by group; groups whose packed shapes
  differ run as separate GEMMs back to back (their stalls add). A group with
  no nonzero weight still takes one (empty) column pass.
"""
from __future__ import annotations

import dataclasses
import math
import zlib
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..config import positive
from ..errors import ConfigError, ModelError
from ..hardware import Hardware, Logic, Memory
from ..results import LayerResult
from . import systolic as sy
from .base import ArchModel, register

#: output positions (columns of X) and filters (rows of W) on which output_rel_error is measured
ERROR_POSITIONS = 64
ERROR_ROWS = 64
#: weights drawn per layer by the statistical mode (rounded up to whole sections of all of a group's rows)
STATS_SAMPLE_WEIGHTS = 1 << 20
#: rows beyond which the statistical mode samples rows (with the conflict bound scaled alike)
STATS_MAX_ROWS = 4096


@dataclass
class ColumnCombiningParams(sy.SystolicParams):
    #: most columns combined into one (the paper's alpha; ``max_paths``); 1 disables packing
    alpha: int = field(default=8, metadata={"min": 1, "max": 1024})
    #: pruned weights allowed per group, in units of the layer's filters (``int(gamma x M)``); any value >= 0
    gamma: float = field(default=0.5, metadata={"min": 0.0})
    #: columns per independently packed section (the authors' ``section_size``)
    section_columns: int = positive(256)
    #: candidates examined per group after its seed, within its section (0: all)
    window: int = field(default=0, metadata={"min": 0})
    #: compute output_rel_error (on up to 64 filters x 64 output positions; false leaves it NaN)
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
def _column_bits(w):
    """The nonzeros of each column of a ``rows x cols`` matrix as 64-bit words (``cols x ceil(rows/64)``; bit i
    of word b is row ``64 b + i``), each column's nonzeros and the rows with a nonzero. Built 64 rows at a
    time into one contiguous word per column, branch-free over a row."""
    rows, cols = w.shape
    words = (rows + 63) // 64
    out = np.zeros((cols, words), dtype=np.uint64)
    nnz = np.zeros(cols, dtype=np.int64)
    block = np.zeros(cols, dtype=np.uint64)
    used = 0
    for b in range(words):
        block[:] = 0
        for i in range(b * 64, min(rows, (b + 1) * 64)):
            bit = np.uint64(1) << np.uint64(i - b * 64)
            row_nnz = 0
            for j in range(cols):
                nz = w[i, j] != 0
                block[j] |= bit * np.uint64(nz)
                row_nnz += nz
            if row_nnz:
                used += 1
        for j in range(cols):
            out[j, b] = block[j]
            nnz[j] += _popcount(block[j])
    return out, nnz, used


@njit(cache=True)
def _group_columns(bits, nnz, rows, alpha, bound, section, window):
    """The authors' greedy packing (module docstring, steps 1-4), section by section.

    Returns the member columns ``cols`` (group g is ``cols[ptr[g]:ptr[g+1]]``, seed first) and the
    weights each group prunes. Merging column q into a group prunes one weight in every row where
    both are nonzero (the group already has a nonzero there), and leaves ``nnz[q] - overlap`` fewer
    empty rows: the kernel tracks only the group's occupied rows and its pruned count.
    """
    K, W = bits.shape
    assigned = np.zeros(K, dtype=np.bool_)
    cols = np.empty(K, dtype=np.int64)
    ptr = np.zeros(K + 1, dtype=np.int64)
    pruned_of = np.zeros(K, dtype=np.int64)
    occ = np.empty(W, dtype=np.uint64)
    n_out = 0
    ng = 0
    for s0 in range(0, K, section):
        s1 = min(K, s0 + section)
        for s in range(s0, s1):
            if assigned[s] or nnz[s] == 0:
                continue
            assigned[s] = True
            for w in range(W):
                occ[w] = bits[s, w]
            pruned = 0
            size = 1
            empty = rows - nnz[s]           # rows the group leaves empty
            cols[n_out] = s
            n_out += 1
            while size < alpha:
                best = -1
                best_gain = -1
                best_ov = 0
                seen = 0
                room = bound - pruned
                for q in range(s + 1, s1):
                    if assigned[q] or nnz[q] == 0:
                        continue
                    if window > 0 and seen >= window:
                        break
                    seen += 1
                    if best_gain == empty:          # no column can fill more rows than are empty
                        break
                    if nnz[q] <= best_gain:     # cannot cover more new rows; ties keep the earlier column
                        continue
                    ov = 0
                    for w in range(W):
                        ov += _popcount(occ[w] & bits[q, w])
                        if ov > room:
                            break
                    if ov > room:
                        continue
                    if nnz[q] - ov > best_gain:
                        best_gain = nnz[q] - ov
                        best = q
                        best_ov = ov
                if best < 0:
                    break
                assigned[best] = True
                for w in range(W):
                    occ[w] |= bits[best, w]
                pruned += best_ov
                empty -= best_gain
                size += 1
                cols[n_out] = best
                n_out += 1
            pruned_of[ng] = pruned
            ng += 1
            ptr[ng] = n_out
    return cols[:n_out], ptr[:ng + 1], pruned_of[:ng]


@njit(cache=True)
def _pack(w, cols, ptr):
    """Combined columns: per row the largest-magnitude weight of the group and its channel (first on ties)."""
    M = w.shape[0]
    G = ptr.size - 1
    vals = np.zeros((M, G), dtype=w.dtype)
    idx = np.empty((M, G), dtype=np.int64)
    for m in range(M):          # row by row: the row of w stays in cache
        for g in range(G):
            best = cols[ptr[g]]
            best_abs = -1.0
            for t in range(ptr[g], ptr[g + 1]):
                v = w[m, cols[t]]
                if v != 0 and abs(v) > best_abs:
                    best_abs = abs(v)
                    best = cols[t]
            if best_abs >= 0:
                vals[m, g] = w[m, best]
            idx[m, g] = best
    return vals, idx


@njit(cache=True)
def _dropped_product(w, cols, ptr, xs):
    """``(W - W_packed) @ xs`` without forming ``W - W_packed``: in every row of every group, each nonzero but
    the largest-magnitude one (the first on ties) is a weight the conflict prunes. Returns its squared norm."""
    M = w.shape[0]
    P = xs.shape[1]
    e = np.zeros(P)
    total = 0.0
    for m in range(M):
        e[:] = 0.0
        hit = False
        for g in range(ptr.size - 1):
            if ptr[g + 1] - ptr[g] < 2:
                continue
            best = -1
            best_abs = -1.0
            for t in range(ptr[g], ptr[g + 1]):
                k = cols[t]
                v = w[m, k]
                if v == 0:
                    continue
                if abs(v) > best_abs:
                    if best >= 0:       # the previous best loses
                        k, v, best, best_abs = best, w[m, best], k, abs(v)
                    else:
                        best, best_abs = k, abs(v)
                        continue
                hit = True
                for j in range(P):
                    e[j] += v * xs[k, j]
        if hit:
            for j in range(P):
                total += e[j] * e[j]
    return total


# ---- the packing, as data ---------------------------------------------------------------------

@dataclass
class Grouping:
    """How the columns of one filter matrix (``rows x K``) combine: counts, and the groups themselves."""
    rows: int
    K: int
    cols: np.ndarray               # member columns, group by group (seed first)
    ptr: np.ndarray                # group g is cols[ptr[g]:ptr[g+1]]
    group_pruned: np.ndarray       # weights each group prunes
    bound: int                     # pruned weights a group may have, int(gamma x rows)
    nnz: int                       # nonzeros of the matrix
    rows_used: int                 # rows with a nonzero

    @property
    def packed_columns(self) -> int:
        return self.ptr.size - 1

    @property
    def pruned(self) -> int:
        return int(self.group_pruned.sum())

    @property
    def kept(self) -> int:
        return self.nnz - self.pruned

    @property
    def groups(self) -> list[np.ndarray]:
        return [self.cols[self.ptr[g]:self.ptr[g + 1]] for g in range(self.packed_columns)]

    @property
    def packing_density(self) -> float:
        """Nonzeros kept per packed cell (the paper's "utilization efficiency" of the stored matrix)."""
        cells = self.rows_used * self.packed_columns
        return self.kept / cells if cells else 0.0


@dataclass
class Packing(Grouping):
    """A grouping with the packed matrix: ``values`` and channel ``index`` (both ``rows x K'``)."""
    values: np.ndarray = None      # type: ignore[assignment]
    index: np.ndarray = None       # type: ignore[assignment]

    @property
    def conflicts(self) -> np.ndarray:
        return self.group_pruned

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.K)

    def pruned_matrix(self) -> np.ndarray:
        """``W`` with the conflict losers set to zero (what the packed matrix computes)."""
        out = np.zeros(self.shape, dtype=self.values.dtype)
        rows = np.broadcast_to(np.arange(self.rows)[:, None], self.index.shape)
        keep = self.values != 0
        out[rows[keep], self.index[keep]] = self.values[keep]
        return out

    def multiply(self, x: np.ndarray) -> np.ndarray:
        """The array's product: every cell multiplies its weight by the input channel it selects (float64)."""
        x = np.asarray(x, dtype=np.float64)
        out = np.zeros((self.rows, x.shape[1]), dtype=np.float64)
        v = self.values.astype(np.float64)
        for g in range(self.packed_columns):
            out += v[:, g, None] * x[self.index[:, g]]
        return out


def _check(alpha, gamma, section, window):
    if int(alpha) != alpha or alpha < 1:
        raise ModelError(f"alpha must be a positive integer, got {alpha!r}")
    if not gamma >= 0.0 or not math.isfinite(gamma):
        raise ModelError(f"gamma must be a finite number >= 0, got {gamma!r}")
    if int(section) != section or section < 1:
        raise ModelError(f"section_columns must be a positive integer, got {section!r}")
    if int(window) != window or window < 0:
        raise ModelError(f"window must be an integer >= 0, got {window!r}")


def conflict_bound(gamma: float, rows: int) -> int:
    """Pruned weights a group may have: ``int(gamma x rows)`` (``pack_model``; exact products kept exact)."""
    return int(math.floor(gamma * rows + 1e-9))


def group_columns(w: np.ndarray, alpha: int, gamma: float, section: int = 256, window: int = 0,
                  bound: int | None = None) -> Grouping:
    """Group the columns of filter matrix *w* (rows = filters; only its nonzeros matter) as the authors'
    ``pack_model`` does. *bound* overrides ``int(gamma x rows)`` (the statistical mode samples rows)."""
    w = np.asarray(w)
    if w.ndim != 2 or w.size == 0:
        raise ModelError(f"column combining needs a non-empty 2-D filter matrix, got shape {w.shape}")
    _check(alpha, gamma, section, window)
    rows, K = w.shape
    b = conflict_bound(gamma, rows) if bound is None else int(bound)
    bits, nnz, used = _column_bits(w)
    cols, ptr, pruned = _group_columns(bits, nnz, rows, int(alpha), b, int(section), int(window))
    return Grouping(rows=rows, K=K, cols=cols, ptr=ptr, group_pruned=pruned, bound=b, nnz=int(nnz.sum()),
                    rows_used=int(used))


def pack_columns(w: np.ndarray, alpha: int, gamma: float, window: int = 0, section: int = 256) -> Packing:
    """Column-combine filter matrix *w* (rows = filters, columns = channels): see the module docstring.

    Examples
    --------
    >>> w = np.array([[0, 1, 1, 0], [2, 0, 2, 0], [0, 2, 0, 0], [3, 1, 1, 0], [0, 0, 0, 4]], float)
    >>> p = pack_columns(w, alpha=3, gamma=0.2)        # at most int(0.2 x 5) = 1 pruned weight per group
    >>> [g.tolist() for g in p.groups], p.values[:, 0].tolist(), p.pruned
    ([[0, 1, 3], [2]], [1.0, 2.0, 2.0, 3.0, 4.0], 1)
    """
    w = np.asarray(w)
    gr = group_columns(w, alpha, gamma, section, window)
    vals, idx = _pack(np.ascontiguousarray(w), gr.cols, gr.ptr)
    return Packing(**{f.name: getattr(gr, f.name) for f in dataclasses.fields(Grouping)}, values=vals, index=idx)


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


def _spread(n: int, k: int) -> np.ndarray:
    """Up to *k* evenly spaced indices of ``range(n)`` (all of them when n <= k)."""
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(np.int64))


def _x_columns(lt, pos: np.ndarray):
    """The columns *pos* of every group's ``K x N`` input matrix (im2col for a convolution) without forming the
    whole matrix: rows ordered (c, r, s) and columns (b, p, q) as :func:`accelsim.traces.trace.im2col`."""
    lay = lt.layer
    if not lay.is_conv:
        for g in range(lay.groups):
            yield lt.input[g * lay.K:(g + 1) * lay.K][:, pos]
        return
    x = lt.input
    if lay.pad:
        x = np.pad(x, ((0, 0), (0, 0), (lay.pad, lay.pad), (lay.pad, lay.pad)))
    B, C, _, _ = x.shape
    sb, sc, sh, sw = x.strides
    view = np.lib.stride_tricks.as_strided(x, shape=(C, lay.R, lay.S, B, lay.P, lay.Q),
                                           strides=(sc, sh, sw, sb, sh * lay.stride, sw * lay.stride),
                                           writeable=False)
    b, rest = np.divmod(pos, lay.P * lay.Q)
    p, q = np.divmod(rest, lay.Q)
    cg = C // lay.groups
    for g in range(lay.groups):
        yield view[g * cg:(g + 1) * cg, :, :, b, p, q].reshape(lay.K, pos.size)


def output_rel_error(lt, groupings: list[Grouping], positions: int = ERROR_POSITIONS,
                     rows: int = ERROR_ROWS) -> float:
    """``||(W - W_packed) X||_F / ||W X||_F`` over the layer's groups, on the trace's activations.

    Measured on up to *rows* evenly spaced filters and *positions* evenly spaced output positions
    (exact when the layer is that small): a bounded, deterministic sample of the output. ``W X`` in
    float32, the pruned part accumulated in float64; exactly 0 when nothing was pruned.
    """
    pos = _spread(lt.layer.N, positions)
    num = 0.0
    den = 0.0
    for g, (xs, gr) in enumerate(zip(_x_columns(lt, pos), groupings)):
        w = lt.group_weight(g)
        ws = np.ascontiguousarray(w[_spread(w.shape[0], rows)], dtype=np.float32)
        xs = np.ascontiguousarray(xs, dtype=np.float32)
        den += float(np.sum(np.square(ws @ xs, dtype=np.float64)))
        if gr.pruned:
            num += _dropped_product(ws, gr.cols, gr.ptr, xs.astype(np.float64))
    if num == 0.0:
        return 0.0
    return math.sqrt(num / den) if den > 0 else math.inf


@dataclass(frozen=True)
class PackedLayer:
    """What the array runs for one layer: the packed shape of every group, and the packing's counts."""
    #: (rows used, packed columns, nonzero columns fed) of each group; at least one row and one column
    shapes: tuple[tuple[int, int, float], ...]
    nnz: float
    pruned: float
    max_group_pruned: float
    bound: int

    @classmethod
    def of(cls, groupings: list[Grouping]) -> "PackedLayer":
        return cls(tuple((max(g.rows_used, 1), max(g.packed_columns, 1), float(max(g.cols.size, 1)))
                         for g in groupings),
                   float(sum(g.nnz for g in groupings)), float(sum(g.pruned for g in groupings)),
                   float(max((int(g.group_pruned.max()) if g.group_pruned.size else 0) for g in groupings)),
                   groupings[0].bound)


def _sample_plan(lay, p: ColumnCombiningParams) -> tuple[int, int, int, int]:
    """``(groups drawn, rows drawn, full sections drawn, width of the last partial section)`` for the statistical
    mode: all of a group's rows (up to STATS_MAX_ROWS), whole sections, about STATS_SAMPLE_WEIGHTS weights."""
    rows = min(lay.rows_per_group, STATS_MAX_ROWS)
    n_full, tail = divmod(lay.K, p.section_columns)
    per_section = rows * p.section_columns
    full = min(n_full, max(1, STATS_SAMPLE_WEIGHTS // per_section)) if n_full else 0
    width = full * p.section_columns + tail
    groups = min(lay.groups, max(1, STATS_SAMPLE_WEIGHTS // max(rows * width, 1)))
    return groups, rows, full, tail


def _draw(ls, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A ``rows x cols`` piece of the layer's weights as a trace draws them: generated, then pruned."""
    from ..traces.generate import make_weights
    from ..traces.pruners import prune
    w = make_weights(shape, rng)
    if ls.pattern.kind != "dense" and (ls.weight_density < 1.0 or ls.pattern.kind == "nm"):
        w = prune(w, ls.pattern, ls.weight_density, rng)
    return w


def expected_packing(ls, p: ColumnCombiningParams) -> PackedLayer:
    """The statistical mode's packing: the trace path's weights and pruner on bounded samples, scaled up.

    Two samples, each drawn like a trace (``accelsim.traces.generate.make_weights`` then
    ``accelsim.traces.pruners.prune`` with the layer's pattern and density) and bounded by about
    STATS_SAMPLE_WEIGHTS weights. The packing sample has all of a group's rows (up to STATS_MAX_ROWS) and
    ``full`` whole sections plus the layer's partial last section, and goes through the trace path's
    kernel: a group's packed columns are its sampled full sections' mean times the layer's full
    sections, plus its partial section; its pruned weights, nonzeros and fed columns alike; the sampled
    groups stand for all groups in turn. The row sample has whole rows (all K columns) and gives the
    fraction of filters with a nonzero (a row empty in the sampled sections may not be empty in the
    others).
    """
    lay = ls.layer
    g_s, rows, full, tail = _sample_plan(lay, p)
    width = full * p.section_columns + tail
    rng = np.random.default_rng([int(ls.seed), zlib.crc32(lay.name.encode())])
    w = _draw(ls, (g_s * rows, width), rng)
    used_rows = min(lay.M, max(16, (STATS_SAMPLE_WEIGHTS // 4) // lay.K))
    used = float(np.count_nonzero(_draw(ls, (used_rows, lay.K), rng).any(axis=1))) / used_rows
    n_full = lay.K // p.section_columns
    # the bound counts pruned weights: with sampled rows it scales with them
    bound = conflict_bound(p.gamma, rows)
    row_scale = lay.rows_per_group / rows
    shapes, nnz, pruned, worst = [], 0.0, 0.0, 0.0
    for g in range(g_s):
        piece = w[g * rows:(g + 1) * rows]
        kp = fed = g_nnz = g_pruned = 0.0
        starts = [j * p.section_columns for j in range(full)] + ([full * p.section_columns] if tail else [])
        for j, c0 in enumerate(starts):
            gr = group_columns(piece[:, c0:c0 + p.section_columns], p.alpha, p.gamma, p.section_columns, p.window,
                               bound=bound)
            weight = n_full / full if j < full else 1.0    # a sampled full section stands for n_full / full
            kp += weight * gr.packed_columns
            fed += weight * gr.cols.size
            g_nnz += weight * gr.nnz
            g_pruned += weight * gr.pruned
            worst = max(worst, float(gr.group_pruned.max()) if gr.group_pruned.size else 0.0)
        shapes.append((max(int(round(used * lay.rows_per_group)), 1), max(int(round(kp)), 1), max(fed, 1.0)))
        nnz += g_nnz * row_scale
        pruned += g_pruned * row_scale
    reps = lay.groups / g_s
    return PackedLayer(tuple(shapes[i % g_s] for i in range(lay.groups)), nnz * reps, pruned * reps,
                       worst * row_scale, conflict_bound(p.gamma, lay.rows_per_group))


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
        groupings = [group_columns(lt.group_weight(g), p.alpha, p.gamma, p.section_columns, p.window)
                     for g in range(lt.layer.groups)]
        res = self._result(lt.layer, p, PackedLayer.of(groupings))
        res.extra["output_rel_error"] = output_rel_error(lt, groupings) if p.output_error else math.nan
        return res

    def simulate_stats(self, ls, p: ColumnCombiningParams) -> LayerResult:
        """Expected packing from a bounded sample of the layer (:func:`expected_packing`); no activations, so
        ``output_rel_error`` is NaN."""
        res = self._result(ls.layer, p, expected_packing(ls, p))
        res.extra["output_rel_error"] = math.nan
        return res

    def _result(self, lay, p: ColumnCombiningParams, pk: PackedLayer) -> LayerResult:
        """The packed layer on the array, with the plain array on the unpacked layer beside it."""
        hw = self.hardware(p)
        ib = _index_bits(p.alpha)
        kept = pk.nnz - pk.pruned
        # groups of a grouped convolution with the same packed shape run as one repeated GEMM; each packed
        # column carries its group's nonzero columns (channels) on the input bus
        shapes: dict[tuple[int, int], list[float]] = {}
        for mp, kp, fed in pk.shapes:
            shapes.setdefault((mp, kp), []).append(fed)
        mem_base = sy.memory_spec(p, lay)
        bds = []
        for (mp, kp), feds in shapes.items():
            mem = dataclasses.replace(mem_base, input_width=float(np.mean(feds)) / kp, weight_meta_bits=ib)
            bds.append(sy.systolic_gemm(mp, kp, lay.N, p.rows, p.cols, p.dataflow, groups=len(feds), memory=mem))
        bd = _combine(bds)
        acts = sy.actions(bd, p, hw)
        if ib:
            # every MAC selects its input through ceil(log2 alpha) levels of 2:1 multiplexers
            acts.index(bd.macs * ib, component="input_mux")
        kp_total = sum(kp for _, kp, _ in pk.shapes)
        cells = sum(mp * kp for mp, kp, _ in pk.shapes)
        totals = {"packed_columns": kp_total, "packed_rows": sum(mp for mp, _, _ in pk.shapes),
                  "unpacked_columns": lay.K * lay.groups, "weights_pruned": pk.pruned, "macs_useful": kept * lay.N}
        extra = {"alpha": p.alpha, "gamma": p.gamma, "column_reduction": lay.K * lay.groups / kp_total,
                 "max_group_conflicts": pk.max_group_pruned, "conflict_bound": pk.bound,
                 "weights_pruned_fraction": pk.pruned / pk.nnz if pk.nnz else 0.0,
                 # nonzeros kept per packed cell: the paper's "utilization efficiency" of the packed matrix
                 "packing_density": kept / cells if cells else 0.0}
        # the packed matrix is stored densely, each weight with its channel index
        weight_bits = sum(sy.dense_weight_bits((mp, kp), p.value_bits) for mp, kp, _ in pk.shapes)
        res = sy.result(bd, p, hw, weight_bits=weight_bits, metadata_bits=float(cells * ib), acts=acts,
                        totals=totals, extra=extra)
        # the plain array on the unpacked layer; the runner prices it with the config's table and adds
        # systolic_cycles, systolic_energy_pj, speedup_vs_systolic and energy_ratio_vs_systolic
        base = sy.layer_breakdown(lay, p)
        res.baselines["systolic"] = sy.result(base, p, hw, weight_bits=sy.dense_weight_bits(lay.weight_shape,
                                                                                            p.value_bits))
        return res
