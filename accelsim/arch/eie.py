"""``eie``: EIE, the Efficient Inference Engine on compressed deep neural networks.

What it models (Han et al., "EIE: Efficient Inference Engine on Compressed
Deep Neural Network", ISCA 2016, Sec. III-IV), cycle by cycle on the actual
trace:

* **Storage (Sec. III-B).** Row ``i`` of ``W`` belongs to PE ``i mod pes``.
  Each PE holds its rows in CSC: per column, a list of (4-bit codebook index,
  4-bit relative row index) entries with a padding entry (a zero weight)
  whenever a run of zeros exceeds 15, plus column pointers. Every PE's slice
  goes through the formats encoder named by ``weight_format`` and its
  parameters (``csc``, ``value_bits=4, index_bits=4, index_mode=relative`` as
  published), which gives the stored entries (real + padding), value, index
  and pointer bits. The per-column entry counts the PEs walk are the
  encoder's column pointers; for EIE's own format they are taken in one
  numba pass over the layer and checked, slice by slice, against the
  encoder's totals (same machine either way, tested).
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
VI-B). The simulation runs the exact event recurrence of these rules, one
step per (broadcast, PE) instead of per cycle::

    A_k     = max(A_{k-1} + 1, max_p F_p[k - depth])     broadcast cycle of activation k
    S_p[k]  = max(F_p[k-1], A_k + 1)                      PE p starts it
    F_p[k]  = S_p[k] + cost_p[k]                          ... and is free again

Reported: cycles, per-PE busy and idle (bubble) cycles, the paper's
load-balance efficiency ``1 - bubble cycles / total cycles`` (averaged over
PEs, Sec. VI-B), padding entries (stored) and the padding share of the work,
the broadcast rate, cycles the broadcast was held by a full FIFO.

Energy from action counts (Sec. IV, V; priced by the config's table):
sparse-matrix SRAM reads of ``spmat_sram_width_bits`` (8 entries per 64-bit
read, a slice crossing a row boundary costs another read), two pointer reads
per activation per PE (one per bank), a codebook lookup and a 16-bit
multiply-accumulate per entry (padding included: the hardware multiplies by
the zero), a read and a write of the destination register per entry, source
activation reads by the leading-nonzero detectors, the FIFO write and read
and the broadcast wires per activation and PE, activation-SRAM traffic for
vectors longer than the register files.

What it leaves out, and assumptions where the paper is silent (to our reading):

* Pipeline fill and drain of the PE (a few cycles per layer) and the
  leading-nonzero tree latency: constant offsets, not modelled.
* The broadcast is one activation per cycle in index order; the bypass path
  for back-to-back accumulations into the same register needs no stall.
* Round and vector boundaries need no barrier (a PE writes its 64
  accumulators back while it starts the next round).
* A PE that owns no rows of a round (fewer outputs than PEs) drops its
  activations without spending a cycle; every other PE spends at least one.
* Weights are assumed resident in the sparse-matrix and pointer SRAMs. What
  a PE's slice holds beyond their capacity (``fits_on_chip`` false) is
  charged as a DRAM read for every input vector - for energy, not for time.
  With the paper's sizes this happens to VGG-6: 25,089 column pointers per PE
  do not fit a 32 KB pointer SRAM.
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

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numba import njit

from ..config import positive
from ..energy import ActionCounts
from ..errors import ConfigError, FormatError, ModelError
from ..results import LayerResult
from .base import ArchModel, register


@dataclass
class EIEParams:
    #: processing elements (Sec. V: 64)
    pes: int = positive(64)
    #: clock (Sec. V: 800 MHz)
    freq_hz: float = positive(800e6)
    #: activation FIFO entries per PE (Sec. VI-B, Fig. 8: depth 8)
    fifo_depth: int = positive(8)
    #: destination activation registers per PE (Sec. IV: 64 x 16-bit)
    act_regs_per_pe: int = positive(64)
    #: sparse-matrix SRAM per PE (128 KB of the PE's 162 KB, Sec. V-VI) and its width (Sec. VI-A, Fig. 9: 64 bits)
    spmat_sram_bytes: int = positive(128 * 1024)
    spmat_sram_width_bits: int = positive(64)
    #: pointer SRAM per PE, two banks (Sec. IV: 2 x 16 KB)
    ptr_sram_bytes: int = positive(32 * 1024)
    #: activation SRAM per PE for vectors longer than the register files (Sec. IV: 2 KB)
    act_sram_bytes: int = positive(2 * 1024)
    #: shared-weight codebook entries (Sec. III-A: 4-bit index, 16 shared weights)
    codebook_entries: int = positive(16)
    #: datapath width after the codebook (Sec. VI-A, Fig. 10: 16-bit fixed point)
    arith_bits: int = field(default=16, metadata={"min": 1, "max": 64})
    #: the weight storage: a formats encoder with column pointers and its parameters
    weight_format: str = "csc"
    value_bits: int = field(default=4, metadata={"min": 1, "max": 64})
    index_bits: int | None = field(default=4, metadata={"min": 1, "max": 32})
    index_mode: Literal["absolute", "relative"] = "relative"
    #: pointer width; None lets the encoder use as many bits as the slice needs (the paper's are 16)
    ptr_bits: int | None = field(default=None, metadata={"min": 1, "max": 64})

    def validate(self):
        if self.pes > 4096:
            raise ConfigError(f"'params.pes' must be <= 4096, got {self.pes}")
        if self.fifo_depth > 65536:
            raise ConfigError(f"'params.fifo_depth' must be <= 65536, got {self.fifo_depth}")
        if self.act_regs_per_pe > 65536:
            raise ConfigError(f"'params.act_regs_per_pe' must be <= 65536, got {self.act_regs_per_pe}")

    def weight_encoder(self):
        """The configured format with those of value_bits, index_bits, index_mode, ptr_bits it takes."""
        from ..formats import get_format
        wanted = {"value_bits": self.value_bits, "index_bits": self.index_bits, "index_mode": self.index_mode,
                  "ptr_bits": self.ptr_bits}
        try:
            accepted = {f.name for f in dataclasses.fields(get_format(self.weight_format).p)}
            return get_format(self.weight_format, **{k: v for k, v in wanted.items() if k in accepted})
        except (FormatError, ConfigError) as e:
            raise ConfigError(f"params.weight_format '{self.weight_format}': {e}") from None


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
def _column_entries(mask, pes, regs, rounds, span):
    """Stored entries and nonzeros of every column slice, ``[round, pe, column]``, in one pass over ``mask``.

    EIE's CSC rule (Sec. III-B): an entry's relative index counts the zeros
    since the previous entry of its column slice (or the slice start); a run
    of ``g`` zeros needs ``g // span`` padding entries before it (``span = 0``:
    absolute indices, no padding). Checked slice by slice against the
    formats encoder by the caller.
    """
    M, K = mask.shape
    entries = np.zeros((rounds, pes, K), np.int32)
    real = np.zeros((rounds, pes, K), np.int32)
    last = np.full((rounds, pes, K), -1, np.int32)
    nz = np.empty(K, np.int64)
    for i in range(M):
        p = i % pes
        li = i // pes
        r = li // regs
        c = li - r * regs
        row = mask[i]
        n = 0
        for j in range(K):           # branch-free gather of the row's nonzero columns
            nz[n] = j
            n += row[j]
        for q in range(n):
            j = nz[q]
            if span > 0:
                entries[r, p, j] += 1 + (c - last[r, p, j] - 1) // span
                last[r, p, j] = c
            else:
                entries[r, p, j] += 1
            real[r, p, j] += 1
    return entries, real


@njit(cache=True)
def _broadcast_schedule(cost, x_ptr, x_idx, vectors, rounds, depth):
    """The FIFO recurrence over the activation stream (module docstring).

    ``cost[g * rounds + r, p, j]``: cycles PE ``p`` spends on column ``j`` in
    round ``r`` of group ``g``. The stream is, for each group ``g`` and vector
    ``n`` (``x_ptr[g * vectors + n]`` .. ``+1`` into ``x_idx``: the vector's
    nonzero columns in order), for each round, every nonzero column.

    Returns ``(cycles, busy[p], broadcasts, full_stall_cycles)``.
    """
    T, P, K = cost.shape
    groups = T // rounds
    ring = np.zeros((P, depth), np.int64)      # F_p of the activation `depth` broadcasts back
    fin = np.zeros(P, np.int64)                # F_p of the last activation
    busy = np.zeros(P, np.int64)
    a_prev = -1
    k = 0
    stall = 0
    for g in range(groups):
        for n in range(vectors):
            lo = x_ptr[g * vectors + n]
            hi = x_ptr[g * vectors + n + 1]
            for r in range(rounds):
                t = g * rounds + r
                for q in range(lo, hi):
                    j = x_idx[q]
                    slot = k % depth
                    a = a_prev + 1
                    if k >= depth:
                        for p in range(P):
                            if ring[p, slot] > a:
                                a = ring[p, slot]
                    stall += a - (a_prev + 1)
                    for p in range(P):
                        c = cost[t, p, j]
                        s = fin[p] if fin[p] > a + 1 else a + 1
                        f = s + c
                        fin[p] = f
                        ring[p, slot] = f
                        busy[p] += c
                    a_prev = a
                    k += 1
    total = 0
    for p in range(P):
        if fin[p] > total:
            total = fin[p]
    if k > 0 and a_prev + 1 > total:
        total = a_prev + 1
    return total, busy, k, stall


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
class EIEPlan:
    """Everything about one layer that does not depend on the FIFO depth: the encoded PE slices and the stream."""
    entries: np.ndarray        # (groups * rounds, pes, K) stored entries of each column slice
    real: np.ndarray           # (groups * rounds, pes, K) of which nonzero weights (the rest is padding)
    sram_rows: np.ndarray      # (groups * rounds, pes, K) sparse-matrix SRAM rows each slice touches
    has_rows: np.ndarray       # (groups * rounds, pes) whether the PE owns rows in that round
    x_ptr: np.ndarray          # (groups * vectors + 1,) into x_idx
    x_idx: np.ndarray          # nonzero activation columns of each vector, in order
    x_count: np.ndarray        # (groups, K) vectors in which each column is nonzero
    groups: int
    rounds: int
    vectors: int
    K: int
    M_group: int
    nnz: int
    padding_entries: int
    value_bits: int
    index_bits_total: int
    pointer_bits: int
    ptr_width: int
    pe_storage_bits: np.ndarray  # (pes,) values + indices per PE (all groups and rounds)
    pe_pointer_bits: np.ndarray  # (pes,)

    def costs(self) -> np.ndarray:
        """Cycles each PE spends per column: ``max(1, entries)``, 0 where the PE owns no rows of the round."""
        c = np.maximum(self.entries, 1).astype(np.int32)
        c *= self.has_rows[:, :, None]
        return c


def plan_layer(lt, p: EIEParams) -> EIEPlan:
    """Encode every PE slice of *lt*'s weights with the configured format and index the activation stream.

    Each PE slice of each round goes through the encoder. For EIE's own format
    (``csc`` with a fixed index width) the per-column entry counts come from a
    single numba pass over the layer (:func:`_column_entries`) and every
    slice's totals are checked against the encoder's ``measure`` of it; any
    other format is encoded in full and its column pointers give the counts.
    """
    lay = lt.layer
    fmt = p.weight_encoder()
    span = _csc_span(fmt)
    G = lay.groups
    Mg, K = lay.rows_per_group, lay.K
    pes, regs = p.pes, p.act_regs_per_pe
    rows_per_pe = -(-Mg // pes)
    rounds = max(1, -(-rows_per_pe // regs))
    width = max(1, min(regs, rows_per_pe))
    shape = (G * rounds, pes, K)
    entries = np.zeros(shape, np.int64)
    real = np.zeros(shape, np.int64)
    has_rows = np.zeros((G * rounds, pes), np.int32)
    pe_store = np.zeros(pes, np.int64)
    pe_ptr = np.zeros(pes, np.int64)
    nnz = pads = vbits = ibits = pbits = ptr_width = 0
    for g in range(G):
        wg = np.ascontiguousarray(lt.group_weight(g))
        if span is not None:
            mask = wg != 0
            ent_g, real_g = _column_entries(mask, pes, regs, rounds, span)
        else:
            layout = _pe_major_mask(wg, pes, regs, rounds, width)
        for r in range(rounds):
            t = g * rounds + r
            for pe in range(pes):
                n_rows = _rows_in_round(Mg, pes, regs, pe, r)
                if n_rows <= 0:
                    continue
                has_rows[t, pe] = 1
                if span is not None:
                    enc = _measure_slice(fmt, mask[pe::pes][r * regs:r * regs + n_rows])
                    if enc.stored_entries != ent_g[r, pe].sum() or enc.nnz != real_g[r, pe].sum():
                        raise ModelError(f"eie: column counts of PE {pe} disagree with the '{fmt.name}' encoder "
                                         f"({ent_g[r, pe].sum()} vs {enc.stored_entries} entries)")
                    entries[t, pe] = ent_g[r, pe]
                    real[t, pe] = real_g[r, pe]
                else:
                    block = layout[pe, r, :, :n_rows]        # K x rows: the slice, transposed
                    enc = _encode_slice(fmt, block.T, K)
                    ptr = np.asarray(enc.payload["ptr"], dtype=np.int64)
                    entries[t, pe] = np.diff(ptr)
                    real[t, pe] = _real_per_column(enc, ptr, block)
                idx_bits = int(enc.breakdown.get("indices", 0))
                ptr_total = int(enc.breakdown.get("pointers", 0))
                nnz += int(enc.nnz)
                pads += int(enc.padding_entries)
                vbits += int(enc.value_bits)
                ibits += idx_bits
                pbits += ptr_total
                ptr_width = max(ptr_width, ptr_total // (K + 1))
                pe_store[pe] += int(enc.value_bits) + idx_bits
                pe_ptr[pe] += ptr_total
    stored = nnz + pads
    # entries per SRAM row from the encoder's bits per stored entry (EIE: 8 bits, 8 entries per 64-bit row)
    epr = max(1, p.spmat_sram_width_bits * stored // (vbits + ibits)) if stored else 1
    x_ptr, x_idx, x_count, vectors = _activation_stream(lt)
    return EIEPlan(entries=entries, real=real, sram_rows=_sram_rows(entries, epr), has_rows=has_rows, x_ptr=x_ptr,
                   x_idx=x_idx, x_count=x_count, groups=G, rounds=rounds, vectors=vectors, K=K, M_group=Mg,
                   nnz=nnz, padding_entries=pads, value_bits=vbits, index_bits_total=ibits, pointer_bits=pbits,
                   ptr_width=ptr_width, pe_storage_bits=pe_store, pe_pointer_bits=pe_ptr)


def _csc_span(fmt) -> int | None:
    """For EIE's own format, the zero run one entry covers (``2**index_bits`` relative, 0 = no padding for
    absolute indices), so that column counts can be taken in one pass; None for any other encoder."""
    if fmt.name != "csc" or not hasattr(fmt, "measure"):
        return None
    mode, bits = getattr(fmt.p, "index_mode", None), getattr(fmt.p, "index_bits", None)
    if mode == "absolute":
        return 0
    if mode == "relative" and bits is not None:
        return 1 << int(bits)
    return None


def _sram_rows(entries: np.ndarray, epr: int) -> np.ndarray:
    """Sparse-matrix SRAM rows each column slice touches: a PE's slices are stored one after another
    (round by round, column by column), ``epr`` entries to a row."""
    T, P, K = entries.shape
    flat = entries.transpose(1, 0, 2).reshape(P, T * K)
    end = np.cumsum(flat, axis=1)
    start = end - flat
    rows = np.where(flat > 0, (end - 1) // epr - start // epr + 1, 0)
    return np.ascontiguousarray(rows.reshape(P, T, K).transpose(1, 0, 2))


def _rows_in_round(Mg: int, pes: int, regs: int, pe: int, r: int) -> int:
    """Local rows of PE *pe* that fall in round *r*."""
    owned = (Mg - pe + pes - 1) // pes if pe < Mg else 0
    return max(0, min(regs, owned - r * regs))


def _real_per_column(enc, ptr: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Nonzero weights among each column's stored entries (the rest are padding zeros)."""
    vals = enc.payload.get("values")
    if vals is not None and len(vals) == ptr[-1]:
        c = np.concatenate(([0], np.cumsum(np.asarray(vals) != 0)))
        return c[ptr[1:]] - c[ptr[:-1]]
    return np.count_nonzero(block, axis=1)


