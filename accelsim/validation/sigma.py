"""SIGMA (Qin et al., HPCA 2020): published efficiencies, speedups and per-GEMM cycles, reproduced.

Sources (the paper's full English text is read from a public transcript; numbers verbatim):

* Sec. VI-C, dense GEMMs (Fig. 12a): "SIGMA provides speedup of 2x over TPUs on dense GEMMs ... an
  overall average efficiency of 82% compared to 59% in the TPU";
* Sec. VI-C, sparse GEMMs (Fig. 12b): "a roughly 6x improvement over TPU ... SIGMA ... shows an average
  overall efficiency of 40%"; the abstract: "5.7x better than systolic array architectures for
  irregular sparse matrices"; sparsity "all combinations of matrices and sparsity were tested and then
  averaged" with input sparsity ~10-50% and weight sparsity ~80% (Sec. VI-A);
* per-GEMM SIGMA cycles of the sparse runs as TeAAL's artifact tabulates them ("Reported",
  FPSG-UIUC/micro23-teaal-artifact ``data/baselines/sigma.csv``; TeAAL reproduces them with the MK
  matrix 20% dense and KN 90% dense, ``scripts/sigma.py``): a secondary source.

The runs follow each source's setting:

* the aggregates run the paper's evaluation setting: the ten GEMMs of Sec. VI (paper M-N-K, MK inputs x
  KN weights, Sec. I, so ``gemm:{N}x{M}x{K}`` here), weights (KN) 80% sparse, inputs (MK) 10/30/50%
  sparse, averaged over all 30 combinations; "greater input bandwidth to distribute larger chunks of
  the streaming matrix in one cycle" (Sec. VI-A) taken at its bound, one streamed word per multiplier
  (``stream_bw = 16384``);
* the per-GEMM cycles run the shipped 128-word bus at TeAAL's densities;
* both are compute only, as the paper's evaluation: DRAM is put out of reach (``COMPUTE_ONLY``);
* the TPU is the ``systolic`` model (SCALE-Sim's compute cycles, as the paper's TPU, Sec. VI-A),
  128 x 128, the faster of its weight- and input-stationary dataflows ("either the MK or KN matrix is
  kept stationary", Sec. VI-C), with SIGMA's DRAM bandwidth (the paper compares compute only).

"Efficiency" is the paper's overall efficiency: useful MACs over multipliers x cycles, accelsim's
``utilization``. Averages of ratios are geometric means (the paper does not say how it averaged;
docs/sigma.md gives the arithmetic means too).
"""
from __future__ import annotations

import numpy as np

from ..studies.sigma import SHAPES, sigma_row, tpu_row

PAPER = "Qin et al., SIGMA, HPCA 2020"
TEAAL = "TeAAL artifact (Nayak et al., MICRO 2023), data/baselines/sigma.csv"
#: the paper's sparse ranges (Sec. VI-A): weights ~80% sparse, inputs ~10-50% sparse
SPARSE_WEIGHT_DENSITY = 0.2
SPARSE_INPUT_DENSITIES = (0.9, 0.7, 0.5)
#: the paper's evaluation is compute only (operands and outputs in SRAM, Sec. VI-A; the TPU as SCALE-Sim's
#: compute cycles): DRAM is put out of reach for both designs (finite, never binding on these GEMMs)
COMPUTE_ONLY = {"dram_bytes_per_cycle": 1e9}
#: SIGMA's cycles on the paper's GEMMs (M-N-K), sparse, as TeAAL's artifact tabulates them
REPORTED_CYCLES = {(128, 2048, 4096): 66454, (320, 3072, 4096): 100576, (1632, 36548, 1024): 880058,
                   (2048, 4096, 32): 4213, (1024, 16, 500000): 1012524, (35, 8457, 2560): 169308,
                   (31999, 1024, 84): 38454, (84, 1024, 4096): 33376, (2048, 1, 128): 470, (256, 256, 2048): 5014}
#: ... with the MK matrix (inputs) 20% dense and the KN matrix (weights) 90% dense (TeAAL's scripts/sigma.py)
REPORTED_INPUT_DENSITY, REPORTED_WEIGHT_DENSITY = 0.2, 0.9


def _geomean(x) -> float:
    x = np.asarray([v for v in x if v == v], dtype=float)
    return float(np.exp(np.log(x).mean())) if x.size else float("nan")


def _mean(x) -> float:
    x = np.asarray([v for v in x if v == v], dtype=float)
    return float(x.mean()) if x.size else float("nan")


def fabric_pj(row: dict) -> float:
    """A row's energy in the array itself (arithmetic, registers, networks, logic): no SRAM, no DRAM."""
    if "energy_mac_pj" not in row:      # a baseline that could not run (NaN cycles)
        return float("nan")
    return float(sum(row.get(f"energy_{c}_pj", 0.0) or 0.0 for c in ("mac", "rf", "noc", "index", "other")))


