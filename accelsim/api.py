"""The Python API: the same operations as the command line, returning DataFrames.

>>> import accelsim
>>> df = accelsim.simulate("ideal", "gemm:64x32x128", pattern="unstructured", density=0.5)
>>> df[["layer", "cycles", "energy_pj"]]          # doctest: +SKIP
"""
from __future__ import annotations

import dataclasses
import os
from typing import Callable

import pandas as pd

from .arch import ArchConfig, get_model, load_arch
from .errors import AccelsimError
from .results import TRACE_FIDELITY_KEYS, finish, network_totals, to_frame
from .traces import Trace, load_trace, make_trace
from .workload import Workload, load_workload


def build_trace(workload: str | Workload | None = None, trace: str | os.PathLike | Trace | None = None, *,
                layers: list[str] | None = None, pattern: str = "unstructured", density: float | None = None,
                profile: str | None = None, act_density: float | None = None, seed: int = 0,
                clustered: bool = False) -> Trace:
    """A trace from a file (checked against *workload* if given) or made from *workload*."""
    if isinstance(trace, Trace):
        return trace.select(layers)
    if trace is None and isinstance(workload, str) and workload.startswith("real:"):
        # a real model that ships its weights: real weights pruned, real activations measured (no act_density)
        from .traces.real import capture
        tr = capture(workload[len("real:"):], pattern, density, seed)
        tr.workload = workload
        return tr.select(layers)
    spec = workload if isinstance(workload, (str, os.PathLike)) else getattr(workload, "capture", "")
    if trace is None and spec:
        # [issue 18 hook] your own network (ONNX file, Hugging Face directory, trace .npz) is captured like a
        # real model; a SCALE-Sim topology (shapes only) falls through to a synthetic trace
        from .traces.real import own_trace
        tr = own_trace(str(spec), pattern, density, seed, profile=profile, layers=layers)
        if tr is not None:
            return tr
    wl = load_workload(workload) if workload is not None else None
    if trace is not None:
        return load_trace(trace, wl.select(layers) if wl else None).select(None if wl else layers)
    if wl is None:
        raise AccelsimError("give a workload or a trace")
    return make_trace(wl, pattern, density=density, profile=profile, act_density=act_density, seed=seed,
                      layers=layers, clustered=clustered)


#: a synthetic trace larger than this (weights + inputs of one instance of each layer, elements) runs
#: statistically instead: 2^28 float32 elements are 1 GiB and take about 25 s to generate and prune
#: (VGG-16, 150 M, still traces; one Llama-2-7B block with its LM head, 340 M, does not)
AUTO_STATISTICAL_ELEMENTS = 1 << 28


def plan_trace(workload=None, trace=None, *, layers=None, pattern="unstructured", density=None, profile=None,
               act_density=None, seed=0, clustered=False, statistical: bool | None = None):
    """``(trace or StatsTrace, note)``: the statistical path when asked, or automatically (with a one-line
    note) when a synthetic trace of the workload would hold more than :data:`AUTO_STATISTICAL_ELEMENTS`."""
    note = ""
    if statistical is None and trace is None and isinstance(workload, (str, Workload)) \
            and not str(getattr(workload, "name", workload)).startswith("real:"):
        wl = load_workload(workload).select(layers)
        elems = sum(l.n_weights + _prod(l.input_shape) for l in wl.layers)
        if elems > AUTO_STATISTICAL_ELEMENTS:
            statistical = True
            note = (f"note: {wl.name} would need a {elems:.3g}-element trace; running the statistical mode "
                    "(expected values from shapes and densities)")
    if statistical:
        if trace is not None:
            raise AccelsimError("--statistical runs from a workload's shapes and densities, not a trace")
        if workload is None:
            raise AccelsimError("--statistical needs a workload")
        from .traces.stats import make_stats
        return make_stats(load_workload(workload), pattern, density=density, profile=profile,
                          act_density=act_density, seed=seed, layers=layers), note
    return build_trace(workload, trace, layers=layers, pattern=pattern, density=density, profile=profile,
                       act_density=act_density, seed=seed, clustered=clustered), note


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= int(s)
    return n


def simulate_trace(arch: ArchConfig, trace: Trace, progress: Callable[[str], None] | None = None) -> list[dict]:
    """Schema rows for every layer of *trace* on *arch* (a :class:`StatsTrace` runs the statistical mode)."""
    model = get_model(arch.model)()
    hw = model.hardware(arch.params)
    table = arch.energy
    pj = getattr(arch.params, "dram_pj_per_bit", None)
    if hw is not None:
        if pj is not None:   # the config's own DRAM energy joins the declared hardware (hardware.Dram)
            hw.dram = dataclasses.replace(hw.dram, pj_per_bit=float(pj))
        table = table.with_dram(hw.dram.pj_per_bit)
    inv = hw.inventory() if hw is not None else model.inventory(arch.params)
    area = table.area_mm2(inv) if inv is not None else None
    rows = []
    for lt in trace.layers:
        if progress:
            progress(lt.name)
        res = model.simulate_stats(lt, arch.params) if getattr(lt, "statistical", False) \
            else model.simulate(lt, arch.params)
        row = finish(res, lt, arch=arch.model, config=arch.name, workload=trace.workload, table=table,
                     hardware=hw)
        if area is not None:
            row["area_mm2"] = sum(area.values())
        for k in TRACE_FIDELITY_KEYS:
            if k in trace.provenance:
                row[k] = trace.provenance[k]
        rows.append(row)
    return rows


def simulate(arch: str | ArchConfig, workload: str | Workload | None = None, *, trace=None,
             overrides: dict | None = None, layers: list[str] | None = None, pattern: str = "unstructured",
             density: float | None = None, profile: str | None = None, act_density: float | None = None,
             seed: int = 0, clustered: bool = False, progress: Callable[[str], None] | None = None,
             statistical: bool | None = False) -> pd.DataFrame:
    """Run *arch* on a workload (or a trace) and return one row per layer (the result schema).

    ``statistical=True`` runs each model's statistical mode on the workload's shapes and densities
    (no tensors are made: any size runs); ``None`` chooses it when the trace would be too large.
    """
    cfg = load_arch(arch, overrides)
    tr, _ = plan_trace(workload, trace, layers=layers, pattern=pattern, density=density, profile=profile,
                       act_density=act_density, seed=seed, clustered=clustered, statistical=statistical)
    return to_frame(simulate_trace(cfg, tr, progress))


__all__ = ["build_trace", "plan_trace", "simulate", "simulate_trace", "network_totals"]
