"""SCNN vs DCNN: the GoogLeNet density sweep, three networks, PE granularity (Parashar et al., ISCA 2017, Sec. VI).

Three studies of the paper's evaluation, on seeded synthetic traces:

* ``density_sweep`` (Sec. VI-A, the GoogLeNet density sweep): GoogLeNet's
  convolutions with weights and activations pruned to the same density, from
  1.0 to 0.1; SCNN's speedup and energy relative to DCNN (and DCNN-opt's
  energy), the loss breakdown, and (``crossovers``) the densities where SCNN
  overtakes DCNN in time and in energy and DCNN-opt in energy, interpolated
  linearly between sweep points.
* ``networks`` / ``network_layers`` (Sec. VI-B, per-layer speedup and energy
  figures): AlexNet, GoogLeNet and VGG-16 at batch 1. Network figures cover the
  convolutions, as the paper's do; the FC layers are listed (``mode =
  fc-mapped``) but kept out of the network ratios. Densities: for AlexNet and
  VGG-16 the per-layer weight and input-activation densities of Han et al.,
  NeurIPS 2015, Tables 4-5 (profile ``han2015_act``: the pruned networks SCNN's
  evaluation starts from); GoogLeNet, for which no per-layer table is shipped,
  uniformly at ``GOOGLENET_WEIGHT_DENSITY`` and ``CONV_ACT_DENSITY`` (assumed).
  The first layer's input is the dense image; FC inputs take EIE's measured
  densities (Han et al., ISCA 2016, Table III).
* ``granularity`` (Sec. VI-C): the same 1,024 multipliers as 64 PEs of 4 x 4 or
  as 4 PEs of 16 x 16 (32 or 512 accumulator banks of 32 entries; per-PE SRAM
  and drain/halo rates scaled with the PE, keeping the totals), on GoogLeNet at
  the network densities above.

``quick=True`` runs three densities on six GoogLeNet layers, AlexNet's
convolutions and the granularity pair on the same six layers.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ..report.plots import save_figure

#: densities of the GoogLeNet sweep (weights and activations together)
SWEEP_DENSITIES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)
QUICK_DENSITIES = (1.0, 0.6, 0.2)
#: GoogLeNet layers of the quick runs: one inception module at 14 x 14
QUICK_LAYERS = ["inception4a_1x1", "inception4a_3x3_reduce", "inception4a_3x3", "inception4a_5x5_reduce",
                "inception4a_5x5", "inception4a_pool_proj"]
NETWORKS = ("alexnet", "googlenet", "vgg16")
#: per-layer weight and input-activation densities where the workload has them (AlexNet, VGG-16: Han et
#: al., NeurIPS 2015, Tables 4-5, see the workload files)
ACT_PROFILE = "han2015_act"
#: assumed where no per-layer table exists (GoogLeNet): activations of inner layers 40% nonzero
CONV_ACT_DENSITY = 0.4
#: assumed: GoogLeNet's pruned weight density (no per-layer table is shipped)
GOOGLENET_WEIGHT_DENSITY = 0.4
#: EIE's measured FC input densities (Han et al., ISCA 2016, Table III)
EIE_FC_ACT = {"alexnet": {"fc6": 0.351, "fc7": 0.353, "fc8": 0.375},
              "vgg16": {"fc6": 0.183, "fc7": 0.375, "fc8": 0.411}}
#: the paper's numbers, for the plots (Sec. VI; see accelsim/validation/scnn.py)
PUBLISHED_SWEEP = {"speedup": {1.0: 0.79, 0.1: 24.0}, "energy_ratio": {1.0: 1 / 1.33, 0.1: 1 / 0.06}}
PUBLISHED_NETWORK_SPEEDUP = {"alexnet": 2.37, "googlenet": 2.19, "vgg16": 3.52}
GRANULARITY = {"64 PEs x 4x4": {"pes": [8, 8], "F": 4, "I": 4, "acc_banks": 32},
               "4 PEs x 16x16": {"pes": [2, 2], "F": 16, "I": 16, "acc_banks": 512,
                                 "iaram_bytes": 16 * 10240, "oaram_bytes": 16 * 10240,
                                 "drain_words_per_cycle": 16, "halo_words_per_cycle": 16}}
LOSSES = ["ideal_cycles", "loss_fragmentation_cycles", "loss_load_imbalance_cycles",
          "loss_bank_conflict_cycles", "loss_halo_cycles", "loss_dram_cycles"]


# ---- traces --------------------------------------------------------------------------------
def googlenet_convs(layers: list[str] | None = None) -> list[str]:
    from ..workload import load_workload
    wl = load_workload("googlenet")
    return [l.name for l in wl.layers if l.is_conv and (layers is None or l.name in layers)]


def sweep_trace(density: float, layers: list[str] | None = None, seed: int = 0):
    """GoogLeNet's convolutions with weights and activations both at *density*."""
    from ..traces import make_trace
    from ..workload import load_workload
    return make_trace(load_workload("googlenet"), "unstructured", density=density, act_density=density,
                      seed=seed, layers=googlenet_convs(layers))


