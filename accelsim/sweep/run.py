"""Running a sweep: tasks (one trace recipe and its architectures), executors, the progress bar.

A task makes its trace once and runs every architecture variant of the spec
on it, so traces are shared, not made per point. Executors:

* ``serial`` - in this process;
* ``processes`` - a local process pool (default: all cores), each worker with one BLAS thread;
* ``dask`` - a local Dask cluster, or ``dask://HOST:PORT`` an existing one.

Workers only compute: a task comes back as the bytes of one Parquet file
holding the rows of all its finished points (plus the errors of the points
that raised). This process is the only writer: it stores each task's batch as
results arrive, so a killed sweep loses at most the tasks in flight.
"""
from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__
from ..api import build_trace, simulate_trace
from ..errors import AccelsimError
from ..progress import Progress
from ..results import to_arrow
from .spec import Point, Recipe, SweepSpec
from .store import Store, batch_metadata


@dataclass
class SweepOutcome:
    directory: Path
    total: int
    skipped: int
    done: int
    failed: int
    seconds: float


def _parquet_bytes(rows: list[dict], keys: list[str], json_columns: list[str] = ()) -> bytes:
    """The Parquet file of a batch: *rows* of the points *keys*, the keys in its schema metadata."""
    import pyarrow.parquet as pq
    buf = io.BytesIO()
    pq.write_table(to_arrow(rows).replace_schema_metadata(batch_metadata(keys, json_columns)), buf)
    return buf.getvalue()


@dataclass
class TaskResult:
    """What a task returns: its finished points as Parquet batches, and the errors of the others."""
    #: ``(point keys, the Parquet file holding their rows)``: one batch per task (more only when the
    #: points' columns cannot share one table, see :func:`_batches`)
    batches: list[tuple[list[str], bytes]]
    #: ``(point key, error record)`` for each point that raised
    failed: list[tuple[str, dict]]


#: the kinds of value a Parquet column can hold together (ints and floats share a float column)
_KINDS = {int: "number", float: "number", bool: "bool", str: "str", type(None): None}
#: the values a column of clashing kinds can hold as JSON text, each read back as it was
_JSON_EXACT = (int, float, bool, str, type(None))


def _kind(v) -> str | None:
    k = _KINDS.get(type(v), "?")
    if k != "?":
        return k
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return "number"
    return type(v).__name__


def _kinds(rows: list[dict]) -> dict[str, set]:
    kinds: dict[str, set] = {}
    for r in rows:
        for c, v in r.items():
            k = _kind(v)
            if k is not None:
                kinds.setdefault(c, set()).add(k)
    return kinds


def _table_rows(group: list[tuple[str, list[dict]]]) -> tuple[list[dict], list[str]] | None:
    """The rows of *group*'s points as one table's, and the columns they hold as JSON text.

    Designs name their own columns, and one may fill with text a column another fills with numbers: such
    a column is stored as the JSON of each value (:func:`accelsim.sweep.store.load_results` reads each back
    as its point wrote it). ``None`` if a clashing column holds values JSON cannot (arrays, numpy scalars).
    """
    rows = [r for _, rr in group for r in rr]
    clash = [c for c, k in _kinds(rows).items() if len(k) > 1]
    if not clash:
        return rows, []
    if not all(type(r.get(c)) in _JSON_EXACT for r in rows for c in clash):
        return None
    return [{**r, **{c: json.dumps(r[c]) for c in clash if r.get(c) is not None}} for r in rows], clash


def _groups(done: list[tuple[str, list[dict]]]) -> list[list[tuple[str, list[dict]]]]:
    """*done* split into as few groups as have no column of clashing kinds."""
    groups: list[tuple[dict, list]] = []
    for key, rows in done:
        kinds = {c: next(iter(k)) for c, k in _kinds(rows).items()}
        for seen, members in groups:
            if all(seen.get(c, k) == k for c, k in kinds.items()):
                seen.update(kinds)
                members.append((key, rows))
                break
        else:
            groups.append((kinds, [(key, rows)]))
    return [members for _, members in groups]


