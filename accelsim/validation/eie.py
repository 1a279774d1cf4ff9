"""EIE against Han et al., ISCA 2016: per-layer times (Table IV, actual and theoretical), the FIFO study
(Sec. VI-C, Fig. 8 text), per-PE power and area (Table II).

Everything is computed on the ``eie_benchmark`` workload (the nine Table III
matrices at the paper's weight and activation densities) with the shipped
``eie`` config (64 PEs, 800 MHz, FIFO depth 8). The paper ran its real
pruned and quantized AlexNet, VGG-16 and NeuralTalk weights; accelsim runs a
seeded synthetic trace at the same densities with the nonzeros placed
uniformly at random, as the paper describes its target (Sec. VII-A: "The
density of W is 10%, and the density of a is 30%, both with random
distribution"), hence the tolerances. (accelsim's default ``unstructured``
pattern prunes weights whose rows differ in scale, which leaves rows with
unequal counts and 20-30% load imbalance where Table IV's actual over
theoretical times show 4-22%; docs/eie.md.) Nothing is fitted: no parameter
was tuned to these numbers.

Times are the PE array's, with the compressed model resident on chip: the
paper's premise (Sec. I; Sec. VIII: "after compression, all weights fit in
on-chip SRAM"). With the paper's own sizes VGG-6's 25,089 column pointers per
PE exceed the 32 KB pointer SRAM; on the shipped config the excess streams
from DRAM at an assumed bandwidth and the runner's roofline makes that layer
DRAM-bound (``loss_dram_cycles``); the rows below take ``cycles -
loss_dram_cycles``, the on-chip time, and docs/eie.md gives both.

The paper defines the theoretical time: "calculated by dividing workload GOPs
by peak throughput" (Sec. VI-A); accelsim's ``ideal_cycles`` is the same
quantity (stored entries processed over 64 multipliers).

The trace and the PE encodings are built once and shared by all cases.
"""
from __future__ import annotations

import functools

import numpy as np

from ..api import build_trace
from ..arch import load_arch
from ..arch.eie import EIE, plan_layer, schedule, trace_work
from ..results import finish, to_frame

PAPER = "Han et al., EIE, ISCA 2016"
#: nonzeros of W and a "both with random distribution" (Sec. VII-A)
PATTERN = "random"

#: Table IV, row "EIE Actual Time" (microseconds per layer, batch 1, 64 PEs at 800 MHz)
TABLE_IV_ACTUAL_US = {"alex6": 30.3, "alex7": 12.2, "alex8": 9.9, "vgg6": 34.4, "vgg7": 8.7, "vgg8": 8.4,
                      "nt_we": 8.0, "nt_wd": 13.9, "nt_lstm": 7.5}
#: Table IV, row "EIE Theoretical Time": workload over peak throughput (Sec. VI-A)
TABLE_IV_THEORETICAL_US = {"alex6": 28.1, "alex7": 11.7, "alex8": 8.9, "vgg6": 28.1, "vgg7": 7.9, "vgg8": 7.3,
                           "nt_we": 5.2, "nt_wd": 13.0, "nt_lstm": 6.5}
#: Table II, power of one PE by module (mW, 45 nm, 800 MHz) and its total; area of one PE (um2)
TABLE_II_PE_MW = {"total": 9.157, "SpmatRead": 4.955, "PtrRead": 1.807, "ArithmUnit": 1.162, "ActRW": 1.122,
                  "Act_queue": 0.112}
TABLE_II_PE_UM2 = 638024.0
#: Table II's filler cells (3.76% of the PE): area that holds no hardware, so not in the declaration
TABLE_II_FILLER_UM2 = 23961.0
#: which accelsim energy components make up each Table II module
MODULES = {"SpmatRead": ["spmat_sram"], "PtrRead": ["ptr_sram"], "ArithmUnit": ["mac", "codebook"],
           "ActRW": ["act_rf", "act_sram"], "Act_queue": ["act_queue"]}


@functools.lru_cache(maxsize=1)
def benchmark():
    """The nine layers on the shipped config: result rows at FIFO depth 8 and the load balance at depth 1."""
    cfg = load_arch("eie")
    trace = build_trace("eie_benchmark", pattern=PATTERN)
    model = EIE()
    hw = model.hardware(cfg.params)
    rows, eff1 = [], []
    for lt in trace:
        plan = plan_layer(lt, cfg.params)
        res = model.result(lt.layer, cfg.params, trace_work(plan, schedule(plan, cfg.params.fifo_depth)))
        rows.append(finish(res, lt, arch="eie", config=cfg.name, workload=trace.workload, table=cfg.energy,
                           hardware=hw))
        cycles, busy, _, _ = schedule(plan, 1)
        eff1.append(float(busy.mean() / cycles))
    area = cfg.energy.area_mm2(hw.inventory())
    return to_frame(rows), eff1, sum(area.values()) * 1e6 / cfg.params.pes, cfg.params.pes


