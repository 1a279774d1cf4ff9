"""tensor_core: published peak rates, the single-SM case, the libraries' measured figures, and measured 2:4 runs.

Four kinds of rows:

* **Peaks** (identity): the whitepapers' tables (NVIDIA A100 Tensor Core GPU Architecture, 2020, "A100 Tensor
  Core" throughput table; NVIDIA H100 Tensor Core GPU Architecture, 2022, Table 3) against the rate the model
  reaches at the math-bound limit (a GEMM whose 128x128 tiles fill every SM evenly, at the hardware rate).
* **Calibration** (reference): the published measurements the configs' ``kernel_efficiency`` figures come from,
  re-run through the model. They hold by construction (each figure is that measurement over the model's own
  figure at ``kernel_efficiency: {}``) and show the calibration still holds when the model changes.
* **A measured GEMM** (performance): the PyTorch tutorial "Accelerating BERT with semi-structured (2:4)
  sparsity" (J. Cai, pytorch/tutorials, advanced_source/semi_structured_sparse.py), A100 80GB, FP16:
  ``nn.Linear(10240, 3072)`` on 3072 tokens, "Dense: 0.870ms Sparse: 0.630ms | Speedup: 1.382x", the sparse run
  on PyTorch's CUTLASS 2:4 kernel (the tutorial sets ``_FORCE_CUTLASS``). In the GEMM view W is 3072 x 10240 and
  X is 10240 x 3072 (M = N = 3072, K = 10240). The kernel is PyTorch's one FP16 instance
  (aten/src/ATen/native/sparse/cuda/SparseSemiStructuredLinear.cu): 128x128x64 thread-block tile, 64x64x64
  warps, 3 stages, no split-K, ``GemmIdentityThreadblockSwizzle<>`` (tile rows fastest over the whole column).
  None of these numbers went into the calibration: the libraries' figures come from other measurements.
* **A measured network** (performance): the same tutorial's BERT-base (bert-base-cased, SQuAD, sequence 384)
  with every encoder ``nn.Linear`` 2:4, compiled with ``torch.compile``, end-to-end times at batch 4, 16, 64
  and 256 (its results table). The model has the GEMMs only, so its GEMM-only speedup is an upper bound on the
  measured one (checked one-sided in tests/models/test_tensor_core.py). What it can predict two-sided is the
  sparse end-to-end time given the measured dense one, 2:4 changing only the GEMMs (Amdahl): sparse = measured
  dense - model dense GEMMs + model 2:4 GEMMs. The uncompiled table is not used: there the sparse tensor
  subclass adds per-call work outside the GEMMs (at batch 4 the sparse model is slower, 0.71x; the tutorial
  notes small batches may be slower), which breaks "only the GEMMs change".

Tolerances are the ones this module had before these figures were computed (30 % on absolute times measured
on another machine than the calibration's, 20 % on ratios) and are never tighter than the source kind allows.

Not encoded: the cuSPARSELt sample timing of NVIDIA/CUDALibrarySamples issue #57 (4096^3 FP16, 0.546 ms): one
call of a sample program with the default algorithm (no ``cusparseLtMatmulSearch``), GPU model and clocks
unstated, which NVIDIA's reply says is not how performance is measured; and Mishra et al. (arXiv:2104.08378),
whose GEMM and network speedups we could not read from a table we can cite.
"""
from __future__ import annotations

from ..arch import load_arch
from ..arch.tensor_core import TensorCore
from ..workload import gemm
from ..workload.layer import Layer

TUTORIAL = ("PyTorch tutorial 'Accelerating BERT with semi-structured (2:4) sparsity' (pytorch/tutorials, "
            "advanced_source/semi_structured_sparse.py), A100 80GB FP16")
#: PyTorch's CUTLASS 2:4 FP16 kernel: one tile, no split-K, identity swizzle (one strip of all tile rows)
PYTORCH_CUTLASS = {"sparse_kernel": "cutlass_sparse", "sparse_tile_candidates": [[128, 128, 64]],
                   "sparse_split_k_candidates": [1], "sparse_swizzle": 1 << 20}
