"""The dense systolic array against SCALE-Sim v3: exact cycles on 195 layer/array/dataflow cases.

The reference numbers (``accelsim/data/scalesim_reference.csv``) were measured
by running SCALE-Sim 3.0.0 from PyPI in its compute-only bandwidth mode; the
file's header holds the command. Each case runs the ``systolic`` model on the
same layer, array and dataflow (the shipped ``systolic`` config, DRAM at its
finite 48 B/cycle) and compares SCALE-Sim's "Total Cycles" with the model's
compute cycles: ``ideal + fragmentation + tile_quantization + fill_drain +
stationary_load``, the cycle account without its ``dram`` loss (SCALE-Sim's
compute-only mode has no DRAM), tolerance 0.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from ..paths import PACKAGE_DIR

REFERENCE = PACKAGE_DIR / "data" / "scalesim_reference.csv"
SOURCE = "SCALE-Sim v3.0.0 (PyPI), compute-only bandwidth; accelsim/data/scalesim_reference.csv"


@lru_cache(maxsize=1)
def scalesim_reference() -> pd.DataFrame:
    """The measured SCALE-Sim numbers, one row per layer x array x dataflow (our M, K, N convention)."""
    return pd.read_csv(REFERENCE, comment="#")


def reference_layer(row):
    """The accelsim layer of one reference row (a GEMM, or an unpadded convolution)."""
    from ..workload import conv, gemm
    if row["kind"] == "conv":
        return conv(row["layer"], int(row["C"]), int(row["H"]), int(row["W"]), int(row["M"]), int(row["R"]),
                    int(row["S"]), stride=int(row["stride"]), pad=0)
    return gemm(row["layer"], int(row["M"]), int(row["K"]), int(row["N"]))


def scalesim_counts(bd) -> dict[str, float]:
    """A systolic breakdown in SCALE-Sim's report names and conventions.

    SCALE-Sim's output-stationary compute model adds ``rows + cols`` to its
    ofmap write count once per fold (``create_ofmap_demand_mat`` in
    ``compute/systolic_compute_os.py`` adds the padded tile's height plus
    width after counting the tile); that is bookkeeping, not traffic, so the
    model does not count it and this function adds it back for comparison.
    """
    p = bd.plan
    extra = bd.folds * (p.rows + p.cols) if p.dataflow == "os" else 0
    return {"total_cycles": bd.compute_cycles, "sram_ifmap_reads": bd.sram_reads["input"],
            "sram_filter_reads": bd.sram_reads["weight"], "sram_ofmap_writes": bd.output_writes + extra}


def compute_cycles(res) -> float:
    """A systolic LayerResult's cycles without its DRAM loss: SCALE-Sim's compute-only figure."""
    return float(res.cycles) - float(res.losses.get("dram", 0.0))


def simulate_reference(row):
    """Run the ``systolic`` model on one reference row (shipped config, finite DRAM); its LayerResult."""
    from ..arch import load_arch
    from ..traces import LayerTrace
    lay = reference_layer(row)
    if (lay.M, lay.K, lay.N) != (int(row["M"]), int(row["K"]), int(row["N"])):
        raise ValueError(f"reference row {row['layer']}: geometry gives {lay.M}x{lay.K}x{lay.N}, "
                         f"the file says {row['M']}x{row['K']}x{row['N']}")
    cfg = load_arch("systolic", {"rows": int(row["array_rows"]), "cols": int(row["array_cols"]),
                                 "dataflow": row["dataflow"]})
    lt = LayerTrace(lay, np.zeros(lay.weight_shape, np.float32), np.zeros(lay.input_shape, np.float32))
    return cfg.simulate(lt)


def scalesim_cases() -> list[dict]:
    """One case per reference layer, array and dataflow: SCALE-Sim's Total Cycles against the model's
    compute cycles, tolerance 0."""
    out = []
    for row in scalesim_reference().to_dict("records"):
        res = simulate_reference(row)
        out.append({"model": "systolic",
                    "quantity": f"compute cycles {row['layer']} {row['array_rows']}x{row['array_cols']} "
                                f"{row['dataflow']}",
                    "published": float(row["total_cycles"]), "accelsim": compute_cycles(res), "unit": "cycles",
                    "tolerance_pct": 0.0, "source": SOURCE, "source_kind": "exact", "category": "reference"})
    return out


def cases() -> list[dict]:
    return scalesim_cases()
