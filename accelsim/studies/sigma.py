"""SIGMA vs a TPU-like systolic array on the paper's irregular GEMMs, dense and sparse (Qin et al., HPCA 2020).

The study of SIGMA's evaluation (Sec. VI): the ten irregular GEMM shapes of
its workload table, run on SIGMA (128 Flex-DPEs x 128 multipliers) and on a
TPU-like 128 x 128 systolic array with the same number of multipliers,
dense and with sparse weights (80% zeros) and inputs (10%, 30%, 50% zeros).
The systolic array does not skip zeros, so its time is the dense time.

Shapes: the paper writes them M-N-K with an MK matrix times a KN matrix; our
GEMM view ``W (M x K) @ X (K x N)`` uses the same letters, so ``M-N-K`` is
``gemm:MxNxK`` here.

Two SIGMA paths: the trace path (real pruned tensors through the operand
bitmaps) for every shape whose tensors fit ``TRACE_BUDGET`` elements, and the
density path (``accelsim.arch.sigma.estimate``: per-row counts drawn from
their distribution under uniform sparsity, then the same fold walk) for
every shape; the table keeps both where both ran, so the agreement is on
view. The largest shapes (1632-36548-1024 needs 3.9e7 elements,
1024-16-500000 5.1e8) run from the density path only: their tensors cannot be
built within this machine's memory budget. The distribution bandwidth of
SIGMA is an assumption (128 words/cycle, one TPU edge); a second series with
one word per multiplier per cycle shows how much the stationary load costs.

``quick=True`` divides every dimension by 8 (at least 1), shrinks both
arrays to 32 x 32 and builds traces only up to 1e6 elements, so it runs in a
few seconds.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..report.plots import save_figure

#: the paper's irregular GEMMs as M-N-K (Qin et al., HPCA 2020, Sec. VI workload table)
SHAPES = [(128, 2048, 4096), (320, 3072, 4096), (1632, 36548, 1024), (2048, 4096, 32), (1024, 16, 500000),
          (35, 8457, 2560), (31999, 1024, 84), (84, 1024, 4096), (2048, 1, 128), (256, 256, 2048)]
#: (label, weight density, input density): dense, and 80% sparse weights with 10-50% sparse inputs
SETTINGS = [("dense", 1.0, 1.0), ("w80_x10", 0.2, 0.9), ("w80_x30", 0.2, 0.7), ("w80_x50", 0.2, 0.5)]
#: shapes whose W and X together exceed this many elements run from the density path only
TRACE_BUDGET = 30_000_000
#: ... and in quick mode
QUICK_TRACE_BUDGET = 1_000_000
QUICK_SCALE = 8


def _shape_name(s) -> str:
    return "-".join(map(str, s))


def systolic_cycles(M: int, N: int, K: int, rows: int, cols: int) -> dict:
    """The TPU-like baseline's dense compute cycles from the shape (``accelsim.arch.systolic``).

    The array runs whichever of its two stationary dataflows is faster (weight
    stationary as the TPU does, or with the operands swapped, input
    stationary), as SIGMA does; memory stalls are left out on both sides.
    """
    from ..arch.systolic import systolic_gemm
    out = {}
    for flow in ("ws", "is"):
        out[flow] = float(systolic_gemm(M, K, N, rows, cols, flow).compute_cycles)
    best = min(out, key=lambda f: (out[f], f != "ws"))
    return {"cycles": out[best], "dataflow": best, "cycles_ws": out["ws"], "cycles_is": out["is"]}


def _sigma_rows(shape, label, dw, dx, series, trace_ok, seed=0) -> list[dict]:
    """SIGMA's rows for one shape and setting: the density path always, the trace path where it fits."""
    from ..api import build_trace, simulate_trace
    from ..arch.sigma import estimate
    M, N, K = shape
    rows = []
    for name, cfg in series:
        est = estimate(M, N, K, dw, dx, cfg.params, seed=seed)
        rows.append(_row(shape, label, dw, dx, name, "density", est.cycles, est.utilization, est.extra))
    if trace_ok:
        tr = build_trace(f"gemm:{M}x{N}x{K}", pattern="unstructured", density=dw, act_density=dx, seed=seed)
        for name, cfg in series:
            r = simulate_trace(cfg, tr)[0]
            rows.append(_row(shape, label, dw, dx, name, "trace", r["cycles"], r["utilization"], r))
    return rows


def _row(shape, label, dw, dx, series, path, cycles, util, extra) -> dict:
    M, N, K = shape
    return {"shape": _shape_name(shape), "M": M, "N": N, "K": K, "setting": label, "weight_density": dw,
            "act_density": dx, "series": series, "path": path, "cycles": float(cycles), "utilization": float(util),
            "dataflow": extra["dataflow"], "folds": int(extra["folds"]), "load_cycles": int(extra["load_cycles"]),
            "stream_cycles": int(extra["stream_cycles"]), "reduce_cycles": int(extra["reduce_cycles"]),
            "cycles_ws": int(extra["cycles_ws"]), "cycles_is": int(extra["cycles_is"])}


