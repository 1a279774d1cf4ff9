"""Storage against sparsity: which sparse format is smallest where, for a 10^4 x 10^4 matrix of 8-bit values.

The classic comparison of sparse storage formats (dense, bitmap, COO,
run-length / delta, CSR/CSC, blocked, strided, two-level bitmap), computed
analytically for uniform random sparsity over densities from 1 to 1e-5 and
checked against exact encodings of seeded random matrices. The known shape
of the answer (e.g. Sze et al., "Efficient Processing of Deep Neural
Networks", 2020, Ch. 8 on sparse formats): no sparse format beats dense
below about 10% sparsity (the bitmap's one bit per position costs more than
the zeros save until ~1/value_bits of the values are zero); the bitmap is
smallest over the middle range; run-length coding wins at high sparsity
when its run width covers the typical gap (8-bit runs around 95%); and the
coordinate formats (COO, CSR) win only at extreme sparsity, where run-length
codes drown in padding entries.

Frames: ``analytic`` (the curves), ``exact`` (measured encodings),
``agreement`` (analytic against exact on the same shape and densities) and
``winners`` (the density range where each format is smallest).
``quick=True`` checks against exact encodings of a 1000 x 1000 matrix
instead of the full 10^4 x 10^4.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..formats.compare import compare_shape

SHAPE = (10000, 10000)
VALUE_BITS = 8
EXACT_DENSITIES = [0.95, 0.8, 0.5, 0.2, 0.05, 0.01, 0.001, 0.0001]


def density_grid(points: int) -> list[float]:
    """Densities evenly spaced in logit(sparsity) from 1% to 99.999% sparsity."""
    x = np.linspace(np.log(0.01 / 0.99), np.log((1 - 1e-5) / 1e-5), points)
    return sorted({float(f"{1 - 1 / (1 + np.exp(-v)):.6g}") for v in x}, reverse=True)


def winners(df: pd.DataFrame) -> pd.DataFrame:
    """Consecutive density ranges (from dense to sparse) and the format that is smallest over each."""
    best = df[df["best"]].drop_duplicates("density").sort_values("density", ascending=False)
    rows = []
    for fmt, d in zip(best["format"], best["density"]):
        if rows and rows[-1]["format"] == fmt:
            rows[-1]["density_to"] = d
        else:
            rows.append({"format": fmt, "density_from": d, "density_to": d})
    out = pd.DataFrame(rows)
    out["sparsity_from"] = 1.0 - out["density_from"]
    out["sparsity_to"] = 1.0 - out["density_to"]
    return out


def run(quick: bool = False) -> dict[str, pd.DataFrame]:
    analytic = compare_shape(SHAPE, density_grid(31 if quick else 81), VALUE_BITS, analytic=True)
    exact_shape = (1000, 1000) if quick else SHAPE
    densities = EXACT_DENSITIES[:-1] if quick else EXACT_DENSITIES
    exact = compare_shape(exact_shape, densities, VALUE_BITS, seed=0)
    model = compare_shape(exact_shape, densities, VALUE_BITS, analytic=True)
    keys = ["format", "density"]
    agree = exact[keys + ["total_bits"]].merge(model[keys + ["total_bits"]], on=keys, suffixes=("_exact", "_analytic"))
    agree["rel_error"] = agree["total_bits_analytic"] / agree["total_bits_exact"] - 1.0
    agree.insert(0, "shape", "x".join(map(str, exact_shape)))
    return {"analytic": analytic, "exact": exact, "agreement": agree, "winners": winners(analytic)}


def plot(frames: dict[str, pd.DataFrame], outdir: Path) -> list[Path]:
    from ..formats.plot import plot_storage
    outdir = Path(outdir)
    analytic, exact = frames["analytic"], frames.get("exact")
    same = exact is not None and len(exact) and exact["shape"].iloc[0] == analytic["shape"].iloc[0]
    title = (f"Storage of a {analytic['shape'].iloc[0]} matrix of {VALUE_BITS}-bit values, uniform random sparsity"
             + ("\n(lines: analytic; x: exact encodings)" if same else ""))
    return [plot_storage(analytic, outdir / "storage_vs_sparsity.png", title, exact=exact if same else None)]
