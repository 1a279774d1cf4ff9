"""SIGMA (Qin et al., HPCA 2020): folds, bitmap filtering, both dataflows, the density path."""
import math

import numpy as np
import pytest

import accelsim
from accelsim.arch import load_arch
from accelsim.arch.sigma import SigmaParams, _fold_walk, estimate
from accelsim.errors import AccelsimError, ConfigError, ModelError
from accelsim.traces import LayerTrace
from accelsim.workload import Workload, conv, gemm

TINY = {"dpes": 2, "dpe_size": 4, "dist_bw": 2}   # 8 multipliers


def run(w, x, **over):
    w = np.asarray(w, dtype=np.float32)
    x = np.asarray(x, dtype=np.float32)
    lay = gemm("g", M=w.shape[0], K=w.shape[1], N=x.shape[1])
    return load_arch("sigma", over).simulate(LayerTrace(lay, w, x))


def test_fold_by_hand_on_eight_multipliers():
    w = [[1, 1, 0, 1],
         [0, 0, 0, 0],
         [1, 1, 1, 1]]
    x = [[1, 0],
         [0, 2],
         [3, 4],
         [0, 0]]          # row k=3 of X is empty: W[:, 3] is useless and never mapped
    r = run(w, x, **TINY)
    # weights stationary: useful k = {0,1,2}; rows keep 2 and 3 values -> one fold of 5,
    # load ceil(5/2) = 3, stream both columns of X = 2, FAN over the largest cluster (3) = 2 levels
    assert r.extra["cycles_ws"] == 3 + 2 + 2
    # inputs stationary: X^T rows keep 2 and 2 values -> one fold of 4, load 2, stream the two
    # nonzero rows of W = 2 (row 1 is all zero and skipped), cluster of 2 -> 1 level
    assert r.extra["cycles_is"] == 2 + 2 + 1
    assert r.extra["dataflow"] == "is" and r.cycles == 5
    phases = (r.extra["folds"], r.extra["load_cycles"], r.extra["stream_cycles"], r.extra["reduce_cycles"])
    assert phases == (1, 2, 2, 1)
    # effectual products: sum_k nnz(W[:,k]) * nnz(X[k,:]) = 2*1 + 2*1 + 1*2 + 2*0 = 6
    assert r.macs_performed == 6
    assert r.utilization == pytest.approx(6 / (8 * 5))
    ws = run(w, x, dataflow="ws", **TINY)
    assert ws.cycles == 7 and ws.extra["stationary_values"] == 5
    # the second row (3 values at multipliers 2..4) crosses the Flex-DPE boundary at 4
    assert ws.extra["dpe_crossings"] == 1
    # FAN additions: (values - clusters) per streamed vector = (5 - 2) * 2
    assert ws.actions.total("add", "fan") == 6


def test_fold_walk_packs_rows_contiguously():
    vals, clusters, maxc, span, cont, xdpe = _fold_walk(np.array([3, 0, 6, 2], dtype=np.int64), 8, 4)
    # positions: row0 0-2 | row2 3-7 (5 values) + 8 (1 value) | row3 9-10
    assert vals.tolist() == [8, 3]
    assert clusters.tolist() == [2, 2] and maxc.tolist() == [5, 2]
    assert cont.tolist() == [0, 1]
    assert span.tolist() == pytest.approx([1 + 5 / 6, 1 / 6 + 1])
    assert xdpe.tolist() == [1, 0]      # row 2 spans multipliers 3..7: crosses 4


def test_dense_gemm_filling_the_array_is_one_fold():
    N = 100
    df = accelsim.simulate("sigma", f"gemm:128x{N}x128", overrides={"dataflow": "ws"}, density=1.0)
    r = df.iloc[0]
    # 128 x 128 weights fill the 16384 multipliers once: load 16384/128, stream N, FAN log2(128)
    assert (r["folds"], r["load_cycles"], r["stream_cycles"], r["reduce_cycles"]) == (1, 128, N, 7)
    assert r["cycles"] == 128 + N + 7
    assert r["utilization"] == pytest.approx(128 * 128 * N / (16384 * (128 + N + 7)))
    two = accelsim.simulate("sigma", f"gemm:256x{N}x128", overrides={"dataflow": "ws"}, density=1.0).iloc[0]
    assert two["folds"] == 2 and two["cycles"] == 2 * (128 + N + 7)


def test_paper_shape_with_short_reduction_by_hand():
    # the paper's 2048-4096-32 (M-N-K), dense: ws holds 2048x32 = 4 folds of 16384 values,
    # each 128 load + 4096 streamed columns + log2(32) = 5 -> 16916; is holds 4096x32 = 8 folds,
    # each 128 + 2048 + 5 -> 17448. The faster is ws.
    r = accelsim.simulate("sigma", "gemm:2048x4096x32", density=1.0).iloc[0]
    assert (r["cycles_ws"], r["cycles_is"]) == (16916, 17448)
    assert r["dataflow"] == "ws" and r["cycles"] == 16916
    assert r["utilization"] == pytest.approx(2048 * 4096 * 32 / (16384 * 16916))


