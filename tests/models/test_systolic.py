"""The dense systolic array: SCALE-Sim's closed forms, the memory side by hand, energy, configs."""
import math

import numpy as np
import pytest

import accelsim
from accelsim.arch import get_model, load_arch
from accelsim.arch.systolic import MemorySpec, SystolicParams, fold_plan, systolic_gemm
from accelsim.energy import load_table
from accelsim.errors import ConfigError, ModelError
from accelsim.traces import LayerTrace
from accelsim.validation.systolic import (cases, compute_cycles, reference_layer, scalesim_counts,
                                          scalesim_reference, simulate_reference)
from accelsim.workload import conv, gemm

#: DRAM so fast that only the first tile's load shows (at most one cycle of stall)
FAST = {"dram_bytes_per_cycle": 1e9}


def zeros_trace(lay):
    return LayerTrace(lay, np.zeros(lay.weight_shape, np.float32), np.zeros(lay.input_shape, np.float32))


# ---- compute side: SCALE-Sim's closed forms -------------------------------------------------------

def test_weight_stationary_by_hand():
    # SCALE-Sim layer "gemm, g, 20, 12, 10" (its M_s = 20 pixels = our N, its N_s = 12 filters = our M) on 8x8:
    # rows take K = 10 (2 folds), columns M = 12 (2 folds); each fold streams N = 20 vectors:
    # 8 cycles to shift the weights in, 20 + 8 + 8 - 2 to stream and drain = 42; 4 x 42 - 1 = 167
    bd = systolic_gemm(12, 10, 20, 8, 8, "ws")
    assert (bd.plan.row_folds, bd.plan.col_folds, bd.plan.cycles_per_fold) == (2, 2, 42)
    assert bd.compute_cycles == 167 and bd.stall_cycles == 0
    # X (10 x 20) read once per column fold, W once, outputs (12 x 20) written once per K fold
    assert bd.sram_reads == {"weight": 120, "input": 400}
    assert bd.output_writes == 480 and bd.output_reads == 240


def test_output_and_input_stationary_by_hand():
    # os: rows take N = 20 (3 folds), columns M = 12 (2 folds), K = 10 streams: 10 + 8 + 8 - 2 = 24 per fold
    os_ = systolic_gemm(12, 10, 20, 8, 8, "os")
    assert (os_.plan.folds, os_.plan.cycles_per_fold, os_.compute_cycles) == (6, 24, 143)
    assert os_.sram_reads == {"weight": 120 * 3, "input": 200 * 2} and os_.output_writes == 240
    # is: rows take K (2 folds), columns N (3 folds), the 12 rows of W stream: 8 + 12 + 8 + 8 - 2 = 34
    is_ = systolic_gemm(12, 10, 20, 8, 8, "is")
    assert (is_.plan.folds, is_.plan.cycles_per_fold, is_.compute_cycles) == (6, 34, 203)
    assert is_.sram_reads == {"weight": 120 * 3, "input": 200} and is_.output_writes == 240 * 2


def test_cycle_account_by_hand():
    # the 12 x 10 x 20 ws case on 8 x 8: K = 10 on the rows (folds of 8 and 2), M = 12 on the columns (8 and 4),
    # T = 20; ideal = 2400 / 64 = 37.5; the 4 folds stream 80 cycles, so 42.5 cycles of the array are empty.
    # u_r = 10/16, u_c = 12/16: the rows' share is 80 (1 - 0.625)(1 + 0.75) / 2 = 26.25, the columns' 16.25;
    # both dimensions span two folds, so both shares are tile quantization. Fill/drain 4 x 14 - 1, load 4 x 8.
    bd = systolic_gemm(12, 10, 20, 8, 8, "ws")
    assert bd.ideal_cycles == 37.5
    assert bd.losses() == {"fragmentation": 0.0, "tile_quantization": 42.5, "fill_drain": 55.0,
                           "stationary_load": 32.0, "dram": 0.0}
    assert bd.ideal_cycles + sum(bd.losses().values()) == bd.compute_cycles == 167
    # K = 5 on 8 rows fits one fold and never fills the array: the rows' share is fragmentation.
    # M = 64 fills 8 column folds exactly: ideal 64 x 5 x 40 / 64 = 200, stream 8 x 40 = 320, 120 empty
    frag = systolic_gemm(64, 5, 40, 8, 8, "ws")
    assert frag.losses()["fragmentation"] == 120 and frag.losses()["tile_quantization"] == 0
    # output stationary loads nothing; a 1 x 1 array has no fill or drain to take SCALE-Sim's 0-based cycle
    # from, and never runs faster than its ideal 3 x 4 x 5 MACs
    one = systolic_gemm(3, 4, 5, 1, 1, "os")
    assert one.compute_cycles == 60 == one.ideal_cycles and one.losses()["stationary_load"] == 0
    ws1 = systolic_gemm(3, 4, 5, 1, 1, "ws")      # 12 folds of 5 streamed + 1 load: 72 - 1 off the load
    assert ws1.compute_cycles == 71 and ws1.losses()["stationary_load"] == 11


