"""Area: the models' hardware inventories, priced by their configs' tables, against the papers' areas.

Every number here comes from a model's ``inventory`` on a shipped config, priced by that config's energy
table (``EnergyTable.area_mm2``: the 45 nm table's per-item areas times ``(node / 45)^2``). Nothing in the
area table was fitted to these numbers; the errors are what the method gives. Node-independent comparisons
(ratios, shares) test the inventories; absolute areas also test the 45 nm table and its quadratic scaling,
which is optimistic at FinFET nodes (SRAM and wiring shrink less than ``(node / 45)^2``).

Sources:

* EIE (Han et al., ISCA 2016), Table II: one PE's area by component type and by module (45 nm). The
  table's SRAM density (``sram_um2_per_bit``) was derived from this same table, so the EIE rows are not an
  independent check of it.
* SCNN and DCNN (Parashar et al., ISCA 2017): the PE area breakdown table (16 nm; PE 0.123 mm^2, multiplier
  array 0.008 mm^2, 16 x 32 scatter crossbar 0.026 mm^2, accelerator 7.9 mm^2) and the accelerator
  configurations table (DCNN 5.9 mm^2 with 2 MB SRAM, SCNN 7.9 mm^2 with 1 MB). Read from a secondary
  summary of the paper (the paper's own tables could not be retrieved in this session), which also gives
  the memory share of the PE (57 %).
* SIGMA (Qin et al., HPCA 2020): 65.10 mm^2 at 28 nm (abstract); 38 % more area than a TPU-like systolic
  array with the same multipliers at the same frequency (Sec. VI, as a secondary summary of the paper
  states it: wider tolerance).
* Cambricon-X (Zhang et al., MICRO 2016): 6.38 mm^2 at 65 nm (abstract); its indexing module at 31.07 % of
  the area, as Cambricon-S (Zhou et al., MICRO 2018, Sec. 1) quotes it, read from secondary summaries of
  Cambricon-S (wider tolerance). Cambricon-S: 6.73 mm^2 at 65 nm (abstract, via secondary summaries).
"""
from __future__ import annotations

import dataclasses

EIE = "Han et al., EIE, ISCA 2016"
SCNN = "Parashar et al., SCNN, ISCA 2017"
SIGMA = "Qin et al., SIGMA, HPCA 2020"
CX = "Zhang et al., Cambricon-X, MICRO 2016"
CS = "Zhou et al., Cambricon-S, MICRO 2018"

#: EIE Table II, one PE (um2): by component type and by module
EIE_TYPE_UM2 = {"memory": 594786.0, "register": 9465.0, "combinational": 8946.0}
EIE_MODULE_UM2 = {"SpmatRead": 469412.0, "PtrRead": 121849.0, "ArithmUnit": 3110.0, "ActRW": 18934.0,
                  "Act_queue": 758.0}
#: which accelsim inventory components make up each Table II row (EIE.inventory's component names)
EIE_TYPES = {"memory": ["spmat_sram", "ptr_sram", "act_sram"], "register": ["act_rf", "codebook", "act_queue"],
             "combinational": ["mac", "lnzd", "act_ports", "arith_addr", "ptr_addr", "ptr_swap", "queue_ctrl",
                               "queue_select", "spmat_addr", "spmat_select", "weight_decoder"]}
EIE_MODULES = {"SpmatRead": ["spmat_sram", "spmat_addr", "spmat_select"],
               "PtrRead": ["ptr_sram", "ptr_addr", "ptr_swap"],
               "ArithmUnit": ["mac", "codebook", "weight_decoder", "arith_addr"],
               "ActRW": ["act_rf", "act_sram", "act_ports"],
               "Act_queue": ["act_queue", "queue_select", "queue_ctrl"]}
#: Cambricon-X's indexing module (IM): the window register, the selector and the index logic
CAMBRICON_IM = ("im", "im_mux", "im_window")

#: SCNN's PE area table and the configurations table (mm2, 16 nm)
SCNN_PE_MM2 = {"total": 0.123, "multiplier array": 0.008, "scatter crossbar": 0.026}
SCNN_CHIP_MM2 = 7.9
DCNN_CHIP_MM2 = 5.9
SCNN_MEMORY_SHARE = 0.57