def network_trace(net: str, layers: list[str] | None = None, convs_only: bool = False, seed: int = 0):
    """*net* at the study's per-layer densities (module docstring)."""
    from ..traces import make_trace
    from ..workload import load_workload
    from ..workload.zoo import Density
    wl = load_workload(net)
    if ACT_PROFILE in wl.profiles:
        base = wl.densities(ACT_PROFILE)
    else:
        base = {l.name: Density(GOOGLENET_WEIGHT_DENSITY if l.prunable else 1.0, None) for l in wl.layers}
    prof = {}
    for i, l in enumerate(wl.layers):
        act = base[l.name].act
        if act is None or l.name in EIE_FC_ACT.get(net, {}):
            act = 1.0 if i == 0 else EIE_FC_ACT.get(net, {}).get(l.name, CONV_ACT_DENSITY)
        prof[l.name] = Density(base[l.name].weight, act)
    wl = dataclasses.replace(wl, profiles={**wl.profiles, "scnn_study": prof})
    names = [l.name for l in wl.layers if (not convs_only or l.is_conv) and (layers is None or l.name in layers)]
    return make_trace(wl, "unstructured", profile="scnn_study", seed=seed, layers=names)


# ---- runs -------------------------------------------------------------------------------------
def run_pair(trace, scnn_overrides: dict | None = None, with_opt: bool = True) -> pd.DataFrame:
    """SCNN rows (with their DCNN columns) and DCNN-opt's energy per layer, on one trace."""
    from ..api import simulate_trace
    from ..arch import load_arch
    from ..results import to_frame
    df = to_frame(simulate_trace(load_arch("scnn", scnn_overrides), trace))
    if with_opt:
        opt = to_frame(simulate_trace(load_arch("dcnn_opt"), trace))
        df["dcnn_opt_energy_pj"] = opt["energy_pj"].to_numpy()
    return df


def totals(df: pd.DataFrame) -> dict:
    """Network (or layer-set) figures: SCNN against DCNN and DCNN-opt, summed over layers.

    Every column summed here is already a total over a layer's repeats (the runner scales them by count).
    """
    cyc = df["cycles"].sum()
    out = {"scnn_cycles": cyc, "dcnn_cycles": df["dcnn_cycles"].sum(),
           "scnn_energy_pj": df["energy_pj"].sum(), "dcnn_energy_pj": df["dcnn_energy_pj"].sum()}
    out["speedup_vs_dcnn"] = out["dcnn_cycles"] / cyc
    out["energy_ratio_vs_dcnn"] = out["dcnn_energy_pj"] / out["scnn_energy_pj"]
    if "dcnn_opt_energy_pj" in df:
        out["dcnn_opt_energy_pj"] = df["dcnn_opt_energy_pj"].sum()
        out["energy_ratio_vs_dcnn_opt"] = out["dcnn_opt_energy_pj"] / out["scnn_energy_pj"]
    out["utilization"] = df["macs_performed"].sum() / (cyc * 1024)
    for c in LOSSES:
        out[f"frac_{c}"] = df[c].sum() / cyc
    return out


def crossing(x: np.ndarray, y: np.ndarray, level: float = 1.0) -> float:
    """The largest x where y crosses *level* going from below (dense end) to above, linearly
    interpolated; NaN if it never does. *x* descending (density), *y* the ratio at each x."""
    for i in range(len(x) - 1):
        if (y[i] - level) * (y[i + 1] - level) <= 0 and y[i] != y[i + 1]:
            return float(x[i] + (level - y[i]) * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))
    return float("nan")


