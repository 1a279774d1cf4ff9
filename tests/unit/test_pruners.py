"""Pruners reach their target density and satisfy their pattern exactly."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accelsim.errors import PatternError
from accelsim.traces import parse_pattern, prune, satisfies
from accelsim.traces.pruners import detect_pattern, global_threshold_densities


def test_magnitude_pruning_keeps_the_largest():
    w = np.array([[0.1, -5.0, 0.3, 2.0], [-0.2, 0.05, 4.0, -1.0]], dtype=np.float32)
    out = prune(w, parse_pattern("unstructured"), 0.5)
    # the four largest magnitudes are 5, 4, 2, 1
    assert np.array_equal(out != 0, np.array([[0, 1, 0, 1], [0, 0, 1, 1]], dtype=bool))
    assert np.array_equal(out[out != 0], w[out != 0])


def test_nm_keeps_top_n_of_each_group_along_k():
    w = np.array([[1, -3, 2, 0.5, 9, 8, -7, 1]], dtype=np.float32)
    out = prune(w, parse_pattern("nm:2:4"), 0.5)
    assert out.tolist() == [[0, -3, 2, 0, 9, 8, 0, 0]]


def test_nm_tail_group_keeps_min_n_len():
    w = np.arange(1, 7, dtype=np.float32)[None]  # K=6: groups [1..4], [5, 6]
    out = prune(w, parse_pattern("nm:1:4"), 0.25)
    assert out.tolist() == [[0, 0, 0, 4, 0, 6]]


def test_block_pruning_ranks_blocks_by_l2_norm():
    w = np.ones((4, 4), dtype=np.float32)
    w[:2, 2:] = 10.0
    out = prune(w, parse_pattern("block:2x2"), 0.25)
    assert np.array_equal(out != 0, np.pad(np.ones((2, 2), bool), ((0, 2), (2, 0))))


def test_channel_pruning_removes_whole_rows():
    w = np.array([[1, 1], [5, 5], [2, 2], [0.1, 9]], dtype=np.float32)
    out = prune(w, parse_pattern("channel"), 0.5)
    assert (out != 0).sum(axis=1).tolist() == [0, 2, 0, 2]


def test_balanced_gives_equal_counts_per_group(rng):
    w = rng.standard_normal((8, 10)).astype(np.float32)
    w[:4] *= 10  # skewed: unstructured would put most nonzeros in the first rows
    out = prune(w, parse_pattern("balanced:2"), 0.3)
    counts = (out != 0).reshape(4, 20).sum(axis=1)
    assert counts.tolist() == [6, 6, 6, 6]
    skew = (prune(w, parse_pattern("unstructured"), 0.3) != 0).reshape(4, 20).sum(axis=1)
    assert skew[:2].sum() > skew[2:].sum()


def test_random_is_seeded_and_exact():
    w = np.ones((10, 10), dtype=np.float32)
    a = prune(w, parse_pattern("random"), 0.37, np.random.default_rng(5))
    b = prune(w, parse_pattern("random"), 0.37, np.random.default_rng(5))
    assert np.array_equal(a, b) and np.count_nonzero(a) == 37


@pytest.mark.parametrize("text,msg", [("nm:4:2", "N <= M"), ("block:0x4", ">= 1"), ("stripes", "unknown pattern"),
                                      ("balanced:0", ">= 1")])
def test_bad_patterns(text, msg):
    with pytest.raises(PatternError, match=msg):
        parse_pattern(text)


def test_global_threshold_gives_global_density(rng):
    ws = {"a": rng.standard_normal((50, 40)), "b": 3 * rng.standard_normal((20, 30))}
    d = global_threshold_densities(ws, 0.2)
    kept = sum(d[k] * ws[k].size for k in ws)
    assert kept == pytest.approx(0.2 * 2600, abs=1)
    assert d["b"] > d["a"]  # larger weights survive a global threshold


def test_detect_pattern():
    w = prune(np.arange(1, 33, dtype=np.float32).reshape(4, 8), parse_pattern("nm:2:4"), 0.5)
    assert detect_pattern(w) == "nm:2:4"
    w = prune(np.random.default_rng(0).standard_normal((16, 16)).astype(np.float32), parse_pattern("block:4x4"), 0.25)
    assert detect_pattern(w) == "block:4x4"


shapes = st.tuples(st.integers(1, 40), st.integers(1, 40))


@settings(max_examples=40, deadline=None)
@given(shape=shapes, density=st.floats(0.01, 1.0), seed=st.integers(0, 100),
       pattern=st.sampled_from(["unstructured", "random", "block:2x3", "channel", "balanced:3", "nm:2:4", "nm:1:8"]))
def test_pruners_reach_target_and_satisfy_pattern(shape, density, seed, pattern):
    w = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) + 1e-3
    w[w == 0] = 1.0
    pat = parse_pattern(pattern)
    out = prune(w, pat, density, np.random.default_rng(seed))
    assert satisfies(out, pat)
    nz = np.count_nonzero(out)
    M, K = shape
    if pat.kind in ("unstructured", "random"):
        assert nz == round(density * w.size)
    elif pat.kind == "channel":
        assert nz == round(density * M) * K
    elif pat.kind == "nm":
        n, m = pat.a, pat.b
        full, tail = divmod(K, m)
        assert nz == M * (full * n + min(n, tail))
    elif pat.kind == "balanced":
        assert nz == sum(round(density * min(3, M - r) * K) for r in range(0, M, 3))
    # pruning only removes weights, never changes kept ones
    assert np.array_equal(out[out != 0], w[out != 0])
