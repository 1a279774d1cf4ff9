"""Sweeps: specs with axes, serial/process/Dask executors, a resumable Parquet store."""
from .run import SweepOutcome, run_sweep, run_task, status
from .spec import Point, Recipe, SweepSpec, load_spec, parse_spec
from .store import Store, load_results

__all__ = ["SweepOutcome", "run_sweep", "run_task", "status", "Point", "Recipe", "SweepSpec", "load_spec",
           "parse_spec", "Store", "load_results"]
