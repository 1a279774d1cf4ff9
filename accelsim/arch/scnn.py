"""``scnn``: SCNN, the compressed-sparse CNN accelerator (Parashar et al., ISCA 2017).

What it models
--------------
The PT-IS-CP-sparse dataflow (Sec. III) on the SCNN PE array (Sec. IV):

* **Planar tiling.** ``pes`` PEs (8 x 8) each own a balanced ``Wt x Ht`` tile of
  every input channel (sizes differ by at most one where the plane does not
  divide). Weights are broadcast to all PEs in output-channel groups of ``Kc``,
  one compressed ``Kc x R x S`` block per input channel.
* **Input-stationary Cartesian product.** Per PE, group and input channel, the
  nonzero activations of the tile are held in vectors of ``I`` while the nonzero
  weights of the block stream past in vectors of ``F``; every cycle the ``F x I``
  multiplier array forms all products of one weight vector with one activation
  vector (Sec. III-B, loop nest of Fig. 3/4). The busy cycles of a PE are exactly
  ``sum_c ceil(a_c / I) * ceil(w_c / F)`` on the trace's nonzero counts.
* **Kc from the accumulators.** ``Kc`` is the largest number of output channels
  whose partial sums, over the tile's output footprint including the halo,
  fit in one (of the two, double-buffered) accumulator sets of
  ``A x entries`` = 32 x 32 (Sec. IV, Table III); a plane too large even for
  ``Kc = 1`` is cut into sub-tiles processed one after another.
* **Scatter and bank conflicts.** Products cross a crossbar into ``A = 2 F I``
  accumulator banks (Sec. IV-B); each bank retires one update a cycle. The
  bank of a product is an XOR-fold of its accumulator address (the paper does
  not give its hash). Each bank has a small input queue
  (``bank_queue_entries``); when a queue holds more than that the multiplier
  array stalls until it drains. The stalls are found by walking the actual
  products of the trace, cycle by cycle, with their real output coordinates
  (:func:`_walk`): exactly when the layer has at most
  ``conflict_sample_products`` products, otherwise on a seeded random sample
  of (output-channel group, input channel) blocks, whose stall-per-busy-cycle
  ratio is applied to every PE (column ``bank_conflict_method``).
* **Halos and barriers.** Products landing outside a PE's own output tile are
  accumulated in its halo region and sent to the neighbours after each group
  (output halos, Sec. III-C). The accumulator set is then drained: halos
  exchanged at ``halo_words_per_cycle`` and the owned outputs passed through the
  PPU (ReLU, compression) into the OARAM at ``drain_words_per_cycle``. With
  double buffering the drain of one group overlaps the next group's multiplies;
  only the excess is lost. All PEs wait for the slowest at the end of each group.
* **Strided convolutions.** ``stride_mode: phase`` (default) splits a strided
  layer into ``stride^2`` phase sub-convolutions, so an activation is only paired
  with weights that can reach a valid output (the paper is silent on strides);
  ``cartesian`` pairs everything and counts the misaligned products as waste.
* **Fully connected layers** (``mode = fc-mapped``): there is no spatial plane to
  tile, so each PE owns a slice of the output neurons and every PE sees every
  input activation; per nonzero input the PE multiplies the ``F``-vectors of its
  nonzero weights of that input with the ``I``-vector of that input's nonzero
  batch samples. At batch 1 one activation lane of ``I`` is used: at most
  ``1/I`` = 25 % of the multipliers (Sec. VI, the paper's FC discussion).
* **Formats.** Weights and activations are stored in the format named by
  ``weight_format``/``act_format`` (default ``rle`` with 16-bit values and 4-bit
  zero runs, Sec. IV); sizes, DRAM traffic, IARAM fit and FIFO traffic come from
  the encoder's ``measure``. The output is compressed after ReLU; its size is the
  encoder's expected size at ``output_density`` (the trace carries no output
  activations; default: the layer's input activation density).
* **Memory.** Activations stay in the IARAM/OARAM (10 KB each per PE, Table III)
  when the compressed tile fits; otherwise they move through DRAM. Weights come
  from DRAM once per image. DRAM time overlaps compute (cycles = max).

Result columns
--------------
``cycles`` = ``ideal_cycles + loss_intra_pe_frag_cycles +
loss_inter_pe_imbalance_cycles + loss_bank_conflict_cycles +
loss_halo_cycles`` (+ DRAM stall), all in cycles of the whole array:
``ideal`` is the products at the full ``PEs x F x I`` rate, fragmentation the
partly filled ``F`` and ``I`` vectors, imbalance the barrier wait behind the
slowest PE, bank conflicts the crossbar stalls, halo the exposed drain.
``speedup_vs_dcnn`` and ``energy_ratio_vs_dcnn`` (DCNN energy / SCNN energy,
> 1 means SCNN is better) compare with :mod:`accelsim.arch.dcnn` on the same
trace and the same PE array, priced by the runner with the config's own energy
table (``LayerResult.baselines``).

Energy: actions only (16-bit multiplies, 24-bit accumulates, crossbar bit-hops,
accumulator-bank, weight-FIFO, IARAM/OARAM and DRAM traffic, run-length index
decoding and coordinate computation). The shipped configs price them with the
45 nm Horowitz table scaled to the paper's 16 nm
(``energy: {table: horowitz_45nm, node_nm: 16}``).

What it leaves out
------------------
Leakage; the PPU's pooling; weight-FIFO refills when a compressed
``Kc x R x S`` block is larger than the 50-entry FIFO (counted in
``weight_fifo_overflow_frac``, not timed); the time to load the first layer's
input; a per-layer DRAM schedule (DRAM time is a roofline overlap). Sampled
bank-conflict estimates apply one layer-wide stall ratio to every PE.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numba import njit

from ..config import bounded, positive
from ..energy import ActionCounts
from ..errors import AccelsimError, ConfigError, ModelError
from ..results import LayerResult
from .base import ArchModel, register


def _rle16():
    # SCNN's zero-run index: 4-bit runs next to 16-bit values (Sec. IV).
    return {"value_bits": 16, "run_bits": 4}


@dataclass
class PEArray:
    """The PE array SCNN and its dense twin DCNN share (Sec. IV, Table III), with its derived sizes."""
    #: PE grid (rows x columns); 8 x 8 in the paper (Sec. IV, Table III)
    pes: tuple[int, int] = (8, 8)
    #: multiplier array: F weights x I activations per cycle (4 x 4, Table III)
    F: int = positive(4)
    I: int = positive(4)
    #: accumulator banks; 0 means 2 * F * I (Sec. IV-B)
    acc_banks: int = bounded(0, lo=0)
    #: entries per accumulator bank (32, Table III)
    acc_bank_entries: int = positive(32)
    acc_double_buffered: bool = True
    #: output channels per group; 0 chooses the largest that fits the accumulators
    kc: int = bounded(0, lo=0)
    value_bits: int = bounded(16, lo=1, hi=64)
    acc_bits: int = bounded(24, lo=1, hi=64)
    #: per-PE SRAMs (10 KB each, Table III) and weight FIFO entries (50, Table III)
    iaram_bytes: int = positive(10240)
    oaram_bytes: int = positive(10240)
    weight_fifo_entries: int = positive(50)
    freq_hz: float = positive(1e9)
    #: DRAM bandwidth (assumed; the paper's evaluation keeps activations on chip)
    dram_bytes_per_cycle: float = positive(50.0)
    #: accumulator drain (PPU into OARAM) and halo exchange rates per PE (assumed)
    drain_words_per_cycle: float = positive(4.0)
    halo_words_per_cycle: float = positive(4.0)
    stride_mode: Literal["phase", "cartesian"] = "phase"

    @property
    def n_pes(self) -> int:
        return int(self.pes[0]) * int(self.pes[1])

    @property
    def banks(self) -> int:
        return self.acc_banks or 2 * self.F * self.I

    @property
    def acc_capacity(self) -> int:
        """Partial sums one accumulator set holds."""
        return self.banks * self.acc_bank_entries

    def check_pes(self) -> None:
        if len(self.pes) != 2 or min(self.pes) < 1:
            raise ConfigError(f"'params.pes' must be two positive integers (rows x cols), got {self.pes}")


@dataclass
class SCNNParams(PEArray):
    #: queued updates a bank holds before the multiplier array stalls (assumed; the paper is silent)
    bank_queue_entries: int = bounded(2, lo=0)
    weight_format: str = "rle"
    weight_format_params: dict[str, Any] = field(default_factory=_rle16)
    act_format: str = "rle"
    act_format_params: dict[str, Any] = field(default_factory=_rle16)
    #: density of the compressed outputs; 0 means the layer's input activation density
    output_density: float = bounded(0.0, lo=0.0, hi=1.0)
    #: products walked exactly for bank conflicts before sampling starts
    conflict_sample_products: int = positive(250_000)
    seed: int = bounded(0, lo=0)
    #: fill speedup_vs_dcnn / energy_ratio_vs_dcnn by running DCNN on the same trace
    compare_dcnn: bool = True

    def validate(self) -> None:
        self.check_pes()
        for key in ("weight", "act"):
            fmt, fp = getattr(self, f"{key}_format"), getattr(self, f"{key}_format_params")
            try:
                _format(fmt, tuple(sorted(fp.items())))
            except AccelsimError as e:
                raise ConfigError(f"'params.{key}_format': {e}") from None


@functools.lru_cache(maxsize=32)
def _format(name: str, items: tuple):
    from ..formats import get_format
    return get_format(name, **dict(items))


def weight_format(p):
    return _format(p.weight_format, tuple(sorted(p.weight_format_params.items())))


def act_format(p):
    return _format(p.act_format, tuple(sorted(p.act_format_params.items())))


# ---------------------------------------------------------------------------------------
# Geometry: planar tiles, output footprints, Kc, halos
# ---------------------------------------------------------------------------------------
def _split(n: int, parts: int) -> np.ndarray:
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


def plan_conv(lay, pes: tuple[int, int], capacity: int, kc: int, stride_mode: str) -> ConvPlan:
    st, pad, R, S, P, Q = lay.stride, lay.pad, lay.R, lay.S, lay.P, lay.Q
    nph = st * st if stride_mode == "phase" else 1
    mg = lay.M // lay.groups
    gy, gx = int(pes[0]), int(pes[1])
    t = 1
    while True:
        ny, nx = gy * t, gx * t
        yb, xb = _split(lay.H, ny), _split(lay.W, nx)
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
    oyb, oxb = _split(P, ny), _split(Q, nx)
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


def _pos_labels(lay, plan: ConvPlan) -> np.ndarray:
    """``v * nph + phase`` of every input position (H x W)."""
    st, pad = lay.stride, lay.pad
    ty = np.searchsorted(plan.yb, np.arange(lay.H), side="right") - 1
    tx = np.searchsorted(plan.xb, np.arange(lay.W), side="right") - 1
    v = ty[:, None] * plan.nx + tx[None, :]
    if plan.nph == 1:
        return v
    ph = ((np.arange(lay.H) + pad) % st)[:, None] * st + ((np.arange(lay.W) + pad) % st)[None, :]
    return v * plan.nph + ph


def _rs_phase(lay, plan: ConvPlan) -> np.ndarray:
    st = lay.stride
    if plan.nph == 1:
        return np.zeros(lay.R * lay.S, np.int64)
    return ((np.arange(lay.R) % st)[:, None] * st + (np.arange(lay.S) % st)[None, :]).ravel()


def conv_counts(lt, plan: ConvPlan, sparse: bool) -> tuple[np.ndarray, np.ndarray]:
    """Operand counts: ``A[b, v, c, ph]`` activations per tile/channel/phase and ``Wc[kg, c_local, ph]``
    weights per group/channel/phase; nonzeros only when *sparse*, every position otherwise."""
    lay = lt.layer
    B, C, H, W = lt.input.shape
    nl = plan.nv * plan.nph
    labels = _pos_labels(lay, plan)
    if sparse:
        A = _label_counts(lt.input, labels, nl).reshape(B * C, nl)
    else:
        A = np.broadcast_to(np.bincount(labels.ravel(), minlength=nl).astype(np.float64), (B * C, nl))
    A = A.reshape(B, C, plan.nv, plan.nph).transpose(0, 2, 1, 3)
    cg = C // lay.groups
    rs_onehot = np.zeros((lay.R * lay.S, plan.nph))
    rs_onehot[np.arange(lay.R * lay.S), _rs_phase(lay, plan)] = 1.0
    wm = (lt.weight != 0) if sparse else np.ones(lt.weight.shape, bool)
    wph = wm.reshape(lay.M * cg, lay.R * lay.S).astype(np.float64) @ rs_onehot
    wph = wph.reshape(lay.M, cg, plan.nph)
    Wc = np.add.reduceat(wph, plan.kg_k0, axis=0)
    return np.ascontiguousarray(A), Wc


def _per_group(A: np.ndarray, Wc: np.ndarray, groups: int, nkg: int, fa, fw) -> np.ndarray:
    """``out[b, v, kg] = sum_{c, ph} fa(A[b, v, c, ph]) * fw(Wc[kg, c_local, ph])`` over each kg's conv group."""
    B, nv, C, nph = A.shape
    cg = C // groups
    a = fa(A).reshape(B * nv, groups, cg * nph).transpose(1, 0, 2)            # (G, B*nv, cg*nph)
    w = fw(Wc).reshape(groups, nkg, cg * nph).transpose(0, 2, 1)              # (G, cg*nph, nkg)
    out = np.matmul(a, w)                                                      # (G, B*nv, nkg)
    return out.transpose(1, 0, 2).reshape(B, nv, groups * nkg)


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
                 peak_per_pe: int, double_buffered: bool) -> Timing:
    """Phases run one after another, each ending at a barrier: time = max over PEs of
    busy + stall. A phase's accumulator drain overlaps the next phase when double buffered.

    ``products``, ``busy``, ``stall``: ``(phases, PEs)``; ``drain``: ``(phases,)``.
    """
    t = busy + stall
    T = t.max(axis=1) if t.size else np.zeros(0)
    exposed = drain.astype(np.float64).copy()
    if double_buffered and exposed.size > 1:
        exposed[:-1] = np.maximum(exposed[:-1] - T[1:], 0.0)
    ideal = float(products.sum()) / (peak_per_pe * t.shape[1])
    frag = float((busy - products / peak_per_pe).mean(axis=1).sum())
    bank = float(stall.mean(axis=1).sum())
    imb = float((T - t.mean(axis=1)).sum())
    halo = float(exposed.sum())
    return Timing(cycles=float(T.sum()) + halo, ideal=ideal, frag=frag, imbalance=imb, bank=bank, halo=halo,
                  pe_busy=t.sum(axis=0))


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
                        ny = ay[a] + pad - wr[w]
                        nx = ax[a] + pad - ws[w]
                        if cartesian and (ny % st != 0 or nx % st != 0):
                            wasted += 1
                            continue
                        oy = ny // st
                        ox = nx // st
                        if oy < 0 or oy >= P or ox < 0 or ox >= Q:
                            wasted += 1
                            continue
                        valid += 1
                        addr = ((wk[w] - k0) * hacc + (oy - oy0)) * wacc + (ox - ox0)
                        b = (addr ^ (addr >> shift) ^ (addr >> (2 * shift))) % nbanks
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