def run(quick: bool = False) -> dict[str, pd.DataFrame]:
    from ..arch import load_arch
    scale = QUICK_SCALE if quick else 1
    side = 32 if quick else 128
    shapes = [tuple(max(1, d // scale) for d in s) for s in SHAPES]
    series = [(f"sigma (dist_bw {bw})", load_arch("sigma", {"dpes": side, "dpe_size": side, "dist_bw": bw}))
              for bw in (side, side * side)]
    rows, base_rows = [], []
    for paper_shape, shape in zip(SHAPES, shapes):
        M, N, K = shape
        sy = systolic_cycles(M, N, K, side, side)
        dense_macs = M * N * K
        base_rows.append({"shape": _shape_name(shape), "paper_shape": _shape_name(paper_shape), "M": M, "N": N,
                          "K": K, "systolic_cycles": sy["cycles"], "systolic_dataflow": sy["dataflow"],
                          "systolic_cycles_ws": sy["cycles_ws"], "systolic_cycles_is": sy["cycles_is"],
                          "systolic_utilization": dense_macs / (side * side * sy["cycles"])})
        trace_ok = M * K + K * N <= (QUICK_TRACE_BUDGET if quick else TRACE_BUDGET)
        for label, dw, dx in SETTINGS:
            rows.extend(_sigma_rows(shape, label, dw, dx, series, trace_ok))
    sig = pd.DataFrame(rows)
    basef = pd.DataFrame(base_rows)
    sig = sig.merge(basef[["shape", "paper_shape", "systolic_cycles", "systolic_dataflow", "systolic_utilization"]],
                    on="shape")
    sig["speedup"] = sig["systolic_cycles"] / sig["cycles"].where(sig["cycles"] > 0, np.nan)
    # one row per (shape, setting, series): the trace path where it ran, else the density path
    best = sig.sort_values("path", key=lambda s: s.map({"trace": 0, "density": 1})) \
              .drop_duplicates(["shape", "setting", "series"]).sort_index()
    summary = best.groupby(["series", "setting"], sort=False).agg(
        shapes=("shape", "size"), mean_speedup=("speedup", "mean"),
        geomean_speedup=("speedup", lambda s: float(np.exp(np.log(s).mean()))),
        mean_utilization=("utilization", "mean"), mean_systolic_utilization=("systolic_utilization", "mean"),
    ).reset_index()
    both = sig.pivot_table(index=["shape", "setting", "series"], columns="path", values="cycles")
    both = both.reindex(columns=["density", "trace"]).dropna().reset_index()
    both["rel_diff"] = (both["density"] - both["trace"]) / both["trace"]
    # tiny GEMMs (a few folds of a few vectors) differ by sampling noise alone; report the rest apart
    big = both[both["trace"] >= 1000]
    agreement = pd.DataFrame({"pairs": [len(both)], "median_abs_rel_diff": [float(both["rel_diff"].abs().median())],
                              "max_abs_rel_diff": [float(both["rel_diff"].abs().max())],
                              "pairs_over_1000_cycles": [len(big)],
                              "max_abs_rel_diff_over_1000_cycles": [float(big["rel_diff"].abs().max())
                                                                    if len(big) else float("nan")]})
    return {"sigma_vs_systolic": sig, "summary": summary, "systolic": basef, "path_agreement": agreement,
            "path_pairs": both}


def plot(frames: dict[str, pd.DataFrame], outdir: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    sig = frames["sigma_vs_systolic"]
    best = sig.sort_values("path", key=lambda s: s.map({"trace": 0, "density": 1})) \
              .drop_duplicates(["shape", "setting", "series"])
    shapes = list(dict.fromkeys(sig["shape"]))
    settings = list(dict.fromkeys(sig["setting"]))
    series = list(dict.fromkeys(sig["series"]))
    paths = []
    fig, axes = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
    x = np.arange(len(shapes))
    width = 0.8 / len(settings)
    main = series[0]
    for i, st in enumerate(settings):
        d = best[(best["setting"] == st) & (best["series"] == main)].set_index("shape").reindex(shapes)
        axes[0].bar(x + (i - (len(settings) - 1) / 2) * width, d["speedup"], width, label=st)
        axes[1].bar(x + (i - (len(settings) - 1) / 2) * width, d["utilization"], width, label=f"SIGMA {st}")
    sysu = frames["systolic"].set_index("shape").reindex(shapes)["systolic_utilization"]
    axes[1].plot(x, sysu, "k_", markersize=22, mew=2.5, label="systolic (dense)")
    axes[0].axhline(1.0, color="k", lw=0.8)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("speedup over systolic (x)")
    axes[0].set_title(f"SIGMA vs TPU-like systolic array, same multipliers ({main})")
    axes[0].legend(ncol=len(settings), fontsize=8)
    axes[1].set_ylabel("utilization (useful MACs / multiplier-cycles)")
    axes[1].set_ylim(0, 1.05)
    axes[1].legend(ncol=3, fontsize=8)
    axes[1].set_xticks(x)
    axes[1].set_xticklabels(shapes, rotation=30, ha="right", fontsize=8)
    axes[1].set_xlabel("GEMM M-N-K")
    paths += save_figure(fig, outdir, "sigma_speedup_utilization")

    fig, ax = plt.subplots(figsize=(12, 4.5))
    d = best[(best["setting"] == "dense") & (best["series"] == main)].set_index("shape").reindex(shapes)
    bottom = np.zeros(len(shapes))
    for col, lab in (("load_cycles", "stationary load"), ("stream_cycles", "streaming"),
                     ("reduce_cycles", "FAN reduction")):
        frac = (d[col] / d["cycles"]).to_numpy()
        ax.bar(x, frac, bottom=bottom, label=lab)
        bottom += frac
    ax.set_xticks(x)
    ax.set_xticklabels(shapes, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("fraction of SIGMA cycles")
    ax.set_xlabel("GEMM M-N-K")
    ax.set_title(f"SIGMA time breakdown, dense GEMMs ({main})")
    ax.legend(fontsize=8)
    paths += save_figure(fig, outdir, "sigma_breakdown")
    return paths
