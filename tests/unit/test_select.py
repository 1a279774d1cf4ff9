"""The O(n) top-k magnitude selection against the sort-based rule it replaces (ties: the lower index wins)."""
import numpy as np
import pytest

from accelsim.traces._select import nm_mask, zero_all_but_top_abs
from accelsim.traces.generate import layer_rng, make_activations
from accelsim.traces.pruners import _keep_top


def test_a_hand_case():
    x = np.array([0.5, -3.0, 2.0, -2.0, 2.0, 0.0], dtype=np.float32)
    # |x| = .5 3 2 2 2 0: the three largest are 3 and the first two 2s (indices 2 and 3)
    assert zero_all_but_top_abs(x, 3).tolist() == [0.0, -3.0, 2.0, -2.0, 0.0, 0.0]
    assert zero_all_but_top_abs(x, 0).tolist() == [0.0] * 6
    assert zero_all_but_top_abs(x, 6).tolist() == x.tolist()


@pytest.mark.parametrize("seed", range(4))
def test_equals_the_partition_rule_with_many_ties(seed):
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal(3000).astype(np.float32), 1)   # about 60 distinct magnitudes
    x[::5] = 0.0
    x[1::7] = -x[1::7]
    for k in range(0, 3001, 29):
        want = _keep_top(np.abs(x), k)
        assert np.array_equal(zero_all_but_top_abs(x, k), np.where(want, x, 0)), k


def test_activations_have_exactly_the_asked_zeros():
    x = make_activations((2, 3, 7, 5), 0.37, layer_rng(0, 0, 2))
    assert (x == 0).sum() == 210 - round(0.37 * 210) and (x >= 0).all()
    # the zeros are spread uniformly: each quarter of a long vector holds its share (binomial sd ~0.7 %)
    z = make_activations((40000,), 0.25, layer_rng(1, 0, 2)) == 0
    assert np.allclose(z.reshape(4, -1).mean(axis=1), 0.75, atol=0.03)


def _nm_by_sorting(w, n, m):
    """The N:M rule by a stable sort of each group (the pruner's earlier implementation): the oracle."""
    M, K = w.shape
    ng = -(-K // m)
    pad = np.full((M, ng * m), -1.0)
    pad[:, :K] = np.abs(w)
    order = np.argsort(-pad.reshape(M, ng, m), axis=2, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(m), order.shape).copy(), axis=2)
    return (ranks < n).reshape(M, ng * m)[:, :K]


def test_nm_by_hand():
    w = np.array([[0.1, -0.5, 0.5, 0.2, 0.3, 0.0, 0.0]], dtype=np.float32)
    # groups [.1 -.5 .5 .2] keeps -.5 and .5; tail [.3 0 0] keeps .3 and the first 0
    assert nm_mask(np.abs(w), 2, 4).tolist() == [[False, True, True, False, True, True, False]]


@pytest.mark.parametrize("n,m", [(2, 4), (1, 4), (2, 8), (3, 3), (4, 4)])
def test_nm_equals_the_sorting_rule_with_ties(n, m):
    rng = np.random.default_rng(n * 10 + m)
    w = np.round(rng.standard_normal((37, 53)), 1).astype(np.float32)   # K not a multiple of m, many ties
    w[:, ::9] = 0.0
    assert np.array_equal(nm_mask(np.abs(w), n, m), _nm_by_sorting(w, n, m))


def test_in_place_selection_is_the_copy_selection():
    rng = np.random.default_rng(5)
    x = np.round(rng.standard_normal((40, 25)).astype(np.float32), 1)
    for k in (0, 1, 333, 1000):
        want = zero_all_but_top_abs(x, k)
        y = x.copy()
        assert zero_all_but_top_abs(y, k, inplace=True) is y and np.array_equal(y, want)
    with pytest.raises(ValueError, match="contiguous float32"):
        zero_all_but_top_abs(x.astype(np.float64), 3, inplace=True)
