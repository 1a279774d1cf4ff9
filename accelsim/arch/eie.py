"""``eie``: EIE, the Efficient Inference Engine on compressed deep neural networks.

What it models (Han et al., "EIE: Efficient Inference Engine on Compressed
Deep Neural Network", ISCA 2016, Sec. III-IV), cycle by cycle on the actual
trace:

* **Storage (Sec. III-B).** Row ``i`` of ``W`` belongs to PE ``i mod pes``.
  Each PE holds its rows in CSC: per column, a list of (4-bit codebook index,
  4-bit relative row index) entries with a padding entry (a zero weight)
  whenever a run of zeros exceeds 15, plus column pointers. The format is the
  config's ``weight_format`` (a :class:`~accelsim.hardware.FormatRef`; as
  published ``{name: csc, params: {value_bits: 4, index_bits: 4, index_mode:
  relative}}``: the 4-bit codebook index and the 4-bit relative row index are
  the format's, the 16-bit datapath is ``value_bits``). The encoder gives the
  stored entries (real + padding), value, index and pointer bits. For EIE's
  own format the per-column entry counts (real and padding) are taken in one
  numba pass over the layer and the encoder prices them: the value and index
  bits of a stored entry in a slice of the round's rows, and its measure of
  the widest slice for the pointer width (tests check the counts against the
  encoder's measure of every slice); any other column-pointer format is
  encoded in full, slice by slice. One pointer width serves every PE (the
  widest slice's; the paper's are 16).
* **Output rounds (Sec. IV, Activation Read/Write).** A PE accumulates into a
  register file of ``act_regs_per_pe`` (64) destination activations; a layer
  with more than ``pes * 64`` outputs runs in several rounds of 64 local rows,
  each re-broadcasting the input vector (each round is its own CSC slice).
* **Broadcast and FIFOs (Sec. IV, Activation Queue and Load Balancing;
  Distributed Leading Non-Zero Detection).** The leading-nonzero detector
  skips zero activations at no cost and broadcasts one nonzero ``(a_j, j)``
  per cycle to every PE's activation FIFO of ``fifo_depth`` entries; the
  broadcast is disabled while any FIFO is full. A PE works on the activation
  at the head of its FIFO: one entry (real or padding) per cycle through the
  pointer-read, sparse-matrix-read and arithmetic pipeline, so a column slice
  of ``n`` entries costs ``n`` cycles and an empty slice costs the one cycle
  the pointer-read unit spends finding ``p_j == p_j+1``. A PE with an empty
  FIFO idles (a bubble).
* **Batches.** Several input vectors (a batch, the time steps of an LSTM, the
  output positions of a convolution) are processed one vector at a time, as
  the paper does; their activations follow each other through the FIFOs.
  A convolution runs as one matrix-vector product per output position
  (``mode = conv-as-spmv`` in the result); groups run one after the other.

Timing semantics (one clock edge per cycle; checked against a literal
cycle-stepping reference, :func:`step_cycles`): an activation broadcast in
cycle ``t`` is written into the FIFOs at the end of ``t`` and can be worked on
from ``t + 1``; the "full" flags the broadcast obeys are registered, i.e. the
occupancy at the start of the cycle (an activation leaves its FIFO at the end
of the cycle that processes its last entry). The activation being worked on
occupies the head slot ("each PE processes the activation at the head of its
queue"). With depth 1 this halves the throughput of a balanced load - the
paper's "at FIFO size = 1, around half of the total cycles are idle" (Sec.
VI-C). The simulation runs the exact event recurrence of these rules, one
step per (broadcast, PE) instead of per cycle::

    A_k     = max(A_{k-1} + 1, max_p F_p[k - depth])     broadcast cycle of activation k
    S_p[k]  = max(F_p[k-1], A_k + 1)                      PE p starts it
    F_p[k]  = S_p[k] + cost_p[k]                          ... and is free again

A PE whose every cost is at most one cycle never holds the broadcast when the
FIFOs are 2 or more deep (by induction ``F_p[k] <= A_k + 2``) and finishes at
``A_last + 1 + cost``: the recurrence leaves such PEs out (one row per PE, the
common case of small layers on 64 PEs, costs nothing; with every PE left out
the broadcast is never held and the layer takes one cycle per broadcast plus
the last one's cost). The PEs it follows keep their slack ``F_p[k] - A_k``,
which is small (bounded by ``depth`` times the largest cost), in 16-bit SIMD
lanes (:func:`_broadcast_schedule`).

**The cycle account** (docs/CONTRIBUTING.md): ``macs_performed`` is every stored
entry processed (padding included: the hardware multiplies by the zero) on
``pes`` multipliers; the cycles beyond are ``index`` (the pointer-read cycle of
an empty column slice, averaged over PEs), ``load_imbalance`` (the busiest PE's
work beyond the mean) and ``fifo_bubble`` (cycles the busiest PE still idles:
its FIFO empty, the broadcast held by another PE's full FIFO, and the first
broadcast). Weights that do not fit the PE SRAMs stream from DRAM once per
input vector (``dram_bytes``); the runner's roofline at ``dram_bytes_per_cycle``
then bounds the layer.

Energy from action counts (Sec. IV, V; priced by the config's table) against
the declared memories (:meth:`EIE.hardware`): sparse-matrix SRAM reads of
``spmat_sram_width_bits`` (8 entries per 64-bit read; the row fetched last is
kept, so a slice starting in it does not read it again - Sec. VI-C: fetched
entries are wasted only "if ... the next column corresponds to a zero
activation"; :func:`_row_reads`), two pointer reads per activation per PE (one
per 16 KB bank), a codebook lookup and a 16-bit multiply-accumulate per entry
(padding included), a read and a write of the destination register per entry,
source activation reads by the leading-nonzero detectors, the FIFO write and
read (one declared entry width, ``value_bits`` plus the activation index) and
the broadcast wires per activation and PE, activation-SRAM traffic for vectors
longer than the register files.

**Statistical mode** (:meth:`EIE.simulate_stats`): the same machine on a
statistically equivalent layer. Per (round, PE, column) entry counts are drawn
row by row under the pattern as magnitude pruning leaves it (:func:`row_model`,
:func:`draw_column_entries`; a ``rounds x pes x K`` table, never the layer),
the padding rule applied as on a trace; work and energy take their
expectations over the activations from that table (per-column densities,
im2col padding included: :func:`column_act_density`); the FIFO schedule and
the row buffer run on a bounded sample of input vectors (about
``STATS_BROADCASTS`` broadcasts) and what they add beyond the mean PE work
(load imbalance, bubbles) is scaled to the layer's vectors.

What it leaves out, and assumptions where the paper is silent (to our reading):

* Pipeline fill and drain of the PE (a few cycles per layer) and the
  leading-nonzero tree latency: constant offsets, not modelled.
* The broadcast is one activation per cycle in index order; the bypass path
  for back-to-back accumulations into the same register needs no stall.
* Round and vector boundaries need no barrier (a PE writes its 64
  accumulators back while it starts the next round).
* A PE that owns no rows of a round (fewer outputs than PEs) drops its
  activations without spending a cycle; every other PE spends at least one.
* Weights are resident in the sparse-matrix and pointer SRAMs (the paper's
  premise, Sec. I and VIII: the compressed model fits on chip; loading it is a
  one-time I/O-mode cost, Sec. IV). What a PE's slice holds beyond their
  capacity (``fits_on_chip`` false) is read from DRAM for every input vector.
  With the paper's own sizes this happens to VGG-6: 25,089 column pointers per
  PE do not fit a 32 KB pointer SRAM. The DRAM bandwidth is an assumption (the
  paper gives none): see ``accelsim/configs/eie.yaml``.
* Clock tree and leakage are not in the action counts (the paper's Table II
  gives the clock network 20% of PE power); the total per-PE power still
  lands near Table II's because the 45 nm table prices the 128 KB SRAM read
  higher than the paper's Cacti did (see ``accelsim/validation/eie.py``).
* Rounds follow the paper's "the M x V will be completed in several batches"
  (Sec. IV) with each batch of rows encoded as its own CSC; the alternative,
  one CSC per PE slice with accumulators for all its rows, is a parameter
  away (``act_regs_per_pe`` >= rows per PE) and shown in the padding study.
"""
from __future__ import annotations

import itertools
import math
import warnings
import zlib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Literal, NamedTuple

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from ..config import positive
from ..energy import ActionCounts
from ..errors import ConfigError, FormatError, ModelError
from ..hardware import Compute, Dram, FormatRef, Hardware, Logic, Memory, address_bits
from ..results import LayerResult
from .base import ArchModel, CommonParams, register

#: EIE's stored weights as published (Sec. III-B): 4-bit codebook index, 4-bit relative row index
EIE_CSC = FormatRef("csc", {"value_bits": 4, "index_bits": 4, "index_mode": "relative"})
#: "EIE pointers are 16-bits in length" (Sec. IV, Pointer Read Unit): the pointer banks' width
PAPER_PTR_BITS = 16


