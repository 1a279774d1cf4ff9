"""Sweep specs: axes over architectures, workloads, patterns and densities, checked before any work.

::

    archs:
      - name: eie                       # a shipped config (or a model name)
        params: {pes: [16, 64], fifo_depth: [1, 8]}   # parameter axes (cartesian)
      - config: my_arch.yaml            # a config file, found beside the spec (as is a workload file)
    workloads: [alexnet]
    patterns: [unstructured]
    densities: [0.1, 0.5, 1.0]          # or profiles: [han2015]
    act_densities: [0.5]                # optional
    seeds: [0, 1]
    layers: [fc6, fc7]                  # optional
    zip: [densities, act_densities]     # optional: these axes advance together

Axes combine as a cartesian product, except those listed under ``zip``
(equal lengths), which advance together. Inside an arch entry, ``zip: true``
zips its parameter axes instead.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..arch import ArchConfig, load_arch
from ..arch.base import override_label
from ..config import check_keys, expect_mapping, load_yaml
from ..errors import AccelsimError, ConfigError
from ..paths import ARCH_DIR
from ..traces import parse_pattern
from ..workload import check_density, load_workload

_TOP = {"name", "archs", "workloads", "patterns", "densities", "profiles", "act_densities", "seeds", "layers",
        "zip", "clustered"}
_ARCH = {"name", "config", "params", "zip", "label"}
_ZIPPABLE = ("patterns", "densities", "profiles", "act_densities", "seeds", "workloads")


@dataclass(frozen=True)
class Recipe:
    """How to make one trace: points that share a recipe share the trace."""
    workload: str
    pattern: str
    density: float | None
    profile: str | None
    act_density: float | None
    seed: int
    layers: tuple[str, ...] | None = None
    clustered: bool = False

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class ArchVariant:
    label: str
    config: ArchConfig
    params: dict[str, Any]  # the entry's parameter values at this point
    #: the text of a user's config file (not a shipped one), kept with the rows so a report can show it
    config_text: str | None = None

    def identity(self) -> dict:
        return {"model": self.config.model, "config": self.config.name,
                "params": self.config.params_dict(), "energy": dataclasses.asdict(self.config.energy)}


@dataclass
class Point:
    key: str
    recipe: Recipe
    arch: ArchVariant

    def columns(self) -> dict:
        cols = {"point": self.key, "sweep_density": self.recipe.density, "sweep_act_density": self.recipe.act_density,
                "profile": self.recipe.profile, "seed": self.recipe.seed, "arch_label": self.arch.label,
                "params": json.dumps(self.arch.params, sort_keys=True)}
        for k, v in self.arch.params.items():
            cols[f"param_{k}"] = v
        if self.arch.config_text is not None:
            cols["config_yaml"] = self.arch.config_text
        return cols


@dataclass
class SweepSpec:
    name: str
    points: list[Point]
    raw: dict = field(default_factory=dict)

    def by_recipe(self) -> dict[Recipe, list[Point]]:
        out: dict[Recipe, list[Point]] = {}
        for p in self.points:
            out.setdefault(p.recipe, []).append(p)
        return out


def _axis(data: dict, key: str, default: list, where: str) -> list:
    if key not in data:
        return default
    v = data[key]
    if not isinstance(v, list):
        v = [v]
    if not v:
        raise ConfigError(f"'{where}{key}' is an empty axis")
    return v


#: a sweep of more points than this is a mistake (10^6 points at 300 points/s is about an hour)
MAX_POINTS = 10 ** 6


def _combine(axes: dict[str, list], zipped: list[str], where: str) -> list[dict]:
    for z in zipped:
        if z not in axes:
            raise ConfigError(f"'{where}zip' names '{z}', which is not an axis here")
    if zipped:
        n = {len(axes[z]) for z in zipped}
        if len(n) > 1:
            raise ConfigError(f"'{where}zip': zipped axes must have equal lengths, got "
                              + ", ".join(f"{z}={len(axes[z])}" for z in zipped))
        zipped_rows = [dict(zip(zipped, vals)) for vals in zip(*(axes[z] for z in zipped))]
    else:
        zipped_rows = [{}]
    free = [k for k in axes if k not in zipped]
    n = len(zipped_rows)
    for k in free:
        n *= len(axes[k])
    if n > MAX_POINTS:
        raise ConfigError(f"'{where or 'spec'}' expands to {n:.3g} combinations, more than {MAX_POINTS:.0e}; "
                          "split the sweep or zip axes")
    out = []
    for combo in itertools.product(*(axes[k] for k in free)):
        for zr in zipped_rows:
            out.append({**dict(zip(free, combo)), **zr})
    return out


def _local_file(name: str, base_dir: Path) -> str:
    """A file named in the spec (an arch config, a workload) is found beside the spec; a shipped name stays."""
    p = Path(name)
    looks_like_file = p.suffix in (".yaml", ".yml") or os.sep in name or "/" in name
    if looks_like_file and not p.is_absolute():
        return str(base_dir / p)
    return name


def _arch_variants(entry, i: int, base_dir: Path) -> list[ArchVariant]:
    where = f"archs[{i}]"
    if isinstance(entry, str):
        entry = {"name": entry}
    entry = expect_mapping(entry, where)
    check_keys(entry, _ARCH, where)
    if ("name" in entry) == ("config" in entry):
        raise ConfigError(f"'{where}': give exactly one of 'name' or 'config'")
    src = _local_file(str(entry["name"] if "name" in entry else entry["config"]), base_dir)
    axes = {}
    for k, v in expect_mapping(entry.get("params"), f"{where}.params").items():
        vals = v if isinstance(v, list) else [v]
        if not vals:
            raise ConfigError(f"'{where}.params.{k}' is an empty axis")
        axes[k] = vals
    zipped = list(axes) if entry.get("zip") is True else []
    combos = _combine(axes, zipped, f"{where}.") if axes else [{}]
    swept = [k for k, vals in axes.items() if len(vals) > 1]
    out = []
    for combo in combos:
        try:
            cfg = load_arch(src, combo)
        except AccelsimError as e:
            raise type(e)(f"{where}: {e}") from None
        # the point's label names only what this entry sweeps; its config label (cfg.name) names every override
        label = override_label(entry.get("label") or cfg.base_name, {k: combo[k] for k in swept})
        out.append(ArchVariant(label=label, config=cfg, params=combo, config_text=_user_text(cfg)))
    return out


def _user_text(cfg: ArchConfig) -> str | None:
    if cfg.path is None or cfg.path.resolve().parent == ARCH_DIR.resolve():
        return None
    return cfg.path.read_text(encoding="utf-8")


def _unique_labels(variants: list[ArchVariant]) -> None:
    """Two entries that sweep nothing but differ in fixed values would share a label: give those every value."""
    seen: dict[str, int] = {}
    for v in variants:
        seen[v.label] = seen.get(v.label, 0) + 1
    for v in variants:
        if seen[v.label] > 1:
            v.label = override_label(v.label.split("[")[0], v.params) if v.params else v.config.name


def point_key(recipe: Recipe, arch: ArchVariant) -> str:
    blob = json.dumps({"recipe": recipe.as_dict(), "arch": arch.identity(), "version": __version__},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def parse_spec(data, where: str = "spec", base_dir: Path | None = None) -> SweepSpec:
    data = expect_mapping(data, where)
    check_keys(data, _TOP, "")
    base_dir = base_dir or Path.cwd()
    archs_raw = _axis(data, "archs", [], "")
    if not archs_raw:
        raise ConfigError("'archs' is required: at least one architecture")
    variants = [v for i, a in enumerate(archs_raw) for v in _arch_variants(a, i, base_dir)]
    _unique_labels(variants)
    workloads = [_local_file(str(w), base_dir) for w in _axis(data, "workloads", [], "")]
    if not workloads:
        raise ConfigError("'workloads' is required: at least one workload")
    for w in workloads:
        load_workload(str(w))
    patterns = [str(p) for p in _axis(data, "patterns", ["unstructured"], "")]
    for p in patterns:
        parse_pattern(p)
    if "densities" in data and "profiles" in data:
        raise ConfigError("give 'densities' or 'profiles', not both")
    densities = _axis(data, "densities", [None], "")
    for d in densities:
        if d is not None:
            check_density(d, "densities")
    profiles = _axis(data, "profiles", [None], "")
    for prof in profiles:
        if prof is None:
            continue
        for w in workloads:
            names = load_workload(str(w)).profile_names()
            if str(prof) not in names:
                raise ConfigError(f"'profiles': '{prof}' is not a profile of workload '{w}' "
                                  f"(profiles: {', '.join(names)})")
    acts = _axis(data, "act_densities", [None], "")
    for a in acts:
        if a is not None:
            check_density(a, "act_densities")
    seeds = _axis(data, "seeds", [0], "")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ConfigError(f"'seeds' must be non-negative integers, got {s!r}")
    layers = data.get("layers")
    if layers is not None and (not isinstance(layers, list) or not layers):
        raise ConfigError("'layers' must be a non-empty list of layer names")
    zipped = data.get("zip", [])
    if not isinstance(zipped, list) or any(z not in _ZIPPABLE for z in zipped):
        raise ConfigError(f"'zip' must list axes among: {', '.join(_ZIPPABLE)}")
    axes = {"workloads": workloads, "patterns": patterns, "densities": densities, "profiles": profiles,
            "act_densities": acts, "seeds": seeds}
    combos = _combine(axes, zipped, "")
    if len(combos) * len(variants) > MAX_POINTS:
        raise ConfigError(f"the sweep has {len(combos) * len(variants):.3g} points ({len(variants)} architectures "
                          f"x {len(combos)} workload settings), more than {MAX_POINTS:.0e}; split it")
    points: list[Point] = []
    seen = set()
    for c in combos:
        pat = parse_pattern(c["patterns"])
        dens = c["densities"]
        if pat.fixed_density is not None:
            dens = None  # N:M and dense fix their own density
        r = Recipe(workload=str(c["workloads"]), pattern=pat.name, density=dens, profile=c["profiles"],
                   act_density=c["act_densities"], seed=int(c["seeds"]),
                   layers=tuple(layers) if layers else None, clustered=bool(data.get("clustered", False)))
        if layers:
            load_workload(r.workload).select(list(layers))
        for v in variants:
            k = point_key(r, v)
            if k not in seen:
                seen.add(k)
                points.append(Point(k, r, v))
    return SweepSpec(name=str(data.get("name", where)), points=points, raw=data)


def load_spec(path: str | Path) -> SweepSpec:
    p = Path(path)
    data = load_yaml(p)
    try:
        return parse_spec(data, p.stem, p.parent)
    except AccelsimError as e:
        raise type(e)(f"{p}: {e}") from None
