"""SIGMA vs a TPU-like systolic array on the paper's irregular GEMMs, dense and sparse (Qin et al., HPCA 2020).

The study of SIGMA's evaluation (Sec. VI): the ten irregular GEMMs of its workload table, on SIGMA
(128 Flex-DPEs x 128 multipliers) and on a TPU-like 128 x 128 systolic array with the same number of
multipliers (the ``systolic`` model, SCALE-Sim's compute cycles, run through ``accelsim.simulate`` in
whichever of its two stationary dataflows is faster, as the paper runs the TPU with "either the MK or
KN matrix ... kept stationary", Sec. VI-C), dense and with 80% sparse weights and 10%, 30%, 50% sparse
inputs (Sec. VI-A). The systolic array does not skip zeros, so its time is the dense time.

Shapes and operands: the paper writes GEMMs as M-N-K, an MK matrix (inputs) times a KN matrix
(weights) (Sec. I). accelsim's view is ``W (M x K) @ X (K x N)`` with W the weights, so the paper's
M-N-K runs here as ``gemm:{N}x{M}x{K}``: our W is its KN transposed, our X its MK transposed
(:func:`gemm_of`).

Two SIGMA series: the shipped config (a 128-word input bus: a fold spans at most 128 K indices) and
the paper's evaluation setting, where "we allow greater input bandwidth to distribute larger chunks of
the streaming matrix in one cycle" (Sec. VI-A), taken at its bound: one streamed word per multiplier
(``stream_bw = dpes x dpe_size``). Two paths for SIGMA: the statistical mode for every shape, and the
trace path (real pruned tensors through the bitmaps) for every shape whose tensors fit
``TRACE_BUDGET`` elements, so their agreement is on view. The TPU baseline runs in the systolic
model's statistical mode where it has one, else from a dense trace where the shape fits.

``quick=True`` divides every dimension by 8 (at least 1), shrinks both arrays to 32 x 32 and builds
traces only up to 1e6 elements, so it runs in a few seconds.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..report.plots import save_figure

#: the paper's irregular GEMMs as M-N-K (Qin et al., HPCA 2020, Sec. VI workload table, Fig. 12)
SHAPES = [(128, 2048, 4096), (320, 3072, 4096), (1632, 36548, 1024), (2048, 4096, 32), (1024, 16, 500000),
          (35, 8457, 2560), (31999, 1024, 84), (84, 1024, 4096), (2048, 1, 128), (256, 256, 2048)]
#: (label, weight density, input density): dense, and 80% sparse weights with 10-50% sparse inputs (Sec. VI-A)
SETTINGS = [("dense", 1.0, 1.0), ("w80_x10", 0.2, 0.9), ("w80_x30", 0.2, 0.7), ("w80_x50", 0.2, 0.5)]
#: shapes whose W and X together exceed this many elements run from the statistical mode only
TRACE_BUDGET = 30_000_000
#: ... and in quick mode
QUICK_TRACE_BUDGET = 1_000_000
QUICK_SCALE = 8
#: a dense trace for the systolic baseline (when it has no statistical mode) up to this many elements
TPU_TRACE_BUDGET = 40_000_000


def gemm_of(shape) -> str:
    """The paper's M-N-K (MK inputs x KN weights) as accelsim's ``gemm:MxNxK`` (W = KN^T, X = MK^T)."""
    Mp, Np, K = shape
    return f"gemm:{Np}x{Mp}x{K}"


def _shape_name(s) -> str:
    return "-".join(map(str, s))


def sigma_row(cfg, shape, dw: float, dx: float, *, statistical: bool = True, seed: int = 0,
              pattern: str = "unstructured") -> dict:
    """One schema row of SIGMA config *cfg* on the paper's GEMM *shape* (weights at *dw*, inputs at *dx*)."""
    from ..api import simulate
    df = simulate(cfg, gemm_of(shape), statistical=statistical, pattern=pattern, density=dw, act_density=dx,
                  seed=seed)
    return df.iloc[0].to_dict()


