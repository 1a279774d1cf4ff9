"""Energy tables: action counts in, picojoules out.

A table is YAML data (``accelsim/energy/tables/*.yaml``, or a user's file
named by ``energy:`` in an arch config). It knows nothing of any model.

Rules (also stated in the shipped table):

* Arithmetic of a width not in the table: additions scale linearly with
  width, multiplications quadratically, from the nearest listed width.
* SRAM and register files: energy per 64-bit access interpolated log-log in
  capacity between listed points; below the smallest point it falls with the
  square root of capacity (the 8 KB -> 32 KB slope of Horowitz's data); above
  the largest it continues the last segment's slope.
* Other technology nodes: ``scale_to_node(nm)`` scales every on-chip energy
  linearly with feature size (dynamic energy ~ C V^2 with C ~ feature size at
  roughly constant voltage below 45 nm; Dennard-style V scaling would give
  more). DRAM energy does not scale with the logic node.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..config import check_keys, expect_mapping, load_yaml
from ..errors import ConfigError
from ..paths import PACKAGE_DIR
from .actions import ActionCounts

TABLE_DIR = PACKAGE_DIR / "energy" / "tables"
_KEYS = {"name", "node_nm", "units", "source", "arith", "sram_64b", "rf_floor_64b", "dram_per_bit",
         "wire_per_bit_hop", "index_op", "notes", "area"}
_UNITS = {"pJ": 1.0, "fJ": 1e-3, "nJ": 1e3}


@dataclass
class EnergyTable:
    name: str
    node_nm: float
    arith: dict[str, dict[int, dict[str, float]]]
    sram_64b: dict[int, float]
    rf_floor_64b: float
    dram_per_bit: float
    wire_per_bit_hop: float
    index_op: float
    source: str = ""
    node_scale: float = field(default=1.0)
    area: dict | None = None

    # ---- per-action energies (pJ) -------------------------------------------
    def arith_pj(self, op: str, dtype: str, bits: int) -> float:
        widths = self.arith.get(dtype)
        if not widths:
            raise ConfigError(f"energy table '{self.name}' has no '{dtype}' arithmetic")
        if bits in widths:
            return widths[bits][op] * self.node_scale
        near = min(widths, key=lambda b: (abs(math.log(b / bits)), b))
        power = 1.0 if op == "add" else 2.0
        return widths[near][op] * (bits / near) ** power * self.node_scale

    def storage_pj_per_bit(self, capacity_bytes: int, floor_64b: float = 0.0) -> float:
        pts = sorted(self.sram_64b.items())
        cap = max(int(capacity_bytes), 1)
        if cap <= pts[0][0]:
            (c0, e0), (c1, e1) = pts[0], pts[1]
            e = e0 * (cap / c0) ** 0.5
        else:
            seg = next(((a, b) for a, b in zip(pts, pts[1:]) if cap <= b[0]), (pts[-2], pts[-1]))
            (c0, e0), (c1, e1) = seg
            slope = math.log(e1 / e0) / math.log(c1 / c0)
            e = e0 * (cap / c0) ** slope
        return max(e, floor_64b) / 64.0 * self.node_scale

    def action_pj(self, kind: str, dtype: str, size: int) -> float:
        if kind in ("mult", "add"):
            return self.arith_pj(kind, dtype or "int", size)
        if kind == "mac":
            return self.arith_pj("mult", dtype or "int", size) + self.arith_pj("add", dtype or "int", 2 * size)
        if kind == "sram":
            return self.storage_pj_per_bit(size)
        if kind == "rf":
            return self.storage_pj_per_bit(size, self.rf_floor_64b)
        if kind == "dram":
            return self.dram_per_bit * 8.0  # per byte; DRAM does not follow the logic node
        if kind == "wire":
            return self.wire_per_bit_hop * self.node_scale
        if kind == "index":
            return self.index_op * self.node_scale
        raise ConfigError(f"energy table '{self.name}': no energy for action kind '{kind}'")

    def energy(self, actions: ActionCounts) -> dict[str, float]:
        """Picojoules per component (``{"spmat_sram": ..., "mac": ...}``) for *actions*."""
        return self.energy_split(actions)[1]

    def energy_split(self, actions: ActionCounts) -> tuple[dict[str, float], dict[str, float]]:
        """Picojoules per energy class (every class of ``ENERGY_CLASSES``, zeros included) and per component."""
        from .actions import ENERGY_CLASSES
        by_class = {c: 0.0 for c in ENERGY_CLASSES}
        by_comp: dict[str, float] = {}
        for (component, kind, dtype, size, cls), count in actions.items():
            e = count * self.action_pj(kind, dtype, size)
            by_class[cls] += e
            by_comp[component] = by_comp.get(component, 0.0) + e
        return by_class, by_comp

    def area_mm2(self, inventory) -> dict[str, float]:
        """Square millimetres per component of a hardware inventory (see :mod:`accelsim.energy.area`).

        Area scales with the square of the feature size relative to the table's base node.
        """
        from .area import area_um2
        scale = (self.node_scale ** 2)
        return {k: v * 1e-6 for k, v in area_um2(inventory, self.area, scale).items()}

    def with_dram(self, pj_per_bit: float | None) -> "EnergyTable":
        """This table with its DRAM energy replaced (a design's declared :class:`~accelsim.hardware.Dram`)."""
        if pj_per_bit is None or pj_per_bit == self.dram_per_bit:
            return self
        t = EnergyTable(**{**self.__dict__})
        t.dram_per_bit = float(pj_per_bit)
        t.name = f"{self.name}[dram {pj_per_bit:g} pJ/bit]"
        return t

    def scale_to_node(self, node_nm: float) -> "EnergyTable":
        if isinstance(node_nm, bool) or not isinstance(node_nm, (int, float)) or not math.isfinite(node_nm) \
                or not 1 <= node_nm <= 1000:
            raise ConfigError(f"technology node must be a number of nm in [1, 1000], got {node_nm!r}")
        t = EnergyTable(**{**self.__dict__})
        t.node_scale = self.node_scale * node_nm / self.node_nm
        t.node_nm = node_nm
        t.name = f"{self.name}@{node_nm:g}nm"
        return t


def _num(v, where: str, scale: float) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {v!r}")
    if v < 0 or not math.isfinite(v):
        raise ConfigError(f"{where}: energy must be a finite non-negative number, got {v}")
    return float(v) * scale


def table_from_dict(data, where: str) -> EnergyTable:
    data = expect_mapping(data, where)
    check_keys(data, _KEYS, "energy")
    units = data.get("units", "pJ")
    if units not in _UNITS:
        raise ConfigError(f"{where}: unknown unit '{units}' (use one of {', '.join(_UNITS)})")
    k = _UNITS[units]
    arith = {}
    for dtype, widths in expect_mapping(data.get("arith"), "energy.arith").items():
        arith[str(dtype)] = {}
        for bits, ops in expect_mapping(widths, f"energy.arith.{dtype}").items():
            ops = expect_mapping(ops, f"energy.arith.{dtype}.{bits}")
            check_keys(ops, {"add", "mult"}, f"energy.arith.{dtype}.{bits}")
            if set(ops) != {"add", "mult"}:
                raise ConfigError(f"energy.arith.{dtype}.{bits}: needs both 'add' and 'mult'")
            arith[str(dtype)][int(bits)] = {op: _num(v, f"energy.arith.{dtype}.{bits}.{op}", k)
                                            for op, v in ops.items()}
    if "int" not in arith:
        raise ConfigError(f"{where}: energy.arith needs an 'int' entry")
    sram = {int(c): _num(v, f"energy.sram_64b.{c}", k)
            for c, v in expect_mapping(data.get("sram_64b"), "energy.sram_64b").items()}
    if len(sram) < 2:
        raise ConfigError(f"{where}: energy.sram_64b needs at least two capacities")
    if any(v == 0 for v in sram.values()) or any(c <= 0 for c in sram):
        raise ConfigError(f"{where}: energy.sram_64b capacities and energies must be > 0")
    node = data.get("node_nm", 45)
    if isinstance(node, bool) or not isinstance(node, (int, float)) or node <= 0:
        raise ConfigError(f"{where}: node_nm must be a positive number, got {node!r}")
    def get(key, default):
        return _num(data.get(key, default), f"energy.{key}", k)
    return EnergyTable(name=str(data.get("name", Path(where).stem)), node_nm=float(node), arith=arith,
                       sram_64b=sram, rf_floor_64b=get("rf_floor_64b", 0.0), dram_per_bit=get("dram_per_bit", 20.0),
                       wire_per_bit_hop=get("wire_per_bit_hop", 0.05), index_op=get("index_op", 0.05),
                       source=str(data.get("source", "")), area=_area(data.get("area")))


def _area(raw) -> dict | None:
    """The optional ``area:`` section: same shape as :data:`accelsim.energy.area.DEFAULT_AREA_45NM`, in um2."""
    if raw is None:
        return None
    from .area import DEFAULT_AREA_45NM
    raw = expect_mapping(raw, "energy.area")
    check_keys(raw, set(DEFAULT_AREA_45NM), "energy.area")
    out = {**DEFAULT_AREA_45NM}
    for k, v in raw.items():
        if k in ("int", "fp"):
            out[k] = {int(b): {op: _num(x, f"energy.area.{k}.{b}.{op}", 1.0) for op, x in
                               expect_mapping(ops, f"energy.area.{k}.{b}").items()}
                      for b, ops in expect_mapping(v, f"energy.area.{k}").items()}
        else:
            out[k] = _num(v, f"energy.area.{k}", 1.0)
    return out


def load_table(spec=None, base_dir: str | os.PathLike | None = None) -> EnergyTable:
    """An energy table from a shipped name, a YAML path, or an inline mapping.

    A mapping with ``table:`` (name or path) and ``node_nm:`` scales a table
    to another node, e.g. ``energy: {table: horowitz_45nm, node_nm: 16}``.
    """
    if spec is None:
        spec = "horowitz_45nm"
    if isinstance(spec, dict) and set(spec) <= {"table", "node_nm"} and "table" in spec:
        t = load_table(spec["table"], base_dir)
        return t.scale_to_node(spec["node_nm"]) if "node_nm" in spec else t
    if isinstance(spec, dict):
        return table_from_dict(spec, "energy")
    if not isinstance(spec, str):
        raise ConfigError(f"energy: expected a table name, a path or a mapping, got {spec!r}")
    shipped = TABLE_DIR / f"{spec}.yaml"
    if shipped.is_file():
        return table_from_dict(load_yaml(shipped), str(shipped))
    p = Path(spec)
    if base_dir is not None and not p.is_absolute():
        p = Path(base_dir) / p
    if not p.is_file():
        known = ", ".join(sorted(x.stem for x in TABLE_DIR.glob("*.yaml")))
        raise ConfigError(f"energy table '{spec}' not found (shipped: {known})")
    return table_from_dict(load_yaml(p), str(p))
