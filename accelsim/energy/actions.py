"""Action counts: what a model did, in units the energy tables can price.

A model records actions; it never multiplies by an energy. Each action has a
*component* (the column ``energy_<component>_pj`` it lands in) and a *kind*
with its parameters (operand width, SRAM capacity):

=========  =====================================  ================
kind       what is counted                        default component
=========  =====================================  ================
mult       multiplications of ``bits``-wide ints   mac
add        additions ``bits`` wide                 mac
mac        multiply-accumulates (mult + add)       mac
sram       bits read or written in an SRAM of      sram
           ``capacity_bytes``
rf         bits read or written in a register      rf
           file of ``capacity_bytes``
dram       bytes moved to or from DRAM             dram
wire       bit-hops over an on-chip network        noc
index      index / metadata decode operations      index
=========  =====================================  ================

Two names describe an action. Its *energy class* is one of :data:`ENERGY_CLASSES`
(the columns ``energy_<class>_pj`` every result row carries, summing to
``energy_pj``); it follows from the kind unless ``cls=`` says otherwise (``other``
for control logic priced as index operations). Its *component* is the detail name:
the declared hardware item it happened in (``spmat_sram``, ``benes``), landing in
the ``component_<name>_pj`` columns. ``read(memory, bits)`` / ``write(memory, bits)``
take a declared :class:`accelsim.hardware.Memory`, so the energy per bit is the one
of its declared capacity.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterator

#: The one energy vocabulary: every row has ``energy_<class>_pj`` for each, summing to ``energy_pj``.
ENERGY_CLASSES = ("mac", "rf", "sram", "dram", "noc", "index", "other")

DEFAULT_COMPONENT = {"mult": "mac", "add": "mac", "mac": "mac", "sram": "sram", "rf": "rf", "dram": "dram",
                     "wire": "noc", "index": "index"}


class ActionCounts:
    """A bag of counted actions keyed by ``(component, kind, dtype, size)``.

    ``size`` is the operand width in bits for arithmetic and the capacity in
    bytes for storage; counts are plain floats so that scaled (repeated)
    layers stay exact up to 2**53.
    """

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str, int, str], float] = defaultdict(float)

    def _add(self, kind: str, count: float, dtype: str = "", size: int = 0, component: str | None = None,
             cls: str | None = None):
        if not count >= 0:   # also refuses NaN
            raise ValueError(f"negative or undefined action count for {kind}: {count}")
        cls = cls or DEFAULT_COMPONENT[kind]
        if cls not in ENERGY_CLASSES:
            raise ValueError(f"unknown energy class '{cls}' (one of {', '.join(ENERGY_CLASSES)})")
        if count:
            self._counts[(component or cls, kind, dtype, int(size), cls)] += float(count)
        return self

    def read(self, memory, bits: float):
        """*bits* read from a declared :class:`accelsim.hardware.Memory` (energy per bit of its capacity)."""
        from ..hardware import MEMORY_CLASSES
        kind = "sram" if MEMORY_CLASSES[memory.cls] == "sram" else "rf"
        return self._add(kind, bits, "", int(memory.capacity_bytes), memory.name)

    #: writes cost what reads cost in the shipped tables (Horowitz gives one figure per access)
    write = read

    def mult(self, count: float, bits: int = 16, dtype: str = "int", component: str | None = None):
        return self._add("mult", count, dtype, bits, component)

    def add(self, count: float, bits: int = 16, dtype: str = "int", component: str | None = None):
        return self._add("add", count, dtype, bits, component)

    def mac(self, count: float, bits: int = 16, dtype: str = "int", acc_bits: int | None = None,
            component: str | None = None):
        """A multiply and an accumulate; the accumulator is ``acc_bits`` wide (default 2 x bits)."""
        self.mult(count, bits, dtype, component)
        return self.add(count, acc_bits or 2 * bits, dtype if dtype != "int" else "int", component)

    def sram(self, bits: float, capacity_bytes: int, component: str | None = None):
        return self._add("sram", bits, "", capacity_bytes, component)

    def rf(self, bits: float, capacity_bytes: int = 64, component: str | None = None):
        return self._add("rf", bits, "", capacity_bytes, component)

    def dram(self, nbytes: float, component: str | None = None):
        return self._add("dram", nbytes, "", 0, component)

    def wire(self, bit_hops: float, component: str | None = None):
        return self._add("wire", bit_hops, "", 0, component)

    def index(self, count: float, component: str | None = None, cls: str | None = None):
        """Index or metadata operations; ``cls="other"`` for control logic priced the same way."""
        return self._add("index", count, "", 0, component, cls)

    def merge(self, other: "ActionCounts", scale: float = 1.0) -> "ActionCounts":
        for k, v in other._counts.items():
            self._counts[k] += v * scale
        return self

    def scaled(self, factor: float) -> "ActionCounts":
        return ActionCounts().merge(self, factor)

    def items(self) -> Iterator[tuple[tuple[str, str, str, int, str], float]]:
        """``((component, kind, dtype, size, energy_class), count)`` pairs, sorted."""
        return iter(sorted(self._counts.items()))

    def components(self) -> set[str]:
        return {k[0] for k in self._counts}

    def total(self, kind: str, component: str | None = None) -> float:
        return sum(v for (c, k, _, _, _), v in self._counts.items()
                   if k == kind and (component is None or c == component))

    def __eq__(self, other) -> bool:
        return isinstance(other, ActionCounts) and dict(self._counts) == dict(other._counts)

    def __repr__(self) -> str:
        body = ", ".join(f"{c}/{k}{d}{s or ''}={v:g}" for (c, k, d, s, _), v in self.items())
        return f"ActionCounts({body})"
