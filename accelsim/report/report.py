"""The report of a result table or sweep directory: a summary table, the figures with their captions, a
section per design (its config as YAML, its load balance, its layers) and the workloads used."""
from __future__ import annotations

import html
import math
import re
from pathlib import Path

import pandas as pd
import yaml

from ..arch import load_arch
from ..errors import AccelsimError
from ..paths import ARCH_DIR
from ..workload import load_workload
from .html import Section, build_html, write_html
from .plots import (RESULT_PLOTS, _label_col, fmt_value, load_balance_heatmap, natural_key, point_totals, prepare,
                    swept_axes)

#: per-point columns of the summary table (those present)
SUMMARY_METRICS = ["latency_s", "energy_pj", "edp_js", "utilization", "load_balance", "bound", "dram_bytes",
                   "area_mm2"]
LAYER_COLUMNS = ["layer", "op", "M", "N", "K", "weight_density", "act_density", "cycles", "latency_s", "energy_pj",
                 "utilization", "load_balance", "bound", "dram_bytes"]
#: figures of the report, in order (load balance goes to each design's section)
REPORT_FIGURES = ["axes", "pareto", "speedup", "roofline", "losses", "energy", "fidelity"]


def _base(name) -> str:
    return re.sub(r"\[.*\]$", "", str(name))


def config_text(df: pd.DataFrame, design: str) -> tuple[str, str]:
    """(heading, YAML) of a design's config: the user's file as written, or the shipped one."""
    rows = df[df["design"] == design] if "design" in df.columns else df
    if "config_yaml" in rows.columns and rows["config_yaml"].notna().any():
        return f"arch config: {design} (user file)", str(rows["config_yaml"].dropna().iloc[0])
    names = rows["config"].dropna().astype(str).unique() if "config" in rows.columns else [design]
    base = _base(names[0]) if len(names) else design
    shipped = ARCH_DIR / f"{base}.yaml"
    if shipped.is_file():
        return f"arch config: {base} (shipped: accelsim/configs/{base}.yaml)", shipped.read_text(encoding="utf-8")
    try:
        cfg = load_arch(base)
        text = yaml.safe_dump({"model": cfg.model, "params": cfg.params_dict()}, sort_keys=False)
        return f"arch config: {base} (model defaults)", text
    except AccelsimError:
        return f"arch config: {base}", ("# a user file; its text was not kept with these results\n"
                                        "# (a sweep keeps it: run the config through a sweep spec)\n")


def _overrides_text(rows: pd.DataFrame) -> str:
    """The values the points set on top of the config, as YAML comments."""
    cols = sorted(c for c in rows.columns if c.startswith("param_") and rows[c].notna().any())
    if not cols:
        return ""
    lines = ["", "# the points of this report set:"]
    for c in cols:
        vals = sorted(rows[c].dropna().unique().tolist(), key=natural_key)
        lines.append(f"#   {c[6:]}: [{', '.join(fmt_value(v) for v in vals)}]")
    return "\n".join(lines) + "\n"


def summary_table(tot: pd.DataFrame) -> pd.DataFrame:
    """One row per point: what varies (parameters as their own columns), then the metrics."""
    lab = _label_col(tot)
    swept = [a for a in swept_axes(tot) if a.name != "layer"]
    params = [a for a in swept if a.column.startswith("param_")]
    cols: dict[str, pd.Series] = {}
    if params:
        if any(a.name == "design" for a in swept):
            cols["design"] = tot["design"]
        for a in params:
            cols[a.name] = tot[a.column]
    else:
        cols["configuration"] = tot[lab]
    for a in swept:
        if a.name in ("design",) or a.column.startswith("param_") or a.column == lab:
            continue
        cols[a.name] = tot[a.column]
    if not swept and "workload" in tot.columns:
        cols["workload"] = tot["workload"]
    keys = list(cols)
    for c in SUMMARY_METRICS:
        if c in tot.columns and tot[c].notna().any():
            cols[c] = tot[c]
    out = pd.DataFrame(cols)
    order = sorted(range(len(out)), key=lambda i: tuple(natural_key(out[k].iloc[i]) for k in keys))
    return out.iloc[order].reset_index(drop=True)


def _describe(tot: pd.DataFrame) -> str:
    designs = sorted(tot["design"].astype(str).unique(), key=natural_key)
    wls = sorted(tot["workload"].astype(str).unique(), key=natural_key) if "workload" in tot.columns else []
    parts = [f"{len(tot)} configuration point(s) of {len(designs)} design(s) ({html.escape(', '.join(designs))})"
             + (f" on {html.escape(', '.join(wls))}" if wls else "") + "."]
    swept = [a for a in swept_axes(tot) if a.name not in ("layer", "design")]
    if swept:
        values = {a.name: ", ".join(a.text(v) for v in sorted(tot[a.column].dropna().unique().tolist(), key=natural_key))
                  for a in swept}
        parts.append("Swept: " + "; ".join(f"{html.escape(a.label)}: {html.escape(values[a.name])}" for a in swept)
                     + ".")
    parts.append("Latency, energy and traffic are network totals (the sum over layers, each layer times its count); "
                 "utilization is MACs performed over the MAC slots of all cycles; load balance is the mean over the "
                 "busiest PE's busy time, cycle-weighted over layers. Units are in the column names.")
    return " ".join(parts)


