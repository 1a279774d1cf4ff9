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
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterator

DEFAULT_COMPONENT = {"mult": "mac", "add": "mac", "mac": "mac", "sram": "sram", "rf": "rf", "dram": "dram",
                     "wire": "noc", "index": "index"}


class ActionCounts:
    """A bag of counted actions keyed by ``(component, kind, dtype, size)``.

    ``size`` is the operand width in bits for arithmetic and the capacity in
    bytes for storage; counts are plain floats so that scaled (repeated)
    layers stay exact up to 2**53.
    """

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str, int], float] = defaultdict(float)

    def _add(self, kind: str, count: float, dtype: str = "", size: int = 0, component: str | None = None):
        if count < 0:
            raise ValueError(f"negative action count for {kind}: {count}")
        if count:
            self._counts[(component or DEFAULT_COMPONENT[kind], kind, dtype, int(size))] += float(count)
        return self

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

    def index(self, count: float, component: str | None = None):
        return self._add("index", count, "", 0, component)

    def merge(self, other: "ActionCounts", scale: float = 1.0) -> "ActionCounts":
        for k, v in other._counts.items():
            self._counts[k] += v * scale
        return self

    def scaled(self, factor: float) -> "ActionCounts":
        return ActionCounts().merge(self, factor)

    def items(self) -> Iterator[tuple[tuple[str, str, str, int], float]]:
        return iter(sorted(self._counts.items()))

    def total(self, kind: str, component: str | None = None) -> float:
        return sum(v for (c, k, _, _), v in self._counts.items() if k == kind and (component is None or c == component))

    def __eq__(self, other) -> bool:
        return isinstance(other, ActionCounts) and dict(self._counts) == dict(other._counts)

    def __repr__(self) -> str:
        body = ", ".join(f"{c}/{k}{d}{s or ''}={v:g}" for (c, k, d, s), v in self.items())
        return f"ActionCounts({body})"
