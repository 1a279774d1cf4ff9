"""EIE against Han et al., ISCA 2016: per-layer times (Table IV), the FIFO study (Sec. VI-B, Fig. 8),
per-PE power and area (Table II).

Everything is computed on the ``eie_benchmark`` workload (the nine Table III
matrices at the paper's weight and activation densities) with the shipped
``eie`` config (64 PEs, 800 MHz, FIFO depth 8). The paper ran its real
pruned and quantized AlexNet, VGG-16 and NeuralTalk weights; accelsim runs a
seeded synthetic trace at the same densities (magnitude pruning of weights
whose rows differ in scale, so rows keep unequal nonzero counts), hence the
tolerances. Nothing is fitted: no parameter was tuned to these numbers.

The trace and the PE encodings are built once and shared by all cases.
"""
from __future__ import annotations

import functools

import numpy as np

from ..api import build_trace
from ..arch import load_arch
from ..arch.eie import EIE, plan_layer, schedule
from ..results import finish, to_frame

PAPER = "Han et al., EIE, ISCA 2016"

#: Table IV, row "EIE Actual Time" (microseconds per layer, batch 1, 64 PEs at 800 MHz)
TABLE_IV_ACTUAL_US = {"alex6": 30.3, "alex7": 12.2, "alex8": 9.9, "vgg6": 34.4, "vgg7": 8.7, "vgg8": 8.4,
                      "nt_we": 8.0, "nt_wd": 13.9, "nt_lstm": 7.5}
#: Table IV, row "EIE Theoretical Time" (not validated: the paper does not define it; shown in the study)
TABLE_IV_THEORETICAL_US = {"alex6": 28.1, "alex7": 11.7, "alex8": 8.9, "vgg6": 28.1, "vgg7": 7.9, "vgg8": 7.3,
                           "nt_we": 5.2, "nt_wd": 13.0, "nt_lstm": 6.5}
#: Table II, power of one PE by module (mW, 45 nm, 800 MHz) and its total; area of one PE (um2)
TABLE_II_PE_MW = {"total": 9.157, "SpmatRead": 4.955, "PtrRead": 1.807, "ArithmUnit": 1.162, "ActRW": 1.122,
                  "Act_queue": 0.112}
TABLE_II_PE_UM2 = 638024.0
#: which accelsim energy components make up each Table II module
MODULES = {"SpmatRead": ["spmat_sram"], "PtrRead": ["ptr_sram"], "ArithmUnit": ["mac", "codebook"],
           "ActRW": ["act_rf", "act_sram"], "Act_queue": ["act_queue"]}


@functools.lru_cache(maxsize=1)
def benchmark():
    """The nine layers on the shipped config: result rows at FIFO depth 8 and the load balance at depth 1."""
    cfg = load_arch("eie")
    trace = build_trace("eie_benchmark")
    model = EIE()
    rows, eff1 = [], []
    for lt in trace:
        plan = plan_layer(lt, cfg.params)
        res = model.result(lt, cfg.params, plan, *schedule(plan, cfg.params.fifo_depth))
        rows.append(finish(res, lt, arch="eie", config=cfg.name, workload=trace.workload, table=cfg.energy))
        cycles, busy, _, _ = schedule(plan, 1)
        eff1.append(float(busy.mean() / cycles))
    area = cfg.energy.area_mm2(model.inventory(cfg.params))
    return to_frame(rows), eff1, sum(area.values()) * 1e6 / cfg.params.pes, cfg.params.pes


def _case(quantity, published, value, unit, tol, source):
    return {"model": "eie", "quantity": quantity, "published": float(published), "accelsim": float(value),
            "unit": unit, "tolerance_pct": float(tol), "source": source}


def cases() -> list[dict]:
    df, eff1, pe_area_um2, pes = benchmark()
    out = []
    us = dict(zip(df["layer"], df["latency_s"] * 1e6))
    for layer, pub in TABLE_IV_ACTUAL_US.items():
        out.append(_case(f"{layer} time, 64 PEs, FIFO 8", pub, us[layer], "us", 25,
                         f"{PAPER}, Table IV (EIE actual time); synthetic trace at Table III densities"))
    out.append(_case("nine-layer total time", sum(TABLE_IV_ACTUAL_US.values()), sum(us.values()), "us", 15,
                     f"{PAPER}, Table IV (sum of EIE actual times)"))
    out.append(_case("load-balance efficiency at FIFO depth 1 (mean of nine layers)", 0.5, np.mean(eff1), "", 30,
                     f"{PAPER}, Sec. VI-B / Fig. 8 text: 'at FIFO size = 1, around half of the total cycles are "
                     "idle' (approximate, hence the tolerance)"))
    # power: energy over the nine layers' time, per PE; on-chip only (the paper's PE has no DRAM)
    seconds = float(df["latency_s"].sum())

    def mw(components):
        cols = [f"energy_{c}_pj" for c in components if f"energy_{c}_pj" in df.columns]
        return float(df[cols].fillna(0.0).to_numpy().sum()) * 1e-12 / seconds / pes * 1e3
    on_chip = [c[len("energy_"):-len("_pj")] for c in df.columns
               if c.startswith("energy_") and c.endswith("_pj") and c not in ("energy_pj", "energy_dram_pj")]
    out.append(_case("power of one PE, nine-layer average", TABLE_II_PE_MW["total"], mw(on_chip), "mW", 35,
                     f"{PAPER}, Table II (total 9.157 mW incl. 20% clock network, which is not an action here)"))
    notes = {"SpmatRead": "Horowitz's SRAM curve gives 38 pJ per 64-bit read at 128 KB; the paper used Cacti",
             "PtrRead": "two pointer reads per activation; pointer-bank clocking and control not modelled",
             "ArithmUnit": "16-bit multiply-add and codebook read per entry; pipeline registers not modelled",
             "ActRW": "register files priced on the SRAM curve; their flip-flop clock power is not an action",
             "Act_queue": "FIFO write and read per activation and PE"}
    for module, comps in MODULES.items():
        out.append(_case(f"{module} power of one PE", TABLE_II_PE_MW[module], mw(comps), "mW", 50,
                         f"{PAPER}, Table II by module; {notes[module]}"))
    out.append(_case("area of one PE", TABLE_II_PE_UM2, pe_area_um2, "um2", 30,
                     f"{PAPER}, Table II (total 638,024 um2); SRAM priced at the table's density, itself "
                     "derived from EIE's Table II, so this is not independent"))
    return out
