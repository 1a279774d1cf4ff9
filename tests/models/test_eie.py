"""EIE (Han et al., ISCA 2016): hand-simulated FIFO schedules, CSC padding, storage from the encoder, batches,
rounds and convolutions."""
import numpy as np
import pytest

import accelsim
from accelsim.arch import load_arch
from accelsim.arch.eie import EIE, lnzd_nodes, plan_layer, run_schedule, schedule, step_cycles
from accelsim.errors import ConfigError, ModelError
from accelsim.formats import get_format
from accelsim.traces import LayerTrace
from accelsim.workload import conv, gemm


def trace(w, x):
    w = np.asarray(w, dtype=np.float32)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    return LayerTrace(gemm("g", M=w.shape[0], K=w.shape[1], N=x.shape[1]), w, x)


def run(w, x, **over):
    return load_arch("eie", over).simulate(trace(w, x))


# rows 0 and 2 belong to PE 0, rows 1 and 3 to PE 1; column 1 is skewed onto PE 0
W_SKEW = [[1, 1, 1],
          [1, 0, 0],
          [1, 1, 0],
          [1, 0, 0]]


def test_hand_simulated_skewed_column_depth_2():
    r = run(W_SKEW, [1, 1, 1], pes=2, fifo_depth=2)
    # per-PE costs: PE0 [2, 2, 1], PE1 [2, 1 (empty slice: the pointer read), 1 (empty)]
    # t0 broadcast a0 | t1 both work a0, broadcast a1 | t2 both finish a0, FIFOs full -> broadcast held
    # t3 broadcast a2, PE0 starts a1 (2), PE1 does a1 | t4 PE0 ends a1, PE1 does a2 | t5 PE0 does a2 -> 6 cycles
    assert r.cycles == 6
    assert r.pe_busy.tolist() == [5, 4]
    assert r.totals["fifo_full_stall_cycles"] == 1
    assert r.totals["broadcasts"] == 3 and r.extra["broadcast_rate"] == pytest.approx(0.5)
    assert r.totals["empty_slice_cycles"] == 2
    assert r.totals["pe_idle_cycles_mean"] == pytest.approx(1.5)
    assert r.extra["load_balance_efficiency"] == pytest.approx(4.5 / 6)
    # the cycle account: 7 entries on 2 multipliers (3.5), PE1's two empty slices over 2 PEs (1), the busiest
    # PE's 5 cycles beyond the mean 4.5 (0.5), and the cycle PE0 idles (t0, waiting for the first broadcast)
    assert r.macs_performed == 7 and r.peak_macs_per_cycle == 2
    assert r.losses == pytest.approx({"index": 1.0, "load_imbalance": 0.5, "fifo_bubble": 1.0})
    assert 3.5 + sum(r.losses.values()) == r.cycles


def test_hand_simulated_depth_1_is_lockstep():
    r = run(W_SKEW, [1, 1, 1], pes=2, fifo_depth=1)
    # a0 at t0 (done by both at the end of t2); a1 held t1-t2, sent t3, PE0 works it t4-t5;
    # a2 held t4-t5 (PE0's FIFO holds a1 until the end of t5), sent t6, worked t7 -> 8 cycles, 4 held
    assert r.cycles == 8
    assert r.totals["fifo_full_stall_cycles"] == 4
    assert r.pe_busy.tolist() == [5, 4]
    assert r.losses["fifo_bubble"] == 8 - 5        # the busiest PE idles 3 cycles: depth 1 is lockstep


def test_zero_activations_cost_nothing():
    rng = np.random.default_rng(3)
    w = (rng.random((24, 40)) < 0.3).astype(np.float32)
    x = rng.random(40).astype(np.float32)
    x[rng.random(40) < 0.5] = 0.0
    keep = x != 0
    full = run(w, x, pes=4, fifo_depth=2)
    dropped = run(w[:, keep], x[keep], pes=4, fifo_depth=2)
    assert full.cycles == dropped.cycles
    assert full.pe_busy.tolist() == dropped.pe_busy.tolist()
    assert full.totals["broadcasts"] == int(keep.sum())
    none = run(w, np.zeros(40), pes=4)
    assert none.cycles == 0 and none.macs_performed == 0 and none.totals["broadcasts"] == 0


