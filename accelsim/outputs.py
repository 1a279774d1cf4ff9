"""Writing outputs safely: checked before the work starts, written whole or not at all.

* :func:`check_output` refuses, before any work, an output path that is a directory, whose parent is a
  file or cannot be created, that is not writable, or whose suffix does not match what will be written,
  and an output that would overwrite one of the command's own inputs.
* :func:`atomic_write` writes to a fresh, unpredictable temporary file in the target's folder (created
  with O_EXCL, so a planted symbolic link is never followed), then renames it over the target; a failed
  write removes the temporary file and leaves any earlier file intact.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from .errors import AccelsimError


def check_output(path: str | os.PathLike, suffixes: Iterable[str] | None = None,
                 inputs: Iterable[str | os.PathLike] = ()) -> Path:
    """*path* if it can be written as an output file; one clear :class:`AccelsimError` otherwise."""
    p = Path(path)
    if str(path).endswith(os.sep) or p.is_dir():
        raise AccelsimError(f"output '{path}' is a directory; name a file")
    sfx = tuple(suffixes or ())
    if sfx and p.suffix.lower() not in sfx:
        names = sfx[0] if len(sfx) == 1 else f"{', '.join(sfx[:-1])} or {sfx[-1]}"
        raise AccelsimError(f"output '{path}' must end in {names}")
    for inp in inputs:
        try:
            if Path(inp).exists() and p.exists() and os.path.samefile(p, inp):
                raise AccelsimError(f"output '{path}' is also an input; write to another file")
        except OSError:
            continue
    _check_creatable(p.parent, path)
    if p.exists() and not os.access(p, os.W_OK):
        raise AccelsimError(f"cannot write '{path}': the file is read-only")
    return p


def check_output_dir(path: str | os.PathLike) -> Path:
    """*path* if it is, or can be created as, a writable directory."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise AccelsimError(f"output directory '{path}' is a file")
    _check_creatable(p, path)
    return p


def _check_creatable(folder: Path, path) -> None:
    """*folder* exists as a writable directory, or its nearest existing ancestor is one (it can be made)."""
    anc = folder
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        raise AccelsimError(f"cannot write '{path}': '{anc}' is a file, not a directory")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise AccelsimError(f"cannot write '{path}': directory '{anc}' is not writable")


def atomic_write(path: str | os.PathLike, write: Callable, mode: str = "wb") -> Path:
    """Call ``write(file)`` on a fresh temporary file next to *path*, then rename it over *path*."""
    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    except OSError as e:
        raise AccelsimError(f"cannot write '{path}': {e.strerror or e}") from None
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
        os.replace(tmp, p)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise AccelsimError(f"cannot write '{path}': {e.strerror or e}") from None
        raise
    return p
