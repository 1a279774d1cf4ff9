"""Co-design plots from result tables. Each function takes a DataFrame and a directory, writes PNG and SVG,
and returns the paths it wrote (empty when the table lacks what the plot needs).
"""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..results import network_totals  # noqa: E402

DENSE_BASELINES = ("systolic", "dcnn")
_MARKERS = ("o", "s", "^", "D", "v", "P")


def _style(i: int) -> dict:
    """Colour and marker of the i-th series: ten colours, then the markers change, so 60 series stay apart."""
    return {"color": plt.cm.tab10.colors[i % 10], "marker": _MARKERS[(i // 10) % len(_MARKERS)]}


def front_indices(x, y) -> list[int]:
    """Indices of the points no other point beats in both *x* and *y* (both minimized), in order of *x*."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    out, best = [], np.inf
    for i in np.lexsort((y, x)):
        if y[i] < best:
            out.append(int(i))
            best = y[i]
    return out


def save_figure(fig, outdir: Path, name: str) -> list[Path]:
    """Write *fig* as NAME.png and NAME.svg in *outdir* and close it; the PNG path comes first."""
    outdir.mkdir(parents=True, exist_ok=True)
    paths = [outdir / f"{name}.png", outdir / f"{name}.svg"]
    fig.tight_layout()
    fig.savefig(paths[0], dpi=110)
    fig.savefig(paths[1])
    plt.close(fig)
    return paths


def _label_col(df: pd.DataFrame) -> str:
    return "arch_label" if "arch_label" in df.columns else "config"


def _density_col(df: pd.DataFrame) -> str:
    if "sweep_density" in df.columns and df["sweep_density"].notna().any():
        return "sweep_density"
    return "weight_density"


def _totals(df: pd.DataFrame) -> pd.DataFrame:
    lab = _label_col(df)
    dcol = _density_col(df)
    extra = [c for c in (lab, "sweep_density", "sweep_act_density", "seed", "profile") if c in df.columns and c not in
             ("config",)]
    tot = network_totals(df, by=extra)
    if dcol == "weight_density":
        w = df.assign(_w=df["weight_density"] * df["macs_dense"])
        keys = [k for k in ["arch", "config", "workload", "pattern"] + extra if k in df.columns]
        dens = w.groupby(keys, sort=False, dropna=False).apply(lambda g: g["_w"].sum() / g["macs_dense"].sum(),
                                                               include_groups=False)
        tot = tot.merge(dens.rename("weight_density").reset_index(), on=keys, how="left")
    return tot


def latency_energy_vs_density(df: pd.DataFrame, outdir: Path) -> list[Path]:
    """Network latency and energy against weight density, one line per architecture (dense baselines dashed)."""
    tot = _totals(df)
    lab, dcol = _label_col(df), _density_col(df)
    if tot[dcol].nunique() < 2:
        return []
    paths = []
    for wl, g in tot.groupby("workload"):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for i, (name, gg) in enumerate(g.groupby(lab)):
            gg = gg.groupby(dcol)[["latency_s", "energy_pj"]].mean().reset_index().sort_values(dcol)
            dense = any(str(name).startswith(b) for b in DENSE_BASELINES)
            style = dict(_style(i), ls="--" if dense else "-")
            axes[0].plot(gg[dcol], gg["latency_s"] * 1e3, label=str(name), **style)
            axes[1].plot(gg[dcol], gg["energy_pj"] * 1e-6, label=str(name), **style)
        for ax, yl in zip(axes, ("latency (ms)", "energy (uJ)")):
            ax.set_xlabel("weight density")
            ax.set_ylabel(yl)
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
        axes[0].set_title(f"{wl}: latency vs weight density")
        axes[1].set_title(f"{wl}: energy vs weight density")
        axes[1].legend(fontsize=7, loc="best")
        paths += save_figure(fig, outdir, f"latency_energy_vs_density_{wl}")
    return paths


def speedup_over_dense(df: pd.DataFrame, outdir: Path) -> list[Path]:
    """Speedup of every architecture over the dense baseline at the same density (or over itself at density 1)."""
    tot = _totals(df)
    lab, dcol = _label_col(df), _density_col(df)
    paths = []
    for wl, g in tot.groupby("workload"):
        base = g[g["arch"].isin(DENSE_BASELINES)]
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        plotted = False
        for i, (name, gg) in enumerate(g.groupby(lab)):
            gg = gg.groupby(dcol)["latency_s"].mean().reset_index().sort_values(dcol)
            if not base.empty:
                ref = base.groupby(dcol)["latency_s"].min()
                sp = ref.reindex(gg[dcol]).values / gg["latency_s"].values
                ylabel = "speedup over best dense baseline (x)"
            elif (gg[dcol] == 1.0).any():
                ref = float(gg.loc[gg[dcol] == 1.0, "latency_s"].iloc[0])
                sp = ref / gg["latency_s"].values
                ylabel = "speedup over the same design at density 1 (x)"
            else:
                continue
            ax.plot(gg[dcol], sp, label=str(name), **_style(i))
            plotted = True
        if not plotted:
            plt.close(fig)
            continue
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xlabel("weight density")
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        ax.set_title(f"{wl}: speedup")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        paths += save_figure(fig, outdir, f"speedup_{wl}")
    return paths


def pareto_front(df: pd.DataFrame, outdir: Path) -> list[Path]:
    """Latency vs energy of every configuration point, with the Pareto-optimal ones joined."""
    tot = _totals(df)
    lab = _label_col(df)
    paths = []
    for wl, g in tot.groupby("workload"):
        if len(g) < 2:
            continue
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        for i, (name, gg) in enumerate(g.groupby(lab)):
            ax.scatter(gg["latency_s"] * 1e3, gg["energy_pj"] * 1e-6, s=18, label=str(name), **_style(i))
        pts = g[["latency_s", "energy_pj"]].to_numpy()
        f = pts[front_indices(pts[:, 0], pts[:, 1])]
        ax.plot(f[:, 0] * 1e3, f[:, 1] * 1e-6, "k-", lw=1, label="Pareto front")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("latency (ms)")
        ax.set_ylabel("energy (uJ)")
        ax.set_title(f"{wl}: latency-energy trade-off")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        paths += save_figure(fig, outdir, f"pareto_{wl}")
    return paths


def roofline(df: pd.DataFrame, outdir: Path) -> list[Path]:
    """Per-layer attained MAC rate against operational intensity (dense MACs per DRAM byte)."""
    d = df[(df["dram_bytes"] > 0) & (df["latency_s"] > 0)]
    if d.empty:
        return []
    lab = _label_col(d)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for i, (name, g) in enumerate(d.groupby(lab)):
        ax.scatter(g["macs_dense"] / g["dram_bytes"], g["macs_dense"] / g["latency_s"] / 1e9, s=14, label=str(name),
                   **_style(i))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (dense MACs / DRAM byte)")
    ax.set_ylabel("effective throughput (dense GMAC/s)")
    ax.set_title("roofline view, one point per layer")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return save_figure(fig, outdir, "roofline")


def cycle_losses(df: pd.DataFrame, outdir: Path) -> list[Path]:
    """Where each design loses its cycles: busy, stall, and the model's own loss categories."""
    lab = _label_col(df)
    loss_cols = sorted(c for c in df.columns if c.startswith("loss_") and c.endswith("_cycles"))
    g = df.groupby(lab)
    comp = g["compute_cycles"].sum()
    parts = {"stall (memory)": g["stall_cycles"].sum()}
    for c in loss_cols:
        parts[c[5:-7].replace("_", " ")] = df[c].fillna(0).groupby(df[lab]).sum()
    losses = sum(parts[k] for k in parts if k != "stall (memory)") if loss_cols else 0
    parts = {"busy": (comp - losses).clip(lower=0), **parts}
    frame = pd.DataFrame(parts).fillna(0)
    if frame.empty:
        return []
    frame = frame.div(frame.sum(axis=1).where(lambda s: s > 0, 1), axis=0)
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(frame) + 2))
    left = np.zeros(len(frame))
    for col in frame.columns:
        ax.barh(frame.index.astype(str), frame[col], left=left, label=col)
        left += frame[col].values
    ax.set_xlabel("fraction of cycles")
    ax.set_title("where the cycles go")
    ax.legend(fontsize=7, loc="lower right")
    return save_figure(fig, outdir, "cycle_losses")


def load_balance_heatmap(df: pd.DataFrame, outdir: Path) -> list[Path]:
    """Per-PE busy cycles (normalized to the busiest PE) per layer, for models that report them."""
    if "pe_busy" not in df.columns:
        return []
    paths = []
    lab = _label_col(df)
    d = df[df["pe_busy"].notna()]
    for name, g in d.groupby(lab):
        rows, labels = [], []
        for _, r in g.iterrows():
            v = r["pe_busy"]
            if isinstance(v, str):
                v = json.loads(v)
            v = np.asarray(v, dtype=float)
            if v.size < 2 or v.max() <= 0:
                continue
            rows.append(v / v.max())
            labels.append(str(r["layer"]))
        if not rows or len({len(r) for r in rows}) != 1:
            continue
        rows = rows[:40]
        labels = labels[:40]
        fig, ax = plt.subplots(figsize=(8, 0.3 * len(rows) + 1.8))
        im = ax.imshow(np.vstack(rows), aspect="auto", cmap="viridis", vmin=0, vmax=1)
        ax.set_yticks(range(len(labels)))
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_xlabel("PE")
        ax.set_title(f"{name}: per-PE busy cycles / busiest PE")
        fig.colorbar(im, ax=ax, label="relative busy time")
        paths += save_figure(fig, outdir, f"load_balance_{str(name).replace('/', '_')}")
    return paths


def storage_vs_sparsity(fmt_df: pd.DataFrame, outdir: Path, name: str = "storage_vs_sparsity") -> list[Path]:
    """Bits per format against sparsity (from a format comparison over densities)."""
    if fmt_df.empty or "density" not in fmt_df.columns:
        return []
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for i, (f, g) in enumerate(fmt_df.groupby("format")):
        g = g.groupby("density")["total_bits"].sum().reset_index().sort_values("density")
        ax.plot(1 - g["density"], g["total_bits"] / 8 / 2**20, ms=3, label=str(f), **_style(i))
    ax.set_xlabel("sparsity (fraction of zeros)")
    ax.set_ylabel("storage (MiB)")
    ax.set_yscale("log")
    ax.set_title("storage against sparsity, per format")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return save_figure(fig, outdir, name)


def best_format_per_layer(fmt_df: pd.DataFrame, outdir: Path) -> list[Path]:
    """Storage of each format relative to dense, per layer; the best one marked."""
    if fmt_df.empty or "layer" not in fmt_df.columns:
        return []
    piv = fmt_df.pivot_table(index="layer", columns="format", values="total_bits", aggfunc="sum", sort=False)
    if "dense" in piv.columns:
        piv = piv.div(piv["dense"], axis=0)
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(piv) + 3), 4.5))
    x = np.arange(len(piv))
    w = 0.8 / max(len(piv.columns), 1)
    for i, c in enumerate(piv.columns):
        ax.bar(x + i * w, piv[c].values, w, label=str(c))
    best = piv.idxmin(axis=1)
    for j, (layer, f) in enumerate(best.items()):
        ax.text(x[j] + 0.4, piv.loc[layer, f], "*", ha="center", va="bottom")
    ax.set_xticks(x + 0.4)
    ax.set_xticklabels(piv.index, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("storage / dense storage")
    ax.set_title("storage per format and layer (* best)")
    ax.legend(fontsize=6, ncol=2)
    return save_figure(fig, outdir, "best_format_per_layer")


def fidelity_front(df: pd.DataFrame, outdir: Path) -> list[Path]:
    """Latency and energy against fidelity (traces that carry it: real-model captures), Pareto points joined."""
    if "fidelity" not in df.columns or df["fidelity"].isna().all():
        return []
    lab = _label_col(df)
    keys = [k for k in ("workload", "pattern", "sweep_density", lab) if k in df.columns]
    tot = df.groupby(keys, dropna=False).agg(latency_s=("latency_s", "sum"), energy_pj=("energy_pj", "sum"),
                                            fidelity=("fidelity", "first")).reset_index()
    metric = {}
    if "fidelity_metric" in df.columns:
        metric = df.dropna(subset=["fidelity_metric"]).groupby("workload")["fidelity_metric"].first().to_dict()
    paths = []
    for wl, g in tot.groupby("workload"):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for ax, col, unit, scale in ((axes[0], "latency_s", "latency (ms)", 1e3), (axes[1], "energy_pj",
                                                                                    "energy (uJ)", 1e-6)):
            for i, (name, gg) in enumerate(g.groupby(lab)):
                ax.scatter(gg["fidelity"], gg[col] * scale, s=22, label=str(name), **_style(i))
                f = gg.iloc[front_indices(-gg["fidelity"].to_numpy(), gg[col].to_numpy())]   # high fidelity, low cost
                if len(f) > 1:
                    ax.plot(f["fidelity"], f[col] * scale, lw=0.8, color=_style(i)["color"])
            ax.set_xlabel(f"fidelity ({metric.get(wl, 'against the dense model')})")
            ax.set_ylabel(unit)
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
        axes[0].set_title(f"{wl}: latency against fidelity")
        axes[1].set_title(f"{wl}: energy against fidelity")
        axes[1].legend(fontsize=7)
        paths += save_figure(fig, outdir, f"fidelity_front_{str(wl).replace(':', '_')}")
    return paths


RESULT_PLOTS = {"density": latency_energy_vs_density, "speedup": speedup_over_dense, "pareto": pareto_front,
                "roofline": roofline, "losses": cycle_losses, "balance": load_balance_heatmap,
                "fidelity": fidelity_front}


def plot_results(df: pd.DataFrame, outdir: Path, kinds: list[str] | None = None) -> list[Path]:
    paths = []
    for k, fn in RESULT_PLOTS.items():
        if kinds and k not in kinds:
            continue
        paths += fn(df, outdir)
    return paths