def _batches(done: list[tuple[str, list[dict]]], failed: list[tuple[str, dict]]) -> list[tuple[list[str], bytes]]:
    """The Parquet batches holding the points of *done*: one, unless a column's values clash in a way JSON
    text cannot hold (:func:`_table_rows`; then as few as :func:`_groups` makes). A point whose own rows
    cannot be stored joins *failed*; the others are still stored."""
    if not done:
        return []
    whole = _table_rows(done)
    groups = [done] if whole is not None else _groups(done)
    out = []
    for group in groups:
        keys = [k for k, _ in group]
        try:
            table = whole if whole is not None else _table_rows(group)
            if table is None:
                raise ValueError("a column holds values of clashing types")
            out.append((keys, _parquet_bytes(table[0], keys, table[1])))
            continue
        except Exception:  # noqa: BLE001 - find which points cannot be stored; the others still are
            pass
        for k, rows in group:
            try:
                table = _table_rows([(k, rows)])
                if table is None:
                    raise ValueError("a column holds values of clashing types")
                out.append(([k], _parquet_bytes(table[0], [k], table[1])))
            except Exception as e:  # noqa: BLE001
                failed.append((k, {"error": f"{type(e).__name__}: {e}", "stage": "store",
                                   "traceback": traceback.format_exc()}))
    return out


#: at most this many workers per core (more only thrash; a huge --workers would fork without limit)
MAX_WORKERS_PER_CPU = 4


def run_task(recipe: Recipe, points: list[Point], workload=None) -> TaskResult:
    """Make the trace of *recipe* and run every point's arch on it. Never raises: errors are returned.

    *workload* is the recipe's workload already loaded by the driver (its content travels with the task,
    so workers never read the driver's files). The finished points come back together as the bytes of one
    Parquet file: the workers do the table work in parallel and the driver only writes files.
    """
    try:
        tr = build_trace(workload if workload is not None else recipe.workload,
                         layers=list(recipe.layers) if recipe.layers else None,
                         pattern=recipe.pattern, density=recipe.density, profile=recipe.profile,
                         act_density=recipe.act_density, seed=recipe.seed, clustered=recipe.clustered)
    except Exception as e:  # noqa: BLE001 - a failing point is recorded, the sweep goes on
        err = {"error": f"{type(e).__name__}: {e}", "stage": "trace", "traceback": traceback.format_exc()}
        return TaskResult([], [(p.key, err) for p in points])
    done, failed = [], []
    for p in points:
        try:
            rows = simulate_trace(p.arch.config, tr)
            cols = p.columns()
            for r in rows:
                r.update(cols)
            done.append((p.key, rows))
        except Exception as e:  # noqa: BLE001
            failed.append((p.key, {"error": f"{type(e).__name__}: {e}", "stage": "simulate",
                                   "traceback": traceback.format_exc()}))
    return TaskResult(_batches(done, failed), failed)


def _worker_init() -> None:
    """Worker initializer: die with the driver; one BLAS thread (the pool already runs a worker per core)."""
    _die_with_parent()
    _one_blas_thread()


def _die_with_parent() -> None:
    """On Linux, the kernel kills this worker when the driver dies (even by kill -9)."""
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
        if os.getppid() == 1:           # the driver died before the line above ran
            os._exit(1)
    except (OSError, AttributeError):   # pragma: no cover - not Linux
        pass


#: the thread-count setters of the OpenBLAS builds numpy and scipy ship (prefixed, 64-bit) and of a plain one
_BLAS_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads_64_",
                 "scipy_openblas_set_num_threads", "openblas_set_num_threads64_", "openblas_set_num_threads")


def _one_blas_thread() -> None:
    """Set every loaded OpenBLAS to one thread in this process.

    A forked worker inherits numpy's OpenBLAS sized for the whole machine (its environment variables are
    read once, at import); with a worker per core, each worker's BLAS threads then spin against the other
    workers for the same cores, which made the processes executor slower than serial. Results do not
    change: a thread count only splits the output among threads. Linux only; elsewhere a no-op.
    """
    import ctypes
    libs = set()
    try:
        with open("/proc/self/maps") as f:   # address, perms, offset, device, inode, path
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and "openblas" in os.path.basename(parts[5].strip()).lower():
                    libs.add(parts[5].strip())
    except OSError:   # pragma: no cover - not Linux
        return
    for path in sorted(libs):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in _BLAS_SETTERS:
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.argtypes = [ctypes.c_int]
                fn.restype = None
                fn(1)
                break


def _load_workloads(tasks) -> dict:
    """The tasks' workloads loaded once on the driver (shipped with the tasks); real models load on workers."""
    from ..workload import load_workload
    out = {}
    for recipe, _ in tasks:
        w = recipe.workload
        if w not in out and not str(w).startswith("real:"):
            out[w] = load_workload(w)
    return out


def _dask_address(executor: str) -> str:
    """``HOST:PORT`` of a ``dask://HOST:PORT`` executor, checked before anything is written."""
    addr = executor[len("dask://"):]
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in addr:
        raise AccelsimError(f"--executor {executor!r}: expected dask://HOST:PORT")
    return addr