def test_declared_hardware_and_the_row_account():
    cfg = load_arch("systolic_32")
    hw = get_model("systolic")().hardware(cfg.params)
    assert hw.names() == {"mac", "pe_registers", "sram_weight", "sram_input", "sram_output", "dram"}
    assert hw.dram.bytes_per_cycle == 16
    # ws: X enters along the 32 rows, weights are loaded a row of 32 columns at a time, psums leave the columns
    assert hw.memory("sram_input").width_bits == 32 * 16 and hw.memory("sram_weight").width_bits == 32 * 16
    df = accelsim.simulate("systolic_32", "gemm:64x32x128", pattern="dense")
    r = df.iloc[0]
    # W 64 x 128 on 32 x 32: 4 row folds (K), 2 column folds (M), 32 vectors each
    assert r["ideal_cycles"] == 64 * 128 * 32 / 1024
    assert r["loss_fill_drain_cycles"] == 8 * 62 - 1 and r["loss_stationary_load_cycles"] == 8 * 32
    assert r["loss_fragmentation_cycles"] == r["loss_tile_quantization_cycles"] == 0
    assert r["compute_cycles"] == 8 * (32 + 62 + 32) - 1
    assert r["utilization"] == pytest.approx(256 / r["cycles"])
    assert r["component_pe_registers_pj"] > 0 and r["energy_rf_pj"] == r["component_pe_registers_pj"]


def test_statistical_mode_is_the_trace_path():
    tr = accelsim.simulate("systolic", "resnet50", layers=["conv1", "layer3_0_conv2", "fc"], density=0.3)
    st = accelsim.simulate("systolic", "resnet50", layers=["conv1", "layer3_0_conv2", "fc"], density=0.3,
                           statistical=True)
    for col in ["cycles", "energy_pj", "dram_bytes", "loss_dram_cycles", "folds"]:
        assert st[col].tolist() == tr[col].tolist(), col


def test_rows_and_columns_play_different_parts():
    # a stationary input is shifted in one array row per cycle: ws pays `rows` once more than `cols`
    tall = fold_plan(12, 10, 20, 16, 8, "ws")
    wide = fold_plan(12, 10, 20, 8, 16, "ws")
    assert tall.cycles_per_fold == 20 + 2 * 16 + 8 - 2
    assert wide.cycles_per_fold == 20 + 2 * 8 + 16 - 2


def test_every_scalesim_reference_number_exactly():
    ref = scalesim_reference()
    assert len(ref) == 195 and set(ref["dataflow"]) == {"os", "ws", "is"}
    assert {(r, c) for r, c in zip(ref["array_rows"], ref["array_cols"])} == {(8, 8), (16, 8), (32, 32),
                                                                             (128, 128), (4, 12)}
    for row in ref.to_dict("records"):
        lay = reference_layer(row)
        bd = systolic_gemm(lay.M, lay.K, lay.N, row["array_rows"], row["array_cols"], row["dataflow"])
        got = scalesim_counts(bd)
        for key, value in got.items():
            assert value == row[key], (row["layer"], row["array_rows"], row["dataflow"], key)


def test_reference_through_the_model_and_validate_cases():
    ref = scalesim_reference()
    convs = ref[(ref["kind"] == "conv") & (ref["array_rows"] == 32)]
    for row in convs.to_dict("records"):
        res = simulate_reference(row)     # the shipped config: DRAM at 48 B/cycle
        assert compute_cycles(res) == row["total_cycles"]
        assert res.totals["sram_input_reads"] == row["sram_ifmap_reads"]
    cs = cases()
    assert len(cs) == len(ref)
    assert all(c["published"] == c["accelsim"] and c["tolerance_pct"] == 0 for c in cs)
    assert {c["source_kind"] for c in cs} == {"exact"} and {c["category"] for c in cs} == {"reference"}


def test_bad_shapes_and_dataflows():
    with pytest.raises(ModelError):
        systolic_gemm(4, 4, 4, 4, 4, "rs")
    with pytest.raises(ModelError):
        systolic_gemm(0, 4, 4, 4, 4, "ws")
    with pytest.raises(ConfigError, match="dataflow"):
        load_arch("systolic", {"dataflow": "xs"})
    with pytest.raises(ConfigError, match="rows"):
        load_arch("systolic", {"rows": 0})


# ---- memory side ----------------------------------------------------------------------------------