SIGMA_28NM_MM2 = 65.10
SIGMA_OVER_SYSTOLIC = 1.38
CAMBRICON_X_MM2 = 6.38
CAMBRICON_X_IM_SHARE = 0.3107
CAMBRICON_S_MM2 = 6.73


def area(config: str, node_nm: float | None = None, **overrides) -> dict[str, float]:
    """mm2 per component of a shipped config (its own table, or the table scaled to *node_nm*)."""
    from ..arch import get_model, load_arch
    cfg = load_arch(config, overrides or None)
    table = cfg.energy if node_nm is None else cfg.energy.scale_to_node(node_nm)
    inv = get_model(cfg.model)().inventory(cfg.params)
    return table.area_mm2(inv)


def sigma_and_systolic() -> tuple[dict[str, float], dict[str, float]]:
    """SIGMA's config and a TPU-like systolic array of the same multipliers (``dpes x dpe_size`` PEs, the
    same value width and clock, the systolic model's other defaults), priced by SIGMA's table."""
    from ..arch import get_model, load_arch
    from ..arch.systolic import SystolicParams, array_inventory
    cfg = load_arch("sigma")
    p = cfg.params
    sp = dataclasses.replace(SystolicParams(), rows=p.dpes, cols=p.dpe_size, value_bits=p.value_bits,
                             freq_hz=p.freq_hz)
    return (cfg.energy.area_mm2(get_model("sigma")().inventory(p)), cfg.energy.area_mm2(array_inventory(sp)))


def _sum(a: dict[str, float], comps=None) -> float:
    return float(sum(v for k, v in a.items() if comps is None or k in comps))


def _fabric(a: dict[str, float]) -> float:
    """Everything but the SRAM macros."""
    return float(sum(v for k, v in a.items() if not k.startswith("sram")))


def _case(model, quantity, published, value, unit, tol, source, kind):
    """One area row; *kind* is how the published number was read (``accelsim.validate.MIN_TOLERANCE_PCT``)."""
    return {"model": model, "quantity": quantity, "published": float(published), "accelsim": float(value),
            "unit": unit, "tolerance_pct": float(tol), "source": source, "source_kind": kind, "category": "area"}


def eie_cases() -> list[dict]:
    from ..arch import load_arch
    pes = load_arch("eie").params.pes
    um2 = {k: v * 1e6 / pes for k, v in area("eie").items()}
    note = ("; SRAM priced at the table's density, itself derived from EIE's Table II, so not independent "
            "(the table's 0.448 um2/bit is SpmatRead's 469,412 um2 over its 128 KB)")
    out = []
    for row, comps in EIE_TYPES.items():
        extra = {"memory": note,
                 "register": "; flip-flops at rf_um2_per_bit (activation registers, codebook, activation queue)",
                 "combinational": "; the multiply-add, the leading-nonzero detector and the Sec. IV logic "
                                  "(addressing, selects, read ports, queue control) as gate bits; pipeline "
                                  "registers and control beyond these are not counted"}[row]
        out.append(_case("eie", f"{row} area of one PE", EIE_TYPE_UM2[row], _sum(um2, comps), "um2",
                         30 if row != "combinational" else 50, f"{EIE}, Table II by component type{extra}", "table"))
    for module, comps in EIE_MODULES.items():
        out.append(_case("eie", f"{module} area of one PE", EIE_MODULE_UM2[module], _sum(um2, comps), "um2",
                         30 if module in ("SpmatRead", "PtrRead") else 50,
                         f"{EIE}, Table II by module" + (note if module in ("SpmatRead", "PtrRead") else
                                                         "; small modules: logic beyond the counted items missing"),
                         "table"))
    return out


