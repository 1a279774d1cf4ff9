"""SCNN and its dense twin DCNN (Parashar et al., ISCA 2017): hand-checked cases and behaviours."""

import ast
import inspect
import warnings

import numpy as np
import pytest

import accelsim
from accelsim.arch import dcnn as dcnn_module
from accelsim.arch import get_model, load_arch
from accelsim.arch.scnn import map_layer, simulate_scnn_functional
from accelsim.errors import ConfigError, ModelError
from accelsim.hardware import FormatRef
from accelsim.traces import LayerTrace
from accelsim.workload import conv, gemm

FAST = {"drain_words_per_cycle": 1e9, "halo_words_per_cycle": 1e9}   # drains and halos take ~0 cycles


def scnn(**over):
    return load_arch("scnn", over).params


def run(lt, **over):
    return load_arch("scnn", over).simulate(lt)


def ideal(r):
    return r.macs_performed / r.peak_macs_per_cycle


def sparse_trace(lay, rng, wd=0.5, ad=0.6):
    w = (rng.standard_normal(lay.weight_shape) * (rng.random(lay.weight_shape) < wd)).astype(np.float32)
    x = (rng.random(lay.input_shape) * (rng.random(lay.input_shape) < ad)).astype(np.float32)
    return LayerTrace(lay, w, x)


# ---- hand-checked ------------------------------------------------------------------------
def test_products_by_hand_one_pe():
    # 1 x 2 input, filter 1 x 2, no padding: one output. Acts x0, x1; weights s0, s1; F = I = 2.
    lay = conv("t", C=1, H=1, W=2, M=1, R=1, S=2)
    lt = LayerTrace(lay, np.array([[2.0, 3.0]], np.float32), np.array([[[[5.0, 7.0]]]], np.float32))
    r = run(lt, pes=[1, 1], F=2, I=2, acc_banks=8, bank_queue_entries=0, compare_dcnn=False, **FAST)
    # the 2 x 2 array forms all four pairs in one cycle; only (x0, s0) and (x1, s1) reach output 0
    assert r.macs_performed == 4
    assert r.totals["macs_useful"] == 2 == lt.effectual_macs()
    assert r.totals["products_out_of_plane"] == 2
    assert ideal(r) == 1.0 and r.losses["fragmentation"] == 0.0
    # both useful products hit the same accumulator in the same cycle: one bank-conflict cycle
    assert r.losses["bank_conflict"] == 1.0
    assert r.cycles == pytest.approx(2.0, abs=1e-6)
    assert r.cycles == pytest.approx(ideal(r) + sum(r.losses.values()), rel=1e-12)
    out = simulate_scnn_functional(lt, scnn(pes=[1, 1], F=2, I=2, acc_banks=8))
    assert out[0, 0] == 2 * 5 + 3 * 7


def test_planar_tiles_by_hand_2x2_pes():
    # 1x1 conv, 2 input channels, 4x4 plane on 2x2 PEs: each PE owns a 2x2 tile of both channels.
    lay = conv("t", C=2, H=4, W=4, M=2, R=1)
    w = np.array([[1, 0], [2, 3]], np.float32)        # channel 0: 2 nonzero weights, channel 1: 1
    x = np.zeros((1, 2, 4, 4), np.float32)
    x[0, 0, 0, 0] = x[0, 0, 0, 1] = x[0, 0, 1, 0] = 1   # PE (0,0): 3 activations in channel 0
    x[0, 1, 1, 1] = 1                                  # ... and 1 in channel 1
    x[0, 1, 2, 3] = 1                                  # PE (1,1): 1 activation in channel 1
    lt = LayerTrace(lay, w, x)
    r = run(lt, pes=[2, 2], F=2, I=2, acc_banks=8, bank_queue_entries=8, compare_dcnn=False, **FAST)
    assert r.extra["kc"] == 2 and r.extra["barrier_phases"] == 1
    # PE (0,0): ceil(3/2)*ceil(2/2) + ceil(1/2)*ceil(1/2) = 3 cycles, 3*2 + 1*1 = 7 products
    # PE (1,1): 1 cycle, 1 product; PEs (0,1), (1,0): idle
    assert r.macs_performed == 8 == lt.effectual_macs()
    assert list(r.pe_busy) == pytest.approx([3, 0, 0, 1])
    assert ideal(r) == pytest.approx(8 / 16)
    assert r.losses["fragmentation"] == pytest.approx((3 - 7 / 4 + 1 - 1 / 4) / 4)
    assert r.losses["load_imbalance"] == pytest.approx(3 - 4 / 4)
    assert r.cycles == pytest.approx(3.0, abs=1e-6)