@dataclass
class EIEParams(CommonParams):
    #: clock (Sec. V: 800 MHz)
    freq_hz: float = positive(800e6)
    #: DRAM bandwidth; the paper keeps the model on chip and gives none (the shipped config states its assumption)
    dram_bytes_per_cycle: float = positive(8.0)
    #: datapath width after the codebook (Sec. VI-C, Fig. 10: 16-bit fixed point)
    value_bits: int = field(default=16, metadata={"min": 1, "max": 64})
    #: processing elements (Sec. V: 64)
    pes: int = positive(64)
    #: activation FIFO entries per PE (Sec. VI-C, Fig. 8: depth 8)
    fifo_depth: int = positive(8)
    #: destination activation registers per PE (Sec. IV: 64 x 16-bit)
    act_regs_per_pe: int = positive(64)
    #: sparse-matrix SRAM per PE (128 KB of the PE's 162 KB, Sec. VI) and its width (Sec. VI-C, Fig. 9: 64 bits)
    spmat_sram_bytes: int = positive(128 * 1024)
    spmat_sram_width_bits: int = positive(64)
    #: pointer SRAM per PE, two banks (Sec. IV: p_j and p_j+1 in one cycle; Sec. VI: 32 KB)
    ptr_sram_bytes: int = positive(32 * 1024)
    #: activation SRAM per PE for vectors longer than the register files (Sec. IV: 2 KB)
    act_sram_bytes: int = positive(2 * 1024)
    #: shared-weight codebook entries (Sec. III-A: 4-bit index, 16 shared weights)
    codebook_entries: int = positive(16)
    #: the weight storage each PE slice goes through (a formats encoder with column pointers)
    weight_format: FormatRef = EIE_CSC
    #: deprecated spellings (0.2): the datapath was ``arith_bits`` and ``value_bits`` the codebook index;
    #: ``index_bits``, ``index_mode`` and ``ptr_bits`` were flat. They move into the fields above, with a warning.
    arith_bits: int | None = field(default=None, metadata={"min": 1, "max": 64})
    index_bits: int | None = field(default=None, metadata={"min": 1, "max": 32})
    index_mode: Literal["absolute", "relative"] | None = None
    ptr_bits: int | None = field(default=None, metadata={"min": 1, "max": 64})

    def validate(self):
        if self.pes > 4096:
            raise ConfigError(f"'params.pes' must be <= 4096, got {self.pes}")
        if self.fifo_depth > 65536:
            raise ConfigError(f"'params.fifo_depth' must be <= 65536, got {self.fifo_depth}")
        if self.act_regs_per_pe > 65536:
            raise ConfigError(f"'params.act_regs_per_pe' must be <= 65536, got {self.act_regs_per_pe}")
        self._move_deprecated()

    def _move_deprecated(self):
        """The 0.2 spellings, kept for one release: ``value_bits`` (the codebook index) with ``arith_bits`` (the
        datapath), flat ``index_bits``, ``index_mode``, ``ptr_bits``. ``index_mode: absolute`` with
        ``index_bits: null`` meant the encoder's default absolute width, as it still does."""
        moved = {}
        if self.arith_bits is not None:
            moved["value_bits"] = self.value_bits
            self.value_bits = self.arith_bits
        for key in ("index_bits", "index_mode", "ptr_bits"):
            if getattr(self, key) is not None:
                moved[key] = getattr(self, key)
        if not moved:
            return
        old = ", ".join(f"'params.{k}'" for k in (["arith_bits"] if self.arith_bits is not None else []) +
                        [k for k in ("index_bits", "index_mode", "ptr_bits") if k in moved])
        verb = "is" if "," not in old else "are"
        warnings.warn(f"{old} {verb} deprecated (going in 0.3): the datapath width is 'params.value_bits' and the "
                      f"weight format's own widths are its params, e.g. weight_format: {{name: csc, params: "
                      f"{{value_bits: 4, index_bits: 4, index_mode: relative}}}}", FutureWarning, stacklevel=4)
        params = dict(self.weight_format.params)
        params.update(moved)
        if moved.get("index_mode") == "absolute" and self.index_bits is None:
            params.pop("index_bits", None)
        self.weight_format = FormatRef(self.weight_format.name, params)
        self.arith_bits = self.index_bits = self.index_mode = self.ptr_bits = None

    def weight_encoder(self):
        """The configured weight format as an encoder."""
        return _encoder(self.weight_format)


@lru_cache(maxsize=64)
def _encoder(fmt: FormatRef):
    from ..formats import get_format
    try:
        return get_format(fmt.name, **fmt.kwargs)
    except (FormatError, ConfigError) as e:
        raise ConfigError(f"params.weight_format '{fmt.text()}': {e}") from None


