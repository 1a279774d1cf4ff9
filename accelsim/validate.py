"""``accelsim validate``: published results reproduced, with the error of each.

Each model ships ``accelsim/validation/<model>.py`` with ``cases()``: dicts of
``model, quantity, published, accelsim, unit, tolerance_pct, source, source_kind,
category``. This module collects them, computes the error and flags every quantity
whose error exceeds its stated tolerance. Nothing is hidden: a module that fails to
run appears as a flagged row with its error.

``source_kind`` says how the published number was read, and fixes the tightest
tolerance it may have (:data:`MIN_TOLERANCE_PCT`): a figure read by eye never gets a
tighter tolerance than its reading. ``category`` says what the number is
(:data:`CATEGORIES`); the headline summary is over ``performance`` and ``energy``.
"""
from __future__ import annotations

import importlib
import math
import os
import pkgutil
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from . import validation
from .errors import AccelsimError
from .paths import reports_dir
from .table import render

COLUMNS = ["model", "quantity", "published", "accelsim", "unit", "error_pct", "tolerance_pct", "ok", "source",
           "source_kind", "category"]

#: How a published number was read -> the tightest tolerance (%) a case may state for it.
MIN_TOLERANCE_PCT = {
    "exact": 0.0,       # another simulator's output, reproduced to the cycle (SCALE-Sim)
    "identity": 0.0,    # arithmetic from stated parameters (peak rate = units x clock)
    "text": 2.0,        # a number printed in the paper's text, read verbatim
    "table": 2.0,       # a number printed in a table
    "figure": 10.0,     # read by eye off a plot or bar chart
    "secondary": 15.0,  # through a secondary source (a survey, a vendor blog, a summary)
}
#: What a quantity is: the headline ("performance", "energy") and the rest.
CATEGORIES = ("performance", "energy", "area", "storage", "identity", "reference", "worked_example")


def error_pct(published: float, value: float) -> float:
    """Signed relative error in percent; for a published zero, the absolute difference x 100."""
    if published == 0:
        return float(value) * 100.0
    return (float(value) - float(published)) / abs(float(published)) * 100.0


def validation_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(validation.__path__) if not m.name.startswith("_"))


def module_cases(name: str) -> list[dict]:
    """The cases of one validation module; a module that fails is one flagged row with its error."""
    try:
        mod = importlib.import_module(f"{validation.__name__}.{name}")
        return [dict(c) for c in mod.cases()]
    except Exception as e:  # noqa: BLE001 - a broken module is reported, not hidden
        return [{"model": name, "quantity": "(validation module failed)", "published": math.nan,
                 "accelsim": math.nan, "unit": "", "tolerance_pct": 0.0,
                 "source": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}]


def collect(modules: list[str] | None = None, workers: int | None = None) -> pd.DataFrame:
    """Every module's cases (modules run in parallel processes when *workers* > 1)."""
    names = modules or validation_modules()
    workers = workers if workers is not None else min(len(names), os.cpu_count() or 1)
    if workers > 1 and len(names) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            per = list(pool.map(module_cases, names))
    else:
        per = [module_cases(n) for n in names]
    rows = [{**r, "module": name} for name, rs in zip(names, per) for r in rs]
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=COLUMNS)
    df["error_pct"] = [error_pct(p, a) if (p == p and a == a) else math.nan
                       for p, a in zip(df["published"], df["accelsim"])]
    for col in ("source_kind", "category"):
        if col not in df.columns:
            df[col] = None
    df["source_kind"] = df["source_kind"].fillna("unstated")
    df["category"] = df["category"].fillna("unstated")
    df["ok"] = [bool(abs(e) <= t) if e == e else False for e, t in zip(df["error_pct"], df["tolerance_pct"])]
    too_tight = [t < MIN_TOLERANCE_PCT.get(k, 0.0) for k, t in zip(df["source_kind"], df["tolerance_pct"])]
    # a row must say how its number was read and what it is: without both, its tolerance means nothing
    unstated = [k not in MIN_TOLERANCE_PCT or c not in CATEGORIES
                for k, c in zip(df["source_kind"], df["category"])]
    df.loc[too_tight, "ok"] = False
    df.loc[unstated, "ok"] = False
    df["note"] = [f"source kind '{k}' or category '{c}' missing or unknown" if un else
                  ("tolerance tighter than a '" + k + "' source allows" if bad else "")
                  for k, c, bad, un in zip(df["source_kind"], df["category"], too_tight, unstated)]
    return df[[c for c in COLUMNS if c in df.columns] + [c for c in df.columns if c not in COLUMNS]]