def tpu_row(shape, side: int = 128, dw: float = 1.0, dx: float = 1.0, dram_bytes_per_cycle: float | None = None,
            freq_hz: float | None = None) -> dict:
    """The TPU-like baseline on the paper's GEMM *shape*: the ``systolic`` model, ``side x side``, in the
    faster of its weight- and input-stationary dataflows (through ``load_arch``/``simulate`` only).

    Returns the row of the faster dataflow with ``tpu_cycles_ws``/``tpu_cycles_is``; NaN cycles when the
    systolic model has no statistical mode and the shape is too large for a dense trace.
    """
    from ..api import simulate
    from ..arch import load_arch
    from ..errors import ModelError
    over = {"rows": side, "cols": side}
    if dram_bytes_per_cycle is not None:
        over["dram_bytes_per_cycle"] = dram_bytes_per_cycle
    if freq_hz is not None:
        over["freq_hz"] = freq_hz
    Mp, Np, K = shape
    rows = {}
    for flow in ("ws", "is"):
        cfg = load_arch("systolic", {**over, "dataflow": flow})
        kw = dict(pattern="unstructured", density=dw, act_density=dx, seed=0)
        try:
            df = simulate(cfg, gemm_of(shape), statistical=True, **kw)
        except ModelError as e:
            if "no statistical mode" not in str(e):
                raise
            if Np * K + K * Mp > TPU_TRACE_BUDGET:
                return {"cycles": float("nan"), "utilization": float("nan"), "energy_pj": float("nan"),
                        "dataflow": "", "tpu_cycles_ws": float("nan"), "tpu_cycles_is": float("nan")}
            df = simulate(cfg, gemm_of(shape), **kw)
        rows[flow] = df.iloc[0].to_dict()
    best = min(rows, key=lambda f: (rows[f]["cycles"], f != "ws"))
    out = dict(rows[best])
    out["dataflow"] = best
    out["tpu_cycles_ws"], out["tpu_cycles_is"] = rows["ws"]["cycles"], rows["is"]["cycles"]
    return out


_ROW_COLS = ["cycles", "utilization", "energy_pj", "dataflow", "folds", "load_cycles", "stream_cycles",
             "drain_cycles", "cycles_ws", "cycles_is", "loss_stationary_load_cycles", "loss_fragmentation_cycles",
             "loss_reduction_cycles", "loss_fill_drain_cycles", "loss_dram_cycles", "bound"]