def act_index_bits(p: EIEParams) -> int:
    """Width of the activation index ``j`` broadcast with each value: enough for the longest input vector the
    PEs hold (Sec. IV: 64 registers per PE, and the 2 KB activation SRAMs for longer vectors; 64K at 64 PEs)."""
    longest = p.pes * max(p.act_regs_per_pe, p.act_sram_bytes * 8 // p.value_bits)
    return max(1, math.ceil(math.log2(max(longest, 2))))


def fifo_entry_bits(p: EIEParams) -> int:
    """One activation-queue entry: the value and its index (one width for area and energy)."""
    return p.value_bits + act_index_bits(p)


def stored_entry_bits(p: EIEParams) -> int:
    """Bits of one stored entry (value and row index) in a slice of ``act_regs_per_pe`` rows, from the encoder
    (EIE: 4 + 4)."""
    return max(1, sum(_entry_split(_encoder(p.weight_format), p.act_regs_per_pe)))


def _entry_split(fmt, rows: int) -> tuple[int, int]:
    """``(value bits, index bits)`` of one stored entry in a slice of *rows* rows, as the encoder counts them."""
    return _entry_split_cached(fmt, int(rows))


@lru_cache(maxsize=256)
def _entry_split_cached(fmt, rows: int) -> tuple[int, int]:
    col = np.zeros((max(rows, 1), 1), np.bool_)
    col[0, 0] = True
    enc = fmt.measure(col)
    n = max(1, int(enc.stored_entries))
    return int(enc.value_bits) // n, int(enc.breakdown.get("indices", 0)) // n


def lnzd_nodes(pes: int) -> int:
    """Leading-nonzero detection nodes of the quadtree over the PEs (Sec. VI: 16 + 4 + 1 = 21 for 64 PEs)."""
    n, level = 0, pes
    while level > 1:
        level = -(-level // 4)
        n += level
    return max(n, 1)


# ---- numba kernels ---------------------------------------------------------------------------------------------

@njit(cache=True)
def _pe_major_mask(w, pes, regs, rounds, width):
    """Nonzero mask of ``w`` (rows x K) rearranged as ``[pe, round, column, local row]``.

    Row ``i`` goes to PE ``i % pes`` as its local row ``i // pes``; local row
    ``l`` is row ``l % regs`` of round ``l // regs``. Each ``[pe, round]``
    block, transposed, is that PE's slice of the round (rows x K).
    """
    M, K = w.shape
    out = np.zeros((pes, rounds, K, width), np.bool_)
    for i in range(M):
        p = i % pes
        li = i // pes
        r = li // regs
        c = li - r * regs
        for j in range(K):
            if w[i, j] != 0:
                out[p, r, j, c] = True
    return out


@njit(cache=True)
def _count_row(slices, r, p, c, cols, n, run_bits):
    """Add one row's nonzeros (``cols[:n]``, local row ``c`` of PE ``p`` in round ``r``) to the column slices
    (``slices[r, p, j]``: stored entries, nonzeros, local row of the last entry; one cache line a column).

    EIE's CSC rule (Sec. III-B): an entry's relative index counts the zeros
    since the previous entry of its column slice (or the slice start); a run
    of ``g`` zeros needs ``g >> run_bits`` padding entries before it (one
    per ``2**run_bits`` zeros; ``run_bits < 0``: absolute indices, no padding).
    """
    for q in range(n):
        s = slices[r, p, cols[q]]
        if run_bits >= 0:
            s[0] += 1 + ((c - s[2] - 1) >> run_bits)
            s[2] = c
        else:
            s[0] += 1
        s[1] += 1


@njit(cache=True)
def _new_slices(rounds, pes, K):
    slices = np.zeros((rounds, pes, K, 3), np.int32)
    slices[:, :, :, 2] = -1
    return slices


def _split(slices):
    """``(entries, nonzeros)``, each ``[round, pe, column]``."""
    return np.ascontiguousarray(slices[..., 0]), np.ascontiguousarray(slices[..., 1])


@njit(cache=True)
def _column_entries(w, pes, regs, rounds, run_bits):
    """Stored entries and nonzeros of every column slice, ``[round, pe, column]``, in one pass over the rows of
    ``w`` (rows x K; a weight is stored when nonzero), PE by PE; the caller has the formats encoder price them
    (tests check the counts against its measure of every slice).

    The rule of :func:`_count_row` (Sec. III-B), kept per column instead of per nonzero so that the loop over a
    row's columns has no branch: ``last[j]`` is the local row of the column's last entry in the current round.
    Absolute indices (``run_bits < 0``) never pad.
    """
    M, K = w.shape
    entries = np.zeros((rounds, pes, K), np.int32)
    real = np.zeros((rounds, pes, K), np.int32)
    last = np.empty(K, np.int64)
    shift = run_bits if run_bits >= 0 else 63          # a gap is below 2**63: no padding entry
    for p in range(min(pes, M)):
        for i in range(p, M, pes):
            li = i // pes
            r = li // regs
            c = li - r * regs
            if c == 0:                                  # a new round: a new slice per column
                last[:] = -1
            ent = entries[r, p]
            nnz = real[r, p]
            row = w[i]
            for j in range(K):
                m = np.int64(row[j] != 0)
                ent[j] += m * (1 + ((c - last[j] - 1) >> shift))
                last[j] += m * (c - last[j])
                nnz[j] += m
    return entries, real


@njit(cache=True)
def _vector_stream(bits_t, N):
    """From the vectors' bit sets (``bits_t[w, k]``, bit ``b``: column ``k`` nonzero in vector ``64 w + b``; the
    transpose of :func:`vector_bits`): ``(ptr, idx, per_column)``, the nonzero columns of vector ``n`` in index
    order at ``idx[ptr[n]:ptr[n + 1]]``, and each column's count of nonzero vectors."""
    words, K = bits_t.shape
    per_column = np.zeros(K, np.int64)
    for w in range(words):
        for k in range(K):
            per_column[k] += _popcount(bits_t[w, k])
    total = per_column.sum()
    ptr = np.zeros(N + 1, np.int64)
    idx = np.empty(total + K, np.int32)    # room for the branch-free gather's last writes
    o = 0
    for w in range(words):
        row = bits_t[w]                     # 64 vectors' columns, contiguous
        for b in range(min(64, N - 64 * w)):
            sh = np.uint64(b)
            for k in range(K):
                idx[o] = k
                o += np.int64((row[k] >> sh) & np.uint64(1))
            ptr[64 * w + b + 1] = o
    return ptr, idx[:total], per_column


def _stream(mask: np.ndarray):
    """``K x N`` nonzero mask (one vector a column) -> ``(ptr, idx, per_column, bits)``: the stream of
    :func:`_vector_stream` and the columns' bit sets (:func:`vector_bits`)."""
    bits = vector_bits(mask)
    ptr, idx, per_column = _vector_stream(np.ascontiguousarray(bits.T), mask.shape[1])
    return ptr, idx, per_column, bits


@njit(cache=True)
def _pe_layout(entries, has_rows, epr):
    """Per (table, column, PE), PE innermost: the cycles the PE spends on the column slice (``max(1,
    entries)``, 0 where it owns no rows of the table) and the first and last sparse-matrix SRAM rows the
    slice occupies (last = first - 1 when empty). A PE's slices are stored one after another, table by
    table (group, round), column by column, ``epr`` entries to a row."""
    T, P, K = entries.shape
    cost = np.zeros((T, K, P), np.int32)
    first = np.zeros((T, K, P), np.int32)
    last = np.zeros((T, K, P), np.int32)
    for p in range(P):
        off = 0
        for t in range(T):
            live = has_rows[t, p]
            for j in range(K):
                e = entries[t, p, j]
                cost[t, j, p] = max(e, 1) * live
                first[t, j, p] = off // epr
                last[t, j, p] = (off + e - 1) // epr if e > 0 else off // epr - 1
                off += e
    return cost, first, last


@njit(cache=True)
def _fill_lanes(entries, has_rows, follow, cost, left_out):
    """``cost[t, j, l]``: cycles of the ``l``-th followed PE on column ``j`` of table ``t``, PE innermost;
    ``left_out[t, j]``: the largest of the other PEs'."""
    T, P, K = entries.shape
    for t in range(T):
        lane = 0
        for p in range(P):
            live = has_rows[t, p]
            ent = entries[t, p]
            if follow[p]:
                for j in range(K):
                    cost[t, j, lane] = max(ent[j], 1) * live
                lane += 1
            else:
                for j in range(K):
                    left_out[t, j] = max(left_out[t, j], max(ent[j], 1) * live)


@njit(cache=True)
def _slice_work(entries, real, has_rows, cnt):
    """Over the activation stream (``cnt[t, j]``: vectors in which column ``j`` of table ``t`` is nonzero):
    entries processed, of which real weights, empty-slice pointer cycles, and each PE's busy cycles."""
    T, P, K = entries.shape
    busy = np.zeros(P, cnt.dtype)              # counts of a trace, or expected counts (floats)
    zero = cnt.dtype.type(0)
    done = zero
    useful = zero
    empty = zero
    for t in range(T):
        for p in range(P):
            if has_rows[t, p] == 0:
                continue
            for j in range(K):
                c = cnt[t, j]
                e = entries[t, p, j]
                done += c * e
                useful += c * real[t, p, j]
                empty += c * (e == 0)
                busy[p] += c * max(e, 1)
    return done, useful, empty, busy


@njit(cache=True)
def _popcount(x):
    """Set bits of a uint64 (the SWAR count)."""
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@njit(cache=True)
def _bits_set(words):
    n = 0
    for w in words:
        n += _popcount(w)
    return n


@njit(cache=True)
def _row_reads(entries, epr, x_bits, x_count, rounds):
    """Sparse-matrix SRAM rows each PE reads, with the row it fetched last kept.

    Sec. IV: a read fetches a 64-bit row of eight entries and the read unit hands out one a cycle;
    Sec. VI-C: "if more elements are fetched and the next column corresponds to a zero activation, those
    elements are wasted", i.e. when it does not, they are used. A PE visits its rows in storage order
    during a pass over one input vector (one round), so it reads each row that a processed slice
    touches exactly once: the count is, per row, the vectors in which any slice touching it has a
    nonzero activation. A PE's slices are stored one after another, table by table (group, round), column
    by column, ``epr`` entries to a row (``entries[t, p, j]``; :func:`_pe_layout` gives each slice's first and
    last row). ``x_bits[g, j]``: bit ``n`` set when column ``j`` of group ``g`` is nonzero in vector ``n``
    (uint64 words); ``x_count[g, j]``: those bits' count.
    """
    T, P, K = entries.shape
    W = x_bits.shape[2]
    shift = _log2_exact(epr)           # rows of a power-of-two entries: shifts, not divisions
    reads = np.zeros(P, np.int64)
    acc = np.zeros(W, np.uint64)       # vectors in which the held row is read
    for p in range(P):
        off = 0
        for t in range(T):
            g = t // rounds
            held = -1                  # the row fetched last in this pass (over one vector)
            n = 0                      # rows read (a local: no store on the loop's path)
            acc[:] = 0
            word = np.uint64(0)        # acc when it is one word (up to 64 vectors): kept in a register
            for j in range(K):
                e = entries[t, p, j]
                if e == 0:                     # an empty slice reads nothing
                    continue
                a = off >> shift if shift >= 0 else off // epr              # its first row ...
                b = (off + e - 1) >> shift if shift >= 0 else (off + e - 1) // epr   # ... and its last
                off += e
                # a new row (fetch): the held one has been read in the vectors of its slices; a slice that runs
                # on (spans) has its first row done and its middle rows read whenever it is processed
                fetch = a != held
                spans = b > a
                if W == 1:                     # one word: no branch on the data
                    x = x_bits[g, j, 0]
                    v = x | (np.uint64(0) if fetch else word)
                    n += fetch * _popcount(word) + spans * (_popcount(v) + (b - a - 1) * x_count[g, j])
                    word = x if spans else v
                else:                          # several words: the work is in the words, so branches pay
                    if fetch:
                        for w in range(W):
                            n += _popcount(acc[w])
                            acc[w] = x_bits[g, j, w]
                    else:
                        for w in range(W):
                            acc[w] |= x_bits[g, j, w]
                    if spans:
                        for w in range(W):
                            n += _popcount(acc[w])
                            acc[w] = x_bits[g, j, w]
                        n += (b - a - 1) * x_count[g, j]
                held = b
            reads[p] += n + _popcount(word) + _bits_set(acc)
    return reads


@njit(cache=True)
def _log2_exact(n):
    """``log2(n)`` for a power of two, else -1."""
    if n <= 0 or n & (n - 1):
        return -1
    s = 0
    while (1 << s) < n:
        s += 1
    return s


@intrinsic
def _narrow_add(typingctx, a, b):
    """``a + b`` at the operands' own integer width. Numba widens integer arithmetic to 64 bits; the FIFO
    recurrence's slacks are small, and 16-bit lanes put four times the PEs in each SIMD instruction."""
    if isinstance(a, types.Integer) and a == b:
        def codegen(context, builder, signature, args):
            return builder.add(args[0], args[1])
        return a(a, b), codegen
    return None


@njit(cache=True)
def _broadcast_schedule(cost, cost_left_out, x_ptr, x_idx, vectors, rounds, depth):
    """The FIFO recurrence over the activation stream (module docstring).

    ``cost[g * rounds + r, j, p]``: cycles PE ``p`` spends on column ``j`` in
    round ``r`` of group ``g`` (PE innermost, so one broadcast is one pass over
    contiguous memory); ``cost_left_out[t, j]``: the largest cost of the PEs
    left out (all costs <= 1, so they never hold the broadcast). The stream is,
    for each group ``g`` and vector ``n`` (``x_ptr[g * vectors + n]`` .. ``+1``
    into ``x_idx``: the vector's nonzero columns in order), for each round,
    every nonzero column.

    Each PE's state is its slack ``D_p = F_p[k] - A_k`` (when it is free again,
    counted from the last broadcast): ``D_p = max(D_p - (A_k - A_{k-1}), 1) +
    cost_p[k]``, and ``A_k + max_p D_p`` is the ``max_p F_p[k]`` that the
    broadcast ``depth`` activations later waits for. With ``c`` the largest
    cost, ``F_p[k] <= max(F_p[k - depth], A_k + 1) + depth c`` and ``F_p[k -
    depth] <= A_k``, so ``1 <= D_p <= depth c + 1`` and a step moves the slack
    down by at most ``depth c + 1``: it runs in the cost table's integer width,
    which the caller picks to hold ``(depth + 1) c + 2`` (:func:`_lanes`; 16
    bits on the published config), so that one SIMD instruction covers many
    PEs.

    Returns ``(cycles, broadcasts, full_stall_cycles)``.
    """
    P = cost.shape[2]
    groups = cost.shape[0] // rounds
    one = cost.dtype.type(1)
    slack = np.ones(P, cost.dtype)       # F_p = 0 before the first broadcast (A_0 = 0, counted from A = -1)
    # max_p F_p of the last ``depth`` activations: the broadcast that reuses a slot waits for it (zeros
    # before the first ``depth``: no wait)
    ring_max = np.zeros(depth, np.int64)
    a_prev = -1
    k = 0
    slot = 0           # k % depth, kept without a division per step
    stall = 0
    tail = 0           # finish of the PEs left out
    for g in range(groups):
        for n in range(vectors):
            lo = x_ptr[g * vectors + n]
            hi = x_ptr[g * vectors + n + 1]
            for r in range(rounds):
                t = g * rounds + r
                for q in range(lo, hi):
                    j = x_idx[q]
                    a = max(a_prev + 1, ring_max[slot])     # no branch: a stall is data-dependent
                    stall += a - a_prev - 1
                    back = cost.dtype.type(a_prev - a)
                    m = cost.dtype.type(0)
                    for p in range(P):         # 3-D indexing: a row view per step would cost reference counting
                        d = _narrow_add(slack[p], back)
                        d = _narrow_add(d if d > one else one, cost[t, j, p])
                        slack[p] = d
                        m = d if d > m else m
                    ring_max[slot] = a + m
                    slot = slot + 1 if slot + 1 < depth else 0
                    tail = a + 1 + cost_left_out[t, j]
                    a_prev = a
                    k += 1
    total = 0
    if k > 0:
        total = max(ring_max[slot - 1 if slot > 0 else depth - 1], a_prev + 1, tail)
    return total, k, stall


@njit(cache=True)
def step_cycles(costs, depth):
    """A literal cycle-by-cycle simulation of the same hardware, for checking the recurrence.

    ``costs`` (broadcasts x PEs): the cycles each PE spends on each broadcast
    activation, in stream order. Each cycle ``t``: (1) every PE drops the
    zero-cost activations at the head of its FIFO; (2) the broadcast unit
    sends the next activation unless a FIFO is full (occupancy at the start of
    the cycle), visible to the PEs from ``t + 1``; (3) every PE whose head
    activation is visible spends the cycle on it and pops it at the end of the
    cycle when its cost is used up; a PE with nothing visible idles.

    Returns ``(cycles, busy[p], full_stall_cycles)``.
    """
    L, P = costs.shape
    arrive = np.full(L, -1, np.int64)
    head = np.zeros(P, np.int64)       # index of the activation at the head of each FIFO
    left = np.zeros(P, np.int64)       # cost left of the head activation (valid when started)
    started = np.zeros(P, np.bool_)
    busy = np.zeros(P, np.int64)
    sent = 0
    stall = 0
    t = 0
    while True:
        for p in range(P):                              # (1) free drops
            while head[p] < sent and arrive[head[p]] < t and costs[head[p], p] == 0:
                head[p] += 1
        done = sent == L
        for p in range(P):
            if head[p] < L:
                done = False
        if done:
            return t, busy, stall
        if sent < L:                                    # (2) broadcast
            full = False
            for p in range(P):
                if sent - head[p] >= depth:
                    full = True
            if full:
                stall += 1
            else:
                arrive[sent] = t
                sent += 1
        for p in range(P):                              # (3) work
            h = head[p]
            if h < sent and arrive[h] < t:
                if not started[p]:
                    left[p] = costs[h, p]
                    started[p] = True
                left[p] -= 1
                busy[p] += 1
                if left[p] == 0:
                    head[p] += 1
                    started[p] = False
        t += 1


# ---- the model -------------------------------------------------------------------------------------------------

@dataclass
class Storage:
    """The weights as the PEs store them (from the encoder)."""
    nnz: float
    padding_entries: float
    value_bits: float             # all stored values (codebook indices), all PEs
    index_bits: float             # all stored row indices
    pointer_bits: float           # all column pointers, at the one pointer width
    ptr_width: int                # bits of one column pointer
    pe_bits: np.ndarray           # (pes,) values + indices per PE (all groups and rounds)
    pe_pointer_bits: np.ndarray   # (pes,)

    @property
    def stored_entries(self) -> float:
        return self.nnz + self.padding_entries


@dataclass
class EIEPlan:
    """Everything about one layer that does not depend on the FIFO depth: the encoded PE slices and the stream."""
    entries: np.ndarray        # (groups * rounds, pes, K) stored entries of each column slice
    real: np.ndarray           # (groups * rounds, pes, K) of which nonzero weights (the rest is padding)
    has_rows: np.ndarray       # (groups * rounds, pes) whether the PE owns rows in that round
    x_ptr: np.ndarray          # (groups * vectors + 1,) into x_idx
    x_idx: np.ndarray          # nonzero activation columns of each vector, in order
    x_count: np.ndarray        # (groups, K) vectors in which each column is nonzero
    x_bits: np.ndarray         # (groups, K, words) bit n of a column's words: nonzero in vector n
    groups: int
    rounds: int
    vectors: int
    K: int
    M_group: int
    storage: Storage
    epr: int                   # stored entries per sparse-matrix SRAM row

    @cached_property
    def _layout(self):
        return _pe_layout(self.entries, self.has_rows, self.epr)

    @property
    def cost(self) -> np.ndarray:
        """``(groups * rounds, K, pes)``: cycles per PE per column, ``max(1, entries)``, 0 where the PE owns
        no rows of the round (PE innermost for the schedule)."""
        return self._layout[0]

    @cached_property
    def work(self) -> tuple[int, int, int, np.ndarray]:
        """``(entries processed, of which real, empty-slice cycles, busy cycles per PE)`` over the stream."""
        return _slice_work(self.entries, self.real, self.has_rows,
                           np.repeat(self.x_count, self.rounds, axis=0).astype(np.int64))

    @property
    def busy(self) -> np.ndarray:
        """Busy cycles of each PE over the layer (independent of the FIFO depth)."""
        return self.work[3]

    @cached_property
    def sram_reads(self) -> np.ndarray:
        """Sparse-matrix SRAM rows each PE reads over the stream (:func:`_row_reads`)."""
        return _row_reads(self.entries, self.epr, self.x_bits, self.x_count, self.rounds)


def plan_layer(lt, p: EIEParams) -> EIEPlan:
    """Encode every PE slice of *lt*'s weights with the configured format and index the activation stream.

    For EIE's own format (``csc`` with a fixed index width) the per-column entry
    counts come from one numba pass over the layer (:func:`_column_entries`) and
    the encoder prices each round's (:meth:`_StorageSum.add_round`); any other
    format is encoded in full, slice by slice, and its column pointers give the
    counts.
    """
    lay = lt.layer
    fmt = p.weight_encoder()
    run_bits = _csc_run_bits(fmt)
    G = lay.groups
    Mg, K = lay.rows_per_group, lay.K
    pes, regs = p.pes, p.act_regs_per_pe
    rows_per_pe = -(-Mg // pes)
    rounds = max(1, -(-rows_per_pe // regs))
    shape = (G * rounds, pes, K)
    entries = np.zeros(shape, np.int32)
    real = np.zeros(shape, np.int32)
    has_rows = np.tile((_rows_per_round(Mg, pes, regs, rounds) > 0).astype(np.int32), (G, 1))
    acc = _StorageSum(pes)
    for g in range(G):
        mask = np.ascontiguousarray(lt.group_weight(g) != 0)
        if run_bits is not None:
            ent_g, real_g = _column_entries(mask, pes, regs, rounds, run_bits)
            for r in range(rounds):
                acc.add_round(fmt, mask, r, pes, regs, ent_g[r], real_g[r])
            entries[g * rounds:(g + 1) * rounds] = ent_g
            real[g * rounds:(g + 1) * rounds] = real_g
        else:
            layout = _pe_major_mask(mask, pes, regs, rounds, max(1, min(regs, rows_per_pe)))
            for r in range(rounds):
                for pe in range(pes):
                    n_rows = _rows_in_round(Mg, pes, regs, pe, r)
                    if n_rows <= 0:
                        continue
                    block = layout[pe, r, :, :n_rows]        # K x rows: the slice, transposed
                    enc = _encode_slice(fmt, block.T, K)
                    ptr = np.asarray(enc.payload["ptr"], dtype=np.int64)
                    entries[g * rounds + r, pe] = np.diff(ptr)
                    real[g * rounds + r, pe] = _real_per_column(enc, ptr, block)
                    acc.add_slice(pe, enc, K)
    storage = acc.storage(has_rows, K)
    stored = storage.stored_entries
    # entries per SRAM row from the encoder's bits per stored entry (EIE: 8 bits, 8 entries per 64-bit row)
    epr = max(1, int(p.spmat_sram_width_bits * stored // (storage.value_bits + storage.index_bits))) if stored else 1
    x_ptr, x_idx, x_count, x_bits, vectors = _activation_stream(lt)
    return EIEPlan(entries=entries, real=real, has_rows=has_rows, x_ptr=x_ptr, x_idx=x_idx, x_count=x_count,
                   x_bits=x_bits, groups=G, rounds=rounds, vectors=vectors, K=K, M_group=Mg, storage=storage, epr=epr)


class _StorageSum:
    """Adds up the encoder's accounting of every PE slice; one pointer width for all (the widest slice's)."""

    def __init__(self, pes: int):
        self.nnz = self.pads = self.vbits = self.ibits = 0
        self.ptr_width = 0
        self.pe_bits = np.zeros(pes, np.float64)

    def add_round(self, fmt, mask, r, pes, regs, ent, real):
        """One round of one group from its column counts (``ent``, ``real``: ``[pe, column]``), priced by the
        encoder: the value and index bits of a stored entry in a slice of the round's local rows
        (:func:`_entry_split`), and its measure of the widest slice for the pointer width."""
        Mg, K = mask.shape
        lo, hi = r * regs * pes, min(Mg, (r + 1) * regs * pes)
        try:
            vb, ib = _entry_split(fmt, -(-(hi - lo) // pes))
        except FormatError as e:
            raise ModelError(f"eie: the weight format cannot store a PE slice: {e}") from None
        pe_entries = ent.sum(axis=1, dtype=np.int64)
        stored, nnz = int(pe_entries.sum()), int(real.sum(dtype=np.int64))
        if stored:
            self.pe_bits += pe_entries * float(vb + ib)
        widest = int(np.argmax(pe_entries))
        self._widen(_measure(fmt, mask[lo + widest:hi:pes]), K)
        self.nnz += nnz
        self.pads += stored - nnz
        self.vbits += stored * vb
        self.ibits += stored * ib

    def add_slice(self, pe, enc, K):
        idx = int(enc.breakdown.get("indices", 0))
        self.pe_bits[pe] += int(enc.value_bits) + idx
        self._widen(enc, K)
        self.nnz += int(enc.nnz)
        self.pads += int(enc.padding_entries)
        self.vbits += int(enc.value_bits)
        self.ibits += idx

    def _widen(self, enc, K):
        self.ptr_width = max(self.ptr_width, int(enc.breakdown.get("pointers", 0)) // (K + 1))

    def storage(self, has_rows, K) -> Storage:
        pe_ptr = has_rows.sum(axis=0).astype(np.float64) * (K + 1) * self.ptr_width
        return Storage(nnz=float(self.nnz), padding_entries=float(self.pads), value_bits=float(self.vbits),
                       index_bits=float(self.ibits), pointer_bits=float(pe_ptr.sum()), ptr_width=self.ptr_width,
                       pe_bits=self.pe_bits, pe_pointer_bits=pe_ptr)


def _csc_run_bits(fmt) -> int | None:
    """For EIE's own format, the bits of a relative index (a padding entry per ``2**bits`` zeros; -1 for
    absolute indices, which never pad), so that column counts can be taken in one pass; None for any other
    encoder."""
    if fmt.name != "csc" or not hasattr(fmt, "measure"):
        return None
    mode, bits = getattr(fmt.p, "index_mode", None), getattr(fmt.p, "index_bits", None)
    if mode == "absolute":
        return -1
    if mode == "relative" and bits is not None:
        return int(bits)
    return None


def _rows_in_round(Mg: int, pes: int, regs: int, pe: int, r: int) -> int:
    """Local rows of PE *pe* that fall in round *r*."""
    owned = (Mg - pe + pes - 1) // pes if pe < Mg else 0
    return max(0, min(regs, owned - r * regs))


def _rows_per_round(Mg: int, pes: int, regs: int, rounds: int) -> np.ndarray:
    """``(rounds, pes)``: local rows of each PE in each round (row ``i`` on PE ``i mod pes``)."""
    pe = np.arange(pes)
    owned = np.where(pe < Mg, (Mg - pe + pes - 1) // pes, 0)
    return np.clip(owned[None, :] - regs * np.arange(rounds)[:, None], 0, regs)


def _real_per_column(enc, ptr: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Nonzero weights among each column's stored entries (the rest are padding zeros)."""
    vals = enc.payload.get("values")
    if vals is not None and len(vals) == ptr[-1]:
        c = np.concatenate(([0], np.cumsum(np.asarray(vals) != 0)))
        return c[ptr[1:]] - c[ptr[:-1]]
    return np.count_nonzero(block, axis=1)


def _measure(fmt, rows_by_k: np.ndarray):
    try:
        return fmt.measure(rows_by_k)
    except FormatError as e:
        raise ModelError(f"eie: the weight format cannot store a PE slice: {e}") from None


def _encode_slice(fmt, slice_rows_by_k: np.ndarray, K: int):
    try:
        enc = fmt.encode(slice_rows_by_k)
    except FormatError as e:
        raise ModelError(f"eie: the weight format cannot store a PE slice: {e}") from None
    ptr = enc.payload.get("ptr") if enc.payload else None
    if ptr is None or len(ptr) != K + 1:
        raise ModelError(f"eie: weight_format '{enc.format}' has no column pointers; EIE's PEs walk "
                         "column slices, so use a column-pointer format such as csc")
    return enc


def _activation_stream(lt):
    """Per group and vector, the nonzero activation columns in order (CSC over the vectors); per column, the
    count of vectors in which it is nonzero and their bit set."""
    lay = lt.layer
    ptrs, idxs, counts, bits = [np.zeros(1, np.int64)], [], [], []
    offset = 0
    for mask in lt.x_masks():
        ptr, idx, per_column, x_bits = _stream(mask)
        counts.append(per_column)
        bits.append(x_bits)
        idxs.append(idx)
        ptrs.append(offset + ptr[1:])
        offset += int(ptr[-1])
    x_ptr = np.concatenate(ptrs).astype(np.int64)
    x_idx = idxs[0] if len(idxs) == 1 else np.concatenate(idxs)
    return x_ptr, x_idx, np.stack(counts).astype(np.int64), np.stack(bits), lay.N


def vector_bits(mask: np.ndarray) -> np.ndarray:
    """``K x N`` nonzero mask -> ``K x words`` uint64: bit ``n`` of row ``k`` set when ``mask[k, n]``."""
    K, N = mask.shape
    packed = np.packbits(mask, axis=1, bitorder="little")
    words = -(-N // 64)
    out = np.zeros((K, words * 8), np.uint8)
    out[:, :packed.shape[1]] = packed
    return out.view("<u8").astype(np.uint64, copy=False)


class Lanes(NamedTuple):
    """The PEs the FIFO recurrence follows, one SIMD lane each, and what the others add."""
    cost: np.ndarray        # (tables, K, followed PEs): cycles per column slice, in the slack's integer width
    left_out: np.ndarray    # (tables, K) int32: the largest cost among the PEs left out


def _slack_dtype(cmax: int, depth: int):
    """The narrowest integer width that holds the recurrence's slacks for costs up to *cmax*
    (:func:`_broadcast_schedule`)."""
    span = (depth + 1) * max(cmax, 1) + 2
    for dtype in (np.int16, np.int32):
        if span <= np.iinfo(dtype).max:
            return dtype
    return np.int64


def _lanes(entries: np.ndarray, has_rows: np.ndarray, depth: int) -> Lanes:
    """The recurrence's view of the column slices (``entries[t, p, j]``): a PE spends ``max(1, entries)``
    cycles on a column slice, 0 where it owns no rows of the table. At depth >= 2 the PEs with no slice of
    two or more entries are left out (module docstring)."""
    T, P, K = entries.shape
    pe_max = np.where(has_rows > 0, entries.max(axis=2, initial=0), 0).max(axis=0)   # each PE's largest slice
    follow = pe_max > 1 if depth >= 2 else np.ones(P, np.bool_)
    cost = np.zeros((T, K, int(follow.sum())), _slack_dtype(int(pe_max[follow].max(initial=1)), depth))
    left_out = np.zeros((T, K), np.int32)
    _fill_lanes(entries, has_rows, follow, cost, left_out)
    return Lanes(cost, left_out)


def schedule(plan: EIEPlan, depth: int):
    """``(cycles, busy[p], broadcasts, full_stall_cycles)`` of *plan* with FIFOs of *depth*."""
    cycles, k, stall = _run_lanes(_lanes(plan.entries, plan.has_rows, depth), plan.x_ptr, plan.x_idx,
                                  plan.vectors, plan.rounds, depth)
    return cycles, plan.busy, k, stall


def run_schedule(cost: np.ndarray, x_ptr, x_idx, vectors: int, rounds: int, depth: int) -> tuple[int, int, int]:
    """``(cycles, broadcasts, full_stall_cycles)`` of the FIFO recurrence on ``cost`` (``tables x K x PEs``).

    At depth >= 2 the PEs whose costs are all at most one cycle are left out of the recurrence: they never
    hold the broadcast and finish one cycle after their last activation arrives (module docstring).
    """
    depth = int(depth)
    follow = cost.max(axis=(0, 1), initial=0) > 1 if depth >= 2 else np.ones(cost.shape[2], np.bool_)
    left_out = cost[:, :, ~follow].max(axis=2, initial=0).astype(np.int32)
    kept = cost[:, :, follow]
    dtype = _slack_dtype(int(kept.max(initial=0)), depth)
    lanes = Lanes(np.ascontiguousarray(kept, dtype=dtype), np.ascontiguousarray(left_out))
    return _run_lanes(lanes, np.asarray(x_ptr), np.asarray(x_idx), vectors, rounds, depth)


def _run_lanes(lanes: Lanes, x_ptr, x_idx, vectors: int, rounds: int, depth: int) -> tuple[int, int, int]:
    """``(cycles, broadcasts, full_stall_cycles)``. With no PE followed (no cost above one cycle, depth >= 2)
    the broadcast is never held: one activation a cycle, and the layer ends one cycle after the last one
    arrives plus the largest cost on it."""
    if lanes.cost.shape[2] == 0:
        k = x_idx.size * rounds
        if k == 0:
            return 0, 0, 0
        q = x_idx.size - 1                                   # the last broadcast: last round of its group
        g = (int(np.searchsorted(x_ptr, q, side="right")) - 1) // vectors
        return k + int(lanes.left_out[g * rounds + rounds - 1, x_idx[q]]), k, 0
    cycles, k, stall = _broadcast_schedule(lanes.cost, lanes.left_out, x_ptr, x_idx, vectors, rounds, int(depth))
    return int(cycles), int(k), int(stall)


@dataclass
class Work:
    """What one instance of a layer costs EIE, from either front end (a trace or the statistics)."""
    cycles: float
    busy: np.ndarray          # (pes,) busy cycles of each PE
    broadcasts: float
    full_stall: float         # cycles the broadcast was held by a full FIFO
    entries: float            # stored entries processed (padding included): the multiply-adds performed
    real: float               # of which real weights
    sram_reads: float         # sparse-matrix SRAM rows read
    ptr_reads: float          # activations reaching a PE that owns rows (two pointer reads each)
    empty: float              # pointer-read cycles on empty column slices
    act_elems: float          # source activations scanned by the leading-nonzero detectors
    vectors: int
    rounds: int
    K: int
    storage: Storage


def trace_work(plan: EIEPlan, sched) -> Work:
    """The counts of a trace's plan and its schedule."""
    cycles, busy, broadcasts, stall = sched
    R = plan.rounds
    done, useful, empty, _ = plan.work
    per_table = np.repeat(plan.x_count.sum(axis=1), R)          # activations broadcast per (group, round)
    return Work(cycles=float(cycles), busy=np.asarray(busy, np.float64), broadcasts=float(broadcasts),
                full_stall=float(stall), entries=float(done), real=float(useful),
                sram_reads=float(plan.sram_reads.sum()),
                ptr_reads=float((per_table * plan.has_rows.sum(axis=1)).sum()), empty=float(empty),
                act_elems=float(plan.groups * plan.vectors * R * plan.K), vectors=plan.vectors, rounds=R,
                K=plan.K, storage=plan.storage)


# ---- the statistical mode ----------------------------------------------------------------------------------------

#: broadcasts the statistical mode's sample of input vectors aims at (the FIFO schedule runs on it)
STATS_BROADCASTS = 1 << 16
#: nonzeros per column the sample keeps at least (so activation noise stays small beside the weights' spread)
STATS_MIN_HITS = 32
#: spread of the rows' magnitudes (log-normal sigma) before magnitude pruning: trained filters differ in scale,
#: so pruning leaves rows with unequal nonzero counts (Han et al., EIE, Sec. IV); accelsim's synthetic traces
#: draw their weights the same way (accelsim/traces/generate.py)
ROW_SCALE_SIGMA = 0.3

_DENSE, _BERNOULLI, _NM, _BLOCK, _CHANNEL = range(5)


class RowModel(NamedTuple):
    """How the rows of a pruned weight matrix are drawn (:func:`row_model`), as the numba kernel takes it."""
    kind: int              # one of _DENSE, _BERNOULLI, _NM, _BLOCK, _CHANNEL
    n: int                 # N of N:M; block height
    m: int                 # M of N:M; block width
    rows_kept: int         # channel pruning: whole rows kept


def row_model(pattern, density: float, Mg: int, rng: np.random.Generator,
              sigma: float = ROW_SCALE_SIGMA) -> tuple[RowModel, np.ndarray]:
    """``(model, q)``: how the ``Mg`` rows of a layer pruned with *pattern* at *density* are drawn, and each
    row's keep probability ``q`` (of an element, or of a block of its block-row), as magnitude pruning leaves
    weights whose rows differ in scale by a log-normal factor of spread *sigma* (docs/eie.md):

    * ``unstructured``: an element of a row of scale ``s`` survives when ``|z| s > t`` (``z`` standard
      normal): ``q = erfc(t / (s sqrt 2))``, ``t`` the layer's own threshold (mean ``q`` is *density*);
    * ``block:BHxBW``: a block survives when its squared norm ``sum_r s_r^2 chi2_BW`` exceeds the layer's
      threshold (Wilson-Hilferty's normal form of that gamma-like sum);
    * ``nm:N:M``: N of every M consecutive weights of a row, uniformly (the largest of i.i.d. values);
    * ``channel``: ``round(density * rows)`` whole rows, uniformly;
    * ``random`` (and ``balanced:G``): each weight kept with probability *density*.
    """
    kind = pattern.kind
    q = np.full(Mg, float(min(max(density, 0.0), 1.0)))
    if kind == "dense" or (density >= 1.0 and kind != "nm"):
        return RowModel(_DENSE, 0, 1, 0), np.ones(Mg)
    if kind == "nm":
        return RowModel(_NM, pattern.a, pattern.b, 0), q
    if kind == "channel":
        return RowModel(_CHANNEL, 0, 1, int(round(density * Mg))), q
    if kind == "unstructured" and 0.0 < density:
        s = np.exp(sigma * rng.standard_normal(Mg))
        t = _bisect(lambda t: float(_normal_sf(t / s).mean()) * 2.0, density)
        return RowModel(_BERNOULLI, 0, 1, 0), np.minimum(2.0 * _normal_sf(t / s), 1.0)
    if kind == "block" and 0.0 < density:
        bh, bw = pattern.a, pattern.b
        s2 = np.exp(2.0 * sigma * rng.standard_normal(Mg))
        pad = np.ones(-(-Mg // bh) * bh)
        pad[:Mg] = s2
        S2, S4 = (pad.reshape(-1, bh)).sum(axis=1), (pad.reshape(-1, bh) ** 2).sum(axis=1)
        mean, k = bw * S2, bw * S2 ** 2 / (2.0 * S4)          # the score's mean and gamma shape

        def kept(tau):
            z = (np.cbrt(tau / mean) - (1.0 - 1.0 / (9.0 * k))) / np.sqrt(1.0 / (9.0 * k))
            return _normal_sf(z)
        tau = _bisect(lambda tau: float(kept(tau).mean()), density, hi=1e4 * float(mean.max()))
        return RowModel(_BLOCK, bh, bw, 0), np.repeat(kept(tau), bh)[:Mg]
    return RowModel(_BERNOULLI, 0, 1, 0), q


@njit(cache=True)
def _normal_sf(z):
    """``P(Z > z)`` elementwise for a standard normal ``Z``."""
    out = np.empty(z.shape)
    for i in range(z.size):
        out.flat[i] = 0.5 * math.erfc(z.flat[i] / math.sqrt(2.0))
    return out


def _bisect(f, target: float, lo: float = 0.0, hi: float = 50.0) -> float:
    """``x`` in ``[lo, hi]`` with ``f(x) = target`` for a decreasing ``f``."""
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) > target else (lo, mid)
    return 0.5 * (lo + hi)


@njit(cache=True)
def _rand64(state):
    """64 random bits from splitmix64 (``state``: a one-element uint64 array, advanced): much cheaper than a
    Mersenne twister draw, and the statistical mode needs a few bits per weight."""
    z = state[0] + np.uint64(0x9E3779B97F4A7C15)
    state[0] = z
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@njit(cache=True)
def _uniform(state):
    """A uniform draw in [0, 1) (53 random bits)."""
    return float(_rand64(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _draw_row(model, K, cols, q, block_keep, state, combos):
    """The nonzero columns of one row (into ``cols``; returns how many): each element kept with probability
    ``q``, or N of every M, or the kept blocks of its block-row (``block_keep``). Where a draw needs little
    precision it takes 16 of a 64-bit draw's bits (a probability to 1/65536)."""
    n = 0
    kind = model.kind
    if kind == _NM:
        pick = np.empty(model.m, np.int64)
        z = np.uint64(0)
        left = 0                                     # 16-bit draws left in z
        C = combos.shape[0]
        for g0 in range(0, K, model.m):
            size = min(model.m, K - g0)
            if left == 0:
                z, left = _rand64(state), 4
            u = int(z & np.uint64(0xFFFF))
            z >>= np.uint64(16)
            left -= 1
            if size == model.m and C > 0:            # a whole group: one of its C(M, N) subsets
                c = (u * C) >> 16
                for i in range(model.n):
                    cols[n] = g0 + combos[c, i]
                    n += 1
                continue
            for i in range(size):
                pick[i] = i
            for i in range(min(model.n, size)):     # a short group: a partial shuffle picks N of it
                k = i + ((u * (size - i)) >> 16)
                pick[i], pick[k] = pick[k], pick[i]
                cols[n] = g0 + pick[i]
                n += 1
                if left == 0:
                    z, left = _rand64(state), 4
                u = int(z & np.uint64(0xFFFF))
                z >>= np.uint64(16)
                left -= 1
        return n
    if kind == _BLOCK:
        for b in range(block_keep.shape[0]):
            if block_keep[b]:
                for j in range(b * model.m, min(K, (b + 1) * model.m)):
                    cols[n] = j
                    n += 1
        return n
    if kind == _DENSE or q >= 1.0:
        for j in range(K):
            cols[j] = j
        return K
    if q <= 0.0:
        return 0
    if q > 0.2:                            # dense enough: a 16-bit comparison per element, no branch
        below = np.uint64(int(q * 65536.0))
        for j0 in range(0, K, 4):
            z = _rand64(state)
            for j in range(j0, min(j0 + 4, K)):
                cols[n] = j
                n += (z & np.uint64(0xFFFF)) < below
                z >>= np.uint64(16)
        return n
    lq = math.log1p(-q)
    j = -1
    while True:                            # sparse: geometric gaps between the kept columns
        j += 1 + int(math.floor(math.log(1.0 - _uniform(state)) / lq))
        if j >= K:
            return n
        cols[n] = j
        n += 1


def _subsets(model: RowModel) -> np.ndarray:
    """The N-of-M subsets of an N:M group (rows), when few enough to draw one from 16 random bits."""
    if model.kind != _NM or math.comb(model.m, model.n) > 4096:
        return np.zeros((0, max(model.n, 1)), np.int64)
    return np.array(list(itertools.combinations(range(model.m), model.n)), np.int64).reshape(-1, model.n)


def draw_column_entries(model, q, K, pes, regs, rounds, run_bits, seed, drawn_rounds=None):
    """Stored entries and nonzeros of every column slice, ``[round, pe, column]``, of a ``len(q) x K`` mask
    drawn row by row under *model* with row keep probabilities *q* (:func:`row_model`), never held whole:
    the statistical twin of :func:`_column_entries`. With *drawn_rounds* (at least 3 rounds), only the first
    and the last round are drawn and the first stands for the others: rounds are alike in distribution."""
    if drawn_rounds is None or rounds < 3:
        return _split(_draw_slices(model, q, K, pes, regs, rounds, run_bits, seed, np.ones(rounds, np.bool_),
                                   _subsets(model)))
    which = np.zeros(rounds, np.bool_)
    which[[0, rounds - 1]] = True
    ent, real = _split(_draw_slices(model, q, K, pes, regs, rounds, run_bits, seed, which, _subsets(model)))
    ent[1:-1], real[1:-1] = ent[0], real[0]
    return ent, real


@njit(cache=True)
def _draw_slices(model, q, K, pes, regs, rounds, run_bits, seed, drawn, combos):
    state = np.array([seed], np.uint64)
    Mg = q.size
    slices = _new_slices(rounds, pes, K)
    cols = np.empty(K, np.int64)
    block_keep = np.zeros((K + model.m - 1) // model.m if model.kind == _BLOCK else 0, np.bool_)
    rows_left = model.rows_kept
    seen = 0
    # PE by PE (a PE's slices stay in cache), except for blocks, whose rows share their block-row's draws
    by_pe = model.kind != _BLOCK
    for o in range(Mg):
        i = _pe_major_row(o, Mg, pes) if by_pe else o
        if not drawn[(i // pes) // regs] and model.kind != _BLOCK and model.kind != _CHANNEL:
            continue
        if model.kind == _BLOCK and i % model.n == 0:    # a new block-row: which of its blocks survive
            for b in range(block_keep.shape[0]):
                block_keep[b] = _uniform(state) < q[i]
        if model.kind == _CHANNEL:                      # selection sampling over the rows
            keep = _uniform(state) * (Mg - seen) < rows_left
            rows_left -= keep
            n = K if keep else 0
            for j in range(n):
                cols[j] = j
        else:
            n = _draw_row(model, K, cols, q[i], block_keep, state, combos)
        seen += 1
        li = i // pes
        r = li // regs
        _count_row(slices, r, i % pes, li - r * regs, cols, n, run_bits)
    return slices


@njit(cache=True)
def _pe_major_row(o, Mg, pes):
    """The ``o``-th row in PE-major order: all rows of PE 0 (0, pes, 2 pes, ...), then PE 1's, ..."""
    full = Mg // pes                     # rows every PE owns; the first ``Mg % pes`` PEs own one more
    extra = Mg % pes
    big = extra * (full + 1)             # rows of the PEs with one more
    if o < big:
        p, k = o // (full + 1), o % (full + 1)
    else:
        p, k = extra + (o - big) // full, (o - big) % full
    return k * pes + p


def column_act_density(layer, act_density: float) -> np.ndarray:
    """Expected density of each row of the ``K x N`` input matrix: *act_density* times the share of output
    positions at which the im2col entry falls inside the image (padding is zero)."""
    if not layer.is_conv or not layer.pad:
        return np.full(layer.K, float(act_density))

    def inside(size, out, k):
        pos = np.arange(out) * layer.stride + k - layer.pad
        return np.count_nonzero((pos >= 0) & (pos < size)) / out
    rows = np.array([inside(layer.H, layer.P, r) for r in range(layer.R)])
    cols = np.array([inside(layer.W, layer.Q, s) for s in range(layer.S)])
    per_c = np.outer(rows, cols).ravel()                     # (r, s) order, as im2col's rows
    return np.tile(per_c, layer.K // per_c.size) * float(act_density)


def stats_work(ls, p: EIEParams) -> Work:
    """The counts of a layer from its shapes and densities (:class:`~accelsim.traces.stats.LayerStats`).

    One group's weights are drawn slice by slice (:func:`draw_column_entries`); everything linear in the
    activations takes its expectation from that table (column ``j`` nonzero with probability ``a_j``); the
    FIFO schedule and the SRAM row buffer run on a sample of input vectors, and the cycles they add beyond
    the mean PE work (imbalance, bubbles) are scaled to the layer's vectors.
    """
    lay = ls.layer
    fmt = p.weight_encoder()
    run_bits = _csc_run_bits(fmt)
    if run_bits is None:
        raise ModelError(f"eie: the statistical mode counts column slices of a csc weight format with a fixed "
                         f"index width; got '{p.weight_format.text()}' (run it on a trace)")
    G, Mg, K, N = lay.groups, lay.rows_per_group, lay.K, lay.N
    pes, regs = p.pes, p.act_regs_per_pe
    rounds = max(1, -(-(-(-Mg // pes)) // regs))
    rng = np.random.default_rng([int(ls.seed), zlib.crc32(lay.name.encode())])   # a stream per layer
    model, q = row_model(ls.pattern, ls.weight_density, Mg, rng)
    ent, real = draw_column_entries(model, q, K, pes, regs, rounds, run_bits, int(rng.integers(1 << 31)),
                                    drawn_rounds=2)
    has_rows = (_rows_per_round(Mg, pes, regs, rounds) > 0).astype(np.int32)
    storage = _drawn_storage(fmt, ent, real, has_rows, K, G, min(regs, -(-Mg // pes)))
    epr = max(1, p.spmat_sram_width_bits // sum(_entry_split(fmt, min(regs, -(-Mg // pes)))))
    # expectations over the activations: column j nonzero in a vector with probability a_j
    a_col = column_act_density(lay, ls.act_density)
    done, useful, empty, busy = _slice_work(ent, real, has_rows, np.tile(a_col, (rounds, 1)) * N)
    # the sample: enough vectors for STATS_BROADCASTS broadcasts, at least STATS_MIN_HITS nonzeros per column
    per_vector = max(float(a_col.sum()) * rounds, 1e-9)
    vectors = int(min(N, max(math.ceil(STATS_BROADCASTS / per_vector),
                             math.ceil(STATS_MIN_HITS / max(float(a_col.mean()), 1e-9)), 1)))
    mask = rng.random((K, vectors)) < a_col[:, None]
    ptr, x_idx, hits, bits = _stream(mask)
    s_cycles, s_broadcasts, s_stall = _run_lanes(_lanes(ent, has_rows, p.fifo_depth), ptr, x_idx, vectors, rounds,
                                                 p.fifo_depth)
    _, _, _, s_busy = _slice_work(ent, real, has_rows, np.tile(hits, (rounds, 1)))
    s_reads = _row_reads(ent, epr, bits[None], hits[None], rounds)
    scale = G * N / vectors
    # the layer's mean work is the expectation; what the schedule adds beyond the sample's mean scales with it
    mean = float(busy.mean()) * G
    s_mean = float(s_busy.mean())
    extra_busy = (s_busy - s_mean) * scale
    cycles = mean + max(s_cycles - s_mean, 0.0) * scale if s_broadcasts else 0.0
    expected_broadcasts = float(a_col.sum()) * rounds * N * G
    return Work(cycles=cycles, busy=mean + extra_busy, broadcasts=expected_broadcasts,
                full_stall=s_stall * scale, entries=float(done) * G, real=float(useful) * G,
                sram_reads=float(s_reads.sum()) * scale,
                ptr_reads=float(a_col.sum()) * N * G * float(has_rows.sum()), empty=float(empty) * G,
                act_elems=float(G * N * rounds * K), vectors=N, rounds=rounds, K=K, storage=storage)


def _drawn_storage(fmt, ent, real, has_rows, K, G, rows) -> Storage:
    """The drawn slices' storage (one group's, times ``G``), priced per entry and per pointer by the encoder:
    the bits of one stored entry in a slice of *rows* rows, and the pointer width of the widest slice."""
    vb, ib = _entry_split(fmt, rows)
    nnz, stored = float(real.sum(dtype=np.int64)) * G, float(ent.sum(dtype=np.int64)) * G
    pe_bits = ent.sum(axis=(0, 2), dtype=np.int64).astype(np.float64) * G * (vb + ib)
    ptr_width = _pointer_width(fmt, int(ent.sum(axis=2, dtype=np.int64).max(initial=0)))
    pe_ptr = has_rows.sum(axis=0).astype(np.float64) * G * (K + 1) * ptr_width
    return Storage(nnz=nnz, padding_entries=stored - nnz, value_bits=stored * vb, index_bits=stored * ib,
                   pointer_bits=float(pe_ptr.sum()), ptr_width=ptr_width, pe_bits=pe_bits, pe_pointer_bits=pe_ptr)


def _pointer_width(fmt, entries: int) -> int:
    """The encoder's pointer width for a slice of *entries* stored entries (a one-column slice of that many)."""
    enc = _measure(fmt, np.ones((max(entries, 1), 1), np.bool_))
    return int(enc.breakdown.get("pointers", 0)) // 2


@register
class EIE(ArchModel):
    name = "eie"
    description = "EIE: interleaved CSC over PEs, broadcast of nonzero activations through FIFOs (ISCA 2016)"
    Params = EIEParams

    def simulate(self, lt, p: EIEParams) -> LayerResult:
        plan = plan_layer(lt, p)
        return self.result(lt.layer, p, trace_work(plan, schedule(plan, p.fifo_depth)))

    def simulate_stats(self, ls, p: EIEParams) -> LayerResult:
        """Expected values from shapes and densities: :func:`stats_work` fed to the same :meth:`result`."""
        res = self.result(ls.layer, p, stats_work(ls, p))
        res.extra["statistical"] = True
        return res

    def hardware(self, p: EIEParams) -> Hardware:
        """One PE's hardware (Sec. IV, Fig. 4b; Table II's modules) times ``pes``, the detector tree, DRAM.

        Table II splits the PE's area into memory, registers (flip-flops) and combinational logic; the
        logic below is what Sec. IV describes, at the widths it gives: pointer-bank addressing (the LSB of
        ``j`` picks the bank; ``p_j == p_j+1`` marks an empty slice), the sparse-matrix read's pointer
        counter and 8-to-1 entry select, the weight decoder's codebook lookup, the row-address accumulation
        and adder bypass, the register files' read ports and ReLU, the FIFO's head/tail control and head
        select, and one value-wide selection path per leading-nonzero node.
        """
        n, vb, regs = p.pes, p.value_bits, p.act_regs_per_pe
        fmt = p.weight_format
        entry_bits = stored_entry_bits(p)
        ptr_w = int(fmt.kwargs.get("ptr_bits") or PAPER_PTR_BITS)
        q_w, jb, rb = fifo_entry_bits(p), act_index_bits(p), address_bits(regs)
        per_row = max(1, p.spmat_sram_width_bits // entry_bits)
        memories = [
            Memory("spmat_sram", "sram", p.spmat_sram_bytes, n, p.spmat_sram_width_bits,
                   operands=("weights", "indices"), format=fmt),
            Memory("ptr_sram", "sram", p.ptr_sram_bytes / 2, 2 * n, ptr_w, operands=("pointers",), format=fmt),
            Memory("act_sram", "sram", p.act_sram_bytes, n, vb, operands=("inputs", "outputs")),
            Memory("act_rf", "rf", regs * vb / 8, 2 * n, vb, operands=("inputs", "outputs", "psums")),
            Memory("codebook", "rf", p.codebook_entries * vb / 8, n, vb, operands=("codebook",)),
            Memory("act_queue", "fifo", p.fifo_depth * q_w / 8, n, q_w, operands=("inputs",)),
        ]
        logic = [
            Logic("ptr_addr", "index", n * ((jb - 1) + ptr_w)),            # bank address incrementer, p_j == p_j+1
            Logic("ptr_swap", "mux", n * 2 * ptr_w),                       # even/odd bank outputs to start/end
            Logic("spmat_addr", "index", n * 2 * ptr_w),                   # pointer counter and end compare
            Logic("spmat_select", "mux", n * (per_row - 1) * entry_bits),  # one entry of the 64-bit row
            Logic("weight_decoder", "mux", n * ((p.codebook_entries - 1) * vb + vb)),  # codebook read, bypass
            Logic("arith_addr", "index", n * 2 * rb),                      # running row address, bypass compare
            Logic("act_ports", "mux", n * (2 * (regs - 1) * vb + vb)),     # source/destination read ports, ReLU
            Logic("queue_select", "mux", n * (p.fifo_depth - 1) * q_w),    # head entry of the FIFO
            Logic("queue_ctrl", "control", n * 3 * address_bits(p.fifo_depth)),  # head, tail, full/empty
            Logic("lnzd", "index", lnzd_nodes(n) * vb),                    # leading-nonzero detection tree
        ]
        return Hardware(compute=[Compute("mac", "mac", n, vb, acc_bits=vb)], memories=memories, logic=logic,
                        dram=Dram(p.dram_bytes_per_cycle,
                                  "params.dram_bytes_per_cycle; the paper keeps the model on chip and gives no "
                                  "DRAM (the shipped config's 8 B/cycle is an assumption, see eie.yaml)"))

    def result(self, lay, p: EIEParams, w: Work) -> LayerResult:
        """The layer's :class:`LayerResult` from its counts (both front ends)."""
        hw = self.hardware(p)
        mem = hw.memory
        vb, pes = p.value_bits, p.pes
        st = w.storage
        from_sram = w.K > pes * p.act_regs_per_pe
        q_bits = w.broadcasts * pes * fifo_entry_bits(p)

        acts = ActionCounts()
        acts.read(mem("spmat_sram"), w.sram_reads * p.spmat_sram_width_bits)
        acts.read(mem("ptr_sram"), w.ptr_reads * 2 * st.ptr_width)
        acts.read(mem("codebook"), w.entries * vb)
        acts.mac(w.entries, bits=vb, acc_bits=vb, component="mac")
        acts.read(mem("act_rf"), w.entries * vb)                     # destination register: read ...
        acts.write(mem("act_rf"), w.entries * vb)                    # ... and write back
        acts.read(mem("act_sram" if from_sram else "act_rf"), w.act_elems * vb)
        out_bits = lay.M * w.vectors * vb if w.rounds > 1 else 0     # each round's outputs leave the registers
        if out_bits:
            acts.write(mem("act_sram"), out_bits)
        acts.write(mem("act_queue"), q_bits)
        acts.read(mem("act_queue"), q_bits)
        acts.wire(q_bits, component="noc")                           # the broadcast H-tree
        acts.index(w.act_elems, component="lnzd")
        spill_bits = float(np.maximum(st.pe_bits - 8 * p.spmat_sram_bytes, 0).sum()
                           + np.maximum(st.pe_pointer_bits - 8 * p.ptr_sram_bytes, 0).sum())
        dram = spill_bits / 8 * w.vectors   # what does not fit is streamed in for every vector
        if dram:
            acts.dram(dram, component="dram")
        sram_bytes = (w.sram_reads * p.spmat_sram_width_bits + w.ptr_reads * 2 * st.ptr_width
                      + (w.act_elems * vb if from_sram else 0) + out_bits) / 8

        busy = np.asarray(w.busy, np.float64)
        max_busy = float(busy.max(initial=0.0))
        mean_busy = float(busy.mean()) if busy.size else 0.0
        cycles = float(w.cycles)
        losses = {"index": w.empty / pes, "load_imbalance": max_busy - mean_busy, "fifo_bubble": cycles - max_busy}
        stored = st.stored_entries
        idle = cycles - busy
        totals = {
            "broadcasts": w.broadcasts,
            "fifo_full_stall_cycles": w.full_stall,
            "pe_idle_cycles_mean": float(idle.mean()) if cycles else 0.0,
            "pe_idle_cycles_max": float(idle.max(initial=0.0)) if cycles else 0.0,
            "padding_entries": st.padding_entries,
            "stored_entries": stored,
            "processed_entries": w.entries,
            "empty_slice_cycles": w.empty,
            "spmat_sram_reads": w.sram_reads,
        }
        extra = {
            "mode": "conv-as-spmv" if lay.is_conv else "spmv",
            "vectors": int(w.vectors),
            "rounds": int(w.rounds),
            "broadcast_rate": w.broadcasts / cycles if cycles else 0.0,
            "load_balance_efficiency": mean_busy / cycles if cycles else 1.0,
            "padding_fraction": st.padding_entries / stored if stored else 0.0,
            "padding_work_fraction": (w.entries - w.real) / w.entries if w.entries else 0.0,
            "pe_storage_bits_max": float(st.pe_bits.max(initial=0.0)),
            "fits_on_chip": spill_bits == 0,
            "weight_format": p.weight_format.text(),
            "fifo_depth": int(p.fifo_depth),
            "pes": int(pes),
        }
        return LayerResult(cycles=cycles, freq_hz=p.freq_hz, macs_performed=w.entries, peak_macs_per_cycle=pes,
                           losses=losses, pe_busy=busy, actions=acts, weight_bits=st.value_bits,
                           metadata_bits=st.index_bits + st.pointer_bits, dram_bytes=dram, sram_bytes=sram_bytes,
                           totals=totals, extra=extra)


__all__ = ["EIE", "EIEParams", "EIEPlan", "Work", "plan_layer", "run_schedule", "schedule", "step_cycles",
           "trace_work"]
