"""tensor_core: published peak rates, the single-SM case, and measured 2:4 speedups on A100.

Peak rates are the whitepapers' tables (NVIDIA A100 Tensor Core GPU Architecture, 2020, Table "A100 Tensor Core
throughput" / "NVIDIA A100 ... compared to Tesla V100"; NVIDIA H100 Tensor Core GPU Architecture, 2022, Table 3).
The model's figure is the rate it reaches at the math-bound limit: a GEMM whose 128x128 tiles fill every SM
evenly, its useful flops over the tensor-core (math) time the model reports.

Measured speedups are from the PyTorch tutorial "Accelerating BERT with semi-structured (2:4) sparsity"
(J. Cai, pytorch/tutorials, advanced_source/semi_structured_sparse.py), run on an A100 80GB in FP16:

* ``nn.Linear(10240, 3072)`` on 3072 tokens, CUTLASS kernels: dense 0.870 ms, 2:4 sparse 0.630 ms, 1.382x.
  In the GEMM view W is 3072 x 10240 and X is 10240 x 3072 (M = N = 3072, K = 10240).
* BERT-base (bert-base-cased) on SQuAD, sequence length 384, all encoder ``nn.Linear`` layers 2:4, with
  ``torch.compile``: 1.13x end to end at batch 64. The model counts only the GEMMs (projections, FFN and
  the attention matmuls, which stay dense); softmax, layer norm, GELU and the rest are not modelled, so the
  model's end-to-end figure is an upper bound on the measured one.

Mishra et al. (arXiv:2104.08378) also report GEMM and network speedups; their figures are not reproduced here
because we could not read their values from a source we can cite by table.
"""
from __future__ import annotations

from ..arch import load_arch
from ..arch.tensor_core import TensorCore
from ..workload import gemm
from ..workload.layer import Layer

TUTORIAL = ("PyTorch tutorial 'Accelerating BERT with semi-structured (2:4) sparsity' (pytorch/tutorials, "
            "advanced_source/semi_structured_sparse.py), A100 80GB FP16")


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
            "source_kind": "table", "category": "identity"}


def _bert_base_layers(seq: int, batch: int) -> list[Layer]:
    """BERT-base encoder GEMMs at *seq* x *batch* tokens; attention matmuls as one batched GEMM per layer."""
    tokens = seq * batch
    heads = 12 * batch
    return [
        gemm("qkv_proj", 768, 768, tokens, count=3),
        gemm("out_proj", 768, 768, tokens),
        gemm("ffn1", 3072, 768, tokens),
        gemm("ffn2", 768, 3072, tokens),
        # Q K^T and A V per head and sequence: a batched GEMM (one kernel, one group per head and sequence)
        Layer("qk", "matmul", M=seq * heads, K=64, N=seq, groups=heads, prunable=False),
        Layer("av", "matmul", M=seq * heads, K=seq, N=64, groups=heads, prunable=False),
    ]


def _network_speedup(layers: list[Layer], p) -> float:
    model = TensorCore()
    sparse = dense = 0.0
    for lay in layers:
        r = model.simulate_weight(lay, None, p)
        sparse += r.cycles * lay.count
        dense += r.totals["dense_cycles"] * lay.count
    return dense / sparse


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

    # measured: the tutorial's nn.Linear(10240, 3072) on 3072 tokens. Dense runs cuBLAS (autotuned tiles); the
    # sparse run is PyTorch's CUTLASS 2:4 kernel, whose FP16 instance is one 128x128x64 thread-block tile with
    # 64x64x64 warps and no split-K (aten/src/ATen/native/sparse/cuda/SparseSemiStructuredLinear.cu).
    p = load_arch("a100", {"sparse_tile_candidates": [[128, 128, 64]], "sparse_split_k_candidates": [1]}).params
    res = TensorCore().simulate_weight(gemm("linear", M=3072, K=10240, N=3072), None, p)
    dense_ms = res.totals["dense_cycles"] / p.freq_hz * 1e3
    sparse_ms = res.cycles / p.freq_hz * 1e3
    out += [
        {"model": "tensor_core", "quantity": "A100 GEMM 3072x3072x10240 dense latency", "published": 0.870,
         "accelsim": dense_ms, "unit": "ms", "tolerance_pct": 30.0, "source": TUTORIAL,
         "source_kind": "text", "category": "performance"},
        {"model": "tensor_core", "quantity": "A100 GEMM 3072x3072x10240 2:4 latency", "published": 0.630,
         "accelsim": sparse_ms, "unit": "ms", "tolerance_pct": 30.0, "source": TUTORIAL,
         "source_kind": "text", "category": "performance"},
        {"model": "tensor_core", "quantity": "A100 GEMM 3072x3072x10240 2:4 speedup", "published": 1.382,
         "accelsim": res.extra["speedup_vs_dense"], "unit": "x", "tolerance_pct": 20.0, "source": TUTORIAL,
         "source_kind": "text", "category": "performance"},
        {"model": "tensor_core", "quantity": "A100 BERT-base seq 384 batch 64 2:4 end-to-end speedup (GEMMs only)",
         "published": 1.13, "accelsim": _network_speedup(_bert_base_layers(384, 64), p), "unit": "x",
         "tolerance_pct": 20.0, "source": TUTORIAL + ", torch.compile table",
         "source_kind": "table", "category": "performance"},
    ]
    return out