def run(quick: bool = False) -> dict[str, pd.DataFrame]:
    from ..arch import load_arch
    scale = QUICK_SCALE if quick else 1
    side = 32 if quick else 128
    shapes = [tuple(max(1, d // scale) for d in s) for s in SHAPES]
    base = {"dpes": side, "dpe_size": side, "dist_bw": side}
    series = [(f"sigma ({side}-word bus)", load_arch("sigma", {**base, "stream_bw": side})),
              ("sigma (paper's wide streaming)", load_arch("sigma", {**base, "stream_bw": side * side}))]
    dram = series[0][1].params.dram_bytes_per_cycle
    budget = QUICK_TRACE_BUDGET if quick else TRACE_BUDGET
    rows, base_rows = [], []
    for paper_shape, shape in zip(SHAPES, shapes):
        Mp, Np, K = shape
        tpu = tpu_row(shape, side, dram_bytes_per_cycle=dram)
        base_rows.append({"shape": _shape_name(shape), "paper_shape": _shape_name(paper_shape), "gemm": gemm_of(shape),
                          "systolic_cycles": tpu["cycles"], "systolic_dataflow": tpu["dataflow"],
                          "systolic_cycles_ws": tpu["tpu_cycles_ws"], "systolic_cycles_is": tpu["tpu_cycles_is"],
                          "systolic_utilization": tpu["utilization"]})
        trace_ok = Np * K + K * Mp <= budget
        for label, dw, dx in SETTINGS:
            for name, cfg in series:
                for path in (("statistical", "trace") if trace_ok else ("statistical",)):
                    r = sigma_row(cfg, shape, dw, dx, statistical=path == "statistical")
                    rows.append({"shape": _shape_name(shape), "setting": label, "weight_density": dw,
                                 "act_density": dx, "series": name, "path": path,
                                 **{c: r.get(c) for c in _ROW_COLS}})
    sig = pd.DataFrame(rows)
    basef = pd.DataFrame(base_rows)
    sig = sig.merge(basef[["shape", "paper_shape", "systolic_cycles", "systolic_utilization"]], on="shape")
    sig["speedup"] = sig["systolic_cycles"] / sig["cycles"].where(sig["cycles"] > 0, np.nan)
    # one row per (shape, setting, series): the trace path where it ran, else the statistical mode
    best = _one_per_point(sig)
    summary = best.groupby(["series", "setting"], sort=False).agg(
        shapes=("shape", "size"), mean_speedup=("speedup", "mean"),
        geomean_speedup=("speedup", lambda s: float(np.exp(np.log(s.dropna()).mean()))),
        mean_utilization=("utilization", "mean"), mean_systolic_utilization=("systolic_utilization", "mean"),
    ).reset_index()
    both = sig.pivot_table(index=["shape", "setting", "series"], columns="path", values="cycles")
    both = both.reindex(columns=["statistical", "trace"]).dropna().reset_index()
    both["rel_diff"] = (both["statistical"] - both["trace"]) / both["trace"]
    # tiny GEMMs (a few folds of a few vectors) differ by sampling noise alone; report the rest apart
    big = both[both["trace"] >= 1000]
    agreement = pd.DataFrame({"pairs": [len(both)], "median_abs_rel_diff": [float(both["rel_diff"].abs().median())],
                              "max_abs_rel_diff": [float(both["rel_diff"].abs().max())],
                              "pairs_over_1000_cycles": [len(big)],
                              "max_abs_rel_diff_over_1000_cycles": [float(big["rel_diff"].abs().max())
                                                                    if len(big) else float("nan")]})
    return {"sigma_vs_systolic": sig, "summary": summary, "systolic": basef, "path_agreement": agreement,
            "path_pairs": both}


def _one_per_point(sig: pd.DataFrame) -> pd.DataFrame:
    return sig.sort_values("path", key=lambda s: s.map({"trace": 0, "statistical": 1}), kind="stable") \
              .drop_duplicates(["shape", "setting", "series"]).sort_index()


def plot(frames: dict[str, pd.DataFrame], outdir: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    best = _one_per_point(frames["sigma_vs_systolic"])
    shapes = list(dict.fromkeys(best["shape"]))
    settings = list(dict.fromkeys(best["setting"]))
    series = list(dict.fromkeys(best["series"]))
    paths = []
    x = np.arange(len(shapes))
    width = 0.8 / len(settings)
    for main in series:
        fig, axes = plt.subplots(2, 1, figsize=(12, 8), sharex=True)
        for i, st in enumerate(settings):
            d = best[(best["setting"] == st) & (best["series"] == main)].set_index("shape").reindex(shapes)
            axes[0].bar(x + (i - (len(settings) - 1) / 2) * width, d["speedup"], width, label=st)
            axes[1].bar(x + (i - (len(settings) - 1) / 2) * width, d["utilization"], width, label=f"SIGMA {st}")
        sysu = frames["systolic"].set_index("shape").reindex(shapes)["systolic_utilization"]
        axes[1].plot(x, sysu, "k_", markersize=22, mew=2.5, label="systolic (dense)")
        axes[0].axhline(1.0, color="k", lw=0.8)
        axes[0].set_yscale("log")
        axes[0].set_ylabel("speedup over systolic (x)")
        axes[0].set_title(f"SIGMA vs TPU-like systolic array, same multipliers: {main}")
        axes[0].legend(ncol=len(settings), fontsize=8)
        axes[1].set_ylabel("utilization (useful MACs / multiplier-cycles)")
        axes[1].set_ylim(0, 1.05)
        axes[1].legend(ncol=3, fontsize=8)
        axes[1].set_xticks(x)
        axes[1].set_xticklabels(shapes, rotation=30, ha="right", fontsize=8)
        axes[1].set_xlabel("GEMM M-N-K (paper's naming: MK inputs x KN weights)")
        tag = "wide" if "wide" in main else "bus"
        paths += save_figure(fig, outdir, f"sigma_speedup_utilization_{tag}")

    fig, ax = plt.subplots(figsize=(12, 4.5))
    d = best[(best["setting"] == "dense") & (best["series"] == series[0])].set_index("shape").reindex(shapes)
    bottom = np.zeros(len(shapes))
    for col, lab in (("utilization", "MACs (ideal)"), ("loss_stationary_load_cycles", "stationary load"),
                     ("loss_fragmentation_cycles", "empty or zero-fed multipliers"),
                     ("loss_reduction_cycles", "FAN drain"), ("loss_fill_drain_cycles", "pipeline fill"),
                     ("loss_dram_cycles", "DRAM")):
        frac = (d[col] if col == "utilization" else d[col] / d["cycles"]).fillna(0).to_numpy(dtype=float)
        ax.bar(x, frac, bottom=bottom, label=lab)
        bottom += frac
    ax.set_xticks(x)
    ax.set_xticklabels(shapes, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("fraction of SIGMA cycles")
    ax.set_xlabel("GEMM M-N-K")
    ax.set_title(f"Where SIGMA's cycles go, dense GEMMs ({series[0]})")
    ax.legend(fontsize=8, ncol=3)
    paths += save_figure(fig, outdir, "sigma_breakdown")
    return paths