@pytest.mark.parametrize("rows, pads", [([0, 16], 0), ([0, 17], 1), ([0, 33], 2), ([20], 1), ([0, 15, 31], 0)])
def test_padding_when_the_gap_exceeds_15(rows, pads):
    w = np.zeros((40, 1), np.float32)
    w[rows, 0] = 1.0
    r = run(w, [1.0], pes=1)
    assert r.totals["padding_entries"] == pads
    # one broadcast cycle, then one cycle per stored entry (real or padding)
    assert r.cycles == 1 + len(rows) + pads
    assert r.macs_performed == len(rows) + pads
    assert r.extra["padding_work_fraction"] == pytest.approx(pads / (len(rows) + pads))


def test_more_pes_shorten_the_slices_and_the_padding():
    w = np.zeros((40, 1), np.float32)
    w[[0, 34], 0] = 1.0               # 33 zeros between: 2 pads on one PE
    assert run(w, [1.0], pes=1).totals["padding_entries"] == 2
    assert run(w, [1.0], pes=2).totals["padding_entries"] == 1     # PE0 local rows 0 and 17: 16 zeros
    assert run(w, [1.0], pes=4).totals["padding_entries"] == 0     # rows 0 and 34 on PEs 0 and 2


def csc(**params):
    return {"name": "csc", "params": {"value_bits": 4, "index_bits": 4, "index_mode": "relative", **params}}


def test_wider_index_removes_padding():
    w = np.zeros((40, 1), np.float32)
    w[[0, 33], 0] = 1.0
    assert run(w, [1.0], pes=1, weight_format=csc(index_bits=4)).totals["padding_entries"] == 2
    assert run(w, [1.0], pes=1, weight_format=csc(index_bits=8)).totals["padding_entries"] == 0
    absolute = {"name": "csc", "params": {"value_bits": 4, "index_mode": "absolute"}}
    assert run(w, [1.0], pes=1, weight_format=absolute).totals["padding_entries"] == 0


