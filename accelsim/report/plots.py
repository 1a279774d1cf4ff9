"""Figures from result tables, drawn as a paper prints them.

Every figure is one column wide (3.5 in) unless it needs both, uses a colour-blind-safe palette (Okabe and Ito)
with a marker and a line style per series so that lines stay apart in grey and where they overlap, puts numeric
legends in numeric order, labels each axis with its unit, gives every panel a legend and ends with a caption
line naming what is held fixed. Each figure is written as PNG (for the HTML report), SVG and PDF (vector, for a
paper); its caption sentence is stored in each file's metadata and :func:`caption_of` reads it back.

* :func:`axis_figure` is ``accelsim plot DIR --x PARAM [--series PARAM] [--y METRIC]``: a metric against any
  swept axis (a parameter, density, pattern, workload, design or layer), one line per value of the series.
* :data:`RESULT_PLOTS` are the standard figures that ``accelsim plot DIR`` and the report draw: one axis
  figure per swept axis, speedup over dense, the latency-energy front, a roofline, the cycle account and the
  energy classes of every design, per-PE load balance, fidelity fronts.

Each function takes a result DataFrame (rows of the schema, per layer) and a directory and returns the paths it
wrote, PNG first (empty when the table lacks what the figure needs).
"""
from __future__ import annotations

import json
import math
import re
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from cycler import cycler  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator  # noqa: E402

from .. import __version__  # noqa: E402
from ..errors import AccelsimError  # noqa: E402
from ..results import ENERGY_COLUMNS, LOSS_COLUMNS, LOSS_REASONS, network_totals  # noqa: E402
from ..table import pick_unit  # noqa: E402

DENSE_BASELINES = ("systolic", "dcnn")
#: Okabe and Ito, "Color universal design" (2008): told apart under every common colour-vision deficiency.
#: Yellow comes last: it is faint on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<")
LINESTYLES = ("-", "--", "-.", ":")
HATCHES = ("", "///", "...", "xxx", "\\\\\\", "+++", "ooo", "---")
COLUMN_IN = 3.5    # one column of a two-column paper (IEEE 3.5 in, ACM 3.33 in)
DOUBLE_IN = 7.16   # both columns
IMAGE_FORMATS = ("png", "svg", "pdf")
#: the most figures one call draws for the facets of an axis figure, and series per roofline panel
MAX_FIGURES = 12
MAX_SERIES = 8


@dataclass(frozen=True)
class Style:
    """How figures look: ``default`` (sans-serif, for the screen) or ``paper`` (serif at 8 pt)."""
    name: str
    family: str
    size: float
    dpi: int


STYLES = {"default": Style("default", "sans-serif", 8.0, 180), "paper": Style("paper", "serif", 9.0, 300)}
_state = {"style": STYLES["default"], "formats": IMAGE_FORMATS}


def _rc(st: Style) -> dict:
    small = st.size - 1
    return {"font.family": st.family,
            "font.serif": ["Times New Roman", "Liberation Serif", "Nimbus Roman", "STIXGeneral", "DejaVu Serif"],
            "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial"],
            "mathtext.fontset": "stix" if st.family == "serif" else "dejavusans",
            "font.size": st.size, "axes.titlesize": st.size, "axes.labelsize": st.size,
            "legend.fontsize": small, "legend.title_fontsize": small, "xtick.labelsize": small,
            "ytick.labelsize": small, "lines.linewidth": 1.1, "lines.markersize": 4.5, "axes.linewidth": 0.6,
            "xtick.major.width": 0.6, "ytick.major.width": 0.6, "xtick.minor.width": 0.4, "ytick.minor.width": 0.4,
            "axes.grid": True, "grid.linewidth": 0.4, "grid.alpha": 0.4, "axes.axisbelow": True,
            "axes.prop_cycle": cycler(color=PALETTE), "legend.frameon": False, "legend.handlelength": 2.2,
            "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "path", "svg.hashsalt": "accelsim",
            "savefig.dpi": st.dpi, "figure.dpi": 100, "image.cmap": "viridis"}


@contextmanager
def styled(style: str | Style | None = None, formats=None):
    """Draw and save inside this block with *style* (a name of :data:`STYLES`) and image *formats*.

    ``paper`` sets every text in a serif face at 8 or 9 pt (labels 9, ticks, legends and captions 8).
    """
    st = STYLES.get(style, None) if isinstance(style, str) else style
    if isinstance(style, str) and st is None:
        raise AccelsimError(f"unknown plot style '{style}' (styles: {', '.join(STYLES)})")
    st = st or _state["style"]
    fmts = _state["formats"] if formats is None else check_formats(formats)
    old = dict(_state)
    _state.update(style=st, formats=fmts)
    try:
        with plt.rc_context(_rc(st)):
            yield st
    finally:
        _state.update(old)


def check_formats(formats) -> tuple[str, ...]:
    """``"png,svg"`` or a list -> a tuple of image formats, each one of :data:`IMAGE_FORMATS`."""
    items = [f.strip().lower().lstrip(".") for f in (formats.split(",") if isinstance(formats, str) else formats)]
    items = [f for f in items if f]
    bad = [f for f in items if f not in IMAGE_FORMATS]
    if bad or not items:
        raise AccelsimError(f"image format '{bad[0] if bad else formats}' is not one of {', '.join(IMAGE_FORMATS)}")
    return tuple(dict.fromkeys(items))


def save_figure(fig, outdir: Path, name: str, caption: str | None = None, formats=None) -> list[Path]:
    """Write *fig* as NAME.png/.svg/.pdf in *outdir* (the current formats) and close it; the PNG comes first.

    The caption sentence goes into each file's metadata (PNG Description, SVG dc:description, PDF Subject).
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    fmts = sorted(formats or _state["formats"], key=lambda f: f != "png")
    if not caption:   # a figure drawn elsewhere (the studies): its titles say what it shows
        titles = [fig.get_suptitle()] + [ax.get_title() for ax in fig.axes]
        caption = "; ".join(dict.fromkeys(t.strip() for t in titles if t and t.strip()))
        caption = caption[0].upper() + caption[1:] + "." if caption else ""
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    paths = []
    for f in fmts:
        p = outdir / f"{name}.{f}"
        if f == "png":
            meta = {"Title": name, "Software": f"accelsim {__version__}", "Description": caption or ""}
        elif f == "svg":
            meta = {"Title": name, "Description": caption or "", "Date": None}
        else:
            meta = {"Title": name, "Subject": caption or "", "Creator": f"accelsim {__version__}",
                    "CreationDate": None}
        fig.savefig(p, metadata=meta, dpi=_state["style"].dpi if f == "png" else None)
        paths.append(p)
    plt.close(fig)
    return paths


def caption_of(path: Path) -> str:
    """The caption sentence stored in a PNG written by :func:`save_figure` ("" when it has none)."""
    p = Path(path)
    if p.suffix != ".png":
        p = p.with_suffix(".png")
    try:
        from PIL import Image
        with Image.open(p) as im:
            return str(getattr(im, "text", {}).get("Description", ""))
    except (OSError, ImportError):
        return ""


def front_indices(x, y) -> list[int]:
    """Indices of the points no other point beats in both *x* and *y* (both minimized), in order of *x*."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    out, best = [], np.inf
    for i in np.lexsort((y, x)):
        if y[i] < best:
            out.append(int(i))
            best = y[i]
    return out


# ---- series styles and values --------------------------------------------------------------------------------

