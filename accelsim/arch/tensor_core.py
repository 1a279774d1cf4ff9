"""``tensor_core``: a GPU of SMs with dense and N:M-sparse tensor cores (NVIDIA A100, H100) running tiled GEMMs.

What it models
--------------
A layer's GEMM ``W (M x K) @ X (K x N)`` runs as one kernel of thread-block tiles (CTAs) the way CUTLASS and
cuBLAS/cuSPARSELt build it (CUTLASS "Efficient GEMM in CUDA": thread-block tile, warp tile, multistage shared
memory pipeline, split-K, thread-block rasterisation). Convolutions run as implicit GEMM (M = output channels,
K = C*R*S, N = batch*P*Q); grouped convolutions are ``groups`` GEMMs in one launch.

* **SM math.** Each SM has four tensor cores; together they perform ``macs_per_sm_per_clock[precision]`` dense
  FMAs per clock (A100: 1024 FP16/BF16, 512 TF32, 2048 INT8 -- NVIDIA A100 Tensor Core GPU Architecture
  whitepaper, 2020, "A100 SM Architecture" and "Third-Generation NVIDIA Tensor Core"; H100 twice that per SM
  clock, plus FP8 -- NVIDIA H100 Tensor Core GPU Architecture whitepaper, 2022, "H100 SM Architecture",
  Table 3). A CTA of ``tm x tn`` steps through K in ``tk`` slices; each slice costs ``tm*tn*tk / rate``
  cycles of the SM's tensor cores, and co-resident CTAs share them.
* **Sparse tensor cores.** When W (operand A in NVIDIA's terms) obeys N:M along K, the sparse MMA reads A
  compressed -- the kept values plus a small index (metadata) per value -- and uses the metadata to pick the
  matching rows of the dense operand B, so the same K slice takes ``1 / sparse_math_speedup`` of the cycles
  (A100 whitepaper, "A100 Introduces Fine-Grained Structured Sparsity": "Sparse Matrix Definition" and
  "Sparse Matrix Multiply-Accumulate (MMA) Operations"; Mishra et al., "Accelerating Sparse Deep Neural
  Networks", arXiv:2104.08378, 2021, Sec. 3). B and C stay dense. A's storage, metadata traffic and padding come
  from the ``nm`` format encoder (``accelsim.formats``), not from a formula here. TF32 sparsity is 1:2, not
  2:4 (cuSPARSELt documentation, ``cusparseLtSparsity_t``), hence ``pattern_tf32``.
* **Shared memory.** Every k-slice brings an A and a B tile into shared memory (``stages``-deep ``cp.async``
  pipeline: this fixes the shared memory per CTA and so the CTAs an SM holds, with the registers the warps'
  accumulators need). On Ampere each warp then reads its own ``wm x tk`` of A and ``tk x wn`` of B out of
  shared memory (``ldmatrix``), so a CTA reads A ``tn/wn`` times and B ``tm/wm`` times per slice;
  ``smem_read: per_cta`` models Hopper's ``wgmma``, which reads each operand tile once. A slice takes
  ``max(math, shared-memory bytes / smem_bytes_per_clk)``: halving the math with 2:4 sparsity but not the B
  traffic is why a sparse CTA runs below 2x even when nothing else limits it.
* **Tiles, waves, L2 and DRAM.** The tiles of the output (``ceil(M/tm) x ceil(N/tn)``, times split-K slices
  and groups) are launched in a rasterised order (strips of ``swizzle`` tile rows) onto ``sms x ctas_per_sm``
  slots: a *wave*. Edge tiles do full-size math (tile quantisation); a last wave that fills only part of the
  SMs leaves the rest idle (wave quantisation). Per wave, the operand panels the wave's CTAs touch come from
  DRAM once (CTAs that share a panel run in step and meet in L2), unless L2 still holds them: every panel
  after its first touch when all of A and B fit in L2, else a panel the previous wave touched when both waves'
  panels fit. All CTA operand reads and result writes cross L2 at ``l2_bytes_per_clk``. A wave lasts
  ``max(SM time of its busiest SM, DRAM bytes / DRAM bandwidth, L2 bytes / L2 bandwidth)`` (a roofline per
  wave). The kernel adds one pipeline fill (``dram_latency_cycles``) and one epilogue (accumulators staged
  through shared memory to C) -- every wave's when an SM holds a single CTA, as then no other CTA's main loop
  hides them -- and ``launch_overhead_s`` (twice with split-K: the reduction is a second launch).

The ``bound`` column says which term held: ``compute`` (the SMs: tensor-core math or, per ``sm_limiter``, their
shared memory), ``memory`` (DRAM or L2) or ``overhead`` (launch, pipeline fill and epilogue exceed the rest).
``speedup_vs_dense`` compares with the same layer on the same GPU run dense; ``sparse_path`` and
``sparse_reason`` say whether and why the layer took the sparse path.

With ``autotune: true`` the model tries every (``tile_candidates`` x ``split_k_candidates``) plan and keeps the
fastest for the layer, separately for the sparse and the dense run, as cuBLAS/cuSPARSELt heuristics and
autotuning do; with ``autotune: false`` it runs ``tile`` / ``split_k`` as given. ``sparse_tile_candidates`` and
``sparse_split_k_candidates`` restrict the sparse run to the kernels a sparse library actually ships (PyTorch's
CUTLASS 2:4 kernel for FP16 is one 128x128x64 tile with 64x64x64 warps, no split-K).

What it leaves out, and what is assumed
---------------------------------------
* Clocks are the boost clocks of the whitepapers; power and thermal throttling under sustained tensor-core load
  (which lowers real clocks) are not modelled, nor instruction issue, register bank conflicts, or pipeline
  latency beyond the fills above. The measured A100 FP16 GEMM of the validation reaches 71 % of the peak used
  here; the model's large GEMMs reach about 98 %.
* Non-GEMM work (softmax, layer norm, activations, pooling, data layout changes) is not modelled: network
  figures are the sum of the GEMM layers.
* Depthwise and other grouped convolutions are run as tensor-core GEMMs per group (real libraries run them on
  CUDA cores); their figures show how badly they fit a tensor core, not what cuDNN does.
* The sparse path needs the trace's W to obey the N:M pattern along K *in the GEMM view's K order*. accelsim's
  im2col orders K as (c, r, s); NVIDIA's tools prune convolution weights along C in an (r, s, c) layout.
* L2 is one shared cache with the residency rule above (no sets, no partitions, no hit latency); DRAM
  bandwidth is the peak figure; fill and epilogue latencies are assumptions (``dram_latency_cycles``: about
  400-600 cycles as microbenchmarks of recent NVIDIA GPUs report). Register use is estimated as the
  accumulators (one 32-bit word per output of the warp tile) plus ``regs_overhead_per_thread``.
* H100's L2 bandwidth per clock is not published; the shipped config assumes A100's per-SM share
  (5120 B/clk / 108 SMs). Hopper's cluster multicast is modelled only as dividing each CTA's L2 operand reads
  by the cluster side that shares them (``cluster``).
* Energy: MACs by precision, L2, shared memory and DRAM bytes are counted as actions and priced by the
  configured table (the 45 nm Horowitz table scaled to the GPU's node). Absolute GPU energy from it is
  indicative only (no clock tree, control, register files, leakage or HBM interface power).
* Area: not reported (no ``inventory``, so rows carry no ``area_mm2``). A GPU die is mostly what this model
  does not describe -- CUDA cores, register files, schedulers, L1/texture, NVLink, HBM PHYs, media engines --
  so a sum of tensor-core multipliers and SRAM macros would be a small, unlabelled fraction of the die and
  neither comparable with the published die areas nor with the accelerators' areas.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numba import njit

from ..config import positive
from ..energy import ActionCounts
from ..errors import ConfigError, ModelError
from ..formats import get_format
from ..results import LayerResult
from ..traces import Pattern, parse_pattern, satisfies
from .base import ArchModel, register

Precision = Literal["fp16", "bf16", "tf32", "int8", "fp8"]

#: Bytes of one stored operand element, by precision (TF32 operands are stored as FP32).
OPERAND_BYTES = {"fp16": 2, "bf16": 2, "tf32": 4, "int8": 1, "fp8": 1}
#: Multiplier width priced by the energy table and its arithmetic kind (TF32: 1 sign, 8 exponent, 10 mantissa).
MULT_BITS = {"fp16": (16, "fp"), "bf16": (16, "fp"), "tf32": (19, "fp"), "int8": (8, "int"), "fp8": (8, "fp")}
#: Accumulators are 32 bits (FP32 for floating point, INT32 for INT8).
ACC_BYTES = 4
#: Refuse kernels with more CTAs than this before allocating the per-CTA arrays.
MAX_CTAS = 1 << 25

# CUTLASS-style thread-block tiles (tm, tn, tk) that autotuning chooses from when the config gives none.
DEFAULT_TILES = ((256, 128, 32), (128, 256, 32), (128, 128, 32), (128, 64, 32), (64, 128, 32), (64, 64, 32),
                 (128, 32, 32), (64, 32, 32))


@dataclass
class TensorCoreParams:
    # ---- the GPU --------------------------------------------------------------------------------------------
    sms: int = positive(108)
    freq_hz: float = positive(1.41e9)
    #: dense tensor-core FMAs per SM per clock, by precision; a precision not listed is not supported
    macs_per_sm_per_clock: dict[str, int] = field(
        default_factory=lambda: {"fp16": 1024, "bf16": 1024, "tf32": 512, "int8": 2048})
    dram_bytes_per_s: float = positive(2.039e12)
    l2_bytes: int = positive(40 * 2**20)
    l2_bytes_per_clk: float = positive(5120.0)
    smem_bytes_per_sm: int = positive(164 * 1024)
    smem_bytes_per_clk: float = positive(128.0)
    registers_per_sm: int = positive(65536)
    max_threads_per_sm: int = positive(2048)
    max_ctas_per_sm: int = positive(32)
    #: how warps read MMA operands from shared memory: per_warp (Ampere ldmatrix), per_cta (Hopper wgmma)
    smem_read: Literal["per_warp", "per_cta"] = "per_warp"
    # ---- sparse tensor cores --------------------------------------------------------------------------------
    precision: Precision = "fp16"
    sparse: bool = True
    #: the N:M pattern the sparse tensor cores accept along K (16- and 8-bit types)
    pattern: str = "nm:2:4"
    #: the pattern for TF32 (1:2 on A100/H100); None: the same as ``pattern``
    pattern_tf32: str | None = "nm:1:2"
    #: math speedup of the sparse path; None: M/N (2 for 2:4)
    sparse_math_speedup: float | None = field(default=None, metadata={"gt": 0})
    #: bits of metadata per kept value; None: the encoder's ceil(log2 M)
    metadata_bits: int | None = field(default=None, metadata={"min": 1, "max": 16})
    #: pad K up to a multiple of M so that layers with K % M != 0 can take the sparse path
    pad_k: bool = False
    #: raise instead of running dense when a prunable layer cannot take the sparse path
    strict: bool = False
    # ---- the kernel -----------------------------------------------------------------------------------------
    tile: tuple[int, int, int] = (128, 128, 32)
    #: warp tile (wm, wn); None: CUTLASS's usual (min(64, tm/2), min(64, tn/2))
    warp_tile: tuple[int, int] | None = None
    stages: int = field(default=3, metadata={"min": 2, "max": 8})
    split_k: int = positive(1)
    #: tile rows per rasterisation strip (CUTLASS threadblock swizzle); 1: plain row-major raster
    swizzle: int = positive(8)
    #: thread-block cluster (tile rows x tile columns) sharing operand loads by multicast (Hopper TMA); (1, 1): none
    cluster: tuple[int, int] = (1, 1)
    autotune: bool = False
    tile_candidates: list[tuple[int, int, int]] = field(default_factory=list)
    split_k_candidates: list[int] = field(default_factory=lambda: [1])
    #: the kernels a sparse library offers, when fewer than the dense ones (empty: the same as dense);
    #: with autotune off the first entry is run
    sparse_tile_candidates: list[tuple[int, int, int]] = field(default_factory=list)
    sparse_split_k_candidates: list[int] = field(default_factory=list)
    regs_overhead_per_thread: int = field(default=64, metadata={"min": 0})
    #: bytes of one element of C; None: 2 for FP16/BF16, 4 for TF32, 1 for INT8/FP8
    out_bytes: int | None = field(default=None, metadata={"min": 1, "max": 8})
    launch_overhead_s: float = field(default=3e-6, metadata={"min": 0})
    dram_latency_cycles: int = field(default=500, metadata={"min": 0})

    def validate(self):
        if self.precision not in self.macs_per_sm_per_clock:
            raise ConfigError(f"precision '{self.precision}' is not supported by this GPU (rates given for: "
                              f"{', '.join(self.macs_per_sm_per_clock)})")
        for k, v in self.macs_per_sm_per_clock.items():
            if k not in OPERAND_BYTES:
                raise ConfigError(f"params.macs_per_sm_per_clock: unknown precision '{k}' "
                                  f"(known: {', '.join(OPERAND_BYTES)})")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                raise ConfigError(f"params.macs_per_sm_per_clock.{k} must be a positive number, got {v!r}")
        for name in ("pattern", "pattern_tf32"):
            text = getattr(self, name)
            if text is None:
                continue
            pat = parse_pattern(text)
            if pat.kind != "nm":
                raise ConfigError(f"params.{name}: sparse tensor cores take an N:M pattern (e.g. nm:2:4), "
                                  f"got '{text}'")
        for tile in [self.tile] + list(self.tile_candidates) + list(self.sparse_tile_candidates):
            check_tile(tile, self.warp_tile)
        if min(self.cluster) < 1:
            raise ConfigError(f"params.cluster: both sides must be >= 1, got {self.cluster}")
        for s in list(self.split_k_candidates) + list(self.sparse_split_k_candidates):
            if s < 1:
                raise ConfigError(f"params.split_k_candidates: every entry must be >= 1, got {s}")
        if self.autotune and not self.split_k_candidates:
            raise ConfigError("params.split_k_candidates: give at least one split (1 means none)")

    # ---- derived --------------------------------------------------------------------------------------------
    def hw_pattern(self) -> Pattern:
        text = self.pattern_tf32 if (self.precision == "tf32" and self.pattern_tf32) else self.pattern
        return parse_pattern(text)

    def speedup(self) -> float:
        pat = self.hw_pattern()
        return float(self.sparse_math_speedup) if self.sparse_math_speedup else pat.b / pat.a

    def rate(self) -> float:
        return float(self.macs_per_sm_per_clock[self.precision])

    def c_bytes(self) -> int:
        if self.out_bytes:
            return int(self.out_bytes)
        return {"fp16": 2, "bf16": 2, "tf32": 4, "int8": 1, "fp8": 1}[self.precision]


def check_tile(tile, warp_tile) -> None:
    tm, tn, tk = tile
    if tm < 16 or tn < 8 or tk < 8 or tm % 16 or tn % 8 or tk % 8:
        raise ConfigError(f"tile {tm}x{tn}x{tk}: tensor-core tiles need tm a multiple of 16, tn of 8 and tk of 8")
    wm, wn = warp_shape(tm, tn, warp_tile)
    if tm % wm or tn % wn:
        raise ConfigError(f"warp tile {wm}x{wn} does not divide the thread-block tile {tm}x{tn}")


def warp_shape(tm: int, tn: int, warp_tile) -> tuple[int, int]:
    if warp_tile:
        return int(warp_tile[0]), int(warp_tile[1])
    return max(16, min(64, tm // 2)), max(8, min(64, tn // 2))


@dataclass(frozen=True)
class Plan:
    """One kernel configuration: thread-block tile, warp tile, pipeline depth, split-K."""
    tm: int
    tn: int
    tk: int
    wm: int
    wn: int
    stages: int
    split_k: int

    @property
    def name(self) -> str:
        return f"{self.tm}x{self.tn}x{self.tk}"


# ---------------------------------------------------------------------------------------------------------------
# The wave kernel: one pass over the CTAs in launch order.
# ---------------------------------------------------------------------------------------------------------------
@njit(cache=True)
def _cta_order(tiles_m, tiles_n, swizzle):
    """(m, n) tile indices of one GEMM in launch order: strips of ``swizzle`` tile rows, m fastest in a strip."""
    T = tiles_m * tiles_n
    m_idx = np.empty(T, np.int64)
    n_idx = np.empty(T, np.int64)
    t = 0
    for m0 in range(0, tiles_m, swizzle):
        width = min(swizzle, tiles_m - m0)
        for n in range(tiles_n):
            for mi in range(width):
                m_idx[t] = m0 + mi
                n_idx[t] = n
                t += 1
    return m_idx, n_idx


@njit(cache=True)
def _waves(groups, nks, tiles_m, tiles_n, swizzle, M, N, K, tm, tn, k_slice, per_split, ktiles,
           a_eb, b_eb, c_eb, acc_b, b_ratio, a_share, b_share, sm_iter, mma_iter,
           slots, sms, l2_cap, all_fit, dram_bpc, l2_bpc):
    """Walk the CTAs in launch order; return the per-wave roofline sums, the traffic and per-SM busy time.

    CTA ``t`` (order: group, K split, then the rasterised tiles) runs in wave ``t // slots`` on SM
    ``(t % slots) % sms``. An A panel (group, split, tile row) or B panel (group, split, tile column) comes
    from DRAM the first time a wave touches it unless L2 still holds it: always after its first touch when
    ``all_fit``, else when the previous wave touched it and the two waves' panels fit in ``l2_cap``. Every
    CTA reads its panels through L2 (divided by the cluster sharing ``a_share`` / ``b_share``) and writes its
    outputs (with split-K, 32-bit partials to a workspace and back, and C once).
    """
    m_of, n_of = _cta_order(tiles_m, tiles_n, swizzle)
    per_blk = tiles_m * tiles_n
    T = groups * nks * per_blk
    W = (T + slots - 1) // slots
    na = groups * nks * tiles_m
    nb = groups * nks * tiles_n
    a_bytes = np.empty(na)
    b_dram = np.empty(nb)
    for blk in range(groups * nks):
        ks = blk % nks
        klen = min(k_slice, K - ks * k_slice)
        if klen < 0:
            klen = 0
        for m in range(tiles_m):
            a_bytes[blk * tiles_m + m] = klen * min(tm, M - m * tm) * a_eb
        for n in range(tiles_n):
            b_dram[blk * tiles_n + n] = klen * min(tn, N - n * tn) * b_eb * b_ratio
    # pass 1: the bytes of the distinct panels each wave touches (its L2 footprint)
    foot = np.zeros(W)
    seen_a = np.full(na, -1, np.int64)
    seen_b = np.full(nb, -1, np.int64)
    for t in range(T):
        w = t // slots
        blk = t // per_blk
        pa = blk * tiles_m + m_of[t % per_blk]
        pb = blk * tiles_n + n_of[t % per_blk]
        if seen_a[pa] != w:
            seen_a[pa] = w
            foot[w] += a_bytes[pa]
        if seen_b[pb] != w:
            seen_b[pb] = w
            foot[w] += b_dram[pb]
    # pass 2: traffic and SM time per wave
    last_a = np.full(na, -1, np.int64)
    last_b = np.full(nb, -1, np.int64)
    busy = np.zeros(sms)
    load = np.zeros(sms)
    load_mma = np.zeros(sms)
    dram_w = 0.0
    l2_w = 0.0
    roof = 0.0
    sm_sum = 0.0
    mma_sum = 0.0
    mem_sum = 0.0
    dram_cyc = 0.0
    l2_cyc = 0.0
    dram_total = 0.0
    l2_total = 0.0
    for t in range(T):
        w = t // slots
        j = t - w * slots
        blk = t // per_blk
        ks = blk % nks
        m = m_of[t % per_blk]
        n = n_of[t % per_blk]
        keep_prev = all_fit or (w > 0 and foot[w] + foot[w - 1] <= l2_cap)
        pa = blk * tiles_m + m
        la = last_a[pa]
        if la != w:
            if la < 0 or not (all_fit or (la == w - 1 and keep_prev)):
                dram_w += a_bytes[pa]
            last_a[pa] = w
        pb = blk * tiles_n + n
        lb = last_b[pb]
        if lb != w:
            if lb < 0 or not (all_fit or (lb == w - 1 and keep_prev)):
                dram_w += b_dram[pb]
            last_b[pb] = w
        klen = min(k_slice, K - ks * k_slice)
        if klen < 0:
            klen = 0
        outs = min(tm, M - m * tm) * min(tn, N - n * tn)
        l2_w += a_bytes[pa] / a_share + klen * min(tn, N - n * tn) * b_eb / b_share
        if nks > 1:
            l2_w += outs * 2 * acc_b
        if ks == 0:
            l2_w += outs * c_eb
            dram_w += outs * c_eb
        iters = min(per_split, ktiles - ks * per_split)
        s = j % sms
        load[s] += iters * sm_iter
        load_mma[s] += iters * mma_iter
        if j == slots - 1 or t == T - 1:
            sm_t = load.max()
            dc = dram_w / dram_bpc
            lc = l2_w / l2_bpc
            mem = max(dc, lc)
            roof += max(sm_t, mem)
            sm_sum += sm_t
            mma_sum += load_mma.max()
            mem_sum += mem
            dram_cyc += dc
            l2_cyc += lc
            dram_total += dram_w
            l2_total += l2_w
            busy += load
            load[:] = 0.0
            load_mma[:] = 0.0
            dram_w = 0.0
            l2_w = 0.0
    return roof, sm_sum, mma_sum, mem_sum, dram_cyc, l2_cyc, dram_total, l2_total, W, busy


@dataclass
class _Gemm:
    """The shape of one layer's kernel and the bytes per element of its operands."""
    groups: int
    M: int          # rows per group
    N: int
    K: int          # reduction length (per group)
    a_elem_bytes: float     # A bytes per dense element (compressed plus metadata on the sparse path)
    b_elem_bytes: float
    c_elem_bytes: float
    b_dram_ratio: float     # unique activation bytes / im2col bytes (implicit GEMM reads the input once)
    k_pad: int              # K the MMAs cover (padded to the N:M group on the sparse path)