def test_row_longer_than_a_flex_dpe_and_than_the_array():
    # one dense row of 6 on 4-multiplier DPEs: one cluster over two DPEs, ceil(log2 6) = 3 levels
    r = run(np.ones((1, 6)), np.ones((6, 3)), dataflow="ws", **TINY)
    assert r.extra["folds"] == 1 and r.extra["reduce_cycles"] == 3 and r.extra["dpe_crossings"] == 1
    assert r.cycles == 3 + 3 + 3
    # a row of 10 on 8 multipliers: folds of 8 and 2; the second continues the row (partial sums
    # accumulate once per streamed column)
    r = run(np.ones((1, 10)), np.ones((10, 3)), dataflow="ws", **TINY)
    assert r.extra["folds"] == 2
    assert r.extra["load_cycles"] == 4 + 1 and r.extra["stream_cycles"] == 2 * 3
    assert r.extra["reduce_cycles"] == 3 + 1
    assert r.cycles == 15
    assert r.actions.total("add", "accum") == 3
    assert r.actions.total("add", "fan") == (8 - 1) * 3 + (2 - 1) * 3


def test_all_zero_rows_cost_nothing(rng):
    w = (rng.random((30, 40)) < 0.4) * rng.standard_normal((30, 40))
    x = (rng.random((40, 25)) < 0.5) * rng.random((40, 25))
    base = run(w, x)
    wz = np.insert(w, [0, 7, 7, 30], 0.0, axis=0)       # four empty weight rows
    xz = np.insert(x, [3, 25], 0.0, axis=1)            # two empty input columns
    more = run(wz, xz)
    for key in ("cycles_ws", "cycles_is", "folds", "stationary_values"):
        assert more.extra[key] == base.extra[key], key
    assert more.macs_performed == base.macs_performed
    empty = run(np.zeros((5, 6)), x[:6])
    assert empty.cycles == 0 and empty.extra["folds"] == 0 and empty.macs_performed == 0


def test_more_distribution_bandwidth_never_slows_it_down(rng):
    w = (rng.random((60, 90)) < 0.3) * rng.standard_normal((60, 90))
    x = (rng.random((90, 50)) < 0.7) * rng.random((90, 50))
    for flow in ("ws", "is", "best"):
        prev = math.inf
        for bw in (1, 2, 3, 8, 33, 128, 1024):
            c = run(w, x, dpes=4, dpe_size=16, dist_bw=bw, dataflow=flow).cycles
            assert c <= prev, (flow, bw)
            prev = c


def test_useless_stationary_values_are_not_mapped():
    # W is dense but half of X's rows are empty: only the useful half of W is loaded
    w = np.ones((4, 8))
    x = np.ones((8, 5))
    x[4:] = 0
    r = run(w, x, dataflow="ws", **TINY)
    assert r.extra["stationary_values"] == 16 and r.extra["folds"] == 2


def test_dataflow_choice_and_override():
    df = accelsim.simulate("sigma", "gemm:64x32x256", density=1.0)
    r = df.iloc[0]
    # ws: 16384 values -> 128 + 32 + 8 = 168; is: 8192 values -> 64 + 64 + 8 = 136
    assert (r["cycles_ws"], r["cycles_is"], r["dataflow"], r["cycles"]) == (168, 136, "is", 136)
    ws = accelsim.simulate("sigma", "gemm:64x32x256", density=1.0, overrides={"dataflow": "ws"}).iloc[0]
    assert ws["dataflow"] == "ws" and ws["cycles"] == 168


def test_effectual_work_on_a_sparse_conv_and_a_grouped_conv():
    for lay in (conv("c", C=8, H=9, W=9, M=12, R=3, pad=1), conv("d", C=8, H=7, W=7, M=8, R=3, pad=1, groups=8)):
        wl = Workload(name="w", layers=[lay])
        tr = accelsim.make_trace(wl, "unstructured", density=0.5, act_density=0.6, seed=3)
        lt = tr.layers[0]
        r = load_arch("sigma").simulate(lt)
        assert r.macs_performed == lt.effectual_macs()
        assert 0 < r.utilization <= 1
        assert r.extra["stationary_values"] <= np.count_nonzero(lt.weight if r.extra["dataflow"] == "ws" else
                                                                 np.concatenate([x for _, x in lt.gemms()]))


def test_density_path_equals_trace_path_when_dense():
    r = estimate(2048, 4096, 32)
    assert (r.extra["cycles_ws"], r.extra["cycles_is"], r.cycles) == (16916, 17448, 16916)
    assert r.extra["sigma_path"] == "density"


@pytest.mark.parametrize("M,N,K,dw,dx", [(200, 150, 300, 0.2, 0.6), (96, 700, 1200, 0.1, 0.9),
                                         (600, 40, 500, 0.5, 0.3)])
