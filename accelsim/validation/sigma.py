"""SIGMA (Qin et al., HPCA 2020): published speedups over a TPU-like systolic array, reproduced.

The paper's evaluation (Sec. VI) runs its ten irregular GEMMs (M-N-K, the
same letters as our ``gemm:MxNxK``) on SIGMA with 128 Flex-DPEs x 128
multipliers and on a 128 x 128 TPU-like systolic array (same multipliers),
dense and sparse. We run SIGMA's density path (``accelsim.arch.sigma.estimate``:
the same fold walk as the trace path, which agrees with it to within 0.5% on
every shape that a trace can hold; see ``accelsim study sigma``) and the
``systolic`` model's shape-only compute cycles, each in its faster stationary
dataflow.

Settings where the paper is not specific to our reading: sparse means 80%
weight sparsity with 30% input sparsity (the middle of the 10-50% range the
study sweeps); averages are arithmetic means over the ten shapes; SIGMA's
distribution bandwidth is 128 words/cycle (the shipped config's assumption).
"""
from __future__ import annotations

import numpy as np

from ..studies.sigma import SHAPES, systolic_cycles


def _mean_speedup(weight_density: float, act_density: float) -> tuple[float, float]:
    from ..arch import load_arch
    from ..arch.sigma import estimate
    p = load_arch("sigma").params
    speed, util = [], []
    for M, N, K in SHAPES:
        r = estimate(M, N, K, weight_density, act_density, p, seed=0)
        sy = systolic_cycles(M, N, K, 128, 128)
        speed.append(sy["cycles"] / r.cycles)
        util.append(r.utilization)
    return float(np.mean(speed)), float(np.mean(util))


def cases() -> list[dict]:
    dense_speedup, _ = _mean_speedup(1.0, 1.0)
    sparse_speedup, _ = _mean_speedup(0.2, 0.7)
    return [
        {"model": "sigma", "quantity": "mean speedup over TPU-like 128x128 systolic, sparse irregular GEMMs "
                                       "(80% weight, 30% input sparsity)",
         "published": 5.7, "accelsim": sparse_speedup, "unit": "x", "tolerance_pct": 40.0,
         "source": "Qin et al., HPCA 2020, Abstract and Sec. VI: SIGMA 5.7x better than systolic arrays "
                   "for irregular sparse matrices"},
        {"model": "sigma", "quantity": "mean speedup over TPU-like 128x128 systolic, dense irregular GEMMs",
         "published": 2.0, "accelsim": dense_speedup, "unit": "x", "tolerance_pct": 40.0,
         "source": "Qin et al., HPCA 2020, Sec. VI dense irregular GEMMs: about 2x on average from higher "
                   "utilization and faster reduction (read from a summary of the paper, not quoted; wide tolerance)"},
    ]