def headline(df: pd.DataFrame) -> dict:
    """Median and worst |error| over the published performance and energy quantities, and the flag count."""
    pe = df[df["category"].isin(["performance", "energy"])]
    err = pe["error_pct"].abs()
    return {"quantities": int(len(pe)), "median_abs_error_pct": float(err.median()) if len(pe) else math.nan,
            "max_abs_error_pct": float(err.max()) if len(pe) else math.nan,
            "flagged": int((~pe["ok"]).sum())}


def markdown(df: pd.DataFrame) -> str:
    lines = ["| model | quantity | published | accelsim | error % | tolerance % | source |",
             "|---|---|---|---|---|---|---|"]
    for r in df.itertuples(index=False):
        flag = "" if r.ok else " **FLAG**"
        lines.append(f"| {r.model} | {r.quantity} | {r.published:.4g} {r.unit} | {r.accelsim:.4g} {r.unit} | "
                     f"{r.error_pct:+.1f}{flag} | {r.tolerance_pct:g} | {r.source} |")
    return "\n".join(lines)


def condensed(df: pd.DataFrame, max_per_source: int = 6) -> pd.DataFrame:
    """The table with long runs of like cases (e.g. 195 SCALE-Sim layers) folded into one summary row each."""
    rows = []
    for (model, source), g in df.groupby(["model", "source"], sort=False):
        if len(g) <= max_per_source:
            rows += g.to_dict("records")
            continue
        worst = g.loc[g["error_pct"].abs().idxmax()]
        rows.append({"model": model, "quantity": f"{len(g)} cases ({int(g['ok'].sum())} within tolerance); "
                     f"worst: {worst['quantity']}", "published": worst["published"], "accelsim": worst["accelsim"],
                     "unit": worst["unit"], "error_pct": worst["error_pct"], "tolerance_pct": worst["tolerance_pct"],
                     "ok": bool(g["ok"].all()), "source": source})
    return pd.DataFrame(rows)


#: where the figure stops drawing an error (a point beyond is drawn at the edge as a triangle)
FIGURE_CLIP_PCT = 100.0
#: the marker of each source kind in the figure
KIND_MARKERS = {"text": "o", "table": "s", "figure": "^", "secondary": "D", "exact": "P", "identity": "X"}


def figure(df: pd.DataFrame, categories=("performance", "energy")):
    """A forest plot of the published *categories*: one row per quantity, grouped by model, its signed error
    (a dot; a triangle at the edge beyond +-FIGURE_CLIP_PCT) over its tolerance band (grey). Flagged rows are
    vermillion, the rest blue; the marker says how the published number was read. Returns ``(fig, ax)``."""
    from .report.plots import PALETTE
    import matplotlib.pyplot as plt
    rows = df[df["category"].isin(categories)].sort_values(["model"], kind="stable").reset_index(drop=True)
    if rows.empty:
        raise AccelsimError(f"no validation rows in categories {', '.join(categories)}")
    n = len(rows)
    fig, ax = plt.subplots(figsize=(7.16, 1.7 + 0.118 * n))
    y = np.arange(n)[::-1]
    lim = FIGURE_CLIP_PCT
    ax.barh(y, 2 * np.minimum(rows["tolerance_pct"], lim), left=-np.minimum(rows["tolerance_pct"], lim),
            height=0.7, color="0.88", edgecolor="none", zorder=1)
    ax.axvline(0.0, color="0.3", lw=0.6, zorder=2)
    err = rows["error_pct"].to_numpy(float)
    for kind, marker in KIND_MARKERS.items():
        for ok, color in ((True, PALETTE[0]), (False, PALETTE[3])):
            m = ((rows["source_kind"] == kind) & (rows["ok"] == ok)).to_numpy()
            inside = m & (np.abs(err) <= lim)
            ax.scatter(err[inside], y[inside], marker=marker, s=14, color=color, zorder=3, linewidths=0)
            out = m & (np.abs(err) > lim)
            for e, yy in zip(err[out], y[out]):
                ax.scatter([np.sign(e) * lim], [yy], marker=">" if e > 0 else "<", s=22, color=color, zorder=3)
                ax.annotate(f"{e:+.0f}%", (np.sign(e) * lim, yy), xytext=(-4 if e > 0 else 4, 0),
                            textcoords="offset points", ha="right" if e > 0 else "left", va="center",
                            fontsize=5.5, color=color)
    labels = [q if len(q) <= 70 else q[:67] + "..." for q in rows["quantity"]]
    ax.set_yticks(y, labels, fontsize=5.5)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(-lim * 1.04, lim * 1.04)
    ax.set_xlabel("accelsim against the published value (signed error, %)\ngrey: the tolerance fixed for the row")
    ax.grid(axis="y", visible=False)
    # model groups: a rule between groups and the model's name at the right
    models = rows["model"].to_numpy()
    starts = [0] + [i for i in range(1, n) if models[i] != models[i - 1]] + [n]
    for a, b in zip(starts, starts[1:]):
        if a:
            ax.axhline(n - a - 0.5, color="0.6", lw=0.5)
        ax.text(1.01, 1 - (a + b) / 2 / n, models[a], transform=ax.transAxes, va="center", ha="left",
                fontsize=6.5)
    h = headline(rows)
    fig.suptitle(f"{h['quantities']} published {' and '.join(categories)} quantities: median |error| "
                 f"{h['median_abs_error_pct']:.1f}%,\n{h['flagged']} outside their tolerance (vermillion)",
                 fontsize=7.5)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], ls="", marker=m, color="0.3", markersize=4, label=k) for k, m in KIND_MARKERS.items()
               if (rows["source_kind"] == k).any()]
    ax.legend(handles=handles, title="published number read from", loc="lower center", bbox_to_anchor=(0.5, 1.0),
              fontsize=5.5, title_fontsize=5.5, ncol=len(handles))
    return fig, ax