def test_kc_and_halos_by_hand():
    # 16x16 input, 3x3 'same' conv on 2x2 PEs: 8x8 tiles. Tile (0,0) reaches outputs 0..8 in each
    # direction (the plane's edge clips the other side): 9x9 = 81 partial sums per channel, so one
    # accumulator set of 32 x 32 = 1024 entries holds Kc = 1024 // 81 = 12 channels: 64 channels in
    # 6 groups. Each tile owns 8x8 outputs and sends 81 - 64 = 17 halo partial sums per channel.
    lay = conv("t", C=4, H=16, W=16, M=64, R=3, pad=1)
    lt = sparse_trace(lay, np.random.default_rng(0))
    r = run(lt, pes=[2, 2], compare_dcnn=False)
    assert r.extra["kc"] == 12 and r.extra["barrier_phases"] == 6
    assert r.totals["halo_words"] == 4 * 17 * 64
    with pytest.raises(ModelError, match="kc=12"):
        run(lt, pes=[2, 2], kc=13)
    # 3x3 PEs: input rows split 0-5, 5-10, 10-16; the middle tile reaches outputs 4..10 (7 rows), the
    # last 9..15 (7, clipped by the edge): footprint 7x7 = 49, Kc = 1024 // 49 = 20
    r3 = run(lt, pes=[3, 3], compare_dcnn=False)
    assert r3.extra["kc"] == 20
    # DCNN's accumulators are F x I = 16 banks of 32 (no over-provisioning): 512 // 81 = 6 channels
    d = load_arch("dcnn", {"pes": [2, 2]}).simulate(lt)
    assert d.extra["kc"] == 6 and d.extra["barrier_phases"] == 11


def test_planes_too_large_for_the_accumulators_run_in_subtiles():
    # 20x20 'same' 3x3 conv on 2x2 PEs with 32 banks x 2 entries = 64 partial sums: a 10x10 tile reaches
    # 11x11 outputs (> 64), so each PE's tile is cut 2 x 2 into 5x5 sub-tiles reaching at most 7x7 = 49
    lay = conv("t", C=2, H=20, W=20, M=3, R=3, pad=1)
    lt = sparse_trace(lay, np.random.default_rng(7))
    p = scnn(pes=[2, 2], acc_bank_entries=2)
    r = run(lt, pes=[2, 2], acc_bank_entries=2)
    assert r.extra["subtile_rounds"] == 4 and r.extra["kc"] == 1 and r.extra["barrier_phases"] == 4 * 3
    np.testing.assert_allclose(simulate_scnn_functional(lt, p), lt.output(), atol=1e-9)
    assert r.totals["macs_useful"] == lt.effectual_macs()


def test_imbalance_when_one_tile_holds_every_nonzero():
    lay = conv("t", C=8, H=16, W=16, M=16, R=3, pad=1)
    rng = np.random.default_rng(1)
    lt = sparse_trace(lay, rng)
    x = lt.input.copy()
    x[:, :, 8:, :] = 0
    x[:, :, :, 8:] = 0                  # only PE (0,0)'s tile keeps activations
    skew = run(LayerTrace(lay, lt.weight, x), pes=[2, 2], compare_dcnn=False, **FAST)
    even = run(lt, pes=[2, 2], compare_dcnn=False, **FAST)
    assert skew.pe_busy[1:].max() < 0.1 * skew.pe_busy[0]
    assert skew.losses["load_imbalance"] > 0.5 * skew.cycles
    assert even.losses["load_imbalance"] < 0.2 * even.cycles


