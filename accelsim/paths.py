"""Where shipped data lives (inside the package) and where outputs go (under the user's directory).

Shipped arch configs and workloads are package data (``accelsim/configs/*.yaml``,
``accelsim/workloads/*.yaml``), found with :mod:`importlib.resources` so that an
installed wheel behaves like the checkout. Outputs default to ``./reports/...``
under the current working directory, never inside the installation.
"""
from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

PACKAGE_DIR = Path(str(files("accelsim")))
ARCH_DIR = PACKAGE_DIR / "configs"
WORKLOAD_DIR = PACKAGE_DIR / "workloads"
DATA_DIR = PACKAGE_DIR / "data"


def reports_dir() -> Path:
    """The default output root: ``./reports`` under the current working directory."""
    return Path.cwd() / "reports"


def shipped(directory: Path, suffix: str = ".yaml") -> list[str]:
    """Names of the shipped YAML files in *directory*, sorted."""
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob(f"*{suffix}"))


def resolve(name_or_path: str, directory: Path, kind: str, base_dir: Path | None = None) -> Path:
    """A shipped name (``eie``) or a path to a YAML file; a relative path is taken from *base_dir* when given
    (the folder of the file that names it), else from the current directory."""
    from .errors import AccelsimError

    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if base_dir is not None and not p.is_absolute():
            p = Path(base_dir) / p
        if not p.is_file():
            raise AccelsimError(f"{kind} file '{name_or_path}' not found" +
                                (f" (looked in {base_dir})" if base_dir is not None else ""))
        return p
    cand = directory / f"{name_or_path}.yaml"
    if cand.is_file():
        return cand
    known = ", ".join(shipped(directory)) or "none"
    raise AccelsimError(f"unknown {kind} '{name_or_path}' (shipped: {known})")
