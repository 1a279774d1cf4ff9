"""Where shipped data lives: ``arch_configs/``, ``workloads/`` and ``reports/`` at the project root.

``ACCELSIM_HOME`` overrides the root (for an installed copy away from the checkout).
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("ACCELSIM_HOME", Path(__file__).resolve().parents[1]))
ARCH_DIR = ROOT / "arch_configs"
WORKLOAD_DIR = ROOT / "workloads"
REPORTS_DIR = ROOT / "reports"
PACKAGE_DIR = Path(__file__).resolve().parent


def shipped(directory: Path, suffix: str = ".yaml") -> list[str]:
    """Names of the shipped YAML files in *directory*, sorted."""
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob(f"*{suffix}"))


def resolve(name_or_path: str, directory: Path, kind: str) -> Path:
    """A shipped name (``eie``) or a path to a YAML file."""
    from .errors import AccelsimError

    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or os.sep in name_or_path:
        if not p.is_file():
            raise AccelsimError(f"{kind} file '{name_or_path}' not found")
        return p
    cand = directory / f"{name_or_path}.yaml"
    if cand.is_file():
        return cand
    known = ", ".join(shipped(directory)) or "none"
    raise AccelsimError(f"unknown {kind} '{name_or_path}' (shipped: {known})")