def write_figure(df: pd.DataFrame, outdir: Path, name: str = "validation", formats=None) -> list[Path]:
    """The forest plot as NAME.png/.svg/.pdf (or *formats*) in *outdir*, PNG first; none (``[]``) when *df*
    has no performance or energy row to draw (a module of reference rows only, e.g. ``systolic``)."""
    from .report.plots import save_figure, styled
    if not df["category"].isin(("performance", "energy")).any():
        return []
    with styled(formats=formats):
        fig, _ = figure(df)
        return save_figure(fig, outdir, name, "Each published performance and energy quantity: accelsim's signed "
                           "error over the tolerance fixed by how the number was read.")


def summary(df: pd.DataFrame) -> str:
    """One sentence: how many rows, how many flagged, and the headline over the performance and energy rows."""
    h = headline(df)
    line = f"{len(df)} quantities, {int((~df['ok']).sum())} outside tolerance (flagged)"
    if h["quantities"]:
        line += (f". Published performance and energy: {h['quantities']} quantities, median |error| "
                 f"{h['median_abs_error_pct']:.1f}%, worst {h['max_abs_error_pct']:.1f}%, {h['flagged']} flagged")
    return line


def select_models(wanted: list[str], workers: int | None = None) -> pd.DataFrame:
    """The rows of the validation modules named *wanted* (``scnn`` brings its DCNN rows), with the area rows of
    the models they cover; an unknown name is a user error naming the choices."""
    mods = validation_modules()
    bad = [w for w in wanted if w not in mods or w == "area"]
    if bad:
        raise AccelsimError(f"no validation module '{bad[0]}' (choose from "
                            f"{', '.join(m for m in mods if m != 'area')})")
    df = collect(list(dict.fromkeys([*wanted, "area"])), workers)
    own = df[df["module"].isin(wanted)]
    return df[df["module"].isin(wanted) | (df["module"].eq("area") & df["model"].isin(set(own["model"])))]


def cli(args) -> None:
    df = select_models(args.models) if getattr(args, "models", None) else collect()
    if df.empty:
        raise AccelsimError("no validation cases found")
    out = Path(args.output) if args.output else reports_dir() / "validation"
    out.mkdir(parents=True, exist_ok=True)
    public = df.drop(columns=[c for c in ("traceback",) if c in df.columns])
    public.to_csv(out / "validation.csv", index=False)
    (out / "validation.md").write_text(markdown(public) + "\n")
    (out / "validation_summary.md").write_text(markdown(condensed(public)) + "\n")
    drawn = write_figure(public, out)
    if args.json:
        from .io import rows_json
        sys.stdout.write(rows_json(public) + "\n")
    else:
        print(render(public, ["model", "quantity", "published", "accelsim", "unit", "error_pct", "tolerance_pct",
                              "ok"], max_rows=500))
        print(f"\n{summary(public)}. Written to {out}/validation.csv, validation.md"
              + (" and validation.png" if drawn else ""), file=sys.stderr)