def _dask_client(executor: str, workers: int | None):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise AccelsimError("the dask executor needs dask.distributed: pip install 'accelsim[dask]'") from None
    if executor == "dask":
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster
    addr = _dask_address(executor)
    try:
        return Client(f"tcp://{addr}", timeout="10s"), None
    except (OSError, ValueError, TimeoutError) as e:
        raise AccelsimError(f"cannot reach the Dask scheduler at {addr}: {e}") from None


def _tasks(spec: SweepSpec, skip: set[str]) -> list[tuple[Recipe, list[Point]]]:
    tasks = []
    for recipe, pts in spec.by_recipe().items():
        todo = [p for p in pts if p.key not in skip]
        if todo:
            tasks.append((recipe, todo))
    return tasks


def run_sweep(spec: SweepSpec, directory: str | os.PathLike, executor: str = "processes", workers: int | None = None,
              progress: bool | None = None, on_point: Callable[[str], None] | None = None) -> SweepOutcome:
    """Run every unfinished point of *spec* into *directory*; finished points are skipped."""
    if executor not in ("serial", "processes", "dask") and not executor.startswith("dask://"):
        raise AccelsimError(f"unknown executor '{executor}' (serial, processes, dask, dask://HOST:PORT)")
    if executor.startswith("dask://"):
        _dask_address(executor)
    cpus = os.cpu_count() or 1
    if workers is not None and not 1 <= workers <= MAX_WORKERS_PER_CPU * cpus:
        raise AccelsimError(f"--workers must be between 1 and {MAX_WORKERS_PER_CPU * cpus} on this machine "
                            f"({cpus} cores), got {workers}")
    store = Store(directory)
    store.init()
    store.clear_temporaries()   # what a killed run was writing (kill -9 safe)
    keys = {p.key for p in spec.points}
    good, bad = store.audit(keys)
    if bad:   # never trust a point file this sweep cannot read: set it aside, recompute it
        q = store.quarantine(list(bad))
        for name, why in bad.items():
            print(f"note: {name} {why}; moved to {q}", file=sys.stderr)
    store.write_manifest({"name": spec.name, "version": __version__, "spec": spec.raw,
                          "points": [{"key": p.key, "arch": p.arch.label, **p.recipe.as_dict()} for p in spec.points]})
    done_before = good   # the bad files' keys are not in it: they are recomputed
    tasks = _tasks(spec, done_before)
    todo = sum(len(t[1]) for t in tasks)
    loaded = _load_workloads(tasks)
    t0 = time.monotonic()
    n_ok = n_fail = 0
    bar = Progress(todo, f"sweep {spec.name}", enabled=progress)

    def collect(res: TaskResult):
        nonlocal n_ok, n_fail
        for keys, data in res.batches:
            store.write_batch(keys, data)   # the batch's points are stored together, or not at all
            n_ok += len(keys)
            for key in keys:
                bar.update(1, key[:8])
                if on_point:
                    on_point(key)
        for key, err in res.failed:
            store.write_failure(key, err)
            n_fail += 1
            bar.update(1, key[:8])
            if on_point:
                on_point(key)

    try:
        if executor == "serial" or todo == 0:
            for recipe, pts in tasks:
                collect(run_task(recipe, pts, loaded.get(recipe.workload)))
        elif executor == "processes":
            n = workers or os.cpu_count() or 1
            # fork where there is one: workers inherit the loaded modules and compiled kernels instead of
            # importing and loading them again (a spawned process, such as bench's, would otherwise pass on spawn)
            ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
            with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_init) as pool:
                futs = [pool.submit(run_task, r, p, loaded.get(r.workload)) for r, p in tasks]
                for f in as_completed(futs):
                    collect(f.result())
        else:
            client, cluster = _dask_client(executor, workers)
            try:
                from dask.distributed import as_completed as dask_completed
                futs = [client.submit(run_task, r, p, loaded.get(r.workload), pure=False) for r, p in tasks]
                for f in dask_completed(futs):
                    collect(f.result())
            except (OSError, TimeoutError) as e:
                raise AccelsimError(f"the Dask cluster went away during the sweep ({type(e).__name__}); finished "
                                    "points are kept: rerun to resume") from None
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
    finally:
        bar.close()
    return SweepOutcome(Path(directory), len(spec.points), len(done_before), n_ok, n_fail, time.monotonic() - t0)


def status(directory: str | os.PathLike) -> dict:
    store = Store(directory)
    man = store.manifest()
    keys = [p["key"] for p in man.get("points", [])]
    done, bad = store.audit(set(keys))
    failed = store.failures()
    return {"name": man.get("name"), "total": len(keys), "done": sum(k in done for k in keys),
            "failed": sum(k in failed and k not in done for k in keys),
            "remaining": sum(k not in done for k in keys),
            "errors": {k: v.get("error") for k, v in failed.items() if k not in done},
            "bad_files": bad}
