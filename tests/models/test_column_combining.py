"""Column combining (Kung et al., ASPLOS 2019): the packing rule, its bounds, and the packed array."""
import math

import numpy as np
import pytest

import accelsim
from accelsim.arch import load_arch
from accelsim.arch.column_combining import pack_columns
from accelsim.arch.systolic import systolic_gemm
from accelsim.energy import load_table
from accelsim.errors import ConfigError, ModelError
from accelsim.traces import LayerTrace
from accelsim.validation.column_combining import EXAMPLE, cases
from accelsim.validation.systolic import compute_cycles
from accelsim.workload import conv, gemm

#: DRAM so fast that only the first tile's load shows (at most one cycle of stall)
FAST = {"dram_bytes_per_cycle": 1e9}


def run(w, x, **over):
    w = np.asarray(w, dtype=np.float32)
    x = np.asarray(x, dtype=np.float32)
    lay = gemm("g", w.shape[0], w.shape[1], x.shape[1])
    return load_arch("column_combining", over).simulate(LayerTrace(lay, w, x))


def conflicting_rows(w, group):
    return int(np.sum(np.count_nonzero(w[:, group], axis=1) > 1))


# ---- the packing rule ---------------------------------------------------------------------------

def test_worked_example():
    # c1 = [0,2,0,3,0], c2 = [1,0,2,1,0], c3 = [1,2,0,1,0], c4 = [0,0,0,0,4]: c4 overlaps nothing, c1 and c2
    # overlap in row 4 only, c3 overlaps c2 in rows 1 and 4 -> {c1, c2, c4} with one conflict, c3 alone
    pk = pack_columns(EXAMPLE, alpha=3, gamma=0.2)        # at most floor(0.2 x 5) = 1 conflicting row
    assert sorted(pk.groups[0].tolist()) == [0, 1, 3] and pk.groups[1].tolist() == [2]
    assert pk.values[:, 0].tolist() == [1, 2, 2, 3, 4]
    # channel of each kept weight: c2, c1, c2, c1 (3 beats 1), c4
    assert pk.index[:, 0].tolist() == [1, 0, 1, 0, 3]
    assert pk.conflicts.tolist() == [1, 0] and pk.pruned == 1 and pk.nnz == 9
    assert pk.packing_density == pytest.approx(8 / 10)
    # with more conflicts allowed the least-overlap choice is the same three columns
    assert sorted(pack_columns(EXAMPLE, alpha=3, gamma=0.6).groups[0].tolist()) == [0, 1, 3]
    assert all(c["published"] == c["accelsim"] for c in cases())


def test_packed_product_equals_pruned_product_exactly(rng):
    for seed in range(4):
        r = np.random.default_rng(seed)
        w = r.integers(-4, 5, size=(12, 30)) * (r.random((12, 30)) < 0.3)
        x = r.integers(-3, 4, size=(30, 7)).astype(np.float64)
        pk = pack_columns(w.astype(np.float64), alpha=4, gamma=0.25)
        pruned = pk.pruned_matrix()
        assert np.array_equal(pk.multiply(x), pruned @ x)
        # pruning only removes weights, and in each conflicting row of a group the kept one is the largest
        assert np.all((pruned == 0) | (pruned == w))
        assert np.count_nonzero(w) - np.count_nonzero(pruned) == pk.pruned
        for g, grp in enumerate(pk.groups):
            for m in range(w.shape[0]):
                vals = np.abs(w[m, grp])
                if vals.max() > 0:
                    assert abs(pk.values[m, g]) == vals.max()


@pytest.mark.parametrize("alpha,gamma,density", [(2, 0.0, 0.1), (4, 0.1, 0.2), (8, 0.25, 0.3), (16, 0.5, 0.05),
                                                 (3, 1.0, 0.5)])
