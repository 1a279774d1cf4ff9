"""The dense systolic array: SCALE-Sim's closed forms, the memory side by hand, energy, configs."""
import math

import numpy as np
import pytest

import accelsim
from accelsim.arch import load_arch
from accelsim.arch.systolic import MemorySpec, SystolicParams, fold_plan, systolic_gemm
from accelsim.energy import load_table
from accelsim.errors import ConfigError, ModelError
from accelsim.traces import LayerTrace
from accelsim.validation.systolic import (cases, reference_layer, scalesim_counts, scalesim_reference,
                                          simulate_reference)
from accelsim.workload import conv, gemm

UNBOUNDED = {"dram_bytes_per_cycle": math.inf}


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
        res = simulate_reference(row)
        assert res.cycles == row["total_cycles"] and res.stall_cycles == 0
        assert res.extra["sram_input_reads"] == row["sram_ifmap_reads"]
    cs = cases()
    assert len(cs) == len(ref)
    assert all(c["published"] == c["accelsim"] and c["tolerance_pct"] == 0 for c in cs)


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
    assert res.extra["sram_input_reads"] == 18 * 36            # the array reads every im2col element
    assert res.extra["dram_input_bytes"] == pytest.approx(72)   # DRAM delivers each pixel once
    assert p.input_sram_bytes >= 2 * 72


def test_dram_bandwidth_only_adds_stalls():
    tr = accelsim.build_trace("gemm:256x196x1152", pattern="dense")
    fast = load_arch("systolic", UNBOUNDED).simulate(tr.layers[0])
    slow = load_arch("systolic", {"dram_bytes_per_cycle": 4}).simulate(tr.layers[0])
    assert slow.compute_cycles == fast.compute_cycles and fast.stall_cycles == 0
    assert slow.stall_cycles > 0 and slow.cycles == slow.compute_cycles + slow.stall_cycles
    assert slow.dram_bytes == fast.dram_bytes


# ---- the model on traces ---------------------------------------------------------------------------

def test_dense_array_ignores_sparsity():
    dense = accelsim.simulate("systolic", "gemm:64x48x96", pattern="dense", act_density=1.0)
    sparse = accelsim.simulate("systolic", "gemm:64x48x96", pattern="unstructured", density=0.1, act_density=0.3)
    assert sparse["weight_density"][0] < 0.2
    for col in ["cycles", "compute_cycles", "stall_cycles", "energy_pj", "macs_performed", "dram_bytes",
                "weight_bits", "sram_bytes"]:
        assert sparse[col][0] == dense[col][0], col
    assert sparse["macs_performed"][0] == 64 * 48 * 96 and sparse["weight_bits"][0] == 64 * 96 * 16


def test_grouped_convolution_runs_group_after_group():
    lay = conv("dw", C=8, H=6, W=6, M=8, R=3, pad=1, groups=8)   # depthwise: eight 1 x 9 @ 9 x 36 GEMMs
    cfg = load_arch("systolic", {"rows": 4, "cols": 4, **UNBOUNDED})
    res = cfg.simulate(zeros_trace(lay))
    one = systolic_gemm(1, 9, 36, 4, 4, "ws")
    assert res.compute_cycles == 8 * (one.compute_cycles + 1) - 1
    assert res.macs_performed == 8 * 9 * 36 == lay.macs
    assert res.extra["folds"] == 8 * one.plan.folds


def test_energy_from_action_counts():
    lay = gemm("g", 12, 10, 20)
    res = load_arch("systolic", {"rows": 8, "cols": 8, **UNBOUNDED}).simulate(zeros_trace(lay))
    t = load_table("horowitz_45nm")
    e = t.energy(res.actions)
    # 2400 MACs of a 16-bit multiply and a 32-bit accumulate
    assert e["mac"] == pytest.approx(2400 * (0.8 + 0.1))
    assert set(e) == {"mac", "rf", "sram_weight", "sram_input", "sram_output", "dram"}
    # ws registers per MAC: W and X read (2 x 16), X forwarded (16), accumulator read + write (2 x 32) = 112,
    # plus every weight shifted into its PE once (120 x 16)
    assert res.actions.total("rf") == 2400 * 112 + 120 * 16
    os_ = load_arch("systolic", {"rows": 8, "cols": 8, "dataflow": "os", **UNBOUNDED}).simulate(zeros_trace(lay))
    assert os_.actions.total("rf") == 2400 * (32 + 32 + 64)     # both inputs move, nothing preloaded
    # DRAM: W, X and the output once each (everything fits), 2 bytes per value
    assert res.dram_bytes == 2 * (120 + 200 + 240)


def test_pe_busy_and_mapping_on_a_partial_fold():
    lay = gemm("g", 6, 5, 10)                     # ws on 4 x 4: K = 5 -> folds of 4 and 1 rows; M = 6 -> 4 and 2
    res = load_arch("systolic", {"rows": 4, "cols": 4, **UNBOUNDED}).simulate(zeros_trace(lay))
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
    df = accelsim.simulate("systolic", "resnet50", pattern="dense", overrides=UNBOUNDED, layers=["conv1", "fc"])
    # conv1: K = 147 (2 row folds), M = 64 (1 column fold), N = 112 x 112: 2 x (12544 + 3 x 128 - 2) - 1
    # fc: K = 2048 (16), M = 1000 (8), N = 1: 128 x (1 + 382) - 1
    assert df["compute_cycles"].tolist() == [2 * 12926 - 1, 128 * 383 - 1]
