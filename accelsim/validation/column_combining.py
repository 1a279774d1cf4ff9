"""Column combining (Kung, McDanel and Zhang, ASPLOS 2019): the authors' plotted ASIC figures, and a worked example.

Published numbers. The authors' repository (github.com/BradMcDanel/column-combine) plots the paper's
ASIC comparison from a table typed into ``visualization/plot_asic.py`` (read verbatim): for LeNet-5,
VGG-16 and ResNet-20, throughput and number of tiles relative to the baseline, for the baseline
(alpha 1, gamma 0), column combining without conflicts (alpha 8, gamma 0) and column-combine pruning
(alpha 8, gamma 0.5). The setting we reproduce, from the same repository:

* the baseline is the unpruned network: ``util.prune`` prunes ``rate x (1 - 1/alpha)`` of each
  layer, nothing at alpha 1; with alpha 8 ``train_prune.py`` ends its schedule at rate 0.8, so the
  layers keep ``1 - 0.8 x 7/8 = 0.3`` of their weights (magnitude pruning) before packing;
* tiles are ``ceil(rows / 64) x ceil(packed columns / 64)`` per layer (``visualization/plot_tiles.py``),
  i.e. the folds of the packed matrix on a 64 x 64 array: our ``folds``;
* throughput is compared with the model's compute cycles on the same 64 x 64 array (the ASIC keeps
  every weight on chip, so the DRAM loss is left out): systolic / column combining;
* the networks are the standard CIFAR-10 ResNet-20 (3x3 convolutions, 16/32/64 filters, FC 64 -> 10)
  and VGG-16 (13 3x3 convolutions, FC 512 -> 10) and LeNet-5 (5x5 convolutions 6 and 16, FC 120, 84,
  10): assumed, the repository does not ship these models.

What cannot be reproduced: the weights. The authors retrain between ten prune-and-pack steps
(``train_prune.py``), and retrained weights pack tighter than the trace's magnitude-pruned random ones;
the energy bars (their bit-serial ASIC's power) are not compared. The worked example (issue 5) checks the
packing rule by hand.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

EXAMPLE_SOURCE = ("issue 5 worked example (hand-derived from the packing rule of Kung et al., ASPLOS 2019): "
                  "c1=[0,2,0,3,0], c2=[1,0,2,1,0], c3=[1,2,0,1,0], c4=[0,0,0,0,4]")
ASIC_SOURCE = ("Kung et al., ASPLOS 2019, ASIC comparison as plotted by the authors' "
               "BradMcDanel/column-combine visualization/plot_asic.py (data table, read verbatim)")

#: the example's filter matrix: rows = filters, columns c1..c4
EXAMPLE = np.array([[0, 1, 1, 0],
                    [2, 0, 2, 0],
                    [0, 2, 0, 0],
                    [3, 1, 1, 0],
                    [0, 0, 0, 4]], dtype=np.float32)

#: plot_asic.py's data: relative throughput and tiles per network for (alpha 8, gamma 0) and (alpha 8, gamma 0.5)
PUBLISHED = {
    "LeNet-5": {"throughput": (1.08, 2.77), "tiles": (0.935, 0.387)},
    "VGG-16": {"throughput": (1.031, 3.56), "tiles": (0.9756, 0.2882)},
    "ResNet-20": {"throughput": (1.17, 3.9), "tiles": (0.9, 0.2662)},
}
GAMMAS = (0.0, 0.5)
#: 1 - 0.8 (1 - 1/alpha) at alpha 8: the density train_prune.py's schedule ends at
DENSITY = 1 - 0.8 * (1 - 1 / 8)
ARRAY = 64
TOLERANCE_PCT = 10.0


def example_result(alpha: int = 3, gamma: float = 0.2):
    """The ``column_combining`` model on the example (X = identity, so the output is the packed matrix)."""
    from ..arch import load_arch
    from ..traces import LayerTrace
    from ..workload import gemm
    lay = gemm("example", 5, 4, 4)
    lt = LayerTrace(lay, EXAMPLE.copy(), np.eye(4, dtype=np.float32))
    return load_arch("column_combining", {"alpha": alpha, "gamma": gamma, "rows": 8, "cols": 8}).simulate(lt)


def networks() -> dict:
    """The three networks of the ASIC comparison as accelsim workloads (standard shapes, see the docstring)."""
    from ..workload import Workload, conv, gemm

    def lenet5():
        return [conv("conv1", 1, 32, 32, 6, 5), conv("conv2", 6, 14, 14, 16, 5), gemm("fc1", 120, 400, 1),
                gemm("fc2", 84, 120, 1), gemm("fc3", 10, 84, 1)]

    def vgg16():
        layers, c, h = [], 3, 32
        for i, v in enumerate([64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512]):
            if v == "M":
                h //= 2
                continue
            layers.append(conv(f"conv{len(layers) + 1}", c, h, h, v, 3, pad=1))
            c = v
        return layers + [gemm("fc", 10, 512, 1)]

    def resnet20():
        layers, c, h = [conv("conv1", 3, 32, 32, 16, 3, pad=1)], 16, 32
        for stage, width in enumerate([16, 32, 64]):
            for block in range(3):
                stride = 2 if block == 0 and stage > 0 else 1
                layers.append(conv(f"s{stage}b{block}a", c, h, h, width, 3, stride=stride, pad=1))
                h //= stride
                c = width
                layers.append(conv(f"s{stage}b{block}b", c, h, h, width, 3, pad=1))
        return layers + [gemm("fc", 10, 64, 1)]

    return {"LeNet-5": Workload("lenet5", lenet5()), "VGG-16": Workload("vgg16_cifar", vgg16()),
            "ResNet-20": Workload("resnet20_cifar", resnet20())}


@lru_cache(maxsize=1)
def asic_ratios() -> dict[tuple[str, float], tuple[float, float]]:
    """``{(network, gamma): (tiles ratio, throughput ratio)}`` from the model, in the setting above."""
    from ..arch import load_arch
    from ..traces import make_trace
    from .systolic import compute_cycles
    out = {}
    for name, wl in networks().items():
        tr = make_trace(wl, "unstructured", density=DENSITY, act_density=1.0, seed=0)
        for gamma in GAMMAS:
            cfg = load_arch("column_combining", {"rows": ARRAY, "cols": ARRAY, "alpha": 8, "gamma": gamma,
                                                 "output_error": False})
            folds = base_folds = cc = base = 0.0
            for lt in tr.layers:
                res = cfg.simulate(lt)
                ref = res.baselines["systolic"]    # the plain array: dense, whatever the trace holds
                folds += res.totals["folds"]
                base_folds += ref.totals["folds"]
                cc += compute_cycles(res)
                base += compute_cycles(ref)
            out[(name, gamma)] = (folds / base_folds, base / cc)
    return out


def asic_cases() -> list[dict]:
    ratios = asic_ratios()
    out = []
    for name, pub in PUBLISHED.items():
        for i, gamma in enumerate(GAMMAS):
            tiles, speed = ratios[(name, gamma)]
            setting = f"{name}, alpha 8, gamma {gamma:g}, density {DENSITY:.2f}, 64x64 array"
            out.append({"model": "column_combining", "quantity": f"tiles / baseline tiles, {setting}",
                        "published": pub["tiles"][i], "accelsim": tiles, "unit": "ratio",
                        "tolerance_pct": TOLERANCE_PCT, "source": ASIC_SOURCE + " ('tiles')",
                        "source_kind": "table", "category": "performance"})
            out.append({"model": "column_combining", "quantity": f"throughput / baseline, {setting} "
                                                                 "(compute cycles, weights on chip)",
                        "published": pub["throughput"][i], "accelsim": speed, "unit": "x",
                        "tolerance_pct": TOLERANCE_PCT, "source": ASIC_SOURCE + " ('throughput')",
                        "source_kind": "table", "category": "performance"})
    return out


def example_cases() -> list[dict]:
    from ..arch.column_combining import pack_columns
    res = example_result()
    pk = pack_columns(EXAMPLE, alpha=3, gamma=0.2)
    first = pk.values[:, 0]
    expected = np.array([1, 2, 2, 3, 4], dtype=np.float32)
    common = {"model": "column_combining", "tolerance_pct": 0.0, "source": EXAMPLE_SOURCE,
              "source_kind": "identity", "category": "worked_example"}
    return [
        {**common, "quantity": "worked example: packed columns (alpha 3)", "published": 2.0,
         "accelsim": float(res.totals["packed_columns"]), "unit": "columns"},
        {**common, "quantity": "worked example: weights pruned by the conflict in row 4", "published": 1.0,
         "accelsim": float(res.totals["weights_pruned"]), "unit": "weights"},
        {**common, "quantity": "worked example: entries of [1,2,2,3,4] in the combined column", "published": 5.0,
         "accelsim": float(np.sum(first == expected)), "unit": "entries"},
    ]


def cases() -> list[dict]:
    return asic_cases() + example_cases()
