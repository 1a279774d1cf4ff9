"""EIE (Han et al., ISCA 2016): FIFO depth, scalability over PEs, padding over PEs, per-layer time.

The paper's design-space studies, reproduced on the ``eie_benchmark`` workload
(the nine Table III matrices at the paper's densities, nonzeros at random as
Sec. VII-A describes them) with the shipped ``eie`` config:

* ``fifo_depth`` - load-balance efficiency (1 - bubble cycles / total cycles,
  averaged over PEs) against the activation FIFO depth, 1 to 256, on 64 PEs
  (Sec. VI-C, Fig. 8);
* ``scalability`` - speedup over one PE against the number of PEs, 1 to 256,
  per layer, FIFO depth 8 (Sec. VII-B, Fig. 11), on-chip cycles (the model
  held on chip however few the PEs, as the paper's scaling assumes);
* ``padding`` - padding entries stored (and the share of processed entries
  that are real weights) against the number of PEs: interleaving rows over
  more PEs shortens each column slice, so fewer zero runs exceed the 4-bit
  relative index (Sec. VII-B, Fig. 12). As simulated, a PE's slice is cut
  into rounds of 64 rows (its accumulators), so the slice length is
  ``min(64, rows / PEs)`` and padding only falls once a PE has fewer than 64
  rows; ``padding_entries_one_csc`` gives the other reading, each PE's whole
  slice as one CSC, where padding falls from the first doubling;
* ``layers`` - time per layer on 64 PEs next to Table IV's EIE times (the
  PE array's time with the model on chip, as the paper assumes; ``time_us``
  adds the DRAM roofline where a layer's slices do not fit: VGG-6's pointers).

The weights of each layer are encoded once per PE count; the FIFO sweep
re-runs only the broadcast schedule. ``quick`` keeps three small layers and
four PE counts.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ..api import build_trace
from ..arch import load_arch
from ..arch.eie import EIE, plan_layer, schedule, trace_work
from ..results import finish, to_frame
from ..validation.eie import PATTERN, TABLE_IV_ACTUAL_US, TABLE_IV_THEORETICAL_US

DEPTHS = [1, 2, 4, 8, 16, 32, 64, 128, 256]
PES = [1, 2, 4, 8, 16, 32, 64, 128, 256]
QUICK_LAYERS = ["alex8", "nt_we", "nt_lstm"]


def run(quick: bool = False) -> dict[str, pd.DataFrame]:
    cfg = load_arch("eie")
    trace = build_trace("eie_benchmark", layers=QUICK_LAYERS if quick else None, pattern=PATTERN)
    depths = [1, 2, 4, 8, 32, 256] if quick else DEPTHS
    pes_list = [1, 8, 64, 256] if quick else PES
    model = EIE()
    fifo, scal, pad, layers = [], [], [], []
    for lt in trace:
        for pes in pes_list:
            p = dataclasses.replace(cfg.params, pes=pes)
            plan = plan_layer(lt, p)
            res = model.result(lt.layer, p, trace_work(plan, schedule(plan, p.fifo_depth)))
            x = finish(res, lt, arch="eie", config=cfg.name, workload=trace.workload, table=cfg.energy,
                       hardware=model.hardware(p))
            # on-chip cycles: the paper's scaling (Fig. 11) keeps the model on chip, however few the PEs
            on_chip = x["cycles"] - x["loss_dram_cycles"]
            scal.append({"layer": lt.name, "pes": pes, "cycles": on_chip, "latency_us": on_chip / x["freq_hz"] * 1e6,
                         "fits_on_chip": x["fits_on_chip"],
                         "load_balance_efficiency": x["load_balance_efficiency"], "rounds": x["rounds"]})
            # the other reading of the storage: each PE's whole slice as one CSC (accumulators for all its rows)
            whole = plan if plan.rounds == 1 else plan_layer(
                lt, dataclasses.replace(p, act_regs_per_pe=-(-lt.layer.rows_per_group // pes)))
            pad.append({"layer": lt.name, "pes": pes, "padding_entries": x["padding_entries"],
                        "stored_entries": x["stored_entries"], "padding_fraction": x["padding_fraction"],
                        "real_work_fraction": 1.0 - x["padding_work_fraction"],
                        "padding_entries_one_csc": whole.storage.padding_entries,
                        "padding_fraction_one_csc": whole.storage.padding_entries
                        / max(1, whole.storage.stored_entries)})
            if pes == cfg.params.pes:
                layers.append(x)
                for d in depths:
                    cycles, busy, k, stall = schedule(plan, d)
                    fifo.append({"layer": lt.name, "fifo_depth": d, "cycles": cycles,
                                 "load_balance_efficiency": float(busy.mean() / cycles) if cycles else 1.0,
                                 "fifo_full_stall_cycles": stall, "broadcast_rate": k / cycles if cycles else 0.0})
    scal_df = pd.DataFrame(scal)
    one = scal_df[scal_df["pes"] == min(pes_list)].set_index("layer")["cycles"] * min(pes_list)
    scal_df["speedup"] = scal_df["layer"].map(one) / scal_df["cycles"]
    lay = to_frame(layers)
    lay_df = pd.DataFrame({
        "layer": lay["layer"], "time_us": lay["latency_s"] * 1e6,
        "on_chip_time_us": (lay["cycles"] - lay["loss_dram_cycles"]) / lay["freq_hz"] * 1e6,
        "ideal_time_us": lay["ideal_cycles"] / lay["freq_hz"] * 1e6,
        "balanced_time_us": lay["pe_busy_mean"] / lay["freq_hz"] * 1e6,
        "paper_actual_us": lay["layer"].map(TABLE_IV_ACTUAL_US),
        "paper_theoretical_us": lay["layer"].map(TABLE_IV_THEORETICAL_US),
        "load_balance_efficiency": lay["load_balance_efficiency"], "padding_fraction": lay["padding_fraction"],
        "energy_uj": lay["energy_pj"] * 1e-6, "fits_on_chip": lay["fits_on_chip"]})
    return {"fifo_depth": pd.DataFrame(fifo), "scalability": scal_df, "padding": pd.DataFrame(pad),
            "layers": lay_df}


def plot(frames: dict[str, pd.DataFrame], outdir: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []

    def save(fig, name):
        fig.tight_layout()
        path = outdir / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)

    f = frames["fifo_depth"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for layer, g in f.groupby("layer", sort=False):
        ax.plot(g["fifo_depth"], g["load_balance_efficiency"] * 100, marker="o", ms=3, label=layer)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("activation FIFO depth (entries)")
    ax.set_ylabel("load-balance efficiency (%)")
    ax.set_ylim(0, 100)
    ax.set_title("EIE: load balance vs FIFO depth, 64 PEs (cf. Fig. 8)")
    ax.legend(fontsize=7, ncol=3)
    ax.grid(alpha=0.3)
    save(fig, "fifo_depth")

    s = frames["scalability"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for layer, g in s.groupby("layer", sort=False):
        ax.plot(g["pes"], g["speedup"], marker="o", ms=3, label=layer)
    pes = np.array(sorted(s["pes"].unique()))
    ax.plot(pes, pes / pes.min(), "k--", lw=0.8, label="linear")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("number of PEs")
    ax.set_ylabel("speedup over one PE (x)")
    ax.set_title("EIE: scalability, FIFO depth 8 (cf. Fig. 11)")
    ax.legend(fontsize=7, ncol=3)
    ax.grid(alpha=0.3)
    save(fig, "scalability")

    p = frames["padding"]
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 4.0))
    for layer, g in p.groupby("layer", sort=False):
        line, = axes[0].plot(g["pes"], g["padding_fraction"] * 100, marker="o", ms=3, label=layer)
        axes[1].plot(g["pes"], g["padding_fraction_one_csc"] * 100, marker="o", ms=3, color=line.get_color())
        axes[2].plot(g["pes"], g["real_work_fraction"] * 100, marker="o", ms=3, color=line.get_color())
    for a in axes:
        a.set_xscale("log", base=2)
        a.set_xlabel("number of PEs")
        a.grid(alpha=0.3)
    axes[0].set_ylabel("padding entries / stored entries (%)")
    axes[0].set_title("padding, 64-row rounds (as simulated)")
    axes[1].set_ylabel("padding entries / stored entries (%)")
    axes[1].set_title("padding, one CSC per PE slice")
    axes[2].set_ylabel("real weights among processed entries (%)")
    axes[2].set_title("useful share of the work (as simulated)")
    axes[0].legend(fontsize=7, ncol=2)
    fig.suptitle("EIE: padding zeros vs number of PEs (cf. Fig. 12)")
    save(fig, "padding")

    lay = frames["layers"]
    fig, ax = plt.subplots(figsize=(7.2, 4.0))
    x = np.arange(len(lay))
    ax.bar(x - 0.27, lay["on_chip_time_us"], 0.27, label="accelsim (model on chip)")
    ax.plot(x - 0.27, lay["ideal_time_us"], "k_", ms=12, label="accelsim, work / peak")
    ax.bar(x, lay["paper_actual_us"], 0.27, label="paper, actual (Table IV)")
    ax.bar(x + 0.27, lay["paper_theoretical_us"], 0.27, label="paper, theoretical (Table IV)")
    ax.set_xticks(x)
    ax.set_xticklabels(lay["layer"], rotation=30)
    ax.set_ylabel("time per layer (us)")
    ax.set_title("EIE: per-layer time, 64 PEs at 800 MHz, batch 1")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    save(fig, "layers")
    return paths
