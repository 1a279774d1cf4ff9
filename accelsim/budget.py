"""The memory budget: sizes are estimated from headers and shapes before anything is read or allocated.

The budget defaults to half of this machine's physical memory; ``--max-memory`` (or the environment
variable ``ACCELSIM_MAX_MEMORY``) changes it, in bytes or with a unit (``8G``, ``512M``). A step whose
estimate exceeds the budget is refused with the estimate in the message (or, for a workload, run
through the statistical path, which allocates no tensors).
"""
from __future__ import annotations

import os
import re

from .errors import AccelsimError

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
_override: int | None = None


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise AccelsimError(f"memory size '{text}': expected a number of bytes, e.g. 8G or 512M")
    n = float(m.group(1)) * _UNITS[m.group(2).upper()]
    if not 1 << 20 <= n <= 1 << 50:
        raise AccelsimError(f"memory size '{text}': must be between 1M and 1P")
    return int(n)


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 8 << 30


def set_budget(nbytes: int | None) -> None:
    global _override
    _override = nbytes


def budget() -> int:
    """The memory budget in bytes."""
    if _override is not None:
        return _override
    env = os.environ.get("ACCELSIM_MAX_MEMORY")
    if env:
        return parse_size(env)
    return physical_memory() // 2


def fits(nbytes: float) -> bool:
    return nbytes <= budget()


def check(nbytes: float, what: str) -> None:
    """Refuse *what* when its estimated *nbytes* exceed the budget."""
    b = budget()
    if nbytes > b:
        raise AccelsimError(f"{what} would need about {_gib(nbytes)} of memory, more than the {_gib(b)} budget "
                            "(--max-memory to change it)")


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.2f} GiB" if n >= 1 << 28 else f"{n / (1 << 20):.0f} MiB"
