"""EIE's statistical mode: the drawn column slices, the expected activation densities, and agreement with the
trace path where both are exact (dense layers) and in expectation (pruned layers)."""
import math

import numpy as np
import pytest

import accelsim
from accelsim.arch import load_arch
from accelsim.arch.eie import (EIE, _pe_major_row, column_act_density, draw_column_entries, row_model,
                               _column_entries)
from accelsim.formats import expected_padding
from accelsim.traces import LayerTrace
from accelsim.traces.pruners import parse_pattern
from accelsim.traces.stats import LayerStats
from accelsim.workload import conv, gemm


def stats(layer, pattern="unstructured", w=0.3, a=0.5, seed=0):
    return LayerStats(layer, parse_pattern(pattern), w, a, seed)


def test_a_dense_layer_gives_the_trace_result_exactly():
    # nothing is random when every weight and activation is nonzero: same machine, same numbers
    lay = gemm("g", M=96, K=40, N=3)
    p = load_arch("eie", {"pes": 8, "act_regs_per_pe": 4}).params
    tr = EIE().simulate(LayerTrace(lay, np.ones((96, 40), np.float32), np.ones((40, 3), np.float32)), p)
    st = EIE().simulate_stats(stats(lay, "dense", 1.0, 1.0), p)
    assert st.extra["rounds"] == tr.extra["rounds"] == 3
    assert (st.cycles, st.macs_performed) == (tr.cycles, tr.macs_performed) == (1 + 3 * 3 * 40 * 4, 96 * 40 * 3)
    assert st.losses == pytest.approx(tr.losses)
    assert st.actions == tr.actions
    assert st.totals == pytest.approx(tr.totals)


def test_unstructured_rows_keep_the_layers_density_on_average():
    rng = np.random.default_rng(0)
    model, q = row_model(parse_pattern("unstructured"), 0.2, 5000, rng)
    assert q.mean() == pytest.approx(0.2, abs=1e-6)       # the layer's own threshold
    assert q.std() > 0.05                                 # rows differ in scale, so in density
    _, flat = row_model(parse_pattern("random"), 0.2, 10, rng)
    assert flat.tolist() == [0.2] * 10


def test_block_rows_keep_the_layers_density_on_average():
    model, q = row_model(parse_pattern("block:4x4"), 0.4, 4000, np.random.default_rng(1))
    assert q.mean() == pytest.approx(0.4, abs=1e-3)
    assert (q[0::4] == q[3::4]).all()                     # the four rows of a block-row share their blocks


def test_n_of_m_keeps_exactly_n_in_every_group():
    model, q = row_model(parse_pattern("nm:2:4"), 0.5, 8, np.random.default_rng(0))
    # one row per PE: each slice holds its column's one weight or nothing, no padding with one row
    ent, real = draw_column_entries(model, q, 10, 8, 64, 1, 4, 3)
    assert real.sum() == 8 * (2 + 2 + 2)                  # groups of 4, 4 and a tail of 2 keeping both
    assert (real[0, :, 8:].sum(axis=1) == 2).all()        # the 2-wide tail keeps min(2, 2)
    assert (real[0, :, 0:4].sum(axis=1) == 2).all()


def test_channel_pruning_keeps_exactly_its_rows():
    model, q = row_model(parse_pattern("channel"), 0.25, 40, np.random.default_rng(0))
    ent, real = draw_column_entries(model, q, 7, 4, 64, 1, 4, 5)
    assert real.sum() == round(0.25 * 40) * 7


def test_drawn_padding_matches_the_encoders_expectation():
    # 1 PE, 64-row slices at 5% density: a run of 16 zeros needs a padding entry (Sec. III-B)
    model, q = row_model(parse_pattern("random"), 0.05, 64, np.random.default_rng(0))
    ent, real = draw_column_entries(model, q, 20000, 1, 64, 1, 4, 11)
    pads_per_column = (ent - real).sum() / 20000
    assert pads_per_column == pytest.approx(expected_padding(64, 0.05, 16), rel=0.03)


def test_drawn_slices_count_like_the_trace_kernel():
    # a dense draw is a known mask: both kernels must count its slices the same way
    model, q = row_model(parse_pattern("dense"), 1.0, 37, np.random.default_rng(0))
    ent, real = draw_column_entries(model, q, 5, 4, 3, 4, 4, 0)
    ent2, real2 = _column_entries(np.ones((37, 5), np.bool_), 4, 3, 4, 4)
    assert ent.tolist() == ent2.tolist() and real.tolist() == real2.tolist()


def test_pe_major_row_order_is_a_permutation():
    assert [_pe_major_row(o, 10, 4) for o in range(10)] == [0, 4, 8, 1, 5, 9, 2, 6, 3, 7]
    assert sorted(_pe_major_row(o, 100, 7) for o in range(100)) == list(range(100))


def test_padded_convolutions_see_fewer_nonzero_activations():
    lay = conv("c", C=2, H=4, W=4, M=8, R=3, pad=1)
    a = column_act_density(lay, 0.5)
    # a 3x3 window with padding 1 over 4 output rows: rows r = 0 and 2 fall outside at one edge (3/4 inside)
    edge = np.array([0.75, 1.0, 0.75])
    assert a.tolist() == pytest.approx((0.5 * np.tile(np.outer(edge, edge).ravel(), 2)).tolist())
    assert column_act_density(gemm("g", M=4, K=6, N=2), 0.3).tolist() == [0.3] * 6


def test_statistical_mode_is_deterministic_per_seed_and_layer():
    p = load_arch("eie", {"pes": 16}).params
    one = EIE().simulate_stats(stats(gemm("a", M=256, K=300, N=4)), p)
    again = EIE().simulate_stats(stats(gemm("a", M=256, K=300, N=4)), p)
    other = EIE().simulate_stats(stats(gemm("b", M=256, K=300, N=4)), p)
    assert one.cycles == again.cycles and one.actions == again.actions
    assert other.cycles != one.cycles                     # each layer draws its own weights


def test_statistical_mode_follows_the_trace_on_a_pruned_layer():
    wl = accelsim.load_workload("gemm:512x8x1024")
    kw = dict(pattern="unstructured", density=0.1, act_density=0.4)
    tr = accelsim.simulate(load_arch("eie"), wl, seed=3, **kw).iloc[0]
    st = accelsim.simulate(load_arch("eie"), wl, seed=3, statistical=True, **kw).iloc[0]
    for col in ("ideal_cycles", "energy_pj", "broadcasts", "stored_entries", "padding_entries", "metadata_bits"):
        assert st[col] == pytest.approx(tr[col], rel=0.06), col
    assert st["cycles"] == pytest.approx(tr["cycles"], rel=0.12)


def test_a_llama_sized_layer_runs_without_its_tensors():
    # 11008 x 4096 at 2:4, 2048 vectors: the drawn table is rounds x PEs x K, never M x K
    lay = gemm("up", M=11008, K=4096, N=2048)
    res = EIE().simulate_stats(stats(lay, "nm:2:4", 0.5, 0.5), load_arch("eie").params)
    assert res.extra["rounds"] == math.ceil(11008 / 64 / 64)
    assert res.macs_performed == pytest.approx(11008 * 4096 * 0.5 * 0.5 * 2048, rel=0.02)
    assert not res.extra["fits_on_chip"] and res.dram_bytes > 0
