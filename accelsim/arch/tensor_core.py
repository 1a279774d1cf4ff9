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
  from the ``nm`` format encoder named by ``weight_format`` (``accelsim.formats``), not from a formula here; the
  encoder's check is also the sparse-path test (a group with more than N nonzeros cannot be encoded). TF32
  sparsity is 1:2, not 2:4 (cuSPARSELt documentation, ``cusparseLtSparsity_t``), hence ``pattern_tf32``.
* **Shared memory.** Every k-slice brings an A and a B tile into shared memory (``stages``-deep ``cp.async``
  pipeline: this fixes the shared memory per CTA and so the CTAs an SM holds, with the registers the warps'
  accumulators need). On Ampere each warp then reads its own ``wm x tk`` of A and ``tk x wn`` of B out of
  shared memory (``ldmatrix``), so a CTA reads A ``tn/wn`` times and B ``tm/wm`` times per slice;
  ``smem_read: per_cta`` models Hopper's ``wgmma``, which reads each operand tile once. A slice takes
  ``max(math, shared-memory bytes / smem_bytes_per_clk)``: halving the math with 2:4 sparsity but not the B
  traffic is why a sparse CTA runs below 2x even when nothing else limits it.
* **The library's main loop.** ``kernel_efficiency[library]`` is the fraction of that SM rate a library's
  kernels sustain at their best (instruction issue, synchronisation, register-bank conflicts and the clock the
  GPU holds under sustained load, none of which the model describes): the dense run uses ``dense_kernel``, the
  sparse run ``sparse_kernel``. The shipped configs take these fractions from published measurements (see the
  configs and docs/tensor_core.md); a library not listed runs at the hardware rate (1.0).
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

