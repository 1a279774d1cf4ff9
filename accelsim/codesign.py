"""Co-design search: pattern, density, format and configuration per layer, under accuracy, area and storage budgets.

The question: given a network and budgets, which sparsity pattern, density
and storage format should each layer use, on which accelerator configuration?

Evaluation (:func:`evaluate`) runs every candidate on real tensors: for each
(pattern, density) a trace is made from the same seeded weights, every layer
is simulated on every configuration with each candidate weight format
*applied through the configuration* (its ``weight_format`` parameter), so the
format changes what the design pays (bits moved and stored, index work,
energy), not only the storage column; a design whose weight format is fixed
(a dense systolic array, the 2:4 tensor core) is evaluated once, in its own
format. Storage is the design's own ``weight_bits + metadata_bits``. Fidelity
is measured per layer.

Fidelity. For a layer, the relative output error of the pruned weights on the
trace's activations, ``e_l = ||(W_dense - W_pruned) X|| / ||W_dense X||``
(Frobenius norms, on up to 256 evenly spaced columns of X), or the error a
real-model capture recorded for this layer's pruning alone
(``LayerTrace.info["local_rel_error"]``). The
network proxy is ``F = 1 - sum_l w_l e_l`` with ``w_l`` the layer's share of
dense MACs: additive over layers, 1 for the dense network, falling as layers
lose more of their output. It is a proxy for accuracy, stated as such.

Search (:func:`search`). One configuration is shared by all layers (a chip is
built once); configurations over ``max_area_mm2`` are dropped. For each, the
per-layer choices are combined layer by layer keeping only partial plans not
dominated in (latency, energy, error, storage): a multi-objective knapsack
by Pareto pruning, exact because a dominated partial plan can never complete
into a better feasible plan (every constraint and objective is monotone in
these sums). If a front outgrows ``max_front`` points it is thinned to the
best objective per error bin, and the plan says it is no longer exact.
The objective (latency, energy or EDP = energy x latency of the totals) is
minimized over the final fronts subject to the fidelity and storage budgets.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .api import build_trace, simulate_trace
from .arch import ArchConfig
from .errors import AccelsimError
from .traces import parse_pattern
from .workload import check_density

OBJECTIVES = ("latency", "energy", "edp")


def layer_error(w_dense: np.ndarray, w_pruned: np.ndarray, x: np.ndarray, max_cols: int = 256) -> float:
    """Relative output error of *w_pruned* against *w_dense* on (a column sample of) *x*."""
    if x.shape[1] > max_cols:
        x = x[:, np.linspace(0, x.shape[1] - 1, max_cols).astype(np.int64)]
    x = x.astype(np.float64)
    ref = w_dense.astype(np.float64) @ x
    den = float(np.linalg.norm(ref))
    if den == 0.0:
        return 0.0 if np.array_equal(w_dense, w_pruned) else 1.0
    return float(np.linalg.norm((w_dense.astype(np.float64) - w_pruned) @ x)) / den


def _trace_error(dense_lt, lt) -> float:
    # a real-model capture measured it: this layer's own pruning error (local), not the upstream-compounded one
    for key in ("local_rel_error", "output_rel_error"):
        if key in lt.info:
            return float(lt.info[key])
    num = den = 0.0
    for (wd, x), (wp, _) in zip(dense_lt.gemms(), lt.gemms()):
        cols = x.shape[1]
        xs = x[:, np.linspace(0, cols - 1, min(cols, 256)).astype(np.int64)].astype(np.float64)
        ref = wd.astype(np.float64) @ xs
        num += float(np.linalg.norm((wd.astype(np.float64) - wp) @ xs)) ** 2
        den += float(np.linalg.norm(ref)) ** 2
    return math.sqrt(num / den) if den > 0 else 0.0


def evaluate(workload, archs: dict[str, ArchConfig] | list[ArchConfig], patterns: list[str], densities: list[float],
             formats: list[str] | None = None, act_density: float | None = 0.5, seed: int = 0,
             layers: list[str] | None = None, progress=None) -> pd.DataFrame:
    """Every (config, layer, pattern, density, format) candidate with its cost, error and storage."""
    if not isinstance(archs, dict):
        archs = {c.name: c for c in archs}
    formats = formats or ["dense", "bitmap", "csr", "rle", "coo"]
    variants = {label: format_variants(cfg, formats) for label, cfg in archs.items()}
    # build_trace also takes real:MODEL workloads: real weights, measured activations, captured fidelity
    dense = build_trace(workload, layers=layers, pattern="dense", act_density=act_density, seed=seed)
    layer_of = {lt.name: lt.layer for lt in dense.layers}
    total_macs = sum(l.total_macs for l in layer_of.values())
    recipes = []
    for p in patterns:
        pat = parse_pattern(p)
        if pat.fixed_density is not None:
            recipes.append((pat.name, pat.fixed_density))
        else:
            recipes += [(pat.name, check_density(d)) for d in densities]
    rows = []
    for pname, d in dict.fromkeys(recipes):
        tr = dense if pname == "dense" else build_trace(
            workload, layers=layers, pattern=pname, density=None if parse_pattern(pname).fixed_density else d,
            act_density=act_density, seed=seed)
        errs = {lt.name: _trace_error(dense.layer(lt.name), lt) for lt in tr.layers}
        for label in archs:
            if progress:
                progress(f"{label} {pname} {d:g}")
            for f, cfg_f in variants[label].items():
                for lt in tr.layers:
                    try:
                        (r,) = simulate_trace(cfg_f, tr.select([lt.name]))
                    except AccelsimError:
                        continue  # the format cannot hold this pattern on this design (e.g. nm on unstructured)
                    lay = layer_of[r["layer"]]
                    rows.append({"config": label, "layer": r["layer"], "pattern": pname, "density": d,
                                 "format": f, "latency_s": r["latency_s"], "energy_pj": r["energy_pj"],
                                 "area_mm2": r.get("area_mm2", math.nan), "rel_error": errs[r["layer"]],
                                 "weight": lay.total_macs / total_macs,
                                 "storage_bits": r["weight_bits"] + r["metadata_bits"]})
    return pd.DataFrame(rows)


def format_variants(cfg: ArchConfig, formats: list[str]) -> dict[str, ArchConfig]:
    """*cfg* with each candidate weight format applied through its ``weight_format`` parameter.

    A design without that parameter stores its weights one way only: it is its own single candidate,
    labelled ``native``. The design's configured format is always a candidate; a format the design
    refuses (a configuration error, or a model error on a layer) is not.
    """
    if not hasattr(cfg.params, "weight_format"):
        return {"native": cfg}
    own = cfg.params.weight_format
    own_name = getattr(own, "name", own)
    out = {str(own_name): cfg}   # the design's own format is always a candidate (EIE reads only CSC)
    for f in formats:
        if f == own_name:
            continue
        try:
            out[f] = cfg.with_params(weight_format=f)
        except AccelsimError:
            continue
    return out


@dataclass
class Plan:
    config: str
    choices: pd.DataFrame          # one row per layer
    totals: dict
    front: pd.DataFrame            # objective vs fidelity vs area over all configs' final fronts
    exact: bool = True
    notes: list[str] = field(default_factory=list)


def _objective(obj: str, lat: np.ndarray, en: np.ndarray) -> np.ndarray:
    return {"latency": lat, "energy": en, "edp": lat * en}[obj]


def _pareto(points: np.ndarray) -> np.ndarray:
    """Indices of the rows of *points* (n x d, all minimized) that no other row dominates."""
    n = len(points)
    order = np.lexsort(points.T[::-1])
    keep = []
    kept = np.empty((0, points.shape[1]))
    for i in order:
        p = points[i]
        if len(kept) and np.any(np.all(kept <= p, axis=1)):
            continue
        keep.append(i)
        kept = np.vstack([kept, p])
    return np.array(sorted(keep), dtype=np.int64) if n else np.array([], dtype=np.int64)


def _combine(options: list[pd.DataFrame], max_front: int, budget_err: float, budget_bits: float):
    """Pareto-combine per-layer options; returns (front sums n x 4, choice index lists, exact)."""
    exact = True
    sums = np.zeros((1, 4))
    picks: list[tuple[int, ...]] = [()]
    for opts in options:
        vals = opts[["latency_s", "energy_pj", "werr", "storage_bits"]].to_numpy(dtype=np.float64)
        new = (sums[:, None, :] + vals[None, :, :]).reshape(-1, 4)
        idx = [(a, b) for a in range(len(sums)) for b in range(len(vals))]
        ok = (new[:, 2] <= budget_err + 1e-12) & (new[:, 3] <= budget_bits)
        new = new[ok]
        idx = [i for i, k in zip(idx, ok) if k]
        if not len(new):
            return np.zeros((0, 4)), [], exact
        keep = _pareto(new)
        if len(keep) > max_front:
            exact = False
            bins = np.floor(new[keep, 2] / max(budget_err, 1e-12) * (max_front - 1)).astype(np.int64)
            best = {}
            for k, b in zip(keep, bins):
                if b not in best or new[k, 0] * new[k, 1] < new[best[b], 0] * new[best[b], 1]:
                    best[b] = k
            keep = np.array(sorted(best.values()), dtype=np.int64)
        sums = new[keep]
        picks = [picks[idx[k][0]] + (idx[k][1],) for k in keep]
    return sums, picks, exact


def search(options: pd.DataFrame, objective: str = "latency", max_area_mm2: float | None = None,
           min_fidelity: float | None = None, max_storage_bits: float | None = None,
           max_front: int = 4000) -> Plan:
    """The plan minimizing *objective* under the budgets (see the module docstring for the method)."""
    if objective not in OBJECTIVES:
        raise AccelsimError(f"objective must be one of {', '.join(OBJECTIVES)}, got '{objective}'")
    if options.empty:
        raise AccelsimError("no candidates to search")
    if min_fidelity is not None and not 0.0 <= min_fidelity <= 1.0:
        raise AccelsimError(f"--min-fidelity must be in [0, 1], got {min_fidelity}")
    opts = options.assign(werr=options["weight"] * options["rel_error"])
    configs = list(dict.fromkeys(opts["config"]))
    areas = opts.groupby("config")["area_mm2"].first()
    if max_area_mm2 is not None:
        unknown = [c for c in configs if not np.isfinite(areas[c])]
        if unknown:
            raise AccelsimError(f"configuration(s) {', '.join(unknown)} report no area; cannot apply --max-area")
        fits = [c for c in configs if areas[c] <= max_area_mm2]
        if not fits:
            raise AccelsimError(f"no configuration fits --max-area {max_area_mm2:g} mm2: the smallest needs "
                                f"{areas.min():.4g} mm2")
        configs = fits
    budget_err = math.inf if min_fidelity is None else 1.0 - min_fidelity
    budget_bits = math.inf if max_storage_bits is None else max_storage_bits
    layers = list(dict.fromkeys(opts["layer"]))
    best = None
    fronts = []
    exact_all = True
    for c in configs:
        sub = opts[opts["config"] == c]
        per_layer = [sub[sub["layer"] == l].reset_index(drop=True) for l in layers]
        sums, picks, exact = _combine(per_layer, max_front, budget_err, budget_bits)
        exact_all &= exact
        if not len(sums):
            continue
        obj = _objective(objective, sums[:, 0], sums[:, 1])
        for s, o in zip(sums, obj):
            fronts.append({"config": c, "objective": o, "latency_s": s[0], "energy_pj": s[1], "fidelity": 1 - s[2],
                           "storage_bits": s[3], "area_mm2": areas[c]})
        i = int(np.argmin(obj))
        if best is None or obj[i] < best[0]:
            choice = pd.DataFrame([per_layer[k].iloc[j] for k, j in enumerate(picks[i])]).reset_index(drop=True)
            best = (obj[i], c, choice, sums[i])
    if best is None:
        # infeasible: report the tightest feasible fidelity (the best any config reaches without the budget)
        tight = opts[opts["config"].isin(configs)].groupby(["config", "layer"])["werr"].min().groupby("config").sum()
        if min_fidelity is not None and (1 - tight.min()) < min_fidelity:
            raise AccelsimError(f"no plan reaches --min-fidelity {min_fidelity:g}: the best feasible is "
                                f"{1 - tight.min():.6g}")
        raise AccelsimError("no plan meets the storage budget: the smallest needs "
                            f"{opts.groupby(['config', 'layer'])['storage_bits'].min().groupby('config').sum().min():.4g} bits")
    obj, c, choice, s = best
    totals = {"config": c, "objective": objective, "objective_value": float(obj), "latency_s": float(s[0]),
              "energy_pj": float(s[1]), "fidelity": float(1 - s[2]), "storage_bits": float(s[3]),
              "area_mm2": float(areas[c])}
    front = pd.DataFrame(fronts)
    front["chosen"] = (front["config"] == c) & np.isclose(front["objective"], obj)
    return Plan(config=c, choices=choice.drop(columns=["werr"]), totals=totals, front=front, exact=exact_all)


def brute_force(options: pd.DataFrame, objective: str = "latency", max_area_mm2=None, min_fidelity=None,
                max_storage_bits=None) -> float | None:
    """The optimum by enumerating every plan (for tests on small cases); None if infeasible."""
    opts = options.assign(werr=options["weight"] * options["rel_error"])
    best = None
    for c, sub in opts.groupby("config", sort=False):
        if max_area_mm2 is not None and not sub["area_mm2"].iloc[0] <= max_area_mm2:
            continue
        per = [g.to_dict("records") for _, g in sub.groupby("layer", sort=False)]
        for combo in itertools.product(*per):
            lat = sum(o["latency_s"] for o in combo)
            en = sum(o["energy_pj"] for o in combo)
            err = sum(o["werr"] for o in combo)
            bits = sum(o["storage_bits"] for o in combo)
            if min_fidelity is not None and 1 - err < min_fidelity - 1e-12:
                continue
            if max_storage_bits is not None and bits > max_storage_bits:
                continue
            v = {"latency": lat, "energy": en, "edp": lat * en}[objective]
            best = v if best is None or v < best else best
    return best
