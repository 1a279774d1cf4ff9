"""LayerResult: one row of the result schema (DESIGN.md, docs/CONTRIBUTING.md), and the network sum.

The contract every design speaks:

* **One cycle account.** ``cycles = ideal_cycles + sum(loss_<reason>_cycles)``. ``ideal_cycles`` is the
  design's own peak rate on the work it performs, ``macs_performed / peak_macs_per_cycle``;
  each loss has a reason from :data:`LOSS_REASONS`. ``utilization = ideal_cycles / cycles`` (the
  fraction of the design's multiplier-cycles that perform a MAC) for every model. ``bound`` names the
  resource that limits the layer. ``stall_cycles`` are the memory losses (reasons charged to DRAM or
  SRAM), ``compute_cycles = cycles - stall_cycles``.
* **Bounded DRAM.** With the design's declared :class:`accelsim.hardware.Hardware`, no layer finishes
  before ``dram_bytes / dram.bytes_per_cycle`` cycles; :func:`finish` adds the difference as
  ``loss_dram_cycles`` (a roofline: DRAM traffic overlapped with compute).
* **One energy vocabulary.** ``energy_<class>_pj`` for every class of
  :data:`accelsim.energy.actions.ENERGY_CLASSES`, summing to ``energy_pj``; the finer
  ``component_<name>_pj`` columns name declared hardware items.
* **Explicit totals.** A model reports ONE instance of a layer; :func:`finish` scales by ``count``
  exactly the totals: the schema's additive columns, the loss and energy columns and the model's
  ``totals``; the model's ``extra`` (ratios, labels, per-instance figures) is never scaled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .energy import ActionCounts, EnergyTable
from .energy.actions import ENERGY_CLASSES
from .errors import ModelError

#: Why a layer takes longer than its ideal cycles, and the resource each reason charges (for ``bound``).
LOSS_REASONS: dict[str, str] = {
    "dram": "dram",                      # waiting for off-chip traffic
    "sram_bandwidth": "sram",            # on-chip buffer ports too narrow
    "bank_conflict": "sram",             # accesses serialized on one bank (SCNN's accumulator banks)
    "noc": "noc",                        # distribution or reduction network bandwidth
    "stationary_load": "noc",            # loading the stationary operand into the array (SIGMA, systolic)
    "halo": "noc",                       # exchanging halo partial sums between PEs (SCNN)
    "load_imbalance": "load_imbalance",  # PEs idle while the busiest finishes
    "fifo_bubble": "load_imbalance",     # a PE starved or blocked by its queue (EIE)
    "fill_drain": "pipeline",            # filling and draining a pipeline or a systolic array
    "reduction": "pipeline",             # adder-tree latency not hidden (SIGMA's FAN)
    "fragmentation": "mapping",          # multipliers left empty by the mapping (partially filled folds)
    "tile_quantization": "mapping",      # the last tile or wave only partly full
    "index": "index",                    # waiting on index or metadata decoding
    "kernel_overhead": "software",       # a measured kernel's distance from peak (GPU libraries)
    "other": "other",
}
#: The resources ``bound`` can name.
BOUNDS = ("compute",) + tuple(dict.fromkeys(LOSS_REASONS.values()))
LOSS_COLUMNS = [f"loss_{r}_cycles" for r in LOSS_REASONS]
ENERGY_COLUMNS = [f"energy_{c}_pj" for c in ENERGY_CLASSES]

SCHEMA = ["arch", "config", "workload", "layer", "op", "M", "N", "K", "count", "pattern", "weight_density",
          "act_density", "cycles", "ideal_cycles", "bound", "compute_cycles", "stall_cycles", "freq_hz",
          "latency_s", "energy_pj", "macs_dense", "macs_performed", "utilization", "load_balance", "pe_busy_max",
          "pe_busy_mean", "weight_bits", "metadata_bits", "dram_bytes", "sram_bytes", "dram_bytes_per_s"]

#: Per-layer fidelity a trace may carry (real-model captures), copied into result rows.
LAYER_FIDELITY_KEYS = ("output_rel_error", "local_rel_error")
#: Whole-model fidelity a trace's provenance may carry, copied into every row of that trace.
TRACE_FIDELITY_KEYS = ("fidelity", "fidelity_metric", "top1_agreement", "logit_rel_error", "embedding_cosine",
                       "vad_decision_agreement")

#: Schema columns that are totals: they add up over layers and scale with a layer's ``count``.
ADDITIVE = ["cycles", "ideal_cycles", "compute_cycles", "stall_cycles", "latency_s", "energy_pj", "macs_dense",
            "macs_performed", "weight_bits", "metadata_bits", "dram_bytes", "sram_bytes"]

_REL_TOL = 1e-6


@dataclass
class LayerResult:
    """What a model reports for one layer instance (see the module docstring for the contract)."""
    cycles: float
    freq_hz: float = 1e9
    macs_performed: float = 0.0
    #: physical MAC slots per cycle (multipliers); ideal_cycles = macs_performed / peak_macs_per_cycle
    peak_macs_per_cycle: float = 0.0
    #: cycles lost, by reason from LOSS_REASONS: ``cycles == macs_performed / peak + sum(losses)``
    losses: dict[str, float] | None = None
    #: the limiting resource, when the model knows better than "the largest share of cycles"
    bound: str | None = None
    pe_busy: np.ndarray | None = None
    actions: ActionCounts = field(default_factory=ActionCounts)
    weight_bits: float = 0.0
    metadata_bits: float = 0.0
    dram_bytes: float = 0.0
    sram_bytes: float = 0.0
    #: model columns that count work, time, energy or storage of one instance: scaled by ``count``
    totals: dict[str, float] = field(default_factory=dict)
    #: model columns that describe one instance (ratios, labels, per-PE figures): never scaled
    extra: dict[str, Any] = field(default_factory=dict)
    #: the same layer on reference designs (e.g. SCNN's dense twin DCNN): the runner prices them with the
    #: config's energy table and adds ``NAME_cycles``, ``NAME_energy_pj``, ``speedup_vs_NAME`` and
    #: ``energy_ratio_vs_NAME`` (reference / this design, so above 1 means this design wins)
    baselines: dict[str, "LayerResult"] = field(default_factory=dict)


def cycle_account(res: LayerResult, dram_bytes_per_cycle: float | None = None,
                  where: str = "") -> tuple[float, float, dict[str, float], str]:
    """``(cycles, ideal_cycles, losses by reason, bound)`` for *res*, the DRAM bound applied.

    Raises :class:`ModelError` when a model on the contract breaks it (losses that do not add up,
    an unknown reason, a negative loss): a bug in the model, named.
    """
    cycles = float(res.cycles)
    peak = float(res.peak_macs_per_cycle)
    ideal = float(res.macs_performed) / peak if peak > 0 else 0.0
    if res.losses is None:
        raise ModelError(f"{where}: the model reports no cycle losses (LayerResult.losses); every model "
                         f"accounts its cycles as ideal + losses by reason")
    losses = {}
    for r, v in res.losses.items():
        if r not in LOSS_REASONS:
            raise ModelError(f"{where}: unknown loss reason '{r}' (one of {', '.join(LOSS_REASONS)})")
        if not v >= 0:
            raise ModelError(f"{where}: loss '{r}' is {v}; losses are >= 0")
        losses[r] = float(v)
    gap = cycles - ideal - sum(losses.values())
    if abs(gap) > _REL_TOL * max(cycles, 1.0):
        raise ModelError(f"{where}: cycle account does not add up: cycles {cycles:g} != ideal {ideal:g} + "
                         f"losses {sum(losses.values()):g} (gap {gap:g})")
    bound = res.bound
    if dram_bytes_per_cycle:
        t_dram = float(res.dram_bytes) / float(dram_bytes_per_cycle)
        if t_dram > cycles * (1 + 1e-12):
            losses["dram"] = losses.get("dram", 0.0) + t_dram - cycles
            cycles = t_dram
            bound = "dram"
    if bound is None:
        share: dict[str, float] = {"compute": ideal}
        for r, v in losses.items():
            share[LOSS_REASONS[r]] = share.get(LOSS_REASONS[r], 0.0) + v
        bound = max(share, key=lambda k: (share[k], k == "compute"))
    elif bound not in BOUNDS:
        raise ModelError(f"{where}: unknown bound '{bound}' (one of {', '.join(BOUNDS)})")
    return cycles, ideal, losses, bound


def finish(res: LayerResult, lt, *, arch: str, config: str, workload: str, table: EnergyTable,
           pattern: str | None = None, hardware=None) -> dict[str, Any]:
    """Turn a model's :class:`LayerResult` on layer trace *lt* into one schema row (a dict).

    *hardware* is the configuration's declared :class:`accelsim.hardware.Hardware`: it bounds the layer
    by its DRAM bandwidth and declares the component names the actions may carry.
    """
    lay = lt.layer
    n = lay.count
    where = f"{arch} on layer '{lay.name}'"
    bw = hardware.dram.bytes_per_cycle if hardware is not None else None
    cycles, ideal, losses, bound = cycle_account(res, bw, where)
    if hardware is not None:
        unknown = res.actions.components() - hardware.names() - set(ENERGY_CLASSES)
        if unknown:
            raise ModelError(f"{where}: action component '{sorted(unknown)[0]}' is not declared hardware "
                             f"(declared: {', '.join(sorted(hardware.names()))})")
    by_class, by_comp = table.energy_split(res.actions)
    total_pj = sum(by_class.values())
    busy = None if res.pe_busy is None else np.asarray(res.pe_busy, dtype=np.float64)
    if busy is not None and busy.size and busy.max() > 0:
        pe_max, pe_mean = float(busy.max()), float(busy.mean())
    else:
        pe_max = pe_mean = ideal
    lb = pe_mean / pe_max if pe_max > 0 else 1.0
    util = ideal / cycles if cycles > 0 else float("nan")
    stall = sum(v for r, v in losses.items() if LOSS_REASONS[r] in ("dram", "sram"))
    compute = cycles - stall
    freq = float(res.freq_hz)
    row: dict[str, Any] = {
        "arch": arch, "config": config, "workload": workload, "layer": lay.name, "op": lay.op,
        "M": lay.M, "N": lay.N, "K": lay.K, "count": n,
        "pattern": pattern or lt.info.get("pattern", "unknown"),
        "weight_density": lt.weight_density, "act_density": lt.act_density,
        "cycles": cycles * n, "ideal_cycles": ideal * n, "bound": bound,
        "compute_cycles": compute * n, "stall_cycles": stall * n, "freq_hz": freq,
        "latency_s": cycles * n / freq,
        "energy_pj": total_pj * n,
        "macs_dense": float(lay.macs) * n, "macs_performed": float(res.macs_performed) * n,
        "utilization": util, "load_balance": lb, "pe_busy_max": pe_max, "pe_busy_mean": pe_mean,
        "weight_bits": float(res.weight_bits) * n, "metadata_bits": float(res.metadata_bits) * n,
        "dram_bytes": float(res.dram_bytes) * n, "sram_bytes": float(res.sram_bytes) * n,
        "dram_bytes_per_s": float(bw) * freq if bw else float("inf"),
        "peak_macs_per_cycle": float(res.peak_macs_per_cycle),
    }
    for r in LOSS_REASONS:
        row[f"loss_{r}_cycles"] = losses.get(r, 0.0) * n
    for c in ENERGY_CLASSES:
        row[f"energy_{c}_pj"] = by_class[c] * n
    for comp in sorted(by_comp):
        row[f"component_{comp}_pj"] = by_comp[comp] * n
    baseline_totals = []
    for name, b in res.baselines.items():
        baseline_totals += [f"{name}_cycles", f"{name}_energy_pj"]
        b_pj = sum(table.energy_split(b.actions)[0].values())
        row[f"{name}_cycles"] = float(b.cycles) * n
        row[f"{name}_energy_pj"] = b_pj * n
        row[f"speedup_vs_{name}"] = float(b.cycles) / cycles if cycles else float("nan")
        row[f"energy_ratio_vs_{name}"] = b_pj / total_pj if total_pj > 0 else float("nan")
    for k in LAYER_FIDELITY_KEYS:
        if k in lt.info:
            row[k] = float(lt.info[k])
    both = set(res.totals) & set(res.extra)
    if both:
        raise ModelError(f"{where}: column '{sorted(both)[0]}' is both a total and a per-instance value")
    for k, v in res.totals.items():
        row[k] = float(v) * n
    row.update(res.extra)
    row["total_columns"] = ",".join(sorted([*res.totals, *baseline_totals]))  # which model columns are totals (network_totals sums them)
    if busy is not None and 0 < busy.size <= 4096:
        row["pe_busy"] = busy.tolist()
    return row


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows to a DataFrame with the schema columns first, energy components next, model columns last."""
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=SCHEMA)
    return df[column_order(df.columns)]