def _measure_slice(fmt, rows_by_k: np.ndarray):
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
    """Per group and vector, the nonzero activation columns (CSC over the vectors), and per-column counts."""
    lay = lt.layer
    ptrs, idxs, counts = [np.zeros(1, np.int64)], [], []
    offset = 0
    vectors = lay.N
    for g in range(lay.groups):
        x = lt.x_gemm(g)
        nz = x != 0
        counts.append(np.count_nonzero(nz, axis=1))
        n_idx, j_idx = np.nonzero(nz.T)           # sorted by vector, then column
        per_vec = np.bincount(n_idx, minlength=vectors)
        ptrs.append(offset + np.cumsum(per_vec))
        idxs.append(j_idx.astype(np.int64))
        offset += j_idx.size
    x_ptr = np.concatenate(ptrs).astype(np.int64)
    x_idx = np.concatenate(idxs) if idxs else np.zeros(0, np.int64)
    return x_ptr, x_idx, np.stack(counts).astype(np.int64), vectors


def schedule(plan: EIEPlan, depth: int):
    """``(cycles, busy[p], broadcasts, full_stall_cycles)`` of *plan* with FIFOs of *depth*."""
    cycles, busy, k, stall = _broadcast_schedule(plan.costs(), plan.x_ptr, plan.x_idx, plan.vectors,
                                                 plan.rounds, int(depth))
    return int(cycles), busy, int(k), int(stall)


