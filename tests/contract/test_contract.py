"""The contract every design speaks (docs/CONTRIBUTING.md): checked on every shipped config.

One cycle account, one energy vocabulary, a finite DRAM bound, exact totals under ``count``.
"""
import dataclasses
import math

import numpy as np
import pytest

import accelsim
from accelsim.api import simulate_trace
from accelsim.arch import list_archs, load_arch
from accelsim.energy.actions import ENERGY_CLASSES
from accelsim.results import ADDITIVE, BOUNDS, ENERGY_COLUMNS, LOSS_COLUMNS, to_frame
from accelsim.traces import make_trace
from accelsim.workload import load_workload

ARCHS = list_archs()


@pytest.fixture(scope="module")
def alexnet_trace():
    wl = load_workload("alexnet").select(["conv5", "fc8"])
    return make_trace(wl, "unstructured", density=0.35, act_density=0.5, seed=3)


@pytest.mark.parametrize("arch", ARCHS)
def test_cycle_account_energy_classes_and_dram_bound(arch, alexnet_trace):
    cfg = load_arch(arch)
    df = to_frame(simulate_trace(cfg, alexnet_trace))
    for _, r in df.iterrows():
        losses = sum(r[c] for c in LOSS_COLUMNS)
        assert r["ideal_cycles"] + losses == pytest.approx(r["cycles"], rel=1e-9), r["layer"]
        assert sum(r[c] for c in ENERGY_COLUMNS) == pytest.approx(r["energy_pj"], rel=1e-9)
        assert all(r[c] >= 0 for c in ENERGY_COLUMNS + LOSS_COLUMNS)
        assert math.isfinite(r["dram_bytes_per_s"]) and r["dram_bytes_per_s"] > 0
        assert r["latency_s"] >= r["dram_bytes"] / r["dram_bytes_per_s"] * (1 - 1e-9)
        assert r["bound"] in BOUNDS
        assert 0 < r["utilization"] <= 1 + 1e-9
        assert r["utilization"] == pytest.approx(r["ideal_cycles"] / r["cycles"])
        assert r["stall_cycles"] + r["compute_cycles"] == pytest.approx(r["cycles"])


@pytest.mark.parametrize("arch", ARCHS)
def test_count_scales_exactly_the_totals(arch, alexnet_trace):
    cfg = load_arch(arch)
    one = alexnet_trace.select(["conv5"])
    two = alexnet_trace.select(["conv5"])
    two.layers[0] = dataclasses.replace(two.layers[0], layer=dataclasses.replace(two.layers[0].layer, count=2))
    r1 = to_frame(simulate_trace(cfg, one)).iloc[0]
    r2 = to_frame(simulate_trace(cfg, two)).iloc[0]
    model_totals = [c for c in str(r1["total_columns"]).split(",") if c]
    comps = [c for c in r1.index if c.startswith("component_")]
    totals = [c for c in ADDITIVE + LOSS_COLUMNS + ENERGY_COLUMNS + comps + model_totals if c in r1.index]
    for c in totals:
        assert r2[c] == pytest.approx(2 * r1[c], rel=1e-12, abs=1e-12), c
    for c in r1.index:
        if c in totals or c == "count":
            continue
        a, b = r1[c], r2[c]
        if isinstance(a, float) and math.isnan(a):
            assert isinstance(b, float) and math.isnan(b), c
        elif isinstance(a, (list, np.ndarray)):
            assert list(a) == list(b), c
        else:
            assert a == b, c


def test_energy_vocabulary_is_closed():
    from accelsim.energy import ActionCounts
    with pytest.raises(ValueError, match="unknown energy class"):
        ActionCounts().index(3, cls="misc")
    assert ENERGY_CLASSES == ("mac", "rf", "sram", "dram", "noc", "index", "other")


def test_undeclared_component_is_a_model_error():
    from accelsim.errors import ModelError
    from accelsim.hardware import Dram, Hardware
    from accelsim.results import LayerResult, finish
    from accelsim.energy import ActionCounts
    tr = make_trace(load_workload("gemm:4x2x4"), "unstructured", density=1.0)
    res = LayerResult(cycles=2, macs_performed=32, peak_macs_per_cycle=16, losses={},
                      actions=ActionCounts().sram(64, 1024, component="nowhere"))
    with pytest.raises(ModelError, match="'nowhere' is not declared"):
        finish(res, tr.layers[0], arch="a", config="a", workload="w", table=load_arch("ideal").energy,
               hardware=Hardware(dram=Dram(1.0)))


