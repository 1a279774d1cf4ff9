"""accelsim: a cycle-approximate simulator and co-design kit for sparse DNN accelerators.

The public API::

    load_workload(name)            a Workload (layers in the GEMM view)
    make_trace(workload, ...)      a pruned trace (weights + activations)
    load_trace(path) / save_trace  .npz traces
    load_arch(name, overrides)     an arch config (model + params + energy table)
    simulate(arch, workload, ...)  a DataFrame of result rows
    compare_formats(trace)         bits of every format per layer
    network_totals(df)             per-network sums
"""
__version__ = "0.1.0"

from .api import build_trace, simulate, simulate_trace
from .arch import list_archs, list_models, load_arch
from .errors import AccelsimError
from .formats import get_format, list_formats
from .formats.compare import compare_formats, compare_shape
from .results import SCHEMA, network_totals
from .sweep import load_results, run_sweep
from .traces import PATTERNS, load_trace, make_trace, save_trace
from .workload import list_workloads, load_workload

__all__ = ["__version__", "build_trace", "simulate", "simulate_trace", "list_archs", "list_models", "load_arch",
           "AccelsimError", "compare_formats", "compare_shape", "get_format", "list_formats", "SCHEMA", "network_totals", "load_results", "run_sweep", "PATTERNS", "load_trace",
           "make_trace", "save_trace", "list_workloads", "load_workload"]