def series_style(i: int, line: bool = True) -> dict:
    """Colour, marker and line style of the i-th series: every series differs from its neighbours in all three;
    markers shrink and alternate filled and open so that coinciding points stay visible."""
    c = PALETTE[i % len(PALETTE)]
    # past eight series the marker shifts, so series i and i + 8 share a colour but not a marker
    st = {"color": c, "marker": MARKERS[(i + i // len(PALETTE)) % len(MARKERS)], "markersize": 5.2 - 0.3 * min(i, 8),
          "markerfacecolor": c if i % 2 == 0 else "white", "markeredgecolor": c, "markeredgewidth": 0.9}
    if line:
        st["linestyle"] = LINESTYLES[(i // 2) % len(LINESTYLES)] if i else "-"
    return st


def _style(i: int) -> dict:  # the studies' old helper: colour and marker
    return {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)]}


def natural_key(v):
    """Sort key: numbers numerically (16 before 128), strings with their digit runs as numbers."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return (2, ())
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return (0, (float(v),))
    parts = re.split(r"(\d+(?:\.\d+)?)", str(v))
    return (1, tuple((0, float(p), "") if re.fullmatch(r"\d+(?:\.\d+)?", p) else (1, 0.0, p) for p in parts))


def fmt_value(v) -> str:
    """A value as a legend or caption shows it: 16, 0.5, 800 MHz stays 8e+08 only if it must."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    return str(v)


# ---- units ---------------------------------------------------------------------------------------------------

_PRETTY_UNIT = {"us": "µs", "uJ": "µJ"}


def scaled(values, family: str | None) -> tuple[float, str]:
    """(divisor, unit) that puts the median of *values* in [1, 1000) for a unit family."""
    if family is None:   # a count: thousands, millions, billions
        v = np.abs(np.asarray([x for x in values if np.isfinite(x) and x != 0], dtype=float))
        med = float(np.median(v)) if v.size else 0.0
        for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
            if med >= 10 * size:
                return size, unit
        return 1.0, ""
    if family == "js":   # energy-delay product: J s
        unit, size = pick_unit(np.asarray(values, dtype=float) * 1e12, "pj")
        return size * 1e-12, f"{_PRETTY_UNIT.get(unit, unit)}·s"
    if family == "macs":
        v = np.abs(np.asarray([x for x in values if np.isfinite(x) and x > 0], dtype=float))
        med = float(np.median(v)) if v.size else 1.0
        for unit, size in (("TMAC/s", 1e12), ("GMAC/s", 1e9), ("MMAC/s", 1e6), ("kMAC/s", 1e3)):
            if med >= size:
                return size, unit
        return 1.0, "MAC/s"
    unit, size = pick_unit(values, family)
    return size, _PRETTY_UNIT.get(unit, unit)


@dataclass(frozen=True)
class Metric:
    """A y quantity: its column in the point totals, its unit family and its label."""
    name: str
    column: str
    label: str
    family: str | None = None   # s, pj, bytes, bits, hz, js, or None (a count or a ratio)
    unit: str = ""              # a fixed unit for quantities that are not scaled (fraction, mm²)


METRICS = {
    "latency": Metric("latency", "latency_s", "latency", "s"),
    "energy": Metric("energy", "energy_pj", "energy", "pj"),
    "cycles": Metric("cycles", "cycles", "cycles"),
    "edp": Metric("edp", "edp_js", "energy-delay product", "js"),
    "utilization": Metric("utilization", "utilization", "utilization", unit="fraction of MAC slots"),
    "load_balance": Metric("load_balance", "load_balance", "load balance", unit="mean / busiest PE"),
    "dram_bytes": Metric("dram_bytes", "dram_bytes", "DRAM traffic", "bytes"),
    "sram_bytes": Metric("sram_bytes", "sram_bytes", "SRAM traffic", "bytes"),
    "area_mm2": Metric("area_mm2", "area_mm2", "area", unit="mm²"),
    "macs_performed": Metric("macs_performed", "macs_performed", "MACs performed"),
    "storage_bits": Metric("storage_bits", "storage_bits", "weight storage", "bits"),
}
_METRIC_ALIASES = {"latency_s": "latency", "energy_pj": "energy", "area": "area_mm2", "dram": "dram_bytes",
                   "edp_js": "edp"}


def metric(name: str, columns) -> Metric:
    """The :class:`Metric` named *name*: a known metric or any numeric column (its unit from its name)."""
    key = _METRIC_ALIASES.get(name, name)
    if key in METRICS:
        return METRICS[key]
    if name in columns:
        for fam in ("s", "pj", "bytes", "bits", "hz"):
            if name.endswith("_" + fam):
                return Metric(name, name, name[: -len(fam) - 1].replace("_", " "), fam)
        return Metric(name, name, name.replace("_", " "))
    raise AccelsimError(f"unknown metric '{name}' (metrics: {', '.join(METRICS)}, or a numeric column)")


#: units of the parameters of the glossary (docs/CONTRIBUTING.md) and of the shipped models
PARAM_LABELS = {
    "pes": ("processing elements", "PEs"), "fifo_depth": ("FIFO depth", "entries"),
    "rows": ("array rows", "PEs"), "cols": ("array columns", "PEs"), "sms": ("streaming multiprocessors", "SMs"),
    "dram_bytes_per_cycle": ("DRAM bandwidth", "B/cycle"), "peak_macs_per_cycle": ("peak rate", "MACs/cycle"),
    "multipliers": ("multipliers", "count"), "act_regs_per_pe": ("activation registers per PE", "entries"),
    "density": ("weight density", "fraction kept"), "act_density": ("activation density", "fraction nonzero"),
    "seed": ("seed", ""), "alpha": ("alpha", "columns per group"), "gamma": ("gamma", "conflicts allowed"),
    "dist_bw": ("distribution bandwidth", "values/cycle"), "dpes": ("Flex-DPEs", "count"),
    "dpe_size": ("multipliers per Flex-DPE", "count"),
}


def param_label(name: str, values=None) -> tuple[str, float]:
    """Axis label (with unit) and divisor for parameter *name*."""
    if name in PARAM_LABELS:
        text, unit = PARAM_LABELS[name]
        return (f"{text} ({unit})" if unit else text), 1.0
    for fam in ("bytes", "bits", "hz"):
        if name.endswith("_" + fam) and values is not None:
            size, unit = scaled([v for v in values if isinstance(v, (int, float))], fam)
            return f"{name[: -len(fam) - 1].replace('_', ' ')} ({unit})", size
    if name.endswith("_cycles"):
        return f"{name[:-7].replace('_', ' ')} (cycles)", 1.0
    return name.replace("_", " "), 1.0


# ---- from per-layer rows to per-point totals ----------------------------------------------------------------

def _label_col(df: pd.DataFrame) -> str:
    return "arch_label" if "arch_label" in df.columns else "config"


_POINT_COLS = ("sweep_density", "sweep_act_density", "profile", "seed")
_CONSTANTS = ("area_mm2", "peak_macs_per_cycle", "dram_bytes_per_s", "config_yaml")


def _hashable(v):
    if isinstance(v, (list, tuple, np.ndarray)):
        return "x".join(fmt_value(x) for x in v)
    return v


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Per-layer rows with a label column, the run's pattern on every row and hashable parameter values.

    A pruned run keeps layers it leaves whole (attention GEMMs, a first layer) under pattern ``dense``; the
    run's pattern is the one its pruned layers carry, so such layers do not split the run's totals.
    """
    d = df.copy()
    lab = _label_col(d)
    if lab not in d.columns:
        d[lab] = d["arch"] if "arch" in d.columns else "design"
    for c in [c for c in d.columns if c.startswith("param_")]:
        d[c] = d[c].map(_hashable)
    keys = ["point"] if "point" in d.columns else \
        [c for c in ("config", lab, "workload") + _POINT_COLS if c in d.columns]
    if "pattern" in d.columns and keys:
        pruned = d["pattern"].where(d["pattern"] != "dense")
        d["pattern"] = pruned.groupby([d[k] for k in keys], dropna=False, sort=False).transform("first") \
            .fillna("dense")
        pats = set(d["pattern"].dropna()) - {"dense"}
        if len(pats) == 1:   # a sweep of one pattern whose density-1 point pruned nothing: still that sweep
            d["pattern"] = pats.pop()
    d["design"] = d[lab].astype(str).str.replace(r"\[.*\]$", "", regex=True)
    return d


def point_totals(df: pd.DataFrame, per_layer: bool = False, prepared: bool = False) -> pd.DataFrame:
    """One row per configuration point (or per point and layer): network totals and the point's axes."""
    d = df if prepared else prepare(df)
    lab = _label_col(d)
    by = [c for c in (lab, "design") + _POINT_COLS if c in d.columns and c not in ("config",)]
    by += sorted(c for c in d.columns if c.startswith("param_"))
    if per_layer:
        by.append("layer")
    d = d.assign(_wd=d["weight_density"] * d["macs_dense"], _ad=d["act_density"] * d["macs_dense"])
    tot = network_totals(d, by=by)
    keys = [k for k in ["arch", "config", "workload", "pattern"] + by if k in d.columns]
    g = d.groupby(keys, sort=False, dropna=False)
    extra = pd.DataFrame({"weight_density": g["_wd"].sum() / g["macs_dense"].sum().where(lambda s: s > 0),
                          "act_density": g["_ad"].sum() / g["macs_dense"].sum().where(lambda s: s > 0)})
    for c in _CONSTANTS:
        if c in d.columns:
            extra[c] = g[c].first()
    tot = tot.merge(extra.reset_index(), on=keys, how="left")
    tot["edp_js"] = tot["energy_pj"] * 1e-12 * tot["latency_s"]
    # a point's density is the sweep's; without one, the network's MAC-weighted mean (per layer: no axis, since
    # each layer's own density is not a setting of the point)
    dens = tot["sweep_density"] if "sweep_density" in tot.columns else pd.Series(np.nan, index=tot.index)
    act = tot["sweep_act_density"] if "sweep_act_density" in tot.columns else pd.Series(np.nan, index=tot.index)
    dens, act = pd.to_numeric(dens, errors="coerce"), pd.to_numeric(act, errors="coerce")
    if not per_layer:
        dens, act = dens.fillna(tot["weight_density"].round(4)), act.fillna(tot["act_density"].round(4))
    tot["density"], tot["act_density"] = dens, act
    return tot


@dataclass
class Axis:
    """A swept axis of a result table: its name, its column in the point totals and how it is labelled."""
    name: str
    column: str
    label: str
    numeric: bool
    scale: float = 1.0

    def text(self, v) -> str:
        """A value of this axis for a legend or caption."""
        if self.numeric and isinstance(v, (int, float, np.integer, np.floating)) and not math.isnan(float(v)):
            x = float(v) / self.scale
            return fmt_value(int(x) if x.is_integer() and abs(x) < 1e15 else x)
        return fmt_value(v)


_NAMED = {"design": ("design", "design"), "arch": ("design", "design"), "pattern": ("pattern", "sparsity pattern"),
          "workload": ("workload", "workload"), "profile": ("profile", "density profile"),
          "layer": ("layer", "layer"), "config": (None, "configuration"), "label": (None, "configuration"),
          "arch_label": (None, "configuration")}
#: the order in which axes are offered as a default series, and in captions
AXIS_ORDER = ("design", "params", "pattern", "density", "act_density", "workload", "profile", "seed")


def _numeric(s: pd.Series) -> bool:
    v = s.dropna()
    return not v.empty and all(isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
                               for x in v)


def resolve_axis(tot: pd.DataFrame, name: str) -> Axis:
    """The axis called *name*: a swept parameter (``pes`` or ``param_pes``), ``density``, ``act_density``,
    ``pattern``, ``workload``, ``design``, ``config``, ``profile``, ``seed`` or ``layer``."""
    if name in _NAMED:
        col, label = _NAMED[name]
        col = col or _label_col(tot)
        if col in tot.columns:
            return Axis(name, col, label, False)
    elif name in ("density", "weight_density", "act_density"):
        col = "act_density" if name == "act_density" else "density"
        text, unit = PARAM_LABELS[col]
        return Axis(col, col, f"{text} ({unit})", True)
    else:
        p = name[6:] if name.startswith("param_") else name
        for col in (f"param_{p}", p):
            if col in tot.columns and tot[col].notna().any():
                num = _numeric(tot[col])
                label, scale = param_label(p, list(tot[col].dropna()) if num else None)
                return Axis(p, col, label, num, scale)
    raise AccelsimError(f"no axis '{name}' in these results (swept here: "
                        f"{', '.join(a.name for a in swept_axes(tot)) or 'nothing'}; also density, act_density, "
                        f"pattern, workload, design, layer)")


def candidate_axes(tot: pd.DataFrame) -> list[Axis]:
    """Every axis a point can differ in, in :data:`AXIS_ORDER`."""
    out = []
    for name in AXIS_ORDER:
        if name == "params":
            out += [resolve_axis(tot, c) for c in tot.columns if c.startswith("param_") and tot[c].notna().any()]
        elif name in ("density", "act_density") or \
                (name in tot.columns or (name in _NAMED and _NAMED[name][0] in tot.columns)):
            try:
                out.append(resolve_axis(tot, name))
            except AccelsimError:
                pass
    return out


def _nunique(tot: pd.DataFrame, col: str) -> int:
    return tot[col].map(lambda v: "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else v).nunique()


def swept_axes(tot: pd.DataFrame) -> list[Axis]:
    """The axes that take more than one value in *tot*."""
    return [a for a in candidate_axes(tot) if _nunique(tot, a.column) > 1]


def fixed_text(tot: pd.DataFrame, skip=()) -> str:
    """What every point shares: "design eie, workload eie_benchmark, pattern unstructured, seed 0"."""
    parts = []
    for a in candidate_axes(tot):
        if a.name in skip or a.column in skip:
            continue
        vals = tot[a.column].dropna().unique()
        if len(vals) == 1 and _nunique(tot, a.column) == 1:
            short = {"design": "design", "density": "weight density", "act_density": "activation density",
                     "pattern": "pattern", "workload": "workload", "profile": "profile", "seed": "seed"}
            word, text = short.get(a.name, a.name), a.text(vals[0])
            src = {"density": "sweep_density", "act_density": "sweep_act_density"}.get(a.name)
            if src and (src not in tot.columns or tot[src].isna().all()):   # not set: the layers' own, averaged
                word, text = f"mean {word}", f"{float(vals[0]):.3g}"
            parts.append(f"{word} {text}")
    return ", ".join(parts)


def _sorted_values(s: pd.Series) -> list:
    return sorted(s.drop_duplicates().tolist(), key=natural_key)


# ---- drawing helpers -----------------------------------------------------------------------------------------

def _chars_per_line(width_in: float, size: float | None = None) -> int:
    """How many characters of text *size* (pt; default the caption's) fit across *width_in* inches."""
    size = size or _state["style"].size - 1
    return max(30, int(0.95 * width_in * 72 / (size * 0.56)))


def _new_figure(n_panels: int, caption: str, width: float = COLUMN_IN, panel_h: float = 1.9,
                legend_rows: int = 1):
    """A figure of *n_panels* stacked panels and a caption row under them."""
    lines = textwrap.wrap(caption, _chars_per_line(width)) or [""]
    size = _state["style"].size
    cap_h = (len(lines) * (size - 1) * 1.35 + 4) / 72
    leg_h = legend_rows * size * 1.5 / 72 + 0.12
    fig = plt.figure(figsize=(width, n_panels * (panel_h + leg_h) + cap_h + 0.1), layout="constrained")
    gs = fig.add_gridspec(n_panels + 1, 1, height_ratios=[panel_h + leg_h] * n_panels + [cap_h])
    axes = [fig.add_subplot(gs[i, 0]) for i in range(n_panels)]
    cap = fig.add_subplot(gs[n_panels, 0])
    cap.axis("off")
    # the caption spans the figure's width, not the panel's
    cap.text(0.02, 1.0, "\n".join(lines), transform=blended_transform_factory(fig.transFigure, cap.transAxes),
             va="top", ha="left", fontsize=size - 1, color="#333333", linespacing=1.15)
    return fig, axes


def _legend(ax, title: str | None = None, width: float = COLUMN_IN, handles=None, labels=None,
            from_figure_edge: bool = False):
    """A legend above the panel (it never covers data), as many columns as the labels allow; it starts at the
    panel's left edge, or at the figure's when the panel sits right of long row labels."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    ncol = _legend_cols(labels, width)
    kw = {}
    if from_figure_edge:
        kw = {"bbox_to_anchor": (0.02, 1.01), "bbox_transform": blended_transform_factory(ax.figure.transFigure,
                                                                                          ax.transAxes)}
    else:
        kw = {"bbox_to_anchor": (0.0, 1.01, 1.0, 0.05)}
    return ax.legend(handles, labels, title=title, loc="lower left", ncol=ncol, borderaxespad=0.2,
                     columnspacing=1.0, handletextpad=0.4, alignment="left", **kw)


def _legend_cols(labels, width: float = COLUMN_IN) -> int:
    # an entry is its text, a 2.2 em handle and spacing: about 7 characters besides the text
    longest = max(len(str(l)) for l in labels)
    return max(1, min(len(labels), int(_chars_per_line(width) * 0.92) // (longest + 7)))


def _legend_rows(labels, width: float = COLUMN_IN, title: bool = True) -> int:
    if not labels:
        return 1
    return -(-len(labels) // _legend_cols(labels, width)) + (1 if title else 0)


def _tick_text(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 1e5:
        return f"{v:g}"
    return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")


def _log_ticks(axis) -> None:
    """Ticks at powers of ten (and 2 and 5 times them over three decades or less), as plain numbers."""
    lo, hi = sorted(axis.get_view_interval())
    decades = math.log10(hi / lo) if lo > 0 and hi > 0 else 10.0
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 3 else (1.0,)))
    axis.set_major_formatter(FuncFormatter(lambda x, _: _tick_text(x)))
    axis.set_minor_locator(LogLocator(base=10, subs=tuple(range(1, 10))))
    axis.set_minor_formatter(NullFormatter())


def _set_numeric_x(ax, values: list[float], fraction: bool = False) -> None:
    """Log axis (base 2 for powers of two) when the values span a factor of 8 or more (a fraction such as a
    density only below 5%); ticks at the values."""
    v = sorted({float(x) for x in values if np.isfinite(x)})
    if not v:
        return
    if v[0] > 0 and v[-1] / v[0] >= 8 and not (fraction and v[0] >= 0.05):
        pow2 = all(abs(math.log2(x) - round(math.log2(x))) < 1e-9 for x in v)
        ax.set_xscale("log", base=2 if pow2 else 10)
        pad = 1.25
        ax.set_xlim(v[0] / pad, v[-1] * pad)
    if len(v) <= 12:
        ax.xaxis.set_major_locator(FixedLocator(v))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _tick_text(x)))
        ax.xaxis.set_minor_locator(NullLocator())


def _set_y(ax, values, log_ratio: float = 20.0) -> None:
    """Log y when the positive values span more than *log_ratio*; readable tick labels either way."""
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
    if v.size and (v > 0).all() and v.max() / v.min() > log_ratio:
        ax.set_yscale("log")
        _log_ticks(ax.yaxis)
    elif v.size and (v >= 0).all():
        ax.set_ylim(bottom=0, top=float(v.max()) * 1.08 if v.max() > 0 else 1.0)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", str(name)).strip("_")


# ---- the axis figure: a metric against a swept axis -----------------------------------------------------------

def _choose_series(tot: pd.DataFrame, x: Axis, series: str | None) -> tuple[Axis | None, list[Axis]]:
    """The series axis and the facet axes (each combination of theirs gets its own figure)."""
    rest = [a for a in swept_axes(tot) if a.column != x.column and a.name != "seed" and a.name != "layer"]
    if x.name == "design":
        rest = [a for a in rest if a.name != "design"]
    if series:
        s = resolve_axis(tot, series)
        if s.column == x.column:
            raise AccelsimError(f"--series {series} is the x axis; pick another")
        if s.column == _label_col(tot):   # the configuration label already names design and parameters
            rest = [a for a in rest if a.name != "design" and not a.column.startswith("param_")]
        return s, [a for a in rest if a.column != s.column]
    if not rest:
        return None, []
    design_like = [a for a in rest if a.name == "design" or a.column.startswith("param_")]
    if len(design_like) >= 2:
        s = resolve_axis(tot, "config")
        return s, [a for a in rest if a not in design_like]
    return rest[0], rest[1:]


def axis_figure(df: pd.DataFrame, outdir: Path, x: str, series: str | None = None, y: str | None = None, *,
                style=None, formats=None, name: str | None = None) -> list[Path]:
    """*y* (default latency and energy, one panel each) against axis *x*, one line per value of *series*.

    Points that lack *x* (a design without that parameter) are left out and named in the caption. Seeds are
    averaged (the bars span the seeds' minimum to maximum). Axes that vary besides *x* and *series* split the
    points into separate figures (facets), each titled with its values. Returns the paths written.
    """
    with styled(style, formats):
        return _axis_figure(df, Path(outdir), x, series, y, name)


def _axis_figure(df, outdir, x, series, y, name) -> list[Path]:
    per_layer = "layer" in (x, series)
    tot = point_totals(df, per_layer=per_layer)
    xa = resolve_axis(tot, x)
    lab = _label_col(tot)
    missing = sorted(set(tot.loc[tot[xa.column].isna(), lab].astype(str)), key=natural_key)
    tot = tot[tot[xa.column].notna()].copy()
    if tot.empty:
        raise AccelsimError(f"no point has a value for '{x}'")
    sa, facets = _choose_series(tot, xa, series)
    metrics = [metric(m, tot.columns) for m in ([y] if y else ["latency", "energy"])]
    for m in metrics:
        if m.column not in tot.columns or not pd.api.types.is_numeric_dtype(tot[m.column]):
            raise AccelsimError(f"metric '{m.name}' is not a numeric column of these results")
    groups = list(tot.groupby([f.column for f in facets], dropna=False, sort=False)) if facets else [((), tot)]
    groups.sort(key=lambda kv: tuple(natural_key(v) for v in (kv[0] if isinstance(kv[0], tuple) else (kv[0],))))
    if len(groups) > MAX_FIGURES:
        raise AccelsimError(f"{len(groups)} figures: {', '.join(f.name for f in facets)} also vary; "
                            f"choose one with --series (or plot a subset)")
    base = name or (f"{y or 'latency_energy'}_vs_{_safe(xa.name)}" + (f"_by_{_safe(sa.name)}" if sa else ""))
    paths = []
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        facet_txt = ", ".join(f"{f.name} {f.text(v)}" for f, v in zip(facets, key))
        fname = base + ("_" + _safe("_".join(f"{f.name}={f.text(v)}" for f, v in zip(facets, key))) if facets else "")
        paths += _draw_axis(g, outdir, fname, xa, sa, metrics, facet_txt, missing, facets)
    return paths


def _draw_axis(g, outdir, fname, xa: Axis, sa: Axis | None, metrics, facet_txt, missing, facets) -> list[Path]:
    svals = _sorted_values(g[sa.column]) if sa else [None]
    if sa:
        labels = [sa.text(v) for v in svals]
    elif xa.name in ("design", "config", "label", "arch_label"):   # the bars are the configurations
        labels = [str(g["workload"].iloc[0]) if "workload" in g.columns and g["workload"].nunique() == 1
                  else "network totals"]
    else:
        labels = [str(g[_label_col(g)].iloc[0])]
    seeds = g["seed"].nunique() if "seed" in g.columns else 1
    what = " and ".join(m.label for m in metrics)
    wl = g["workload"].iloc[0] if "workload" in g.columns and g["workload"].nunique() == 1 else None
    sentence = f"{what[0].upper() + what[1:]} {'of ' + str(wl) + ' ' if wl else ''}against {xa.label}"
    if sa:
        sentence += f", one {'line' if xa.numeric else 'bar'} per {sa.label}"
    sentence += "."
    fixed = fixed_text(g, skip={xa.column} | ({sa.column} if sa else set()) | {"layer"})
    notes = []
    if facet_txt:
        notes.append(f"Panel: {facet_txt}.")
    if fixed:
        notes.append(f"Fixed: {fixed}.")
    if seeds > 1:
        notes.append(f"Mean of {seeds} seeds; bars span min to max.")
    if missing:
        notes.append(f"Not shown (no {xa.name}): {', '.join(missing)}.")
    caption = " ".join([sentence] + notes)
    rows = _legend_rows(labels, title=sa is not None)
    fig, axes = _new_figure(len(metrics), " ".join(notes) or sentence, legend_rows=rows)
    # layers keep the network's order; every other axis its natural one
    xvals = list(dict.fromkeys(g[xa.column])) if xa.name == "layer" else _sorted_values(g[xa.column])
    for ax, m in zip(axes, metrics):
        div, unit = scaled(g[m.column].to_numpy(dtype=float), m.family)
        plotted = []
        for i, sv in enumerate(svals):
            sub = g if sa is None else g[g[sa.column].map(lambda v: v == sv or (natural_key(v) == natural_key(sv)))]
            if sub.empty:
                continue
            agg = sub.groupby(xa.column, sort=False)[m.column].agg(["mean", "min", "max"])
            agg = agg.loc[sorted(agg.index, key=natural_key)] / div
            plotted += list(agg["mean"])
            if xa.numeric:
                xs = agg.index.to_numpy(dtype=float) / xa.scale
                if seeds > 1:
                    ax.errorbar(xs, agg["mean"], yerr=[agg["mean"] - agg["min"], agg["max"] - agg["mean"]],
                                label=labels[i], capsize=2, elinewidth=0.6, **series_style(i))
                else:
                    ax.plot(xs, agg["mean"], label=labels[i], **series_style(i))
            else:
                pos = {v: j for j, v in enumerate(xvals)}
                w = 0.8 / len(svals)
                xs = np.array([pos[v] for v in agg.index]) - 0.4 + w * (i + 0.5)
                st = series_style(i, line=False)
                ax.bar(xs, agg["mean"], w, label=labels[i], color=st["color"], hatch=HATCHES[i % len(HATCHES)],
                       edgecolor="white" if i % len(HATCHES) == 0 else "#ffffff", linewidth=0.3)
        if xa.numeric:
            _set_numeric_x(ax, [float(v) / xa.scale for v in xvals], fraction=xa.name in ("density", "act_density"))
        else:
            ax.set_xticks(range(len(xvals)))
            ax.set_xticklabels([xa.text(v) for v in xvals], rotation=30 if len(xvals) > 3 else 0,
                               ha="right" if len(xvals) > 3 else "center")
            ax.grid(axis="x", visible=False)
        _set_y(ax, plotted)
        ax.set_ylabel(f"{m.label} ({unit or m.unit})" if (unit or m.unit) else m.label)
        ax.set_xlabel(xa.label)
        _legend(ax, sa.label if sa else None)
    return save_figure(fig, outdir, fname, caption)


def axis_figures(df: pd.DataFrame, outdir: Path, style=None, formats=None) -> list[Path]:
    """Latency and energy against every swept axis (the other axes as series or facets)."""
    with styled(style, formats):
        tot = point_totals(df)
        paths = []
        axes = [a for a in swept_axes(tot) if a.name not in ("seed", "layer")]
        if len(axes) > 1:   # the configuration label is no x axis of its own: its parts are
            axes = [a for a in axes if a.column != _label_col(tot)]
        for a in axes[:6]:
            try:
                paths += _axis_figure(df, Path(outdir), a.name, None, None, None)
            except AccelsimError:
                continue   # too many facets for this axis: the others still draw
        return paths


def latency_energy_vs_density(df: pd.DataFrame, outdir: Path, style=None, formats=None) -> list[Path]:
    """Network latency and energy against weight density, one line per configuration."""
    tot = point_totals(df)
    if tot["density"].nunique() < 2:
        return []
    with styled(style, formats):
        wl = "_".join(sorted(tot["workload"].astype(str).unique()))
        return _axis_figure(df, Path(outdir), "density", "config" if tot["workload"].nunique() == 1 else None,
                            None, f"latency_energy_vs_density_{_safe(wl)}")


def speedup_over_dense(df: pd.DataFrame, outdir: Path, style=None, formats=None) -> list[Path]:
    """Speedup of every design over the best dense baseline at the same density (or over itself at density 1)."""
    with styled(style, formats):
        tot = point_totals(df)
        if tot["density"].nunique() < 2:
            return []
        lab = _label_col(tot)
        paths = []
        for wl, g in tot.groupby("workload"):
            base = g[g["arch"].isin(DENSE_BASELINES)]
            curves, ref_txt = [], ""
            for name in _sorted_values(g[lab]):
                gg = g[g[lab] == name].groupby("density")["latency_s"].mean().sort_index()
                if not base.empty:
                    ref = base.groupby("density")["latency_s"].min().reindex(gg.index)
                    ref_txt = "the fastest dense baseline (" + ", ".join(sorted(base[lab].astype(str).unique())) + \
                        ") at the same density"
                elif 1.0 in gg.index:
                    ref = pd.Series(float(gg.loc[1.0]), index=gg.index)
                    ref_txt = "the same design at density 1"
                else:
                    continue
                curves.append((str(name), gg.index.to_numpy(), (ref / gg).to_numpy()))
            if not curves:
                continue
            fixed = fixed_text(g, skip={"density", lab, "design"})
            cap = f"Speedup of each design on {wl} over {ref_txt}, against weight density." + \
                (f" Fixed: {fixed}." if fixed else "")
            labels = [c[0] for c in curves]
            fig, (ax,) = _new_figure(1, f"Reference: {ref_txt}." + (f" Fixed: {fixed}." if fixed else ""),
                                     legend_rows=_legend_rows(labels))
            for i, (n, xs, ys) in enumerate(curves):
                ax.plot(xs, ys, label=n, **series_style(i))
            ax.axhline(1.0, color="#555555", lw=0.7, ls=":")
            _set_numeric_x(ax, list(g["density"].unique()), fraction=True)
            _set_y(ax, [v for c in curves for v in c[2]], log_ratio=8)
            ax.set_xlabel("weight density (fraction kept)")
            ax.set_ylabel("speedup (×)")
            _legend(ax, "configuration")
            paths += save_figure(fig, outdir, f"speedup_{_safe(wl)}", cap)
        return paths


def _encoding(g: pd.DataFrame, lab: str):
    """How the points of *g* are told apart: per configuration (up to eight), else colour by one swept axis and
    marker by another. Returns (style of each row, legend handles, legend labels, legend title)."""
    from matplotlib.lines import Line2D
    names = _sorted_values(g[lab])
    if len(names) <= MAX_SERIES:
        idx = {n: i for i, n in enumerate(names)}
        styles = [series_style(idx[n], line=False) for n in g[lab]]
        handles = [Line2D([], [], ls="none", **series_style(i, line=False)) for i in range(len(names))]
        return styles, handles, [str(n) for n in names], "configuration"
    axes = [a for a in swept_axes(g) if a.name == "design" or a.column.startswith("param_")]
    if not axes:
        axes = [resolve_axis(g, "config")]
    ca, ma = axes[0], (axes[1] if len(axes) > 1 else None)
    cvals = _sorted_values(g[ca.column])
    mvals = _sorted_values(g[ma.column]) if ma else [None]
    ci = {v: i for i, v in enumerate(cvals)}
    mi = {v: i for i, v in enumerate(mvals)}
    styles = []
    for _, r in g.iterrows():
        c = PALETTE[ci[r[ca.column]] % len(PALETTE)]
        m = MARKERS[mi[r[ma.column]] % len(MARKERS)] if ma else MARKERS[ci[r[ca.column]] // len(PALETTE) % 8]
        styles.append({"color": c, "marker": m, "markerfacecolor": c, "markeredgecolor": c, "markersize": 4.5})
    handles = [Line2D([], [], ls="none", marker="s", color=PALETTE[i % len(PALETTE)]) for i in range(len(cvals))]
    labels = [f"{ca.name} {ca.text(v)}" for v in cvals]
    if ma:
        handles += [Line2D([], [], ls="none", marker=MARKERS[i % len(MARKERS)], color="#555555")
                    for i in range(len(mvals))]
        labels += [f"{ma.name} {ma.text(v)}" for v in mvals]
    return styles, handles, labels, f"colour: {ca.name}" + (f"; marker: {ma.name}" if ma else "")


def pareto_front(df: pd.DataFrame, outdir: Path, style=None, formats=None) -> list[Path]:
    """Latency against energy of every configuration point, the Pareto-optimal ones joined."""
    from matplotlib.lines import Line2D
    with styled(style, formats):
        tot = point_totals(df)
        lab = _label_col(tot)
        paths = []
        for wl, g in tot.groupby("workload"):
            if len(g) < 2:
                continue
            styles, handles, labels, title = _encoding(g, lab)
            fixed = fixed_text(g, skip={lab, "design"} | {a.column for a in swept_axes(g)})
            lat_div, lat_u = scaled(g["latency_s"].to_numpy(), "s")
            en_div, en_u = scaled(g["energy_pj"].to_numpy(), "pj")
            cap = (f"Latency against energy of every configuration point on {wl}; the black line joins the points "
                   f"that no other point beats in both." + (f" Fixed: {fixed}." if fixed else ""))
            labels = labels + ["Pareto front"]
            handles = handles + [Line2D([], [], color="black", lw=0.8)]
            fig, (ax,) = _new_figure(1, "Line: Pareto front." + (f" Fixed: {fixed}." if fixed else ""),
                                     panel_h=2.4, legend_rows=_legend_rows(labels))
            for (_, r), st in zip(g.iterrows(), styles):
                ax.plot([r["latency_s"] / lat_div], [r["energy_pj"] / en_div], ls="none", **st)
            pts = g[["latency_s", "energy_pj"]].to_numpy()
            f = pts[front_indices(pts[:, 0], pts[:, 1])]
            ax.plot(f[:, 0] / lat_div, f[:, 1] / en_div, "-", color="black", lw=0.8, zorder=0)
            for axis, vals in ((ax.xaxis, pts[:, 0] / lat_div), (ax.yaxis, pts[:, 1] / en_div)):
                if vals.min() > 0 and vals.max() / vals.min() > 20:
                    (ax.set_xscale if axis is ax.xaxis else ax.set_yscale)("log")
                    _log_ticks(axis)
            ax.set_xlabel(f"latency ({lat_u})")
            ax.set_ylabel(f"energy ({en_u})")
            _legend(ax, title, handles=handles, labels=labels)
            paths += save_figure(fig, outdir, f"pareto_{_safe(wl)}", cap)
        return paths


# ---- roofline -------------------------------------------------------------------------------------------------

def roofline(df: pd.DataFrame, outdir: Path, style=None, formats=None) -> list[Path]:
    """Each layer at its own arithmetic intensity and attained MAC rate, under its design's roofs.

    A design's compute roof is ``peak_macs_per_cycle * freq_hz`` and its DRAM slope ``dram_bytes_per_s``
    (bytes per second times MACs per byte). Layers that move no DRAM bytes sit at the right edge (an arrow
    marks them) and the caption counts them; none is left out without a word.
    """
    need = {"macs_performed", "dram_bytes", "latency_s", "freq_hz"}
    if not need <= set(df.columns):
        return []
    with styled(style, formats):
        d = prepare(df)
        lab = _label_col(d)
        names = _sorted_values(d[lab])
        paths = []
        chunks = [names[i:i + MAX_SERIES] for i in range(0, len(names), MAX_SERIES)]
        for k, chunk in enumerate(chunks):
            paths += _roofline_panel(d[d[lab].isin(chunk)], outdir, lab, chunk,
                                     "roofline" + (f"_{k + 1}" if len(chunks) > 1 else ""),
                                     f" (part {k + 1} of {len(chunks)})" if len(chunks) > 1 else "")
        return paths


def _roofline_panel(d, outdir, lab, names, fname, part) -> list[Path]:
    d = d.assign(_rate=d["macs_performed"] / d["latency_s"].where(d["latency_s"] > 0),
                 _int=d["macs_performed"] / d["dram_bytes"].where(d["dram_bytes"] > 0))
    drawable = d[(d["_rate"] > 0) & np.isfinite(d["_rate"])]
    no_macs = len(d) - len(drawable)
    no_dram = int((drawable["dram_bytes"] <= 0).sum())
    ints = drawable["_int"].dropna()
    lo = float(ints.min()) / 4 if not ints.empty else 0.1
    hi = float(ints.max()) * 4 if not ints.empty else 100.0
    edge = hi   # where layers with no DRAM traffic (infinite intensity) are drawn
    hi_plot = edge * 2
    rates = drawable["_rate"].to_numpy(dtype=float)
    peaks = (d["peak_macs_per_cycle"] * d["freq_hz"]).to_numpy(dtype=float) if "peak_macs_per_cycle" in d else \
        np.array([])
    div, unit = scaled(np.concatenate([rates, peaks[np.isfinite(peaks) & (peaks > 0)]]), "macs")
    compute_only, no_roof = [], []
    fig, (ax,) = _new_figure(1, "", panel_h=2.5, legend_rows=_legend_rows([str(n) for n in names]))
    for i, n in enumerate(names):
        g = d[d[lab] == n]
        st = series_style(i, line=False)
        peak = float((g["peak_macs_per_cycle"] * g["freq_hz"]).iloc[0]) if "peak_macs_per_cycle" in g else 0.0
        bw = float(g["dram_bytes_per_s"].iloc[0]) if "dram_bytes_per_s" in g else float("inf")
        xs = np.geomspace(lo, hi_plot, 200)
        if peak > 0:
            roof = np.minimum(peak, bw * xs) if np.isfinite(bw) and bw > 0 else np.full_like(xs, peak)
            if not (np.isfinite(bw) and bw > 0):
                compute_only.append(str(n))
            ax.plot(xs, roof / div, color=st["color"], lw=1.0, ls=LINESTYLES[i % len(LINESTYLES)], zorder=1)
        else:
            no_roof.append(str(n))
        gd = g[(g["_rate"] > 0) & np.isfinite(g["_rate"])]
        on = gd[gd["dram_bytes"] > 0]
        off = gd[gd["dram_bytes"] <= 0]
        ax.plot(on["_int"], on["_rate"] / div, ls="none", label=str(n), zorder=3, **st)
        if not off.empty:
            ax.plot(np.full(len(off), edge), off["_rate"] / div, ls="none", zorder=3,
                    **{**st, "marker": ">", "markerfacecolor": st["color"]})
    if no_dram:
        ax.axvline(edge, color="#777777", lw=0.5, ls=":")
        ax.text(edge, 0.99, "no DRAM traffic ", transform=ax.get_xaxis_transform(), fontsize=6, va="top",
                ha="right", color="#555555")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi_plot * 1.5)
    _log_ticks(ax.xaxis)
    _log_ticks(ax.yaxis)
    ax.set_xlabel("arithmetic intensity (MACs / DRAM byte)")
    ax.set_ylabel(f"attained rate ({unit})")
    _legend(ax, "configuration")
    notes = [f"Lines: each design's roof, min(peak MACs/cycle × clock, DRAM bandwidth × intensity){part}."]
    if no_dram:
        notes.append(f"{no_dram} layer(s) with no DRAM traffic are drawn at the dotted line (▸).")
    if no_macs:
        notes.append(f"{no_macs} layer(s) perform no MACs and have no rate to draw.")
    if compute_only:
        notes.append(f"No DRAM bandwidth declared (compute roof only): {_designs(compute_only, names)}.")
    if no_roof:
        notes.append(f"No peak rate reported (no roof): {_designs(no_roof, names)}.")
    fixed = fixed_text(point_totals(d, prepared=True), skip={lab, "design", "layer"})
    if fixed:
        notes.append(f"Fixed: {fixed}.")
    cap_ax = fig.axes[-1]
    cap_ax.texts[0].set_text("\n".join(textwrap.wrap(" ".join(notes), _chars_per_line(COLUMN_IN))))
    _grow_caption(fig, cap_ax.texts[0].get_text())
    caption = ("Roofline: every layer at its own arithmetic intensity (MACs performed per DRAM byte) and attained "
               "MAC rate. " + " ".join(notes))
    return save_figure(fig, outdir, fname, caption)


def _designs(which: list[str], among: list) -> str:
    """Configurations named briefly: a design whose every configuration is listed is named once."""
    base = lambda n: re.sub(r"\[.*\]$", "", str(n))  # noqa: E731
    out = []
    for b in dict.fromkeys(base(n) for n in which):
        mine = [str(n) for n in among if base(n) == b]
        picked = [n for n in which if base(n) == b]
        out += [b if len(mine) > 1 else mine[0]] if len(picked) == len(mine) else picked
    return ", ".join(out)


def _grow_caption(fig, text: str) -> None:
    """Make room for a caption filled in after the figure was made."""
    lines = text.count("\n") + 1
    size = _state["style"].size
    extra = lines * (size - 1) * 1.35 / 72
    w, h = fig.get_size_inches()
    gs = fig.axes[0].get_subplotspec().get_gridspec()
    ratios = list(gs.get_height_ratios())
    ratios[-1] = extra + 4 / 72
    gs.set_height_ratios(ratios)
    fig.set_size_inches(w, sum(ratios) + 0.1)


# ---- stacked accounts: cycles by reason, energy by class -----------------------------------------------------

#: a fixed colour and hatch per loss reason, so every figure reads alike
def _reason_style(reason: str) -> tuple[str, str]:
    if reason == "other":   # what a model leaves unexplained: grey
        return "#9a9a9a", ""
    order = ["ideal"] + [r for r in LOSS_REASONS if r != "other"]
    i = order.index(reason) if reason in order else len(order)
    return PALETTE[i % len(PALETTE)], HATCHES[(i // len(PALETTE)) % len(HATCHES)]


#: a fixed colour per energy class
ENERGY_STYLE = {"mac": (PALETTE[0], ""), "rf": (PALETTE[5], ""), "sram": (PALETTE[1], ""), "dram": (PALETTE[3], ""),
                "noc": (PALETTE[2], ""), "index": (PALETTE[4], ""), "other": ("#9a9a9a", "")}


def _energy_style(c: str) -> tuple[str, str]:
    return ENERGY_STYLE.get(c, ("#cccccc", "///"))


def _stacked(frame: pd.DataFrame, outdir: Path, fname: str, xlabel: str, legend_title: str, caption: str,
             note: str, totals: pd.Series, family: str, style_of=None) -> list[Path]:
    shares = frame.div(frame.sum(axis=1).where(lambda s: s > 0, 1.0), axis=0)
    cols = [c for c in shares.columns if (shares[c] > 0).any()]
    n = len(shares)
    names = [c.replace("_", " ") for c in cols]
    fig, (ax,) = _new_figure(1, note, panel_h=0.2 * n + 0.5, legend_rows=_legend_rows(names))
    left = np.zeros(n)
    ypos = np.arange(n)[::-1]
    for c in cols:
        color, hatch = (style_of or _reason_style)(c)
        ax.barh(ypos, shares[c].to_numpy(), left=left, color=color, hatch=hatch, edgecolor="white", linewidth=0.4,
                label=c.replace("_", " "), height=0.75)
        left += shares[c].to_numpy()
    ax.set_yticks(ypos)
    ax.set_yticklabels([str(i) for i in shares.index])
    ax.set_xlim(0, 1.0)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    for y, t in zip(ypos, totals.reindex(shares.index)):
        div, unit = scaled([float(t)], family)
        ax.text(1.01, y, f"{float(t) / div:.3g} {unit}", va="center", ha="left", fontsize=6,
                transform=ax.get_yaxis_transform())
    _legend(ax, legend_title, from_figure_edge=True)
    return save_figure(fig, outdir, fname, caption)


def cycle_account(df: pd.DataFrame, outdir: Path, style=None, formats=None) -> list[Path]:
    """Where each design's cycles go: ideal cycles and every loss reason of the shared account, stacked."""
    if "ideal_cycles" not in df.columns or not any(c in df.columns for c in LOSS_COLUMNS):
        return []
    with styled(style, formats):
        d = prepare(df)
        lab = _label_col(d)
        g = d.groupby(lab, sort=False)
        parts = {"ideal": g["ideal_cycles"].sum()}
        for c in LOSS_COLUMNS:
            if c in d.columns:
                parts[c[len("loss_"):-len("_cycles")]] = g[c].sum()
        frame = pd.DataFrame(parts).fillna(0.0)
        frame = frame.loc[sorted(frame.index, key=natural_key)]
        if frame.empty:
            return []
        lat = g["latency_s"].sum()
        pts = point_totals(d, prepared=True)
        per = pts.groupby(lab).size()
        multi = int(per.max()) if len(per) else 1
        fixed = fixed_text(pts, skip={lab, "design"})
        notes = ["Bar ends: total latency."]
        if multi > 1:
            notes.append(f"Each bar sums the {multi} points of its configuration.")
        if "other" in frame.columns and (frame["other"] > 0).any():
            notes.append("'other': losses a model does not yet break down by reason.")
        if fixed:
            notes.append(f"Fixed: {fixed}.")
        caption = ("The cycle account of each configuration: ideal cycles (MACs performed at the design's peak "
                   "rate) and the cycles lost, by reason, as shares of all cycles. " + " ".join(notes))
        paths = []
        names = list(frame.index)
        for k in range(0, len(names), 30):
            sub = frame.loc[names[k:k + 30]]
            suffix = f"_{k // 30 + 1}" if len(names) > 30 else ""
            paths += _stacked(sub, Path(outdir), "cycle_account" + suffix, "share of cycles", "cycles",
                              caption, " ".join(notes), lat, "s")
        return paths


cycle_losses = cycle_account   # the old name


def energy_breakdown(df: pd.DataFrame, outdir: Path, style=None, formats=None) -> list[Path]:
    """Where each design's energy goes: the seven energy classes of the shared vocabulary, stacked."""
    cols = [c for c in ENERGY_COLUMNS if c in df.columns]
    if not cols:
        return []
    with styled(style, formats):
        d = prepare(df)
        lab = _label_col(d)
        g = d.groupby(lab, sort=False)
        frame = pd.DataFrame({c[len("energy_"):-len("_pj")]: g[c].sum() for c in cols}).fillna(0.0)
        frame = frame.loc[sorted(frame.index, key=natural_key)]
        total = g["energy_pj"].sum()
        pts = point_totals(d, prepared=True)
        fixed = fixed_text(pts, skip={lab, "design"})
        notes = ["Bar ends: total energy."] + ([f"Fixed: {fixed}."] if fixed else [])
        caption = ("Energy of each configuration by class (MACs, register files, SRAM, DRAM, network, index "
                   "logic, other) as shares of its total. " + " ".join(notes))
        paths = []
        names = list(frame.index)
        for k in range(0, len(names), 30):
            sub = frame.loc[names[k:k + 30]]
            suffix = f"_{k // 30 + 1}" if len(names) > 30 else ""
            paths += _stacked(sub, Path(outdir), "energy_breakdown" + suffix, "share of energy", "energy class",
                              caption, " ".join(notes), total, "pj", _energy_style)
        return paths


# ---- load balance ---------------------------------------------------------------------------------------------

def _busy(v):
    if isinstance(v, str):
        v = json.loads(v)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    a = np.asarray(v, dtype=float)
    return a if a.size >= 2 and a.max() > 0 else None


def setting_text(r) -> str:
    """A point's setting in words: "alexnet, unstructured, weight density 0.3, activations 0.5, seed 1"."""
    parts = [str(r.get("workload", ""))]
    if r.get("pattern") not in (None, "dense"):
        parts.append(str(r["pattern"]))
    for col, word in (("sweep_density", "weight density"), ("sweep_act_density", "activations")):
        v = r.get(col)
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            parts.append(f"{word} {fmt_value(v)}")
    if r.get("profile") not in (None, "") and not (isinstance(r.get("profile"), float)):
        parts.append(f"profile {r['profile']}")
    if r.get("seed") not in (None, 0) and not (isinstance(r.get("seed"), float) and math.isnan(r.get("seed"))):
        parts.append(f"seed {fmt_value(r['seed'])}")
    if r.get("pattern") == "dense":
        parts.append("dense")
    return ", ".join(p for p in parts if p)


def load_balance_heatmap(df: pd.DataFrame, outdir: Path, style=None, formats=None, labels=None,
                         max_settings: int = 4, max_configs: int = 6) -> list[Path]:
    """Per-PE busy cycles relative to the busiest PE, one row per layer; a figure per configuration and a
    panel per setting (workload, pattern, densities), titled with it. Without *labels*, at most
    *max_configs* configurations, spread evenly over their natural order (first, last and between)."""
    if "pe_busy" not in df.columns:
        return []
    with styled(style, formats):
        d = prepare(df)
        d = d[d["pe_busy"].map(lambda v: _busy(v) is not None)]
        lab = _label_col(d)
        names = _sorted_values(d[lab])
        if labels is not None:
            names = [n for n in names if n in labels]
        elif len(names) > max_configs:
            names = [names[int(round(i))] for i in np.linspace(0, len(names) - 1, max_configs)]
        paths = []
        for name in names:
            g = d[d[lab] == name]
            keys = [c for c in ("workload", "pattern", "sweep_density", "sweep_act_density", "profile", "seed")
                    if c in g.columns]
            settings = list(g.groupby(keys, dropna=False, sort=False)) if keys else [((), g)]
            shown = settings[:max_settings]
            panels = []
            for _, s in shown:
                rows = [(str(r["layer"]), _busy(r["pe_busy"])) for _, r in s.iterrows()]
                widths = {len(v) for _, v in rows}
                if len(widths) != 1:   # layers mapped on different PE counts: keep the most common one
                    common = max(widths, key=lambda w: sum(len(v) == w for _, v in rows))
                    rows = [(n, v) for n, v in rows if len(v) == common]
                panels.append((setting_text(s.iloc[0].to_dict()), rows[:40], len(rows) > 40))
            if not panels:
                continue
            h = sum(0.11 * len(p[1]) + 0.45 for p in panels)
            notes = []
            if len(settings) > max_settings:
                notes.append(f"First {max_settings} of {len(settings)} settings shown.")
            if any(p[2] for p in panels):
                notes.append("First 40 layers shown.")
            caption = (f"Load balance of {name}: each row is a layer, each column a PE; colour is the PE's busy "
                       f"cycles over the busiest PE's (1 = busiest). " + " ".join(notes))
            fig, axes = _new_figure(len(panels), " ".join(notes) or "1 = the busiest PE of the layer.",
                                    width=COLUMN_IN, panel_h=h / len(panels), legend_rows=0)
            im = None
            for ax, (title, rows, _) in zip(axes, panels):
                mat = np.vstack([v / v.max() for _, v in rows])
                im = ax.imshow(mat, aspect="auto", vmin=0, vmax=1, interpolation="nearest")
                ax.set_yticks(range(len(rows)))
                ax.set_yticklabels([n for n, _ in rows], fontsize=max(4.5, _state["style"].size - 2.5))
                ax.set_xlabel("PE")
                ax.grid(False)
                ax.set_title(f"{name}: {title}", fontsize=_state["style"].size - 1, loc="left")
            fig.colorbar(im, ax=axes, label="relative busy time", shrink=0.9, pad=0.02)
            paths += save_figure(fig, outdir, f"load_balance_{_safe(name)}", caption)
        return paths


# ---- formats and fidelity ------------------------------------------------------------------------------------

def storage_vs_sparsity(fmt_df: pd.DataFrame, outdir: Path, name: str = "storage_vs_sparsity", style=None,
                        formats=None) -> list[Path]:
    """Bits per format against sparsity (from a format comparison over densities)."""
    if fmt_df.empty or "density" not in fmt_df.columns:
        return []
    with styled(style, formats):
        fmts = list(dict.fromkeys(fmt_df["format"]))
        div, unit = scaled(fmt_df.groupby(["format", "density"])["total_bits"].sum().to_numpy(), "bits")
        fig, (ax,) = _new_figure(1, "Sum over the tensors compared.", panel_h=2.4, legend_rows=_legend_rows(fmts))
        ys = []
        for i, f in enumerate(fmts):
            g = fmt_df[fmt_df["format"] == f].groupby("density")["total_bits"].sum().sort_index()
            ax.plot(1 - g.index.to_numpy(), g.to_numpy() / div, label=str(f), **series_style(i))
            ys += list(g.to_numpy() / div)
        _set_y(ax, ys, log_ratio=5)
        ax.set_xlabel("sparsity (fraction of zeros)")
        ax.set_ylabel(f"storage ({unit})")
        _legend(ax, "format")
        return save_figure(fig, outdir, name, "Storage of each format against sparsity: values, metadata and "
                           "padding, in bits.")


def best_format_per_layer(fmt_df: pd.DataFrame, outdir: Path, style=None, formats=None) -> list[Path]:
    """Storage of each format relative to dense, per layer; the best one marked."""
    if fmt_df.empty or "layer" not in fmt_df.columns:
        return []
    with styled(style, formats):
        piv = fmt_df.pivot_table(index="layer", columns="format", values="total_bits", aggfunc="sum", sort=False)
        if "dense" in piv.columns:
            piv = piv.div(piv["dense"], axis=0)
        cols = list(piv.columns)
        fig, (ax,) = _new_figure(1, "* marks the smallest format of each layer.", width=DOUBLE_IN, panel_h=2.2,
                                 legend_rows=_legend_rows([str(c) for c in cols], width=DOUBLE_IN))
        x = np.arange(len(piv))
        w = 0.8 / max(len(cols), 1)
        for i, c in enumerate(cols):
            ax.bar(x + i * w, piv[c].values, w, label=str(c), color=PALETTE[i % len(PALETTE)],
                   hatch=HATCHES[(i // len(PALETTE)) % len(HATCHES)], edgecolor="white", linewidth=0.3)
        best = piv.idxmin(axis=1)
        for j, (layer, f) in enumerate(best.items()):
            ax.text(x[j] + cols.index(f) * w, piv.loc[layer, f], "*", ha="center", va="bottom")
        ax.set_xticks(x + 0.4 - w / 2)
        ax.set_xticklabels(piv.index, rotation=45, ha="right")
        ax.grid(axis="x", visible=False)
        ax.set_ylabel("storage / dense storage")
        _legend(ax, "format", width=DOUBLE_IN)
        return save_figure(fig, outdir, "best_format_per_layer", "Storage of each format relative to dense, per "
                           "layer (values, metadata and padding); * marks the smallest.")


def fidelity_front(df: pd.DataFrame, outdir: Path, style=None, formats=None) -> list[Path]:
    """Latency and energy against fidelity (traces that carry it: real-model captures), Pareto points joined."""
    if "fidelity" not in df.columns or df["fidelity"].isna().all():
        return []
    with styled(style, formats):
        d = prepare(df)
        lab = _label_col(d)
        keys = [k for k in ("workload", "pattern", "sweep_density", lab) if k in d.columns]
        tot = d.groupby(keys, dropna=False).agg(latency_s=("latency_s", "sum"), energy_pj=("energy_pj", "sum"),
                                                fidelity=("fidelity", "first")).reset_index()
        metric_name = {}
        if "fidelity_metric" in d.columns:
            metric_name = d.dropna(subset=["fidelity_metric"]).groupby("workload")["fidelity_metric"].first().to_dict()
        paths = []
        for wl, g in tot.groupby("workload"):
            names = _sorted_values(g[lab])
            cap = (f"Latency and energy of {wl} against fidelity ({metric_name.get(wl, 'against the dense model')})"
                   f", one series per configuration; lines join each configuration's Pareto points.")
            fig, axes = _new_figure(2, "Lines: each configuration's Pareto points.",
                                    legend_rows=_legend_rows([str(n) for n in names]))
            for ax, col, fam, word in ((axes[0], "latency_s", "s", "latency"), (axes[1], "energy_pj", "pj",
                                                                                 "energy")):
                div, unit = scaled(g[col].to_numpy(), fam)
                for i, n in enumerate(names):
                    gg = g[g[lab] == n]
                    st = series_style(i)
                    f = gg.iloc[front_indices(-gg["fidelity"].to_numpy(), gg[col].to_numpy())]
                    ax.plot(gg["fidelity"], gg[col] / div, ls="none", label=str(n),
                            **{k: v for k, v in st.items() if k != "linestyle"})
                    if len(f) > 1:
                        ax.plot(f["fidelity"], f[col] / div, lw=0.8, color=st["color"], ls=st["linestyle"])
                _set_y(ax, list(g[col] / div))
                ax.set_xlabel(f"fidelity ({metric_name.get(wl, 'against the dense model')})")
                ax.set_ylabel(f"{word} ({unit})")
                _legend(ax, "configuration")
            paths += save_figure(fig, outdir, f"fidelity_front_{_safe(wl)}", cap)
        return paths


RESULT_PLOTS = {"axes": axis_figures, "speedup": speedup_over_dense, "pareto": pareto_front, "roofline": roofline,
                "losses": cycle_account, "energy": energy_breakdown, "balance": load_balance_heatmap,
                "fidelity": fidelity_front}
#: older names of the standard figures
PLOT_ALIASES = {"density": "axes", "cycles": "losses"}


def plot_results(df: pd.DataFrame, outdir: Path, kinds: list[str] | None = None, style=None,
                 formats=None) -> list[Path]:
    """Every standard figure (or those of *kinds*) of a result table; the paths written, PNG first per figure."""
    kinds = [PLOT_ALIASES.get(k, k) for k in kinds] if kinds else None
    paths = []
    for k, fn in RESULT_PLOTS.items():
        if kinds and k not in kinds:
            continue
        paths += fn(df, Path(outdir), style=style, formats=formats)
    return paths