@njit(cache=True)
def _label_counts(x, labels, nl):
    """``out[b, c, l]``: nonzeros of ``x[b, c]`` at the positions labelled ``l``."""
    B, C, H, W = x.shape
    out = np.zeros((B, C, nl))
    for b in range(B):
        for c in range(C):
            for i in range(H):
                for j in range(W):
                    if x[b, c, i, j] != 0:
                        out[b, c, labels[i, j]] += 1
    return out


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


def _walk_conv(lt, plan: ConvPlan, A: np.ndarray, Wc: np.ndarray, p, want_values: bool = False) -> WalkResult:
    """Bank conflicts of a convolution from its real product coordinates (exact or sampled)."""
    lay = lt.layer
    B, nv, C, nph = A.shape
    G = lay.groups
    cg = C // G
    nkg = plan.nkg_per_group
    nslots = B * nv * G * nkg
    unit_sets = []
    per_c = np.zeros(C)
    for g in range(G):
        a = A[:, :, g * cg:(g + 1) * cg, :]
        w = Wc[g * nkg:(g + 1) * nkg]
        prod = a[:, :, None] * w[None, None]                  # (B, nv, nkg, cg, nph)
        unit_sets.append(prod)
        per_c[g * cg:(g + 1) * cg] = prod.sum(axis=(0, 1, 2, 4))
    total = float(per_c.sum())
    budget = p.conflict_sample_products
    exact = want_values or total <= budget
    if not exact:
        # sample whole input channels (so that only their activations need listing) in a seeded
        # random order until the budget is reached; thin the groups if that overshoots it
        rng = np.random.default_rng([p.seed, 0x5C])
        perm = rng.permutation(C)
        cum = np.cumsum(per_c[perm])
        chosen = perm[:int(np.searchsorted(cum, budget)) + 1]
        keep_c = np.zeros(C, bool)
        keep_c[chosen] = True
        thin = min(1.0, budget / max(float(per_c[chosen].sum()), 1.0))
    units = []
    for g, prod in enumerate(unit_sets):
        if not exact:
            keep = keep_c[g * cg:(g + 1) * cg][None, None, None, :, None] & (rng.random(prod.shape) < thin)
            prod = prod * keep
        b, v, j, cl, ph = np.nonzero(prod)
        kg = g * nkg + j
        units.append((b, v, kg, g * cg + cl, cl, ph, prod[b, v, j, cl, ph]))
    b, v, kg, c, cl, ph, pr = (np.concatenate(z) for z in zip(*units))
    if b.size == 0 and not exact and total > 0:   # thinning kept nothing: walk the largest unit
        g = int(np.argmax([u.max() for u in unit_sets]))
        b, v, j, cl, ph = (np.array([i]) for i in np.unravel_index(np.argmax(unit_sets[g]), unit_sets[g].shape))
        kg, c, pr = g * nkg + j, g * cg + cl, unit_sets[g][b, v, j, cl, ph]
    if b.size == 0:
        return WalkResult(np.zeros(nslots), np.zeros(nslots), np.zeros(nslots), 0, 0, exact, 0.0,
                          np.zeros((B, lay.M, lay.P, lay.Q)) if want_values else None)
    order = np.lexsort((ph, c, kg, v, b))      # slot-major: (b, v, kg), then channel, phase
    b, v, kg, c, cl, ph, pr = (z[order] for z in (b, v, kg, c, cl, ph, pr))
    # activation coordinate lists, for the channels the units use
    used = np.zeros(C, bool)
    used[c] = True
    ch = np.flatnonzero(used)
    x = lt.input[:, ch]
    bi, ci, yi, xi = np.nonzero(x)
    ci = ch[ci]
    labels = _pos_labels(lay, plan)
    lab = labels[yi, xi]
    av, aph = np.divmod(lab, plan.nph)
    akey = ((bi * nv + av) * C + ci) * nph + aph
    o = np.argsort(akey, kind="stable")
    a_off = _offsets(akey, B * nv * C * nph)
    ay, ax = yi[o].astype(np.int64), xi[o].astype(np.int64)
    aval = lt.input[bi[o], ci[o], yi[o], xi[o]].astype(np.float64) if want_values else np.zeros(1)
    # weight coordinate lists in compressed (k, r, s) order per (group, channel, phase) block
    w4 = lt.weight.reshape(lay.M, cg, lay.R, lay.S)
    ucl = np.flatnonzero(used.reshape(G, cg).any(axis=0))   # channel-in-group indices in use
    k, wci, r, s = np.nonzero(w4[:, ucl])
    wc = ucl[wci]
    kg_of_k = np.searchsorted(plan.kg_k0, np.arange(lay.M), side="right") - 1
    rsph = _rs_phase(lay, plan).reshape(lay.R, lay.S)[r, s]
    wkey = (kg_of_k[k] * cg + wc) * nph + rsph
    o = np.argsort(wkey, kind="stable")
    w_off = _offsets(wkey, len(plan.kg_k0) * cg * nph)
    wk, wr, ws = k[o].astype(np.int64), r[o].astype(np.int64), s[o].astype(np.int64)
    wval = w4[k[o], wc[o], r[o], s[o]].astype(np.float64) if want_values else np.zeros(1)
    u_a = ((b * nv + v) * C + c) * nph + ph
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


