"""The result store: one Parquet file per finished point, written atomically; failures as JSON.

Layout of a sweep directory::

    DIR/spec.yaml             the spec as given
    DIR/manifest.json         every point's key and description (for --status)
    DIR/points/KEY.parquet    the rows of one finished point
    DIR/failed/KEY.json       the error of a point that raised

A point is done when its Parquet file exists; a file appears whole or not at
all (written to a temporary name, then renamed), so a killed sweep leaves no
half rows and a rerun skips exactly the finished points.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..errors import AccelsimError


class Store:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.points = self.root / "points"
        self.failed = self.root / "failed"

    def init(self) -> None:
        self.points.mkdir(parents=True, exist_ok=True)
        self.failed.mkdir(parents=True, exist_ok=True)

    def done(self) -> set[str]:
        if not self.points.is_dir():
            return set()
        return {p.stem for p in self.points.glob("*.parquet")}

    def failures(self) -> dict[str, dict]:
        out = {}
        if self.failed.is_dir():
            for p in self.failed.glob("*.json"):
                try:
                    out[p.stem] = json.loads(p.read_text())
                except (json.JSONDecodeError, OSError):
                    out[p.stem] = {"error": "unreadable failure record"}
        return out

    @staticmethod
    def _atomic(path: Path, write) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        write(tmp)
        os.replace(tmp, path)

    def write_point_bytes(self, key: str, data: bytes) -> None:
        """A point's Parquet file, serialized by the worker that computed it."""
        self._atomic(self.points / f"{key}.parquet", lambda t: t.write_bytes(data))
        self._clear_failure(key)

    def _clear_failure(self, key: str) -> None:
        stale = self.failed / f"{key}.json"
        if stale.exists():
            stale.unlink()

    def write_failure(self, key: str, info: dict) -> None:
        self._atomic(self.failed / f"{key}.json", lambda t: t.write_text(json.dumps(info, indent=1, default=str)))

    def write_manifest(self, manifest: dict) -> None:
        self._atomic(self.root / "manifest.json", lambda t: t.write_text(json.dumps(manifest, indent=1, default=str)))

    def manifest(self) -> dict:
        p = self.root / "manifest.json"
        if not p.is_file():
            raise AccelsimError(f"'{self.root}' is not a sweep directory (no manifest.json)")
        return json.loads(p.read_text())


def load_results(directory: str | os.PathLike) -> pd.DataFrame:
    """All finished rows of a sweep directory as one DataFrame (points in manifest order)."""
    st = Store(directory)
    if not st.points.is_dir():
        raise AccelsimError(f"'{directory}' is not a sweep directory (no points/)")
    try:
        order = [p["key"] for p in st.manifest().get("points", [])]
    except AccelsimError:
        order = []
    files = {p.stem: p for p in st.points.glob("*.parquet")}
    keys = [k for k in order if k in files] + sorted(k for k in files if k not in set(order))
    frames = [pd.read_parquet(files[k]) for k in keys]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)