def test_density_path_agrees_with_traces_on_medium_shapes(M, N, K, dw, dx):
    tr = accelsim.simulate("sigma", f"gemm:{M}x{N}x{K}", pattern="random", density=dw, act_density=dx, seed=1,
                           overrides={"dpes": 16, "dpe_size": 64, "dist_bw": 32})
    p = SigmaParams(dpes=16, dpe_size=64, dist_bw=32)
    est = estimate(M, N, K, dw, dx, p, seed=1)
    t = tr.iloc[0]
    for key in ("cycles_ws", "cycles_is"):
        assert est.extra[key] == pytest.approx(t[key], rel=0.03), key
    assert est.macs_performed == pytest.approx(t["macs_performed"], rel=0.03)
    assert abs(est.extra["folds"] - t["folds"]) <= 1


def test_density_path_runs_the_papers_largest_shapes():
    r = estimate(1024, 16, 500000, 0.2, 0.5)       # 5e8 weights: no trace could hold them here
    # inputs stationary wins: X^T is 16 x 500000, W has 1024 rows to stream
    assert r.extra["dataflow"] == "is" and r.extra["cycles_is"] < r.extra["cycles_ws"]
    assert 0 < r.utilization <= 1


def test_bad_input_is_one_clear_error():
    with pytest.raises(ConfigError, match="power of two"):
        load_arch("sigma", {"dpe_size": 100})
    with pytest.raises(ConfigError, match="dataflow"):
        load_arch("sigma", {"dataflow": "os"})
    with pytest.raises(ConfigError, match="weight_format"):
        load_arch("sigma", {"weight_format": "nosuch"})
    with pytest.raises(ModelError, match="density"):
        estimate(4, 4, 4, 1.5, 1.0)
    with pytest.raises(ModelError, match="positive"):
        estimate(0, 4, 4)


def test_format_swap_changes_storage_not_timing():
    base = accelsim.simulate("sigma", "gemm:64x32x128", density=0.3, seed=2).iloc[0]
    csr = accelsim.simulate("sigma", "gemm:64x32x128", density=0.3, seed=2,
                            overrides={"weight_format": "csr"}).iloc[0]
    assert csr["cycles"] == base["cycles"]
    assert base["metadata_bits"] == 64 * 128          # one bitmap bit per weight position
    assert csr["metadata_bits"] != base["metadata_bits"]


def test_shipped_config_loads():
    cfg = load_arch("sigma")
    assert cfg.params.multipliers == 16384 and cfg.params.dataflow == "best"
    with pytest.raises(AccelsimError):
        load_arch("sigma", {"nosuch": 1})


def test_validation_cases_are_well_formed():
    from accelsim.validation.sigma import cases
    cs = cases()
    assert len(cs) >= 2
    for c in cs:
        assert {"model", "quantity", "published", "accelsim", "unit", "tolerance_pct", "source"} <= set(c)
        assert c["model"] == "sigma" and c["accelsim"] > 1.0      # SIGMA beats the dense array on average
    dense = next(c for c in cs if "dense" in c["quantity"])
    sparse = next(c for c in cs if "sparse" in c["quantity"])
    assert sparse["accelsim"] > dense["accelsim"]                 # skipping zeros only adds to the lead


def test_systolic_baseline_same_multipliers_by_hand():
    from accelsim.studies.sigma import systolic_cycles
    # 128 x 128 weight-stationary array on 128-2048-4096: 32 K folds x 1 M fold, each 2048 streamed
    # + 128 + 128 - 2 skew + 128 to shift the weights in; SCALE-Sim counts from 0
    sy = systolic_cycles(128, 2048, 4096, 128, 128)
    assert sy["cycles_ws"] == 32 * (2048 + 254 + 128) - 1
    assert sy["cycles"] == min(sy["cycles_ws"], sy["cycles_is"])


@pytest.mark.slow
def test_study_quick_runs_and_plots(tmp_path):
    from accelsim.studies import sigma as study
    frames = study.run(quick=True)
    sig = frames["sigma_vs_systolic"]
    assert set(sig["path"]) == {"trace", "density"}
    assert len(frames["summary"]) == 2 * len(study.SETTINGS)
    assert frames["path_agreement"]["max_abs_rel_diff_over_1000_cycles"].iloc[0] < 0.02
    paths = study.plot(frames, tmp_path)
    assert paths and all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_dram_bandwidth_bounds_a_layer_only_when_set():
    import math
    tr = accelsim.build_trace("gemm:256x16x256", density=0.5, act_density=0.5, seed=0)
    free = accelsim.simulate("sigma", trace=tr).iloc[0]
    assert free["dram_stall_cycles"] == 0
    slow = accelsim.simulate("sigma", trace=tr, overrides={"dram_bytes_per_cycle": 1.0}).iloc[0]
    # one byte per cycle: the layer takes as many cycles as it moves DRAM bytes
    assert slow["cycles"] == math.ceil(slow["dram_bytes"]) > free["cycles"]
    assert slow["dram_stall_cycles"] == slow["cycles"] - free["cycles"]
    assert slow["stall_cycles"] - free["stall_cycles"] == slow["dram_stall_cycles"]
