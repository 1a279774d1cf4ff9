"""The result store: one Parquet file per finished batch (a task's points), written atomically; failures as JSON.

Layout of a sweep directory::

    DIR/spec.yaml               the spec as given
    DIR/manifest.json           every point's key and description (for --status)
    DIR/points/BATCH.parquet    the rows of the finished points of one task (one trace recipe and its
                                architectures); the schema metadata ``accelsim_points`` lists their keys
                                (a JSON list) and each row's ``point`` column names its point;
                                ``accelsim_json_columns`` lists the columns held as JSON text (one
                                design's text where another's numbers)
    DIR/points/KEY.parquet      (older sweeps) the rows of one point, without that metadata
    DIR/failed/KEY.json         the error of a point that raised

A point is done when a Parquet file that reads as a result table lists its key;
the store learns which keys a file holds from its schema alone, never its rows.
A file appears whole or not at all (written to a fresh temporary name, then
renamed), so a killed sweep leaves no half batches and a rerun recomputes exactly
the points no file holds. A file without the metadata holds the one point of its
file name (the one-file-per-point layout of older sweeps still loads and resumes).

The store heals: a file that is empty, unreadable, lacks the result columns, or
holds points this sweep did not write (keys not in the manifest) is never trusted.
:meth:`Store.audit` names them; a resumed sweep moves the bad ones to
``DIR/quarantine/`` and recomputes their points; :func:`load_results` skips them
with a note (``df.attrs["notes"]``).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AccelsimError
from ..outputs import atomic_write
from ..results import column_order

#: columns every point file must have to count as a result
REQUIRED_COLUMNS = ("arch", "config", "workload", "layer", "cycles", "latency_s", "energy_pj")
#: schema metadata of a batch file: the JSON list of the point keys whose rows it holds
POINTS_METADATA = b"accelsim_points"
#: schema metadata of a batch file: the JSON list of its columns that hold each value as JSON text
JSON_METADATA = b"accelsim_json_columns"
#: the column that names each row's point
POINT_COLUMN = "point"


def batch_metadata(keys: list[str], json_columns: list[str] = ()) -> dict[bytes, bytes]:
    """The schema metadata that tells the store which points a batch file holds (and which of its columns
    hold JSON text: a column some points fill with text and others with numbers)."""
    meta = {POINTS_METADATA: json.dumps(list(keys)).encode()}
    if json_columns:
        meta[JSON_METADATA] = json.dumps(list(json_columns)).encode()
    return meta


def _json_columns(schema) -> list[str]:
    """The columns of a batch held as JSON text (checked by :func:`_file_keys`)."""
    raw = (schema.metadata or {}).get(JSON_METADATA)
    return [c for c in json.loads(raw) if c in schema.names] if raw else []


def batch_name(keys: list[str]) -> str:
    """The file name of the batch holding *keys* (a hash of them: never a point key, never reused)."""
    return "batch-" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:20] + ".parquet"


def _file_keys(path: Path, schema) -> list[str]:
    """The point keys *path* holds: its metadata's list, else (one file per point) the key of its name."""
    raw = (schema.metadata or {}).get(POINTS_METADATA)
    if raw is None:
        return [path.stem]
    keys = json.loads(raw)
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
        raise ValueError("its point list is not a non-empty list of keys")
    if len(keys) > 1 and POINT_COLUMN not in schema.names:
        raise ValueError(f"it holds {len(keys)} points but no '{POINT_COLUMN}' column")
    raw = schema.metadata.get(JSON_METADATA)
    if raw is not None:
        cols = json.loads(raw)
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise ValueError("its list of JSON columns is not a list of names")
    return keys


