"""``sigma``: SIGMA, a sparse and irregular GEMM accelerator with flexible interconnects.

What it models (Qin et al., "SIGMA: A Sparse and Irregular GEMM Accelerator
with Flexible Interconnects for DNN Training", HPCA 2020, Sec. III-IV): a
Flex-DPU of ``dpes`` Flex-DPEs, each ``dpe_size`` multipliers fed by a Benes
distribution network and drained by a Forwarding Adder Network (FAN). Both
operands are stored as bitmaps (Sec. IV-A). One operand is *stationary*: its
nonzeros sit in the multipliers; the other *streams*, one vector per cycle,
each multiplier receiving the streaming element that meets its stationary
value. Per fold the model follows the paper's steps (Sec. IV-C):

1. bitmap logic: the stationary operand's bitmap is ANDed with the OR of the
   streaming operand's bitmap over the streamed vectors, so only *useful*
   stationary nonzeros (those that will meet at least one streaming nonzero)
   are mapped;
2. the useful nonzeros are packed contiguously, row after row, onto the
   multipliers; a fold is one array-full (``dpes * dpe_size``); a row that does
   not fit is continued in the next fold (its partial sums accumulate in the
   output buffer) and a row longer than a Flex-DPE spans several of them;
3. stationary load: ``ceil(values / dist_bw)`` cycles through the Benes network;
4. streaming: one streaming vector per cycle;
5. reduction: every row piece in the fold is one dot-product cluster; the FAN
   reduces all variable-sized clusters in one pass, the fold's latency being
   ``ceil(log2(largest cluster))`` adder levels.

Fold cycles are load + streaming + reduction, summed over folds (the paper
times the three phases back to back). Both dataflows are modelled
(``dataflow: ws`` weights stationary, ``is`` inputs stationary) and
``best`` (the default) reports the faster, as the paper does.

Operand naming. accelsim's GEMM view is ``W (M x K) @ X (K x N)``. The paper
writes GEMMs as M-N-K with an ``MK`` matrix times a ``KN`` matrix giving
``MN``: its MK is our W, its KN our X, and the letters mean the same thing,
so the paper's shape ``M-N-K`` is ``gemm:MxNxK`` here unchanged. Weights
stationary (``ws``) holds W (rows m, clusters over k) and streams the N
columns of X; inputs stationary (``is``) holds X^T (rows n) and streams the M
rows of W.

Two paths share the fold logic (:func:`_fold_walk`): the trace path takes
both operands' bitmaps (the formats encoder named in the config gives their
storage), computes the per-row useful counts with numba kernels and walks the
folds; the density path (:func:`estimate`) takes only shape and densities,
draws the per-row useful counts from their distribution under uniform
sparsity (hypergeometric draws of nonzeros per K index and per row, ANDed
and ORed as the bitmaps are) and walks the same folds. It needs memory for one integer per
row, so it runs the paper's largest shapes (1024-16-500000 has 5e8 weights)
that no trace on this machine could hold.

Energy from action counts: multiplications (effectual only: a multiplier
whose streaming partner is zero receives nothing), Benes switch traversals
(``2 log2(dpe_size) - 1`` stages per delivered word, for stationary loads and
streamed deliveries), FAN additions (``values - clusters`` per streamed
vector), partial-sum accumulation for rows split across folds, SRAM reads by
operand (stationary values and bitmap once; the streaming operand once per
fold, pro rata of the K range the fold covers), output writes, bitmap logic
(64-bit word operations over both bitmaps) and DRAM (each operand and the
output once).

What it leaves out, and assumptions where the paper is silent (to our reading):

* DRAM bandwidth: operands are assumed on chip (the paper's evaluation is
  compute only); DRAM bytes are counted for energy, not for cycles.
* Phases do not overlap (no double-buffered stationary loading).
* A streaming vector that is entirely zero where the stationary operand has
  nonzeros is skipped (the controller sees it in the bitmaps); vectors are not
  skipped per fold.
* The streaming side delivers one vector per cycle whatever its width (the
  paper's streaming rate); only the stationary load is limited by ``dist_bw``.
* ``dist_bw`` defaults to 128 words/cycle, the operand bandwidth at one edge
  of the 128 x 128 TPU-like array it is compared with (assumed).
* Benes multicast is counted per destination (an upper bound on switch
  activity); FAN additions are counted for every mapped value, zero products
  included (the FAN does not gate by value).
* Grouped and depthwise convolutions run as one block-diagonal GEMM (rows of
  a group only meet that group's K indices).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numba import njit

from ..config import positive
from ..energy import ActionCounts
from ..errors import ConfigError, ModelError
from ..results import LayerResult
from .base import ArchModel, register

DATAFLOWS = ("best", "ws", "is")
#: bits the bitmap logic handles per operation (a 64-bit AND/OR/popcount word)
_BITMAP_WORD_BITS = 64


@dataclass
class SigmaParams:
    #: Flex-DPEs in the Flex-DPU (Sec. IV; 128 in the evaluated instance)
    dpes: int = positive(128)
    #: multipliers per Flex-DPE (128 in the evaluated instance); a power of two
    dpe_size: int = positive(128)
    #: stationary values the Benes network delivers per cycle (assumed: one TPU edge, 128)
    dist_bw: int = positive(128)
    #: best (faster of the two, as the paper reports), ws (weights stationary), is (inputs stationary)
    dataflow: Literal["best", "ws", "is"] = "best"
    freq_hz: float = positive(500e6)
    value_bits: int = field(default=16, metadata={"min": 1, "max": 64})
    #: storage formats of the operands (accelsim.formats names); SIGMA stores both as bitmaps
    weight_format: str = "bitmap"
    input_format: str = "bitmap"
    #: extra parameters for both format encoders (value_bits is passed from above)
    format_params: dict = field(default_factory=dict)
    #: on-chip data SRAM capacity (prices its accesses)
    sram_bytes: int = positive(16 << 20)
    #: DRAM bytes per cycle; 0 (default, as the paper's compute-focused evaluation) leaves DRAM out of the
    #: cycle count; set it to bound a layer by moving its compressed operands and outputs once
    dram_bytes_per_cycle: float = field(default=0.0, metadata={"min": 0})

    def validate(self):
        if self.dpe_size & (self.dpe_size - 1):
            raise ConfigError(f"'params.dpe_size' must be a power of two (Benes and FAN are radix-2), "
                              f"got {self.dpe_size}")
        if self.dataflow not in DATAFLOWS:
            raise ConfigError(f"'params.dataflow' must be one of {', '.join(DATAFLOWS)}, got {self.dataflow!r}")
        if not isinstance(self.format_params, dict):
            raise ConfigError(f"'params.format_params' must be a mapping, got {self.format_params!r}")
        for key in ("weight_format", "input_format"):
            _format(self, getattr(self, key), key)

    @property
    def multipliers(self) -> int:
        return self.dpes * self.dpe_size


def _format(p: SigmaParams, name: str, key: str = "weight_format"):
    from ..errors import FormatError
    from ..formats import get_format
    try:
        return get_format(name, **{"value_bits": p.value_bits, **p.format_params})
    except FormatError as e:
        raise ConfigError(f"'params.{key}': {e}") from None


# ---- numba kernels: bitmaps in, per-row counts out --------------------------------------------

@njit(cache=True)
def _row_any(mask):
    """For each row of a boolean matrix: does it hold a nonzero? (early exit per row)"""
    rows, cols = mask.shape
    out = np.zeros(rows, dtype=np.bool_)
    for i in range(rows):
        for j in range(cols):
            if mask[i, j]:
                out[i] = True
                break
    return out


@njit(cache=True)
def _col_any_into(mask, out):
    """OR each column of *mask* into ``out`` (walks rows in memory order)."""
    rows, cols = mask.shape
    for i in range(rows):
        for j in range(cols):
            if mask[i, j]:
                out[j] = True


@njit(cache=True)
def _row_counts_masked(mask, keep):
    """Nonzeros of each row of *mask* at the columns where ``keep`` is set (bitmap AND, popcount)."""
    rows, cols = mask.shape
    out = np.zeros(rows, dtype=np.int64)
    for i in range(rows):
        c = 0
        for j in range(cols):
            if mask[i, j] and keep[j]:
                c += 1
        out[i] = c
    return out


@njit(cache=True)
def _col_counts_masked_into(mask, keep, out):
    """Add to ``out[j]`` the nonzeros of column j of *mask* at the rows where ``keep`` is set."""
    rows, cols = mask.shape
    for i in range(rows):
        if keep[i]:
            for j in range(cols):
                if mask[i, j]:
                    out[j] += 1


@njit(cache=True)
def _fold_walk(counts, P, dpe):
    """Pack per-row useful nonzero counts onto ``P`` multipliers, row after row.

    Returns per-fold arrays: values mapped, clusters (row pieces), largest
    cluster, covered fraction of the rows' K ranges (sum of piece / row
    length), pieces continuing a row from an earlier fold, and extra pieces
    from clusters crossing Flex-DPE boundaries.
    """
    total = 0
    for r in range(counts.shape[0]):
        total += counts[r]
    nf = (total + P - 1) // P
    vals = np.zeros(nf, dtype=np.int64)
    clusters = np.zeros(nf, dtype=np.int64)
    maxc = np.zeros(nf, dtype=np.int64)
    span = np.zeros(nf, dtype=np.float64)
    cont = np.zeros(nf, dtype=np.int64)
    xdpe = np.zeros(nf, dtype=np.int64)
    pos = 0
    for r in range(counts.shape[0]):
        c = counts[r]
        done = 0
        while done < c:
            f = pos // P
            off = pos - f * P
            take = min(c - done, P - off)
            vals[f] += take
            clusters[f] += 1
            if take > maxc[f]:
                maxc[f] = take
            span[f] += take / c
            if done > 0:
                cont[f] += 1
            xdpe[f] += (off + take - 1) // dpe - off // dpe
            done += take
            pos += take
    return vals, clusters, maxc, span, cont, xdpe


# ---- the per-dataflow cost, shared by both paths ----------------------------------------------

@dataclass
class _Side:
    """One dataflow's view: what is stationary, what streams, and the per-row useful counts."""
    name: str                 # "ws" or "is"
    counts: np.ndarray        # useful stationary nonzeros per stationary row
    stream_len: int           # streaming vectors that meet at least one stationary nonzero
    stat_elems: float         # stationary matrix positions (its bitmap bits)
    stream_elems: float       # streaming matrix positions
    stream_nnz: float         # streaming matrix nonzeros


