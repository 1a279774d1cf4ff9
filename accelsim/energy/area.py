"""Area: what a configuration is built of, priced by a technology table.

A model describes its hardware with an :class:`Inventory` (multipliers and
adders by width, SRAM macros by capacity, register files, multiplexer bits
for crossbars and Benes/FAN networks, index logic); the table's ``area:``
section prices each item in square micrometres at its node.

Sources of the shipped 45 nm numbers (``horowitz_45nm.yaml``): arithmetic from
Horowitz, ISSCC 2014, Fig. 1.1.9 (8-bit add 36 um2, 32-bit add 137 um2, 8-bit
mult 282 um2, 32-bit mult 3495 um2; FP16 add 1360, mult 1640); SRAM density
from EIE's per-PE breakdown (Han et al., ISCA 2016, Table II: the 128 KB
sparse-matrix SRAM takes 469,412 um2, 0.448 um2 per bit including periphery;
the PE's 162 KB of memory take 594,786 um2, 0.448 um2 per bit too). Widths not
listed scale like energy (adders linearly, multipliers quadratically).
Scaling to other nodes: area ~ (node / table node)^2.
"""
from __future__ import annotations

import math
from collections import defaultdict

from ..errors import ConfigError

#: Defaults used when a table has no ``area:`` section (the 45 nm numbers above).
DEFAULT_AREA_45NM = {
    "int": {8: {"add": 36.0, "mult": 282.0}, 16: {"add": 67.0, "mult": 1128.0}, 32: {"add": 137.0, "mult": 3495.0}},
    "fp": {16: {"add": 1360.0, "mult": 1640.0}, 32: {"add": 4184.0, "mult": 7700.0}},
    "sram_um2_per_bit": 0.448,
    "rf_um2_per_bit": 4.0,        # a flip-flop with its read mux at 45 nm
    "mux_um2_per_bit": 2.0,       # one 2:1 multiplexer bit (crossbar, Benes and FAN switch points)
    "index_um2_per_bit": 10.0,    # priority encoders, leading-nonzero detection, comparators
}


class Inventory:
    """Counts of hardware items, keyed by ``(component, kind, dtype, size)`` like :class:`ActionCounts`."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str, str, int], float] = defaultdict(float)

    def _add(self, kind, count, dtype="", size=0, component=None):
        if count < 0:
            raise ValueError(f"negative hardware count for {kind}")
        comp = component or {"mult": "mac", "add": "mac", "sram": "sram", "rf": "rf", "mux": "noc",
                             "index": "index"}[kind]
        self._items[(comp, kind, dtype, int(size))] += float(count)
        return self

    def mult(self, count, bits=16, dtype="int", component=None):
        return self._add("mult", count, dtype, bits, component)

    def add(self, count, bits=16, dtype="int", component=None):
        return self._add("add", count, dtype, bits, component)

    def mac(self, count, bits=16, acc_bits=None, dtype="int", component=None):
        self.mult(count, bits, dtype, component)
        return self.add(count, acc_bits or 2 * bits, dtype, component)

    def sram(self, capacity_bytes, count=1, component=None):
        """*count* SRAM macros of *capacity_bytes* each (priced per bit)."""
        return self._add("sram", count * capacity_bytes * 8, "", 0, component)

    def rf(self, capacity_bytes, count=1, component=None):
        return self._add("rf", count * capacity_bytes * 8, "", 0, component)

    def mux(self, count_bits, component=None):
        """2:1 multiplexer bits (a crossbar of P x Q ports of w bits is about P*Q*w)."""
        return self._add("mux", count_bits, "", 0, component)

    def index(self, count_bits, component=None):
        return self._add("index", count_bits, "", 0, component)

    def items(self):
        return iter(sorted(self._items.items()))


def _arith_um2(table: dict, op: str, dtype: str, bits: int) -> float:
    widths = table.get(dtype) or table["int"]
    if bits in widths:
        return widths[bits][op]
    near = min(widths, key=lambda b: (abs(math.log(b / bits)), b))
    return widths[near][op] * (bits / near) ** (1.0 if op == "add" else 2.0)


def area_um2(inv: Inventory, area_table: dict | None = None, scale: float = 1.0) -> dict[str, float]:
    """Square micrometres per component for *inv*; *scale* is the node's area factor."""
    t = area_table or DEFAULT_AREA_45NM
    out: dict[str, float] = defaultdict(float)
    for (comp, kind, dtype, size), count in inv.items():
        if kind in ("mult", "add"):
            a = _arith_um2(t, kind, dtype or "int", size)
        elif kind in ("sram", "rf", "mux", "index"):
            a = t[f"{kind}_um2_per_bit"]
        else:  # pragma: no cover
            raise ConfigError(f"no area for hardware kind '{kind}'")
        out[comp] += a * count * scale
    return dict(out)
