"""SCNN's fast kernels against their slow paths: hand-checked streams, then random layers.

The counts, run lengths and walk inputs SCNN reads once per layer (``_scnn_pe._mask_counts``,
``_weight_taps``, ``_weight_stream_runs``; ``formats.kernels.flat_stream_padding`` and the gathered
``tile_stream_padding``) must equal what the straightforward code gives, bit for bit.
"""

import numpy as np
import pytest

from accelsim.arch import _scnn_pe as pe
from accelsim.arch import load_arch
from accelsim.formats import get_format
from accelsim.formats import kernels as K
from accelsim.traces import LayerTrace
from accelsim.workload import conv


def slow_pads(flat, span):
    """(nnz, pads) of one stream: a nonzero after g zeros needs g // span padding entries."""
    pos = np.flatnonzero(flat)
    gaps = np.diff(np.concatenate(([-1], pos))) - 1
    return int(pos.size), int((gaps // span).sum())


# ---- hand-checked ------------------------------------------------------------------------
def test_flat_stream_hand_case():
    # 18 zeros then a nonzero (EIE's example: one padding entry at span 16), then gaps of 16 (one)
    # and 40 (two); the trailing zeros need none
    m = np.zeros(100, bool)
    m[[18, 35, 76]] = True
    assert K.flat_stream_padding(m.reshape(1, -1), 16) == (3, 1 + 1 + 2)
    assert K.stream_padding(m.reshape(1, -1), 16, False) == (3, 4)
    assert K.flat_stream_padding(m.reshape(1, -1), 15) == (3, 1 + 1 + 2)
    m[:] = False
    assert K.flat_stream_padding(m.reshape(1, -1), 16) == (0, 0)


def test_weight_stream_hand_case():
    # M=3 rows, C=2 channels, 1x1: two groups of kc=2 and 1 -> stream [w00 w10 w01 w11 | w20 w21]
    w = np.array([[1, 0], [0, 0], [0, 2]], np.float32)
    k0s, sizes = np.array([0, 2]), np.array([2, 1])
    stream = pe._weight_stream(w, k0s, sizes, 1)
    assert stream.tolist() == [True, False, False, False, False, True]
    assert pe._weight_stream_runs(w, k0s, sizes, 1, 8) == (2, 0)
    assert pe._weight_stream_runs(np.zeros((1, 40), np.float32) + np.eye(1, 40, 39, dtype=np.float32),
                                  np.array([0]), np.array([1]), 1, 16) == (1, 2)      # 39 zeros: 2 entries
    assert pe._weight_taps(w, k0s, sizes).tolist() == [[1, 0], [0, 1]]


def test_mask_counts_hand_case():
    # one 1x4x4 plane of ones, 2x2 tiles, a 3x3 filter with pad 1 over a 4x4 output
    m = np.ones((1, 1, 4, 4), bool)
    yf, yl = pe._tap_bounds(3, 1, 1, 4, 4)
    xf, xl = pe._tap_bounds(3, 1, 1, 4, 4)
    A, win = pe._mask_counts(m, np.array([0, 2, 4]), np.array([0, 2, 4]), 1, 1, False, yf, yl, xf, xl)
    assert A.reshape(-1).tolist() == [4, 4, 4, 4]
    # tap (r, s) meets rows r-1..r+2 and columns s-1..s+2 within the plane: 3 x 3 at the corners
    assert win[0].tolist() == [[9, 12, 9], [12, 16, 12], [9, 12, 9]]


# ---- random layers against the slow paths -------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_streams_match_slow_paths(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        n = int(rng.integers(1, 300))
        m = rng.random(n) < rng.random() ** 2
        for span in (7, 8, 15, 16, 33):
            assert K.stream_padding(m.reshape(1, -1), span, False) == slow_pads(m, span)
        B, C, H, W = (int(v) for v in rng.integers(1, [3, 4, 30, 30]))
        mask = rng.random((B, C, H, W)) < rng.random() ** 2
        ny, nx = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        yb, xb = pe.split(H, ny), pe.split(W, nx)
        for span in (3, 16):
            out = K.tile_stream_padding(mask, yb, xb, span)
            for b in range(B):
                for i in range(ny):
                    for j in range(nx):
                        t = mask[b, :, yb[i]:yb[i + 1], xb[j]:xb[j + 1]].ravel()
                        assert tuple(out[b, i * nx + j]) == slow_pads(t, span)


def slow_conv_counts(lt, plan):
    """A, per-group taps and the windows the plain way (numpy over positions)."""
    lay = lt.layer
    x = lt.input != 0
    labels = pe.pos_labels(lay, plan)
    B, C = x.shape[:2]
    A = np.zeros((B, plan.nv * plan.nph, C))
    for lab in range(plan.nv * plan.nph):
        A[:, lab] = x[:, :, labels == lab].sum(axis=-1)
    A = A.reshape(B, plan.nv, plan.nph, C).transpose(0, 1, 3, 2)
    w = pe._gemm_weight(lt) != 0
    taps = np.stack([w[a:a + s].sum(axis=0) for a, s in zip(plan.kg_k0, plan.kg_size)])
    return A, taps, pe.window_counts(lay, x.sum(axis=0, dtype=np.float64))


@pytest.mark.parametrize("seed", range(3))
def test_conv_counts_and_weight_runs_match_slow_paths(seed):
    rng = np.random.default_rng(seed)
    fmts = [get_format("rle", value_bits=16, run_bits=4), get_format("zero_padded_delta", delta_bits=4),
            get_format("rle", run_bits=2)]
    done = 0
    while done < 25:
        R = int(rng.choice([1, 1, 3, 3, 5])); st = int(rng.integers(1, 3)); pad = int(rng.integers(0, R))
        G = int(rng.choice([1, 1, 2])); C = G * int(rng.integers(1, 5)); M = G * int(rng.integers(1, 12))
        H, W = int(rng.integers(R, 18)), int(rng.integers(R, 18))
        lay = conv("x", C=C, H=H, W=W, M=M, R=R, S=R, stride=st, pad=pad, groups=G, batch=int(rng.integers(1, 3)))
        w = rng.standard_normal(lay.weight_shape) * (rng.random(lay.weight_shape) < rng.random())
        x = rng.random(lay.input_shape) * (rng.random(lay.input_shape) < rng.random())
        lt = LayerTrace(lay, w.astype(np.float32), x.astype(np.float32))
        mode = "phase" if rng.random() < 0.7 else "cartesian"
        p = load_arch("scnn", {"pes": [int(rng.integers(1, 5)), int(rng.integers(1, 5))], "stride_mode": mode}).params
        plan, counts = pe.trace_counts(lt, p, sparse=True)
        A, taps, win = slow_conv_counts(lt, plan)
        assert np.array_equal(counts.A, A)
        rs = lay.R * lay.S
        assert np.array_equal(counts.Wc, pe._by_phase(lay, plan, taps.reshape(len(plan.kg_k0), -1, rs)))
        assert counts.valid == pe._valid_from_taps(lay, plan, taps.reshape(len(plan.kg_k0), -1, rs), win)
        # the streamed weights: order by blocks, and their run lengths without the stream
        w2 = pe._gemm_weight(lt).reshape(lay.M, C // G, rs) != 0
        order = np.concatenate([w2[a:a + s].transpose(1, 0, 2).ravel() for a, s in zip(plan.kg_k0, plan.kg_size)])
        assert np.array_equal(pe.weight_stream_mask(lt, p), order)
        for fmt in fmts:
            e, e0 = pe.weight_stream_encoding(lt, p, fmt), fmt.measure(order)
            assert (e.nnz, e.value_bits, e.metadata_bits, e.total_bits) == \
                (e0.nnz, e0.value_bits, e0.metadata_bits, e0.total_bits)
        done += 1


def test_dense_counts_scaled_from_one_channel():
    # DCNN's dense counts: one channel's sums times the channels equal the full per-channel sums
    lay = conv("x", C=6, H=9, W=11, M=10, R=3, S=3, pad=1)
    p = load_arch("dcnn").params
    plan, dense = pe.trace_counts(LayerTrace(lay, np.ones(lay.weight_shape, np.float32),
                                             np.ones(lay.input_shape, np.float32)), p, sparse=False)
    fast = pe.conv_sums(dense.A, dense.Wc, 1, plan.nkg_per_group, p.I, p.F)
    slow = pe.conv_sums(np.ascontiguousarray(dense.A), np.ascontiguousarray(dense.Wc), 1, plan.nkg_per_group,
                        p.I, p.F)
    for a, b in zip(fast, slow):
        assert np.array_equal(a, b)