def test_groups_respect_alpha_and_the_conflict_bound(alpha, gamma, density):
    r = np.random.default_rng(int(alpha * 100 + gamma * 10))
    w = r.standard_normal((40, 120)) * (r.random((40, 120)) < density)
    pk = pack_columns(w, alpha=alpha, gamma=gamma)
    assert pk.max_conflicts == math.floor(gamma * 40 + 1e-9)
    members = np.concatenate(pk.groups)
    assert sorted(members.tolist()) == list(range(120))          # every column in exactly one group
    for g, grp in enumerate(pk.groups):
        assert 1 <= len(grp) <= alpha
        assert conflicting_rows(w, grp) == pk.conflicts[g] <= pk.max_conflicts


def test_dense_matrix_cannot_be_combined():
    w = np.random.default_rng(0).standard_normal((16, 24)) + 10.0
    for gamma in (0.0, 0.5, 0.9):
        pk = pack_columns(w, alpha=8, gamma=gamma)
        assert pk.packed_columns == 24 and pk.pruned == 0
    # allowing every row to conflict does combine them (and prunes all but one weight per row)
    full = pack_columns(w, alpha=2, gamma=1.0)
    assert full.packed_columns == 12 and full.pruned == 16 * 12


def test_disjoint_columns_pack_without_loss():
    # 8 x 32 with exactly one nonzero per column, rows cycling: any 8 consecutive columns are disjoint
    w = np.zeros((8, 32))
    w[np.arange(32) % 8, np.arange(32)] = np.arange(1, 33)
    pk = pack_columns(w, alpha=8, gamma=0.0)
    assert pk.packed_columns == 4 and pk.pruned == 0 and pk.packing_density == 1.0


def test_window_limits_the_candidates():
    # columns 0 and 1 collide, 0 and 2 do not; with a window of one candidate, column 0 may only look at 1,
    # stays alone, and column 1 then seeds a group that takes column 2
    w = np.array([[1, 1, 0],
                  [0, 0, 1],
                  [1, 0, 0]], dtype=float)
    assert sorted(pack_columns(w, alpha=2, gamma=0.0).groups[0].tolist()) == [0, 2]
    narrow = pack_columns(w, alpha=2, gamma=0.0, window=1)
    assert [g.tolist() for g in narrow.groups] == [[0], [1, 2]]


def test_bad_packing_arguments():
    with pytest.raises(ModelError):
        pack_columns(np.zeros((0, 3)), 2, 0.5)
    with pytest.raises(ModelError):
        pack_columns(np.ones((2, 3)), 0, 0.5)
    with pytest.raises(ConfigError, match="gamma"):
        load_arch("column_combining", {"gamma": 1.5})
    with pytest.raises(ConfigError, match="ws or os"):
        load_arch("column_combining", {"dataflow": "is"})


# ---- the packed array -------------------------------------------------------------------------

def test_alpha_one_is_the_plain_systolic_array():
    tr = accelsim.build_trace("gemm:96x40x300", density=0.2, act_density=0.5, seed=3)
    cc = accelsim.simulate("column_combining", trace=tr, overrides={"alpha": 1})
    sy = accelsim.simulate("systolic", trace=tr)
    for col in ["cycles", "compute_cycles", "stall_cycles", "energy_pj", "macs_performed", "dram_bytes",
                "sram_bytes", "weight_bits", "metadata_bits", "energy_rf_pj", "component_sram_input_pj",
                "loss_fill_drain_cycles", "loss_dram_cycles", "area_mm2"]:
        assert cc[col][0] == sy[col][0], col
    assert "component_input_mux_pj" not in cc.columns
    assert cc["packed_columns"][0] == 300 and cc["weights_pruned"][0] == 0 and cc["output_rel_error"][0] == 0
    assert cc["speedup_vs_systolic"][0] == 1.0 and cc["energy_ratio_vs_systolic"][0] == pytest.approx(1.0)