def _case(quantity, published, value, unit, tol, source, kind, category):
    return {"model": "eie", "quantity": quantity, "published": float(published), "accelsim": float(value),
            "unit": unit, "tolerance_pct": float(tol), "source": source, "source_kind": kind, "category": category}


def on_chip_seconds(df):
    """Each layer's time with the model resident on chip (the DRAM roofline's addition taken off)."""
    return (df["cycles"] - df["loss_dram_cycles"]) / df["freq_hz"]


def cases() -> list[dict]:
    df, eff1, pe_area_um2, pes = benchmark()
    out = []
    us = dict(zip(df["layer"], on_chip_seconds(df) * 1e6))
    ideal_us = dict(zip(df["layer"], df["ideal_cycles"] / df["freq_hz"] * 1e6))
    trace_note = "synthetic trace at Table III densities, nonzeros at random (Sec. VII-A)"
    for layer, pub in TABLE_IV_ACTUAL_US.items():
        out.append(_case(f"{layer} time, 64 PEs, FIFO 8", pub, us[layer], "us", 25,
                         f"{PAPER}, Table IV (EIE actual time); {trace_note}; model on chip (the paper's premise)",
                         "table", "performance"))
    for layer, pub in TABLE_IV_THEORETICAL_US.items():
        out.append(_case(f"{layer} theoretical time (work / peak)", pub, ideal_us[layer], "us", 25,
                         f"{PAPER}, Table IV (EIE theoretical time: workload over peak throughput, Sec. VI-A); "
                         f"accelsim's ideal_cycles, padding entries included; {trace_note}", "table", "performance"))
    out.append(_case("nine-layer total time", sum(TABLE_IV_ACTUAL_US.values()), sum(us.values()), "us", 15,
                     f"{PAPER}, Table IV (sum of EIE actual times)", "table", "performance"))
    out.append(_case("load-balance efficiency at FIFO depth 1 (mean of nine layers)", 0.5, np.mean(eff1), "", 30,
                     f"{PAPER}, Sec. VI-C / Fig. 8 text: 'at FIFO size = 1, around half of the total cycles are "
                     "idle' (approximate, hence the tolerance)", "text", "performance"))
    # power: on-chip energy over the nine layers' on-chip time, per PE (the paper's PE has no DRAM)
    seconds = float(on_chip_seconds(df).sum())

    def mw(components):
        cols = [f"component_{c}_pj" for c in components if f"component_{c}_pj" in df.columns]
        return float(df[cols].fillna(0.0).to_numpy().sum()) * 1e-12 / seconds / pes * 1e3
    on_chip_pj = float((df["energy_pj"] - df["energy_dram_pj"]).sum())
    out.append(_case("power of one PE, nine-layer average", TABLE_II_PE_MW["total"],
                     on_chip_pj * 1e-12 / seconds / pes * 1e3, "mW", 35,
                     f"{PAPER}, Table II (total 9.157 mW incl. 20% clock network, which is not an action here)",
                     "table", "energy"))
    notes = {"SpmatRead": "Horowitz's SRAM curve gives 38 pJ per 64-bit read at 128 KB; the paper used Cacti",
             "PtrRead": "two pointer reads per activation; pointer-bank clocking and control not modelled",
             "ArithmUnit": "16-bit multiply-add and codebook read per entry; pipeline registers not modelled",
             "ActRW": "register files priced on the SRAM curve; their flip-flop clock power is not an action",
             "Act_queue": "FIFO write and read per activation and PE"}
    for module, comps in MODULES.items():
        out.append(_case(f"{module} power of one PE", TABLE_II_PE_MW[module], mw(comps), "mW", 50,
                         f"{PAPER}, Table II by module; {notes[module]}", "table", "energy"))
    out.append(_case("area of one PE (without filler cells)", TABLE_II_PE_UM2 - TABLE_II_FILLER_UM2, pe_area_um2,
                     "um2", 30, f"{PAPER}, Table II (total 638,024 um2, of which 23,961 um2 filler cells); SRAM "
                     "priced at the table's density, itself derived from EIE's Table II, so this is not "
                     "independent", "table", "area"))
    return out