#: the tutorial's torch.compile table: batch -> (dense ms, 2:4 ms), bert-base-cased, sequence 384
BERT_COMPILED_MS = {4: (7.59, 7.46), 16: (11.47, 9.68), 64: (41.57, 36.92), 256: (159.22, 142.23)}
#: the calibration measurements: (gpu, library, sparse, M, N, K, TFLOPS, source, source kind)
CALIBRATION = [
    ("a100", "cublas", False, 6912, 16384, 2048, 267.9,
     "S. Bekman, Machine Learning Engineering (stas00/ml-engineering), Maximum Achievable Matmul FLOPS table: "
     "A100 SXM BF16 torch.matmul, CUDA 12.1", "table"),
    ("h100", "cublas", False, 6144, 17920, 2816, 792.1,
     "S. Bekman, Machine Learning Engineering (stas00/ml-engineering), Maximum Achievable Matmul FLOPS table: "
     "H100 SXM BF16 torch.matmul, CUDA 12.1", "table"),
    ("a100", "cutlass_sparse", True, 16384, 16384, 16384, 484.0,
     "GitHub NVIDIA/cutlass issue #408, CUTLASS developer's comment: sparse FP16 CUTLASS profiler, "
     "1410 MHz locked, 400 W", "text"),
]


def _peak_case(gpu: str, precision: str, sparse: bool, published: float, table: str) -> dict:
    """TFLOPS at the model's math-bound limit: 2 tiles of 128x128 per SM, K = 4096, no edge tiles."""
    cfg = load_arch(gpu, {"precision": precision, "autotune": False, "tile": [128, 128, 32], "split_k": 1,
                          "sparse": sparse, "kernel_efficiency": {}})
    p = cfg.params
    lay = gemm("peak", M=128 * p.sms, K=4096, N=256)
    res = TensorCore().simulate_weight(lay, None, p)
    tflops = 2.0 * lay.macs / (res.totals["math_cycles"] / p.freq_hz) / 1e12
    unit = "TOPS" if precision == "int8" else "TFLOPS"
    what = "2:4 sparse" if sparse else "dense"
    if sparse and precision == "tf32":
        what = "1:2 sparse"
    return {"model": "tensor_core", "quantity": f"{gpu.upper()} {precision.upper()} {what} peak",
            "published": published, "accelsim": tflops, "unit": unit, "tolerance_pct": 1.0, "source": table,
            "source_kind": "identity", "category": "identity"}


def bert_base_layers(seq: int, batch: int, layers: int = 12) -> list[Layer]:
    """BERT-base encoder GEMMs at *seq* x *batch* tokens, *layers* encoder layers; attention matmuls as one
    batched GEMM per encoder layer (one group per head and sequence)."""
    tokens = seq * batch
    heads = 12 * batch
    return [
        gemm("qkv_proj", 768, 768, tokens, count=3 * layers),
        gemm("out_proj", 768, 768, tokens, count=layers),
        gemm("ffn1", 3072, 768, tokens, count=layers),
        gemm("ffn2", 768, 3072, tokens, count=layers),
        Layer("qk", "matmul", M=seq * heads, K=64, N=seq, groups=heads, prunable=False, count=layers),
        Layer("av", "matmul", M=seq * heads, K=seq, N=64, groups=heads, prunable=False, count=layers),
    ]


def gemm_times_ms(layers: list[Layer], p) -> tuple[float, float]:
    """(dense, 2:4) time of *layers* in ms, each layer on its own path (activation matmuls stay dense)."""
    model = TensorCore()
    sparse = dense = 0.0
    for lay in layers:
        r = model.simulate_weight(lay, None, p)
        sparse += r.cycles * lay.count
        dense += r.totals["dense_cycles"] * lay.count
    return dense / p.freq_hz * 1e3, sparse / p.freq_hz * 1e3


def amdahl_speedup(measured_dense_ms: float, model_dense_ms: float, model_sparse_ms: float) -> float:
    """End-to-end 2:4 speedup when only the GEMMs change: the measured non-GEMM time stays."""
    return measured_dense_ms / (measured_dense_ms - model_dense_ms + model_sparse_ms)


def _calibration_case(gpu, library, sparse, M, N, K, tflops, source, kind) -> dict:
    over = {"sparse_kernel": library} if sparse else {"dense_kernel": library}
    p = load_arch(gpu, over).params
    r = TensorCore().simulate_weight(gemm("g", M=M, K=K, N=N), None, p)
    cycles = r.cycles if sparse else r.totals["dense_cycles"]
    model = 2.0 * M * N * K / (cycles / p.freq_hz) / 1e12
    what = "2:4" if sparse else "dense"
    return {"model": "tensor_core", "quantity": f"{gpu.upper()} {library} {what} {M}x{N}x{K} (calibration)",
            "published": tflops, "accelsim": model, "unit": "TFLOPS", "tolerance_pct": 2.0, "source": source,
            "source_kind": kind, "category": "reference"}