def density_sweep(densities=SWEEP_DENSITIES, layers: list[str] | None = None) -> pd.DataFrame:
    rows = []
    for d in densities:
        df = run_pair(sweep_trace(d, layers))
        rows.append({"density": d, **totals(df)})
    return pd.DataFrame(rows)


def crossovers(sweep: pd.DataFrame) -> pd.DataFrame:
    s = sweep.sort_values("density", ascending=False)
    x = s["density"].to_numpy()
    rows = [{"quantity": "performance vs DCNN", "density": crossing(x, s["speedup_vs_dcnn"].to_numpy()),
             "published": 0.85},
            {"quantity": "energy vs DCNN", "density": crossing(x, s["energy_ratio_vs_dcnn"].to_numpy()),
             "published": 0.83}]
    if "energy_ratio_vs_dcnn_opt" in s:
        rows.append({"quantity": "energy vs DCNN-opt",
                     "density": crossing(x, s["energy_ratio_vs_dcnn_opt"].to_numpy()), "published": 0.6})
    return pd.DataFrame(rows)


def networks(nets=NETWORKS, quick: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    layer_frames, rows = [], []
    for net in nets:
        tr = network_trace(net, convs_only=quick)
        df = run_pair(tr)
        df.insert(0, "network", net)
        layer_frames.append(df)
        conv = df[df["mode"] == "conv"]
        fc = df[df["mode"] != "conv"]
        r = {"network": net, "conv_layers": len(conv), **totals(conv),
             "published_speedup": PUBLISHED_NETWORK_SPEEDUP.get(net, np.nan)}
        if len(fc):
            r["fc_layers"] = len(fc)
            r["fc_speedup_vs_dcnn"] = fc["dcnn_cycles"].sum() / fc["cycles"].sum()
            r["fc_compute_utilization"] = fc["macs_performed"].sum() / (fc["compute_cycles"].sum() * 1024)
        rows.append(r)
    return pd.DataFrame(rows), pd.concat(layer_frames, ignore_index=True)


def granularity(layers: list[str] | None = None) -> pd.DataFrame:
    from ..api import simulate_trace
    from ..arch import load_arch
    from ..results import to_frame
    tr = network_trace("googlenet", layers=googlenet_convs(layers), convs_only=True)
    rows = []
    for label, over in GRANULARITY.items():
        df = to_frame(simulate_trace(load_arch("scnn", {**over, "compare_dcnn": False}), tr))
        cyc = df["cycles"].sum()
        rows.append({"config": label, "cycles": cyc, "utilization": df["macs_performed"].sum() / (cyc * 1024),
                     **{f"frac_{c}": df[c].sum() / cyc for c in LOSSES}})
    out = pd.DataFrame(rows)
    out["speedup_vs_4pe"] = out["cycles"].iloc[-1] / out["cycles"]
    return out


def run(quick: bool = False) -> dict[str, pd.DataFrame]:
    layers = QUICK_LAYERS if quick else None
    sweep = density_sweep(QUICK_DENSITIES if quick else SWEEP_DENSITIES, layers)
    nets, layer_rows = networks(("alexnet",) if quick else NETWORKS, quick=quick)
    keep = ["network", "layer", "op", "mode", "kc", "tiles", "weight_density", "act_density", "cycles",
            "dcnn_cycles", "speedup_vs_dcnn", "energy_pj", "dcnn_energy_pj", "dcnn_opt_energy_pj",
            "energy_ratio_vs_dcnn", "utilization", "load_balance", "bank_conflict_method", *LOSSES]
    return {"density_sweep": sweep, "crossovers": crossovers(sweep), "networks": nets,
            "network_layers": layer_rows[[c for c in keep if c in layer_rows.columns]],
            "granularity": granularity(layers)}


# ---- plots ------------------------------------------------------------------------------------
def plot(frames: dict[str, pd.DataFrame], outdir: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    sw = frames["density_sweep"].sort_values("density")
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    # (series: column, style, label), published points, y label, title: one panel each, drawn alike
    panels = [([("speedup_vs_dcnn", "o-", "SCNN / DCNN (accelsim)")], (PUBLISHED_SWEEP["speedup"], "published (Sec. VI-A)"),
               "speedup over DCNN (x)", "GoogLeNet: performance vs density"),
              ([("energy_ratio_vs_dcnn", "o-", "DCNN energy / SCNN energy"),
                ("energy_ratio_vs_dcnn_opt", "s--", "DCNN-opt energy / SCNN energy")],
               (PUBLISHED_SWEEP["energy_ratio"], "published vs DCNN (Sec. VI-A)"),
               "energy improvement over baseline (x)", "GoogLeNet: energy vs density")]
    for a, (series, (pub, pub_label), ylabel, title) in zip(ax, panels):
        for col, style, label in series:
            if col in sw:
                a.plot(sw["density"], sw[col], style, label=label)
        a.plot(list(pub), list(pub.values()), "k*", ms=11, label=pub_label)
        a.axhline(1.0, color="gray", lw=0.8)
        a.set_yscale("log")
        a.set_xlabel("weight and activation density")
        a.set_ylabel(ylabel)
        a.set_title(title)
        a.invert_xaxis()
        a.legend(fontsize=8)
    paths += save_figure(fig, outdir, "scnn_density_sweep")

    fig, ax = plt.subplots(figsize=(9, 4.5))
    labels = {"ideal_cycles": "useful multiplies", "loss_fragmentation_cycles": "intra-PE fragmentation",
              "loss_load_imbalance_cycles": "inter-PE imbalance", "loss_bank_conflict_cycles": "bank conflicts",
              "loss_halo_cycles": "halo / drain", "loss_dram_cycles": "DRAM stall"}
    x = np.arange(len(sw))
    bottom = np.zeros(len(sw))
    for c, lab in labels.items():
        v = sw[f"frac_{c}"].to_numpy()
        ax.bar(x, v, bottom=bottom, label=lab)
        bottom += v
    ax.set_xticks(x)
    ax.set_xticklabels([f"{d:g}" for d in sw["density"]])
    ax.set_xlabel("weight and activation density")
    ax.set_ylabel("fraction of SCNN cycles")
    ax.set_title("SCNN on GoogLeNet: where the multiplier cycles go")
    ax.legend(fontsize=8, loc="lower right")
    paths += save_figure(fig, outdir, "scnn_losses")

    lay = frames["network_layers"]
    nets = list(dict.fromkeys(lay["network"]))
    fig, axes = plt.subplots(len(nets), 1, figsize=(12, 3.2 * len(nets)), squeeze=False)
    for ax, net in zip(axes[:, 0], nets):
        d = lay[lay["network"] == net]
        xs = np.arange(len(d))
        ax.bar(xs - 0.2, d["speedup_vs_dcnn"], 0.4, label="speedup over DCNN")
        ax.bar(xs + 0.2, d["energy_ratio_vs_dcnn"], 0.4, label="energy improvement over DCNN")
        ax.axhline(1.0, color="gray", lw=0.8)
        ax.set_xticks(xs)
        ax.set_xticklabels(d["layer"], rotation=90 if len(d) > 20 else 30, fontsize=6 if len(d) > 20 else 8)
        ax.set_ylabel("x over DCNN")
        ax.set_title(f"{net}: per-layer SCNN vs DCNN (FC layers are fc-mapped)")
        ax.legend(fontsize=8)
    paths += save_figure(fig, outdir, "scnn_networks")

    g = frames["granularity"]
    fig, ax = plt.subplots(figsize=(7, 4))
    bottom = np.zeros(len(g))
    for c, lab in labels.items():
        v = g[f"frac_{c}"].to_numpy()
        ax.bar(g["config"], v, bottom=bottom, label=lab)
        bottom += v
    for i, r in enumerate(g.itertuples()):
        ax.text(i, 1.01, f"{r.speedup_vs_4pe:.2f}x, util {r.utilization:.0%}", ha="center", fontsize=9)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("fraction of SCNN cycles")
    ax.set_title("1,024 multipliers as 64 small PEs or 4 large PEs (GoogLeNet)")
    ax.legend(fontsize=7, loc="lower right")
    paths += save_figure(fig, outdir, "scnn_granularity")
    return paths