# ---- the arithmetic: scattered products give the convolution ------------------------------
@pytest.mark.parametrize("geom", [
    dict(C=3, H=9, W=7, M=5, R=3, pad=1),
    dict(C=4, H=11, W=10, M=6, R=3, stride=2, pad=1),
    dict(C=2, H=13, W=13, M=3, R=5, stride=3),
    dict(C=4, H=8, W=8, M=6, R=3, pad=1, groups=2, batch=2),
    dict(C=3, H=6, W=6, M=40, R=1),
])
@pytest.mark.parametrize("mode", ["phase", "cartesian"])
def test_scattered_products_equal_dense_convolution(geom, mode):
    lay = conv("t", **geom)
    lt = sparse_trace(lay, np.random.default_rng(2))
    p = scnn(pes=[2, 2], stride_mode=mode, acc_bank_entries=2)  # small accumulators: several groups
    np.testing.assert_allclose(simulate_scnn_functional(lt, p), lt.output(), rtol=1e-10, atol=1e-9)
    r = load_arch("scnn", {"pes": [2, 2], "stride_mode": mode, "compare_dcnn": False}).simulate(lt)
    assert r.totals["macs_useful"] == lt.effectual_macs()
    assert r.macs_performed >= r.totals["macs_useful"]


def test_fc_scattered_products_and_quarter_utilization():
    lay = gemm("f", M=70, K=40, N=3)
    lt = sparse_trace(lay, np.random.default_rng(3))
    np.testing.assert_allclose(simulate_scnn_functional(lt, scnn(pes=[2, 2])), lt.output(), atol=1e-9)
    one = gemm("f1", M=256, K=300, N=1)
    lt1 = sparse_trace(one, np.random.default_rng(4), wd=0.9, ad=1.0)
    r = run(lt1, compare_dcnn=False, dram_bytes_per_cycle=1e9, **FAST)
    assert r.extra["mode"] == "fc-mapped" and r.macs_performed == lt1.effectual_macs()
    # one activation per cycle meets F weights: at most F of the F x I multipliers work (25%)
    assert r.macs_performed / (r.cycles * 1024) <= 0.25 + 1e-9
    batch = gemm("f4", M=256, K=300, N=4)
    r4 = run(LayerTrace(batch, lt1.weight, np.ones((300, 4), np.float32)), compare_dcnn=False,
             dram_bytes_per_cycle=1e9, **FAST)
    assert r4.macs_performed / (r4.cycles * 1024) > 0.5   # a batch of I fills the I lanes


# ---- behaviours ---------------------------------------------------------------------------------
def test_walked_busy_cycles_equal_the_count_formula():
    lay = conv("t", C=6, H=12, W=12, M=16, R=3, pad=1)
    lt = sparse_trace(lay, np.random.default_rng(5))
    m = map_layer(lt, scnn(pes=[2, 2]), sparse=True, conflicts=True)
    assert m.conflict_method == "exact"
    assert m.walk.busy.sum() == m.busy_total
    assert m.walk.valid == m.valid == lt.effectual_macs()


def test_dense_trace_reproduces_dense_cartesian_baseline():
    lay = conv("t", C=5, H=10, W=10, M=12, R=3, pad=1)
    rng = np.random.default_rng(6)
    lt = LayerTrace(lay, rng.standard_normal(lay.weight_shape).astype(np.float32) + 5,
                    rng.random(lay.input_shape).astype(np.float32) + 1)
    s = map_layer(lt, scnn(pes=[2, 2]), sparse=True, conflicts=False)
    # the same accumulators (32 banks) so that both choose the same Kc
    d = map_layer(lt, load_arch("dcnn", {"pes": [2, 2], "packing": "cartesian", "acc_banks": 32}).params,
                  sparse=False, conflicts=False)
    assert s.products == d.products and s.busy_total == d.busy_total and s.valid == d.valid
    assert s.timing.cycles == pytest.approx(d.timing.cycles)


def test_more_sparsity_never_costs_more_products_or_cycles():
    prev = None
    for dens in (1.0, 0.7, 0.4, 0.1):
        tr = accelsim.build_trace("alexnet", layers=["conv4"], density=dens, act_density=dens, seed=0)
        r = run(tr.layers[0], compare_dcnn=False)
        if prev is not None:
            assert r.macs_performed <= prev.macs_performed
            assert ideal(r) + r.losses["fragmentation"] <= ideal(prev) + prev.losses["fragmentation"]
        prev = r


