"""The report of a result table or sweep directory: totals, plots, configs and workloads used."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from ..arch import load_arch
from ..errors import AccelsimError
from ..results import network_totals
from ..workload import load_workload
from .html import Section, build_html, write_html
from .plots import plot_results

TOTAL_COLUMNS = ["arch_label", "config", "workload", "pattern", "sweep_density", "sweep_act_density", "layers",
                 "cycles", "latency_s", "energy_pj", "macs_dense", "macs_performed", "dram_bytes", "load_balance"]


def configs_section(df: pd.DataFrame) -> Section:
    sec = Section("Configurations and workloads used")
    for name in sorted(df["config"].dropna().unique()) if "config" in df.columns else []:
        try:
            cfg = load_arch(str(name))
            text = yaml.safe_dump({"model": cfg.model, "source": cfg.source, "params": cfg.params_dict(),
                                   "energy": cfg.energy.name}, sort_keys=False)
        except AccelsimError:
            text = "(not a shipped config)"
        sec.code.append((f"arch config: {name}", text))
    for wl in sorted(df["workload"].dropna().unique()) if "workload" in df.columns else []:
        try:
            w = load_workload(str(wl))
            lines = [f"{l.name}: {l.describe()}" + (f" x{l.count}" if l.count > 1 else "") for l in w.layers]
            sec.code.append((f"workload: {wl} ({w.source})", "\n".join(lines)))
        except AccelsimError:
            sec.code.append((f"workload: {wl}", "(captured or user trace)"))
    return sec


def results_sections(df: pd.DataFrame, plot_dir: Path, title: str = "Results") -> list[Section]:
    by = [c for c in ("arch_label", "sweep_density", "sweep_act_density", "seed") if c in df.columns]
    tot = network_totals(df, by=by)
    cols = [c for c in TOTAL_COLUMNS if c in tot.columns]
    imgs = plot_results(df, plot_dir)
    return [Section(title, "Network totals: the sum over layers of each configuration point.",
                    tables=[("", tot[cols])], images=imgs)]


def write_report(df: pd.DataFrame, outdir: Path, title: str = "accelsim report",
                 extra: list[Section] | None = None) -> Path:
    if df.empty:
        raise AccelsimError("no result rows to report")
    outdir = Path(outdir)
    secs = results_sections(df, outdir / "plots") + list(extra or []) + [configs_section(df)]
    return write_html(outdir / "report.html", build_html(title, secs))
