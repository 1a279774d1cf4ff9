"""Traces: determinism, densities, .npz round trip, hostile and mismatched files."""

import numpy as np
import pytest

import accelsim
from accelsim.errors import AccelsimError, TraceError
from accelsim.traces import im2col, load_trace, make_trace, save_trace
from accelsim.workload import conv, gemm, load_workload


def test_same_seed_same_trace_bit_for_bit():
    wl = load_workload("alexnet")
    a = make_trace(wl, "unstructured", density=0.3, act_density=0.4, seed=7, layers=["conv2", "fc8"])
    b = make_trace(wl, "unstructured", density=0.3, act_density=0.4, seed=7, layers=["conv2", "fc8"])
    c = make_trace(wl, "unstructured", density=0.3, act_density=0.4, seed=8, layers=["conv2", "fc8"])
    for x, y in zip(a, b):
        assert np.array_equal(x.weight, y.weight) and np.array_equal(x.input, y.input)
    assert not np.array_equal(a.layers[0].weight, c.layers[0].weight)
    assert a.digest() == b.digest() != c.digest()


def test_a_layer_is_the_same_alone_or_in_the_network():
    wl = load_workload("alexnet")
    alone = make_trace(wl, "random", density=0.5, seed=3, layers=["fc7"])
    full = make_trace(wl, "random", density=0.5, seed=3, layers=["conv1", "fc7"])
    assert np.array_equal(alone.layer("fc7").weight, full.layer("fc7").weight)


def test_densities_are_exact():
    tr = make_trace(load_workload("gemm:100x30x50"), "unstructured", density=0.25, act_density=0.6, seed=0)
    lt = tr.layers[0]
    assert np.count_nonzero(lt.weight) == 1250 and lt.weight.shape == (100, 50)
    assert np.count_nonzero(lt.input) == 900 and lt.input.shape == (50, 30)


def test_profiles_set_per_layer_densities():
    tr = make_trace(load_workload("alexnet"), profile="han2015", seed=0, layers=["conv1", "fc6"])
    assert tr.layer("conv1").weight_density == pytest.approx(0.84, abs=1e-4)
    assert tr.layer("fc6").weight_density == pytest.approx(0.09, abs=1e-4)
    eie = make_trace(load_workload("eie_benchmark"), seed=0, layers=["alex8"])  # default profile 'eie'
    assert eie.layers[0].weight_density == pytest.approx(0.25, abs=1e-4)
    assert eie.layers[0].act_density == pytest.approx(0.375, abs=1e-3)


def test_erk_keeps_first_layer_dense_and_hits_global_density():
    wl = load_workload("alexnet")
    d = wl.densities("erk", 0.2)
    assert d["conv1"].weight == 1.0
    kept = sum(d[l.name].weight * l.n_weights for l in wl.layers)
    assert kept / wl.total_weights == pytest.approx(0.2, rel=1e-6)
    assert d["fc6"].weight < d["conv3"].weight  # bigger layers get sparser


def test_nm_fixes_density_and_rejects_conflict():
    tr = make_trace(load_workload("gemm:16x4x32"), "nm:2:4", seed=0)
    assert tr.layers[0].weight_density == 0.5
    with pytest.raises(AccelsimError, match="fixes the weight density"):
        make_trace(load_workload("gemm:16x4x32"), "nm:2:4", density=0.3)


def test_round_trip(tmp_path):
    tr = make_trace(load_workload("alexnet"), "block:4x4", density=0.3, act_density=0.5, seed=1, layers=["conv2", "fc8"])
    p = save_trace(tr, tmp_path / "t.npz")
    back = load_trace(p)
    assert [l.layer for l in back] == [l.layer for l in tr]
    for x, y in zip(tr, back):
        assert np.array_equal(x.weight, y.weight) and np.array_equal(x.input, y.input)
    assert back.provenance["pattern"] == "block:4x4" and back.provenance["seed"] == 1


def test_users_own_npz(tmp_path):
    w = np.zeros((6, 4), dtype=np.float32)
    w[0, 1] = 2
    x = np.ones((4, 3), dtype=np.float32)
    np.savez(tmp_path / "mine.npz", **{"fc.weight": w, "fc.input": x})
    tr = load_trace(tmp_path / "mine.npz")
    lt = tr.layers[0]
    assert (lt.layer.M, lt.layer.K, lt.layer.N) == (6, 4, 3)
    assert lt.weight_density == pytest.approx(1 / 24)
    df = accelsim.simulate("ideal", trace=tmp_path / "mine.npz")
    assert df["macs_performed"].iloc[0] == 3  # one weight times three nonzero inputs


def test_pickled_npz_is_refused(tmp_path):
    p = tmp_path / "evil.npz"
    np.savez(p, **{"fc.weight": np.array([object()], dtype=object)})
    with pytest.raises(TraceError, match="pickled"):
        load_trace(p)


def test_corrupt_npz_is_refused(tmp_path):
    p = tmp_path / "bad.npz"
    p.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(TraceError, match="corrupt|readable"):
        load_trace(p)