def test_cycle_account_adds_up_and_dcnn_is_the_baseline():
    tr = accelsim.build_trace("alexnet", layers=["conv2", "fc8"], profile="han2015", act_density=0.5, seed=0)
    for lt in tr.layers:
        r = run(lt)
        assert ideal(r) + sum(r.losses.values()) == pytest.approx(r.cycles, rel=1e-12)
        d = load_arch("dcnn").simulate(lt)
        assert r.baselines["dcnn"].cycles == d.cycles
    # fc8 at batch 1 moves 1 M compressed weights (2.6 MB) for 0.4 M products: SCNN's own DRAM stall model
    fc8 = run(tr.layers[1], compare_dcnn=False)
    assert fc8.losses["dram"] > 0.9 * fc8.cycles
    assert fc8.cycles == pytest.approx(fc8.dram_bytes / 50)
    df = accelsim.simulate("scnn", trace=tr)
    row = df.iloc[0]
    assert row["dcnn_cycles"] == load_arch("dcnn").simulate(tr.layers[0]).cycles
    assert row["speedup_vs_dcnn"] == pytest.approx(row["dcnn_cycles"] / row["cycles"])
    assert df.iloc[1]["bound"] == "dram"


@pytest.mark.parametrize("layer", ["conv1", "conv5"])
def test_sampled_bank_conflicts_track_the_exact_walk(layer):
    # conv1 (3 channels, stride 4) is the hard case for sampling: a few huge channel blocks
    tr = accelsim.build_trace("alexnet", layers=[layer], density=0.4, act_density=0.4, seed=0)
    lt = tr.layers[0]
    exact = run(lt, compare_dcnn=False, conflict_sample_products=100_000_000)
    sampled = run(lt, compare_dcnn=False)
    assert exact.extra["bank_conflict_method"] == "exact"
    assert sampled.extra["bank_conflict_method"].startswith("sampled")
    assert exact.losses["bank_conflict"] > 0
    # within 30% of the exact stalls, or 0.2% of the layer's cycles where conflicts are rare (conv5:
    # about 64 cycles of 41,000, where a 60,000-product sample sees only a handful of conflicts)
    assert sampled.losses["bank_conflict"] == pytest.approx(exact.losses["bank_conflict"], rel=0.3,
                                                            abs=0.002 * exact.cycles)
    assert sampled.cycles == pytest.approx(exact.cycles, rel=0.01)


def test_deeper_bank_queues_never_add_conflicts():
    tr = accelsim.build_trace("alexnet", layers=["conv5"], density=0.4, act_density=0.4, seed=0)
    prev = None
    for q in (0, 2, 8):
        r = run(tr.layers[0], compare_dcnn=False, conflict_sample_products=100_000_000, bank_queue_entries=q)
        if prev is not None:
            assert r.losses["bank_conflict"] <= prev
        prev = r.losses["bank_conflict"]


def test_energy_sparse_pays_bookkeeping_when_dense_and_wins_when_sparse():
    dense = accelsim.simulate("scnn", "alexnet", layers=["conv3"], density=1.0, act_density=1.0).iloc[0]
    sparse = accelsim.simulate("scnn", "alexnet", layers=["conv3"], density=0.2, act_density=0.3).iloc[0]
    assert dense["energy_ratio_vs_dcnn"] < 1.0 < sparse["energy_ratio_vs_dcnn"]
    assert dense["speedup_vs_dcnn"] < 1.0 < sparse["speedup_vs_dcnn"]
    opt = accelsim.simulate("dcnn_opt", "alexnet", layers=["conv3"], density=0.2, act_density=0.3).iloc[0]
    base = accelsim.simulate("dcnn", "alexnet", layers=["conv3"], density=0.2, act_density=0.3).iloc[0]
    assert opt["cycles"] == base["cycles"] and opt["energy_pj"] < base["energy_pj"]


# ---- the contract: totals, formats, hardware, no import cycle --------------------------------
def test_bert_base_useful_macs_are_totals_and_never_exceed_performed():
    # issue 19: q_proj (count 12) reported macs_useful 1/12 of its total
    df = accelsim.simulate("scnn", "bert_base", density=0.5, act_density=0.5)
    assert (df["macs_useful"] <= df["macs_performed"] * (1 + 1e-12)).all()
    q = df[df["layer"] == "q_proj"].iloc[0]
    assert q["count"] == 12
    # every product of an FC layer lands in the output: useful == performed == the effectual MACs
    assert q["macs_useful"] == q["macs_performed"]
    assert "macs_useful" in q["total_columns"].split(",")


