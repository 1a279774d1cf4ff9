"""When 2:4 sparse tensor cores pay on A100 and H100, and by how much; what 1:4, 2:8 or 4:8 hardware would buy.

Three parts, all on the ``tensor_core`` model with the shipped ``a100`` and ``h100`` configs (kernel tiles
autotuned per layer, as cuBLAS and cuSPARSELt do):

1. ``gemm_sizes``: 2:4 against dense over square GEMMs (M = N = K from 256 to 16384) and skinny ones (M = K =
   4096 with N from 1 to 32768 -- the tokens or batch of an inference GEMM; M = N = 4096 with K from 64 to
   16384). The speedup nears 2x only on large math-bound GEMMs: small ones are launch- and fill-bound, tile
   and wave quantisation leave SMs idle, skinny ones are memory-bound -- bound by W they gain at most the
   compression (2:4 FP16 keeps 18 of 32 bits per weight pair: 1.78x), bound by the activations nothing -- and
   on the largest the sparse kernel is held below 2x by the B operand's shared-memory (A100) or L2 (H100)
   traffic, which 2:4 on A does not shrink.
2. ``network_layers`` / ``network_totals``: per-layer and end-to-end speedups of BERT-base (sequence 128) and
   ResNet-50 (224x224) at several batch sizes, from traces pruned 2:4 by magnitude along K (the foundation's
   ``nm:2:4`` pruner, as NVIDIA's ASP does). The first convolution (K = 3*7*7 = 147, not a multiple of 4) and
   the attention matmuls (both operands activations) stay dense. Attention matmuls run as one batched GEMM per
   encoder layer (the heads and sequences as groups). Only GEMM time is modelled: softmax, normalisation,
   activations and pooling are not, so these end-to-end figures are upper bounds.
3. ``nm_whatif``: what-if tensor cores for 1:4, 2:8 and 4:8 (math speedup M/N, metadata ceil(log2 M) bits per
   kept value, both configurable) and a 1:4 variant that keeps 2:4's 2x datapath, against 2:4, on GEMMs and
   on the two networks. These runs are shape-only (the weights assumed pruned to each pattern).

``quick=True`` runs A100 only, fewer sizes and batches, and the networks shape-only (no trace building).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from ..arch import load_arch
from ..arch.tensor_core import TensorCore, TensorCoreParams, layer_bound
from ..paths import WORKLOAD_DIR
from ..traces import make_trace
from ..workload import gemm, load_workload
from ..workload.layer import Layer
from ..report.plots import save_figure

GPUS = ("a100", "h100")
SQUARE = [256, 512, 1024, 2048, 4096, 8192, 16384]
SKINNY_N = [1, 8, 32, 128, 512, 2048, 8192, 32768]
SKINNY_K = [64, 256, 1024, 4096, 16384]
BATCHES = [1, 8, 32, 128]
WHATIF = [  # label, pattern, math speedup (None: M/N)
    ("2:4", "nm:2:4", None), ("1:4", "nm:1:4", None), ("2:8", "nm:2:8", None), ("4:8", "nm:4:8", None),
    ("1:4 on a 2x datapath", "nm:1:4", 2.0),
]


def cnn_workload() -> str:
    """ResNet-50 when its workload file is shipped, else VGG-16."""
    return "resnet50" if (WORKLOAD_DIR / "resnet50.yaml").is_file() else "vgg16"


def _run(layer: Layer, weight, p: TensorCoreParams) -> dict:
    """Sparse (when the layer can) and dense figures of one layer instance."""
    r = TensorCore().simulate_weight(layer, weight, p)
    e, dense = r.extra, r.totals["dense_cycles"]
    return {"sparse_path": e["sparse_path"], "sparse_reason": e["sparse_reason"],
            "dense_s": dense / p.freq_hz, "sparse_s": r.cycles / p.freq_hz,
            "speedup": e["speedup_vs_dense"], "bound": layer_bound(r), "bound_dense": e["bound_dense"],
            "sm_limiter": e["sm_limiter"], "tile": e["tile"], "split_k": e["split_k"], "waves": e["waves"],
            "wave_efficiency": e["wave_efficiency"], "tile_efficiency": e["tile_efficiency"],
            "sparse_tflops": e["effective_tflops"],
            "dense_tflops": 2.0 * layer.macs / (dense / p.freq_hz) / 1e12,
            "sparse_dram_bytes": r.dram_bytes}


def gemm_sizes(gpus, square, skinny_n, skinny_k) -> pd.DataFrame:
    rows = []
    for gpu in gpus:
        p = load_arch(gpu).params
        shapes = [("square", s, s, s) for s in square]
        shapes += [("N sweep, M=K=4096", 4096, n, 4096) for n in skinny_n]
        shapes += [("K sweep, M=N=4096", 4096, 4096, k) for k in skinny_k]
        for family, M, N, K in shapes:
            rows.append({"gpu": gpu, "family": family, "M": M, "N": N, "K": K,
                         **_run(gemm("gemm", M, K, N), None, p)})
    return pd.DataFrame(rows)


def _batched(layers: list[Layer], batch: int) -> list[Layer]:
    """The network at *batch*: N grows with the batch; per-head attention matmuls become one batched GEMM.

    ``count`` of a matmul that is a multiple of the network's repeat (BERT: 12 heads x 12 encoder layers)
    is split into groups of one kernel (heads x batch) and the repeat.
    """
    repeat = min(l.count for l in layers)
    out = []
    for lay in layers:
        if lay.is_conv:
            out.append(dataclasses.replace(lay, batch=batch, N=batch * lay.P * lay.Q))
        elif lay.op == "matmul" and not lay.prunable and lay.count > repeat and lay.count % repeat == 0:
            g = lay.count // repeat * batch
            out.append(dataclasses.replace(lay, M=lay.M * g, groups=g, count=repeat))
        else:
            out.append(dataclasses.replace(lay, N=lay.N * batch, batch=batch))
    return out


def networks(gpus, batches, use_traces: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    for net in ("bert_base", cnn_workload()):
        wl = load_workload(net)
        weights = {}
        if use_traces:
            tr = make_trace(wl, "nm:2:4", seed=0)
            weights = {lt.name: lt.weight for lt in tr}
        for gpu in gpus:
            p = load_arch(gpu).params
            for b in batches:
                for lay in _batched(wl.layers, b):
                    r = _run(lay, weights.get(lay.name), p)
                    rows.append({"gpu": gpu, "network": net, "batch": b, "layer": lay.name, "M": lay.M,
                                 "N": lay.N, "K": lay.K, "groups": lay.groups, "count": lay.count, **r})
    per_layer = pd.DataFrame(rows)
    t = per_layer.assign(dense_total_s=per_layer["dense_s"] * per_layer["count"],
                         sparse_total_s=per_layer["sparse_s"] * per_layer["count"])
    totals = []
    for (gpu, net, b), g in t.groupby(["gpu", "network", "batch"], sort=False):
        sp = g["sparse_total_s"].sum()
        row = {"gpu": gpu, "network": net, "batch": b, "dense_s": g["dense_total_s"].sum(), "sparse_s": sp,
               "speedup": g["dense_total_s"].sum() / sp,
               "sparse_capable_share_of_dense": g.loc[g["sparse_path"], "dense_total_s"].sum() /
               g["dense_total_s"].sum()}
        for bound in ("compute", "mapping", "sram", "dram", "software", "pipeline"):
            row[f"share_{bound}"] = g.loc[g["bound"] == bound, "sparse_total_s"].sum() / sp
        totals.append(row)
    return per_layer, pd.DataFrame(totals)


def nm_whatif(gpu: str, batches, nets) -> pd.DataFrame:
    base = load_arch(gpu).params
    cases = [("GEMM 4096^3", [gemm("g", 4096, 4096, 4096)]), ("GEMM 4096x128x4096", [gemm("g", 4096, 4096, 128)])]
    for net in nets:
        wl = load_workload(net)
        for b in batches:
            cases.append((f"{net} batch {b}", _batched(wl.layers, b)))
    rows = []
    for label, pattern, speed in WHATIF:
        p = dataclasses.replace(base, pattern=pattern, sparse_math_speedup=speed)
        p.validate()
        n, m = (int(x) for x in pattern.split(":")[1:])
        for case, layers in cases:
            dense = sparse = 0.0
            wbits = dbits = 0.0
            for lay in layers:
                r = TensorCore().simulate_weight(lay, None, p)
                sparse += r.cycles * lay.count
                dense += r.totals["dense_cycles"] * lay.count
                if r.extra["sparse_path"]:
                    wbits += (r.weight_bits + r.metadata_bits) * lay.count
                    dbits += lay.M * lay.K * 16 * lay.count
            rows.append({"gpu": gpu, "hardware": label, "pattern": pattern, "weight_density": n / m,
                         "math_speedup": p.speedup(),
                         "metadata_bits": p.weight_format.kwargs.get("metadata_bits") or max(1, (m - 1).bit_length()),
                         "case": case, "dense_s": dense / p.freq_hz, "sparse_s": sparse / p.freq_hz,
                         "speedup": dense / sparse, "weight_bytes_ratio": wbits / dbits if dbits else float("nan")})
    return pd.DataFrame(rows)


def run(quick: bool = False) -> dict[str, pd.DataFrame]:
    if quick:
        gpus, square, sk_n, sk_k, batches = ("a100",), [256, 1024, 4096, 16384], [1, 128, 8192], [256, 4096], [1, 32]
    else:
        gpus, square, sk_n, sk_k, batches = GPUS, SQUARE, SKINNY_N, SKINNY_K, BATCHES
    layers, totals = networks(gpus, batches, use_traces=not quick)
    nets = ["bert_base"] if quick else ["bert_base", cnn_workload()]
    return {"gemm_sizes": gemm_sizes(gpus, square, sk_n, sk_k), "network_layers": layers,
            "network_totals": totals, "nm_whatif": nm_whatif("a100", [32], nets)}


def plot(frames: dict[str, pd.DataFrame], outdir: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []

    g = frames["gemm_sizes"]
    fams = list(dict.fromkeys(g["family"]))
    fig, axes = plt.subplots(1, len(fams), figsize=(5 * len(fams), 4), sharey=True)
    axes = np.atleast_1d(axes)
    xcol = {"square": "M", "N sweep, M=K=4096": "N", "K sweep, M=N=4096": "K"}
    for ax, fam in zip(axes, fams):
        for gpu, d in g[g["family"] == fam].groupby("gpu", sort=False):
            x = xcol.get(fam, "M")
            ax.plot(d[x], d["speedup"], "o-", label=gpu.upper())
        ax.axhline(2.0, color="k", ls="--", lw=0.8, label="2x (math peak ratio)")
        ax.axhline(1.0, color="k", lw=0.6)
        ax.set_xscale("log", base=2)
        ax.set_xlabel(f"{xcol.get(fam, 'M')} (elements)")
        ax.set_title(f"2:4 vs dense, {fam}")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("speedup of 2:4 over dense (x)")
    paths += save_figure(fig, outdir, "gemm_speedup_vs_size")

    t = frames["network_totals"]
    lay = frames["network_layers"]
    nets = list(dict.fromkeys(t["network"]))
    fig, axes = plt.subplots(1, 1 + len(nets), figsize=(5 * (1 + len(nets)), 4))
    for (gpu, net), d in t.groupby(["gpu", "network"], sort=False):
        axes[0].plot(d["batch"], d["speedup"], "o-", label=f"{net} on {gpu.upper()}")
    axes[0].axhline(1.0, color="k", lw=0.6)
    axes[0].set_xscale("log", base=2)
    axes[0].set_xlabel("batch (sequences or images)")
    axes[0].set_ylabel("end-to-end GEMM speedup (x)")
    axes[0].set_title("2:4 end to end (GEMM layers only)")
    axes[0].legend(fontsize=8)
    gpu0 = lay["gpu"].iloc[0]
    b0 = max(lay["batch"])
    for ax, net in zip(axes[1:], nets):
        d = lay[(lay["gpu"] == gpu0) & (lay["network"] == net) & (lay["batch"] == b0)]
        colors = ["tab:blue" if s else "tab:gray" for s in d["sparse_path"]]
        ax.bar(np.arange(len(d)), d["speedup"], color=colors)
        ax.axhline(1.0, color="k", lw=0.6)
        ax.set_xticks(np.arange(len(d)))
        ax.set_xticklabels(d["layer"], rotation=90, fontsize=6 if len(d) > 20 else 8)
        ax.set_ylabel("layer speedup (x)")
        ax.set_title(f"{net}, batch {b0}, {gpu0.upper()} (gray: runs dense)")
    paths += save_figure(fig, outdir, "network_speedups")

    w = frames["nm_whatif"]
    hw = list(dict.fromkeys(w["hardware"]))
    cases = list(dict.fromkeys(w["case"]))
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(cases)), 4))
    width = 0.8 / len(hw)
    x = np.arange(len(cases))
    for i, h in enumerate(hw):
        d = w[w["hardware"] == h].set_index("case").reindex(cases)
        ax.bar(x + (i - (len(hw) - 1) / 2) * width, d["speedup"], width, label=h)
    ax.axhline(1.0, color="k", lw=0.6)
    ax.set_xticks(x)
    ax.set_xticklabels(cases, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("speedup over dense (x)")
    ax.set_title(f"What-if N:M tensor cores on {w['gpu'].iloc[0].upper()}")
    ax.legend(fontsize=8)
    paths += save_figure(fig, outdir, "nm_whatif")
    return paths
