"""The declared hardware of a design: one inventory feeds area, per-access energy and the DRAM bound.

Every model describes the configuration it simulates once, with :class:`Hardware` (as Accelergy's
architecture tree feeds both its energy and its area tables, and ZigZag's memory hierarchy feeds its
latency)::

    Hardware(
        compute=[Compute("mac", "mac", count=64, bits=16)],
        memories=[Memory("spmat_sram", "sram", capacity_bytes=131072, count=64, width_bits=64,
                         operands=("weights",), format=FormatRef("csc", {"index_bits": 4}))],
        logic=[Logic("ptr_logic", "index", bits=64 * 32)],
        dram=Dram(bytes_per_cycle=8.0, source="assumed: one LPDDR4 x32 channel"),
    )

* **Area** comes from :meth:`Hardware.inventory` (priced by the energy table's ``area:`` section);
* **per-access energy**: a model records an access with ``ActionCounts.read(memory, bits)`` /
  ``write(memory, bits)``, so the energy per bit is the one of the *declared* capacity;
* **the DRAM bound**: :func:`accelsim.results.finish` never lets a layer finish before
  ``dram_bytes / dram.bytes_per_cycle`` cycles (the layer's DRAM traffic at the declared bandwidth,
  perfectly overlapped with compute: a roofline). A model that knows better (SCNN's per-tile double
  buffering) accounts its own DRAM stalls and so is never shortened, only checked.

Names declared here are the only component names an action may carry (``component=``); an unknown
name is a contract error, so energy breakdowns line up across designs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

#: Buffer classes and the energy class their accesses land in.
MEMORY_CLASSES = {"rf": "rf", "fifo": "rf", "sram": "sram"}
#: Operand names a buffer may hold.
OPERANDS = ("weights", "inputs", "outputs", "psums", "indices", "pointers", "codebook")


def address_bits(n: int) -> int:
    """Bits that address one of *n* items (a register, an entry, a window position): at least one."""
    return max(1, math.ceil(math.log2(max(int(n), 2))))


@dataclass(frozen=True)
class FormatRef:
    """A storage format with its parameters: the one way a config names a format.

    In YAML either a bare name (``weight_format: csc``) or ``{name: csc, params: {index_bits: 4}}``.
    """
    name: str
    params: tuple[tuple[str, Any], ...] = ()

    def __init__(self, name: str, params: dict | tuple | None = None):
        object.__setattr__(self, "name", str(name))
        items = params.items() if isinstance(params, dict) else (params or ())
        object.__setattr__(self, "params", tuple(sorted((str(k), v) for k, v in items)))

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    @classmethod
    def parse(cls, value: Any, where: str) -> "FormatRef":
        if isinstance(value, FormatRef):
            return value
        if isinstance(value, str) and value:
            return cls(value)
        if isinstance(value, dict):
            unknown = set(value) - {"name", "params"}
            if unknown:
                raise ConfigError(f"'{where}': unknown key '{sorted(unknown)[0]}' (a format is {{name, params}})")
            name, params = value.get("name"), value.get("params", {})
            if isinstance(params, (tuple, list)) and all(isinstance(p, (tuple, list)) and len(p) == 2
                                                         for p in params):
                params = dict(params)   # a FormatRef written back by dataclasses.asdict
            if not isinstance(name, str) or not name:
                raise ConfigError(f"'{where}.name' must be a format name, got {name!r}")
            if not isinstance(params, dict):
                raise ConfigError(f"'{where}.params' must be a mapping, got {params!r}")
            return cls(name, params)
        raise ConfigError(f"'{where}' must be a format name or {{name, params}}, got {value!r}")

    def text(self) -> str:
        return self.name + "".join(f":{k}={v}" for k, v in self.params)


@dataclass(frozen=True)
class Compute:
    """Arithmetic units: ``count`` units of ``kind`` (mult, add or mac) at ``bits`` wide."""
    name: str
    kind: str
    count: float
    bits: int = 16
    dtype: str = "int"
    acc_bits: int | None = None

    def __post_init__(self):
        if self.kind not in ("mult", "add", "mac"):
            raise ValueError(f"compute '{self.name}': kind must be mult, add or mac, got {self.kind!r}")


@dataclass(frozen=True)
class Memory:
    """A buffer: ``count`` instances of ``capacity_bytes`` each, ``width_bits`` per access port.

    ``read_bits_per_cycle`` / ``write_bits_per_cycle`` are the bandwidth of all instances together
    (default: one access of ``width_bits`` per instance per cycle).
    """
    name: str
    cls: str
    capacity_bytes: float
    count: int = 1
    width_bits: int = 64
    read_bits_per_cycle: float = 0.0
    write_bits_per_cycle: float = 0.0
    operands: tuple[str, ...] = ()
    format: FormatRef | None = None

    def __post_init__(self):
        if self.cls not in MEMORY_CLASSES:
            raise ValueError(f"memory '{self.name}': class must be one of {', '.join(MEMORY_CLASSES)}")
        bad = [o for o in self.operands if o not in OPERANDS]
        if bad:
            raise ValueError(f"memory '{self.name}': unknown operand {bad[0]!r} (one of {', '.join(OPERANDS)})")

    @property
    def read_bw(self) -> float:
        return self.read_bits_per_cycle or float(self.width_bits * self.count)

    @property
    def write_bw(self) -> float:
        return self.write_bits_per_cycle or float(self.width_bits * self.count)


@dataclass(frozen=True)
class Logic:
    """Other hardware priced by its bit count: ``mux`` (crossbars, Benes/FAN switches: class noc),
    ``index`` (priority encoders, comparators, address generation: class index), ``control``
    (class other, priced as index logic)."""
    name: str
    kind: str
    bits: float

    def __post_init__(self):
        if self.kind not in ("mux", "index", "control"):
            raise ValueError(f"logic '{self.name}': kind must be mux, index or control, got {self.kind!r}")


@dataclass(frozen=True)
class Dram:
    """Off-chip memory: always a finite bandwidth, with where the number comes from, and optionally its
    own energy per bit (``None``: the energy table's DRAM figure, Horowitz's 20 pJ/bit at 45 nm)."""
    bytes_per_cycle: float
    source: str = ""
    pj_per_bit: float | None = None

    def __post_init__(self):
        if not (isinstance(self.bytes_per_cycle, (int, float)) and math.isfinite(self.bytes_per_cycle)
                and self.bytes_per_cycle > 0):
            raise ConfigError(f"DRAM bandwidth must be a finite number of bytes per cycle > 0, "
                              f"got {self.bytes_per_cycle!r}")
        if self.pj_per_bit is not None and not (isinstance(self.pj_per_bit, (int, float))
                                                and math.isfinite(self.pj_per_bit) and self.pj_per_bit > 0):
            raise ConfigError(f"DRAM energy must be a finite number of pJ per bit > 0, got {self.pj_per_bit!r}")


@dataclass
class Hardware:
    """Everything a configuration is built of (see the module docstring)."""
    dram: Dram
    compute: list[Compute] = field(default_factory=list)
    memories: list[Memory] = field(default_factory=list)
    logic: list[Logic] = field(default_factory=list)

    def __post_init__(self):
        seen: set[str] = set()
        for item in [*self.compute, *self.memories, *self.logic]:
            if item.name in seen:
                raise ValueError(f"hardware: '{item.name}' declared twice")
            seen.add(item.name)

    def names(self) -> set[str]:
        return {x.name for x in [*self.compute, *self.memories, *self.logic]} | {"dram"}

    def memory(self, name: str) -> Memory:
        for m in self.memories:
            if m.name == name:
                return m
        raise KeyError(f"no memory named '{name}'")

    def inventory(self):
        """The area inventory (:class:`accelsim.energy.Inventory`) of this hardware."""
        from .energy.area import Inventory
        inv = Inventory()
        for c in self.compute:
            if c.kind == "mac":
                inv.mac(c.count, c.bits, c.acc_bits, c.dtype, component=c.name)
            else:
                getattr(inv, c.kind)(c.count, c.bits, c.dtype, component=c.name)
        for m in self.memories:
            if m.cls == "sram":
                inv.sram(m.capacity_bytes, m.count, component=m.name)
            else:
                inv.rf(m.capacity_bytes, m.count, component=m.name)
        for lg in self.logic:
            if lg.kind == "mux":
                inv.mux(lg.bits, component=lg.name)
            else:
                inv.index(lg.bits, component=lg.name)
        return inv

    def table(self) -> list[dict]:
        """One row per declared item, for the docs and ``accelsim list hardware``."""
        rows = [{"name": c.name, "class": "compute", "what": f"{c.count:g} x {c.kind}{c.bits}"} for c in self.compute]
        for m in self.memories:
            rows.append({"name": m.name, "class": m.cls,
                         "what": f"{m.count} x {m.capacity_bytes:g} B, {m.width_bits}-bit, holds "
                                 f"{', '.join(m.operands) or '-'}" + (f" as {m.format.text()}" if m.format else "")})
        rows += [{"name": lg.name, "class": lg.kind, "what": f"{lg.bits:g} bits"} for lg in self.logic]
        rows.append({"name": "dram", "class": "dram", "what": f"{self.dram.bytes_per_cycle:g} B/cycle "
                                                               f"({self.dram.source or 'no source given'})"})
        return rows