def column_order(columns) -> list[str]:
    """Schema columns first, then losses and energy classes, components, then the model's own columns."""
    columns = list(dict.fromkeys(columns))
    present = set(columns)
    head = [c for c in SCHEMA + LOSS_COLUMNS + ENERGY_COLUMNS if c in present]
    comps = sorted(c for c in columns if c.startswith("component_") and c.endswith("_pj"))
    taken = set(head) | set(comps)
    return head + comps + [c for c in columns if c not in taken]


def to_arrow(rows: list[dict]):
    """Rows to a :class:`pyarrow.Table` in :func:`column_order`, without pandas (the sweep's hot path)."""
    import pyarrow as pa
    cols = column_order(k for r in rows for k in r)
    return pa.Table.from_pylist([{c: r.get(c) for c in cols} for r in rows])


def network_totals(df: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Sum the additive columns per (arch, config, workload[, by...]) - a network result.

    Utilization is recomputed as MAC-weighted; load balance as the
    cycle-weighted mean of the layers'.
    """
    keys = [k for k in ["arch", "config", "workload", "pattern"] + (by or []) if k in df.columns]
    energy_cols = [c for c in df.columns if (c.startswith("energy_") or c.startswith("component_"))
                   and c.endswith("_pj")]
    model_totals = sorted({t for v in df.get("total_columns", pd.Series(dtype=object)).dropna()
                           for t in str(v).split(",") if t})
    add = [c for c in ADDITIVE + LOSS_COLUMNS + energy_cols + model_totals if c in df.columns]
    add = list(dict.fromkeys(add))
    g = df.groupby(keys, sort=False, dropna=False)
    out = g[add].sum().copy()  # one block: the columns added below do not fragment it
    out["layers"] = g.size()
    if "ideal_cycles" in out.columns:
        out["utilization"] = out["ideal_cycles"] / out["cycles"].where(out["cycles"] > 0)
    losses = [c for c in LOSS_COLUMNS if c in out.columns]
    if "ideal_cycles" in out.columns and losses:
        share = pd.DataFrame({"compute": out["ideal_cycles"]})
        for c in losses:
            res_name = LOSS_REASONS[c[len("loss_"):-len("_cycles")]]
            share[res_name] = share.get(res_name, 0.0) + out[c]
        out["bound"] = share.idxmax(axis=1)
    w = df["cycles"].where(df["cycles"] > 0, 1.0)
    out["load_balance"] = (df["load_balance"] * w).groupby([df[k] for k in keys], sort=False, dropna=False).sum() / \
        w.groupby([df[k] for k in keys], sort=False, dropna=False).sum()
    if "freq_hz" in df.columns:
        out["freq_hz"] = g["freq_hz"].first()
    return out.reset_index()