def _plan_cost(g: _Gemm, plan: Plan, p: TensorCoreParams, sparse: bool) -> dict | None:
    """Cycles and traffic of *g* run with *plan*; None if the plan cannot be resident on an SM."""
    tm, tn, tk, wm, wn = plan.tm, plan.tn, plan.tk, plan.wm, plan.wn
    warps = (tm // wm) * (tn // wn)
    threads = 32 * warps
    regs = wm * wn // 32 + p.regs_overhead_per_thread
    ae, be, ce = g.a_elem_bytes, g.b_elem_bytes, g.c_elem_bytes
    smem_cta = plan.stages * (tm * tk * ae + tk * tn * be)
    if regs > 255 or threads > 1024:
        return None
    ctas_per_sm = min(p.max_ctas_per_sm, int(p.smem_bytes_per_sm // smem_cta),
                      p.registers_per_sm // (threads * regs), p.max_threads_per_sm // threads)
    if ctas_per_sm < 1:
        return None
    # K: slices of whole k-tiles, one per split
    ktiles = -(-g.k_pad // tk)
    per_split = -(-ktiles // plan.split_k)
    nks = -(-ktiles // per_split)
    tiles_m, tiles_n = -(-g.M // tm), -(-g.N // tn)
    n_ctas = g.groups * nks * tiles_m * tiles_n
    if n_ctas > MAX_CTAS:
        raise ModelError(f"the GEMM needs {n_ctas:.3g} thread blocks with tile {plan.name}, more than the "
                         f"{MAX_CTAS:.3g} accelsim will track; use a larger tile")
    rate = p.rate() * (p.speedup() if sparse else 1.0)
    mma_iter = tm * tn * tk / rate
    if p.smem_read == "per_warp":
        reads = warps * (wm * tk * ae + tk * wn * be)
    else:
        reads = tm * tk * ae + tk * tn * be
    smem_iter_bytes = reads + tm * tk * ae + tk * tn * be          # operand reads + the pipeline's fills
    smem_iter = smem_iter_bytes / p.smem_bytes_per_clk
    cm, cn = p.cluster
    all_fit = g.groups * g.K * (g.M * ae + g.N * be * g.b_dram_ratio) <= p.l2_bytes
    slots = p.sms * ctas_per_sm
    (roof, sm_c, mma_c, mem_c, dram_c, l2_c, dram_b, l2_b, waves, busy) = _waves(
        g.groups, nks, tiles_m, tiles_n, p.swizzle, g.M, g.N, g.K, tm, tn, per_split * tk, per_split, ktiles,
        ae, be, ce, ACC_BYTES, g.b_dram_ratio, float(min(cn, tiles_n)), float(min(cm, tiles_m)),
        max(mma_iter, smem_iter), mma_iter, slots, p.sms, float(p.l2_bytes), all_fit,
        p.dram_bytes_per_s / p.freq_hz, p.l2_bytes_per_clk)
    # A lone CTA's pipeline fill and epilogue are exposed in every wave; with co-resident CTAs one CTA's
    # main loop hides another's, and only the kernel's first fill and last epilogue remain.
    epilogue = tm * tn * 2 * ACC_BYTES / p.smem_bytes_per_clk
    exposed = (p.dram_latency_cycles + epilogue) * (waves if ctas_per_sm == 1 else 1)
    launch = (1 + (nks > 1)) * p.launch_overhead_s * p.freq_hz
    cta_iters = g.groups * tiles_m * tiles_n * ktiles          # k-steps summed over all CTAs
    return dict(plan=plan, cycles=float(roof + exposed + launch), math_cycles=mma_c, sm_cycles=sm_c,
                memory_cycles=mem_c, dram_cycles=dram_c, l2_cycles=l2_c, overhead_cycles=float(exposed + launch),
                roofline_cycles=roof, dram_bytes=dram_b, l2_bytes=l2_b,
                smem_bytes=float(cta_iters * smem_iter_bytes + n_ctas * tm * tn * 2 * ACC_BYTES),
                busy=busy, tiles=n_ctas, waves=int(waves), ctas_per_sm=ctas_per_sm, split_k=nks,
                padded_macs=float(cta_iters) * tm * tn * tk, smem_limited=smem_iter > mma_iter)


def _plans(p: TensorCoreParams, sparse: bool) -> list[Plan]:
    tiles = p.sparse_tile_candidates if (sparse and p.sparse_tile_candidates) else None
    splits = p.sparse_split_k_candidates if (sparse and p.sparse_split_k_candidates) else None
    if not p.autotune:
        tiles = tiles[:1] if tiles else [tuple(p.tile)]
        splits = splits[:1] if splits else [p.split_k]
    else:
        tiles = tiles or p.tile_candidates or list(DEFAULT_TILES)
        splits = splits or p.split_k_candidates
    out = []
    for tm, tn, tk in tiles:
        wm, wn = warp_shape(tm, tn, p.warp_tile)
        for s in splits:
            out.append(Plan(tm, tn, tk, wm, wn, p.stages, s))
    return out


def _best(g: _Gemm, p: TensorCoreParams, sparse: bool) -> dict:
    best = None
    for plan in _plans(p, sparse):
        if sparse and plan.tk % p.hw_pattern().b:
            continue
        r = _plan_cost(g, plan, p, sparse)
        if r is not None and (best is None or r["cycles"] < best["cycles"]):
            best = r
    if best is None:
        what = f"tile {p.tile[0]}x{p.tile[1]}x{p.tile[2]}" if not p.autotune else "any candidate tile"
        raise ModelError(f"{what} cannot be resident on an SM (shared memory {p.smem_bytes_per_sm} B, "
                         f"{p.registers_per_sm} registers{', tk a multiple of the N:M group' if sparse else ''})")
    return best


# ---------------------------------------------------------------------------------------------------------------
# The sparse decision and the operand storage (from the nm encoder)
# ---------------------------------------------------------------------------------------------------------------
def sparse_decision(layer, weight: np.ndarray | None, p: TensorCoreParams) -> tuple[bool, str]:
    """Whether *layer* takes the sparse path, and why (one short sentence).

    *weight* is the GEMM-view ``M x K`` weight; ``None`` means "assume it satisfies the pattern" (shape-only
    studies).
    """
    pat = p.hw_pattern()
    m = pat.b
    if not p.sparse:
        return False, "sparse path disabled (sparse: false)"
    if not layer.prunable:
        return False, "operand A is an activation, not a pruned weight"
    if weight is not None and not satisfies(weight, pat):
        return False, f"weight does not satisfy {pat.name} along K"
    if layer.K % m:
        if not p.pad_k:
            return False, f"K={layer.K} is not a multiple of {m} (set pad_k: true to pad it)"
        return True, f"weight satisfies {pat.name}; K={layer.K} padded to {-(-layer.K // m) * m}"
    return True, f"weight satisfies {pat.name}"


def _encoder(p: TensorCoreParams):
    pat = p.hw_pattern()
    kw = dict(n=pat.a, m=pat.b, value_bits=8 * OPERAND_BYTES[p.precision])
    if p.metadata_bits:
        kw["metadata_bits"] = p.metadata_bits
    return get_format("nm", **kw)


def _gemm(layer, p: TensorCoreParams, sparse: bool, a_total_bits: float | None) -> _Gemm:
    eb = OPERAND_BYTES[p.precision]
    G = layer.groups
    Mg, K, N = layer.rows_per_group, layer.K, layer.N
    m = p.hw_pattern().b
    k_pad = -(-K // m) * m if sparse else K
    if sparse:
        # A bytes per dense element from the encoder's stored bits (values + metadata, tail groups padded)
        a_elem = a_total_bits / 8.0 / (layer.M * k_pad)
    else:
        a_elem = float(eb)
    ratio = 1.0
    if layer.is_conv:
        unique = (layer.C // G) * layer.H * layer.W * layer.batch
        ratio = min(1.0, unique / float(K * N))
    return _Gemm(G, Mg, N, K, a_elem, float(eb), float(p.c_bytes()), ratio, k_pad)


@register
class TensorCore(ArchModel):
    name = "tensor_core"
    description = "GPU of SMs with dense and N:M sparse tensor cores (A100/H100): tiles, waves, L2/DRAM roofline"
    Params = TensorCoreParams

    def simulate(self, lt, p: TensorCoreParams) -> LayerResult:
        return self.simulate_weight(lt.layer, lt.weight, p)

    def simulate_weight(self, layer, weight: np.ndarray | None, p: TensorCoreParams) -> LayerResult:
        """One layer with its ``M x K`` weight (``None``: a shape-only run assuming the weight fits the pattern)."""
        use_sparse, reason = sparse_decision(layer, weight, p)
        if p.strict and p.sparse and layer.prunable and not use_sparse:
            raise ModelError(f"layer '{layer.name}' cannot take the sparse path: {reason}")
        pat = p.hw_pattern()
        eb = OPERAND_BYTES[p.precision]
        dense = _best(_gemm(layer, p, False, None), p, False)
        if use_sparse:
            enc = _encoder(p)
            # the encoder's exact accounting of the trace's W, or its analytic size for a shape-only run
            e = enc.measure(weight) if weight is not None else enc.expected((layer.M, layer.K), pat.a / pat.b)
            w_bits, meta_bits = float(e.value_bits), float(e.metadata_bits)
            run = _best(_gemm(layer, p, True, w_bits + meta_bits), p, True)
        else:
            w_bits, meta_bits = float(layer.M * layer.K * 8 * eb), 0.0
            run = dense
        return self._result(layer, p, run, dense, use_sparse, reason, w_bits, meta_bits)

    # ---- assembling the row -----------------------------------------------------------------------------------
    def _result(self, layer, p, run, dense, use_sparse, reason, w_bits, meta_bits) -> LayerResult:
        pat = p.hw_pattern()
        speed = p.speedup() if use_sparse else 1.0
        physical = run["padded_macs"] * (pat.a / pat.b if use_sparse else 1.0)
        bits, kind = MULT_BITS[p.precision]
        acts = ActionCounts().mac(physical, bits=bits, dtype=kind, acc_bits=32)
        if use_sparse:
            acts.index(physical, component="metadata")      # one metadata-driven B-row select per product
        acts.dram(run["dram_bytes"])
        acts.sram(8 * run["l2_bytes"], p.l2_bytes, component="l2")
        acts.sram(8 * run["smem_bytes"], p.smem_bytes_per_sm, component="smem")
        plan = run["plan"]
        useful = float(layer.macs)
        cycles = run["cycles"]
        peak_eff = p.sms * p.rate() * speed
        extra = {
            "bound": _bound(run),
            "sm_limiter": "smem" if run["smem_limited"] else "mma",
            "sparse_path": bool(use_sparse),
            "sparse_reason": reason,
            "precision": p.precision,
            "hw_pattern": pat.name,
            "tile": plan.name,
            "split_k": int(run["split_k"]),
            "ctas_per_sm": int(run["ctas_per_sm"]),
            "tiles": int(run["tiles"]),
            "waves": int(run["waves"]),
            "wave_efficiency": float(run["busy"].sum()) / (p.sms * run["sm_cycles"]) if run["sm_cycles"] else 1.0,
            "tile_efficiency": useful / run["padded_macs"],
            "math_cycles": run["math_cycles"],
            "sm_cycles": run["sm_cycles"],
            "memory_cycles": run["memory_cycles"],
            "dram_cycles": run["dram_cycles"],
            "l2_cycles": run["l2_cycles"],
            "overhead_cycles": run["overhead_cycles"],
            "math_time_s": run["math_cycles"] / p.freq_hz,
            "memory_time_s": run["memory_cycles"] / p.freq_hz,
            "l2_bytes": run["l2_bytes"],
            "smem_bytes": run["smem_bytes"],
            "dense_cycles": dense["cycles"],
            "bound_dense": _bound(dense),
            "dense_tile": dense["plan"].name,
            "speedup_vs_dense": dense["cycles"] / cycles,
            "effective_tflops": 2.0 * useful / (cycles / p.freq_hz) / 1e12,
        }
        return LayerResult(cycles=cycles, compute_cycles=run["math_cycles"],
                           stall_cycles=max(cycles - run["math_cycles"], 0.0), freq_hz=p.freq_hz,
                           macs_performed=physical, utilization=useful / (cycles * peak_eff),
                           pe_busy=run["busy"], actions=acts, weight_bits=w_bits, metadata_bits=meta_bits,
                           dram_bytes=run["dram_bytes"], sram_bytes=run["l2_bytes"] + run["smem_bytes"],
                           extra=extra)


def _bound(run: dict) -> str:
    """Which term held: fixed costs over the whole roofline, else the larger of SM time and memory time."""
    if run["overhead_cycles"] >= run["roofline_cycles"]:
        return "overhead"
    return "compute" if run["sm_cycles"] >= run["memory_cycles"] else "memory"


def peak_tflops(p: TensorCoreParams, sparse: bool = False) -> float:
    """The configuration's peak tensor-core rate in TFLOPS (2 flops per MAC), as the whitepapers quote it."""
    return 2.0 * p.sms * p.rate() * (p.speedup() if sparse else 1.0) * p.freq_hz / 1e12


__all__ = ["TensorCore", "TensorCoreParams", "Plan", "sparse_decision", "peak_tflops", "OPERAND_BYTES"]