def test_packed_matrix_runs_on_the_systolic_core():
    r = np.random.default_rng(7)
    w = r.standard_normal((64, 512)) * (r.random((64, 512)) < 0.03)
    x = r.standard_normal((512, 20))
    res = run(w, x, rows=32, cols=32, alpha=8, gamma=0.0, **FAST)
    kp = res.totals["packed_columns"]
    assert kp < 512 / 4
    # weight stationary on 32 x 32 with K' packed columns: the systolic closed form
    bd = systolic_gemm(64, kp, 20, 32, 32, "ws")
    assert compute_cycles(res) == bd.compute_cycles
    base = res.baselines["systolic"]
    assert compute_cycles(base) == systolic_gemm(64, 512, 20, 32, 32, "ws").compute_cycles
    assert base.cycles / res.cycles > 3
    # gamma = 0: nothing pruned, the output is exact
    assert res.totals["weights_pruned"] == 0 and res.extra["output_rel_error"] == 0.0
    # the input keeps its 512 channels: read once per column fold (64 filters / 32 columns), as unpacked
    assert res.totals["sram_input_reads"] == 512 * 20 * 2
    # packing density: nonzeros per packed cell; MACs on every packed cell, useful ones on the nonzeros
    assert res.extra["packing_density"] == pytest.approx(np.count_nonzero(w) / (64 * kp))
    assert res.macs_performed == 64 * kp * 20 and res.totals["macs_useful"] == np.count_nonzero(w) * 20
    # three 2:1 mux levels per MAC (alpha = 8), and a 3-bit channel index with every weight
    t = load_table("horowitz_45nm")
    assert t.energy(res.actions)["input_mux"] == pytest.approx(res.macs_performed * 3 * t.index_op)
    assert res.metadata_bits == 64 * kp * 3 and res.weight_bits == 64 * kp * 16


def test_output_error_by_hand():
    # one filter [1, 2] over two channels: they conflict, 2 is kept; X = [[1], [1]]: 3 becomes 2
    res = run([[1, 2]], [[1], [1]], alpha=2, gamma=1.0, rows=4, cols=4)
    assert res.totals["weights_pruned"] == 1 and res.extra["weights_pruned_fraction"] == 0.5
    assert res.extra["output_rel_error"] == pytest.approx(1 / 3)
    assert res.extra["max_group_conflicts"] == 1 <= res.extra["conflict_bound"]
    assert math.isnan(run([[1, 2]], [[1], [1]], alpha=2, gamma=1.0, output_error=False).extra["output_rel_error"])


def test_grouped_convolution_packs_each_group():
    lay = conv("dw", C=4, H=5, W=5, M=8, R=3, pad=1, groups=4)      # four groups of 2 filters x 9 taps
    w = np.zeros(lay.weight_shape, np.float32)
    w[:, 0] = 1.0                                                  # one tap per filter: all others empty
    x = np.ones(lay.input_shape, np.float32)
    res = load_arch("column_combining", {"alpha": 9, "gamma": 0.0, "rows": 4, "cols": 4, **FAST}) \
        .simulate(LayerTrace(lay, w, x))
    # each group's 9 columns: the full one seeds, the 8 empty ones join it -> one packed column per group
    assert res.totals["packed_columns"] == 4 and res.totals["unpacked_columns"] == 36
    assert compute_cycles(res) == systolic_gemm(2, 1, 25, 4, 4, "ws", groups=4).compute_cycles
    assert res.extra["output_rel_error"] == 0.0


def test_more_alpha_never_adds_columns_and_shipped_config():
    tr = accelsim.build_trace("gemm:128x49x576", density=0.1, act_density=0.5, seed=1)
    cols = [accelsim.simulate("column_combining", trace=tr, overrides={"alpha": a, "gamma": 0.25})
            ["packed_columns"][0] for a in (1, 2, 4, 8)]
    assert cols[0] == 576 and all(b <= a for a, b in zip(cols, cols[1:]))
    cfg = load_arch("column_combining")
    assert (cfg.params.alpha, cfg.params.gamma, cfg.params.rows, cfg.params.dataflow) == (8, 0.5, 128, "ws")
    assert cfg.energy.name == "horowitz_45nm"
