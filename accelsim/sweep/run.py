"""Running a sweep: tasks (one trace recipe and its architectures), executors, the progress bar.

A task makes its trace once and runs every architecture variant of the spec
on it, so traces are shared, not made per point. Executors:

* ``serial`` - in this process;
* ``processes`` - a local process pool (default: all cores);
* ``dask`` - a local Dask cluster, or ``dask://HOST:PORT`` an existing one.

Workers only compute; this process writes each finished point to the store
as results arrive, so a killed sweep loses at most the points in flight.
"""
from __future__ import annotations

import io
import multiprocessing as mp
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


from .. import __version__
from ..api import build_trace, simulate_trace
from ..errors import AccelsimError
from ..progress import Progress
from ..results import to_arrow
from .spec import Point, Recipe, SweepSpec
from .store import Store


@dataclass
class SweepOutcome:
    directory: Path
    total: int
    skipped: int
    done: int
    failed: int
    seconds: float


def _parquet_bytes(rows: list[dict]) -> bytes:
    import pyarrow.parquet as pq
    buf = io.BytesIO()
    pq.write_table(to_arrow(rows), buf)
    return buf.getvalue()


#: at most this many workers per core (more only thrash; a huge --workers would fork without limit)
MAX_WORKERS_PER_CPU = 4


def run_task(recipe: Recipe, points: list[Point], workload=None) -> list[tuple[str, bytes | None, dict | None]]:
    """Make the trace of *recipe* and run every point's arch on it. Never raises: errors are returned.

    *workload* is the recipe's workload already loaded by the driver (its content travels with the task,
    so workers never read the driver's files). Each finished point comes back as the bytes of its Parquet
    file: the workers do the table work in parallel and the driver only writes files.
    """
    try:
        tr = build_trace(workload if workload is not None else recipe.workload,
                         layers=list(recipe.layers) if recipe.layers else None,
                         pattern=recipe.pattern, density=recipe.density, profile=recipe.profile,
                         act_density=recipe.act_density, seed=recipe.seed, clustered=recipe.clustered)
    except Exception as e:  # noqa: BLE001 - a failing point is recorded, the sweep goes on
        err = {"error": f"{type(e).__name__}: {e}", "stage": "trace", "traceback": traceback.format_exc()}
        return [(p.key, None, err) for p in points]
    out = []
    for p in points:
        try:
            rows = simulate_trace(p.arch.config, tr)
            cols = p.columns()
            for r in rows:
                r.update(cols)
            out.append((p.key, _parquet_bytes(rows), None))
        except Exception as e:  # noqa: BLE001
            out.append((p.key, None, {"error": f"{type(e).__name__}: {e}", "stage": "simulate",
                                      "traceback": traceback.format_exc()}))
    return out


def _die_with_parent() -> None:
    """Worker initializer: on Linux, the kernel kills this worker when the driver dies (even by kill -9)."""
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
        if os.getppid() == 1:           # the driver died before the line above ran
            os._exit(1)
    except (OSError, AttributeError):   # pragma: no cover - not Linux
        pass


def _load_workloads(tasks) -> dict:
    """The tasks' workloads loaded once on the driver (shipped with the tasks); real models load on workers."""
    from ..workload import load_workload
    out = {}
    for recipe, _ in tasks:
        w = recipe.workload
        if w not in out and not str(w).startswith("real:"):
            out[w] = load_workload(w)
    return out


def _dask_client(executor: str, workers: int | None):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise AccelsimError("the dask executor needs dask.distributed: pip install 'accelsim[dask]'") from None
    if executor == "dask":
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        return Client(cluster), cluster
    addr = executor[len("dask://"):]
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in addr:
        raise AccelsimError(f"--executor {executor!r}: expected dask://HOST:PORT")
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
    cpus = os.cpu_count() or 1
    if workers is not None and not 1 <= workers <= MAX_WORKERS_PER_CPU * cpus:
        raise AccelsimError(f"--workers must be between 1 and {MAX_WORKERS_PER_CPU * cpus} on this machine "
                            f"({cpus} cores), got {workers}")
    store = Store(directory)
    store.init()
    keys = {p.key for p in spec.points}
    _, bad = store.audit(keys)
    if bad:   # never trust a point file this sweep cannot read: set it aside, recompute it
        q = store.quarantine(list(bad))
        for name, why in bad.items():
            print(f"note: {name} {why}; moved to {q}", file=sys.stderr)
    store.write_manifest({"name": spec.name, "version": __version__, "spec": spec.raw,
                          "points": [{"key": p.key, "arch": p.arch.label, **p.recipe.as_dict()} for p in spec.points]})
    done_before = store.done() & {p.key for p in spec.points}
    tasks = _tasks(spec, done_before)
    todo = sum(len(t[1]) for t in tasks)
    loaded = _load_workloads(tasks)
    t0 = time.monotonic()
    n_ok = n_fail = 0
    bar = Progress(todo, f"sweep {spec.name}", enabled=progress)

    def collect(results):
        nonlocal n_ok, n_fail
        for key, data, err in results:
            if err is None:
                store.write_point_bytes(key, data)
                n_ok += 1
            else:
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
            with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_die_with_parent) as pool:
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
