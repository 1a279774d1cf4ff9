"""Small helpers shared by the real-network readers: installed packages' files, relative errors."""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np

from ...errors import TraceError


def package_dir(name: str, pip_name: str) -> Path:
    """Where an installed package's files are, found without importing it (importing may need its deps)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    locs = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locs:
        raise TraceError(f"package '{pip_name}' is not installed; install it with "
                         f"`pip install --no-deps {pip_name}`")
    return Path(locs[0])


def package_file(name: str, pip_name: str, rel: str) -> Path:
    p = package_dir(name, pip_name) / rel
    if not p.is_file():
        raise TraceError(f"package '{pip_name}' has no file '{rel}' (a different version?)")
    return p


def rel_error(a: np.ndarray, ref: np.ndarray) -> float:
    """``||a - ref|| / ||ref||`` in float64 (0 when both are zero)."""
    a = np.asarray(a, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    den = float(np.linalg.norm(ref))
    num = float(np.linalg.norm(a - ref))
    if den == 0.0:
        return 0.0 if num == 0.0 else math.inf
    return num / den
