"""SCNN (Parashar et al., ISCA 2017): the published comparisons with DCNN, reproduced.

Settings (``accelsim.studies.scnn`` holds them): the density sweep runs
GoogLeNet's convolutions with weights and activations at the same density
(Sec. VI-A); the network figures run AlexNet, GoogLeNet and VGG-16's
convolutions at batch 1 with the per-layer weight and activation densities of
Han et al., NeurIPS 2015 (AlexNet, VGG-16; profile ``han2015_act``) and an
assumed 0.4 for GoogLeNet's weights and inner activations (the paper used real
pruned models and real images, which we do not have: wide tolerances).
Numbers are the paper's text where it states them (``text``); figure reads
(``figure``) and numbers read through a secondary summary of the paper
(``secondary``) are marked and get wider tolerances. Figure numbers follow the
ISCA version.
"""
from __future__ import annotations

import functools

import numpy as np

#: sweep points: the two ends the paper quotes and enough in between for the crossovers
DENSITIES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.1)
SRC = "Parashar et al., ISCA 2017"


@functools.lru_cache(maxsize=1)
def _sweep():
    from ..studies.scnn import crossovers, density_sweep
    sw = density_sweep(DENSITIES)
    return sw.set_index("density"), crossovers(sw).set_index("quantity")["density"]


@functools.lru_cache(maxsize=4)
def _network(net: str) -> dict:
    from ..studies.scnn import network_trace, run_pair, totals
    df = run_pair(network_trace(net, convs_only=True))
    # layers whose compressed activations do not fit the 10 KB IARAM / OARAM of a PE (temporal tiling)
    return {**totals(df), "layers": len(df), "spilled": int((~(df["iaram_fits"] & df["oaram_fits"])).sum())}


@functools.lru_cache(maxsize=1)
def _granularity():
    from ..studies.scnn import granularity
    return granularity().set_index("config")


def _fc_peak_utilization() -> float:
    """Multiplier utilization of AlexNet's fc7 shape at batch 1 with dense operands, compute only
    (DRAM time left out): the ceiling the FC mapping allows."""
    from ..arch import load_arch
    from ..traces import LayerTrace
    from ..workload import gemm
    lay = gemm("fc7", M=4096, K=4096, N=1)
    lt = LayerTrace(lay, np.ones((4096, 4096), np.float32), np.ones((4096, 1), np.float32))
    r = load_arch("scnn", {"compare_dcnn": False}).simulate(lt)
    return r.macs_performed / ((r.cycles - r.losses["dram"]) * 1024)


def cases() -> list[dict]:
    sw, cross = _sweep()
    nets = {n: _network(n) for n in ("alexnet", "googlenet", "vgg16")}
    gran = _granularity()
    mean_speedup = float(np.mean([v["speedup_vs_dcnn"] for v in nets.values()]))
    mean_energy = float(np.mean([v["energy_ratio_vs_dcnn"] for v in nets.values()]))
    c = []

    def add(quantity, published, value, unit, tol, source, kind, category, model="scnn"):
        c.append({"model": model, "quantity": quantity, "published": published, "accelsim": float(value),
                  "unit": unit, "tolerance_pct": tol, "source": f"{SRC}, {source}", "source_kind": kind,
                  "category": category})

    add("GoogLeNet density sweep, performance relative to DCNN at density 1.0", 0.79,
        sw.loc[1.0, "speedup_vs_dcnn"], "x", 15, "Sec. VI-A (GoogLeNet sweep): 79% of DCNN's performance", "text",
        "performance")
    add("GoogLeNet density sweep, speedup over DCNN at density 0.1", 24.0,
        sw.loc[0.1, "speedup_vs_dcnn"], "x", 35, "Sec. VI-A: 24x at 0.1/0.1 density", "text", "performance")
    add("GoogLeNet density sweep, SCNN energy / DCNN energy at density 1.0", 1.33,
        1 / sw.loc[1.0, "energy_ratio_vs_dcnn"], "x", 20, "Sec. VI-A: 33% more energy than DCNN when dense", "text", "energy")
    add("GoogLeNet density sweep, SCNN energy / DCNN energy at density 0.1", 0.06,
        1 / sw.loc[0.1, "energy_ratio_vs_dcnn"], "x", 60, "Sec. VI-A: 6% of DCNN's energy at 0.1/0.1", "text", "energy")
    add("density below which SCNN is faster than DCNN", 0.85, cross["performance vs DCNN"], "density", 10,
        "Sec. VI-A, GoogLeNet sweep (crossover read from the figure)", "figure", "performance")
    add("density below which SCNN uses less energy than DCNN", 0.83, cross["energy vs DCNN"], "density", 15,
        "Sec. VI-A, GoogLeNet sweep (crossover read from the figure)", "figure", "energy")
    # this one checks the dense twin's zero-gating (DCNN-opt) as much as SCNN: filed under the dcnn model
    add("density below which SCNN uses less energy than DCNN-opt (zero-gated dense twin)", 0.6,
        cross["energy vs DCNN-opt"], "density", 30, "Sec. VI-A, GoogLeNet sweep (crossover read from the figure)",
        "figure", "energy", model="dcnn")
    for net, pub in (("alexnet", 2.37), ("googlenet", 2.19), ("vgg16", 3.52)):
        add(f"{net} network speedup over DCNN (convolutions, batch 1)", pub, nets[net]["speedup_vs_dcnn"], "x",
            40, "Sec. VI-B, per-network performance (densities: module docstring), via a secondary summary",
            "secondary", "performance")
    add("mean network speedup over DCNN", 2.7, mean_speedup, "x", 40, "Abstract and Sec. VI-B: 2.7x", "text", "performance")
    add("mean network energy improvement over DCNN", 2.3, mean_energy, "x", 40, "Abstract and Sec. VI-B: 2.3x", "text", "energy")
    add("convolutions whose activations do not fit on chip (AlexNet, GoogLeNet, VGG-16)", 9,
        sum(v["spilled"] for v in nets.values()), "layers", 15,
        "Sec. VI (temporal tiling): 9 of the 72 layers, all in VGGNet, via a secondary summary", "secondary",
        "storage")
    add("GoogLeNet: 64 PEs x 16 multipliers over 4 PEs x 256 multipliers", 1.11,
        gran.loc["64 PEs x 4x4", "speedup_vs_4pe"], "x", 10, "Sec. VI-C (PE granularity): 11% faster", "text", "performance")
    add("FC layer peak multiplier utilization at batch 1 (AlexNet fc7 shape, dense, compute only)", 0.25,
        _fc_peak_utilization(), "", 5, "Sec. VI (FC discussion): without weight reuse the 4x4 array reaches "
        "at most 25% of peak (4 useful products a cycle)", "text", "identity")
    return c