def test_stalls_and_dram_by_hand():
    # W 4 x 8 @ X 8 x 4 on 4 x 4, ws, 1-byte values: 2 row folds (K), 1 column fold, T = 4, L = 4 + 4 + 4 - 2 + 4
    mem = MemorySpec(value_bits=8, dram_bytes_per_cycle=1.0)
    bd = systolic_gemm(4, 8, 4, 4, 4, "ws", memory=mem)
    assert bd.plan.cycles_per_fold == 14 and bd.compute_cycles == 27
    # each fold loads its 16-byte weight tile and 16-byte X slice; the 16 outputs leave after the last K fold
    assert bd.dram_read_bytes == {"weight": 32, "input": 32, "output": 0} and bd.dram_write_bytes == 16
    # fold 0's weight tile (16) is exposed; fold 0 then streams its X slice (16) while prefetching fold 1's
    # tile (16): max(14, 32); fold 1 streams its X slice and the 16 outputs: max(14, 32). 80 cycles for 2 x 14
    assert bd.stall_cycles == 80 - 28 and bd.cycles == 27 + 52
    # at 4 bytes per cycle only the first tile (4 cycles) and fold 0's 8 cycles of traffic are short of compute
    quick = systolic_gemm(4, 8, 4, 4, 4, "ws", memory=MemorySpec(value_bits=8, dram_bytes_per_cycle=4.0))
    assert quick.stall_cycles == 4
    # partial sums that do not fit in half the output buffer spill after fold 0 and come back for fold 1
    spill = systolic_gemm(4, 8, 4, 4, 4, "ws", memory=MemorySpec(value_bits=8, output_sram_bytes=16))
    assert spill.dram_write_bytes == 32 and spill.dram_read_bytes["output"] == 16
    # unlimited bandwidth: no stalls, whatever the traffic
    assert systolic_gemm(4, 8, 4, 4, 4, "ws", memory=MemorySpec(value_bits=8)).stall_cycles == 0


def test_input_reuse_across_column_folds_depends_on_capacity():
    # ws, M = 8 on 4 columns: X (4 x 4, 16 bytes) is streamed for both column folds
    fits = systolic_gemm(8, 4, 4, 4, 4, "ws", memory=MemorySpec(value_bits=8, input_sram_bytes=32))
    refetch = systolic_gemm(8, 4, 4, 4, 4, "ws", memory=MemorySpec(value_bits=8, input_sram_bytes=16))
    assert fits.sram_reads["input"] == refetch.sram_reads["input"] == 32
    assert fits.dram_read_bytes["input"] == 16 and refetch.dram_read_bytes["input"] == 32
    # os keeps a column fold's slice of W (its column-edge stream) for all row folds if it fits
    os_fit = systolic_gemm(4, 4, 8, 4, 4, "os", memory=MemorySpec(value_bits=8, weight_sram_bytes=32))
    os_miss = systolic_gemm(4, 4, 8, 4, 4, "os", memory=MemorySpec(value_bits=8, weight_sram_bytes=8))
    assert os_fit.dram_read_bytes["weight"] == 16 and os_miss.dram_read_bytes["weight"] == 32


def test_convolution_inputs_come_from_dram_as_the_feature_map():
    lay = conv("c", C=2, H=6, W=6, M=4, R=3, pad=1)          # im2col X is 18 x 36, the feature map 72
    p = load_arch("systolic", {"rows": 8, "cols": 8, "value_bits": 8}).params
    res = load_arch("systolic", {"rows": 8, "cols": 8, "value_bits": 8}).simulate(zeros_trace(lay))
    assert res.totals["sram_input_reads"] == 18 * 36            # the array reads every im2col element
    assert res.totals["dram_input_bytes"] == pytest.approx(72)   # DRAM delivers each pixel once
    assert p.input_sram_bytes >= 2 * 72


def test_dram_bandwidth_only_adds_the_dram_loss():
    tr = accelsim.build_trace("gemm:256x196x1152", pattern="dense")
    fast = load_arch("systolic", FAST).simulate(tr.layers[0])
    slow = load_arch("systolic", {"dram_bytes_per_cycle": 4}).simulate(tr.layers[0])
    assert compute_cycles(slow) == compute_cycles(fast) and fast.losses["dram"] <= 1
    assert slow.losses["dram"] > 100
    assert {k: v for k, v in slow.losses.items() if k != "dram"} == \
        {k: v for k, v in fast.losses.items() if k != "dram"}
    assert slow.dram_bytes == fast.dram_bytes
    # the per-fold stall model already meets the runner's roofline: no layer beats dram_bytes / bandwidth
    assert slow.cycles >= slow.dram_bytes / 4 - 1


def test_infinite_dram_is_refused():
    with pytest.raises(ConfigError, match="finite"):
        load_arch("systolic", {"dram_bytes_per_cycle": math.inf})