def scnn_cases() -> list[dict]:
    from ..arch import load_arch
    s, d = area("scnn"), area("dcnn")
    pes = load_arch("scnn").params.n_pes
    total_s, total_d = _sum(s), _sum(d)
    src = f"{SCNN}, PE area breakdown and configuration tables, 16 nm (via a secondary summary)"
    scaled = "; 45 nm table scaled by (16/45)^2, optimistic for a FinFET node"
    return [
        _case("scnn", "accelerator area, 64 PEs", SCNN_CHIP_MM2, total_s, "mm2", 50, src + scaled, "secondary"),
        _case("dcnn", "accelerator area, 64 PEs (2 MB SRAM)", DCNN_CHIP_MM2, total_d, "mm2", 50, src + scaled,
              "secondary"),
        _case("scnn", "SCNN area / DCNN area", SCNN_CHIP_MM2 / DCNN_CHIP_MM2, total_s / total_d, "", 25,
              src + "; node-independent; DCNN keeps 16 accumulator banks a PE to SCNN's 32", "secondary"),
        _case("scnn", "multiplier array area of one PE", SCNN_PE_MM2["multiplier array"], s["mac"] / pes, "mm2",
              50, src + scaled + "; the F x I multipliers only (the banks' adders are acc_add)",
              "secondary"),
        _case("scnn", "scatter crossbar area of one PE", SCNN_PE_MM2["scatter crossbar"], s["crossbar"] / pes,
              "mm2", 50, src + scaled + "; crossbar as 2:1 multiplexer bits, wiring and the banks' input "
                                        "queues not counted", "secondary"),
        _case("scnn", "scatter crossbar / multiplier array", SCNN_PE_MM2["scatter crossbar"] /
              SCNN_PE_MM2["multiplier array"], s["crossbar"] / s["mac"], "", 50, src + "; node-independent",
              "secondary"),
        _case("scnn", "memory share of the PE (IARAM, OARAM, accumulators)", SCNN_MEMORY_SHARE,
              _sum(s, ("iaram", "oaram", "accumulator")) / total_s, "", 30,
              src + "; node-independent; accumulators priced as flip-flop register files", "secondary"),
    ]


def sigma_cases() -> list[dict]:
    sg, sy = sigma_and_systolic()
    at28 = area("sigma", node_nm=28)
    return [
        _case("sigma", "area at 28 nm, 128 x 128", SIGMA_28NM_MM2, _sum(at28), "mm2", 50,
              f"{SIGMA}, abstract (65.10 mm2 at 28 nm); 45 nm table scaled by (28/45)^2; the data SRAM is the "
              "config's assumed 16 MB", "text"),
        _case("sigma", "area / TPU-like systolic array of the same multipliers (without SRAM)",
              SIGMA_OVER_SYSTOLIC, _fabric(sg) / _fabric(sy), "", 30,
              f"{SIGMA}, Sec. VI: 38 % more area than a TPU-like array at the same multipliers and frequency "
              "(read from a secondary summary: wider tolerance); both fabrics without their SRAM", "secondary"),
    ]


def cambricon_cases() -> list[dict]:
    x, s = area("cambricon_x"), area("cambricon_s")
    tx, ts = _sum(x), _sum(s)
    bufs = "; NBin/NBout 8 KB and SB 16 KB per PE are assumptions (docs/cambricon.md)"
    return [
        _case("cambricon_x", "chip area at 65 nm", CAMBRICON_X_MM2, tx, "mm2", 35,
              f"{CX}, abstract; 45 nm table scaled by (65/45)^2" + bufs, "text"),
        _case("cambricon_x", "indexing module share of the area", CAMBRICON_X_IM_SHARE, _sum(x, CAMBRICON_IM) / tx, "",
              40, f"{CS}, Sec. 1, quoting Cambricon-X's IM at 31.07 % of area (via secondary summaries); our IM "
                  "selects Tm neurons out of the assumed 256-neuron stream per PE", "secondary"),
        _case("cambricon_s", "chip area at 65 nm", CAMBRICON_S_MM2, ts, "mm2", 35,
              f"{CS}, abstract (via secondary summaries); 45 nm table scaled by (65/45)^2" + bufs, "secondary"),
        _case("cambricon_s", "Cambricon-S area / Cambricon-X area", CAMBRICON_S_MM2 / CAMBRICON_X_MM2, ts / tx,
              "", 25, f"{CS} and {CX}, abstracts; node-independent, same assumed buffers in both", "secondary"),
    ]


def cases() -> list[dict]:
    return eie_cases() + scnn_cases() + sigma_cases() + cambricon_cases()