@pytest.mark.parametrize("M, pes, depth", [(10, 4, 2), (10, 4, 8), (3, 4, 2), (64, 64, 8)])
def test_dense_trace_is_dense_work_over_pes_plus_imbalance(M, pes, depth):
    K = 5
    r = run(np.ones((M, K)), np.ones(K), pes=pes, fifo_depth=depth)
    rows_max = -(-M // pes)           # the PE with the most rows sets the pace; the broadcast is never the limit
    assert r.cycles == 1 + K * rows_max
    assert r.macs_performed == M * K
    assert r.totals["padding_entries"] == 0
    if M % pes == 0:
        assert r.pe_busy.tolist() == [K * (M // pes)] * pes


def test_recurrence_matches_cycle_stepping():
    rng = np.random.default_rng(7)
    for _ in range(300):
        L, P, D = int(rng.integers(0, 25)), int(rng.integers(1, 6)), int(rng.integers(1, 6))
        costs = rng.integers(0, 5, size=(L, P)).astype(np.int32)
        light = rng.random(P) < 0.5          # PEs of one-cycle costs, which the recurrence leaves out at depth >= 2
        costs[:, light] = np.minimum(costs[:, light], 1)
        cycles, busy, stall = step_cycles(costs, D)
        # broadcast q is column q of a single table: cost[0, q, p]
        assert run_schedule(costs[None], np.array([0, L]), np.arange(L), 1, 1, D) == (cycles, L, stall)


def test_fifo_depth_1_never_faster_than_8(rng):
    lt = accelsim.make_trace(accelsim.load_workload("gemm:96x200x1"), "unstructured", density=0.15,
                             act_density=0.6, seed=4).layers[0]
    p = load_arch("eie", {"pes": 8}).params
    plan = plan_layer(lt, p)
    times = [schedule(plan, d)[0] for d in (1, 2, 4, 8, 16, 256)]
    assert all(a >= b for a, b in zip(times, times[1:]))
    assert times[0] > times[3]
    for _ in range(20):
        w = (rng.random((30, 50)) < rng.uniform(0.05, 0.6)).astype(np.float32)
        x = (rng.random(50) < 0.7).astype(np.float32)
        assert run(w, x, pes=4, fifo_depth=1).cycles >= run(w, x, pes=4, fifo_depth=8).cycles


def test_storage_is_the_encoders_on_each_pe_slice(rng):
    w = rng.standard_normal((37, 90)).astype(np.float32)
    w[rng.random(w.shape) < 0.88] = 0.0
    r = run(w, np.ones(90), pes=4)
    fmt = get_format("csc", value_bits=4, index_bits=4, index_mode="relative")
    encs = [fmt.encode(w[p::4]) for p in range(4)]
    assert r.totals["padding_entries"] == sum(e.padding_entries for e in encs)
    assert r.weight_bits == sum(e.value_bits for e in encs)
    # one pointer width for every PE: the widest slice's (91 pointers per PE)
    width = max(e.breakdown["pointers"] // 91 for e in encs)
    assert r.metadata_bits == sum(e.breakdown["indices"] for e in encs) + 4 * 91 * width
    assert r.totals["stored_entries"] == sum(e.stored_entries for e in encs)
    # with every activation nonzero each stored entry is processed once
    assert r.macs_performed == r.totals["stored_entries"]
    # 8-bit entries, 8 per 64-bit SRAM row
    assert r.weight_bits + sum(e.breakdown["indices"] for e in encs) == 8 * r.totals["stored_entries"]


def test_one_pass_column_counts_agree_with_the_encoders_pointers(rng):
    # index_bits=4 takes the one-pass counts checked against `measure`; index_bits=None (the encoder's
    # default, also 4) takes the full encoding and its column pointers: the two must give the same machine
    w = rng.standard_normal((150, 70)).astype(np.float32)
    w[rng.random(w.shape) < 0.9] = 0.0
    x = (rng.random((70, 2)) < 0.6).astype(np.float32)
    fast = run(w, x, pes=3, act_regs_per_pe=16)
    full = run(w, x, pes=3, act_regs_per_pe=16, weight_format={"name": "csc", "params": {
        "value_bits": 4, "index_mode": "relative"}})
    assert fast.extra["rounds"] == 4
    for key in ("padding_entries", "stored_entries", "spmat_sram_reads", "processed_entries", "empty_slice_cycles"):
        assert fast.totals[key] == full.totals[key]
    assert (fast.cycles, fast.weight_bits, fast.metadata_bits) == (full.cycles, full.weight_bits, full.metadata_bits)
    assert fast.pe_busy.tolist() == full.pe_busy.tolist()


def test_spmat_sram_reads_count_64_bit_rows():
    # one PE, one column of 20 nonzeros (20 entries): rows 0-7, 8-15, 16-19 -> 3 reads of 64 bits
    r = run(np.ones((20, 1)), [1.0], pes=1)
    assert r.totals["spmat_sram_reads"] == 3
    r2 = run(np.ones((20, 2)), [1.0, 1.0], pes=1)
    # the second column starts at entry 20, in the third row, which the read unit still holds (Sec. VI-C: the
    # fetched entries are used when the next column's activation is nonzero): rows 3 and 4 -> 2 more reads
    assert r2.totals["spmat_sram_reads"] == 5
    # three columns of 20 entries: rows 0-2, 2-4, 5-7; with the middle activation zero, rows 2-4 are not read
    assert run(np.ones((20, 3)), [1.0, 1.0, 1.0], pes=1).totals["spmat_sram_reads"] == 3 + 2 + 3
    assert run(np.ones((20, 3)), [1.0, 0.0, 1.0], pes=1).totals["spmat_sram_reads"] == 3 + 3


def test_what_does_not_fit_the_sram_is_streamed_per_vector():
    w = np.zeros((4, 1), np.float32)
    w[:, 0] = 1.0                      # 4 entries of 8 bits = 32 bits; 2 pointers of 3 bits
    r = run(w, np.ones((1, 2)), pes=1, spmat_sram_bytes=1, ptr_sram_bytes=1)
    assert not r.extra["fits_on_chip"]
    assert r.dram_bytes == 2 * (32 - 8) / 8          # 24 bits over the SRAM, once per vector
    assert run(w, np.ones((1, 2)), pes=1).dram_bytes == 0


def test_all_zero_weights_still_cost_a_pointer_cycle_per_activation():
    r = run(np.zeros((8, 5)), np.ones(5), pes=4)
    assert r.macs_performed == 0 and r.totals["stored_entries"] == 0
    assert r.cycles == 1 + 5 and r.pe_busy.tolist() == [5, 5, 5, 5]


def test_a_format_without_column_pointers_is_refused():
    with pytest.raises(ModelError, match="column pointers"):
        run(np.eye(4), np.ones(4), pes=2, weight_format="bitmap")
    with pytest.raises(ConfigError):
        load_arch("eie", {"weight_format": "no_such_format"}).simulate(trace(np.eye(2), np.ones(2)))
    with pytest.raises(ConfigError):
        load_arch("eie", {"fifo_depth": 0})


def test_skewed_rows_show_load_imbalance():
    w = np.zeros((32, 20), np.float32)
    w[0::4] = 1.0                      # every nonzero lives on PE 0 of 4
    r = run(w, np.ones(20), pes=4)
    # PE 0: 8 entries per column; the others: one empty-slice cycle per column
    assert r.pe_busy.tolist() == [160, 20, 20, 20]
    assert r.extra["load_balance_efficiency"] < 0.4
    even = run(np.ones((32, 20)), np.ones(20), pes=4)
    assert even.extra["load_balance_efficiency"] > 0.95


def test_batch_vectors_are_processed_one_after_another():
    rng = np.random.default_rng(11)
    w = (rng.random((40, 30)) < 0.3).astype(np.float32)
    x = (rng.random(30) < 0.6).astype(np.float32)
    one = run(w, x, pes=4)
    two = run(w, np.stack([x, x], axis=1), pes=4)
    assert two.extra["vectors"] == 2 and two.extra["mode"] == "spmv"
    assert two.pe_busy.tolist() == [2 * b for b in one.pe_busy.tolist()]
    assert two.macs_performed == 2 * one.macs_performed
    assert one.cycles < two.cycles <= 2 * one.cycles


def test_outputs_beyond_the_register_files_run_in_rounds():
    w = np.ones((8, 3), np.float32)    # 4 rows per PE on 2 PEs, 2 registers each -> 2 rounds
    r = run(w, np.ones(3), pes=2, act_regs_per_pe=2)
    assert r.extra["rounds"] == 2
    assert r.totals["broadcasts"] == 6
    assert r.macs_performed == 24
    assert r.cycles == 1 + 6 * 2      # every activation costs each PE its 2 rows of the round


def test_convolution_runs_as_spmv_per_output_position():
    rng = np.random.default_rng(5)
    lay = conv("c", C=4, H=5, W=5, M=8, R=3, pad=1)
    w = (rng.random((8, 36)) < 0.4).astype(np.float32)
    x = (rng.random((1, 4, 5, 5)) < 0.5).astype(np.float32)
    lt = LayerTrace(lay, w, x)
    r = load_arch("eie", {"pes": 4}).simulate(lt)
    assert r.extra["mode"] == "conv-as-spmv" and r.extra["vectors"] == 25
    # no gap can exceed 15 with two rows per PE: every processed entry is a useful product
    assert r.totals["padding_entries"] == 0
    assert r.macs_performed == lt.effectual_macs()


def test_grouped_convolution_runs_group_after_group():
    lay = conv("dw", C=4, H=4, W=4, M=4, R=3, pad=1, groups=4)
    lt = LayerTrace(lay, np.ones((4, 9), np.float32), np.ones((1, 4, 4, 4), np.float32))
    r = load_arch("eie", {"pes": 4}).simulate(lt)
    # one output row per group: only PE 0 owns rows; the others drop every activation for free
    assert r.pe_busy.tolist()[1:] == [0, 0, 0]
    assert r.macs_performed == lt.effectual_macs()


def test_shipped_config_on_the_benchmark_workload():
    df = accelsim.simulate("eie", "eie_benchmark", layers=["nt_lstm"])
    row = df.iloc[0]
    assert row["arch"] == "eie" and row["mode"] == "spmv" and row["vectors"] == 1
    assert row["freq_hz"] == 800e6
    for col in ("padding_entries", "padding_fraction", "broadcast_rate", "pe_idle_cycles_mean",
                "fifo_full_stall_cycles", "load_balance_efficiency", "component_spmat_sram_pj", "area_mm2",
                "loss_fifo_bubble_cycles", "loss_load_imbalance_cycles", "energy_sram_pj"):
        assert col in df.columns
    # NeuralTalk LSTM (Table III: 2400 outputs, 10% weights, dense input) takes microseconds on 64 PEs
    assert 4e-6 < row["latency_s"] < 12e-6
    assert 0.5 < row["load_balance_efficiency"] <= 1.0


# ---- the contract (docs/CONTRIBUTING.md) ------------------------------------------------------------------------

def test_the_datapath_is_value_bits_and_the_format_holds_the_4_bit_fields():
    p = load_arch("eie").params
    assert p.value_bits == 16
    assert p.weight_format.kwargs == {"value_bits": 4, "index_bits": 4, "index_mode": "relative"}


def test_old_parameter_names_still_work_with_a_warning():
    with pytest.warns(FutureWarning, match="deprecated"):
        p = load_arch("eie", {"arith_bits": 16, "value_bits": 4, "index_bits": 8, "weight_format": "csc"}).params
    assert p.value_bits == 16 and p.arith_bits is None and p.index_bits is None
    assert p.weight_format.kwargs == {"value_bits": 4, "index_bits": 8}
    with pytest.warns(FutureWarning):
        p = load_arch("eie", {"index_mode": "absolute", "index_bits": None}).params
    assert p.weight_format.kwargs == {"value_bits": 4, "index_mode": "absolute"}   # the encoder's own width


def test_one_declared_fifo_prices_area_and_energy():
    p = load_arch("eie").params
    hw = EIE().hardware(p)
    q = hw.memory("act_queue")
    # an entry is the 16-bit value and its index: 16 bits address the 64 PEs' 1K-activation SRAMs (64K)
    assert q.width_bits == 16 + 16 and q.capacity_bytes == 8 * 32 / 8 and q.count == 64
    r = run(np.ones((4, 3)), np.ones(3), pes=2)
    q2 = EIE().hardware(load_arch("eie", {"pes": 2}).params).memory("act_queue")
    assert q2.width_bits == 16 + 11                   # 2 PEs x 1K activations: 11 index bits
    # 3 broadcasts into 2 FIFOs, each entry written and read once, at the declared width
    assert r.actions.total("rf", component="act_queue") == 3 * 2 * 27 * 2


def test_memories_are_declared_once_for_area_energy_and_names():
    cfg = load_arch("eie")
    hw = EIE().hardware(cfg.params)
    lt = accelsim.make_trace(accelsim.load_workload("gemm:128x2x64"), "unstructured", density=0.2, seed=1).layers[0]
    res = EIE().simulate(lt, cfg.params)
    assert res.actions.components() <= hw.names() | {"noc"}
    ptr = hw.memory("ptr_sram")          # two 16 KB banks per PE: p_j and p_j+1 in one cycle
    assert (ptr.capacity_bytes, ptr.count, ptr.width_bits) == (16384, 128, 16)
    assert {m.name: m.format for m in hw.memories}["spmat_sram"] == cfg.params.weight_format


def test_the_combinational_logic_of_table_ii_is_declared():
    hw = EIE().hardware(load_arch("eie").params)
    logic = {lg.name: lg for lg in hw.logic}
    # the quadtree of 4-input detection nodes: 16 + 4 + 1 for 64 PEs (Sec. VI)
    assert lnzd_nodes(64) == 21 and lnzd_nodes(4) == 1 and lnzd_nodes(256) == 85
    # one 16-bit path per node at 10 um2 a bit: 160 um2 against the paper's 189 um2 per LNZD unit
    assert logic["lnzd"].bits == 21 * 16
    # the 8-to-1 select of 8-bit entries from a 64-bit row, per PE: 7 x 8 two-input mux bits
    assert logic["spmat_select"].bits == 64 * 7 * 8
    # the codebook lookup (15 x 16) and the adder bypass (16)
    assert logic["weight_decoder"].bits == 64 * (15 * 16 + 16)
    area = load_arch("eie").energy.area_mm2(hw.inventory())
    comb = sum(v for k, v in area.items() if k in logic or k == "mac") * 1e6 / 64
    # Table II: 8,946 um2 of combinational logic per PE
    assert 0.7 * 8946 < comb < 1.3 * 8946


def test_a_format_what_if_changes_cost():
    lt = accelsim.make_trace(accelsim.load_workload("gemm:256x1x512"), "unstructured", density=0.1,
                             act_density=0.5, seed=2).layers[0]
    base = load_arch("eie", {"pes": 4})
    wide = load_arch("eie", {"pes": 4, "weight_format": csc(index_bits=8)})
    r0, r1 = base.simulate(lt), wide.simulate(lt)
    # 64 rows per PE at 10%: 4-bit runs need padding, 8-bit runs none, but every entry is 4 bits wider
    assert r0.totals["padding_entries"] > 0 and r1.totals["padding_entries"] == 0
    assert r1.metadata_bits > r0.metadata_bits
    assert r1.actions.total("sram", component="spmat_sram") != r0.actions.total("sram", component="spmat_sram")


def test_a_layer_that_does_not_fit_is_bound_by_dram():
    # 1 KB of sparse-matrix SRAM per PE cannot hold 512 x 256 at 50% on 4 PEs (16K 8-bit entries each): the
    # excess streams once per vector; at 1 B/cycle that takes longer than the 2 x 16K cycles of work
    df = accelsim.simulate("eie", "gemm:512x2x256", density=0.5, act_density=1.0,
                           overrides={"pes": 4, "spmat_sram_bytes": 1024, "dram_bytes_per_cycle": 1.0})
    row = df.iloc[0]
    assert not row["fits_on_chip"] and row["bound"] == "dram"
    assert row["dram_bytes"] == pytest.approx(2 * 4 * (16 * 1024 - 1024), rel=0.02)
    assert row["cycles"] == pytest.approx(row["dram_bytes"] / 1.0)
    assert row["loss_dram_cycles"] > 0


def test_row_reads_match_a_literal_row_buffer(rng):
    # the per-row bit-set count (_row_reads) against walking the stream with a one-row buffer per PE
    for _ in range(20):
        M, K, N = int(rng.integers(4, 60)), int(rng.integers(1, 30)), int(rng.integers(1, 5))
        w = (rng.random((M, K)) < rng.uniform(0.05, 0.9)).astype(np.float32)
        x = (rng.random((K, N)) < rng.uniform(0.1, 1.0)).astype(np.float32)
        pes, regs = int(rng.integers(1, 5)), int(rng.integers(2, 9))
        plan = plan_layer(trace(w, x), load_arch("eie", {"pes": pes, "act_regs_per_pe": regs}).params)
        _, first, last = plan._layout
        expect = np.zeros(pes, np.int64)
        for n in range(N):
            cols = plan.x_idx[plan.x_ptr[n]:plan.x_ptr[n + 1]]
            for t in range(plan.rounds):
                held = [-1] * pes                     # each pass over a vector starts with nothing held
                for j in cols:
                    for p in range(pes):
                        a, b = first[t, j, p], last[t, j, p]
                        if b >= a:
                            expect[p] += b - a + 1 - (a == held[p])
                            held[p] = b
        assert plan.sram_reads.tolist() == expect.tolist()
