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
from accelsim.validation.column_combining import DENSITY, EXAMPLE, example_cases
from accelsim.validation.systolic import compute_cycles
from accelsim.workload import conv, gemm

#: DRAM so fast that only the first tile's load shows (at most one cycle of stall)
FAST = {"dram_bytes_per_cycle": 1e9}


def run(w, x, **over):
    w = np.asarray(w, dtype=np.float32)
    x = np.asarray(x, dtype=np.float32)
    lay = gemm("g", w.shape[0], w.shape[1], x.shape[1])
    return load_arch("column_combining", over).simulate(LayerTrace(lay, w, x))


def pruned_weights(w, group):
    """The authors' overlap of a group: in every row, all its nonzeros but one are pruned."""
    return int(np.sum(np.maximum(np.count_nonzero(w[:, group], axis=1) - 1, 0)))


# ---- the packing rule ---------------------------------------------------------------------------

def test_worked_example():
    # c1 = [0,2,0,3,0], c2 = [1,0,2,1,0], c3 = [1,2,0,1,0], c4 = [0,0,0,0,4]; c1 seeds (index order).
    # c2 would prune one weight (row 4) and fill two empty rows; c3 would prune two; c4 fills one -> c2 first.
    # Then c3 would prune three more, c4 none -> {c1, c2, c4} with one pruned weight, c3 alone
    pk = pack_columns(EXAMPLE, alpha=3, gamma=0.2)        # at most int(0.2 x 5) = 1 pruned weight per group
    assert pk.groups[0].tolist() == [0, 1, 3] and pk.groups[1].tolist() == [2] and pk.bound == 1
    assert pk.values[:, 0].tolist() == [1, 2, 2, 3, 4]
    # channel of each kept weight: c2, c1, c2, c1 (3 beats 1), c4
    assert pk.index[:, 0].tolist() == [1, 0, 1, 0, 3]
    assert pk.conflicts.tolist() == [1, 0] and pk.pruned == 1 and pk.nnz == 9
    assert pk.packing_density == pytest.approx(8 / 10)
    # with up to three pruned weights c2 still fills the most empty rows, and c3 would then prune three more
    assert pack_columns(EXAMPLE, alpha=3, gamma=0.6).groups[0].tolist() == [0, 1, 3]
    assert all(c["published"] == c["accelsim"] for c in example_cases())


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
                                                 (3, 1.0, 0.5), (8, 1.75, 0.3)])
