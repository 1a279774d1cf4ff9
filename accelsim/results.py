"""LayerResult: one row of the result schema (DESIGN.md), and the network sum.

A model fills what only it knows (cycles, work done, per-PE busy time, action
counts, storage); :func:`finish` fills the rest (names, shape, densities,
latency, energy from the table, load balance) and scales by the layer's
``count``. Model-specific columns go in ``extra`` and follow the schema
columns; those named like totals (``*_cycles``, ``*_pj``, ``*_bytes``,
``*_bits``, ``*_entries``, ``*_macs``) are scaled by ``count`` like the schema's
additive columns, the others (ratios, labels) describe one instance.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .energy import ActionCounts, EnergyTable

SCHEMA = ["arch", "config", "workload", "layer", "op", "M", "N", "K", "count", "pattern", "weight_density",
          "act_density", "cycles", "compute_cycles", "stall_cycles", "freq_hz", "latency_s", "energy_pj",
          "macs_dense", "macs_performed", "utilization", "load_balance", "pe_busy_max", "pe_busy_mean",
          "weight_bits", "metadata_bits", "dram_bytes", "sram_bytes"]

#: Per-layer fidelity a trace may carry (real-model captures), copied into result rows.
LAYER_FIDELITY_KEYS = ("output_rel_error", "local_rel_error")
#: Whole-model fidelity a trace's provenance may carry, copied into every row of that trace.
TRACE_FIDELITY_KEYS = ("fidelity", "fidelity_metric", "top1_agreement", "logit_rel_error", "embedding_cosine",
                       "vad_decision_agreement")

#: Model columns with these suffixes are totals too: scaled by ``count`` and summed over layers.
ADDITIVE_SUFFIXES = ("_cycles", "_pj", "_bytes", "_bits", "_entries", "_macs")

#: Columns that add up over layers and scale with a layer's ``count``.
ADDITIVE = ["cycles", "compute_cycles", "stall_cycles", "latency_s", "energy_pj", "macs_dense", "macs_performed",
            "weight_bits", "metadata_bits", "dram_bytes", "sram_bytes"]


@dataclass
class LayerResult:
    """What a model reports for one layer instance."""
    cycles: float
    compute_cycles: float
    stall_cycles: float = 0.0
    freq_hz: float = 1e9
    macs_performed: float = 0.0
    #: peak MACs per cycle of the configuration; utilization = macs_performed / (cycles * peak)
    peak_macs_per_cycle: float = 0.0
    #: set to override the default utilization definition
    utilization: float | None = None
    pe_busy: np.ndarray | None = None
    actions: ActionCounts = field(default_factory=ActionCounts)
    weight_bits: float = 0.0
    metadata_bits: float = 0.0
    dram_bytes: float = 0.0
    sram_bytes: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    #: the same layer on reference designs (e.g. SCNN's dense twin DCNN): the runner prices them with the
    #: config's energy table and adds ``NAME_cycles``, ``NAME_energy_pj``, ``speedup_vs_NAME`` and
    #: ``energy_ratio_vs_NAME`` (reference / this design, so above 1 means this design wins)
    baselines: dict[str, "LayerResult"] = field(default_factory=dict)


def finish(res: LayerResult, lt, *, arch: str, config: str, workload: str, table: EnergyTable,
           pattern: str | None = None) -> dict[str, Any]:
    """Turn a model's :class:`LayerResult` on layer trace *lt* into one schema row (a dict)."""
    lay = lt.layer
    n = lay.count
    energy = table.energy(res.actions)
    busy = None if res.pe_busy is None else np.asarray(res.pe_busy, dtype=np.float64)
    if busy is not None and busy.size and busy.max() > 0:
        pe_max, pe_mean = float(busy.max()), float(busy.mean())
    else:
        pe_max = pe_mean = float(res.compute_cycles)
    lb = pe_mean / pe_max if pe_max > 0 else 1.0
    if res.utilization is not None:
        util = float(res.utilization)
    elif res.peak_macs_per_cycle > 0 and res.cycles > 0:
        util = float(res.macs_performed) / (float(res.cycles) * res.peak_macs_per_cycle)
    else:
        util = float("nan")
    row: dict[str, Any] = {
        "arch": arch, "config": config, "workload": workload, "layer": lay.name, "op": lay.op,
        "M": lay.M, "N": lay.N, "K": lay.K, "count": n,
        "pattern": pattern or lt.info.get("pattern", "unknown"),
        "weight_density": lt.weight_density, "act_density": lt.act_density,
        "cycles": float(res.cycles) * n, "compute_cycles": float(res.compute_cycles) * n,
        "stall_cycles": float(res.stall_cycles) * n, "freq_hz": float(res.freq_hz),
        "latency_s": float(res.cycles) * n / float(res.freq_hz),
        "energy_pj": sum(energy.values()) * n,
        "macs_dense": float(lay.macs) * n, "macs_performed": float(res.macs_performed) * n,
        "utilization": util, "load_balance": lb, "pe_busy_max": pe_max, "pe_busy_mean": pe_mean,
        "weight_bits": float(res.weight_bits) * n, "metadata_bits": float(res.metadata_bits) * n,
        "dram_bytes": float(res.dram_bytes) * n, "sram_bytes": float(res.sram_bytes) * n,
        "peak_macs_per_cycle": float(res.peak_macs_per_cycle),
    }
    for comp in sorted(energy):
        row[f"energy_{comp}_pj"] = energy[comp] * n
    total_pj = sum(energy.values())
    for name, b in res.baselines.items():
        b_pj = sum(table.energy(b.actions).values())
        row[f"{name}_cycles"] = float(b.cycles) * n
        row[f"{name}_energy_pj"] = b_pj * n
        row[f"speedup_vs_{name}"] = float(b.cycles) / float(res.cycles) if res.cycles else float("nan")
        row[f"energy_ratio_vs_{name}"] = b_pj / total_pj if total_pj > 0 else float("nan")
    for k in LAYER_FIDELITY_KEYS:
        if k in lt.info:
            row[k] = float(lt.info[k])
    for k, v in res.extra.items():
        # model columns that count work or storage add up over repeats like the schema's
        if k.endswith(ADDITIVE_SUFFIXES) and isinstance(v, (int, float, np.integer, np.floating)) \
                and not isinstance(v, bool):
            v = float(v) * n
        row[k] = v
    if busy is not None and 0 < busy.size <= 4096:
        row["pe_busy"] = busy.tolist()
    return row


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows to a DataFrame with the schema columns first, energy components next, model columns last."""
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=SCHEMA)
    energy_cols = sorted(c for c in df.columns if c.startswith("energy_") and c.endswith("_pj") and c != "energy_pj")
    first = [c for c in SCHEMA if c in df.columns]
    rest = [c for c in df.columns if c not in first and c not in energy_cols]
    return df[first + energy_cols + rest]


def network_totals(df: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Sum the additive columns per (arch, config, workload[, by...]) - a network result.

    Utilization is recomputed as MAC-weighted; load balance as the
    cycle-weighted mean of the layers'.
    """
    keys = [k for k in ["arch", "config", "workload", "pattern"] + (by or []) if k in df.columns]
    energy_cols = [c for c in df.columns if c.startswith("energy_") and c.endswith("_pj")]
    add = [c for c in ADDITIVE + energy_cols if c in df.columns]
    add = list(dict.fromkeys(add))
    g = df.groupby(keys, sort=False, dropna=False)
    out = g[add].sum()
    out["layers"] = g.size()
    w = df["cycles"].where(df["cycles"] > 0, 1.0)
    out["load_balance"] = (df["load_balance"] * w).groupby([df[k] for k in keys], sort=False, dropna=False).sum() / \
        w.groupby([df[k] for k in keys], sort=False, dropna=False).sum()
    if "freq_hz" in df.columns:
        out["freq_hz"] = g["freq_hz"].first()
    return out.reset_index()
