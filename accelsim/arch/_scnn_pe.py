"""The PE array SCNN and its dense twin DCNN share (Parashar et al., ISCA 2017, Sec. III-IV).

Both models import this module (and neither imports the other's internals): the parameter set of
the array, the planar tiling of convolutions and the output-slice mapping of FC layers, the
operand counts, the per-phase timing with its loss breakdown, the bank-conflict walk and the
declared hardware.

Counts and timing are one function with two front ends:

* **trace** (:func:`trace_counts`): the nonzeros of the trace's tensors, per PE tile, channel and
  stride phase (activations) and per output-channel group, channel and phase (weights);
* **statistical** (:func:`stats_counts`): the same count arrays drawn from the layer's densities
  and pruning pattern (:mod:`accelsim.traces.stats`); their size is the number of PE tiles times
  channels, never the layer's tensors.

:func:`map_counts` turns either into cycles (per PE and barrier phase) and losses. Bank conflicts
come from walking real products with their output coordinates (:func:`walk_trace`), or, in the
statistical mode, from walking a small synthetic slice of the layer drawn at its densities
(:func:`walk_sample`), whose stall-per-busy-cycle ratio is applied to the whole layer, as the trace
path does when it samples.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from numba import njit

from ..config import bounded, positive
from ..errors import AccelsimError, ConfigError, ModelError
from ..formats.kernels import WORD_MIN_SPAN, _pad_step, _scan_words
from ..hardware import Compute, Dram, FormatRef, Hardware, Logic, Memory
from .base import CommonParams

#: SCNN's zero-run index: 4-bit runs next to 16-bit values (Sec. IV)
RLE16 = FormatRef("rle", {"value_bits": 16, "run_bits": 4})
#: where the shipped DRAM bandwidth comes from
DRAM_SOURCE = ("Parashar et al., ISCA 2017, Sec. VI (temporal tiling): nominal 50 GB/s at 1 GHz, "
               "via a secondary summary")


@dataclass
class PEArray(CommonParams):
    """The PE array SCNN and DCNN share (Sec. IV, Table III), with its derived sizes."""
    freq_hz: float = positive(1e9)
    #: 50 GB/s at 1 GHz: the paper's nominal DRAM bandwidth (Sec. VI, temporal tiling)
    dram_bytes_per_cycle: float = positive(50.0)
    value_bits: int = bounded(16, lo=1, hi=64)
    #: PE grid (rows x columns); 8 x 8 in the paper (Sec. IV, Table III)
    pes: tuple[int, int] = (8, 8)
    #: multiplier array: F weights x I activations per cycle (4 x 4, Table III)
    F: int = positive(4)
    I: int = positive(4)
    #: accumulator banks; 0 means BANKS_PER_MULT x F x I
    acc_banks: int = bounded(0, lo=0)
    #: entries per accumulator bank (32, Table III)
    acc_bank_entries: int = positive(32)
    acc_double_buffered: bool = True
    #: output channels per group; 0 chooses the largest that fits the accumulators
    kc: int = bounded(0, lo=0)
    acc_bits: int = bounded(24, lo=1, hi=64)
    #: per-PE SRAMs (10 KB each, Table III) and weight FIFO entries (50, Table III)
    iaram_bytes: int = positive(10240)
    oaram_bytes: int = positive(10240)
    weight_fifo_entries: int = positive(50)
    #: accumulator drain (PPU into OARAM) and halo exchange rates per PE (assumed)
    drain_words_per_cycle: float = positive(4.0)
    halo_words_per_cycle: float = positive(4.0)
    stride_mode: Literal["phase", "cartesian"] = "phase"
    #: seed of the bank-conflict sample and of the statistical mode's draws
    seed: int = bounded(0, lo=0)

    #: accumulator banks per multiplier when ``acc_banks`` is 0 (SCNN: A = 2 F I, Sec. IV-B)
    BANKS_PER_MULT: ClassVar[int] = 2

    @property
    def n_pes(self) -> int:
        return int(self.pes[0]) * int(self.pes[1])

    @property
    def banks(self) -> int:
        return self.acc_banks or self.BANKS_PER_MULT * self.F * self.I

    @property
    def acc_capacity(self) -> int:
        """Partial sums one accumulator set holds."""
        return self.banks * self.acc_bank_entries

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.n_pes * self.F * self.I

    def check_pes(self) -> None:
        if len(self.pes) != 2 or min(self.pes) < 1:
            raise ConfigError(f"'params.pes' must be two positive integers (rows x cols), got {self.pes}")


# ---------------------------------------------------------------------------------------
# Formats: FormatRef params, the legacy *_format_params spelling, cached encoders
# ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _encoder(name: str, items: tuple):
    from ..formats import get_format
    return get_format(name, **dict(items))


def encoder(ref: FormatRef):
    """The format encoder a :class:`FormatRef` names (cached)."""
    try:
        return _encoder(ref.name, ref.params)
    except TypeError:   # unhashable parameter values: build it uncached
        from ..formats import get_format
        return get_format(ref.name, **ref.kwargs)


def adopt_legacy_format(p, field: str, legacy: str) -> None:
    """Fold the deprecated ``<legacy>: {...}`` params into ``<field>``'s :class:`FormatRef` (one release)."""
    old = getattr(p, legacy)
    if old is not None:
        warnings.warn(f"'params.{legacy}' is deprecated, use 'params.{field}: {{name: ..., params: {{...}}}}' "
                      f"(the old name goes in 0.3)", FutureWarning, stacklevel=4)
        ref = getattr(p, field)
        setattr(p, field, FormatRef(ref.name, {**ref.kwargs, **old}))
        setattr(p, legacy, None)


def check_format(p, field: str) -> None:
    try:
        encoder(getattr(p, field))
    except AccelsimError as e:
        raise ConfigError(f"'params.{field}': {e}") from None


def index_bits(ref: FormatRef) -> int:
    """Index bits stored next to each value (``run_bits`` or ``index_bits``; 0 if none)."""
    kw = ref.kwargs
    return int(kw.get("run_bits", kw.get("index_bits", 0)) or 0)


# ---------------------------------------------------------------------------------------
# The declared hardware (Sec. IV, Table III and the PE area table)
# ---------------------------------------------------------------------------------------
def pe_array_hardware(p: PEArray, sparse: bool, weight_format: FormatRef | None,
                      act_format: FormatRef | None) -> Hardware:
    """SCNN's PE array (``sparse``) or DCNN's dense twin.

    Per PE: ``F x I`` multipliers of ``value_bits``; the accumulator banks (``acc_bank_entries``
    partial sums of ``acc_bits`` each, two sets when double-buffered: SCNN's 32 banks x 32 x 24 bits
    x 2 = the paper's 6 KB), declared bank by bank so that an update costs a bank's access; the
    IARAM and OARAM; a weight FIFO of ``weight_fifo_entries`` vectors of ``F`` weights (with their
    runs in SCNN: 50 x 4 x 20 bits = the paper's 0.5 KB).

    SCNN adds what the sparse dataflow needs: one ``acc_bits`` adder per bank (each retires one
    update a cycle), the ``F I x A`` scatter crossbar (``F I x banks x acc_bits`` multiplexer bits)
    with the banks' input queues, the coordinate computation of every product (an accumulator
    address per multiplier) and the run-length decoders of the ``F`` weight and ``I`` activation
    lanes. DCNN's products land on contiguous addresses: one adder per multiplier and ``F x I``
    banks (no over-provisioning against conflicts, Sec. IV-B), no crossbar, no coordinate or index
    logic, and its FIFO holds plain values. Both have a PPU of ``drain_words_per_cycle`` comparators
    (ReLU on the way to the OARAM). Control and the weight-broadcast and halo wires are left out.
    """
    n, lanes = p.n_pes, p.F * p.I
    vb, ab = p.value_bits, p.acc_bits
    sets = 2 if p.acc_double_buffered else 1
    w_idx = index_bits(weight_format) if (sparse and weight_format is not None) else 0
    a_idx = index_bits(act_format) if (sparse and act_format is not None) else 0
    compute = []
    if sparse:
        compute += [Compute("mac", "mult", n * lanes, vb),
                    Compute("acc_add", "add", n * p.banks, ab)]
    else:
        compute += [Compute("mac", "mac", n * lanes, vb, acc_bits=ab)]
    compute.append(Compute("ppu", "add", n * max(1, int(math.ceil(p.drain_words_per_cycle))), ab))
    bank_bytes = p.acc_bank_entries * ab / 8
    memories = [
        Memory("accumulator", "rf", bank_bytes, count=n * p.banks * sets, width_bits=ab,
               read_bits_per_cycle=n * p.banks * ab, write_bits_per_cycle=n * p.banks * ab,
               operands=("psums", "outputs")),
        Memory("iaram", "sram", p.iaram_bytes, count=n, width_bits=p.I * (vb + a_idx),
               operands=("inputs",), format=act_format if sparse else None),
        Memory("oaram", "sram", p.oaram_bytes, count=n, width_bits=p.I * (vb + a_idx),
               operands=("outputs",), format=act_format if sparse else None),
        Memory("weight_fifo", "fifo", p.weight_fifo_entries * p.F * (vb + w_idx) / 8, count=n,
               width_bits=p.F * (vb + w_idx), operands=("weights",), format=weight_format if sparse else None),
    ]
    logic = []
    if sparse:
        entry_bits = max(1, int(np.ceil(np.log2(p.acc_bank_entries))))
        addr_bits = max(1, int(np.ceil(np.log2(p.acc_capacity))))
        queue = getattr(p, "bank_queue_entries", 0)
        if queue:
            memories.append(Memory("bank_queues", "fifo", p.banks * queue * (ab + entry_bits) / 8,
                                   count=n, width_bits=ab + entry_bits, operands=("psums",)))
        logic += [Logic("crossbar", "mux", n * lanes * p.banks * ab),
                  Logic("coord", "index", n * lanes * addr_bits),
                  Logic("run_decoders", "index", n * (p.F * w_idx + p.I * a_idx))]
    return Hardware(compute=compute, memories=memories, logic=logic,
                    dram=Dram(p.dram_bytes_per_cycle, DRAM_SOURCE))


