"""Build a pruned trace for a workload: weights, pruning, activations."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import PatternError, TraceError
from ..workload.zoo import Density, Workload, check_density
from .generate import layer_rng, make_activations, make_weights
from .pruners import Pattern, global_threshold_densities, parse_pattern, prune
from .trace import MAX_TRACE_ELEMENTS, LayerTrace, Trace, check_size

_W_STREAM, _X_STREAM, _P_STREAM = 1, 2, 3


def plan_densities(workload: Workload, pattern: Pattern, density: float | None, profile: str | None,
                   act_density: float | None) -> dict[str, Density]:
    """The (weight, activation) density each layer is pruned and filled to."""
    fixed = pattern.fixed_density
    if fixed is not None and density is not None and abs(density - fixed) > 1e-9 and pattern.kind != "dense":
        raise PatternError(f"pattern {pattern.name} fixes the weight density at {fixed:g}; drop --density")
    if fixed is not None:
        base = workload.densities(profile)
        prunable = {l.name: l.prunable for l in workload.layers}
        dens = {n: Density(fixed if prunable[n] else 1.0, d.act) for n, d in base.items()}
    else:
        dens = workload.densities(profile, density)
    if act_density is not None:
        check_density(act_density, "activation density")
        dens = {k: Density(v.weight, act_density) for k, v in dens.items()}
    return dens


def make_trace(workload: Workload, pattern: str | Pattern = "unstructured", density: float | None = None,
               profile: str | None = None, act_density: float | None = None, seed: int = 0,
               layers: list[str] | None = None, clustered: bool = False, weight_dist: str = "gaussian",
               source: str = "synthetic") -> Trace:
    """A seeded synthetic trace of *workload* pruned with *pattern*.

    *density* is the weight density to keep (uniform over prunable layers)
    unless *profile* names per-layer densities; *act_density* overrides every
    layer's activation density (else the profile's, else 1.0).
    """
    pat = parse_pattern(pattern) if isinstance(pattern, str) else pattern
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TraceError(f"seed must be a non-negative integer, got {seed!r}")
    wl = workload.select(layers)
    total = 0
    for lay in wl.layers:
        check_size(lay.name, lay.weight_shape, "weight")
        check_size(lay.name, lay.input_shape, "input")
        total += lay.n_weights + int(np.prod(lay.input_shape))
    if total > MAX_TRACE_ELEMENTS:
        raise TraceError(f"workload '{wl.name}' needs {total:.3g} tensor elements, more than the "
                         f"{MAX_TRACE_ELEMENTS:.3g} accelsim will allocate; select layers with --layers")
    index = {l.name: i for i, l in enumerate(workload.layers)}
    dens = plan_densities(wl, pat, density, profile, act_density)
    from .. import budget
    # float32 weights and inputs, plus the working copies of the layers in flight (8 bytes an element, bounded)
    budget.check(16 * total, f"a trace of '{wl.name}' ({total:.3g} elements)")
    # every layer has its own generators, so layers are made in parallel threads (numpy's generators and the
    # selection kernels release the GIL) and the result is bit for bit the serial one; the largest layers go
    # first so that no thread is left with a big one at the end
    by_size = sorted(wl.layers, key=lambda l: -(l.n_weights + int(np.prod(l.input_shape))))
    global_scope = pat.kind == "unstructured" and pat.scope == "global"

    def weights_of(lay):
        return make_weights(lay.weight_shape, layer_rng(seed, index[lay.name], _W_STREAM), weight_dist)

    def one(lay, w=None):
        w = weights_of(lay) if w is None else w
        d = dens[lay.name]
        # the label says what the layer got: a layer left whole (not prunable, or kept at density 1) is "dense"
        pruned = lay.prunable and (d.weight < 1.0 or pat.kind == "nm")
        if pruned:
            w = prune(w, pat, d.weight, layer_rng(seed, index[lay.name], _P_STREAM), inplace=True)
        a = 1.0 if d.act is None else d.act
        x = make_activations(lay.input_shape, a, layer_rng(seed, index[lay.name], _X_STREAM), clustered)
        info = {"target_weight_density": d.weight if lay.prunable else 1.0, "target_act_density": a,
                "pattern": pat.name if pruned else "dense"}
        return LayerTrace(lay, w, x, info), pruned

    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 8)) as pool:
        if global_scope:   # one threshold over every layer's weights: draw them all first
            weights = dict(zip((l.name for l in by_size), pool.map(weights_of, by_size)))
            target = density if density is not None else 1.0
            g = global_threshold_densities({n: w for n, w in weights.items() if wl.layer(n).prunable}, target)
            dens = {n: Density(g.get(n, 1.0), d.act) for n, d in dens.items()}
            done = dict(zip((l.name for l in by_size), pool.map(lambda l: one(l, weights.pop(l.name)), by_size)))
        else:
            done = dict(zip((l.name for l in by_size), pool.map(one, by_size)))
    made = [done[l.name] for l in wl.layers]
    out = [lt for lt, _ in made]
    pruned_any = any(p for _, p in made)
    prov = {"pruner": "magnitude" if pat.kind not in ("random", "dense") else pat.kind,
            "pattern": pat.name if pruned_any else "dense",
            "density": density, "profile": profile, "act_density": act_density, "seed": int(seed),
            "clustered": clustered, "weight_dist": weight_dist, "source": source}
    return Trace(workload=workload.name, layers=out, provenance=prov)