def test_cycle_account_that_does_not_add_up_is_a_model_error():
    from accelsim.errors import ModelError
    from accelsim.results import LayerResult, cycle_account
    # 32 MACs at 16/cycle: 2 ideal cycles; 5 cycles need 3 cycles of losses
    assert cycle_account(LayerResult(cycles=5, macs_performed=32, peak_macs_per_cycle=16,
                                     losses={"fill_drain": 3}))[1:] == (2.0, {"fill_drain": 3.0}, "pipeline")
    with pytest.raises(ModelError, match="does not add up"):
        cycle_account(LayerResult(cycles=5, macs_performed=32, peak_macs_per_cycle=16, losses={"fill_drain": 1}))


def test_dram_roofline_lengthens_a_layer_and_names_dram():
    from accelsim.results import LayerResult, cycle_account
    # 2 ideal cycles but 100 bytes at 10 B/cycle: 10 cycles, 8 of them DRAM
    cyc, ideal, losses, bound = cycle_account(
        LayerResult(cycles=2, macs_performed=32, peak_macs_per_cycle=16, losses={}, dram_bytes=100), 10.0)
    assert (cyc, ideal, losses, bound) == (10.0, 2.0, {"dram": 8.0}, "dram")


def test_infinite_dram_bandwidth_is_refused():
    with pytest.raises(accelsim.AccelsimError, match="finite"):
        load_arch("ideal", {"dram_bytes_per_cycle": float("inf")})


STAT_CASES = [("resnet50", ["conv1", "layer2_0_conv2", "layer3_1_conv1", "fc"], "unstructured", 0.3),
              ("resnet50", ["layer1_0_conv2", "layer4_0_conv2"], "nm:2:4", None),
              ("bert_base", None, "unstructured", 0.2),
              ("bert_base", None, "block:4x4", 0.5),
              ("gpt2[seq_len=128]", ["q_proj", "qk", "av", "down_proj"], "nm:2:4", None),
              ("gpt2[seq_len=128]", ["k_proj", "up_proj"], "unstructured", 0.3)]


def _stats_vs_trace(arch, workload, layers, pattern, density):
    from accelsim.errors import ModelError
    from accelsim.results import network_totals
    from accelsim.api import simulate
    cfg = load_arch(arch)
    kw = dict(layers=layers, pattern=pattern, density=density, act_density=0.5, seed=1)
    try:
        st = simulate(cfg, workload, statistical=True, **kw)
    except ModelError as e:
        if "no statistical mode" in str(e):
            pytest.skip(str(e))
        raise
    tr = simulate(cfg, workload, **kw)
    a, b = network_totals(st).iloc[0], network_totals(tr).iloc[0]
    assert a["cycles"] == pytest.approx(b["cycles"], rel=0.10)
    assert a["energy_pj"] == pytest.approx(b["energy_pj"], rel=0.10)


@pytest.mark.parametrize("case", STAT_CASES, ids=lambda c: f"{c[0]}-{c[2]}")
@pytest.mark.parametrize("arch", ARCHS)
def test_statistical_mode_agrees_with_the_trace(arch, case):
    _stats_vs_trace(arch, *case)


@pytest.mark.slow
@pytest.mark.parametrize("pattern,density", [("unstructured", 0.3), ("nm:2:4", None), ("block:4x4", 0.4)])
@pytest.mark.parametrize("arch", ARCHS)
def test_statistical_mode_on_whole_resnet50(arch, pattern, density):
    _stats_vs_trace(arch, "resnet50", None, pattern, density)


def test_declared_dram_energy_prices_the_dram_traffic():
    # the table's DRAM is 20 pJ/bit (Horowitz); a config's own 5 pJ/bit prices the same bytes at a quarter
    kw = dict(layers=["fc7"], density=0.3, act_density=0.5)
    base = accelsim.simulate("sigma", "alexnet", **kw).iloc[0]
    own = accelsim.simulate("sigma", "alexnet", overrides={"dram_pj_per_bit": 5.0}, **kw).iloc[0]
    assert base["energy_dram_pj"] == pytest.approx(base["dram_bytes"] * 8 * 20.0)
    assert own["energy_dram_pj"] == pytest.approx(own["dram_bytes"] * 8 * 5.0)
    assert own["energy_pj"] - own["energy_dram_pj"] == pytest.approx(base["energy_pj"] - base["energy_dram_pj"])
    with pytest.raises(accelsim.AccelsimError, match="dram_pj_per_bit"):
        load_arch("sigma", {"dram_pj_per_bit": -1.0})