def test_a_weight_format_what_if_changes_bits_dram_and_energy():
    tr = accelsim.build_trace("alexnet", layers=["conv3"], density=0.35, act_density=0.5, seed=0)
    rle = accelsim.simulate("scnn", trace=tr).iloc[0]
    bm = accelsim.simulate("scnn", trace=tr, overrides={"weight_format": "bitmap"}).iloc[0]
    # 4-bit runs (plus padding) per nonzero against one bit per position: at 35% density the bitmap
    # costs 1 / 0.35 = 2.9 bits per nonzero, fewer than 4
    assert bm["metadata_bits"] < rle["metadata_bits"]
    assert bm["weight_bits"] == pytest.approx(0.35 * 884736 * 16, rel=0.01)
    assert bm["dram_bytes"] < rle["dram_bytes"] and bm["energy_dram_pj"] < rle["energy_dram_pj"]
    assert bm["cycles"] == rle["cycles"]        # the format changes what is stored and moved, not the products


def test_legacy_format_params_still_work_with_a_warning():
    with pytest.warns(FutureWarning, match="weight_format_params"):
        p = load_arch("scnn", {"weight_format": "rle", "weight_format_params": {"value_bits": 16, "run_bits": 2}}).params
    assert p.weight_format == FormatRef("rle", {"value_bits": 16, "run_bits": 2}) and p.weight_format_params is None
    with pytest.warns(FutureWarning, match="dram_format_params"):
        d = load_arch("dcnn_opt", {"dram_format_params": {"value_bits": 8, "run_bits": 4}}).params
    assert d.dram_format.kwargs == {"value_bits": 8, "run_bits": 4}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_arch("scnn")                                    # the shipped configs use the new spelling


def test_declared_hardware_dcnn_has_no_sparse_machinery():
    s = get_model("scnn")().hardware(scnn())
    d = get_model("dcnn")().hardware(load_arch("dcnn").params)
    names_s, names_d = s.names(), d.names()
    assert {"crossbar", "coord", "run_decoders", "acc_add", "bank_queues"} <= names_s
    assert not ({"crossbar", "coord", "run_decoders", "acc_add", "bank_queues"} & names_d)
    bits = {h: sum(m.capacity_bytes * m.count for m in hw.memories if m.name == "accumulator")
            for h, hw in (("s", s), ("d", d))}
    # SCNN: 64 PEs x 2 sets x 32 banks x 32 x 24 bits = 6 KB a PE; DCNN: 16 banks, half of it
    assert bits["s"] == 64 * 6144 and bits["d"] == 64 * 3072
    assert s.memory("weight_fifo").capacity_bytes == 50 * 4 * 20 / 8          # 0.5 KB with 4-bit runs
    assert s.dram.bytes_per_cycle == 50 and "50 GB/s" in s.dram.source


