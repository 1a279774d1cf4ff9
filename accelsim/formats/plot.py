"""Storage against sparsity: one curve per format, and a strip showing which format wins where.

Takes the long rows of :func:`accelsim.formats.compare.compare_shape` (many
densities of one shape: curves) or :func:`compare_formats` (one point per
layer: markers). Bits per element on a log axis against sparsity on a logit
axis, which spreads out both ends: the dense end where bitmap overtakes
dense, and the extreme end where coordinates overtake run lengths.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AccelsimError


def _style(i: int):
    import matplotlib.pyplot as plt
    colors = plt.get_cmap("tab20").colors
    return colors[(2 * i) % 20 if i < 10 else (2 * i + 1) % 20], ("-", "--", "-.", ":")[i % 4]


def plot_storage(df: pd.DataFrame, path, title: str = "", exact: pd.DataFrame | None = None) -> Path:
    """Write the plot of *df* (long rows) to *path* (PNG or SVG); *exact* adds measured points."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise AccelsimError(f"plot '{path}': use a .png, .svg or .pdf file")
    data = df[df["total_bits"].notna() & (df["density"] > 0)].copy()
    if data.empty:
        raise AccelsimError("nothing to plot: no format could store these tensors at a density above 0")
    formats = list(dict.fromkeys(df["format"]))
    curves = data["layer"].nunique() == 1 and data["density"].nunique() > 2
    lo_s, hi_s = 1e-3, 1 - 1e-7   # the logit axis cannot show 0 or 1
    data["x"] = data["sparsity"].clip(lo_s, hi_s)
    fig, (ax, strip) = plt.subplots(2, 1, figsize=(9, 6.2), sharex=True,
                                    gridspec_kw={"height_ratios": [9, 1], "hspace": 0.06})
    color = {}
    for i, f in enumerate(formats):
        c, ls = _style(i)
        color[f] = c
        d = data[data["format"] == f].sort_values("x")
        if d.empty:
            continue
        if curves:
            ax.plot(d["x"], d["bits_per_element"], ls, color=c, lw=1.8, label=f)
        else:
            ax.plot(d["x"], d["bits_per_element"], "o", color=c, ms=5, alpha=0.8, label=f)
        if exact is not None:
            e = exact[(exact["format"] == f) & exact["total_bits"].notna() & (exact["density"] > 0)]
            ax.plot(e["sparsity"].clip(lo_s, hi_s), e["bits_per_element"], "x", color=c, ms=6)
    ax.set_xscale("logit")
    ax.set_yscale("log")
    ax.set_ylabel("storage (bits per tensor element)")
    ax.grid(True, which="both", alpha=0.25)
    if exact is not None:
        ax.plot([], [], "x", color="k", label="exact encodings")
    ax.legend(ncol=2, fontsize=8, loc="lower left", frameon=False)
    ax.set_title(title or "storage against sparsity")

    # the winner at each density (curves), or of each layer (points)
    best = data[data["best"]].drop_duplicates(["layer", "density"]).sort_values("x")
    xs = best["x"].to_numpy()
    if curves and xs.size > 1:
        logit = np.log(xs / (1 - xs))
        edges = 1 / (1 + np.exp(-(logit[1:] + logit[:-1]) / 2))   # midpoints on the logit axis
        lo = np.concatenate(([xs[0]], edges))
        hi = np.concatenate((edges, [xs[-1]]))
        for (_, r), a, b in zip(best.iterrows(), lo, hi):
            strip.axvspan(a, b, color=color[r["format"]], lw=0)
        # name each winning run once, in its middle
        runs = (best["format"] != best["format"].shift()).cumsum().to_numpy()
        for k in np.unique(runs):
            idx = np.flatnonzero(runs == k)
            a, b = np.log(lo[idx[0]] / (1 - lo[idx[0]])), np.log(hi[idx[-1]] / (1 - hi[idx[-1]]))
            strip.text(1 / (1 + np.exp(-(a + b) / 2)), 0.5, best["format"].iloc[idx[0]], ha="center",
                       va="center", fontsize=7, rotation=90 if b - a < 0.8 else 0)
    else:
        for _, r in best.iterrows():
            strip.plot(r["x"], 0.5, "s", color=color[r["format"]], ms=7)
    strip.set_yticks([])
    strip.set_ylabel("best", rotation=0, ha="right", va="center")
    strip.set_xlabel("sparsity (fraction of zeros, logit scale)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