class Store:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.points = self.root / "points"
        self.failed = self.root / "failed"

    def init(self) -> None:
        self.points.mkdir(parents=True, exist_ok=True)
        self.failed.mkdir(parents=True, exist_ok=True)

    def clear_temporaries(self) -> int:
        """Delete the half-written batches (``.batch-*.parquet.*.tmp``) a killed run left; how many.

        Called when a run starts, before it has written anything; a finished batch is never a temporary
        (it is renamed into place whole), so nothing a finished point needs is touched.
        """
        n = 0
        for p in self.points.glob(".batch-*.parquet.*.tmp") if self.points.is_dir() else ():
            try:
                p.unlink()
                n += 1
            except OSError:
                pass
        return n

    def done(self) -> set[str]:
        """Keys of the points held by files that read as result tables."""
        good, _ = self.audit()
        return good

    def audit(self, keys: set[str] | None = None) -> tuple[set[str], dict[str, str]]:
        """``(good keys, {bad file name: why})``. *keys*: the manifest's points (others are foreign)."""
        index, bad = self.index(keys)
        return set(index), bad

    def index(self, keys: set[str] | None = None) -> tuple[dict[str, Path], dict[str, str]]:
        """``({key: the file holding its rows}, {bad file name: why})``, from the files' schemas only.

        A key held by two good files (never written so by a sweep) is taken from the first by name.
        """
        import pyarrow.parquet as pq
        where: dict[str, Path] = {}
        bad: dict[str, str] = {}
        if not self.points.is_dir():
            return where, bad
        for p in sorted(self.points.glob("*.parquet")):
            try:
                if p.stat().st_size == 0:
                    raise ValueError("empty file")
                schema = pq.read_schema(p)
            except Exception as e:  # noqa: BLE001 - any unreadable file is reported, not trusted
                bad[p.name] = f"unreadable ({type(e).__name__}: {str(e).splitlines()[0][:80] if str(e) else ''})"
                continue
            try:
                held = _file_keys(p, schema)
            except ValueError as e:
                bad[p.name] = f"not a batch of this store ({e})"
                continue
            foreign = [k for k in held if keys is not None and k not in keys]
            if foreign:
                bad[p.name] = ("not a point of this sweep's manifest" if len(held) == 1 else
                               f"holds {len(foreign)} of {len(held)} point(s) not in this sweep's manifest")
                continue
            missing = [c for c in REQUIRED_COLUMNS if c not in schema.names]
            if missing:
                bad[p.name] = f"not a result table (no '{missing[0]}' column)"
                continue
            for k in held:
                where.setdefault(k, p)
        return where, bad

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

    def write_batch(self, keys: list[str], data: bytes) -> Path:
        """A batch's Parquet file (serialized by the worker that computed it, :func:`batch_metadata` in its
        schema), written whole or not at all; the points' earlier failure records go."""
        path = atomic_write(self.points / batch_name(keys), lambda f: f.write(data))
        for k in keys:
            self._clear_failure(k)
        return path

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


_ARROW_ERRORS = ("ArrowInvalid", "ArrowTypeError", "ArrowNotImplementedError")


def _frame(tables: list, encoded: list[set[str]]) -> pd.DataFrame:
    """The batches' tables as one DataFrame, the same however the points were batched: a column a point
    lacks is missing (NaN) in its rows; a column one design fills with text and another with numbers holds
    each value as its point wrote it (Python objects; *encoded*: each table's columns held as JSON text)."""
    import pyarrow as pa
    errors = tuple(getattr(pa, e) for e in _ARROW_ERRORS)
    names = list(dict.fromkeys(n for t in tables for n in t.column_names))
    clash = set().union(*encoded)

    def rest():
        return pa.concat_tables([t.drop_columns([n for n in clash if n in t.column_names]) for t in tables],
                                promote_options="permissive").to_pandas()
    try:
        df = rest()
    except errors:
        for n in names:
            if n not in clash:
                try:
                    pa.unify_schemas([pa.schema([t.schema.field(n)]) for t in tables if n in t.column_names],
                                     promote_options="permissive")
                except errors:
                    clash.add(n)
        df = rest()
    for n in names:
        if n in clash:
            vals = []
            for t, enc in zip(tables, encoded):
                if n not in t.column_names:
                    vals += [None] * t.num_rows
                elif n in enc:
                    vals += [None if v is None else json.loads(v) for v in t[n].to_pylist()]
                else:
                    vals += t[n].to_pylist()
            df[n] = pd.Series(vals, index=df.index, dtype=object)
    df = df[names]
    for c in df.columns:   # an object column's missing values are NaN, as pandas fills a column a point lacks
        if df[c].dtype == object:
            na = df[c].isna().to_numpy()
            if na.any() and not na.all():
                df[c] = df[c].where(~na, np.nan)
    return df


def load_results(directory: str | os.PathLike) -> pd.DataFrame:
    """All finished rows of a sweep directory as one DataFrame (points in manifest order)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    st = Store(directory)
    if not st.points.is_dir():
        raise AccelsimError(f"'{directory}' is not a sweep directory (no points/)")
    order: dict[str, int] = {}
    for p in st.manifest().get("points", []):
        order.setdefault(p["key"], len(order))
    where, bad = st.index(set(order))
    notes = [f"skipped {name}: {why}" for name, why in bad.items()]
    by_file: dict[Path, list[str]] = {}
    for k in sorted(where, key=order.__getitem__):
        by_file.setdefault(where[k], []).append(k)
    tables, encoded = [], []
    for path, keys in by_file.items():   # in the manifest order of each file's first point
        try:
            t = pq.read_table(path)
        except Exception as e:  # noqa: BLE001 - a file whose rows do not read is skipped, not fatal
            notes.append(f"skipped {path.name}: rows unreadable ({type(e).__name__})")
            continue
        if POINT_COLUMN in t.column_names and len(keys) < len(_file_keys(path, t.schema)):
            t = t.filter(pc.is_in(t[POINT_COLUMN], value_set=pa.array(keys, pa.string())))
        encoded.append(set(_json_columns(t.schema)))
        tables.append(t.replace_schema_metadata(None))
    if not tables:
        df = pd.DataFrame()
    else:
        df = _frame(tables, encoded)
        df = df[column_order(df.columns)]
        if POINT_COLUMN in df.columns:
            pos = df[POINT_COLUMN].map(order).to_numpy(dtype=float, na_value=np.inf)
            df = df.iloc[np.argsort(pos, kind="stable")].reset_index(drop=True)
    df.attrs["notes"] = notes
    return df