def test_no_import_cycle_between_scnn_and_dcnn():
    tree = ast.parse(inspect.getsource(dcnn_module))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names} | \
        {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not any("scnn" in x and "_scnn_pe" not in x for x in imported), imported


# ---- the statistical mode ----------------------------------------------------------------------
def test_statistical_mode_by_hand_on_a_dense_layer():
    # density 1: every count is certain. 1x1 conv, 16 channels, 8x8 plane on 2x2 PEs (4x4 tiles of 16
    # positions), 8 output channels in one group (Kc = 8): per PE and channel ceil(16/4) * ceil(8/4) = 8
    # cycles, 16 channels -> 128 cycles a PE, all 4 PEs equal; 16 x 8 x 64 = 8192 products at 64 a cycle
    from accelsim.traces.pruners import parse_pattern
    from accelsim.traces.stats import LayerStats
    lay = conv("t", C=16, H=8, W=8, M=8, R=1)
    ls = LayerStats(lay, parse_pattern("unstructured"), 1.0, 1.0)
    p = scnn(pes=[2, 2], compare_dcnn=False, **FAST)
    r = get_model("scnn")().simulate_stats(ls, p)
    assert r.macs_performed == 8192 and ideal(r) == 128
    # every PE: 128 busy cycles plus the same estimated bank stalls (from walking a synthetic slice)
    assert list(r.pe_busy) == pytest.approx([128 + r.losses["bank_conflict"]] * 4)
    assert r.losses["fragmentation"] == 0 and r.losses["load_imbalance"] == pytest.approx(0, abs=1e-9)


def test_statistical_mode_tracks_the_trace_on_a_layer():
    tr = accelsim.build_trace("alexnet", layers=["conv3", "fc7"], density=0.35, act_density=0.4, seed=2)
    a = accelsim.simulate("scnn", trace=tr)
    b = accelsim.simulate("scnn", "alexnet", layers=["conv3", "fc7"], density=0.35, act_density=0.4, seed=2,
                          statistical=True)
    for col in ("cycles", "energy_pj", "macs_performed", "dcnn_cycles", "weight_bits"):
        np.testing.assert_allclose(b[col].to_numpy(), a[col].to_numpy(), rtol=0.05, err_msg=col)


def test_statistical_mode_runs_a_llama_sized_layer_without_its_tensors():
    from accelsim.traces.pruners import parse_pattern
    from accelsim.traces.stats import LayerStats
    for M, K in ((4096, 4096), (11008, 4096)):
        ls = LayerStats(gemm("mlp", M=M, K=K, N=2048), parse_pattern("nm:2:4"), 0.5, 0.5)
        r = get_model("scnn")().simulate_stats(ls, scnn())
        assert r.macs_performed == pytest.approx(M * K * 2048 * 0.25, rel=0.01)
        assert r.cycles >= r.macs_performed / 1024


# ---- golden figures ------------------------------------------------------------------------
def test_golden_alexnet_conv5():
    df = accelsim.simulate("scnn", "alexnet", layers=["conv5"], profile="han2015", act_density=0.5, seed=0)
    r = df.iloc[0]
    # 13x13 plane on 8x8 PEs: tiles of 1-2 pixels reaching 4x4 outputs; Kc = 1024 // 16 = 64
    assert r["kc"] == 64 and r["tiles"] == "8x8" and r["mode"] == "conv"
    assert r["macs_performed"] == GOLDEN["macs_performed"]
    assert r["cycles"] == pytest.approx(GOLDEN["cycles"], rel=1e-9)
    assert r["energy_pj"] == pytest.approx(GOLDEN["energy_pj"], rel=1e-9)
    assert r["speedup_vs_dcnn"] == pytest.approx(GOLDEN["speedup_vs_dcnn"], rel=1e-9)
    # DRAM is priced at the config's LPDDR4 8 pJ/bit, not the table's 20 (docs/scnn.md, "Energy and DRAM")
    assert r["energy_dram_pj"] == pytest.approx(r["dram_bytes"] * 8 * 8.0, rel=1e-9)


def test_dram_energy_per_bit_is_the_configs():
    """--set dram_pj_per_bit moves the DRAM energy of SCNN and of its DCNN twin by bits x the difference."""
    kw = dict(layers=["conv5"], profile="han2015", act_density=0.5, seed=0)
    lo = accelsim.simulate("scnn", "alexnet", **kw).iloc[0]
    hi = accelsim.simulate("scnn", "alexnet", overrides={"dram_pj_per_bit": 20.0}, **kw).iloc[0]
    assert hi["cycles"] == lo["cycles"]
    assert hi["energy_pj"] - lo["energy_pj"] == pytest.approx(lo["dram_bytes"] * 8 * 12.0, rel=1e-9)
    assert hi["dcnn_energy_pj"] > lo["dcnn_energy_pj"]


#: regression figures of the shipped config (bank conflicts sampled with the default seed); re-pinned on
#: 2026-12-04 when the activations' zero positions came from an O(n) selection instead of a permutation
#: (same distribution, other positions: cycles +1.2 %, MACs -0.004 %); energy re-pinned the same day when the
#: shipped configs declared LPDDR4's 8 pJ/bit for DRAM (was the table's 20: 88,359,296 pJ)
GOLDEN = {"macs_performed": 13832830.0, "cycles": 40909.8924613464, "energy_pj": 48968575.804630235,
          "speedup_vs_dcnn": 2.7087824810271552}


# ---- configs and errors -------------------------------------------------------------------
@pytest.mark.parametrize("name", ["scnn", "dcnn", "dcnn_opt"])
def test_shipped_configs_load(name):
    cfg = load_arch(name)
    assert cfg.params.n_pes == 64 and cfg.params.F * cfg.params.I == 16
    assert cfg.energy.node_nm == 16


@pytest.mark.parametrize("over, msg", [
    ({"pes": [0, 8]}, "pes"),
    ({"weight_format": "nope"}, "weight_format"),
    ({"act_format": {"name": "rle", "params": {"value_bits": 16, "bogus": 1}}}, "act_format"),
    ({"bank_queue_entries": -1}, "bank_queue_entries"),
    ({"stride_mode": "diagonal"}, "stride_mode"),
])
def test_bad_params_are_config_errors(over, msg):
    with pytest.raises(ConfigError, match=msg):
        load_arch("scnn", over)


@pytest.mark.slow
def test_quick_study_runs_and_plots(tmp_path):
    from accelsim.studies import scnn as study
    frames = study.run(quick=True)
    sw = frames["density_sweep"].sort_values("density")
    assert (np.diff(sw["speedup_vs_dcnn"].to_numpy()) < 0).all()      # sparser is faster, relative to DCNN
    assert frames["networks"]["speedup_vs_dcnn"].iloc[0] > 1.0
    paths = study.plot(frames, tmp_path)
    assert len([p for p in paths if p.suffix == ".png"]) == 4 and all(p.stat().st_size > 0 for p in paths)


@pytest.mark.slow
def test_validation_cases_are_complete():
    from accelsim.validation import scnn as val
    for c in val.cases():
        assert set(c) >= {"model", "quantity", "published", "accelsim", "unit", "tolerance_pct", "source",
                          "source_kind", "category"}
        assert np.isfinite(c["accelsim"])


# ---- area from the declared hardware (hand counts at the 45 nm table's prices) -------------------
def _um2(model, **params):
    from accelsim.energy import load_table
    cfg = load_arch(model, params)
    inv = get_model(cfg.model)().hardware(cfg.params).inventory()
    return {k: v * 1e6 for k, v in load_table().area_mm2(inv).items()}


SMALL = dict(pes=(1, 1), F=2, I=2, acc_bank_entries=4, acc_double_buffered=True, value_bits=16, acc_bits=24,
             iaram_bytes=1024, oaram_bytes=1024, weight_fifo_entries=10, drain_words_per_cycle=4)


def test_area_of_one_pe_by_hand():
    from accelsim.energy.area import DEFAULT_AREA_45NM as T
    mult16, add24 = T["int"][16]["mult"], T["int"][32]["add"] * 24 / 32
    sram, rf, mux, idx = (T[k] for k in ("sram_um2_per_bit", "rf_um2_per_bit", "mux_um2_per_bit", "index_um2_per_bit"))
    s = _um2("scnn", acc_banks=0, bank_queue_entries=2, **SMALL)
    banks = 2 * 2 * 2                                                 # A = 2 F I
    assert s["mac"] == pytest.approx(4 * mult16)                      # the 2 x 2 multiplier array
    assert s["acc_add"] == pytest.approx(banks * add24)               # an adder per bank
    assert s["ppu"] == pytest.approx(4 * add24)                       # 4 words a cycle through the PPU
    assert s["accumulator"] == pytest.approx(2 * banks * 4 * 24 * rf)
    assert s["iaram"] == s["oaram"] == pytest.approx(1024 * 8 * sram)
    assert s["weight_fifo"] == pytest.approx(10 * 2 * (16 + 4) * rf)  # 10 vectors of F weights + 4-bit runs
    assert s["crossbar"] == pytest.approx(4 * 8 * 24 * mux)           # 4 x 8 crossbar of 24 bits
    assert s["bank_queues"] == pytest.approx(banks * 2 * (24 + 2) * rf)  # 2-deep: a value and a 2-bit entry
    assert s["coord"] == pytest.approx(4 * 5 * idx)                   # 32 accumulators: 5-bit addresses
    assert s["run_decoders"] == pytest.approx((2 * 4 + 2 * 4) * idx)  # F + I zero-run decoders of 4 bits
    d = _um2("dcnn", acc_banks=0, **SMALL)
    assert d["mac"] == pytest.approx(4 * (mult16 + add24))             # an adder per multiplier
    assert d["accumulator"] == pytest.approx(2 * 4 * 4 * 24 * rf)      # F I = 4 banks
    assert d["weight_fifo"] == pytest.approx(10 * 2 * 16 * rf)
    assert set(d) == {"mac", "accumulator", "iaram", "oaram", "weight_fifo", "ppu"}
    assert sum(s.values()) > sum(d.values())
