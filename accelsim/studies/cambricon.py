"""Cambricon-X vs Cambricon-S on AlexNet and VGG-16: per-layer and total speedup and energy, and where S gains.

The setting, as close to the Cambricon-S paper's comparison (Zhou et al., MICRO 2018, Sec. 5-6) as the
sources we could read allow (its own text could not be read; docs/cambricon.md says what was):

* **Weights at equal accuracy, not equal density.** Cambricon-X runs fine-grained (unstructured magnitude)
  pruning at Deep Compression's per-layer densities (profile ``han2015``: Han, Mao and Dally, ICLR 2016,
  Tables 4-5), which keep the networks' accuracy. Cambricon-S runs the paper's coarse-grained blocks
  (AlexNet, Sec. 3: convolutions (B_fin, B_fout, B_x, B_y) = (1, 16, 1, 1), i.e. ``block:16x1``; fc6/fc7
  ``block:32x32``; the last FC layer ``block:16x16``; VGG-16 takes the same shapes, its own not being in
  the sources we read), which keep more weights at the same accuracy. The paper's pruning ratios could not
  be read; its AlexNet compression (79x over 32-bit weights, Sec. 3, after 8/4-bit local quantization and
  Huffman coding) can: :func:`iso_accuracy_scale` finds the factor on Deep Compression's densities at
  which the model's Cambricon-S stores AlexNet in 1/79 of its 32-bit size (about 1.4), and S's layers
  keep that many more weights.
* **Activations per layer.** The input activation densities Han et al. measured on their pruned networks
  (NeurIPS 2015, Tables 4-5, the Act% of the previous layer's output), from a workload's ``han2015_act``
  profile when it has one, else AlexNet's :data:`HAN2015_INPUT_ACT`; without either, the Cambricon-S
  paper's average dynamic neuron sparsity (40.52 % for VGG-16) in every layer but the first (an image,
  dense).

Where S gains is split into four steps, each changing one thing:

* ``x``: Cambricon-X on unstructured pruning (the baseline);
* ``x_blocks``: Cambricon-X on Cambricon-S's block-pruned weights (regular sparsity alone: balance, and
  the extra weights S keeps);
* ``s_dense_act``: Cambricon-S on the same weights with every activation nonzero (the shared selector,
  the small index, quantized weights; no activation skipping);
* ``s``: Cambricon-S as published (plus skipping zero activations).
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from ..api import simulate_trace
from ..arch import load_arch
from ..arch._cambricon_common import IM_COMPONENTS
from ..results import to_frame
from ..traces import LayerTrace, Trace, make_trace
from ..traces.stats import StatsTrace, make_stats
from ..workload import load_workload
from ..report.plots import save_figure

#: dynamic neuron sparsity reported by the Cambricon-S paper (Sec. 5, via a secondary summary)
NEURON_SPARSITY = {"alexnet": 0.6237, "vgg16": 0.4052}
#: AlexNet's input activation density per layer: Han et al., NeurIPS 2015, Table 4, the Act% column of the
#: layer before (conv1 reads the image). Recalled, not re-read; the same table's FLOP% column is Weights%
#: times these (conv2 38 % x 88 % = 33 %, conv3 35 % x 52 % = 18 %, fc6 9 % x 34 % = 3 %), and EIE's measured
#: FC input densities (ISCA 2016, Table III: 35.1, 35.3, 37.5 %) are close, which checks them. A workload
#: profile ``han2015_act`` with the same numbers takes precedence.
HAN2015_INPUT_ACT = {"conv1": 1.0, "conv2": 0.88, "conv3": 0.52, "conv4": 0.37, "conv5": 0.40, "fc6": 0.34,
                     "fc7": 0.36, "fc8": 0.40}
#: AlexNet's compression by Cambricon-S's software (Sec. 3, via a secondary summary): 79x over 32-bit weights
S_COMPRESSION = 79.0
PROFILE = "han2015"
QUICK_LAYERS = {"alexnet": ["conv3", "conv5", "fc8"]}
VARIANTS = ("x", "x_blocks", "s_dense_act", "s")


def paper_patterns(workload) -> dict[str, str]:
    """The Cambricon-S block shape of every layer (AlexNet's, Sec. 3): conv 16x1, fc 32x32, last fc 16x16."""
    fcs = [l.name for l in workload.layers if not l.is_conv]
    out = {}
    for lay in workload.layers:
        if lay.is_conv:
            out[lay.name] = "block:16x1"
        else:
            out[lay.name] = "block:16x16" if lay.name == fcs[-1] else "block:32x32"
    return out


def activation_densities(network: str) -> dict[str, float]:
    """Input activation density per layer (module docstring): AlexNet's from Han et al.; otherwise the
    Cambricon-S paper's average neuron sparsity, the first layer's input dense."""
    wl = load_workload(network)
    if "han2015_act" in wl.profile_names():      # the workload's own copy of Han et al.'s table, when it has one
        return {n: d.act for n, d in wl.densities("han2015_act").items()}
    if network == "alexnet":
        return {l.name: HAN2015_INPUT_ACT[l.name] for l in wl.layers}
    act = 1.0 - NEURON_SPARSITY.get(network, 0.0)
    return {l.name: (1.0 if i == 0 else act) for i, l in enumerate(wl.layers)}


def s_densities(network: str, scale: float) -> dict[str, float]:
    """Cambricon-S's weight density per layer: Deep Compression's times *scale*, at most 1."""
    wl = load_workload(network)
    return {n: min(1.0, d.weight * scale) for n, d in wl.densities(PROFILE).items()}


def s_compression(scale: float, network: str = "alexnet") -> float:
    """Dense 32-bit weights over Cambricon-S's stored weights, codes, tables and index (statistical mode)."""
    wl = load_workload(network)
    pats, dens = paper_patterns(wl), s_densities(network, scale)
    layers = [make_stats(wl, pats[n], density=dens[n], act_density=1.0, layers=[n]).layers[0] for n in pats]
    s = to_frame(simulate_trace(load_arch("cambricon_s"), StatsTrace(network, layers)))
    return wl.total_weights * 32.0 / float(s["weight_bits"].sum() + s["metadata_bits"].sum())


@functools.lru_cache(maxsize=1)
def iso_accuracy_scale() -> float:
    """How many more weights Cambricon-S's coarse-grained pruning keeps than Deep Compression's fine-grained
    pruning at the same accuracy: the factor on the ``han2015`` densities at which the model's Cambricon-S
    compresses AlexNet by the paper's 79x (bisection; compression falls as the factor grows)."""
    lo, hi = 1.0, 3.0
    if s_compression(lo) <= S_COMPRESSION:
        return lo
    for _ in range(10):
        mid = 0.5 * (lo + hi)
        if s_compression(mid) > S_COMPRESSION:
            lo = mid
        else:
            hi = mid
    return round(0.5 * (lo + hi), 3)


def paper_traces(network: str, layers: list[str] | None = None, seed: int = 0,
                 act_density: float | None = None, s_scale: float | None = None) -> tuple[Trace, Trace]:
    """``(unstructured trace for Cambricon-X, block-pruned trace for Cambricon-S)`` of *network* in the
    module's setting (*act_density* replaces the per-layer activation densities, *s_scale* the iso-accuracy
    factor), with the same activation density in both."""
    wl = load_workload(network)
    names = layers or [l.name for l in wl.layers]
    act = activation_densities(network) if act_density is None else {n: act_density for n in names}
    x_dens = {n: d.weight for n, d in wl.densities(PROFILE).items()}
    s_dens = s_densities(network, iso_accuracy_scale() if s_scale is None else s_scale)
    pats = paper_patterns(wl)

    def one(name: str, pattern: str, density: float) -> LayerTrace:
        return make_trace(wl, pattern, density=density, act_density=act[name], seed=seed, layers=[name]).layers[0]

    prov = {"profile": PROFILE, "seed": seed}
    return (Trace(network, [one(n, "unstructured", x_dens[n]) for n in names], {**prov, "pattern": "unstructured"}),
            Trace(network, [one(n, pats[n], s_dens[n]) for n in names], {**prov, "pattern": "cambricon-s blocks"}))


def dense_activations(trace: Trace) -> Trace:
    """The same weights with every activation nonzero."""
    return Trace(trace.workload, [LayerTrace(lt.layer, lt.weight, np.ones_like(lt.input), dict(lt.info))
                                  for lt in trace.layers], dict(trace.provenance))


def run_variants(network: str, layers: list[str] | None = None, seed: int = 0) -> pd.DataFrame:
    """Rows of the four variants (column ``variant``) on *network*."""
    tx, ts = paper_traces(network, layers, seed)
    x_arch, s_arch = load_arch("cambricon_x"), load_arch("cambricon_s")
    frames = []
    for variant, arch, tr in (("x", x_arch, tx), ("x_blocks", x_arch, ts),
                              ("s_dense_act", s_arch, dense_activations(ts)), ("s", s_arch, ts)):
        df = to_frame(simulate_trace(arch, tr))
        df.insert(0, "variant", variant)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    out["energy_onchip_pj"] = out["energy_pj"] - out["energy_dram_pj"]
    # the accelerator's own cycles, DRAM traffic hidden (the runner's roofline at the assumed bandwidth off)
    out["cycles_dram_hidden"] = out["cycles"] - out["loss_dram_cycles"]
    # the indexing hardware (X's IMs, S's selectors) and S's decoder, from the declared components
    out["energy_indexing_pj"] = sum(out.get(f"component_{c}_pj", 0.0) for c in IM_COMPONENTS)
    out["energy_indexing_pj"] = out["energy_indexing_pj"].fillna(0.0)
    out["energy_decoder_pj"] = sum(out[c].fillna(0.0) for c in ("component_codebook_pj", "component_huffman_pj")
                                   if c in out.columns)
    return out


def _per_layer(raw: pd.DataFrame, network: str) -> pd.DataFrame:
    x = raw[raw.variant == "x"].set_index("layer")
    s = raw[raw.variant == "s"].set_index("layer")
    df = pd.DataFrame({
        "network": network, "layer": x.index, "weight_density": x["weight_density"].values,
        "act_density": s["act_density"].values,
        "x_cycles": x["cycles"].values, "s_cycles": s["cycles"].values,
        "speedup": (x["cycles"] / s["cycles"]).values,
        "speedup_dram_hidden": (x["cycles_dram_hidden"] / s["cycles_dram_hidden"]).values,
        "x_energy_onchip_pj": x["energy_onchip_pj"].values, "s_energy_onchip_pj": s["energy_onchip_pj"].values,
        "energy_efficiency": (x["energy_onchip_pj"] / s["energy_onchip_pj"]).values,
        "x_energy_pj": x["energy_pj"].values, "s_energy_pj": s["energy_pj"].values,
        "x_energy_indexing_pj": x["energy_indexing_pj"].values,
        "s_energy_indexing_pj": s["energy_indexing_pj"].values,
        "x_index_bits": x["index_bits_total"].values, "s_index_bits": s["index_bits_total"].values,
        "x_load_balance": x["load_balance"].values, "s_load_balance": s["load_balance"].values,
        "s_activation_skip_fraction": s["activation_skip_fraction"].values,
        "s_block": s["block"].values,
    })
    return df.reset_index(drop=True)


def _breakdown(raw: pd.DataFrame, network: str) -> pd.DataFrame:
    comps = sorted(c for c in raw.columns if c.startswith(("energy_", "component_")) and c.endswith("_pj")
                   and c not in ("energy_pj", "energy_onchip_pj"))
    g = raw.groupby("variant", sort=False)
    tot = g[["cycles", "cycles_dram_hidden", "energy_pj", "energy_onchip_pj", "index_bits_total"] + comps].sum() \
        .reindex(VARIANTS)
    tot["load_balance"] = g.apply(lambda d: float(np.average(d["load_balance"], weights=d["cycles"])),
                                  include_groups=False).reindex(VARIANTS)
    base = tot.loc["x"]
    tot["speedup_vs_x"] = base["cycles"] / tot["cycles"]
    tot["energy_efficiency_vs_x"] = base["energy_onchip_pj"] / tot["energy_onchip_pj"]
    prev = tot.shift(1)
    tot["step_speedup"] = (prev["cycles"] / tot["cycles"]).fillna(1.0)
    tot["step_energy_efficiency"] = (prev["energy_onchip_pj"] / tot["energy_onchip_pj"]).fillna(1.0)
    tot = tot.reset_index()
    tot.insert(0, "network", network)
    return tot


def run(quick: bool = False) -> dict[str, pd.DataFrame]:
    networks = ["alexnet"] if quick else ["alexnet", "vgg16"]
    layers, totals, breakdown = [], [], []
    for net in networks:
        raw = run_variants(net, QUICK_LAYERS.get(net) if quick else None)
        per = _per_layer(raw, net)
        layers.append(per)
        bd = _breakdown(raw, net)
        breakdown.append(bd)
        x, s = bd.set_index("variant").loc["x"], bd.set_index("variant").loc["s"]
        totals.append({"network": net, "layers": len(per), "x_cycles": x["cycles"], "s_cycles": s["cycles"],
                       "speedup": x["cycles"] / s["cycles"],
                       "speedup_dram_hidden": x["cycles_dram_hidden"] / s["cycles_dram_hidden"],
                       "energy_efficiency": x["energy_onchip_pj"] / s["energy_onchip_pj"],
                       "energy_efficiency_with_dram": x["energy_pj"] / s["energy_pj"],
                       "x_indexing_share": x["energy_indexing_pj"] / x["energy_onchip_pj"],
                       "s_indexing_share": s["energy_indexing_pj"] / s["energy_onchip_pj"],
                       "x_index_kib": x["index_bits_total"] / 8 / 1024,
                       "s_index_kib": s["index_bits_total"] / 8 / 1024,
                       "index_reduction": x["index_bits_total"] / s["index_bits_total"]})
    tot = pd.DataFrame(totals)
    if len(tot) > 1:
        gm = {"network": "geomean", "layers": int(tot["layers"].sum())}
        for c in ("speedup", "speedup_dram_hidden", "energy_efficiency", "energy_efficiency_with_dram",
                  "index_reduction"):
            gm[c] = float(np.exp(np.log(tot[c]).mean()))
        tot = pd.concat([tot, pd.DataFrame([gm])], ignore_index=True)
    return {"layers": pd.concat(layers, ignore_index=True), "totals": tot,
            "breakdown": pd.concat(breakdown, ignore_index=True)}


def plot(frames: dict[str, pd.DataFrame], outdir: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    layers, bd = frames["layers"], frames["breakdown"]
    nets = list(dict.fromkeys(layers["network"]))

    fig, axes = plt.subplots(len(nets), 1, figsize=(max(6, 0.55 * layers.groupby("network").size().max() + 2),
                                                    3.2 * len(nets)), squeeze=False)
    for ax, net in zip(axes[:, 0], nets):
        d = layers[layers.network == net]
        xs = np.arange(len(d))
        ax.bar(xs - 0.27, d["speedup"], 0.27, label="speedup (cycles X / S, DRAM at 16 B/cycle)")
        ax.bar(xs, d["speedup_dram_hidden"], 0.27, label="speedup, DRAM hidden")
        ax.bar(xs + 0.27, d["energy_efficiency"], 0.27, label="energy efficiency (on-chip X / S)")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xticks(xs, d["layer"], rotation=45, ha="right")
        ax.set_ylabel("Cambricon-S over X (x)")
        ax.set_title(f"{net}: Cambricon-S vs Cambricon-X per layer (equal accuracy)")
        ax.legend(fontsize=8)
    paths += save_figure(fig, outdir, "speedup_per_layer")

    comps = [c for c in ("component_mac_pj", "component_sb_pj", "energy_indexing_pj", "component_nbin_pj",
                         "component_nbout_pj", "energy_decoder_pj", "component_noc_pj") if c in bd.columns]
    fig, axes = plt.subplots(1, 2 * len(nets), figsize=(5.5 * 2 * len(nets), 4), squeeze=False)
    for i, net in enumerate(nets):
        d = bd[bd.network == net].set_index("variant").reindex(VARIANTS)
        ax = axes[0, 2 * i]
        ax.bar(d.index, d["cycles"] / d.loc["x", "cycles"], color="tab:gray")
        ax.set_ylabel("cycles relative to Cambricon-X")
        ax.set_title(f"{net}: cycles by step")
        ax = axes[0, 2 * i + 1]
        bottom = np.zeros(len(d))
        scale = d.loc["x", "energy_onchip_pj"]
        for c in comps:
            v = d[c].fillna(0.0).values / scale
            ax.bar(d.index, v, bottom=bottom,
                   label=c.removeprefix("energy_").removeprefix("component_").removesuffix("_pj"))
            bottom += v
        ax.set_ylabel("on-chip energy relative to Cambricon-X")
        ax.set_title(f"{net}: on-chip energy by component")
        ax.legend(fontsize=7)
        for a in axes[0, 2 * i:2 * i + 2]:
            a.tick_params(axis="x", rotation=20)
    paths += save_figure(fig, outdir, "breakdown")

    tot = frames["totals"][frames["totals"].network != "geomean"]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    xs = np.arange(len(tot))
    ax.bar(xs - 0.2, tot["x_index_kib"], 0.4, label="Cambricon-X (4-bit steps)")
    ax.bar(xs + 0.2, tot["s_index_kib"], 0.4, label="Cambricon-S (bitmap over blocks)")
    ax.set_yscale("log")
    ax.set_xticks(xs, tot["network"])
    ax.set_ylabel("weight index (KiB)")
    ax.set_title("Weight index storage at equal accuracy")
    ax.legend(fontsize=8)
    paths += save_figure(fig, outdir, "index_storage")
    return paths