@dataclass
class _Cost:
    side: _Side
    folds: int
    load: int
    stream: int
    reduce: int
    values: int
    fan_adds: float
    accum_adds: float
    xdpe_pieces: int
    stream_span: float        # sum over folds of the covered K fraction (streaming reads)
    last_fold_values: int

    @property
    def cycles(self) -> int:
        return self.load + self.stream + self.reduce


def _ceil_log2(x: np.ndarray) -> np.ndarray:
    """Exact ``ceil(log2 x)`` for positive integers (0 for 1)."""
    x = np.asarray(x, dtype=np.int64)
    out = np.zeros(x.shape, dtype=np.int64)
    v = x - 1
    while np.any(v > 0):
        out += v > 0
        v >>= 1
    return out


def _cost(side: _Side, p: SigmaParams) -> _Cost:
    P = p.multipliers
    vals, clusters, maxc, span, cont, xdpe = _fold_walk(np.ascontiguousarray(side.counts, dtype=np.int64),
                                                        P, p.dpe_size)
    folds = int(vals.size)
    L = int(side.stream_len)
    load = int(np.sum((vals + p.dist_bw - 1) // p.dist_bw))
    red = int(np.sum(_ceil_log2(maxc))) if folds else 0
    return _Cost(side=side, folds=folds, load=load, stream=folds * L, reduce=red, values=int(vals.sum()),
                 fan_adds=float(np.sum(vals - clusters)) * L, accum_adds=float(cont.sum()) * L,
                 xdpe_pieces=int(xdpe.sum()), stream_span=float(np.minimum(span, 1.0).sum()),
                 last_fold_values=int(vals[-1]) if folds else 0)


def _choose(sides: list[_Side], p: SigmaParams) -> tuple[_Cost, dict[str, int]]:
    costs = {s.name: _cost(s, p) for s in sides}
    if p.dataflow == "best":
        # the faster; a tie goes to weights stationary (the paper's default mapping)
        best = min(costs.values(), key=lambda c: (c.cycles, c.side.name != "ws"))
    else:
        best = costs[p.dataflow]
    return best, {f"cycles_{k}": v.cycles for k, v in costs.items()}


def _result(c: _Cost, p: SigmaParams, *, effectual: float, out_elems: float, w_store, x_store,
            both: dict[str, int], path: str) -> LayerResult:
    """Cycles, actions and columns from one dataflow's fold costs."""
    vb = p.value_bits
    acc_bits = 2 * vb
    s = c.side
    stages = 2 * int(math.log2(p.dpe_size)) - 1 if p.dpe_size > 1 else 1
    acts = ActionCounts()
    acts.mult(effectual, vb, component="mult")
    # Benes: stationary loads plus streamed deliveries (one per effectual product)
    acts.wire((c.values + effectual) * vb * stages, component="benes")
    acts.add(c.fan_adds, acc_bits, component="fan")
    acts.add(c.accum_adds, acc_bits, component="accum")
    stat_op, stream_op = ("weight", "input") if s.name == "ws" else ("input", "weight")
    stat_bits = c.values * vb + s.stat_elems
    stream_bits = c.stream_span * (s.stream_nnz * vb + s.stream_elems)
    out_bits = out_elems * vb + 2 * c.accum_adds * acc_bits
    acts.sram(stat_bits, p.sram_bytes, component=f"sram_{stat_op}")
    acts.sram(stream_bits, p.sram_bytes, component=f"sram_{stream_op}")
    acts.sram(out_bits, p.sram_bytes, component="sram_output")
    bitmap_bits = s.stream_elems + 2 * s.stat_elems   # OR over streaming; AND + popcount over stationary
    acts.index(math.ceil(bitmap_bits / _BITMAP_WORD_BITS), component="bitmap")
    w_bits, w_meta = w_store
    x_bits, x_meta = x_store
    dram = (w_bits + w_meta + x_bits + x_meta) / 8 + out_elems * vb / 8
    acts.dram(dram)
    P = p.multipliers
    # DRAM as a roofline over the whole layer: operands and outputs move once, overlapped with the folds
    mem = math.ceil(dram / p.dram_bytes_per_cycle) if p.dram_bytes_per_cycle > 0 else 0
    cycles = max(c.cycles, mem)
    # per Flex-DPE busy cycles: multiplier occupancy times the streaming vectors, averaged over the DPE
    busy = np.full(p.dpes, float(max(c.folds - 1, 0)) * s.stream_len)
    if c.folds:
        last = np.clip(c.last_fold_values - np.arange(p.dpes) * p.dpe_size, 0, p.dpe_size)
        busy += last / p.dpe_size * s.stream_len
    sram_traffic = (stat_bits + stream_bits + out_bits) / 8
    return LayerResult(
        cycles=cycles, compute_cycles=c.stream + c.reduce, stall_cycles=c.load + (cycles - c.cycles),
        freq_hz=p.freq_hz,
        macs_performed=effectual, peak_macs_per_cycle=P,
        utilization=float(effectual) / (P * cycles) if cycles else 0.0,
        pe_busy=busy, actions=acts, weight_bits=w_bits, metadata_bits=w_meta, dram_bytes=dram,
        sram_bytes=sram_traffic,
        extra={"dataflow": s.name, "folds": c.folds, "load_cycles": c.load, "stream_cycles": c.stream,
               "reduce_cycles": c.reduce, "stationary_values": c.values, "stream_vectors": s.stream_len,
               "dpe_crossings": c.xdpe_pieces, "dram_stall_cycles": cycles - c.cycles, **both,
               "sigma_path": path})


# ---- the trace path ---------------------------------------------------------------------------

def _storage(fmt, t: np.ndarray) -> tuple[float, float]:
    """(value bits, metadata bits) of *t* in *fmt*: the encoder's accounting."""
    enc = fmt.measure(t) if hasattr(fmt, "measure") else fmt.encode(t)
    return float(enc.value_bits), float(enc.metadata_bits)



def trace_sides(lt) -> tuple[list[_Side], float]:
    """Both dataflows' useful counts from the operands' bitmaps, and the effectual products."""
    lay = lt.layer
    G, K, N, M = lay.groups, lay.K, lay.N, lay.M
    rows = lay.rows_per_group
    wmask = lt.weight != 0
    xmasks = lt.x_masks()
    ws_counts = np.zeros(M, dtype=np.int64)
    is_counts = np.zeros(N, dtype=np.int64)
    effectual = 0.0
    x_nnz = 0.0
    for g in range(G):
        wg = np.ascontiguousarray(wmask[g * rows:(g + 1) * rows])
        xg = np.ascontiguousarray(xmasks[g])
        x_row_any = _row_any(xg)                       # OR of X over the streamed columns n
        w_col_any = np.zeros(K, dtype=np.bool_)
        _col_any_into(wg, w_col_any)                   # OR of W over the streamed rows m
        ws_counts[g * rows:(g + 1) * rows] = _row_counts_masked(wg, x_row_any)
        _col_counts_masked_into(xg, w_col_any, is_counts)
        w_col_nnz = wg.sum(axis=0, dtype=np.int64)
        x_row_nnz = xg.sum(axis=1, dtype=np.int64)
        effectual += float(w_col_nnz @ x_row_nnz)
        x_nnz += float(x_row_nnz.sum())
    w_nnz = float(wmask.sum())
    # a streaming vector is streamed when it meets a stationary nonzero: the other side's nonzero rows
    ws = _Side("ws", ws_counts, int(np.count_nonzero(is_counts)), float(M * K), float(G * K * N), x_nnz)
    is_ = _Side("is", is_counts, int(np.count_nonzero(ws_counts)), float(G * K * N), float(M * K), w_nnz)
    return [ws, is_], effectual


@register
class Sigma(ArchModel):
    name = "sigma"
    description = "SIGMA (HPCA 2020): Flex-DPEs with Benes distribution and FAN reduction, bitmap operands"
    Params = SigmaParams

    def simulate(self, lt, p: SigmaParams) -> LayerResult:
        lay = lt.layer
        if lt.weight.shape != (lay.M, lay.K):
            raise ModelError(f"layer '{lay.name}': weight has shape {lt.weight.shape}, expected {(lay.M, lay.K)}")
        sides, effectual = trace_sides(lt)
        best, both = _choose(sides, p)
        w_store = _storage(_format(p, p.weight_format, "weight_format"), lt.weight)
        x_store = _storage(_format(p, p.input_format, "input_format"), lt.input)
        return _result(best, p, effectual=effectual, out_elems=float(lay.M * lay.N), w_store=w_store,
                       x_store=x_store, both=both, path="trace")

    def inventory(self, p: SigmaParams):
        """The Flex-DPU's hardware for its area (Sec. IV), per Flex-DPE of ``dpe_size`` = N multipliers:

        * ``mult``: N multipliers of ``value_bits``, each with the register holding its stationary value;
        * ``benes``: the N-port Benes distribution network, ``2 log2 N - 1`` stages of N/2 2x2 switches
          (two 2:1 multiplexers per bit each): ``N x (2 log2 N - 1) x value_bits`` multiplexer bits;
        * ``fan``: the FAN, N - 1 adders of ``2 x value_bits`` (the width the energy prices), each with a
          2:1 multiplexer on both inputs to take a forwarding link instead of its tree child, and the
          comparison of its inputs' ``log2 N``-bit vector IDs that decides whether to add or forward;
        * ``accum``: one adder per Flex-DPE for rows continued across folds;
        * ``bitmap``: one 64-bit AND/OR/popcount unit per Flex-DPE (the energy's word operation);
        * ``sram``: the data SRAM, ``sram_bytes``.

        The controller's routing computation and the DRAM interface are left out.
        """
        from ..energy import Inventory
        inv = Inventory()
        n, d, vb = p.dpe_size, p.dpes, p.value_bits
        acc_bits = 2 * vb
        lg = int(math.log2(n))
        stages = 2 * lg - 1 if n > 1 else 1
        inv.mult(d * n, vb, component="mult")
        inv.rf(n * vb / 8, d, component="mult")
        inv.mux(d * n * stages * vb, component="benes")
        adders = d * (n - 1)
        inv.add(adders, acc_bits, component="fan")
        inv.mux(adders * 2 * acc_bits, component="fan")
        inv.index(adders * max(lg, 1), component="fan")
        inv.add(d, acc_bits, component="accum")
        inv.index(d * _BITMAP_WORD_BITS * int(math.log2(_BITMAP_WORD_BITS)), component="bitmap")
        inv.sram(p.sram_bytes, component="sram")
        return inv


# ---- the density path -------------------------------------------------------------------------

def _check_density(d: float, what: str) -> float:
    d = float(d)
    if not 0.0 <= d <= 1.0 or d != d:
        raise ModelError(f"{what} must be in [0, 1], got {d}")
    return d


def _spread(rng, slots: int, bins: int, nnz: int) -> np.ndarray:
    """Nonzeros per bin when *nnz* nonzeros fall uniformly on ``bins x slots`` positions (exact count)."""
    if nnz == 0 or bins == 0:
        return np.zeros(bins, dtype=np.int64)
    if nnz == slots * bins:
        return np.full(bins, slots, dtype=np.int64)
    return rng.multivariate_hypergeometric(np.full(bins, slots, dtype=np.int64), nnz,
                                           method="marginals").astype(np.int64)


def density_sides(M: int, N: int, K: int, weight_density: float, act_density: float,
                  seed: int = 0) -> tuple[list[_Side], float]:
    """Both dataflows' useful counts drawn from their distribution under uniform sparsity.

    The operands hold exactly ``round(density * size)`` nonzeros at uniformly
    random positions (as accelsim's pruners and activation generator make
    them). The draw follows the trace path's bitmap logic: nonzeros per
    column of W and per row of X (multivariate hypergeometric over the K
    indices); weights stationary keeps W's nonzeros on the K indices where X
    has any (the OR over the streamed vectors) and spreads them over the M
    rows; inputs stationary is the mirror image. A streaming vector is
    streamed when it meets a stationary nonzero. Memory is O(M + N + K).
    """
    for key, v in dict(M=M, N=N, K=K).items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ModelError(f"{key} must be a positive integer, got {v!r}")
    dw = _check_density(weight_density, "weight density")
    dx = _check_density(act_density, "activation density")
    M, N, K = int(M), int(N), int(K)
    rng = np.random.default_rng([int(seed), 0x51A])
    nnz_w = int(round(dw * M * K))
    nnz_x = int(round(dx * K * N))
    w_col = _spread(rng, M, K, nnz_w)          # nonzeros in each column k of W
    x_row = _spread(rng, N, K, nnz_x)          # nonzeros in each row k of X
    x_any, w_any = x_row > 0, w_col > 0        # the ORs over the streamed vectors
    ws_counts = _spread(rng, int(x_any.sum()), M, int(w_col[x_any].sum()))
    is_counts = _spread(rng, int(w_any.sum()), N, int(x_row[w_any].sum()))
    effectual = float(w_col @ x_row)
    ws = _Side("ws", ws_counts, int(np.count_nonzero(is_counts)), float(M) * K, float(K) * N, float(nnz_x))
    is_ = _Side("is", is_counts, int(np.count_nonzero(ws_counts)), float(K) * N, float(M) * K, float(nnz_w))
    return [ws, is_], effectual


def _expected_storage(fmt, shape, density) -> tuple[float, float]:
    if hasattr(fmt, "expected"):
        e = fmt.expected(shape, density)
        return float(e.value_bits), float(e.metadata_bits)
    total = float(fmt.expected_bits(shape, density))
    vals = float(np.prod(shape)) * density * fmt.p.value_bits
    return vals, total - vals


def estimate(M: int, N: int, K: int, weight_density: float = 1.0, act_density: float = 1.0,
             params: SigmaParams | dict | None = None, seed: int = 0) -> LayerResult:
    """SIGMA on a ``W (M x K) @ X (K x N)`` GEMM from densities alone (no tensors).

    The per-row useful counts are drawn (seeded) from their distribution under
    i.i.d. uniform sparsity and packed by the same fold walk as the trace
    path. Memory is one integer per row, so the paper's largest shapes run in
    milliseconds. Returns the :class:`LayerResult` the trace path would.

    >>> r = estimate(128, 2048, 4096)               # the paper's 128-2048-4096, dense
    >>> r.extra["folds"], round(r.utilization, 3)   # doctest: +SKIP
    """
    p = _params(params)
    sides, effectual = density_sides(M, N, K, weight_density, act_density, seed)
    best, both = _choose(sides, p)
    w_store = _expected_storage(_format(p, p.weight_format, "weight_format"), (M, K), weight_density)
    x_store = _expected_storage(_format(p, p.input_format, "input_format"), (K, N), act_density)
    return _result(best, p, effectual=effectual, out_elems=float(M) * N, w_store=w_store, x_store=x_store,
                   both=both, path="density")


def _params(params) -> SigmaParams:
    from ..config import build_dataclass
    if params is None:
        return SigmaParams()
    if isinstance(params, SigmaParams):
        return params
    if isinstance(params, dict):
        return build_dataclass(SigmaParams, params, "params")
    raise ModelError(f"params must be a SigmaParams or a mapping, got {type(params).__name__}")


def params_with(p: SigmaParams, **overrides: Any) -> SigmaParams:
    """A copy of *p* with some fields replaced (checked like a config)."""
    return _params({**dataclasses.asdict(p), **overrides})
