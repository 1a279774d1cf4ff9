"""Cambricon-X (MICRO 2016) and Cambricon-S (MICRO 2018): published figures against the models.

The two models run AlexNet in the setting of :mod:`accelsim.studies.cambricon`, which is as close to the
Cambricon-S paper's comparison as the sources we could read allow: Cambricon-X on fine-grained pruning at
Deep Compression's per-layer densities, Cambricon-S on the paper's coarse-grained blocks keeping the
weights that reproduce its 79x AlexNet compression (coarse-grained pruning keeps more weights at the same
accuracy), Han et al.'s per-layer activation densities. Neither paper's full text could be read: the
published ratios are averages over the paper's benchmark set, which accelsim cannot reconstruct, and are
compared with AlexNet's.

The ratios compare the accelerators themselves: cycles with DRAM traffic hidden and on-chip energy. The
paper's 1.71x and 1.37x are only consistent with such a comparison: with AlexNet's FC layers streaming
their weights from DRAM at batch 1, both designs would be DRAM-bound there and Cambricon-S's 2-bit coded
weights (against Cambricon-X's 20-bit step-indexed ones) would dominate both ratios (the study reports
the DRAM-bound ratios too). Figures from secondary summaries of the papers (not the papers' text) say so
in their source.

Building the AlexNet traces takes about 10 s; every case below shares them.
"""
from __future__ import annotations

from functools import lru_cache

from ..api import simulate_trace
from ..arch import load_arch
from ..arch._cambricon_common import indexing_energy_pj
from ..results import to_frame
from ..traces import make_trace
from ..workload import load_workload

X_PAPER = "Zhang et al., Cambricon-X, MICRO 2016"
S_PAPER = "Zhou et al., Cambricon-S, MICRO 2018"
#: AlexNet's dense weights in 32-bit floating point, the reference of the paper's compression ratio
FP32_BITS = 32


def _setting() -> str:
    from ..studies.cambricon import iso_accuracy_scale
    return (f"accelsim: AlexNet, X at Deep Compression's densities, S on the paper's blocks keeping "
            f"{iso_accuracy_scale():.2f}x as many weights (its 79x compression), Han et al.'s per-layer "
            "activations; the paper's benchmark set, pruning ratios and memory setting could not be read")


@lru_cache(maxsize=1)
def _alexnet():
    from ..studies.cambricon import paper_traces
    tx, ts = paper_traces("alexnet")
    x = to_frame(simulate_trace(load_arch("cambricon_x"), tx))
    s = to_frame(simulate_trace(load_arch("cambricon_s"), ts))
    return x, s


def _peak_gops() -> float:
    """Cambricon-X on a dense 1024 x 4096 FC layer at batch 64: operations (2 per MAC) per second."""
    wl = load_workload("gemm:1024x64x4096")     # batch 64: compute-bound at the assumed DRAM bandwidth
    tr = make_trace(wl, "dense", seed=0)
    df = to_frame(simulate_trace(load_arch("cambricon_x"), tr))
    r = df.iloc[0]
    return 2.0 * r["macs_performed"] / r["latency_s"] / 1e9


def cases() -> list[dict]:
    x, s = _alexnet()
    x_onchip = float(x["energy_pj"].sum() - x["energy_dram_pj"].sum())
    s_onchip = float(s["energy_pj"].sum() - s["energy_dram_pj"].sum())
    x_core = float((x["cycles"] - x["loss_dram_cycles"]).sum())
    s_core = float((s["cycles"] - s["loss_dram_cycles"]).sum())
    wl = load_workload("alexnet")
    dense_bits = float(wl.total_weights) * FP32_BITS
    s_stored = float(s["weight_bits"].sum() + s["metadata_bits"].sum())
    return [
        {"model": "cambricon_x", "quantity": "peak throughput, dense FC layer at batch 64", "published": 544.0,
         "accelsim": _peak_gops(), "unit": "GOP/s", "tolerance_pct": 10.0, "source_kind": "text",
         "category": "identity",
         "source": f"{X_PAPER}, abstract (16 PEs at 1 GHz; accelsim counts 2 operations per MAC only)"},
        {"model": "cambricon_x", "quantity": "indexing module share of on-chip energy, AlexNet",
         "published": 34.83, "accelsim": 100.0 * indexing_energy_pj(x) / x_onchip, "unit": "%",
         "tolerance_pct": 30.0, "source_kind": "secondary", "category": "energy",
         "source": f"{S_PAPER}, Sec. 1, quoting Cambricon-X's layout (share of power; via a secondary summary); "
                   "accelsim: the IMs' windows, selectors, decode and links over X's on-chip energy"},
        {"model": "cambricon_s", "quantity": "speedup over Cambricon-X (DRAM hidden), AlexNet", "published": 1.71,
         "accelsim": x_core / s_core, "unit": "x", "tolerance_pct": 25.0, "source_kind": "secondary",
         "category": "performance",
         "source": f"{S_PAPER}, abstract (the average over the paper's benchmarks); {_setting()}"},
        {"model": "cambricon_s", "quantity": "energy efficiency over Cambricon-X (on chip), AlexNet",
         "published": 1.37, "accelsim": x_onchip / s_onchip, "unit": "x", "tolerance_pct": 25.0,
         "source_kind": "secondary", "category": "energy",
         "source": f"{S_PAPER}, abstract (the average over the paper's benchmarks); {_setting()}"},
        {"model": "cambricon_s", "quantity": "AlexNet weight index size with coarse-grained pruning",
         "published": 29.38, "accelsim": float(s["metadata_bits"].sum()) / 8 / 1024, "unit": "KB",
         "tolerance_pct": 15.0, "source_kind": "secondary", "category": "storage",
         "source": f"{S_PAPER}, Sec. 3 (2.95 MB -> 29.38 KB; via a secondary summary); one bit per block"},
        {"model": "cambricon_s", "quantity": "AlexNet index reduction, fine-grained (X) over coarse-grained (S)",
         "published": 102.82, "accelsim": float(x["metadata_bits"].sum() / s["metadata_bits"].sum()), "unit": "x",
         "tolerance_pct": 35.0, "source_kind": "secondary", "category": "storage",
         "source": f"{S_PAPER}, Sec. 3 (via a secondary summary; the fine-grained index format is not stated, "
                   "accelsim uses Cambricon-X's 4-bit steps with their padding entries)"},
        {"model": "cambricon_s", "quantity": "AlexNet compression over 32-bit dense weights",
         "published": 79.0, "accelsim": dense_bits / s_stored, "unit": "x", "tolerance_pct": 15.0,
         "source_kind": "secondary", "category": "reference",
         "source": f"{S_PAPER}, Sec. 3 (pruning, 8/4-bit local quantization and Huffman coding; via a secondary "
                   "summary). Not an independent check: it sets S's weight densities (statistical mode), so "
                   "this row shows the trace's distance from that estimate"},
    ]