# ---------------------------------------------------------------------------------------
# Geometry: planar tiles, output footprints, Kc, halos
# ---------------------------------------------------------------------------------------
def split(n: int, parts: int) -> np.ndarray:
    """Balanced bounds: ``parts`` ranges over ``0..n`` whose sizes differ by at most one."""
    return np.array([(i * n) // parts for i in range(parts + 1)], dtype=np.int64)


def _touched(b: np.ndarray, pad: int, k: int, st: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """Output range ``[lo, hi)`` reached from each input range ``[b[i], b[i+1])`` by a filter of ``k``."""
    lo = -((-(b[:-1] + pad - (k - 1))) // st)          # ceil((x0 + pad - (k-1)) / st)
    hi = (b[1:] - 1 + pad) // st + 1                    # floor((x1 - 1 + pad) / st) + 1
    lo = np.clip(lo, 0, out)
    hi = np.clip(hi, 0, out)
    empty = b[1:] <= b[:-1]
    hi = np.where(empty | (hi < lo), lo, hi)
    return lo, hi


def _overlap(alo, ahi, blo, bhi) -> np.ndarray:
    """Pairwise overlap lengths of 1-D ranges: ``[i, j]`` = |a_i ∩ b_j|."""
    return np.clip(np.minimum(ahi[:, None], bhi[None, :]) - np.maximum(alo[:, None], blo[None, :]), 0, None)


@dataclass
class ConvPlan:
    """How a convolution maps onto the PE array."""
    st: int
    nph: int
    t: int                 # sub-tiling factor: each PE's tile cut into t x t sub-tiles
    ny: int
    nx: int
    yb: np.ndarray         # input tile bounds (virtual grid)
    xb: np.ndarray
    v_pe: np.ndarray       # physical PE of each virtual tile
    v_round: np.ndarray    # round in which it is processed
    oy0: np.ndarray        # accumulator origin of each virtual tile
    ox0: np.ndarray
    hacc: int
    wacc: int
    kc: int
    kg_k0: np.ndarray      # first output channel of each output-channel group (global)
    kg_size: np.ndarray
    nkg_per_group: int
    owned: np.ndarray      # owned output area per virtual tile
    halo_send: np.ndarray  # halo partial sums sent per output channel
    halo_recv: np.ndarray

    @property
    def nv(self) -> int:
        return self.ny * self.nx

    @property
    def rounds(self) -> int:
        return self.t * self.t


@functools.lru_cache(maxsize=256)
def plan_conv(lay, pes: tuple[int, int], capacity: int, kc: int, stride_mode: str) -> ConvPlan:
    """The planar tiling of a convolution (cached: layers and params are immutable)."""
    st, pad, R, S, P, Q = lay.stride, lay.pad, lay.R, lay.S, lay.P, lay.Q
    nph = st * st if stride_mode == "phase" else 1
    mg = lay.M // lay.groups
    gy, gx = int(pes[0]), int(pes[1])
    t = 1
    while True:
        ny, nx = gy * t, gx * t
        yb, xb = split(lay.H, ny), split(lay.W, nx)
        tylo, tyhi = _touched(yb, pad, R, st, P)
        txlo, txhi = _touched(xb, pad, S, st, Q)
        hacc, wacc = int((tyhi - tylo).max()), int((txhi - txlo).max())
        if hacc * wacc <= capacity:
            break
        if ny >= lay.H and nx >= lay.W:
            raise ModelError(f"layer '{lay.name}': a {R}x{S} filter's output footprint ({hacc}x{wacc}) does not "
                             f"fit {capacity} accumulator entries even for a one-pixel tile")
        t += 1
    fit = capacity // (hacc * wacc)
    if kc:
        if kc * hacc * wacc > capacity:
            raise ModelError(f"layer '{lay.name}': kc={kc} needs {kc * hacc * wacc} accumulator entries, "
                             f"more than the {capacity} available (at most kc={fit})")
        kc_eff = min(kc, mg)
    else:
        kc_eff = min(fit, mg)
    nkg = -(-mg // kc_eff)
    k0 = []
    size = []
    for g in range(lay.groups):
        for j in range(nkg):
            a = g * mg + j * kc_eff
            k0.append(a)
            size.append(min(kc_eff, g * mg + mg - a))
    # owned output tiles: the output plane split the same way
    oyb, oxb = split(P, ny), split(Q, nx)
    ov_y = _overlap(tylo, tyhi, oyb[:-1], oyb[1:])       # [touched tile row, owned tile row]
    ov_x = _overlap(txlo, txhi, oxb[:-1], oxb[1:])
    vy, vx = np.divmod(np.arange(ny * nx), nx)
    touched = (tyhi - tylo)[vy] * (txhi - txlo)[vx]
    own_area = np.diff(oyb)[vy] * np.diff(oxb)[vx]
    self_ov = ov_y[vy, vy] * ov_x[vx, vx]
    send = touched - self_ov
    # received by v: sum over u != v of |touched_u ∩ owned_v| (grid tiles: product of 1-D overlaps)
    recv = ov_y.sum(axis=0)[vy] * ov_x.sum(axis=0)[vx] - self_ov
    v_pe = (vy // t) * gx + (vx // t)
    v_round = (vy % t) * t + (vx % t)
    return ConvPlan(st=st, nph=nph, t=t, ny=ny, nx=nx, yb=yb, xb=xb, v_pe=v_pe, v_round=v_round,
                    oy0=tylo[vy], ox0=txlo[vx], hacc=hacc, wacc=wacc, kc=kc_eff,
                    kg_k0=np.array(k0, np.int64), kg_size=np.array(size, np.int64), nkg_per_group=nkg,
                    owned=own_area.astype(np.int64), halo_send=send.astype(np.int64),
                    halo_recv=recv.astype(np.int64))


def conv_plan(lay, p: PEArray) -> ConvPlan:
    return plan_conv(lay, tuple(int(x) for x in p.pes), p.acc_capacity, p.kc, p.stride_mode)


def pos_labels(lay, plan: ConvPlan) -> np.ndarray:
    """``v * nph + phase`` of every input position (H x W)."""
    st, pad = lay.stride, lay.pad
    ty = np.searchsorted(plan.yb, np.arange(lay.H), side="right") - 1
    tx = np.searchsorted(plan.xb, np.arange(lay.W), side="right") - 1
    v = ty[:, None] * plan.nx + tx[None, :]
    if plan.nph == 1:
        return v
    ph = ((np.arange(lay.H) + pad) % st)[:, None] * st + ((np.arange(lay.W) + pad) % st)[None, :]
    return v * plan.nph + ph


def rs_phase(lay, plan: ConvPlan) -> np.ndarray:
    """The stride phase of every filter tap ``r * S + s`` (all 0 without phase splitting)."""
    st = lay.stride
    if plan.nph == 1:
        return np.zeros(lay.R * lay.S, np.int64)
    return ((np.arange(lay.R) % st)[:, None] * st + (np.arange(lay.S) % st)[None, :]).ravel()


def window_counts(lay, m: np.ndarray) -> np.ndarray:
    """``win[c, r, s]``: the positions of ``m[c]`` (``C x H x W`` counts) that filter tap ``(r, s)``
    meets over the output plane (the stride grid of the window), by two small matrix products."""
    st, pad, P, Q = lay.stride, lay.pad, lay.P, lay.Q
    ys = np.arange(lay.R)[:, None] - pad + st * np.arange(P)[None, :]        # (R, P) input rows
    xs = np.arange(lay.S)[:, None] - pad + st * np.arange(Q)[None, :]
    yind = np.zeros((lay.R, lay.H))
    xind = np.zeros((lay.S, lay.W))
    for r in range(lay.R):
        y = ys[r][(ys[r] >= 0) & (ys[r] < lay.H)]
        yind[r, y] = 1.0
    for s in range(lay.S):
        x = xs[s][(xs[s] >= 0) & (xs[s] < lay.W)]
        xind[s, x] = 1.0
    # einsum's own loops, not BLAS (small products; BLAS threads spin on a busy machine)
    return np.einsum("crw,sw->crs", np.einsum("rh,chw->crw", yind, m), xind)   # (C, R, S)


# ---------------------------------------------------------------------------------------
# Counts: what a PE multiplies, per tile/channel/phase (conv) or input (FC)
# ---------------------------------------------------------------------------------------
@dataclass
class Counts:
    """Operand counts of one layer on the array, from a trace or drawn from densities.

    conv: ``A[b, v, c, ph]`` activations per image, tile, channel and phase; ``Wc[kg, c_local, ph]``
    weights per output-channel group, channel and phase. FC: ``A[chunk, c]`` batch samples per input
    and chunk; ``Wc[pe, kg, c]`` weights per input in each PE's output group. ``valid`` is the
    number of products landing in the output plane (the layer's effectual MACs when sparse).

    FC only: ``chunk_width[i]`` is the batch columns of chunk row ``i`` and ``weight[i]`` how many of
    the layer's chunks it stands for (dense chunks of one width are identical; the statistical mode
    draws a sample of the chunks); None: every chunk, once.
    """
    A: np.ndarray
    Wc: np.ndarray
    valid: float
    chunk_width: np.ndarray | None = None
    weight: np.ndarray | None = None
    #: trace mode, conv: the input's nonzero mask (``x != 0``) the counts were read from, kept for the
    #: storage measure and the walk (made once per layer)
    act_mask: np.ndarray | None = None


@njit(cache=True)
def _weight_taps(w, k0s, sizes):
    """``taps[kg, j]``: the nonzeros of column ``j`` of ``w`` (``M x (cg * rs)``, the GEMM view of the filters:
    channel ``c``, tap ``t`` at ``j = c * rs + t``) among the rows of output-channel group ``kg`` (rows
    ``k0s[kg] ..``, ``sizes[kg]`` of them)."""
    n = w.shape[1]
    taps = np.zeros((k0s.size, n))
    for g in range(k0s.size):
        for k in range(k0s[g], k0s[g] + sizes[g]):
            for j in range(n):
                taps[g, j] += w[k, j] != 0
    return taps


@njit(cache=True)
def _stream_group(w, k0, sz, rs, out):
    """The nonzero mask of output-channel group ``k0 .. k0 + sz - 1`` in SCNN's streaming order (Sec. IV):
    per input channel, its ``Kc x R x S`` block, into ``out[:sz * cg * rs]``. The rows are read in memory
    order and their channels scattered to the blocks."""
    n = w.shape[1]
    cg = n // rs
    for k in range(sz):
        if rs == 1:                                      # 1x1 filters: a transpose of the group's rows
            for c in range(cg):
                out[c * sz + k] = w[k0 + k, c] != 0
        elif rs == 9:                                    # 3x3: a literal tap count, the copy unrolls
            for c in range(cg):
                o = (c * sz + k) * 9
                for t in range(9):
                    out[o + t] = w[k0 + k, c * 9 + t] != 0
        else:
            for c in range(cg):
                o = (c * sz + k) * rs
                for t in range(rs):
                    out[o + t] = w[k0 + k, c * rs + t] != 0


@njit(cache=True)
def _weight_stream(w, k0s, sizes, rs):
    """The weights' nonzero mask in SCNN's streaming order: every output-channel group's (:func:`_stream_group`)."""
    n = w.shape[1]
    stream = np.empty(w.shape[0] * n, np.bool_)
    base = 0
    for g in range(k0s.size):
        _stream_group(w, k0s[g], sizes[g], rs, stream[base:base + sizes[g] * n])
        base += sizes[g] * n
    return stream


@njit(cache=True)
def _weight_stream_runs(w, k0s, sizes, rs, span):
    """``(nnz, pads)`` of the gap-coded weight stream (padding entries every ``span`` zeros, ``span >=
    WORD_MIN_SPAN``) in SCNN's streaming order, without making the stream: 1x1 filters column by column
    in memory order (:func:`_runs_by_column`), others group by group (:func:`_runs_by_group`)."""
    if rs == 1:
        return _runs_by_column(w, k0s, sizes, span)
    return _runs_by_group(w, k0s, sizes, rs, span)


@njit(cache=True)
def _runs_by_group(w, k0s, sizes, rs, span):
    """:func:`_weight_stream_runs` with each output-channel group's part of the stream (:func:`_stream_group`)
    made in one reused buffer, scanned a word at a time and continued from group to group
    (:func:`accelsim.formats.kernels._scan_words`)."""
    n = w.shape[1]
    most = 0
    for g in range(k0s.size):
        most = max(most, sizes[g] * n)
    buf = np.zeros((most // 8 + 1) * 8, np.uint8)
    words = buf.view(np.uint64)
    nnz = 0
    pads = 0
    lw = np.uint64(1) << np.uint64(56)                  # a virtual nonzero at position -1
    lpos = -8
    base = 0
    for g in range(k0s.size):
        m = sizes[g] * n
        _stream_group(w, k0s[g], sizes[g], rs, buf)
        nw = (m + 7) // 8
        for i in range(m, nw * 8):                       # zeros after the group's part
            buf[i] = 0
        a, b, lw, lpos = _scan_words(words[:nw], base, span, lw, lpos)
        nnz += a
        pads += b
        base += m
    return nnz, pads


@njit(cache=True)
def _runs_by_column(w, k0s, sizes, span):
    """:func:`_weight_stream_runs` of 1x1 filters, whose stream is each group's rows read column by column
    (channel by channel): the rows are read in memory order with a gap counter per channel
    (:func:`accelsim.formats.kernels._pad_step`, no branches: the channels vectorize); the gap before a
    channel's first nonzero, which reaches back into the previous channels, is added at the group's end."""
    cg = w.shape[1]
    cnt = np.zeros(cg, np.int64)
    pend = np.zeros(cg, np.int64)
    seen = np.zeros(cg, np.int64)
    first = np.zeros(cg, np.int64)
    last = np.zeros(cg, np.int64)
    nnz = 0
    pads = 0
    prev = -1                                            # stream position of the last nonzero so far
    base = 0
    for g in range(k0s.size):
        k0 = k0s[g]
        sz = sizes[g]
        cnt[:] = 0
        pend[:] = 0
        seen[:] = 0
        first[:] = 0
        last[:] = 0
        for k in range(sz):
            for c in range(cg):
                m = np.int64(w[k0 + k, c] != 0)
                ct, pd, p = _pad_step(m, cnt[c], pend[c], span)
                cnt[c] = ct
                pend[c] = pd
                pads += p * seen[c]                      # gaps after the channel's first nonzero
                first[c] += (k - first[c]) * (m * (1 - seen[c]))
                last[c] += (k - last[c]) * m
                seen[c] |= m
                nnz += m
        for c in range(cg):
            if seen[c]:
                pads += (base + c * sz + first[c] - prev - 1) // span
                prev = base + c * sz + last[c]
        base += sz * cg
    return nnz, pads


@njit(cache=True)
def _mask_counts(mask, yb, xb, st, pad, phased, yf, yl, xf, xl):
    """One pass over the input's nonzero mask ``(B, C, H, W)``, row by row, with prefix sums along each row:

    * ``A[b, v, c, ph]``: the nonzeros of ``mask[b, c]`` in planar tile ``v = i * nx + j`` (rows
      ``yb[i]:yb[i+1]``, columns ``xb[j]:xb[j+1]``) and stride phase ``ph = ((y + pad) % st) * st +
      (x + pad) % st`` (``phased``; otherwise all positions are phase 0);
    * ``win[c, r, s]``: the nonzeros (all images) that filter tap ``(r, s)`` meets over the output plane:
      rows ``yf[r], yf[r] + st, .., yl[r]`` times columns ``xf[s] .. xl[s]`` in steps of ``st`` (none where
      last < first).

    The prefix sums run in steps of ``st`` (``pre[x + st]``: positions ``x, x - st, ..``), so that every
    tile segment of one column phase, and every tap's columns, is one difference."""
    B, C, H, W = mask.shape
    ny, nx = yb.size - 1, xb.size - 1
    R, S = yf.size, xf.size
    sx = st if phased else 1
    nph = sx * sx
    # the columns of tile column j and column phase px: sf, sf + st, .., sl (sl < sf: none); their
    # slot in a row of the channel's plane of counts, and each row's offset in it
    nseg = nx * st
    sf = np.zeros(nseg, np.int64)
    sl = np.zeros(nseg, np.int64)
    so = np.zeros(nseg, np.int64)
    for j in range(nx):
        for px in range(st):
            f = xb[j] + (px - (xb[j] + pad)) % st
            sf[j * st + px] = f
            sl[j * st + px] = f + ((xb[j + 1] - 1 - f) // st) * st if f < xb[j + 1] else f - st
            so[j * st + px] = j * nph + (px if phased else 0)
    ro = np.zeros(H, np.int64)
    for i in range(ny):
        for y in range(yb[i], yb[i + 1]):
            ro[y] = i * nx * nph + (((y + pad) % st) * sx if phased else 0)
    A = np.zeros((B, ny * nx, C, nph))
    win = np.zeros((C, R, S))
    plane = np.zeros(ny * nx * nph, np.int64)
    pre = np.zeros(W + st, np.int64)
    rows = np.zeros((H + st, S), np.int64)        # rows[y + st, s]: prefix over rows of the taps' row sums
    for c in range(C):
        rows[:] = 0
        for b in range(B):
            plane[:] = 0
            for y in range(H):
                if st == 1:                           # the running sum in a register
                    acc = 0
                    for x in range(W):
                        acc += mask[b, c, y, x]
                        pre[x + 1] = acc
                else:
                    for x in range(W):
                        pre[x + st] = pre[x] + mask[b, c, y, x]
                for s in range(S):
                    rows[y + st, s] += pre[xl[s] + st] - pre[xf[s]]
                o = ro[y]
                for k in range(nseg):
                    plane[o + so[k]] += pre[sl[k] + st] - pre[sf[k]]
            for v in range(ny * nx):
                for ph in range(nph):
                    A[b, v, c, ph] = plane[v * nph + ph]
        for y in range(H):
            for s in range(S):
                rows[y + st, s] += rows[y, s]
        for r in range(R):
            for s in range(S):
                win[c, r, s] = rows[yl[r] + st, s] - rows[yf[r], s]
    return A, win


def _tap_bounds(k: int, pad: int, st: int, out: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last input index each of ``k`` filter taps meets along one axis (inputs ``t - pad + st o``
    for outputs ``o < out``, within ``0 .. n-1``); ``(0, -st)`` where it meets none."""
    t = np.arange(k)
    o0 = np.maximum(-((t - pad) // st), 0)                  # ceil((pad - t) / st), at least 0
    o1 = np.minimum(out - 1, (n - 1 - t + pad) // st)
    some = o1 >= o0
    first = np.where(some, t - pad + st * o0, 0)
    last = np.where(some, t - pad + st * o1, -st)
    return first.astype(np.int64), last.astype(np.int64)


@njit(cache=True)
def _row_group_nnz(w, row_group, ngroups):
    """``out[g, k]``: nonzeros of column ``k`` among the rows of group ``g`` (-1: no group)."""
    M, K = w.shape
    out = np.zeros((ngroups, K))
    for i in range(M):
        g = row_group[i]
        if g < 0:
            continue
        for k in range(K):
            if w[i, k] != 0:
                out[g, k] += 1
    return out


def _by_phase(lay, plan: ConvPlan, taps: np.ndarray) -> np.ndarray:
    """``taps[..., t]`` summed over the filter taps of each stride phase: ``[..., ph]``."""
    if plan.nph == 1:
        return taps.sum(axis=-1, keepdims=True)
    ph = rs_phase(lay, plan)
    return np.stack([taps[..., ph == k].sum(axis=-1) for k in range(plan.nph)], axis=-1)


def _valid_from_taps(lay, plan: ConvPlan, taps: np.ndarray, win: np.ndarray) -> float:
    """Products landing in the output plane: per group, channel and tap, the group's weights of that
    tap times the inputs its window covers (``taps[kg, c_local, t]``, ``win[c, r, s]``)."""
    G, cg, nkg = lay.groups, lay.C // lay.groups, plan.nkg_per_group
    per_g = taps.reshape(G, nkg, cg, lay.R * lay.S).sum(axis=1)                # (G, cg, RS)
    return float((per_g.reshape(lay.C, lay.R * lay.S) * win.reshape(lay.C, -1)).sum())


def dense_conv_counts(lay, plan: ConvPlan) -> Counts:
    """Every position counts (DCNN): closed forms, no tensor of the layer's size."""
    B, C = lay.batch, lay.C
    labels = pos_labels(lay, plan)
    per_label = np.bincount(labels.ravel(), minlength=plan.nv * plan.nph).astype(np.float64)
    A = np.broadcast_to(per_label.reshape(1, plan.nv, 1, plan.nph), (B, plan.nv, C, plan.nph))
    taps = np.broadcast_to(plan.kg_size.astype(np.float64)[:, None, None],
                           (len(plan.kg_k0), C // lay.groups, lay.R * lay.S))
    # one channel's weights per phase, the same for every channel (conv_sums sums one and scales it)
    Wc = np.broadcast_to(_by_phase(lay, plan, taps[:, :1]), taps.shape[:2] + (plan.nph,))
    win = window_counts(lay, np.ones((1, lay.H, lay.W)))
    valid = _valid_from_taps(lay, plan, taps, np.broadcast_to(win, (C,) + win.shape[1:])) * B
    return Counts(A, Wc, valid)


def trace_conv_counts(lt, plan: ConvPlan) -> Counts:
    """The trace's nonzeros per tile, channel and phase, and per group, channel and phase: one pass over
    each operand (:func:`_mask_counts`, with the windows for ``valid``; :func:`_weight_taps`)."""
    lay = lt.layer
    mask = lt.input != 0
    yf, yl = _tap_bounds(lay.R, lay.pad, lay.stride, lay.P, lay.H)
    xf, xl = _tap_bounds(lay.S, lay.pad, lay.stride, lay.Q, lay.W)
    A, win = _mask_counts(mask, plan.yb, plan.xb, lay.stride, lay.pad, plan.nph > 1, yf, yl, xf, xl)
    rs = lay.R * lay.S
    taps = _weight_taps(_gemm_weight(lt), plan.kg_k0, plan.kg_size).reshape(len(plan.kg_k0), -1, rs)
    return Counts(A, _by_phase(lay, plan, taps), _valid_from_taps(lay, plan, taps, win), act_mask=mask)


@dataclass
class FCPlan:
    ks: np.ndarray        # (npe, nkg + 1) output bounds of each PE's groups
    kc: int
    nkg: int
    nb: np.ndarray        # batch-column chunk bounds
    nc: int


def plan_fc(lay, npe: int, capacity: int, kc: int) -> FCPlan:
    M, N = lay.M, lay.N
    pe_b = split(M, npe)
    slice_ = int(np.diff(pe_b).max())
    nc = min(N, max(1, capacity // max(slice_, 1)))
    kc_eff = min(slice_, capacity // nc)
    if kc:
        kc_eff = min(kc_eff, kc)
    kc_eff = max(kc_eff, 1)
    nkg = -(-slice_ // kc_eff)
    ks = np.minimum(pe_b[:-1, None] + kc_eff * np.arange(nkg + 1)[None, :], pe_b[1:, None])
    return FCPlan(ks=ks, kc=kc_eff, nkg=nkg, nb=np.append(np.arange(0, N, nc), N), nc=nc)


def fc_plan(lay, p: PEArray) -> FCPlan:
    if lay.groups != 1:
        raise ModelError(f"layer '{lay.name}': grouped {lay.op} layers are not supported by this model")
    return plan_fc(lay, p.n_pes, p.acc_capacity, p.kc)


def _chunk_kinds(plan: FCPlan) -> tuple[np.ndarray, np.ndarray]:
    """The distinct batch-chunk widths of an FC plan (full chunks, then a shorter last one) and how many
    chunks have each."""
    cw = np.diff(plan.nb)
    widths, n = np.unique(cw[::-1], return_counts=True)
    order = np.argsort(-widths)
    return widths[order], n[order].astype(np.float64)


def dense_fc_counts(lay, plan: FCPlan) -> Counts:
    """Every position counts (DCNN): one row per distinct chunk width, weighted by its chunks."""
    K = lay.K
    widths, n = _chunk_kinds(plan)
    A = np.broadcast_to(widths.astype(np.float64)[:, None], (widths.size, K))
    sizes = np.diff(plan.ks, axis=1).astype(np.float64)                       # (npe, nkg)
    Wc = np.broadcast_to(sizes[:, :, None], sizes.shape + (K,))
    return Counts(A, Wc, float(lay.M) * K * lay.N, chunk_width=widths, weight=n)


def trace_fc_counts(lt, plan: FCPlan) -> Counts:
    W, X = lt.weight, lt.x_gemm(0)
    A = np.add.reduceat((X != 0).astype(np.int64), plan.nb[:-1], axis=1).T.astype(np.float64)
    sizes = np.diff(plan.ks, axis=1).ravel()
    row_group = np.full(W.shape[0], -1, np.int64)
    for g, (a, b) in enumerate(zip(plan.ks[:, :-1].ravel(), plan.ks[:, 1:].ravel())):
        row_group[a:b] = g
    Wc = _row_group_nnz(W, row_group, sizes.size).reshape(plan.ks.shape[0], plan.nkg, -1)
    return Counts(A, Wc, float((A.sum(axis=0) * Wc.sum(axis=(0, 1))).sum()))


def trace_counts(lt, p: PEArray, sparse: bool):
    """``(plan, Counts)`` of a trace's layer: its nonzeros when *sparse*, every position otherwise."""
    lay = lt.layer
    if lay.is_conv:
        plan = conv_plan(lay, p)
        return plan, (trace_conv_counts(lt, plan) if sparse else dense_conv_counts(lay, plan))
    plan = fc_plan(lay, p)
    return plan, (trace_fc_counts(lt, plan) if sparse else dense_fc_counts(lay, plan))


# ---------------------------------------------------------------------------------------
# The statistical front end: the same counts drawn from densities and the pruning pattern
# ---------------------------------------------------------------------------------------
def _binomial(rng, n: np.ndarray, p) -> np.ndarray:
    """Binomial draws; where ``n p (1 - p)`` exceeds 9 the normal approximation (rounded, clipped to
    ``[0, n]``), ten times cheaper and indistinguishable at that size."""
    n = np.asarray(n)
    p = np.broadcast_to(np.asarray(p, np.float64), n.shape)
    var = n * p * (1 - p)
    big = var > 9
    if not big.any():
        return rng.binomial(n, p).astype(np.float64)
    out = np.rint(n * p + np.sqrt(var) * rng.standard_normal(n.shape))
    out = np.clip(out, 0, n).astype(np.float64)
    if not big.all():
        out[~big] = rng.binomial(n[~big], p[~big])
    return out


def _draw_rows(rng, rows: np.ndarray, width: np.ndarray, pattern, density: np.ndarray) -> np.ndarray:
    """Nonzero weights in regions of ``rows[i]`` rows x ``width[j]`` consecutive positions along K, per
    ``(i, j)``, under *pattern* (the distributions of :mod:`accelsim.traces.stats`), ``density[i]`` being
    the mean density of the rows of group ``i`` (:func:`row_densities`): binomial for unstructured
    pruning; N:M's fixed share (each row holds the share, rounded up or down at random by its fraction);
    whole ``BH x BW`` blocks kept together; whole rows (``channel``, the same rows for every ``j``)."""
    rows = np.asarray(rows, np.int64)[:, None]
    width = np.asarray(width, np.int64)[None, :]
    dens = np.clip(np.asarray(density, np.float64), 0.0, 1.0)[:, None]
    shape = (rows.shape[0], width.shape[1])
    area = np.broadcast_to(rows * width, shape)
    if pattern.kind == "dense":
        return area.astype(np.float64)
    if pattern.kind == "nm":
        share = width * pattern.a / pattern.b
        lo = np.floor(share)
        frac = np.broadcast_to(share - lo, shape)
        return rows * lo + _binomial(rng, np.broadcast_to(rows, shape), frac)
    if pattern.kind == "channel":
        return np.broadcast_to(np.rint(dens * rows) * width, shape).astype(np.float64)
    if pattern.kind == "block":
        units = np.broadcast_to(-(-rows // max(1, pattern.a)) * -(-width // max(1, pattern.b)), shape)
        return _binomial(rng, units, np.broadcast_to(dens, shape)) * (area / np.maximum(units, 1))
    return _binomial(rng, area, np.broadcast_to(dens, shape))


def row_densities(ls, rng, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Mean weight density of each group of rows ``starts[i] .. starts[i] + sizes[i] - 1``.

    Rows are not alike: the trace generator scales each row by a log-normal factor, so magnitude
    pruning keeps more of the large rows (and a block pattern more of the large block rows); per-row
    densities come from the shared row model (:func:`accelsim.arch._row_stats.row_model`)."""
    from ._row_stats import row_model
    rm = row_model(ls, rng)
    dr = rm.nnz / max(rm.K, 1)
    c = np.concatenate(([0.0], np.cumsum(dr)))
    starts = np.asarray(starts, np.int64)
    sizes = np.asarray(sizes, np.int64)
    return (c[starts + sizes] - c[starts]) / np.maximum(sizes, 1)


#: FC batch chunks of one width drawn by the statistical mode (they are i.i.d.; more only cost time)
CHUNK_SAMPLE = 16


def stats_counts(ls, p: PEArray, sparse: bool):
    """``(plan, Counts)`` drawn from a :class:`~accelsim.traces.stats.LayerStats` (seeded)."""
    lay = ls.layer
    if not sparse:
        return (conv_plan(lay, p), dense_conv_counts(lay, conv_plan(lay, p))) if lay.is_conv else \
            (fc_plan(lay, p), dense_fc_counts(lay, fc_plan(lay, p)))
    rng = np.random.default_rng([p.seed, ls.seed, 0x57A7])
    wd, ad = ls.weight_density, ls.act_density
    if lay.is_conv:
        plan = conv_plan(lay, p)
        dense = dense_conv_counts(lay, plan)
        per_label = dense.A[0, :, 0, :]                                       # (nv, nph) positions
        A = _binomial(rng, np.broadcast_to(per_label.astype(np.int64)[None, :, None, :], dense.A.shape), ad)
        cg, rs = lay.C // lay.groups, lay.R * lay.S
        # weights: one (group, channel) block of kc rows x R S taps at a time, then split into phases
        dens = row_densities(ls, rng, plan.kg_k0, plan.kg_size)
        taps = _draw_rows(rng, plan.kg_size, np.full(cg, rs), ls.pattern, dens)             # (nkg, cg)
        share = np.bincount(rs_phase(lay, plan), minlength=plan.nph) / rs                  # taps per phase
        Wc = taps[:, :, None] if plan.nph == 1 else _split_phases(rng, taps, share)
        valid = dense.valid * wd * ad
        return plan, Counts(A, Wc, valid)
    plan = fc_plan(lay, p)
    dense = dense_fc_counts(lay, plan)
    # the chunks of one width are i.i.d.: draw at most CHUNK_SAMPLE of them, each standing for its share
    widths, n = dense.chunk_width, dense.weight
    draws = np.minimum(n, CHUNK_SAMPLE).astype(np.int64)
    width = np.repeat(widths, draws)
    weight = np.repeat(n / draws, draws)
    A = _binomial(rng, np.broadcast_to(width[:, None], (width.size, lay.K)), ad)
    sizes = np.diff(plan.ks, axis=1).ravel()
    dens = row_densities(ls, rng, plan.ks[:, :-1].ravel(), sizes)
    K = lay.K
    if ls.pattern.kind == "block" and ls.pattern.b > 1:
        # columns come in blocks of BW sharing their kept row blocks
        bw = ls.pattern.b
        nbc = -(-K // bw)
        Wb = _draw_rows(rng, sizes, np.ones(nbc, np.int64), ls.pattern, dens)
        Wc = np.repeat(Wb, bw, axis=1)[:, :K]
    elif ls.pattern.kind == "channel":
        Wc = np.broadcast_to(_draw_rows(rng, sizes, np.ones(1, np.int64), ls.pattern, dens), (sizes.size, K))
    else:
        Wc = _draw_rows(rng, sizes, np.ones(K, np.int64), ls.pattern, dens)
    Wc = np.ascontiguousarray(Wc).reshape(plan.ks.shape[0], plan.nkg, K)
    return plan, Counts(A, Wc, dense.valid * wd * ad, chunk_width=width, weight=weight)


def _split_phases(rng, taps: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Weights of a (group, channel) block split over stride phases in proportion to their taps."""
    flat = taps.astype(np.int64).ravel()
    out = np.zeros((flat.size, share.size))
    left = flat.copy()
    rest = 1.0
    for j, s in enumerate(share[:-1]):
        q = min(1.0, s / rest) if rest > 0 else 0.0
        out[:, j] = rng.binomial(left, q)
        left = left - out[:, j].astype(np.int64)
        rest -= s
    out[:, -1] = left
    return out.reshape(taps.shape + (share.size,))


# ---------------------------------------------------------------------------------------
# Timing: per-phase barriers, losses
# ---------------------------------------------------------------------------------------
@dataclass
class Timing:
    """Per-phase timing of a layer and its loss breakdown (cycles of the whole array)."""
    cycles: float
    ideal: float
    frag: float
    imbalance: float
    bank: float
    halo: float
    pe_busy: np.ndarray


def phase_timing(products: np.ndarray, busy: np.ndarray, stall: np.ndarray, drain: np.ndarray,
                 peak_per_pe: int, double_buffered: bool, weight: np.ndarray | None = None) -> Timing:
    """Phases run one after another, each ending at a barrier: time = max over PEs of
    busy + stall. A phase's accumulator drain overlaps the next phase when double buffered.

    ``products``, ``busy``, ``stall``: ``(phases, PEs)``; ``drain``: ``(phases,)``; ``weight``: how many
    identical phases each row stands for (FC chunks of one width, or a sample of them; default one).
    """
    w = np.ones(busy.shape[0]) if weight is None else np.asarray(weight, np.float64)
    t = busy + stall
    T = t.max(axis=1) if t.size else np.zeros(0)
    drain = drain.astype(np.float64)
    exposed = drain * w
    if double_buffered and exposed.size:
        nxt = np.append(T[1:], T[-1])
        # a row of w phases: all but the last overlap a phase like themselves, the last the next row's
        exposed = (w - 1) * np.maximum(drain - T, 0.0) + np.maximum(drain - nxt, 0.0)
        exposed[-1] = (w[-1] - 1) * max(drain[-1] - T[-1], 0.0) + drain[-1]
    def wsum(x):
        return float((w * x).sum())
    ideal = wsum(products.sum(axis=1)) / (peak_per_pe * t.shape[1])
    # each term is >= 0 by construction; clip the last-bit rounding of the differences
    frag = max(wsum((busy - products / peak_per_pe).mean(axis=1)), 0.0)
    bank = wsum(stall.mean(axis=1))
    imb = max(wsum(T - t.mean(axis=1)), 0.0)
    halo = float(exposed.sum())
    return Timing(cycles=wsum(T) + halo, ideal=ideal, frag=frag, imbalance=imb, bank=bank, halo=halo,
                  pe_busy=(w[:, None] * t).sum(axis=0))


def conv_phases(plan: ConvPlan, x: np.ndarray, npe: int) -> np.ndarray:
    """``x[b, v, kg]`` -> ``(phases, PEs)`` with phases ordered (image, round, group)."""
    B, nv, nkg = x.shape
    out = np.zeros((B, plan.rounds, nkg, npe))
    out[:, plan.v_round, :, plan.v_pe] = x.transpose(1, 0, 2)  # (nv, B, nkg) into [b, r(v), kg, pe(v)]
    return out.reshape(B * plan.rounds * nkg, npe)


def conv_drain(plan: ConvPlan, B: int, drain_bw: float, halo_bw: float) -> np.ndarray:
    """Drain time per phase: the slowest PE's halo exchange plus owned-output write-back."""
    per_ch = plan.owned / drain_bw + (plan.halo_send + plan.halo_recv) / halo_bw      # (nv,)
    per_r = np.zeros(plan.rounds)
    np.maximum.at(per_r, plan.v_round, per_ch)
    d = per_r[:, None] * plan.kg_size[None, :]                                         # (rounds, nkg)
    return np.broadcast_to(d, (B,) + d.shape).reshape(-1)


@njit(cache=True, fastmath={"reassoc"})
def _pair_sums(a, w, I, F):
    """``prods[r, g] = sum_c a[r, c] w[g, c]``, ``busy[r, g] = sum_c ceil(a / I) ceil(w / F)`` (the Cartesian
    product's cycles) and ``fifo[r, g] = sum_c ceil(a / I) w`` (weight-FIFO reads), in one pass. A loop,
    not a BLAS product: these are small, and BLAS threads spin on a busy machine. The counts are whole
    numbers far below 2**53, so their sums are exact in any order (hence ``reassoc``: vectorized)."""
    R, K = a.shape
    G = w.shape[0]
    ca = np.ceil(a / I)                 # activation vectors of each channel
    cw = np.ceil(w / F)                 # weight vectors
    prods = np.zeros((R, G))
    busy = np.zeros((R, G))
    fifo = np.zeros((R, G))
    for r in range(R):
        for g in range(G):
            p = 0.0
            b = 0.0
            f = 0.0
            for c in range(K):
                p += a[r, c] * w[g, c]
                b += ca[r, c] * cw[g, c]
                f += ca[r, c] * w[g, c]
            prods[r, g] = p
            busy[r, g] = b
            fifo[r, g] = f
    return prods, busy, fifo


def conv_sums(A: np.ndarray, Wc: np.ndarray, groups: int, nkg: int, I: int, F: int):
    """``(prods, busy, fifo)[b, v, kg]``: the sums of :func:`_pair_sums` over each kg's channels and phases."""
    B, nv, C, nph = A.shape
    cg = C // groups
    if cg > 1 and A.strides[2] == 0 and Wc.strides[1] == 0:
        # dense counts, the same for every channel: one channel's sums times the channels of a group
        one = conv_sums(A[:, :, :groups], Wc[:, :1], groups, nkg, I, F)
        return tuple(x * cg for x in one)
    out = [np.zeros((B * nv, groups * nkg)) for _ in range(3)]
    for g in range(groups):
        a = np.ascontiguousarray(A[:, :, g * cg:(g + 1) * cg, :]).reshape(B * nv, cg * nph)
        w = np.ascontiguousarray(Wc[g * nkg:(g + 1) * nkg]).reshape(nkg, cg * nph)
        for o, x in zip(out, _pair_sums(a, w, I, F)):
            o[:, g * nkg:(g + 1) * nkg] = x
    return tuple(o.reshape(B, nv, groups * nkg) for o in out)


def fc_sums(A: np.ndarray, Wc: np.ndarray, I: int, F: int):
    """``(prods, busy, fifo)[chunk, kg, pe]`` over the inputs of each PE's output group."""
    npe, nkg, K = Wc.shape
    out = _pair_sums(A, Wc.reshape(npe * nkg, K), I, F)
    return tuple(x.reshape(-1, npe, nkg).transpose(0, 2, 1) for x in out)


@dataclass
class Mapped:
    """What the dataflow does with one layer: the shared core of SCNN and DCNN."""
    mode: str
    timing: Timing
    products: float        # multiplications performed (Cartesian products, useful or not)
    valid: float           # products landing in the output plane
    busy_total: float      # multiplier-array busy cycles, all PEs
    fifo_reads: float      # weight entries read from the weight FIFO (entries, uncompressed count)
    act_passes: int        # times each held activation is read from its PE's IARAM (once per group)
    halo_words: float
    out_words: float
    kc: int
    rounds: int
    phases: int
    tiles: str
    conflict_method: str
    fifo_overflow: float   # share of nonzero weight blocks larger than the weight FIFO
    walk: "WalkResult | None" = None


def map_counts(lay, p: PEArray, plan, counts: Counts, walk: "WalkResult | None", packing: str,
               exact_walk: bool = True) -> Mapped:
    """Cycles and losses of a layer from its operand counts (trace or statistical).

    *packing* ``cartesian``: a PE spends ``ceil(a / I) * ceil(w / F)`` cycles per channel block;
    ``perfect``: it fills every multiplier until its work runs out (``ceil(products / (F I))``
    per group), the dense engine's best case. *walk*: the bank-conflict walk (None: no conflicts,
    dense accumulation is regular); *exact_walk*: whether its per-slot stalls may be used as they
    are (a walk of the whole layer) or only as a stall-per-busy-cycle ratio (a sample).
    """
    npe, peak = p.n_pes, p.F * p.I
    A, Wc = counts.A, counts.Wc
    if lay.is_conv:
        prods, busy, fifo = conv_sums(A, Wc, lay.groups, plan.nkg_per_group, p.I, p.F)
    else:
        prods, busy, fifo = fc_sums(A, Wc, p.I, p.F)        # (nchunk, nkg, npe)
    if packing == "perfect":
        busy = np.ceil(prods / peak)
    stall = np.zeros_like(busy)
    method = "none (dense: regular accumulation)"
    if walk is not None and prods.sum() > 0:
        stall, method = stalls(walk, busy, prods, exact_walk)
    if lay.is_conv:
        B = A.shape[0]
        drain = conv_drain(plan, B, p.drain_words_per_cycle, p.halo_words_per_cycle)
        timing = phase_timing(conv_phases(plan, prods, npe), conv_phases(plan, busy, npe),
                              conv_phases(plan, stall, npe), drain, peak, p.acc_double_buffered)
        blocks = Wc.sum(axis=2)
        used = blocks > 0
        overflow = float((blocks > p.weight_fifo_entries * p.F).sum() / max(used.sum(), 1))   # entries hold F-vectors
        return Mapped("conv", timing, float(prods.sum()), counts.valid, float(busy.sum()), float(fifo.sum()),
                      len(plan.kg_k0), float(plan.halo_send.sum() * lay.M * B), float(lay.M * lay.P * lay.Q * B),
                      plan.kc, plan.rounds, int(drain.size), f"{plan.ny}x{plan.nx}", method, overflow, walk)
    nrow = A.shape[0]
    sizes = np.diff(plan.ks, axis=1)             # (npe, nkg)
    cw = np.diff(plan.nb) if counts.chunk_width is None else counts.chunk_width          # (nrow,)
    wrow = np.ones(nrow) if counts.weight is None else counts.weight
    drain = (sizes.max(axis=0)[None, :] * cw[:, None] / p.drain_words_per_cycle).reshape(-1)
    sh = (nrow * plan.nkg, npe)
    timing = phase_timing(prods.reshape(sh), busy.reshape(sh), stall.reshape(sh), drain, peak,
                          p.acc_double_buffered, np.repeat(wrow, plan.nkg))
    nchunk = len(plan.nb) - 1

    def total(x):
        return float((wrow * x.reshape(nrow, -1).sum(axis=1)).sum())
    return Mapped("fc-mapped", timing, total(prods), counts.valid, total(busy), total(fifo),
                  nchunk * plan.nkg, 0.0, float(lay.M * lay.N), plan.kc, nchunk, nchunk * plan.nkg,
                  f"{npe} output slices", method, 0.0, walk)


# ---------------------------------------------------------------------------------------
# The product walk: bank conflicts (and, for tests, the arithmetic) on real coordinates
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _walk(u_a, u_w, u_slot, u_k0, u_oy0, u_ox0, u_img,
          a_off, ay, ax, aval, w_off, wk, wr, ws, wval,
          F, I, nbanks, shift, depth, st, pad, P, Q, cartesian, hacc, wacc,
          nslots, want_values, out):
    """Walk every (activation vector, weight vector) pair of the given work units, in order.

    A unit is one PE's activations of one channel/phase (``a_off[u_a]..``) against one weight
    block (``w_off[u_w]..``); units of one slot (a PE's share of one group) are contiguous.
    Each cycle's valid products go to bank ``fold(addr) % nbanks``; each bank retires one
    update a cycle, and the array stalls while a bank holds more than ``depth`` queued
    updates. ``free[b]`` is the cycle at which bank ``b`` has retired everything queued, so
    its backlog at cycle ``now`` is ``free[b] - now``.
    Returns per-slot busy cycles, stall cycles while issuing, tail cycles (the banks draining
    after the slot's last issue), and the valid and out-of-plane products.
    """
    busy = np.zeros(nslots)
    stall = np.zeros(nslots)
    tail = np.zeros(nslots)
    free = np.zeros(nbanks, np.int64)
    # a power-of-two bank count takes the bank as a mask (the same as % for two's complement);
    # unit stride needs no division: integer division is the costliest step of a product
    bank_mask = nbanks - 1 if nbanks & (nbanks - 1) == 0 else -1
    valid = 0
    wasted = 0
    prev = -1
    now = 0
    maxfree = 0
    for u in range(u_a.shape[0]):
        slot = u_slot[u]
        if slot != prev:
            if prev >= 0 and maxfree > now:
                tail[prev] += maxfree - now       # the PE finishes when its banks have drained
            free[:] = 0
            now = 0
            maxfree = 0
            prev = slot
        a0 = a_off[u_a[u]]
        a1 = a_off[u_a[u] + 1]
        w0 = w_off[u_w[u]]
        w1 = w_off[u_w[u] + 1]
        k0 = u_k0[u]
        oy0 = u_oy0[u]
        ox0 = u_ox0[u]
        img = u_img[u]
        for ai in range(a0, a1, I):
            ae = min(ai + I, a1)
            for wi in range(w0, w1, F):
                we = min(wi + F, w1)
                if maxfree - now > depth:
                    s = maxfree - now - depth
                    stall[slot] += s
                    now += s
                for a in range(ai, ae):
                    for w in range(wi, we):
                        oy = ay[a] + pad - wr[w]
                        ox = ax[a] + pad - ws[w]
                        if st != 1:
                            if cartesian and (oy % st != 0 or ox % st != 0):
                                wasted += 1
                                continue
                            oy = oy // st
                            ox = ox // st
                        if oy < 0 or oy >= P or ox < 0 or ox >= Q:
                            wasted += 1
                            continue
                        valid += 1
                        addr = ((wk[w] - k0) * hacc + (oy - oy0)) * wacc + (ox - ox0)
                        h = addr ^ (addr >> shift) ^ (addr >> (2 * shift))
                        b = h & bank_mask if bank_mask >= 0 else h % nbanks
                        f = max(free[b], now) + 1
                        free[b] = f
                        if f > maxfree:
                            maxfree = f
                        if want_values:
                            out[img, wk[w], oy, ox] += wval[w] * aval[a]
                now += 1
                busy[slot] += 1
    if prev >= 0 and maxfree > now:
        tail[prev] += maxfree - now
    return busy, stall, tail, valid, wasted


def _offsets(keys: np.ndarray, n: int) -> np.ndarray:
    off = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=off[1:])
    return off


@dataclass
class WalkResult:
    busy: np.ndarray       # per slot, for the walked units (all units when exact)
    stall: np.ndarray      # stalls while issuing
    tail: np.ndarray       # bank drain after the slot's last issue
    valid: int
    wasted: int
    exact: bool
    walked_products: float
    out: np.ndarray | None = None


def stalls(walk: WalkResult, busy: np.ndarray, prods: np.ndarray, exact_ok: bool = True) -> tuple[np.ndarray, str]:
    """Bank-conflict stalls per slot: walked exactly, or estimated from a sample as a stall-per-busy-
    cycle ratio (issue stalls) plus the mean drain tail of a walked slot (for every busy slot)."""
    if walk.exact and exact_ok:
        return (walk.stall + walk.tail).reshape(busy.shape), "exact"
    ratio = walk.stall.sum() / max(walk.busy.sum(), 1.0)
    walked = walk.busy > 0
    tail = walk.tail[walked].mean() if walked.any() else 0.0
    est = busy * ratio + (busy > 0) * tail
    share = walk.walked_products / max(float(prods.sum()), 1.0)
    return est, (f"sampled ({share:.1%} of products)" if exact_ok else
                 f"sampled (a synthetic slice, {walk.walked_products:.3g} products)")


def walk_conv(lt, plan: ConvPlan, A: np.ndarray, Wc: np.ndarray, p, want_values: bool = False,
              mask: np.ndarray | None = None) -> WalkResult:
    """Bank conflicts of a convolution from its real product coordinates (exact or sampled); *mask*: the
    input's nonzero mask, when the counts made one."""
    lay = lt.layer
    B, nv, C, nph = A.shape
    G = lay.groups
    cg = C // G
    nkg = plan.nkg_per_group
    nslots = B * nv * G * nkg
    # products per input channel: its activations (all tiles) times its weights (all of its group's kgs)
    wsum = Wc.reshape(G, nkg, cg, nph).sum(axis=1).reshape(C, nph)
    per_c = (A.sum(axis=(0, 1)) * wsum).sum(axis=1)
    total = float(per_c.sum())
    budget = p.conflict_sample_products
    exact = want_values or total <= budget
    keep_c = np.ones(C, bool)
    if not exact:
        # sample whole input channels (so that only their activations need listing) in a seeded
        # random order until the budget is reached; thin the units if that overshoots it
        rng = np.random.default_rng([p.seed, 0x5C])
        perm = rng.permutation(C)
        cum = np.cumsum(per_c[perm])
        chosen = perm[:int(np.searchsorted(cum, budget)) + 1]
        keep_c[:] = False
        keep_c[chosen] = True
        thin = min(1.0, budget / max(float(per_c[chosen].sum()), 1.0))
    units = []
    largest = (0.0, None)
    for g in range(G):
        sel = np.flatnonzero(keep_c[g * cg:(g + 1) * cg])            # channels of group g, local indices
        if sel.size == 0:
            continue
        prod = A[:, :, g * cg + sel, :][:, :, None] * Wc[g * nkg:(g + 1) * nkg][:, sel][None, None]
        if not exact:                                              # (B, nv, nkg, |sel|, nph)
            if prod.max() > largest[0]:
                largest = (float(prod.max()), (g, sel, prod))
            prod = prod * (rng.random(prod.shape) < thin)
        b, v, j, s_, ph = np.nonzero(prod)
        units.append((b, v, g * nkg + j, g * cg + sel[s_], sel[s_], ph, prod[b, v, j, s_, ph]))
    b = np.zeros(0, np.int64)
    if units:
        b, v, kg, c, cl, ph, pr = (np.concatenate(z) for z in zip(*units))
    if b.size == 0 and not exact and total > 0:   # thinning kept nothing: walk the largest unit
        g, sel, prod = largest[1]
        b, v, j, s_, ph = (np.array([i]) for i in np.unravel_index(np.argmax(prod), prod.shape))
        kg, c, cl, pr = g * nkg + j, g * cg + sel[s_], sel[s_], prod[b, v, j, s_, ph]
    if b.size == 0:
        return WalkResult(np.zeros(nslots), np.zeros(nslots), np.zeros(nslots), 0, 0, exact, 0.0,
                          np.zeros((B, lay.M, lay.P, lay.Q)) if want_values else None)
    order = np.lexsort((ph, c, kg, v, b))      # slot-major: (b, v, kg), then channel, phase
    b, v, kg, c, cl, ph, pr = (z[order] for z in (b, v, kg, c, cl, ph, pr))
    # activation coordinate lists, for the channels the units use
    used = np.zeros(C, bool)
    used[c] = True
    ch = np.flatnonzero(used)
    nch = ch.size
    slot_of = np.zeros(C, np.int64)                 # a used channel's place among them (the lists' key)
    slot_of[ch] = np.arange(nch)
    bi, si, yi, xi = np.nonzero((lt.input[:, ch] != 0) if mask is None else mask[:, ch])
    labels = pos_labels(lay, plan)
    lab = labels[yi, xi]
    av, aph = np.divmod(lab, plan.nph)
    akey = ((bi * nv + av) * nch + si) * nph + aph
    o = np.argsort(akey, kind="stable")
    a_off = _offsets(akey, B * nv * nch * nph)
    ay, ax = yi[o].astype(np.int64), xi[o].astype(np.int64)
    aval = lt.input[bi[o], ch[si[o]], yi[o], xi[o]].astype(np.float64) if want_values else np.zeros(1)
    # weight coordinate lists in compressed (k, r, s) order per (group, channel, phase) block
    w4 = lt.weight.reshape(lay.M, cg, lay.R, lay.S)
    ucl = np.flatnonzero(used.reshape(G, cg).any(axis=0))   # channel-in-group indices in use
    k, wci, r, s = np.nonzero(w4[:, ucl])
    wc = ucl[wci]
    kg_of_k = np.searchsorted(plan.kg_k0, np.arange(lay.M), side="right") - 1
    rsph = rs_phase(lay, plan).reshape(lay.R, lay.S)[r, s]
    wkey = (kg_of_k[k] * cg + wc) * nph + rsph
    o = np.argsort(wkey, kind="stable")
    w_off = _offsets(wkey, len(plan.kg_k0) * cg * nph)
    wk, wr, ws = k[o].astype(np.int64), r[o].astype(np.int64), s[o].astype(np.int64)
    wval = w4[k[o], wc[o], r[o], s[o]].astype(np.float64) if want_values else np.zeros(1)
    u_a = ((b * nv + v) * nch + slot_of[c]) * nph + ph
    u_w = (kg * cg + cl) * nph + ph
    slot = (b * nv + v) * (G * nkg) + kg
    nb = p.banks
    shift = max(1, int(nb - 1).bit_length())
    out = np.zeros((B, lay.M, lay.P, lay.Q)) if want_values else np.zeros((1, 1, 1, 1))
    busy, stall, tail, valid, wasted = _walk(
        u_a, u_w, slot, plan.kg_k0[kg], plan.oy0[v], plan.ox0[v], b,
        a_off, ay, ax, aval, w_off, wk, wr, ws, wval,
        p.F, p.I, nb, shift, p.bank_queue_entries, lay.stride, lay.pad, lay.P, lay.Q,
        plan.nph == 1 and lay.stride > 1, plan.hacc, plan.wacc, nslots, want_values, out)
    return WalkResult(busy, stall, tail, int(valid), int(wasted), exact, float(pr.sum()),
                      out if want_values else None)


def walk_fc(W: np.ndarray, X: np.ndarray, plan: FCPlan, A: np.ndarray, Wc: np.ndarray, p,
            want_values: bool = False) -> WalkResult:
    """Bank conflicts of an FC layer: every output slice's products, or a seeded sample of inputs."""
    K, N = X.shape
    M = W.shape[0]
    npe, nkg, _ = Wc.shape
    nchunk = A.shape[0]
    per_c = A.sum(axis=0) * Wc.sum(axis=(0, 1))                # products per input
    total = float(per_c.sum())
    nslots = nchunk * nkg * npe
    exact = want_values or total <= p.conflict_sample_products
    cols = np.flatnonzero(per_c)
    if not exact:
        keep = np.random.default_rng([p.seed, 0xFC]).random(K) < p.conflict_sample_products / total
        cols = cols[keep[cols]]
    if cols.size == 0:
        return WalkResult(np.zeros(nslots), np.zeros(nslots), np.zeros(nslots), 0, 0, exact, 0.0,
                          np.zeros((1, M, 1, N)) if want_values else None)
    prod = A[:, None, None, cols] * Wc[None][..., cols]         # (nchunk, npe, nkg, ncols)
    ch, pe, j, ci_ = np.nonzero(prod)
    c = cols[ci_]
    order = np.lexsort((c, pe, j, ch))
    ch, pe, j, c = ch[order], pe[order], j[order], c[order]
    # activations: nonzero batch columns per (chunk, input)
    xi, ni = np.nonzero(X[cols].T)          # ni: index into cols; xi: batch column
    ci = cols[ni]
    chunk = np.searchsorted(plan.nb, xi, side="right") - 1
    akey = chunk * K + ci
    o = np.argsort(akey, kind="stable")
    a_off = _offsets(akey, nchunk * K)
    ay = np.zeros(o.size, np.int64)
    ax = xi[o].astype(np.int64)
    aval = X[ci[o], xi[o]].astype(np.float64) if want_values else np.zeros(1)
    # weights: nonzero outputs per (PE, group, input), ascending k
    wk_, wc_ = np.nonzero(W[:, cols].T)     # wk_: index into cols, wc_: output k (row-major: by col then k)
    kk, cc = wc_, cols[wk_]
    pe_of = np.searchsorted(plan.ks[:, 0], kk, side="right") - 1
    j_of = (kk - plan.ks[pe_of, 0]) // plan.kc
    wkey = (pe_of * nkg + j_of) * K + cc
    o = np.argsort(wkey, kind="stable")
    w_off = _offsets(wkey, npe * nkg * K)
    wk = kk[o].astype(np.int64)
    zeros = np.zeros(o.size, np.int64)
    wval = W[kk[o], cc[o]].astype(np.float64) if want_values else np.zeros(1)
    u_a = ch * K + c
    u_w = (pe * nkg + j) * K + c
    slot = (ch * nkg + j) * npe + pe
    nb = p.banks
    shift = max(1, int(nb - 1).bit_length())
    out = np.zeros((1, M, 1, N)) if want_values else np.zeros((1, 1, 1, 1))
    busy, stall, tail, valid, wasted = _walk(
        u_a, u_w, slot, plan.ks[pe, j], np.zeros(pe.size, np.int64), plan.nb[ch], np.zeros(pe.size, np.int64),
        a_off, ay, ax, aval, w_off, wk, zeros, zeros, wval,
        p.F, p.I, nb, shift, p.bank_queue_entries, 1, 0, 1, N, False, 1, plan.nc, nslots, want_values, out)
    return WalkResult(busy, stall, tail, int(valid), int(wasted), exact, float(prod.sum()),
                      out if want_values else None)


def walk_trace(lt, p: PEArray, plan, counts: Counts, want_values: bool = False) -> WalkResult:
    if lt.layer.is_conv:
        return walk_conv(lt, plan, counts.A, counts.Wc, p, want_values, counts.act_mask)
    return walk_fc(lt.weight, lt.x_gemm(0), plan, counts.A, counts.Wc, p, want_values)


def walk_sample(ls, p: PEArray) -> WalkResult | None:
    """The statistical mode's bank-conflict walk: a synthetic slice of the layer (the same plane, filter
    and output-channel groups; a few input channels, or for FC a few inputs over one batch chunk) drawn
    at the layer's densities and pattern, with about ``conflict_sample_products`` products."""
    from ..traces import LayerTrace
    from ..traces.generate import make_activations
    from ..traces.pruners import prune
    from ..workload import conv as conv_layer, gemm
    lay = ls.layer
    wd, ad = ls.weight_density, ls.act_density
    if wd <= 0 or ad <= 0:
        return None
    rng = np.random.default_rng([p.seed, ls.seed, 0x5A])
    budget = p.conflict_sample_products
    if lay.is_conv:
        mg = lay.M // lay.groups
        per_ch = max(lay.H * lay.W * ad * mg * lay.R * lay.S * wd / lay.stride ** 2, 1.0)
        cs = int(min(lay.C // lay.groups, max(1, math.ceil(budget / per_ch))))
        mini = conv_layer(lay.name, C=cs, H=lay.H, W=lay.W, M=mg, R=lay.R, S=lay.S, stride=lay.stride, pad=lay.pad)
    else:
        plan = fc_plan(lay, p)
        n = int(plan.nc)
        per_col = max(lay.M * wd * n * ad, 1.0)
        ks = int(min(lay.K, max(1, math.ceil(budget / per_col))))
        mini = gemm(lay.name, M=lay.M, K=ks, N=n)
    w = rng.standard_normal(mini.weight_shape).astype(np.float32)
    w = prune(w, ls.pattern, wd, rng) if ls.pattern.kind != "dense" else w
    x = make_activations(mini.input_shape, ad, rng)
    lt = LayerTrace(mini, w, x)
    mp = dataclasses.replace(p, kc=(conv_plan(lay, p).kc if lay.is_conv else fc_plan(lay, p).kc))
    plan, counts = trace_counts(lt, mp, sparse=True)
    return walk_trace(lt, mp, plan, counts)


def _gemm_weight(lt) -> np.ndarray:
    """The filters as ``M x (cg * R * S)`` (the GEMM view), contiguous."""
    return np.ascontiguousarray(lt.weight).reshape(lt.layer.M, -1)


def weight_stream_mask(lt, p: PEArray) -> np.ndarray:
    """The weight nonzero mask in the order SCNN streams it: per output-channel group, per input
    channel, the ``Kc x R x S`` block (Sec. IV); FC weights in their row-major order."""
    lay = lt.layer
    if not lay.is_conv:
        return lt.weight != 0
    plan = conv_plan(lay, p)
    return _weight_stream(_gemm_weight(lt), plan.kg_k0, plan.kg_size, lay.R * lay.S)


def gap_span(fmt) -> int:
    """Positions per padding entry of a row-order gap-coded format (``rle``, ``zero_padded_delta``), whose
    size :func:`weight_stream_encoding` takes without making the stream; 0 for any other format."""
    from ..formats.rle import GapCoded
    return fmt.span() if isinstance(fmt, GapCoded) and fmt.p.order == "row" else 0


def weight_stream_encoding(lt, p: PEArray, fmt):
    """``fmt.measure`` of the weights in SCNN's streaming order (:func:`weight_stream_mask`). A row-order
    gap-coded format's accounting comes from one pass over the filters that makes no stream
    (:func:`_weight_stream_runs`): the same entries, counted where they are made."""
    lay = lt.layer
    span = gap_span(fmt)
    if lay.is_conv and span >= WORD_MIN_SPAN:
        plan = conv_plan(lay, p)
        w = _gemm_weight(lt)
        nnz, pads = _weight_stream_runs(w, plan.kg_k0, plan.kg_size, lay.R * lay.S, span)
        return fmt._account((w.size,), int(nnz), int(pads))
    return fmt.measure(weight_stream_mask(lt, p))


def tile_shapes(lay, plan: ConvPlan) -> np.ndarray:
    """``(nv, 2)`` input tile sizes (rows, columns) of the virtual tiles."""
    vy, vx = np.divmod(np.arange(plan.nv), plan.nx)
    return np.stack([np.diff(plan.yb)[vy], np.diff(plan.xb)[vx]], axis=1)


def total_products(lay, counts: Counts) -> float:
    """Products of a layer's operand counts (the Cartesian products SCNN would form)."""
    A, Wc = counts.A, counts.Wc
    if lay.is_conv:
        G = lay.groups
        C, nph = A.shape[2], A.shape[3]
        asum = A.sum(axis=(0, 1))                                                  # (C, nph)
        wsum = Wc.reshape(G, -1, C // G, nph).sum(axis=1).reshape(C, nph)
        return float((asum * wsum).sum())
    w = np.ones(A.shape[0]) if counts.weight is None else counts.weight
    return float(((w[:, None] * A).sum(axis=0) * Wc.sum(axis=(0, 1))).sum())
