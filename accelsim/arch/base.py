"""The model contract and the registry; arch configs from YAML.

A model is a registered :class:`ArchModel` subclass with a ``Params``
dataclass (the YAML ``params:``) and ``simulate(layer_trace, params) ->
LayerResult``. It is pure: no files, no printing, same trace and params give
the same numbers. An arch config (``accelsim/configs/NAME.yaml``) names the model,
its params and its energy table::

    model: eie
    description: "EIE as published: 64 PEs, 45 nm"
    source: "Han et al., ISCA 2016"
    params: {pes: 64, fifo_depth: 8}
    energy: horowitz_45nm            # or a path, or {table: ..., node_nm: 16}
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ..config import build_dataclass, check_keys, expect_mapping, load_yaml, positive
from ..energy import EnergyTable, load_table
from ..errors import AccelsimError, ConfigError, ModelError
from ..paths import ARCH_DIR, resolve, shipped
from ..results import LayerResult


@dataclass
class CommonParams:
    """The parameter groups every design shares (docs/CONTRIBUTING.md, "Parameter glossary").

    A model's ``Params`` subclasses this and re-declares a field to change its default (the paper's
    clock, the design's DRAM), never its meaning:

    * ``freq_hz``: the clock, Hz;
    * ``dram_bytes_per_cycle``: DRAM bandwidth in bytes per clock cycle, finite and > 0 (every
      shipped config says where its number comes from);
    * ``value_bits``: the datapath width of one operand value (what a multiplier takes), bits;
    * ``dram_pj_per_bit``: DRAM access energy, pJ per bit; ``None`` (the default) takes the energy
      table's figure (Horowitz's 20 pJ/bit, which does not scale with the logic node). Set it when the
      design's paper or its memory technology (LPDDR, HBM) states its own.
    """
    freq_hz: float = positive(1.0e9)
    dram_bytes_per_cycle: float = positive(16.0)
    value_bits: int = positive(16)
    dram_pj_per_bit: float | None = positive(None)


class ArchModel:
    """Base class of accelerator models."""
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type] = object

    def simulate(self, lt, p) -> LayerResult:  # pragma: no cover - interface
        raise NotImplementedError

    def hardware(self, p):
        """The configuration's declared :class:`accelsim.hardware.Hardware` (compute, memories, logic, DRAM).

        It feeds the area (``area_mm2`` on every row), the DRAM bound and the component names the
        model's actions may carry. Every model on the contract returns one.
        """
        return None

    def simulate_stats(self, ls, p) -> LayerResult:
        """The statistical mode: expected values from shapes and densities (:class:`accelsim.traces.stats.LayerStats`).

        Returns the same rows as :meth:`simulate` on a trace of that pattern and density, within 10% on
        cycles and energy for whole pruned networks (tests/contract). Models without one raise.
        """
        raise ModelError(f"model '{self.name}' has no statistical mode yet; run it on a trace")

    def inventory(self, p):
        """Legacy: the area inventory of a model that does not declare :meth:`hardware` yet."""
        hw = self.hardware(p)
        return hw.inventory() if hw is not None else None


_REGISTRY: dict[str, type[ArchModel]] = {}


def register(cls: type[ArchModel]) -> type[ArchModel]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} needs a name")
    _REGISTRY[cls.name] = cls
    return cls


def get_model(name: str) -> type[ArchModel]:
    from . import _discover
    _discover()
    if name not in _REGISTRY:
        raise AccelsimError(f"unknown model '{name}' (models: {', '.join(sorted(_REGISTRY))})")
    return _REGISTRY[name]


def list_models() -> dict[str, str]:
    from . import _discover
    _discover()
    return {n: c.description for n, c in sorted(_REGISTRY.items())}


@dataclass
class ArchConfig:
    name: str
    model: str
    params: Any
    energy: EnergyTable
    description: str = ""
    source: str = ""
    path: Path | None = None
    raw: dict = field(default_factory=dict)
    #: the ``params:`` keys replaced on top of the file (``--set``, a sweep point): the name shows them
    overrides: dict = field(default_factory=dict)

    @property
    def base_name(self) -> str:
        """The config's own name, without the ``[key=value,...]`` of its overrides."""
        return self.name[:self.name.index("[")] if self.overrides and "[" in self.name else self.name

    def simulate(self, lt) -> LayerResult:
        return get_model(self.model)().simulate(lt, self.params)

    def with_params(self, **overrides) -> "ArchConfig":
        merged = {**dataclasses.asdict(self.params), **overrides}
        params = build_dataclass(get_model(self.model).Params, merged, "params")
        over = {**self.overrides, **overrides}
        return dataclasses.replace(self, params=params, name=override_label(self.base_name, over), overrides=over)

    def params_dict(self) -> dict:
        return dataclasses.asdict(self.params)


def _label_value(v) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple)):
        return "x".join(_label_value(x) for x in v)
    if isinstance(v, dict):
        return "{" + ",".join(f"{k}:{_label_value(x)}" for k, x in v.items()) + "}"
    return str(getattr(v, "name", v)) if not isinstance(v, (int, str)) else str(v)


def override_label(name: str, overrides: dict | None) -> str:
    """What ran, in one label: ``systolic[rows=32,cols=32]`` for ``systolic`` with two ``params:`` overrides."""
    if not overrides:
        return name
    return f"{name}[" + ",".join(f"{k}={_label_value(v)}" for k, v in overrides.items()) + "]"


_CONFIG_KEYS = {"model", "description", "source", "params", "energy", "name", "notes"}


def arch_from_dict(data, name: str, overrides: dict | None = None, base_dir: Path | None = None) -> ArchConfig:
    data = expect_mapping(data, name)
    check_keys(data, _CONFIG_KEYS, "")
    model = data.get("model")
    if not isinstance(model, str):
        raise ConfigError(f"arch config '{name}': 'model' is required (models: {', '.join(list_models())})")
    cls = get_model(model)
    params_raw = dict(expect_mapping(data.get("params"), "params"))
    params_raw.update(overrides or {})
    params = build_dataclass(cls.Params, params_raw, "params")
    energy = load_table(data.get("energy"), base_dir)
    over = dict(overrides or {})
    return ArchConfig(name=override_label(str(data.get("name", name)), over), model=model, params=params,
                      energy=energy, description=str(data.get("description", "")),
                      source=str(data.get("source", "")), raw=data, overrides=over)


def load_arch(name_or_path: str | ArchConfig, overrides: dict | None = None) -> ArchConfig:
    """A shipped arch config by name, or a YAML file; *overrides* replace ``params:`` keys."""
    if isinstance(name_or_path, ArchConfig):
        return name_or_path.with_params(**overrides) if overrides else name_or_path
    s = str(name_or_path)
    try:
        path = resolve(s, ARCH_DIR, "arch")
    except AccelsimError:
        from . import _discover
        _discover()
        if s in _REGISTRY:   # a bare model name runs with its default params
            return arch_from_dict({"model": s}, s, overrides)
        raise
    try:
        cfg = arch_from_dict(load_yaml(path), path.stem, overrides, path.parent)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    cfg.path = path
    return cfg


def list_archs() -> list[str]:
    return shipped(ARCH_DIR)
