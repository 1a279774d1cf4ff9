"""The result store: one Parquet file per finished point, written atomically; failures as JSON.

Layout of a sweep directory::

    DIR/spec.yaml             the spec as given
    DIR/manifest.json         every point's key and description (for --status)
    DIR/points/KEY.parquet    the rows of one finished point
    DIR/failed/KEY.json       the error of a point that raised

A point is done when its Parquet file exists and reads as a result table; a
file appears whole or not at all (written to a fresh temporary name, then
renamed), so a killed sweep leaves no half rows and a rerun skips exactly the
finished points.

The store heals: a point file that is empty, unreadable, lacks the result
columns, or was not written by this sweep (not in the manifest) is never
trusted. :meth:`Store.audit` names them; a resumed sweep moves the bad ones to
``DIR/quarantine/`` and recomputes them; :func:`load_results` skips them with a
note (``df.attrs["notes"]``).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..errors import AccelsimError
from ..outputs import atomic_write

#: columns every point file must have to count as a result
REQUIRED_COLUMNS = ("arch", "config", "workload", "layer", "cycles", "latency_s", "energy_pj")


class Store:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.points = self.root / "points"
        self.failed = self.root / "failed"

    def init(self) -> None:
        self.points.mkdir(parents=True, exist_ok=True)
        self.failed.mkdir(parents=True, exist_ok=True)

    def done(self) -> set[str]:
        """Keys of the point files that read as result tables."""
        good, _ = self.audit()
        return good

    def audit(self, keys: set[str] | None = None) -> tuple[set[str], dict[str, str]]:
        """``(good keys, {bad file name: why})``. *keys*: the manifest's points (others are foreign)."""
        import pyarrow.parquet as pq
        good: set[str] = set()
        bad: dict[str, str] = {}
        if not self.points.is_dir():
            return good, bad
        for p in sorted(self.points.glob("*.parquet")):
            if keys is not None and p.stem not in keys:
                bad[p.name] = "not a point of this sweep's manifest"
                continue
            try:
                if p.stat().st_size == 0:
                    raise ValueError("empty file")
                names = set(pq.read_schema(p).names)
            except Exception as e:  # noqa: BLE001 - any unreadable file is reported, not trusted
                bad[p.name] = f"unreadable ({type(e).__name__}: {str(e).splitlines()[0][:80] if str(e) else ''})"
                continue
            missing = [c for c in REQUIRED_COLUMNS if c not in names]
            if missing:
                bad[p.name] = f"not a result table (no '{missing[0]}' column)"
                continue
            good.add(p.stem)
        return good, bad

    def quarantine(self, names: list[str]) -> Path:
        """Move bad point files aside (never delete what a user may want to look at)."""
        q = self.root / "quarantine"
        q.mkdir(exist_ok=True)
        for n in names:
            src = self.points / n
            if src.exists():
                os.replace(src, q / n)
        return q

    def failures(self) -> dict[str, dict]:
        out = {}
        if self.failed.is_dir():
            for p in self.failed.glob("*.json"):
                try:
                    out[p.stem] = json.loads(p.read_text())
                except (json.JSONDecodeError, OSError):
                    out[p.stem] = {"error": "unreadable failure record"}
        return out

    def write_point_bytes(self, key: str, data: bytes) -> None:
        """A point's Parquet file, serialized by the worker that computed it."""
        atomic_write(self.points / f"{key}.parquet", lambda f: f.write(data))
        self._clear_failure(key)

    def _clear_failure(self, key: str) -> None:
        stale = self.failed / f"{key}.json"
        if stale.exists():
            stale.unlink()

    def write_failure(self, key: str, info: dict) -> None:
        atomic_write(self.failed / f"{key}.json", lambda f: f.write(json.dumps(info, indent=1, default=str)), "w")

    def write_manifest(self, manifest: dict) -> None:
        atomic_write(self.root / "manifest.json", lambda f: f.write(json.dumps(manifest, indent=1, default=str)),
                     "w")

    def manifest(self) -> dict:
        p = self.root / "manifest.json"
        if not p.is_file():
            raise AccelsimError(f"'{self.root}' is not a sweep directory (no manifest.json)")
        try:
            man = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError, OSError) as e:
            raise AccelsimError(f"'{p}' is unreadable ({type(e).__name__}); rerun the sweep from its spec to "
                                "rewrite it") from None
        if not isinstance(man, dict) or not isinstance(man.get("points", []), list) \
                or not all(isinstance(x, dict) and isinstance(x.get("key"), str) for x in man.get("points", [])):
            raise AccelsimError(f"'{p}' is not a sweep manifest; rerun the sweep from its spec to rewrite it")
        return man


def load_results(directory: str | os.PathLike) -> pd.DataFrame:
    """All finished rows of a sweep directory as one DataFrame (points in manifest order)."""
    st = Store(directory)
    if not st.points.is_dir():
        raise AccelsimError(f"'{directory}' is not a sweep directory (no points/)")
    order = [p["key"] for p in st.manifest().get("points", [])]
    good, bad = st.audit(set(order))
    frames = [pd.read_parquet(st.points / f"{k}.parquet") for k in order if k in good]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    df.attrs["notes"] = [f"skipped {name}: {why}" for name, why in bad.items()]
    return df
