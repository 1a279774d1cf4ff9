"""Statistical layers: shapes and densities instead of tensors (Sparseloop's statistical density models).

A :class:`LayerStats` stands where a :class:`~accelsim.traces.LayerTrace` stands, for a model's
``simulate_stats(ls, p)``: the layer, its pruning pattern and the expected densities of its weights
and input activations. Models compute the *expected* values of what they count on a trace: per-PE
work and its spread, folds, FIFO waits, bank conflicts, packed columns, N:M tiles, under

* ``unstructured`` / ``random``: each weight nonzero independently with probability ``weight_density``
  (counts per row or per PE are binomial; drawn without replacement from a fixed total they are
  hypergeometric);
* ``nm:N:M``: exactly N nonzeros in every M consecutive weights along K (fixed structure);
* ``block:BHxBW``: whole blocks kept with probability ``weight_density``, dense inside;
* ``channel``: whole rows of W kept;
* activations: each input nonzero independently with probability ``act_density``.

``seed`` lets a model draw from these distributions when an expectation has no closed form (SIGMA's
per-row useful counts); the result must still be deterministic for a given seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import TraceError
from ..workload import Workload
from ..workload.layer import Layer
from .pruners import Pattern, parse_pattern


@dataclass
class LayerStats:
    layer: Layer
    pattern: Pattern
    weight_density: float
    act_density: float
    seed: int = 0
    info: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.layer.name

    @property
    def statistical(self) -> bool:
        return True

    @property
    def expected_effectual_macs(self) -> float:
        """Expected products with both operands nonzero (independent densities)."""
        return float(self.layer.macs) * self.weight_density * self.act_density


@dataclass
class StatsTrace:
    """A whole workload as :class:`LayerStats`: what ``--statistical`` runs (no tensor is made)."""
    workload: str
    layers: list[LayerStats]
    provenance: dict = field(default_factory=dict)

    def __iter__(self):
        return iter(self.layers)

    def __len__(self):
        return len(self.layers)

    def select(self, names: list[str] | None) -> "StatsTrace":
        if not names:
            return self
        known = {ls.name: ls for ls in self.layers}
        missing = [n for n in names if n not in known]
        if missing:
            raise TraceError(f"no layer '{missing[0]}' (layers: {', '.join(known)})")
        return StatsTrace(self.workload, [known[n] for n in names], self.provenance)


def make_stats(workload: Workload, pattern: str | Pattern = "unstructured", density: float | None = None,
               profile: str | None = None, act_density: float | None = None, seed: int = 0,
               layers: list[str] | None = None) -> StatsTrace:
    """The statistical twin of :func:`accelsim.traces.make_trace`: the same densities, no tensors."""
    from .make import plan_densities
    pat = parse_pattern(pattern) if isinstance(pattern, str) else pattern
    wl = workload.select(layers)
    dens = plan_densities(wl, pat, density, profile, act_density)
    out = []
    for lay in wl.layers:
        d = dens[lay.name]
        w = d.weight if lay.prunable else 1.0
        if lay.prunable and pat.fixed_density is not None and pat.kind == "nm":
            w = pat.fixed_density
        a = 1.0 if d.act is None else d.act
        p = pat if lay.prunable else parse_pattern("dense")
        out.append(LayerStats(lay, p, float(w), float(a), seed,
                              {"target_weight_density": w, "target_act_density": a, "pattern": p.name,
                               "statistical": True}))
    return StatsTrace(workload.name, out, {"pattern": pat.name, "density": density, "profile": profile,
                                           "seed": seed, "statistical": True})