def evaluation_runs() -> dict:
    """SIGMA (paper's evaluation setting) and the TPU on every GEMM, dense and in the 30 sparse combinations."""
    from ..arch import load_arch
    base = load_arch("sigma")
    p = base.params
    cfg = load_arch("sigma", {"stream_bw": p.multipliers, **COMPUTE_ONLY})
    out = {"dense": [], "sparse": []}
    for shape in SHAPES:
        tpu = tpu_row(shape, p.dpes, freq_hz=p.freq_hz, **COMPUTE_ONLY)
        d = sigma_row(cfg, shape, 1.0, 1.0)
        out["dense"].append({"shape": shape, "sigma": d, "tpu": tpu})
        for dx in SPARSE_INPUT_DENSITIES:
            s = sigma_row(cfg, shape, SPARSE_WEIGHT_DENSITY, dx)
            out["sparse"].append({"shape": shape, "dx": dx, "sigma": s, "tpu": tpu,
                                  "tpu_util": tpu["utilization"] * SPARSE_WEIGHT_DENSITY * dx})
    return out


def _case(quantity, published, value, unit, tol, source, kind, category="performance"):
    return {"model": "sigma", "quantity": quantity, "published": float(published), "accelsim": float(value),
            "unit": unit, "tolerance_pct": float(tol), "source": source, "source_kind": kind, "category": category}


def cases() -> list[dict]:
    from ..arch import load_arch
    runs = evaluation_runs()
    dense, sparse = runs["dense"], runs["sparse"]
    n_tpu = sum(r["tpu"]["cycles"] == r["tpu"]["cycles"] for r in dense)
    on = f" ({n_tpu} of {len(dense)} GEMMs: the systolic model has no statistical mode for the rest)" \
        if n_tpu < len(dense) else ""
    setting = "; paper's evaluation setting: streaming bus at one word per multiplier (Sec. VI-A), compute only"
    combos = "; weights 80% sparse, inputs 10/30/50% sparse, all 30 GEMM x sparsity combinations (Sec. VI-A)"
    out = [
        _case("dense irregular GEMMs: SIGMA mean overall efficiency", 0.82,
              _mean(r["sigma"]["utilization"] for r in dense), "", 10,
              f"{PAPER}, Sec. VI-C: overall average efficiency of 82%" + setting, "text"),
        _case("dense irregular GEMMs: TPU-like 128x128 mean overall efficiency", 0.59,
              _mean(r["tpu"]["utilization"] for r in dense), "", 10,
              f"{PAPER}, Sec. VI-C: 59% in the TPU; our TPU is the systolic model (SCALE-Sim v3 cycles)" + on, "text"),
        _case("dense irregular GEMMs: mean speedup over TPU-like 128x128 (geometric)", 2.0,
              _geomean(r["tpu"]["cycles"] / r["sigma"]["cycles"] for r in dense), "x", 10,
              f"{PAPER}, Sec. VI-C: speedup of 2x over TPUs on dense GEMMs" + setting + on, "text"),
        _case("sparse irregular GEMMs: SIGMA mean overall efficiency", 0.40,
              _mean(r["sigma"]["utilization"] for r in sparse), "", 10,
              f"{PAPER}, Sec. VI-C: average overall efficiency of 40%" + combos + setting, "text"),
        _case("sparse irregular GEMMs: mean speedup over TPU-like 128x128 (geometric)", 5.7,
              _geomean(r["tpu"]["cycles"] / r["sigma"]["cycles"] for r in sparse), "x", 10,
              f"{PAPER}, Abstract: 5.7x (Sec. VI-C: roughly 6x)" + combos + setting + on, "text"),
        _case("sparse irregular GEMMs: mean energy efficiency over TPU-like 128x128 (geometric)", 3.0,
              _geomean(fabric_pj(r["tpu"]) / fabric_pj(r["sigma"]) for r in sparse), "x", 10,
              f"{PAPER}, Sec. VI-C (Fig. 13): on average 3x more energy efficient than TPU for sparse workloads, "
              "from Fig. 8's post-layout power of the two arrays (28 nm) times time; here both arrays' energy "
              "without SRAM and DRAM, priced by the 45 nm action table" + combos + setting + on, "text", "energy"),
    ]
    cfg = load_arch("sigma", COMPUTE_ONLY)
    for shape, cycles in REPORTED_CYCLES.items():
        r = sigma_row(cfg, shape, REPORTED_WEIGHT_DENSITY, REPORTED_INPUT_DENSITY)
        out.append(_case(f"sparse GEMM {'-'.join(map(str, shape))} (M-N-K): SIGMA cycles", cycles, r["cycles"],
                         "cycles", 15,
                         f"{TEAAL} ('Reported'), inputs (MK) 80% sparse, weights (KN) 10% sparse as TeAAL runs them; "
                         "shipped 128-word bus, compute only", "secondary"))
    return out
