"""Terminal tables: engineering units named in the header, numbers grouped and aligned.

A column whose name ends in an SI base unit (``latency_s``, ``energy_pj``, ``dram_bytes``, ``weight_bits``,
``freq_hz``) is shown in the one prefix that suits its values, and the header says which: ``latency_us``,
``energy_uJ``, ``dram_MB``, ``weight_Mbit``, ``freq_MHz``. Counts (``cycles``, MACs) are grouped by thousands.
Only the terminal changes: ``--json``, CSV and Parquet keep the SI base units of the result schema.

A caller names the unit of a column whose name does not carry one with ``units={"dense": "bits"}`` (or the
frame's ``df.attrs["units"]``).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: base-unit suffix -> (family, [(unit, size of one unit in the base unit)], largest first)
_FAMILIES: dict[str, list[tuple[str, float]]] = {
    "s": [("s", 1.0), ("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9)],
    "pj": [("J", 1e12), ("mJ", 1e9), ("uJ", 1e6), ("nJ", 1e3), ("pJ", 1.0)],
    "bytes": [("GB", 1e9), ("MB", 1e6), ("kB", 1e3), ("B", 1.0)],
    "bits": [("Gbit", 1e9), ("Mbit", 1e6), ("kbit", 1e3), ("bits", 1.0)],
    "hz": [("GHz", 1e9), ("MHz", 1e6), ("kHz", 1e3), ("Hz", 1.0)],
}
_ALIASES = {"pJ": "pj", "bit": "bits", "byte": "bytes", "Hz": "hz"}
#: columns that count things: whole numbers, grouped
_COUNT_SUFFIXES = ("_cycles", "_macs", "_entries", "_reads", "_writes")
_COUNT_NAMES = {"cycles", "macs_dense", "macs_performed", "macs_useful", "layers", "count", "M", "N", "K", "seed",
                "broadcasts", "rounds", "vectors", "layers_best", "layers_failed"}


def unit_of(column: str, units: dict[str, str] | None = None) -> str | None:
    """The base-unit family of *column* (``s``, ``pj``, ``bytes``, ``bits``, ``hz``) or None."""
    if units and column in units:
        u = units[column]
        return _ALIASES.get(u, u)
    for fam in _FAMILIES:
        if column.endswith("_" + fam) or column == fam:
            return fam
    return None


def pick_unit(values, family: str) -> tuple[str, float]:
    """The unit of *family* in which the median magnitude of *values* lies in [1, 1000)."""
    v = np.abs(np.asarray([x for x in values if _finite(x) and x != 0], dtype=float))
    scales = _FAMILIES[family]
    if v.size == 0:
        return scales[-1] if family != "s" else scales[0]
    med = float(np.median(v))
    for unit, size in scales:
        if med >= size:
            return unit, size
    return scales[-1]


def header(column: str, unit: str, family: str) -> str:
    """``latency_s`` -> ``latency_us``; a column named without its unit gets the unit appended."""
    base = column[: -len(family) - 1] if column.endswith("_" + family) else column
    return unit if column == family else f"{base}_{unit}"


def _finite(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)


def _is_count(column: str, values) -> bool:
    if column in _COUNT_NAMES or column.endswith(_COUNT_SUFFIXES):
        return True
    nums = [x for x in values if _finite(x)]
    return bool(nums) and all(isinstance(x, (int, np.integer)) for x in nums)


def _decimals(values) -> int:
    """Decimals that give the column's median magnitude four significant digits (0 to 4)."""
    v = np.abs(np.asarray([x for x in values if _finite(x) and x != 0], dtype=float))
    if v.size == 0:
        return 0
    return int(min(max(3 - math.floor(math.log10(float(np.median(v)))), 0), 4))


def _cell(v, scale: float, decimals: int) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (int, float, np.integer, np.floating)):
        if not math.isfinite(float(v)):
            return "inf" if v > 0 else "-inf"
        x = float(v) / scale
        if x == 0:
            return "0"
        if abs(x) < 10 ** -decimals:   # too small for the column's decimals: keep its digits
            return f"{x:.2e}"
        if abs(x) >= 1e12:
            return f"{x:.4g}"
        return f"{x:,.{decimals}f}"
    return str(v)


def format_columns(df: pd.DataFrame,
                   units: dict[str, str] | None = None) -> tuple[list[str], list[list[str]], list[bool]]:
    """Headers, cell strings per column and whether each column is numeric (right-aligned)."""
    units = {**df.attrs.get("units", {}), **(units or {})}
    heads, cells, numeric = [], [], []
    for c in df.columns:
        vals = list(df[c])
        nums = [x for x in vals if _finite(x)]
        is_num = bool(nums) and all(_finite(x) or x is None or (isinstance(x, float) and math.isnan(x))
                                    or (isinstance(x, float) and math.isinf(x)) for x in vals)
        fam = unit_of(str(c), units) if is_num else None
        if fam:
            unit, scale = pick_unit(vals, fam)
            head = header(str(c), unit, fam)
            dec = 0 if fam in ("bits", "bytes") and scale == 1.0 else _decimals([x / scale for x in nums])
        elif is_num:
            head, scale = str(c), 1.0
            dec = 0 if _is_count(str(c), vals) else _decimals(nums)
        else:
            head, scale, dec = str(c), 1.0, 0
        heads.append(head)
        cells.append([_cell(v, scale, dec) for v in vals])
        numeric.append(is_num)
    return heads, cells, numeric


def render(df: pd.DataFrame, columns: list[str] | None = None, max_rows: int = 200,
           units: dict[str, str] | None = None) -> str:
    """*df* as an aligned text table: numeric columns right-aligned in engineering units, text left-aligned."""
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    sub = df[cols].head(max_rows)
    sub.attrs = dict(df.attrs)
    heads, cells, numeric = format_columns(sub, units)
    widths = [max([len(h)] + [len(x) for x in col]) for h, col in zip(heads, cells)]

    def line(items):
        return "  ".join(s.rjust(w) if num else s.ljust(w) for s, w, num in zip(items, widths, numeric)).rstrip()

    lines = [line(heads), "  ".join("-" * w for w in widths)]
    lines += [line([col[i] for col in cells]) for i in range(len(sub))]
    if len(df) > max_rows:
        lines.append(f"... {len(df) - max_rows} more rows")
    return "\n".join(lines)