@register
class EIE(ArchModel):
    name = "eie"
    description = "EIE: interleaved CSC over PEs, broadcast of nonzero activations through FIFOs (ISCA 2016)"
    Params = EIEParams

    def simulate(self, lt, p: EIEParams) -> LayerResult:
        plan = plan_layer(lt, p)
        cycles, busy, broadcasts, stall = schedule(plan, p.fifo_depth)
        return self.result(lt, p, plan, cycles, busy, broadcasts, stall)

    def result(self, lt, p: EIEParams, plan: EIEPlan, cycles: int, busy: np.ndarray, broadcasts: int,
               full_stall: int) -> LayerResult:
        lay = lt.layer
        G, R = plan.groups, plan.rounds
        cnt = plan.x_count                                           # (G, K)
        cnt_t = np.repeat(cnt, R, axis=0)                            # (G*R, K): activations per (g, r, column)
        entries_done = int(np.einsum("tk,tpk->", cnt_t, plan.entries))
        sram_reads = int(np.einsum("tk,tpk->", cnt_t, plan.sram_rows))
        live = plan.has_rows.astype(np.int64)                        # (G*R, pes)
        ptr_reads = int((cnt_t.sum(axis=1) * live.sum(axis=1)).sum())  # activations reaching a PE with rows
        empty = int(np.einsum("tk,tpk->", cnt_t, (plan.entries == 0) & (live[:, :, None] > 0)))
        padding_done = entries_done - int(np.einsum("tk,tpk->", cnt_t, plan.real))
        ab = p.arith_bits
        jbits = max(1, math.ceil(math.log2(max(plan.K, 2))))
        act_vec_elems = G * plan.vectors * R * plan.K                # source activations scanned
        from_sram = plan.K > p.pes * p.act_regs_per_pe
        rf_bytes = p.act_regs_per_pe * ab // 8

        acts = ActionCounts()
        acts.sram(sram_reads * p.spmat_sram_width_bits, p.spmat_sram_bytes, component="spmat_sram")
        acts.sram(ptr_reads * 2 * plan.ptr_width, p.ptr_sram_bytes // 2, component="ptr_sram")
        acts.rf(entries_done * ab, p.codebook_entries * ab // 8, component="codebook")
        acts.mac(entries_done, bits=ab, acc_bits=ab, component="mac")
        acts.rf(entries_done * 2 * ab, rf_bytes, component="act_rf")
        if from_sram:
            acts.sram(act_vec_elems * ab, p.act_sram_bytes, component="act_sram")
        else:
            acts.rf(act_vec_elems * ab, rf_bytes, component="act_rf")
        if R > 1:   # outputs beyond the register files go to the activation SRAM, round by round
            acts.sram(lay.M * plan.vectors * ab, p.act_sram_bytes, component="act_sram")
        fifo_entry = ab + jbits
        acts.rf(2 * broadcasts * p.pes * fifo_entry, max(1, p.fifo_depth * fifo_entry // 8), component="act_queue")
        acts.wire(broadcasts * p.pes * fifo_entry, component="noc")
        acts.index(act_vec_elems, component="lnzd")
        spill_bits = (np.maximum(plan.pe_storage_bits - 8 * p.spmat_sram_bytes, 0).sum()
                      + np.maximum(plan.pe_pointer_bits - 8 * p.ptr_sram_bytes, 0).sum())
        fits = bool(spill_bits == 0)
        dram = float(spill_bits) / 8 * plan.vectors   # what does not fit is streamed in for every vector
        if dram:
            acts.dram(dram, component="dram")
        sram_traffic = (sram_reads * p.spmat_sram_width_bits + ptr_reads * 2 * plan.ptr_width
                        + (act_vec_elems * ab if from_sram else 0) + (lay.M * plan.vectors * ab if R > 1 else 0)) / 8

        busy = np.asarray(busy, dtype=np.int64)
        max_busy = int(busy.max(initial=0))
        idle = cycles - busy
        stored = plan.nnz + plan.padding_entries
        extra = {
            "mode": "conv-as-spmv" if lay.is_conv else "spmv",
            "vectors": int(plan.vectors),
            "rounds": int(R),
            "broadcasts": int(broadcasts),
            "broadcast_rate": broadcasts / cycles if cycles else 0.0,
            "fifo_full_stall_cycles": int(full_stall),
            "pe_idle_cycles_mean": float(idle.mean()) if cycles else 0.0,
            "pe_idle_cycles_max": int(idle.max(initial=0)) if cycles else 0,
            "load_balance_efficiency": float(busy.mean() / cycles) if cycles else 1.0,
            "padding_entries": int(plan.padding_entries),
            "padding_fraction": plan.padding_entries / stored if stored else 0.0,
            "padding_work_fraction": padding_done / entries_done if entries_done else 0.0,
            "stored_entries": int(stored),
            "processed_entries": int(entries_done),
            "empty_slice_cycles": int(empty),
            "spmat_sram_reads": int(sram_reads),
            "pe_storage_bits_max": int(plan.pe_storage_bits.max(initial=0)),
            "fits_on_chip": fits,
            "weight_format": p.weight_format,
            "fifo_depth": int(p.fifo_depth),
            "pes": int(p.pes),
        }
        return LayerResult(cycles=cycles, compute_cycles=max_busy, stall_cycles=cycles - max_busy,
                           freq_hz=p.freq_hz, macs_performed=entries_done, peak_macs_per_cycle=p.pes,
                           pe_busy=busy, actions=acts, weight_bits=plan.value_bits,
                           metadata_bits=plan.index_bits_total + plan.pointer_bits, dram_bytes=dram,
                           sram_bytes=sram_traffic, extra=extra)

    def inventory(self, p: EIEParams):
        """One PE's hardware times ``pes`` (Sec. IV, Table II's modules)."""
        from ..energy import Inventory
        inv = Inventory()
        n = p.pes
        ab = p.arith_bits
        inv.sram(p.spmat_sram_bytes, n, component="spmat_sram")
        inv.sram(p.ptr_sram_bytes, n, component="ptr_sram")
        inv.sram(p.act_sram_bytes, n, component="act_sram")
        inv.rf(2 * p.act_regs_per_pe * ab // 8, n, component="act_rf")
        inv.rf(p.codebook_entries * ab // 8, n, component="codebook")
        inv.rf(p.fifo_depth * (ab + 16) // 8, n, component="act_queue")
        inv.mac(n, bits=ab, acc_bits=ab, component="mac")
        inv.index(n * 16, component="lnzd")
        return inv


__all__ = ["EIE", "EIEParams", "EIEPlan", "plan_layer", "schedule", "step_cycles"]