# ---- the model on traces ---------------------------------------------------------------------------

def test_dense_array_ignores_sparsity():
    dense = accelsim.simulate("systolic", "gemm:64x48x96", pattern="dense", act_density=1.0)
    sparse = accelsim.simulate("systolic", "gemm:64x48x96", pattern="unstructured", density=0.1, act_density=0.3)
    assert sparse["weight_density"][0] < 0.2
    for col in ["cycles", "compute_cycles", "stall_cycles", "energy_pj", "macs_performed", "dram_bytes",
                "weight_bits", "sram_bytes", "loss_fill_drain_cycles", "loss_dram_cycles"]:
        assert sparse[col][0] == dense[col][0], col
    assert sparse["macs_performed"][0] == 64 * 48 * 96 and sparse["weight_bits"][0] == 64 * 96 * 16


def test_grouped_convolution_runs_group_after_group():
    lay = conv("dw", C=8, H=6, W=6, M=8, R=3, pad=1, groups=8)   # depthwise: eight 1 x 9 @ 9 x 36 GEMMs
    cfg = load_arch("systolic", {"rows": 4, "cols": 4, **FAST})
    res = cfg.simulate(zeros_trace(lay))
    one = systolic_gemm(1, 9, 36, 4, 4, "ws")
    assert compute_cycles(res) == 8 * (one.compute_cycles + 1) - 1
    assert res.macs_performed == 8 * 9 * 36 == lay.macs
    assert res.totals["folds"] == 8 * one.plan.folds


def test_energy_from_action_counts():
    lay = gemm("g", 12, 10, 20)
    res = load_arch("systolic", {"rows": 8, "cols": 8, **FAST}).simulate(zeros_trace(lay))
    t = load_table("horowitz_45nm")
    e = t.energy(res.actions)
    # 2400 MACs of a 16-bit multiply and a 32-bit accumulate
    assert e["mac"] == pytest.approx(2400 * (0.8 + 0.1))
    assert set(e) == {"mac", "pe_registers", "sram_weight", "sram_input", "sram_output", "dram"}
    # ws registers per MAC: W and X read (2 x 16), X forwarded (16), accumulator read + write (2 x 32) = 112,
    # plus every weight shifted into its PE once (120 x 16)
    assert res.actions.total("rf") == 2400 * 112 + 120 * 16
    os_ = load_arch("systolic", {"rows": 8, "cols": 8, "dataflow": "os", **FAST}).simulate(zeros_trace(lay))
    assert os_.actions.total("rf") == 2400 * (32 + 32 + 64)     # both inputs move, nothing preloaded
    # DRAM: W, X and the output once each (everything fits), 2 bytes per value
    assert res.dram_bytes == 2 * (120 + 200 + 240)


def test_pe_busy_and_mapping_on_a_partial_fold():
    lay = gemm("g", 6, 5, 10)                     # ws on 4 x 4: K = 5 -> folds of 4 and 1 rows; M = 6 -> 4 and 2
    res = load_arch("systolic", {"rows": 4, "cols": 4, **FAST}).simulate(zeros_trace(lay))
    busy = np.asarray(res.pe_busy).reshape(4, 4)
    # PE (0, 0) is mapped in all 2 x 2 folds; row 1 only in the first K fold; column 2 only in the first M fold
    assert busy[0, 0] == 4 * 10 and busy[1, 0] == 2 * 10 and busy[0, 2] == 2 * 10 and busy[3, 3] == 10
    assert busy.sum() == lay.macs
    assert res.extra["mapping_efficiency"] == pytest.approx(30 / (4 * 16))


def test_shipped_configs_and_overrides():
    big = load_arch("systolic")
    small = load_arch("systolic_32")
    assert (big.params.rows, big.params.cols, big.params.dataflow) == (128, 128, "ws")
    assert (small.params.rows, small.params.cols) == (32, 32)
    over = load_arch("systolic", {"rows": 16, "cols": 8, "dataflow": "is"})
    assert isinstance(over.params, SystolicParams) and over.params.dataflow == "is" and over.params.rows == 16
    df = accelsim.simulate("systolic_32", "gemm:64x32x128", overrides={"dataflow": "os"})
    assert df["dataflow"][0] == "os" and df["array"][0] == "32x32"


def test_resnet50_golden_compute_cycles():
    df = accelsim.simulate("systolic", "resnet50", pattern="dense", layers=["conv1", "fc"])
    # conv1: K = 147 (2 row folds), M = 64 (1 column fold), N = 112 x 112: 2 x (12544 + 3 x 128 - 2) - 1
    # fc: K = 2048 (16), M = 1000 (8), N = 1: 128 x (1 + 382) - 1
    assert df["compute_cycles"].tolist() == [2 * 12926 - 1, 128 * 383 - 1]