def test_groups_respect_alpha_and_the_conflict_bound(alpha, gamma, density):
    r = np.random.default_rng(int(alpha * 100 + gamma * 10))
    w = r.standard_normal((40, 600)) * (r.random((40, 600)) < density)
    pk = pack_columns(w, alpha=alpha, gamma=gamma)
    assert pk.bound == math.floor(gamma * 40 + 1e-9)
    members = np.concatenate(pk.groups)
    # every nonzero column in exactly one group, within one 256-column section; empty columns in none
    assert sorted(members.tolist()) == np.flatnonzero(np.any(w != 0, axis=0)).tolist()
    for g, grp in enumerate(pk.groups):
        assert 1 <= len(grp) <= alpha and len(set(grp // 256)) == 1
        assert pruned_weights(w, grp) == pk.conflicts[g] <= pk.bound
    assert pk.pruned == np.count_nonzero(w) - np.count_nonzero(pk.pruned_matrix())


def test_dense_matrix_cannot_be_combined():
    w = np.random.default_rng(0).standard_normal((16, 24)) + 10.0
    for gamma in (0.0, 0.5, 0.9):
        pk = pack_columns(w, alpha=8, gamma=gamma)
        assert pk.packed_columns == 24 and pk.pruned == 0
    # gamma counts pruned weights in units of the rows, and is not limited to 1: at gamma 1 a pair of dense
    # columns (16 pruned weights) fits, at gamma 2 a group of three (32), at 1.99 only pairs again
    full = pack_columns(w, alpha=2, gamma=1.0)
    assert full.packed_columns == 12 and full.pruned == 16 * 12
    assert pack_columns(w, alpha=4, gamma=2.0).packed_columns == 8
    assert pack_columns(w, alpha=4, gamma=1.99).packed_columns == 12


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
        load_arch("column_combining", {"gamma": -0.5})
    assert load_arch("column_combining", {"gamma": 1.75}).params.gamma == 1.75      # the later training default
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
    # the input keeps its nonzero columns' channels: read once per column fold (64 filters / 32 columns)
    fed = np.count_nonzero(np.any(w != 0, axis=0))
    assert res.totals["sram_input_reads"] == pytest.approx(fed * 20 * 2)
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
    # each group's 9 columns: the full one is packed alone, the 8 empty ones are dropped
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


# ---- the authors' algorithm (BradMcDanel/column-combine, packing.py), mechanism by mechanism -----------

def test_gamma_bounds_pruned_weights_not_conflicting_rows():
    # three columns nonzero in row 0 only: one conflicting row, but a group of all three prunes two weights
    w = np.zeros((4, 3))
    w[0] = [3.0, 2.0, 1.0]
    assert pack_columns(w, alpha=3, gamma=0.25).packed_columns == 2     # int(0.25 x 4) = 1: a pair only
    pk = pack_columns(w, alpha=3, gamma=0.5)                            # 2: all three
    assert pk.packed_columns == 1 and pk.pruned == 2 and pk.values[0, 0] == 3.0


def test_partner_fills_the_most_empty_rows():
    # seed c0 = rows {0}; c1 = rows {1} (no overlap, one row filled), c2 = rows {0, 2, 3} (one pruned weight,
    # two rows filled): packing.py's metric is the empty rows of the merged column, so c2 wins, not the
    # overlap-free c1
    w = np.array([[1, 0, 1],
                  [0, 1, 0],
                  [0, 0, 1],
                  [0, 0, 1]], dtype=float)
    assert pack_columns(w, alpha=2, gamma=0.25).groups[0].tolist() == [0, 2]
    assert pack_columns(w, alpha=2, gamma=0.0).groups[0].tolist() == [0, 1]      # c2 would exceed 0


def test_seeds_in_column_order_and_sections_never_mix():
    # four disjoint single-row columns: with sections of 2, columns 1 and 2 never meet
    w = np.diag([1.0, 2.0, 3.0, 4.0])
    assert [g.tolist() for g in pack_columns(w, alpha=4, gamma=0.0).groups] == [[0, 1, 2, 3]]
    assert [g.tolist() for g in pack_columns(w, alpha=4, gamma=0.0, section=2).groups] == [[0, 1], [2, 3]]
    # the lowest-index column seeds, whatever its density (no densest-first order)
    v = np.array([[0, 1, 0], [0, 1, 0], [1, 0, 1]], dtype=float)
    assert pack_columns(v, alpha=2, gamma=0.0).groups[0].tolist() == [0, 1]


def test_empty_columns_and_rows_take_no_cells():
    w = np.zeros((6, 5), np.float32)
    w[0, 0] = w[1, 2] = w[2, 2] = 1.0                    # rows 3-5 and columns 1, 3, 4 are empty
    x = np.ones((5, 7), np.float32)
    res = run(w, x, alpha=1, gamma=0.0, rows=4, cols=4, **FAST)
    assert res.totals["packed_columns"] == 2 and res.totals["packed_rows"] == 3
    assert compute_cycles(res) == systolic_gemm(3, 2, 7, 4, 4, "ws").compute_cycles
    assert res.extra["packing_density"] == pytest.approx(3 / 6)


def test_statistical_mode_by_hand_and_against_the_trace():
    # dense 64 x 300 at alpha 2, gamma 1: any two columns prune 64 = int(1 x 64) weights, so the 256-column
    # section packs into 128 pairs and the 44-column tail into 22: 150 columns on both paths
    kw = dict(pattern="dense", overrides={"alpha": 2, "gamma": 1.0})
    st = accelsim.simulate("column_combining", "gemm:64x10x300", statistical=True, **kw)
    tr = accelsim.simulate("column_combining", "gemm:64x10x300", **kw)
    assert st["packed_columns"][0] == tr["packed_columns"][0] == 150
    assert st["weights_pruned"][0] == tr["weights_pruned"][0] == 150 * 64
    assert st["cycles"][0] == tr["cycles"][0] and math.isnan(st["output_rel_error"][0])
    # a pruned network: the sampled packing agrees with the trace's within a few percent
    kw = dict(layers=["layer2_0_conv2", "layer3_1_conv1", "fc"], pattern="unstructured", density=0.3,
              act_density=0.5, seed=2)
    st = accelsim.simulate("column_combining", "resnet50", statistical=True, **kw)
    tr = accelsim.simulate("column_combining", "resnet50", **kw)
    assert st["packed_columns"].sum() == pytest.approx(tr["packed_columns"].sum(), rel=0.03)
    assert st["weights_pruned"].sum() == pytest.approx(tr["weights_pruned"].sum(), rel=0.05)
    assert st["cycles"].sum() == pytest.approx(tr["cycles"].sum(), rel=0.05)


def test_sampled_im2col_and_output_error_agree_with_the_whole_product():
    from accelsim.arch.column_combining import _spread, _x_columns, group_columns, output_rel_error
    lay = conv("g", C=4, H=7, W=7, M=6, R=3, stride=2, pad=1, groups=2)
    tr = accelsim.build_trace(accelsim.workload.Workload("w", [lay]), density=0.4, act_density=0.6, seed=3)
    lt = tr.layers[0]
    pos = _spread(lay.N, 64)
    assert pos.size == lay.N == 16
    for g, xs in enumerate(_x_columns(lt, pos)):
        assert np.array_equal(xs, lt.x_gemm(g))
    grs = [group_columns(lt.group_weight(g), 4, 1.0, 256) for g in range(2)]
    num = den = 0.0
    for g, gr in enumerate(grs):           # the layer is smaller than the sample: the exact Frobenius ratio
        w = lt.group_weight(g).astype(np.float64)
        pk = pack_columns(w, 4, 1.0)
        x = lt.x_gemm(g).astype(np.float64)
        num += np.sum(((w - pk.pruned_matrix()) @ x) ** 2)
        den += np.sum((w @ x) ** 2)
    assert sum(gr.pruned for gr in grs) > 0
    assert output_rel_error(lt, grs) == pytest.approx(math.sqrt(num / den), rel=1e-5)


def test_tiles_are_the_authors_tile_count():
    # plot_tiles.py: ceil(rows / 64) x ceil(packed columns / 64) per layer, i.e. the folds of the packed matrix
    # on a 64 x 64 array; the ASIC comparison prunes to 1 - 0.8 (1 - 1/8) before packing (util.prune)
    assert DENSITY == pytest.approx(0.3)
    lay = conv("c", C=16, H=8, W=8, M=70, R=3, pad=1)          # 70 filters x 144 columns
    w = np.zeros(lay.weight_shape, np.float32)
    w[np.arange(70), np.arange(70) % 144] = 1.0                # 70 nonzero columns, one weight each, disjoint
    x = np.ones(lay.input_shape, np.float32)
    cfg = load_arch("column_combining", {"rows": 64, "cols": 64, "alpha": 8, "gamma": 0.0, **FAST})
    res = cfg.simulate(LayerTrace(lay, w, x))
    # 70 disjoint columns in the first 256-column section -> 9 groups (8 x 8 + 6): ceil(9/64) x ceil(70/64) = 2
    assert res.totals["packed_columns"] == 9 and res.totals["folds"] == 2
    assert res.baselines["systolic"].totals["folds"] == 3 * 2        # ceil(144/64) x ceil(70/64)