# ---------------------------------------------------------------------------------------
# Fully connected (and other GEMM) layers
# ---------------------------------------------------------------------------------------
@dataclass
class FCPlan:
    ks: np.ndarray        # (npe, nkg + 1) output bounds of each PE's groups
    kc: int
    nkg: int
    nb: np.ndarray        # batch-column chunk bounds
    nc: int


def plan_fc(lay, npe: int, capacity: int, kc: int) -> FCPlan:
    M, N = lay.M, lay.N
    pe_b = _split(M, npe)
    slice_ = int(np.diff(pe_b).max())
    nc = min(N, max(1, capacity // max(slice_, 1)))
    kc_eff = min(slice_, capacity // nc)
    if kc:
        kc_eff = min(kc_eff, kc)
    kc_eff = max(kc_eff, 1)
    nkg = -(-slice_ // kc_eff)
    ks = np.minimum(pe_b[:-1, None] + kc_eff * np.arange(nkg + 1)[None, :], pe_b[1:, None])
    return FCPlan(ks=ks, kc=kc_eff, nkg=nkg, nb=np.append(np.arange(0, N, nc), N), nc=nc)


def fc_counts(W: np.ndarray, X: np.ndarray, plan: FCPlan, sparse: bool) -> tuple[np.ndarray, np.ndarray]:
    """``A[chunk, c]`` nonzero batch samples per input and chunk, ``Wc[pe, kg, c]`` nonzero weights per
    input in each PE's output group (every position when not *sparse*)."""
    K, N = X.shape
    nchunk = len(plan.nb) - 1
    if sparse:
        A = np.add.reduceat((X != 0).astype(np.int64), plan.nb[:-1], axis=1).T.astype(np.float64)
    else:
        A = np.broadcast_to(np.diff(plan.nb).astype(np.float64)[:, None], (nchunk, K))
    sizes = (plan.ks[:, 1:] - plan.ks[:, :-1]).ravel()
    if sparse:
        row_group = np.full(W.shape[0], -1, np.int64)
        for g, (a, b) in enumerate(zip(plan.ks[:, :-1].ravel(), plan.ks[:, 1:].ravel())):
            row_group[a:b] = g
        Wc = _row_group_nnz(W, row_group, sizes.size)
    else:
        Wc = np.broadcast_to(sizes.astype(np.float64)[:, None], (sizes.size, K))
    return np.asarray(A), np.asarray(Wc).reshape(plan.ks.shape[0], plan.nkg, K)


def fc_per(A: np.ndarray, Wc: np.ndarray, fa, fw) -> np.ndarray:
    """``out[chunk, kg, pe] = sum_c fa(A[chunk, c]) * fw(Wc[pe, kg, c])``."""
    npe, nkg, K = Wc.shape
    o = fa(A) @ fw(Wc).reshape(npe * nkg, K).T        # (nchunk, npe*nkg)
    return o.reshape(-1, npe, nkg).transpose(0, 2, 1)


def _walk_fc(W: np.ndarray, X: np.ndarray, plan: FCPlan, A: np.ndarray, Wc: np.ndarray, p,
             want_values: bool = False) -> WalkResult:
    K, N = X.shape
    M = W.shape[0]
    npe, nkg, _ = Wc.shape
    nchunk = A.shape[0]
    prod = A[:, None, None, :] * Wc[None]                      # (nchunk, npe, nkg, K)
    total = float(prod.sum())
    nslots = nchunk * nkg * npe
    exact = want_values or total <= p.conflict_sample_products
    if not exact:
        keep = np.random.default_rng([p.seed, 0xFC]).random(K) < p.conflict_sample_products / total
        prod = prod * keep
    ch, pe, j, c = np.nonzero(prod)
    if ch.size == 0:
        return WalkResult(np.zeros(nslots), np.zeros(nslots), np.zeros(nslots), 0, 0, exact, 0.0,
                          np.zeros((1, M, 1, N)) if want_values else None)
    order = np.lexsort((c, pe, j, ch))
    ch, pe, j, c = ch[order], pe[order], j[order], c[order]
    cols = np.unique(c)
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


# ---------------------------------------------------------------------------------------
# The layer: counts, timing, storage, actions
# ---------------------------------------------------------------------------------------
def _ceil_div(d: int):
    return lambda x: np.ceil(x / d)


def _ident(x):
    return x


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
    walk: WalkResult | None = None


def _stalls(walk: WalkResult, busy: np.ndarray, prods: np.ndarray) -> tuple[np.ndarray, str]:
    """Bank-conflict stalls per slot: walked exactly, or estimated from a sample as a stall-per-busy-
    cycle ratio (issue stalls) plus the mean drain tail of a walked slot (for every busy slot)."""
    if walk.exact:
        return (walk.stall + walk.tail).reshape(busy.shape), "exact"
    ratio = walk.stall.sum() / max(walk.busy.sum(), 1.0)
    walked = walk.busy > 0
    tail = walk.tail[walked].mean() if walked.any() else 0.0
    est = busy * ratio + (busy > 0) * tail
    return est, f"sampled ({walk.walked_products / max(prods.sum(), 1):.1%} of products)"


def map_layer(lt, p, sparse: bool, conflicts: bool, packing: str = "cartesian") -> Mapped:
    """Map *lt* onto the PE array: counts, timing and losses (*sparse*: SCNN; otherwise dense).

    *packing* ``cartesian``: a PE spends ``ceil(a / I) * ceil(w / F)`` cycles per channel block;
    ``perfect``: it fills every multiplier until its work runs out (``ceil(products / (F I))``
    per group), the dense engine's best case.
    """
    lay = lt.layer
    npe = p.n_pes
    peak = p.F * p.I
    cap = p.acc_capacity
    if lay.is_conv:
        plan = plan_conv(lay, p.pes, cap, p.kc, p.stride_mode)
        A, Wc = conv_counts(lt, plan, sparse)
        B = A.shape[0]
        ceil_i, ceil_f = _ceil_div(p.I), _ceil_div(p.F)
        prods = _per_group(A, Wc, lay.groups, plan.nkg_per_group, _ident, _ident)
        if packing == "perfect":
            busy = np.ceil(prods / peak)
        else:
            busy = _per_group(A, Wc, lay.groups, plan.nkg_per_group, ceil_i, ceil_f)
        fifo = _per_group(A, Wc, lay.groups, plan.nkg_per_group, ceil_i, _ident)
        walk = None
        method = "none (dense: regular accumulation)"
        stall = np.zeros_like(busy)
        if conflicts and prods.sum() > 0:
            walk = _walk_conv(lt, plan, A, Wc, p)
            stall, method = _stalls(walk, busy, prods)
        drain = conv_drain(plan, B, p.drain_words_per_cycle, p.halo_words_per_cycle)
        timing = phase_timing(conv_phases(plan, prods, npe), conv_phases(plan, busy, npe),
                              conv_phases(plan, stall, npe), drain, peak, p.acc_double_buffered)
        valid = _valid_conv(lt, plan, sparse)
        halo = float((plan.halo_send.sum()) * lay.M * B)
        return Mapped("conv", timing, float(prods.sum()), valid, float(busy.sum()), float(fifo.sum()),
                      len(plan.kg_k0), halo, float(lay.M * lay.P * lay.Q * B), plan.kc,
                      plan.rounds, int(drain.size), f"{plan.ny}x{plan.nx}", method, walk)
    if lay.groups != 1:
        raise ModelError(f"layer '{lay.name}': grouped {lay.op} layers are not supported by this model")
    W, X = lt.weight, lt.x_gemm(0)
    plan = plan_fc(lay, npe, cap, p.kc)
    A, Wc = fc_counts(W, X, plan, sparse)
    ceil_i, ceil_f = _ceil_div(p.I), _ceil_div(p.F)
    prods = fc_per(A, Wc, _ident, _ident)        # (nchunk, nkg, npe)
    busy = np.ceil(prods / peak) if packing == "perfect" else fc_per(A, Wc, ceil_i, ceil_f)
    fifo = fc_per(A, Wc, ceil_i, _ident)
    stall = np.zeros_like(busy)
    walk = None
    method = "none (dense: regular accumulation)"
    if conflicts and prods.sum() > 0:
        walk = _walk_fc(W, X, plan, A, Wc, p)
        stall, method = _stalls(walk, busy, prods)
    nchunk = A.shape[0]
    sizes = np.diff(plan.ks, axis=1)             # (npe, nkg)
    cw = np.diff(plan.nb)                        # (nchunk,)
    drain = (sizes.max(axis=0)[None, :] * cw[:, None] / p.drain_words_per_cycle).reshape(-1)
    sh = (nchunk * plan.nkg, npe)
    timing = phase_timing(prods.reshape(sh), busy.reshape(sh), stall.reshape(sh), drain, peak,
                          p.acc_double_buffered)
    return Mapped("fc-mapped", timing, float(prods.sum()), float(prods.sum()), float(busy.sum()),
                  float(fifo.sum()), nchunk * plan.nkg, 0.0, float(lay.M * lay.N), plan.kc, nchunk,
                  nchunk * plan.nkg, f"{npe} output slices", method, walk)


def _valid_conv(lt, plan: ConvPlan, sparse: bool) -> float:
    """Products that land in the output plane: for every weight tap (c, r, s), the (nonzero)
    weights of that tap times the (nonzero) inputs its stride-grid window covers."""
    lay = lt.layer
    st, pad, P, Q = lay.stride, lay.pad, lay.P, lay.Q
    B, C, H, W = lt.input.shape
    cg = C // lay.groups
    mg = lay.M // lay.groups
    m = (lt.input != 0) if sparse else np.ones(lt.input.shape, bool)
    mp = np.pad(m, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.empty((C, lay.R, lay.S))
    for r in range(lay.R):
        for s in range(lay.S):
            win[:, r, s] = mp[:, :, r:r + st * (P - 1) + 1:st, s:s + st * (Q - 1) + 1:st].sum(axis=(0, 2, 3))
    wm = (lt.weight != 0) if sparse else np.ones(lt.weight.shape, bool)
    wtap = wm.reshape(lay.groups, mg, cg, lay.R, lay.S).sum(axis=1).reshape(C, lay.R, lay.S)
    return float((wtap * win).sum())


def simulate_scnn_functional(lt, p) -> np.ndarray:
    """The layer's output computed by scattering SCNN's products (tests and small cases only).

    Returns ``M x N`` (the GEMM view of the output), accumulated from exactly the products the
    modelled PEs form, at the output coordinates they compute.
    """
    lay = lt.layer
    if lay.is_conv:
        plan = plan_conv(lay, p.pes, p.acc_capacity, p.kc, p.stride_mode)
        A, Wc = conv_counts(lt, plan, True)
        w = _walk_conv(lt, plan, A, Wc, p, want_values=True)
        return w.out.transpose(1, 0, 2, 3).reshape(lay.M, -1)
    W, X = lt.weight, lt.x_gemm(0)
    plan = plan_fc(lay, p.n_pes, p.acc_capacity, p.kc)
    A, Wc = fc_counts(W, X, plan, True)
    w = _walk_fc(W, X, plan, A, Wc, p, want_values=True)
    return w.out.reshape(lay.M, lay.N)


# ---------------------------------------------------------------------------------------
# Storage through the format encoders
# ---------------------------------------------------------------------------------------
@dataclass
class Storage:
    weight_bits: float
    weight_meta_bits: float
    weight_nnz: int
    act_bits: float                  # all images, all tiles
    act_tile_bits_max: float         # the largest PE's compressed input (one image)
    out_bits: float
    out_tile_bits_max: float


def weight_stream_mask(lt, p) -> np.ndarray:
    """The weight nonzero mask in the order SCNN streams it: per output-channel group, per input
    channel, the ``Kc x R x S`` block (Sec. IV); FC weights in their row-major order."""
    lay = lt.layer
    wm = lt.weight != 0
    if not lay.is_conv:
        return wm
    plan = plan_conv(lay, p.pes, p.acc_capacity, p.kc, p.stride_mode)
    cg = lay.C // lay.groups
    w4 = wm.reshape(lay.M, cg, lay.R, lay.S)
    ends = np.append(plan.kg_k0[1:], lay.M)
    return np.concatenate([w4[a:b].transpose(1, 0, 2, 3).ravel() for a, b in zip(plan.kg_k0, ends)])


def storage(lt, p, wfmt, afmt, ofmt, out_density: float) -> Storage:
    lay = lt.layer
    we = wfmt.measure(weight_stream_mask(lt, p))
    x = lt.input
    tile_bits = []
    if lay.is_conv:
        plan = plan_conv(lay, p.pes, p.acc_capacity, p.kc, p.stride_mode)
        m = x != 0
        for b in range(x.shape[0]):
            for i in range(plan.ny):
                for j in range(plan.nx):
                    t = m[b, :, plan.yb[i]:plan.yb[i + 1], plan.xb[j]:plan.xb[j + 1]]
                    tile_bits.append(afmt.measure(t).total_bits if t.size else 0)
        tile_bits = np.array(tile_bits, dtype=np.float64).reshape(x.shape[0], plan.ny * plan.nx)
        # a PE holds its t x t sub-tiles together
        per_pe = np.zeros((x.shape[0], p.n_pes))
        np.add.at(per_pe, (slice(None), plan.v_pe), tile_bits)
        act_bits, act_max = float(tile_bits.sum()), float(per_pe.max())
        out_shape = (lay.M, lay.P, lay.Q)
        out_total = ofmt.expected_bits(out_shape, out_density) * x.shape[0] if out_density > 0 else 0.0
        own_max = float(np.diff(_split(lay.P, p.pes[0])).max() * np.diff(_split(lay.Q, p.pes[1])).max())
        out_max = out_total / x.shape[0] * own_max / max(lay.P * lay.Q, 1)
    else:
        X = lt.x_gemm(0)
        act_bits = float(afmt.measure((X != 0).T).total_bits)   # every PE holds the whole input
        act_max = act_bits
        out_total = ofmt.expected_bits((lay.N, lay.M), out_density) if out_density > 0 else 0.0
        out_max = out_total / p.n_pes
    return Storage(weight_bits=float(we.total_bits), weight_meta_bits=float(we.metadata_bits),
                   weight_nnz=int(we.nnz), act_bits=act_bits, act_tile_bits_max=act_max, out_bits=out_total,
                   out_tile_bits_max=out_max)


# ---------------------------------------------------------------------------------------
# Area
# ---------------------------------------------------------------------------------------
def _index_width(fp: dict) -> int:
    """Index bits stored next to each value by a format's parameters (``run_bits`` or ``index_bits``; 0 if none)."""
    return int(fp.get("run_bits", fp.get("index_bits", 0)) or 0)


def pe_array_inventory(p, sparse: bool):
    """SCNN's PE array (``sparse``) or DCNN's dense twin, for the area (Sec. IV, the PE area table).

    Per PE: ``F x I`` multipliers of ``value_bits``; the accumulator sets (``banks x acc_bank_entries``
    partial sums of ``acc_bits``, two sets when double-buffered: 32 x 32 x 24 bits x 2 = the paper's 6 KB)
    as register files; the IARAM and OARAM at their capacities; a weight FIFO of ``weight_fifo_entries``
    vectors of ``F`` weights (50 x 4 x 20 bits = the paper's 0.5 KB with 4-bit runs).

    SCNN adds what the sparse dataflow needs: one ``acc_bits`` adder per accumulator bank (each retires one
    update a cycle; component ``mac``, as the energy prices the accumulates), the ``F I x A`` scatter
    crossbar (``F I x banks x acc_bits`` multiplexer bits) with the banks' input queues, the coordinate
    computation of every product (an accumulator address per multiplier) and the zero-run decoders of the
    ``F`` weight and ``I`` activation lanes. DCNN's products
    land on regular addresses: one adder per multiplier, no crossbar, no coordinate or index logic, and its
    FIFO holds plain values. The PPU, control and the weight broadcast and halo wires are left out (the
    "other" line of the paper's PE area table).
    """
    from ..energy import Inventory
    inv = Inventory()
    n, lanes = p.n_pes, p.F * p.I
    vb, ab = p.value_bits, p.acc_bits
    inv.mult(n * lanes, vb, component="mac")
    sets = 2 if p.acc_double_buffered else 1
    inv.rf(sets * p.acc_capacity * ab / 8, n, component="accumulator")
    inv.sram(p.iaram_bytes, n, component="iaram")
    inv.sram(p.oaram_bytes, n, component="oaram")
    if not sparse:
        inv.add(n * lanes, ab, component="mac")
        inv.rf(p.weight_fifo_entries * p.F * vb / 8, n, component="weight_fifo")
        return inv
    w_idx = _index_width(p.weight_format_params)
    a_idx = _index_width(p.act_format_params)
    inv.rf(p.weight_fifo_entries * p.F * (vb + w_idx) / 8, n, component="weight_fifo")
    inv.add(n * p.banks, ab, component="mac")          # the banks' accumulate adders, priced as "mac" in energy
    entry_bits = max(1, int(np.ceil(np.log2(p.acc_bank_entries))))
    addr_bits = max(1, int(np.ceil(np.log2(p.acc_capacity))))
    inv.mux(n * lanes * p.banks * ab, component="crossbar")
    inv.rf(p.banks * p.bank_queue_entries * (ab + entry_bits) / 8, n, component="crossbar")
    inv.index(n * lanes * addr_bits, component="coord")
    inv.index(n * (p.F * w_idx + p.I * a_idx), component="index")
    return inv


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------
@register
class SCNN(ArchModel):
    name = "scnn"
    description = "SCNN (ISCA 2017): planar-tiled input-stationary Cartesian-product sparse CNN accelerator"
    Params = SCNNParams

    def simulate(self, lt, p: SCNNParams) -> LayerResult:
        lay = lt.layer
        m = map_layer(lt, p, sparse=True, conflicts=True)
        wfmt, afmt = weight_format(p), act_format(p)
        out_density = p.output_density or lt.act_density
        st = storage(lt, p, wfmt, afmt, afmt, out_density)
        # weights stream from DRAM once per image and sub-tile pass (conv) or batch chunk (FC):
        # the PEs keep no more than a FIFO of them
        w_passes = lay.batch * m.rounds if lay.is_conv else m.rounds
        vb, ab = p.value_bits, p.acc_bits
        bank_bytes = p.acc_bank_entries * ab / 8
        bits_per_w = st.weight_bits / max(st.weight_nnz, 1)
        n_act = float(np.count_nonzero(lt.input))
        bits_per_a = st.act_bits / max(n_act, 1.0)

        # ---- memory: weights from DRAM once per image; activations on chip when they fit
        iaram_fits = st.act_tile_bits_max <= 8 * p.iaram_bytes
        oaram_fits = st.out_tile_bits_max <= 8 * p.oaram_bytes
        dram = st.weight_bits / 8 * w_passes
        if not iaram_fits:
            dram += st.act_bits / 8
        if not oaram_fits:
            dram += st.out_bits / 8
        onchip = m.timing.cycles
        mem = dram / p.dram_bytes_per_cycle
        cycles = max(onchip, mem, 1.0)

        # ---- actions
        acts = ActionCounts()
        acts.mult(m.products, vb, component="mac")
        acts.add(m.valid, ab, component="mac")
        acts.index(m.products, component="coord")                 # output coordinate of every product
        acts.wire(m.valid * ab, component="crossbar")             # scatter network, one traversal
        acts.rf(2 * m.valid * ab, bank_bytes, component="accumulator")
        fifo_bytes = p.weight_fifo_entries * bits_per_w / 8
        acts.rf(m.fifo_reads * bits_per_w, fifo_bytes, component="weight_fifo")
        # conv: each PE reads its tile once per group; FC: every PE holds and reads the whole input
        iaram_reads = st.act_bits * m.act_passes * (1 if lay.is_conv else p.n_pes)
        acts.sram(iaram_reads, p.iaram_bytes, component="iaram")
        acts.sram(st.out_bits, p.oaram_bytes, component="oaram")
        acts.index(m.fifo_reads + iaram_reads / max(bits_per_a, 1.0), component="index")  # run decoding
        hops = (p.n_pes - 1) if lay.is_conv else (p.pes[0] + p.pes[1]) / 2
        acts.wire(st.weight_bits * w_passes * hops, component="noc")       # broadcast (conv) / unicast (FC)
        acts.wire(m.halo_words * ab, component="noc")
        acts.add(m.halo_words, ab, component="mac")
        acts.rf(2 * m.halo_words * ab + m.out_words * ab, bank_bytes, component="accumulator")
        acts.add(m.out_words, ab, component="ppu")                 # ReLU compare on the way out
        acts.dram(dram)

        t = m.timing
        extra = {
            "mode": m.mode, "kc": m.kc, "tiles": m.tiles, "subtile_rounds": m.rounds, "barrier_phases": m.phases,
            "macs_useful": m.valid, "products_out_of_plane": m.products - m.valid,
            "ideal_cycles": t.ideal, "loss_intra_pe_frag_cycles": t.frag,
            "loss_inter_pe_imbalance_cycles": t.imbalance, "loss_bank_conflict_cycles": t.bank,
            "loss_halo_cycles": t.halo, "dram_stall_cycles": cycles - onchip if mem > onchip else 0.0,
            "bank_conflict_method": m.conflict_method, "halo_words": m.halo_words,
            "iaram_fits": bool(iaram_fits), "oaram_fits": bool(oaram_fits),
            "weight_fifo_overflow_frac": self._fifo_overflow(lt, p),
        }
        res = LayerResult(cycles=cycles, compute_cycles=onchip, stall_cycles=cycles - onchip, freq_hz=p.freq_hz,
                          macs_performed=m.products, peak_macs_per_cycle=p.n_pes * p.F * p.I,
                          pe_busy=t.pe_busy, actions=acts, weight_bits=st.weight_bits,
                          metadata_bits=st.weight_meta_bits, dram_bytes=dram,
                          sram_bytes=(iaram_reads + st.out_bits) / 8, extra=extra)
        if p.compare_dcnn:
            self._compare(lt, p, res)
        return res

    def inventory(self, p: SCNNParams):
        return pe_array_inventory(p, sparse=True)

    @staticmethod
    def _fifo_overflow(lt, p) -> float:
        """Fraction of nonzero (group, channel) weight blocks with more nonzeros than FIFO entries."""
        lay = lt.layer
        if not lay.is_conv:
            return 0.0
        plan = plan_conv(lay, p.pes, p.acc_capacity, p.kc, p.stride_mode)
        cg = lay.C // lay.groups
        nz = (lt.weight != 0).reshape(lay.M, cg, lay.R * lay.S).sum(axis=2)
        blocks = np.add.reduceat(nz, plan.kg_k0, axis=0)
        used = blocks > 0
        return float((blocks > p.weight_fifo_entries).sum() / max(used.sum(), 1))

    @staticmethod
    def _compare(lt, p: SCNNParams, res: LayerResult) -> None:
        from .dcnn import DCNN, DCNNParams
        shared = {f.name for f in dataclasses.fields(DCNNParams)} & {f.name for f in dataclasses.fields(SCNNParams)}
        shared -= {"iaram_bytes", "oaram_bytes", "weight_format", "weight_format_params", "act_format",
                   "act_format_params"}
        dp = DCNNParams(**{k: getattr(p, k) for k in shared})
        # priced by the runner with this config's energy table (LayerResult.baselines)
        res.baselines["dcnn"] = DCNN().simulate(lt, dp)
