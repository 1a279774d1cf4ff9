"""Writing result tables: CSV, Parquet or JSON by suffix, atomically (nothing half-written is left)."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import AccelsimError

SUFFIXES = (".csv", ".parquet", ".json")


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def rows_json(df: pd.DataFrame) -> str:
    rows = [{k: _jsonable(v) for k, v in r.items()} for r in df.to_dict(orient="records")]
    return json.dumps(rows, indent=1, default=str)


def write_frame(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    from .outputs import atomic_write, check_output
    path = check_output(path, SUFFIXES)
    if path.suffix.lower() == ".csv":
        out = df.copy()
        for c in out.columns:
            if out[c].map(lambda v: isinstance(v, (list, np.ndarray))).any():
                out[c] = out[c].map(lambda v: json.dumps(_jsonable(v)) if isinstance(v, (list, np.ndarray)) else v)
        return atomic_write(path, lambda f: out.to_csv(f, index=False, lineterminator="\n"), "w")
    if path.suffix.lower() == ".parquet":
        return atomic_write(path, lambda f: df.to_parquet(f, index=False))
    return atomic_write(path, lambda f: f.write(rows_json(df)), "w")


def read_frame(path: str | os.PathLike) -> pd.DataFrame:
    path = Path(path)
    if path.is_dir():
        from .sweep import load_results  # a sweep directory
        return load_results(path)
    if not path.is_file():
        raise AccelsimError(f"results file '{path}' not found")
    try:
        if path.suffix == ".csv":
            df = pd.read_csv(path)
        elif path.suffix == ".parquet":
            df = pd.read_parquet(path)
        elif path.suffix == ".json":
            df = pd.DataFrame(json.loads(path.read_text()))
        else:
            raise AccelsimError(f"results file '{path}': use .csv, .parquet or .json")
    except (ValueError, OSError, TypeError) as e:
        raise AccelsimError(f"{path}: cannot read results ({type(e).__name__}: {str(e).splitlines()[0][:120]})") \
            from None
    return check_results(df, str(path))


#: what every results table has (the result schema's identity and totals), and which of them are numbers
RESULT_KEYS = ("arch", "config", "workload", "layer", "pattern")
RESULT_NUMBERS = ("weight_density", "act_density", "cycles", "latency_s", "energy_pj", "macs_dense")


def check_results(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """*df* if it is a table of result rows (``accelsim run -o``, a sweep); one clear error otherwise."""
    if df.empty:
        return df
    missing = [c for c in RESULT_KEYS + RESULT_NUMBERS if c not in df.columns]
    if missing:
        raise AccelsimError(f"{where}: not a table of accelsim results (no '{missing[0]}' column)")
    for c in RESULT_NUMBERS:
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            bad = next((v for v in df[c] if not isinstance(v, (int, float)) or isinstance(v, bool)), df[c].iloc[0])
            raise AccelsimError(f"{where}: column '{c}' must hold numbers, found {bad!r}")
        v = df[c].to_numpy(dtype=float)
        if not np.isfinite(v).all() or (v < 0).any():
            raise AccelsimError(f"{where}: column '{c}' holds a negative, infinite or missing value")
    return df
