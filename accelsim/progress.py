"""A small progress bar on standard error (shown only on a terminal, or when forced)."""
from __future__ import annotations

import os
import sys
import time


class Progress:
    def __init__(self, total: int, label: str = "", stream=None, enabled: bool | None = None):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = self.stream.isatty() or os.environ.get("ACCELSIM_PROGRESS") == "1"
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.t0 = time.monotonic()
        self._last = 0.0

    def update(self, n: int = 1, note: str = "") -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        # on a terminal redraw at most 10 times a second; in a log, one line every 5 s and at the end
        if now - self._last < (0.1 if self.tty else 5.0) and self.done < self.total:
            return
        self._last = now
        frac = min(self.done / self.total, 1.0)
        el = now - self.t0
        eta = el / frac - el if frac > 0 else 0.0
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        line = f"{self.label} [{bar}] {self.done}/{self.total} {el:5.1f}s eta {eta:5.1f}s {note[:30]}"
        self.stream.write(f"\r{line:<110}" if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