The cycle account (docs/CONTRIBUTING.md): ``peak_macs_per_cycle`` is the GPU's dense tensor-core FMAs per clock
(``sms x macs_per_sm_per_clock``); ``macs_performed`` the multiplications the layer needs on that hardware
(``M*K*N``, divided by the sparse math speedup on the sparse path: 2:4 halves them). The rest are losses:
``tile_quantization`` (edge tiles' padded math, K padded to the tile, and SMs idle in partial waves),
``sram_bandwidth`` (shared-memory reads beyond the math, and L2 beyond the SM time), ``kernel_overhead``
(the library's distance from the SM rate, and the launches), ``dram`` (HBM beyond the SM time, per wave) and
``fill_drain`` (pipeline fill and epilogue). ``bound`` is the runner's: the largest share among the ideal
(``compute``) and the losses' resources (``mapping``, ``sram``, ``software``, ``dram``, ``pipeline``).
``speedup_vs_dense`` compares with the same layer on the same GPU run dense (``dense_cycles``);
``sparse_path`` and ``sparse_reason`` say whether and why the layer took the sparse path.

With ``autotune: true`` the model tries every (``tile_candidates`` x ``split_k_candidates``) plan and keeps the
fastest for the layer, separately for the sparse and the dense run, as cuBLAS/cuSPARSELt heuristics and
autotuning do; with ``autotune: false`` it runs ``tile`` / ``split_k`` as given. ``sparse_tile_candidates`` and
``sparse_split_k_candidates`` restrict the sparse run to the kernels a sparse library actually ships (PyTorch's
CUTLASS 2:4 kernel for FP16 is one 128x128x64 tile with 64x64x64 warps, no split-K).

The statistical mode (:meth:`TensorCore.simulate_stats`) needs no tensor: the trace enters the model only
through whether W obeys the hardware's N:M pattern along K and through the encoder's (exact, pattern-fixed)
sizes, so it takes the probability that a weight of that pattern and density obeys N:M (1 or 0 for N:M
patterns, a binomial product for unstructured ones) and the encoder's expected sizes.

What it leaves out, and what is assumed
---------------------------------------
* The clock is the boost clock of the whitepapers; a lower clock under sustained load is part of the measured
  ``kernel_efficiency``, not modelled apart. Instruction issue, register bank conflicts and pipeline latency
  beyond the fills above are not modelled either (also inside ``kernel_efficiency``).
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
* Energy: MACs by precision (padded edge tiles included: their MMAs run on zero-filled fragments), metadata
  selects, L2, shared memory and DRAM bytes are counted as actions against the declared hardware and priced by
  the configured table (the 45 nm Horowitz table scaled to the GPU's node). Absolute GPU energy from it is
  indicative only (no clock tree, control, register files, leakage or HBM interface power).
* Area: not reported. :meth:`TensorCore.hardware` declares the tensor cores, register files, shared memory, L2
  and HBM (for the DRAM bound and the energy per access), but a GPU die is mostly what this model does not
  describe -- CUDA cores, schedulers, L1/texture, NVLink, HBM PHYs, media engines -- so a sum of tensor-core
  multipliers and SRAM macros would be neither comparable with the published die areas nor with the
  accelerators' areas; the declared hardware says so (:class:`GpuHardware`, no inventory).
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from types import SimpleNamespace
from typing import Literal

import numpy as np
from numba import njit

from ..config import positive
from ..energy import ActionCounts
from ..errors import ConfigError, FormatError, ModelError
from ..formats import get_format
from ..hardware import Compute, Dram, FormatRef, Hardware, Logic, Memory
from ..results import LayerResult, cycle_account
from ..traces import Pattern, parse_pattern
from .base import ArchModel, CommonParams, register

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
class TensorCoreParams(CommonParams):
    # ---- the GPU --------------------------------------------------------------------------------------------
    sms: int = positive(108)
    freq_hz: float = positive(1.41e9)
    #: DRAM bandwidth per SM clock; None: ``dram_bytes_per_s / freq_hz`` (HBM has its own clock, so the
    #: configs state the published bytes per second)
    dram_bytes_per_cycle: float | None = field(default=None, metadata={"gt": 0})
    #: the multiplier width; None: the precision's (16 for FP16/BF16, 19 for TF32, 8 for INT8/FP8)
    value_bits: int | None = field(default=None, metadata={"min": 1, "max": 64})
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
    #: how the sparse tensor cores store A: the ``nm`` format (N, M and value bits follow ``pattern`` and
    #: ``precision``; ``metadata_bits`` may widen the positions)
    weight_format: FormatRef = FormatRef("nm")
    #: deprecated: ``weight_format: {name: nm, params: {metadata_bits: N}}``
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
    #: the sparse kernel's rasterisation strip; None: ``swizzle``
    sparse_swizzle: int | None = field(default=None, metadata={"gt": 0})
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
    # ---- the libraries --------------------------------------------------------------------------------------
    #: fraction of the SM rate each library's main loop sustains (published measurements; 1.0 when absent)
    kernel_efficiency: dict[str, float] = field(default_factory=dict)
    #: the library that runs dense GEMMs, and the one that runs the sparse path
    dense_kernel: str = "cublas"
    sparse_kernel: str = "cusparselt"

    def validate(self):
        if self.metadata_bits is not None:
            warnings.warn("'params.metadata_bits' is deprecated, use 'params.weight_format: {name: nm, params: "
                          "{metadata_bits: N}}' (the old name goes in 0.3)", FutureWarning, stacklevel=3)
            self.weight_format = FormatRef(self.weight_format.name,
                                           {**self.weight_format.kwargs, "metadata_bits": self.metadata_bits})
            self.metadata_bits = None
        if self.precision not in self.macs_per_sm_per_clock:
            raise ConfigError(f"precision '{self.precision}' is not supported by this GPU (rates given for: "
                              f"{', '.join(self.macs_per_sm_per_clock)})")
        for k, v in self.macs_per_sm_per_clock.items():
            if k not in OPERAND_BYTES:
                raise ConfigError(f"params.macs_per_sm_per_clock: unknown precision '{k}' "
                                  f"(known: {', '.join(OPERAND_BYTES)})")
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                raise ConfigError(f"params.macs_per_sm_per_clock.{k} must be a positive number, got {v!r}")
        for k, v in self.kernel_efficiency.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
                raise ConfigError(f"params.kernel_efficiency.{k} must be a fraction in (0, 1], got {v!r}")
        if self.value_bits is not None and self.value_bits != MULT_BITS[self.precision][0]:
            raise ConfigError(f"params.value_bits={self.value_bits} disagrees with precision '{self.precision}' "
                              f"({MULT_BITS[self.precision][0]}-bit multipliers); set the precision instead")
        for name in ("pattern", "pattern_tf32"):
            text = getattr(self, name)
            if text is None:
                continue
            pat = parse_pattern(text)
            if pat.kind != "nm":
                raise ConfigError(f"params.{name}: sparse tensor cores take an N:M pattern (e.g. nm:2:4), "
                                  f"got '{text}'")
        wf = self.weight_format
        if wf.name != "nm":
            raise ConfigError(f"params.weight_format: the sparse tensor cores read A as N:M-compressed values "
                              f"with their positions (format 'nm'), got '{wf.name}'")
        pat = self.hw_pattern()
        fixed = {"n": pat.a, "m": pat.b, "value_bits": 8 * OPERAND_BYTES[self.precision]}
        for k, v in wf.kwargs.items():
            if k in fixed and v != fixed[k]:
                raise ConfigError(f"params.weight_format.params.{k}={v} disagrees with the hardware "
                                  f"({k}={fixed[k]} from pattern and precision)")
            if k not in fixed and k != "metadata_bits":
                raise ConfigError(f"params.weight_format.params: unknown key '{k}' (the nm format of the "
                                  f"sparse tensor cores takes metadata_bits)")
        try:
            self.encoder()
        except FormatError as e:
            raise ConfigError(f"params.weight_format: {e}") from None
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

    def dram_bpc(self) -> float:
        """DRAM bytes per SM clock cycle."""
        if self.dram_bytes_per_cycle:
            return float(self.dram_bytes_per_cycle)
        return self.dram_bytes_per_s / self.freq_hz

    def mult_bits(self) -> int:
        return MULT_BITS[self.precision][0]

    def efficiency(self, sparse: bool) -> float:
        """The library's fraction of the SM rate; a sparse library without a figure runs as the dense one."""
        eff = self.kernel_efficiency
        dense = float(eff.get(self.dense_kernel, 1.0))
        return float(eff.get(self.sparse_kernel, dense)) if sparse else dense

    def encoder(self):
        """The ``nm`` encoder of A on the sparse path (N:M from the hardware pattern, value bits from precision)."""
        pat = self.hw_pattern()
        kw = dict(n=pat.a, m=pat.b, value_bits=8 * OPERAND_BYTES[self.precision])
        mb = self.weight_format.kwargs.get("metadata_bits")
        if mb:
            kw["metadata_bits"] = int(mb)
        return get_format("nm", **kw)


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
# _waves' integer inputs ...
(I_GROUPS, I_NKS, I_TILES_M, I_TILES_N, I_SWIZZLE, I_M, I_N, I_K, I_TM, I_TN, I_KSLICE, I_PER_SPLIT, I_KTILES,
 I_SLOTS, I_SMS, I_ALL_FIT) = range(16)
# ... its float inputs (bytes per element, cluster sharing, per-k-step cycles, capacities, bandwidths) ...
(F_A_EB, F_B_EB, F_C_EB, F_ACC_B, F_B_RATIO, F_A_SHARE, F_B_SHARE, F_MMA, F_HW, F_EFF, F_L2_CAP, F_DRAM_BPC,
 F_L2_BPC) = range(13)
# ... and the sums it returns, over the waves: the roofline, the busiest SM's time with the library (EFF), at the
# hardware rate (HW: math or shared memory) and in math alone (MMA); memory times and bytes; and the memory time
# beyond the SM time, charged to DRAM or L2 by the larger of the two
(S_ROOF, S_SM_EFF, S_SM_HW, S_SM_MMA, S_MEM, S_DRAM_CYC, S_L2_CYC, S_DRAM_BYTES, S_L2_BYTES, S_DRAM_EXCESS,
 S_L2_EXCESS) = range(11)
N_SUMS = 11


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
def _waves(iv, fv):
    """Walk the CTAs in launch order; return the per-wave sums (``S_*``), per-SM busy time and the wave count.

    CTA ``t`` (order: group, K split, then the rasterised tiles) runs in wave ``t // slots`` on SM
    ``(t % slots) % sms``. An A panel (group, split, tile row) or B panel (group, split, tile column) comes
    from DRAM the first time a wave touches it unless L2 still holds it: always after its first touch when
    ``all_fit``, else when the previous wave touched it and the two waves' panels fit in ``l2_cap``. Every
    CTA reads its panels through L2 (divided by the cluster sharing ``a_share`` / ``b_share``) and writes its
    outputs (with split-K, 32-bit partials to a workspace and back, and C once).
    """
    groups, nks, tiles_m, tiles_n = iv[I_GROUPS], iv[I_NKS], iv[I_TILES_M], iv[I_TILES_N]
    M, N, K, tm, tn = iv[I_M], iv[I_N], iv[I_K], iv[I_TM], iv[I_TN]
    k_slice, per_split, ktiles, slots, sms = iv[I_KSLICE], iv[I_PER_SPLIT], iv[I_KTILES], iv[I_SLOTS], iv[I_SMS]
    all_fit = iv[I_ALL_FIT] != 0
    a_eb, b_eb, c_eb, acc_b, b_ratio = fv[F_A_EB], fv[F_B_EB], fv[F_C_EB], fv[F_ACC_B], fv[F_B_RATIO]
    l2_cap, dram_bpc, l2_bpc = fv[F_L2_CAP], fv[F_DRAM_BPC], fv[F_L2_BPC]
    m_of, n_of = _cta_order(tiles_m, tiles_n, iv[I_SWIZZLE])
    per_blk = tiles_m * tiles_n
    T = groups * nks * per_blk
    W = (T + slots - 1) // slots
    na = groups * nks * tiles_m
    nb = groups * nks * tiles_n
    a_bytes = np.empty(na)
    b_dram = np.empty(nb)
    for blk in range(groups * nks):
        klen = max(0, min(k_slice, K - (blk % nks) * k_slice))
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
    load_eff = np.zeros(sms)
    load_hw = np.zeros(sms)
    load_mma = np.zeros(sms)
    out = np.zeros(N_SUMS)
    dram_w = 0.0
    l2_w = 0.0
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
        klen = max(0, min(k_slice, K - ks * k_slice))
        outs = min(tm, M - m * tm) * min(tn, N - n * tn)
        l2_w += a_bytes[pa] / fv[F_A_SHARE] + klen * min(tn, N - n * tn) * b_eb / fv[F_B_SHARE]
        if nks > 1:
            l2_w += outs * 2 * acc_b
        if ks == 0:
            l2_w += outs * c_eb
            dram_w += outs * c_eb
        iters = min(per_split, ktiles - ks * per_split)
        s = j % sms
        load_eff[s] += iters * fv[F_EFF]
        load_hw[s] += iters * fv[F_HW]
        load_mma[s] += iters * fv[F_MMA]
        if j == slots - 1 or t == T - 1:
            sm_t = load_eff.max()
            dc = dram_w / dram_bpc
            lc = l2_w / l2_bpc
            mem = max(dc, lc)
            out[S_ROOF] += max(sm_t, mem)
            out[S_SM_EFF] += sm_t
            out[S_SM_HW] += load_hw.max()
            out[S_SM_MMA] += load_mma.max()
            out[S_MEM] += mem
            out[S_DRAM_CYC] += dc
            out[S_L2_CYC] += lc
            out[S_DRAM_BYTES] += dram_w
            out[S_L2_BYTES] += l2_w
            if mem > sm_t:
                if dc >= lc:
                    out[S_DRAM_EXCESS] += mem - sm_t
                else:
                    out[S_L2_EXCESS] += mem - sm_t
            busy += load_eff
            load_eff[:] = 0.0
            load_hw[:] = 0.0
            load_mma[:] = 0.0
            dram_w = 0.0
            l2_w = 0.0
    return out, busy, W


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class _Machine:
    """What the kernel search needs from the params, hashable (so that repeated layers hit a cache)."""
    sms: int
    rate: float                 # FMAs per SM per clock on this run's path (sparse speedup included)
    efficiency: float           # the library's fraction of the SM rate
    smem_read: str
    smem_bytes_per_sm: float
    smem_bytes_per_clk: float
    registers_per_sm: int
    max_threads_per_sm: int
    max_ctas_per_sm: int
    regs_overhead_per_thread: int
    l2_bytes: float
    l2_bytes_per_clk: float
    dram_bpc: float
    swizzle: int
    cluster: tuple[int, int]
    dram_latency_cycles: int
    launch_cycles: float
    n_group: int                # the N:M group along K (tk must be a multiple on the sparse path)
    sparse: bool
    plans: tuple[Plan, ...]


def _machine(p: TensorCoreParams, sparse: bool) -> _Machine:
    return _Machine(
        sms=p.sms, rate=p.rate() * (p.speedup() if sparse else 1.0), efficiency=p.efficiency(sparse),
        smem_read=p.smem_read, smem_bytes_per_sm=float(p.smem_bytes_per_sm),
        smem_bytes_per_clk=float(p.smem_bytes_per_clk), registers_per_sm=p.registers_per_sm,
        max_threads_per_sm=p.max_threads_per_sm, max_ctas_per_sm=p.max_ctas_per_sm,
        regs_overhead_per_thread=p.regs_overhead_per_thread, l2_bytes=float(p.l2_bytes),
        l2_bytes_per_clk=float(p.l2_bytes_per_clk), dram_bpc=p.dram_bpc(),
        swizzle=int(p.sparse_swizzle) if (sparse and p.sparse_swizzle) else p.swizzle,
        cluster=(int(p.cluster[0]), int(p.cluster[1])), dram_latency_cycles=p.dram_latency_cycles,
        launch_cycles=p.launch_overhead_s * p.freq_hz, n_group=p.hw_pattern().b, sparse=sparse,
        plans=tuple(_plans(p, sparse)))


@dataclass(frozen=True)
class _Run:
    """One kernel run of a layer: the plan, its time by term, its traffic and per-SM busy time."""
    plan: Plan
    sums: np.ndarray            # the S_* sums of :func:`_waves`
    busy: np.ndarray
    exposed: float              # pipeline fill and epilogue not hidden by another CTA
    launch: float
    tiles: int
    waves: int
    ctas_per_sm: int
    split_k: int
    padded_macs: float          # the MACs of the padded tiles (dense-equivalent)
    smem_bytes: float

    @property
    def cycles(self) -> float:
        return float(self.sums[S_ROOF] + self.exposed + self.launch)

    @property
    def overhead(self) -> float:
        return self.exposed + self.launch

    @property
    def smem_limited(self) -> bool:
        return bool(self.sums[S_SM_HW] > self.sums[S_SM_MMA] * (1 + 1e-9))

    def losses(self, ideal: float) -> dict[str, float]:
        """The cycle account beyond *ideal* (they add up to ``cycles - ideal``)."""
        s = self.sums
        return {"tile_quantization": max(float(s[S_SM_MMA]) - ideal, 0.0),
                "sram_bandwidth": float(s[S_SM_HW] - s[S_SM_MMA] + s[S_L2_EXCESS]),
                "kernel_overhead": float(s[S_SM_EFF] - s[S_SM_HW]) + self.launch,
                "dram": float(s[S_DRAM_EXCESS]),
                "fill_drain": self.exposed}


def _plan_static(g: _Gemm, plan: Plan, mc: _Machine):
    """Residency and K split of *plan* on *g*: ``(ctas_per_sm, ktiles, per_split, nks, smem_cta)``, or None."""
    tm, tn, tk, wm, wn = plan.tm, plan.tn, plan.tk, plan.wm, plan.wn
    warps = (tm // wm) * (tn // wn)
    threads = 32 * warps
    regs = wm * wn // 32 + mc.regs_overhead_per_thread
    smem_cta = plan.stages * (tm * tk * g.a_elem_bytes + tk * tn * g.b_elem_bytes)
    if regs > 255 or threads > 1024:
        return None
    ctas_per_sm = min(mc.max_ctas_per_sm, int(mc.smem_bytes_per_sm // smem_cta),
                      mc.registers_per_sm // (threads * regs), mc.max_threads_per_sm // threads)
    if ctas_per_sm < 1:
        return None
    ktiles = -(-g.k_pad // tk)
    per_split = -(-ktiles // plan.split_k)
    nks = -(-ktiles // per_split)
    return ctas_per_sm, ktiles, per_split, nks


def _plan_cost(g: _Gemm, plan: Plan, mc: _Machine, static) -> _Run:
    """Cycles and traffic of *g* run with *plan* (resident, per :func:`_plan_static`)."""
    tm, tn, tk, wm, wn = plan.tm, plan.tn, plan.tk, plan.wm, plan.wn
    ctas_per_sm, ktiles, per_split, nks = static
    tiles_m, tiles_n = -(-g.M // tm), -(-g.N // tn)
    n_ctas = g.groups * nks * tiles_m * tiles_n
    if n_ctas > MAX_CTAS:
        raise ModelError(f"the GEMM needs {n_ctas:.3g} thread blocks with tile {plan.name}, more than the "
                         f"{MAX_CTAS:.3g} accelsim will track; use a larger tile")
    ae, be, ce = g.a_elem_bytes, g.b_elem_bytes, g.c_elem_bytes
    mma_iter = tm * tn * tk / mc.rate
    warps = (tm // wm) * (tn // wn)
    if mc.smem_read == "per_warp":
        reads = warps * (wm * tk * ae + tk * wn * be)
    else:
        reads = tm * tk * ae + tk * tn * be
    smem_iter_bytes = reads + tm * tk * ae + tk * tn * be          # operand reads + the pipeline's fills
    hw_iter = max(mma_iter, smem_iter_bytes / mc.smem_bytes_per_clk)
    cm, cn = mc.cluster
    all_fit = g.groups * g.K * (g.M * ae + g.N * be * g.b_dram_ratio) <= mc.l2_bytes
    slots = mc.sms * ctas_per_sm
    iv = np.array([g.groups, nks, tiles_m, tiles_n, mc.swizzle, g.M, g.N, g.K, tm, tn, per_split * tk, per_split,
                   ktiles, slots, mc.sms, int(all_fit)], dtype=np.int64)
    fv = np.array([ae, be, ce, ACC_BYTES, g.b_dram_ratio, float(min(cn, tiles_n)), float(min(cm, tiles_m)),
                   mma_iter, hw_iter, hw_iter / mc.efficiency, mc.l2_bytes, mc.dram_bpc, mc.l2_bytes_per_clk])
    sums, busy, waves = _waves(iv, fv)
    # A lone CTA's pipeline fill and epilogue are exposed in every wave; with co-resident CTAs one CTA's
    # main loop hides another's, and only the kernel's first fill and last epilogue remain.
    epilogue = tm * tn * 2 * ACC_BYTES / mc.smem_bytes_per_clk
    exposed = (mc.dram_latency_cycles + epilogue) * (waves if ctas_per_sm == 1 else 1)
    launch = (1 + (nks > 1)) * mc.launch_cycles
    cta_iters = g.groups * tiles_m * tiles_n * ktiles          # k-steps summed over all CTAs
    return _Run(plan=plan, sums=sums, busy=busy, exposed=float(exposed), launch=float(launch), tiles=n_ctas,
                waves=int(waves), ctas_per_sm=ctas_per_sm, split_k=nks,
                padded_macs=float(cta_iters) * tm * tn * tk,
                smem_bytes=float(cta_iters * smem_iter_bytes + n_ctas * tm * tn * 2 * ACC_BYTES))


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


@lru_cache(maxsize=4096)
def _best(g: _Gemm, mc: _Machine) -> _Run:
    """The fastest resident plan. Plans are tried cheapest lower bound first (math of the padded tiles spread
    over all SMs, plus the launches), and one whose bound cannot beat the best so far is skipped."""
    cands = []
    for plan in mc.plans:
        if mc.sparse and plan.tk % mc.n_group:
            continue
        static = _plan_static(g, plan, mc)
        if static is None:
            continue
        ctas_per_sm, ktiles, per_split, nks = static
        padded = g.groups * -(-g.M // plan.tm) * -(-g.N // plan.tn) * ktiles * plan.tm * plan.tn * plan.tk
        lower = padded / mc.rate / mc.sms + (1 + (nks > 1)) * mc.launch_cycles
        cands.append((lower, len(cands), plan, static))
    if not cands:
        what = f"tile {mc.plans[0].name}" if len(mc.plans) == 1 else "any candidate tile"
        raise ModelError(f"{what} cannot be resident on an SM (shared memory {mc.smem_bytes_per_sm:g} B, "
                         f"{mc.registers_per_sm} registers{', tk a multiple of the N:M group' if mc.sparse else ''})")
    best = None
    for lower, _, plan, static in sorted(cands, key=lambda c: (c[0], c[1])):
        if best is not None and lower >= best.cycles:
            break
        r = _plan_cost(g, plan, mc, static)
        if best is None or r.cycles < best.cycles:
            best = r
    return best


# ---------------------------------------------------------------------------------------------------------------
# The sparse decision and the operand storage (from the nm encoder)
# ---------------------------------------------------------------------------------------------------------------
def sparse_decision(layer, weight: np.ndarray | None, p: TensorCoreParams):
    """``(takes the sparse path, why, the encoder's accounting of A or None)`` for *layer*.

    *weight* is the GEMM-view ``M x K`` weight; ``None`` means "assume it satisfies the pattern" (shape-only
    studies). The ``nm`` encoder is the test: a group with more than N nonzeros cannot be encoded.
    """
    pat = p.hw_pattern()
    m = pat.b
    if not p.sparse:
        return False, "sparse path disabled (sparse: false)", None
    if not layer.prunable:
        return False, "operand A is an activation, not a pruned weight", None
    if layer.K % m and not p.pad_k:
        return False, f"K={layer.K} is not a multiple of {m} (set pad_k: true to pad it)", None
    enc = p.encoder()
    if weight is None:
        e = enc.expected((layer.M, layer.K), pat.a / pat.b)
    else:
        try:
            e = enc.measure(weight)
        except FormatError:
            return False, f"weight does not satisfy {pat.name} along K", None
    if layer.K % m:
        return True, f"weight satisfies {pat.name}; K={layer.K} padded to {-(-layer.K // m) * m}", e
    return True, f"weight satisfies {pat.name}", e


def _gemm(layer, p: TensorCoreParams, a_total_bits: float | None) -> _Gemm:
    """The kernel's shape; *a_total_bits* is A's stored size on the sparse path (None: dense)."""
    eb = OPERAND_BYTES[p.precision]
    G = layer.groups
    m = p.hw_pattern().b
    sparse = a_total_bits is not None
    k_pad = -(-layer.K // m) * m if sparse else layer.K
    # A bytes per dense element from the encoder's stored bits (values + metadata, tail groups padded)
    a_elem = a_total_bits / 8.0 / (layer.M * k_pad) if sparse else float(eb)
    ratio = 1.0
    if layer.is_conv:
        unique = (layer.C // G) * layer.H * layer.W * layer.batch
        ratio = min(1.0, unique / float(layer.K * layer.N))
    return _Gemm(G, layer.rows_per_group, layer.N, layer.K, float(a_elem), float(eb), float(p.c_bytes()),
                 float(ratio), k_pad)


class GpuHardware(Hardware):
    """A GPU's declared hardware: it feeds the DRAM bound and the energy per access, but reports no area.

    A GPU die is mostly what the model does not describe (CUDA cores, schedulers, L1, NVLink, HBM PHYs), so
    an area summed from the declared tensor cores and SRAM would be meaningless; ``inventory()`` says "none".
    """

    def inventory(self):
        return None


def _probability_sparse(ls, p: TensorCoreParams) -> float:
    """Probability that a weight of *ls*'s pattern and density obeys the hardware N:M along (aligned) K."""
    hw = p.hw_pattern()
    n, m = hw.a, hw.b
    lay, pat, d = ls.layer, ls.pattern, float(ls.weight_density)
    windows = lay.M * -(-lay.K // m)                     # aligned groups of m along K, every row
    if d <= 0.0:
        return 1.0
    if pat.kind == "nm":
        a, b = pat.a, pat.b
        if b % m == 0:
            worst = min(a, m)                            # an m-window inside one b-group
        elif m % b == 0:
            worst = a * (m // b)                         # m/b whole b-groups in an m-window
        else:
            worst = min(m, a * (-(-(m - 1) // b) + 1))   # the groups an m-window can touch
        return 1.0 if worst <= n else 0.0
    if pat.kind == "dense" or d >= 1.0:
        return 0.0
    if pat.kind == "channel":                            # a kept row is dense: every window fails
        return (1.0 - d) ** lay.M
    if pat.kind == "block":
        bh, bw = pat.a, pat.b
        if bw < m and m % bw == 0 and bw <= n:           # an m-window holds m/bw blocks of bw nonzeros each
            per = m // bw
            q = sum(math.comb(per, i) * d ** i * (1 - d) ** (per - i) for i in range(n // bw + 1))
            return q ** (-(-lay.M // bh) * -(-lay.K // m))
        return (1.0 - d) ** (-(-lay.M // bh) * -(-lay.K // bw))   # any kept block breaks its windows
    # unstructured, random, balanced: each weight nonzero independently
    q = sum(math.comb(m, i) * d ** i * (1 - d) ** (m - i) for i in range(n + 1))
    return q ** windows


@register
class TensorCore(ArchModel):
    name = "tensor_core"
    description = "GPU of SMs with dense and N:M sparse tensor cores (A100/H100): tiles, waves, L2/DRAM roofline"
    Params = TensorCoreParams

    def hardware(self, p: TensorCoreParams) -> Hardware:
        bits, kind = MULT_BITS[p.precision]
        pat = p.hw_pattern()
        meta_bits = int(p.weight_format.kwargs.get("metadata_bits") or max(1, (pat.b - 1).bit_length()))
        return GpuHardware(
            compute=[Compute("tensor_cores", "mac", p.sms * p.rate(), bits, kind, acc_bits=8 * ACC_BYTES)],
            memories=[
                Memory("registers", "rf", 4 * p.registers_per_sm, count=p.sms, width_bits=32,
                       operands=("psums",)),
                Memory("smem", "sram", p.smem_bytes_per_sm, count=p.sms, width_bits=int(8 * p.smem_bytes_per_clk),
                       operands=("weights", "inputs", "outputs"), format=p.weight_format),
                Memory("l2", "sram", p.l2_bytes, count=1, width_bits=int(8 * p.l2_bytes_per_clk),
                       operands=("weights", "inputs", "outputs", "psums"), format=p.weight_format),
            ],
            # the metadata-driven selection of B's rows: one select per multiplier
            logic=[Logic("metadata", "index", p.sms * p.rate() * meta_bits)],
            dram=Dram(p.dram_bpc(), f"{p.dram_bytes_per_s / 1e9:g} GB/s HBM at a {p.freq_hz / 1e9:g} GHz SM clock "
                                    "(the config's published figure)"))

    def simulate(self, lt, p: TensorCoreParams) -> LayerResult:
        return self.simulate_weight(lt.layer, lt.weight, p)

    def simulate_weight(self, layer, weight: np.ndarray | None, p: TensorCoreParams) -> LayerResult:
        """One layer with its ``M x K`` weight (``None``: a shape-only run assuming the weight fits the pattern)."""
        use_sparse, reason, e = sparse_decision(layer, weight, p)
        if p.strict and p.sparse and layer.prunable and not use_sparse:
            raise ModelError(f"layer '{layer.name}' cannot take the sparse path: {reason}")
        return self._layer(layer, p, reason, e)

    def simulate_stats(self, ls, p: TensorCoreParams) -> LayerResult:
        """Expected values from the pattern and density: the sparse path with the probability that such a
        weight obeys the hardware's N:M along K (:func:`_probability_sparse`), the dense path otherwise."""
        layer = ls.layer
        can, reason, e = sparse_decision(layer, None, p)
        prob = _probability_sparse(ls, p) if can else 0.0
        if p.strict and p.sparse and layer.prunable and prob < 0.5:
            why = reason if not can else f"a {ls.pattern.name} weight does not satisfy {p.hw_pattern().name}"
            raise ModelError(f"layer '{layer.name}' cannot take the sparse path: {why}")
        dense_reason = reason if not can else f"weight does not satisfy {p.hw_pattern().name} along K"
        if prob >= 1.0 - 1e-12:
            res = self._layer(layer, p, reason, e)
        elif prob <= 1e-12:
            res = self._layer(layer, p, dense_reason, None)
        else:   # the expected value over the two paths
            res = _mix(self._layer(layer, p, reason, e), self._layer(layer, p, dense_reason, None), prob)
        res.extra["sparse_path_probability"] = float(prob)
        return res

    # ---- assembling the row -----------------------------------------------------------------------------------
    def _layer(self, layer, p: TensorCoreParams, reason: str, e) -> LayerResult:
        """The layer's row: the sparse run when the encoder accounted A (*e*), else the dense run.

        A layer whose repeats run ``batched`` at a time is one grouped launch of that many GEMMs (as
        :func:`accelsim.validation.tensor_core.bert_base_layers` writes BERT's attention): its tiles fill the SMs
        together and it pays one launch; the row is that launch's share per instance."""
        b = layer.batched
        if b > 1:
            launch = dataclasses.replace(layer, M=layer.M * b, groups=layer.groups * b, count=layer.count // b,
                                         batched=1)
            e_all = None if e is None else SimpleNamespace(value_bits=e.value_bits * b,
                                                            metadata_bits=e.metadata_bits * b)
            res = _weighted([(self._layer(launch, p, reason, e_all), 1.0 / b)])
            res.extra["batched"] = b
            return res
        use_sparse = e is not None
        hw = self.hardware(p)
        dense = _best(_gemm(layer, p, None), _machine(p, False))
        if use_sparse:
            w_bits, meta_bits = float(e.value_bits), float(e.metadata_bits)
            run = _best(_gemm(layer, p, w_bits + meta_bits), _machine(p, True))
        else:
            w_bits, meta_bits = float(layer.M * layer.K * 8 * OPERAND_BYTES[p.precision]), 0.0
            run = dense
        pat = p.hw_pattern()
        speed = p.speedup() if use_sparse else 1.0
        peak = float(p.sms * p.rate())
        dense_ideal = float(layer.macs) / peak
        performed = float(layer.macs) / speed              # what the layer needs on this path, no padding
        ideal = performed / peak
        cycles = run.cycles
        losses = run.losses(ideal)
        # the ideal is below the busiest SM's math by construction; a rounding residue goes to the tiles
        residue = cycles - ideal - sum(losses.values())
        losses["tile_quantization"] = max(losses["tile_quantization"] + residue, 0.0)
        bits, kind = MULT_BITS[p.precision]
        executed = run.padded_macs / speed                 # MMAs run on the padded tiles too
        acts = ActionCounts().mac(executed, bits=bits, dtype=kind, acc_bits=8 * ACC_BYTES, component="tensor_cores")
        if use_sparse:
            acts.index(executed, component="metadata")    # one metadata-driven B-row select per product
        acts.dram(run.sums[S_DRAM_BYTES])
        acts.read(hw.memory("l2"), 8 * run.sums[S_L2_BYTES])
        acts.read(hw.memory("smem"), 8 * run.smem_bytes)
        plan = run.plan
        s = run.sums
        totals = {
            "math_cycles": float(s[S_SM_MMA]), "sm_cycles": float(s[S_SM_EFF]), "memory_cycles": float(s[S_MEM]),
            "dram_cycles": float(s[S_DRAM_CYC]), "l2_cycles": float(s[S_L2_CYC]), "overhead_cycles": run.overhead,
            "math_time_s": float(s[S_SM_MMA]) / p.freq_hz, "memory_time_s": float(s[S_MEM]) / p.freq_hz,
            "l2_bytes": float(s[S_L2_BYTES]), "smem_bytes": run.smem_bytes, "padded_macs": executed,
            "dense_cycles": dense.cycles,
        }
        extra = {
            "sm_limiter": "smem" if run.smem_limited else "mma",
            "sparse_path": bool(use_sparse),
            "sparse_reason": reason,
            "precision": p.precision,
            "hw_pattern": pat.name,
            "kernel": p.sparse_kernel if use_sparse else p.dense_kernel,
            "kernel_efficiency": p.efficiency(use_sparse),
            "tile": plan.name,
            "split_k": int(run.split_k),
            "ctas_per_sm": int(run.ctas_per_sm),
            "tiles": int(run.tiles),
            "waves": int(run.waves),
            "wave_efficiency": float(run.busy.sum()) / (p.sms * s[S_SM_EFF]) if s[S_SM_EFF] else 1.0,
            "tile_efficiency": float(layer.macs) / run.padded_macs,
            "bound_dense": layer_bound(LayerResult(cycles=dense.cycles, macs_performed=float(layer.macs),
                                                   peak_macs_per_cycle=peak, losses=dense.losses(dense_ideal))),
            "dense_tile": dense.plan.name,
            "speedup_vs_dense": dense.cycles / cycles,
            "effective_tflops": 2.0 * layer.macs / (cycles / p.freq_hz) / 1e12,
        }
        return LayerResult(cycles=cycles, freq_hz=p.freq_hz, macs_performed=performed, peak_macs_per_cycle=peak,
                           losses=losses, pe_busy=run.busy.copy(), actions=acts,
                           weight_bits=w_bits, metadata_bits=meta_bits, dram_bytes=float(s[S_DRAM_BYTES]),
                           sram_bytes=float(s[S_L2_BYTES]) + run.smem_bytes, totals=totals, extra=extra)


def _weighted(parts: list[tuple[LayerResult, float]]) -> LayerResult:
    """The row ``sum(w * row)`` of every additive quantity; labels and extras from the heaviest part."""
    main = max(parts, key=lambda rw: rw[1])[0]
    keys = {k for r, _ in parts for k in r.losses}
    acts = ActionCounts()
    for r, w in parts:
        acts.merge(r.actions, w)

    def tot(get):
        return sum(w * get(r) for r, w in parts)
    return LayerResult(cycles=tot(lambda r: r.cycles), freq_hz=main.freq_hz,
                       macs_performed=tot(lambda r: r.macs_performed), peak_macs_per_cycle=main.peak_macs_per_cycle,
                       losses={k: tot(lambda r: r.losses.get(k, 0.0)) for k in keys},
                       pe_busy=tot(lambda r: r.pe_busy), actions=acts,
                       weight_bits=tot(lambda r: r.weight_bits), metadata_bits=tot(lambda r: r.metadata_bits),
                       dram_bytes=tot(lambda r: r.dram_bytes), sram_bytes=tot(lambda r: r.sram_bytes),
                       totals={k: tot(lambda r: r.totals[k]) for k in main.totals}, extra=dict(main.extra))


def _mix(a: LayerResult, b: LayerResult, p: float) -> LayerResult:
    """The expected row over two outcomes: *a* with probability *p*, *b* otherwise (labels of the likelier)."""
    res = _weighted([(a, p), (b, 1.0 - p)])
    res.extra["speedup_vs_dense"] = (p * a.totals["dense_cycles"] + (1 - p) * b.totals["dense_cycles"]) / res.cycles
    return res


def layer_bound(res: LayerResult) -> str:
    """The row's ``bound`` as the runner names it: the resource with the largest share of the cycles."""
    return cycle_account(res)[3]


def peak_tflops(p: TensorCoreParams, sparse: bool = False) -> float:
    """The configuration's peak tensor-core rate in TFLOPS (2 flops per MAC), as the whitepapers quote it."""
    return 2.0 * p.sms * p.rate() * (p.speedup() if sparse else 1.0) * p.freq_hz / 1e12


__all__ = ["TensorCore", "TensorCoreParams", "GpuHardware", "Plan", "sparse_decision", "peak_tflops", "layer_bound",
           "OPERAND_BYTES"]
