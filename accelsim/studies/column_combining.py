"""Column combining co-design: packed columns, packing density, output error and speedup against alpha, gamma, density.

The co-design space of Kung, McDanel and Zhang (ASPLOS 2019, Sec. 3 and 5):
how many columns may be combined (``alpha``), how many weights a group's
conflicts may prune (``gamma`` x the layer's filters; 1.75 is the authors'
later training default), and how sparse the layer is. Each point packs one layer's pruned filter matrix (magnitude pruning to
the weight density, activations 50% dense), runs it on the
``column_combining`` config (the 128 x 128 TPU-like array) and records

* packed columns as a fraction of the layer's columns (K'/K),
* packing density: nonzeros per packed cell (the paper's utilization efficiency),
* the accuracy cost without retraining: weights pruned by conflicts and the
  layer's relative output error on the trace's activations,
* speedup and energy ratio against the plain systolic array on the unpacked
  layer (same config, DRAM stalls included).

The layer is ResNet-50's ``layer3_0_conv2`` (256 filters x 256 channels x
3 x 3, 14 x 14 outputs: K = 2304). ``quick=True`` uses a 128 x 576 filter
matrix over 49 positions and a coarser grid, and runs in a few seconds.
The paper retrains after packing, which recovers most of the error shown
here; the plot shows what packing costs before retraining.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LAYER = ("resnet50", "layer3_0_conv2")
QUICK_LAYER = ("gemm:128x49x576", "gemm")
ALPHAS = [1, 2, 4, 8, 16]
GAMMAS = [0.0, 0.1, 0.25, 0.5, 1.0, 1.75]
DENSITIES = [0.05, 0.1, 0.2, 0.3, 0.5, 1.0]
QUICK_ALPHAS = [1, 2, 4, 8]
QUICK_GAMMAS = [0.0, 0.5, 1.75]
QUICK_DENSITIES = [0.1, 0.3, 1.0]
#: the slices the plots cut through the grid
PLOT_DENSITY = 0.1
PLOT_GAMMA = 0.5

COLUMNS = ["alpha", "gamma", "density", "weight_density", "unpacked_columns", "packed_columns", "packed_fraction",
           "packing_density", "unpacked_density", "weights_pruned", "weights_pruned_fraction", "output_rel_error",
           "max_group_conflicts", "conflict_bound", "cycles", "compute_cycles", "stall_cycles", "bound",
           "systolic_cycles", "speedup_vs_systolic", "energy_pj", "energy_ratio_vs_systolic", "utilization"]


def run(quick: bool = False) -> dict[str, pd.DataFrame]:
    from ..api import build_trace, simulate_trace
    from ..arch import load_arch
    workload, layer = QUICK_LAYER if quick else LAYER
    alphas = QUICK_ALPHAS if quick else ALPHAS
    gammas = QUICK_GAMMAS if quick else GAMMAS
    densities = QUICK_DENSITIES if quick else DENSITIES
    base = load_arch("column_combining")
    rows = []
    for d in densities:
        tr = build_trace(workload, layers=[layer], pattern="unstructured", density=d, act_density=0.5, seed=0)
        lt = tr.layers[0]
        nnz = int(np.count_nonzero(lt.weight))
        for a in alphas:
            for g in gammas:
                r = simulate_trace(base.with_params(alpha=a, gamma=g), tr)[0]
                r.update(density=d, packed_fraction=r["packed_columns"] / r["unpacked_columns"],
                         unpacked_density=nnz / lt.weight.size)
                rows.append({k: r[k] for k in COLUMNS})
    sweep = pd.DataFrame(rows, columns=COLUMNS)
    sweep.insert(0, "layer", f"{workload}/{layer}")
    return {"sweep": sweep}


def _nearest(values, target):
    values = sorted(set(values))
    return min(values, key=lambda v: abs(v - target))


def plot(frames: dict[str, pd.DataFrame], outdir: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    df = frames["sweep"]
    dens = _nearest(df["density"], PLOT_DENSITY)
    gam = _nearest(df["gamma"], PLOT_GAMMA)
    metrics = [("packed_fraction", "packed columns / columns"), ("packing_density", "nonzeros per packed cell"),
               ("output_rel_error", "relative output error (no retraining)"),
               ("speedup_vs_systolic", "speedup over systolic (x)")]
    slices = [("alpha", "alpha (columns per group)", "gamma", df[df["density"] == dens],
               f"weight density {dens:g}"),
              ("gamma", "gamma (pruned weights per group / filters)", "alpha", df[df["density"] == dens],
               f"weight density {dens:g}"),
              ("density", "weight density", "alpha", df[df["gamma"] == gam], f"gamma {gam:g}")]
    fig, axes = plt.subplots(len(slices), len(metrics), figsize=(4.2 * len(metrics), 3.4 * len(slices)))
    for i, (x, xlabel, series, sub, fixed) in enumerate(slices):
        for j, (m, ylabel) in enumerate(metrics):
            ax = axes[i, j]
            for key, g in sub.groupby(series):
                g = g.sort_values(x)
                ax.plot(g[x], g[m], marker="o", ms=3, label=f"{series} {key:g}")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.set_title(f"{ylabel.split(' (')[0]} vs {x} ({fixed})", fontsize=9)
            if x == "alpha":
                ax.set_xscale("log", base=2)
            ax.grid(alpha=0.3)
            if j == 0:
                ax.legend(fontsize=7)
    fig.suptitle(f"Column combining on {df['layer'].iloc[0]}: 128 x 128 array, activations 50% dense, "
                 "no retraining", fontsize=11)
    fig.tight_layout()
    path = outdir / "column_combining_sweep.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]