def cases() -> list[dict]:
    out = []
    a100_tab = "NVIDIA A100 whitepaper (2020), A100 Tensor Core peak throughput table"
    h100_tab = "NVIDIA H100 whitepaper (2022), Table 3 (H100 SXM5)"
    for gpu, prec, sparse, pub, tab in [
        ("a100", "fp16", False, 312.0, a100_tab), ("a100", "fp16", True, 624.0, a100_tab),
        ("a100", "tf32", False, 156.0, a100_tab), ("a100", "tf32", True, 312.0, a100_tab),
        ("a100", "int8", False, 624.0, a100_tab), ("a100", "int8", True, 1248.0, a100_tab),
        ("h100", "fp16", False, 989.4, h100_tab), ("h100", "fp16", True, 1978.9, h100_tab),
        ("h100", "tf32", False, 494.7, h100_tab), ("h100", "fp8", True, 3957.8, h100_tab),
    ]:
        out.append(_peak_case(gpu, prec, sparse, pub, tab))

    # the single-SM check: one SM's four tensor cores, dense 1024 x 512 x 256 (M x N x K)
    one = load_arch("a100", {"sms": 1, "autotune": False, "tile": [128, 128, 32], "split_k": 1, "sparse": False,
                             "kernel_efficiency": {}})
    r = TensorCore().simulate_weight(gemm("g", M=1024, K=256, N=512), None, one.params)
    out.append({"model": "tensor_core", "quantity": "single SM dense 1024x512x256 compute cycles",
                "published": 1024 * 512 * 256 / 1024, "accelsim": r.totals["math_cycles"], "unit": "cycles",
                "tolerance_pct": 0.0, "source": "A100 whitepaper: 1024 dense FP16 FMA per SM per clock",
                "source_kind": "identity", "category": "worked_example"})

    out += [_calibration_case(*c) for c in CALIBRATION]

    # the tutorial's nn.Linear(10240, 3072) on 3072 tokens: cuBLAS dense (autotuned tiles), PyTorch's CUTLASS 2:4
    p = load_arch("a100", PYTORCH_CUTLASS).params
    res = TensorCore().simulate_weight(gemm("linear", M=3072, K=10240, N=3072), None, p)
    dense_ms = res.totals["dense_cycles"] / p.freq_hz * 1e3
    sparse_ms = res.cycles / p.freq_hz * 1e3
    out += [
        {"model": "tensor_core", "quantity": "A100 GEMM 3072x3072x10240 dense latency (cuBLAS)", "published": 0.870,
         "accelsim": dense_ms, "unit": "ms", "tolerance_pct": 30.0, "source": TUTORIAL,
         "source_kind": "text", "category": "performance"},
        {"model": "tensor_core", "quantity": "A100 GEMM 3072x3072x10240 2:4 latency (PyTorch CUTLASS kernel)",
         "published": 0.630, "accelsim": sparse_ms, "unit": "ms", "tolerance_pct": 30.0, "source": TUTORIAL,
         "source_kind": "text", "category": "performance"},
        {"model": "tensor_core", "quantity": "A100 GEMM 3072x3072x10240 2:4 speedup", "published": 1.382,
         "accelsim": res.extra["speedup_vs_dense"], "unit": "x", "tolerance_pct": 20.0, "source": TUTORIAL,
         "source_kind": "text", "category": "performance"},
    ]

    # BERT-base end to end, torch.compile: 2:4 changes only the GEMMs of the measured dense time
    for batch, (dense_meas, sparse_meas) in BERT_COMPILED_MS.items():
        dense_ms, sparse_ms = gemm_times_ms(bert_base_layers(384, batch), p)
        out.append({"model": "tensor_core",
                    "quantity": f"A100 BERT-base seq 384 batch {batch} end-to-end 2:4 speedup (torch.compile; "
                                f"measured dense time, model GEMMs)",
                    "published": dense_meas / sparse_meas,
                    "accelsim": amdahl_speedup(dense_meas, dense_ms, sparse_ms), "unit": "x",
                    "tolerance_pct": 20.0, "source": TUTORIAL + ", results table (times), compiled",
                    "source_kind": "table", "category": "performance"})
    return out


__all__ = ["cases", "bert_base_layers", "gemm_times_ms", "amdahl_speedup", "BERT_COMPILED_MS", "PYTORCH_CUTLASS",
           "CALIBRATION"]
