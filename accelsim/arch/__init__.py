"""Accelerator models: one module per design, found by name.

Every module in this package that defines a model registers it with
:func:`register`; :func:`_discover` imports them all once.
"""
from __future__ import annotations

import importlib
import pkgutil

from .base import ArchConfig, ArchModel, get_model, list_archs, list_models, load_arch, register

_loaded = False


def _discover() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_") and mod.name not in ("base",):
            importlib.import_module(f"{__name__}.{mod.name}")


__all__ = ["ArchConfig", "ArchModel", "get_model", "list_archs", "list_models", "load_arch", "register"]
