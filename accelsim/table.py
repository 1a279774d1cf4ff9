"""Readable terminal tables from DataFrames (numbers with engineering prefixes)."""
from __future__ import annotations

import math

import pandas as pd


def _fmt(v) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        a = abs(v)
        if a == 0:
            return "0"
        if a >= 1e4 or a < 1e-3:
            for div, suf in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
                if a >= div:
                    return f"{v / div:.3g}{suf}"
            return f"{v:.3g}"
        return f"{v:.4g}"
    return str(v)


def render(df: pd.DataFrame, columns: list[str] | None = None, max_rows: int = 200) -> str:
    cols = [c for c in (columns or list(df.columns)) if c in df.columns]
    body = [[_fmt(v) for v in row] for row in df[cols].head(max_rows).itertuples(index=False)]
    widths = [max(len(c), *(len(r[i]) for r in body)) if body else len(c) for i, c in enumerate(cols)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(cols, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in body]
    if len(df) > max_rows:
        lines.append(f"... {len(df) - max_rows} more rows")
    return "\n".join(lines)
