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
            return pd.read_csv(path)
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".json":
            return pd.DataFrame(json.loads(path.read_text()))
    except (ValueError, OSError) as e:
        raise AccelsimError(f"{path}: cannot read results ({e})") from None
    raise AccelsimError(f"results file '{path}': use .csv, .parquet or .json")