def test_trace_that_does_not_fit_the_workload(tmp_path):
    np.savez(tmp_path / "t.npz", **{"fc6.weight": np.ones((10, 10), dtype=np.float32)})
    with pytest.raises(TraceError, match="no weights for layer"):
        load_trace(tmp_path / "t.npz", load_workload("alexnet"))
    wl = load_workload("gemm:10x1x12")
    np.savez(tmp_path / "u.npz", **{"gemm.weight": np.ones((10, 10), dtype=np.float32)})
    with pytest.raises(TraceError, match="needs 10x12"):
        load_trace(tmp_path / "u.npz", wl)


def test_huge_layer_is_refused_before_allocating():
    with pytest.raises(TraceError, match="more than"):
        make_trace(load_workload("gemm:100000x10x100000"))


def test_im2col_matches_direct_convolution(rng):
    lay = conv("c", C=3, H=7, W=6, M=4, R=3, stride=2, pad=1)
    x = rng.standard_normal((1, 3, 7, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    out = w.reshape(4, -1) @ im2col(x, 3, 3, 2, 1)
    xp = np.pad(x[0], ((0, 0), (1, 1), (1, 1)))
    ref = np.zeros((4, lay.P, lay.Q))
    for m in range(4):
        for p in range(lay.P):
            for q in range(lay.Q):
                ref[m, p, q] = (w[m] * xp[:, 2 * p:2 * p + 3, 2 * q:2 * q + 3]).sum()
    assert np.allclose(out.reshape(4, lay.P, lay.Q), ref, atol=1e-5)
    assert lay.N == lay.P * lay.Q == 4 * 3


def test_grouped_conv_gemms():
    wl = load_workload("alexnet")
    lt = make_trace(wl, "dense", seed=0, layers=["conv2"]).layers[0]
    gs = list(lt.gemms())
    assert len(gs) == 2 and gs[0][0].shape == (128, 1200) and gs[0][1].shape == (1200, 729)


def test_effectual_macs_by_hand():
    lay = gemm("g", M=2, K=3, N=2)
    from accelsim.traces import LayerTrace
    w = np.array([[1, 0, 2], [0, 0, 3]], dtype=np.float32)
    x = np.array([[1, 1], [5, 5], [0, 4]], dtype=np.float32)
    lt = LayerTrace(lay, w, x)
    # nonzero pairs: w00 with x0* (2), w02 with x21 (1), w12 with x21 (1)
    assert lt.effectual_macs() == 4


def _crafted(tmp_path, layer, name="L", extra=None):
    import json
    meta = {"workload": "w", "provenance": {}, "layers": [{"layer": layer, "info": {}}]}
    arrays = {f"{name}.weight": np.ones((4, 3), np.float32), "__meta__": np.array(json.dumps(meta))}
    arrays.update(extra or {})
    p = tmp_path / "crafted.npz"
    np.savez(p, **arrays)
    return p


@pytest.mark.parametrize("layer,msg", [
    ({"name": "L", "op": "conv", "M": 4, "K": 3, "N": 1, "groups": 0}, "'groups' must be an integer"),
    ({"name": "L", "op": "fc", "M": 4, "K": 3, "N": -1}, "'N' must be an integer"),
    ({"name": "L", "op": "fc", "M": 4, "K": 3, "N": "a"}, "'N' must be an integer"),
    ({"name": "../x", "op": "fc", "M": 4, "K": 3, "N": 1}, "not a plain name"),
    ({"name": "L", "op": "conv", "M": 4, "K": 3, "N": 1, "C": 0, "H": 0, "W": 0}, "impossible"),
    ({"name": "L", "op": "warp", "M": 4, "K": 3, "N": 1}, "is not one of"),
    ({"name": "L", "op": "matmul", "M": 4, "K": 3, "N": 1, "count": 12, "batched": 5}, "does not divide count"),
    ({"name": "L", "op": "matmul", "M": 4, "K": 3, "N": 1, "batched": 0}, "'batched' must be an integer"),
    ("not a dict", "must be an object"),
])
def test_crafted_trace_metadata_is_one_clear_error(tmp_path, layer, msg):
    """Issue 23: a trace's stored layer description is checked like any user input."""
    from accelsim.errors import TraceError
    with pytest.raises(TraceError, match=msg):
        load_trace(_crafted(tmp_path, layer))


def test_bool_tensors_and_huge_integers_are_refused(tmp_path):
    from accelsim.errors import TraceError
    p = tmp_path / "b.npz"
    np.savez(p, **{"L.weight": np.ones((2, 2), bool)})
    with pytest.raises(TraceError, match="dtype bool"):
        load_trace(p)
    np.savez(p, **{"L.weight": np.full((2, 2), 2 ** 40, np.int64)})
    with pytest.raises(TraceError, match="beyond 2\\^24"):
        load_trace(p)


def test_saving_never_follows_a_planted_link(tmp_path):
    """Issue 23: the temporary file is fresh and unpredictable; a planted link is never written through."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    for guess in (".t.npz.tmp", "t.npz.tmp"):
        (tmp_path / guess).symlink_to(victim)
    tr = make_trace(load_workload("gemm:4x2x3"), "unstructured", density=0.5)
    save_trace(tr, tmp_path / "t.npz")
    assert victim.read_text() == "precious"
    assert load_trace(tmp_path / "t.npz").layers[0].weight.shape == (4, 3)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()]