def configs_section(df: pd.DataFrame) -> Section:
    """Every design's config as YAML (the user's file as written, or the shipped one) and every workload."""
    d = prepare(df)
    sec = Section("Configurations and workloads used")
    for design in sorted(d["design"].astype(str).unique(), key=natural_key):
        head, text = config_text(d, design)
        sec.code.append((head, text + _overrides_text(d[d["design"] == design])))
    sec.code += _workload_code(d)
    return sec


def _workload_code(d: pd.DataFrame) -> list[tuple[str, str]]:
    out = []
    for wl in sorted(d["workload"].dropna().astype(str).unique(), key=natural_key) if "workload" in d.columns else []:
        try:
            w = load_workload(str(wl))
            lines = [f"{l.name}: {l.describe()}" + (f" x{l.count}" if l.count > 1 else "") for l in w.layers]
            out.append((f"workload: {wl} ({w.source})", "\n".join(lines)))
        except AccelsimError:
            out.append((f"workload: {wl}", "(captured or user trace)"))
    return out


def design_sections(d: pd.DataFrame, plot_dir: Path, style=None, formats=None) -> list[Section]:
    """A section per design: what it is, its config as YAML, its load balance and its layers at one point."""
    lab = _label_col(d)
    out = []
    for design in sorted(d["design"].astype(str).unique(), key=natural_key):
        rows = d[d["design"] == design]
        labels = sorted(rows[lab].astype(str).unique(), key=natural_key)
        text = []
        if "config" in rows.columns:
            try:
                cfg = load_arch(_base(rows["config"].iloc[0]))
                if cfg.description:
                    text.append(html.escape(cfg.description) + ".")
                if cfg.source:
                    text.append("Source: " + html.escape(cfg.source) + ".")
            except AccelsimError:
                pass
        if len(labels) > 1:
            text.append(f"{len(labels)} configurations: {html.escape(', '.join(labels[:12]))}"
                        + (" ..." if len(labels) > 12 else "") + ".")
        first = labels[0]
        pt = rows[rows[lab].astype(str) == first]
        if "point" in pt.columns:
            pt = pt[pt["point"] == pt["point"].iloc[0]]
        where = ", ".join(f"{c.replace('sweep_', '')} {fmt_value(pt[c].iloc[0])}" for c in
                          ("workload", "pattern", "sweep_density", "sweep_act_density", "seed")
                          if c in pt.columns and not _missing(pt[c].iloc[0]))
        layer_cols = [c for c in LAYER_COLUMNS if c in pt.columns]
        pick = [labels[int(round(i))] for i in _spread(len(labels), 4)]
        imgs = load_balance_heatmap(rows, plot_dir, style=style, formats=formats, labels=pick)
        head, yml = config_text(d, design)
        sec = Section(f"Design: {design}", " ".join(text),
                      tables=[(f"per layer: {first} on {where}", pt[layer_cols])],
                      images=[p for p in imgs if p.suffix == ".png"],
                      code=[(head, yml + _overrides_text(rows))])
        out.append(sec)
    return out


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _spread(n: int, k: int) -> list[float]:
    if n <= k:
        return list(range(n))
    return [i * (n - 1) / (k - 1) for i in range(k)]


def results_sections(df: pd.DataFrame, plot_dir: Path, title: str = "Summary", style=None,
                     formats=None) -> list[Section]:
    """The summary table, the figures and a section per design."""
    d = prepare(df)
    tot = point_totals(d, prepared=True)
    figs = []
    for k in REPORT_FIGURES:
        figs += RESULT_PLOTS[k](df, plot_dir, style=style, formats=formats)
    vector = sorted({p.suffix[1:].upper() for p in figs} - {"PNG"})
    secs = [Section(title, _describe(tot), tables=[("", summary_table(tot))]),
            Section("Figures", "Each figure's caption says what it shows and what is held fixed." +
                    (f" Every figure is also written as {' and '.join(vector)} beside this page (plots/)."
                     if vector else ""),
                    images=[p for p in figs if p.suffix == ".png"])]
    return secs + design_sections(d, plot_dir, style=style, formats=formats)


def write_report(df: pd.DataFrame, outdir: Path, title: str = "accelsim report",
                 extra: list[Section] | None = None, style=None, formats=None,
                 filename: str = "report.html") -> Path:
    """*filename* (``report.html``) in *outdir* (its figures in ``outdir/plots``); returns the page's path."""
    if df.empty:
        raise AccelsimError("no result rows to report")
    outdir = Path(outdir)
    d = prepare(df)
    secs = results_sections(df, outdir / "plots", style=style, formats=formats) + list(extra or []) + \
        [Section("Workloads used", code=_workload_code(d))]
    return write_html(outdir / filename, build_html(title, secs))
