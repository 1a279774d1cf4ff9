"""Sparse formats: exact round trips, hand-checked bit counts, measure == encode, bad parameters."""
import itertools

import numpy as np
import pytest

from accelsim.errors import AccelsimError, ConfigError, FormatError
from accelsim.formats import expected_padding, get_format, list_formats

# every format, with parameters that exercise padding, widths and orders
SPECS = [
    ("dense", {}), ("bitmap", {}), ("coo", {}),
    ("rle", {"run_bits": 2}), ("rle", {"run_bits": 3, "order": "col"}), ("rle", {"value_bits": 12, "run_bits": 4}),
    ("zero_padded_delta", {"delta_bits": 2}), ("zero_padded_delta", {"delta_bits": 3, "order": "col"}),
    ("csr", {}), ("csc", {}), ("csr", {"index_mode": "relative", "index_bits": 2}),
    ("csc", {"index_mode": "relative", "index_bits": 1}), ("csr", {"index_bits": 9, "ptr_bits": 12}),
    ("bcsr", {"block": (2, 3)}), ("bcsr", {"block": (1, 1)}), ("bcsr", {"block": (4, 1)}),
    ("strided", {}), ("strided", {"stride_bits": 2, "count_bits": 2, "order": "col"}),
    ("ranks", {"ranks": "UOP,CP"}), ("ranks", {"ranks": "UOP,RLE2", "order": "col"}), ("ranks", {"ranks": "B,B"}),
    ("ranks", {"ranks": "CP,CP"}), ("ranks", {"ranks": "RLE,RLE1"}), ("ranks", {"ranks": "U,CP"}),
    ("ranks", {"ranks": "B,U"}), ("ranks", {"ranks": "RLE3"}), ("ranks", {"ranks": "CP"}),
]
NM = ("nm", {"n": 2, "m": 4})


def _masks(shape, rng):
    """The shape classes of the issue: random, empty rows, all zero, all dense, one nonzero, long gaps."""
    n = int(np.prod(shape))
    flat_one = np.zeros(n, bool)
    flat_one[n // 2] = True
    long_gaps = np.zeros(n, bool)
    long_gaps[[0, n - 1]] = True
    long_gaps[n // 3] = True
    empty_rows = rng.random(shape) < 0.4
    if len(shape) >= 2:
        empty_rows.reshape(-1, shape[-1])[::2] = False
    return {"random": rng.random(shape) < 0.3, "empty_rows": empty_rows, "all_zero": np.zeros(shape, bool),
            "all_dense": np.ones(shape, bool), "one_nonzero": flat_one.reshape(shape),
            "long_gaps": long_gaps.reshape(shape)}


def _tensor(mask, rng, dtype):
    vals = rng.integers(1, 100, mask.shape) * rng.choice([-1, 1], mask.shape)
    return np.where(mask, vals, 0).astype(dtype)


@pytest.mark.parametrize("shape", [(9, 37), (1, 70), (50,), (3, 4, 6)])
@pytest.mark.parametrize("name,params", SPECS, ids=[f"{n}-{'-'.join(map(str, p.values()))}" for n, p in SPECS])
def test_round_trip_and_measure(name, params, shape, rng):
    fmt = get_format(name, **params)
    for kind, mask in _masks(shape, rng).items():
        for dtype in (np.float32, np.int8):
            t = _tensor(mask, rng, dtype)
            e = fmt.encode(t)
            back = fmt.decode(e)
            assert back.dtype == t.dtype and back.shape == t.shape, kind
            assert np.array_equal(back, t), f"{name} {params} {kind}"
            m = fmt.measure(t)
            assert (m.value_bits, m.metadata_bits, m.padding_entries, m.nnz, m.breakdown) == \
                   (e.value_bits, e.metadata_bits, e.padding_entries, e.nnz, e.breakdown), kind
            assert e.nnz == np.count_nonzero(t)
            assert e.total_bits == e.value_bits + e.metadata_bits
            assert sum(e.breakdown.values()) == e.metadata_bits
            # the values stored are the nonzeros plus the padding entries, value_bits each
            width = fmt.p.value_bits
            assert e.value_bits == (e.nnz + e.padding_entries) * width


def test_nm_round_trip_on_nm_tensors(rng):
    fmt = get_format(*NM[:1], **NM[1])
    for shape in [(6, 16), (5, 10), (13,)]:
        t = rng.integers(1, 9, shape).astype(np.float32)
        g = t.reshape(-1, shape[-1])
        for row in g:  # keep at most 2 of every 4 (a short tail group too)
            for s in range(0, row.size, 4):
                grp = row[s:s + 4]
                drop = rng.permutation(grp.size)[:max(0, grp.size - rng.integers(0, 3))]
                grp[drop] = 0
        e = fmt.encode(t)
        assert np.array_equal(fmt.decode(e), t)
        m = fmt.measure(t)
        assert (m.value_bits, m.metadata_bits, m.padding_entries) == (e.value_bits, e.metadata_bits, e.padding_entries)


# ---- bit counts checked by hand ---------------------------------------------------------------------

M35 = np.array([[0, 2, 0, 0, 3],
                [0, 0, 0, 0, 0],
                [1, 0, 0, 0, 0]], dtype=np.int8)


def test_dense_bitmap_coo_by_hand():
    e = get_format("dense", value_bits=8).encode(M35)
    assert (e.value_bits, e.metadata_bits, e.padding_entries) == (15 * 8, 0, 12)
    e = get_format("bitmap", value_bits=8).encode(M35)
    assert (e.value_bits, e.metadata_bits) == (3 * 8, 15)
    e = get_format("coo", value_bits=8).encode(M35)        # 15 positions: 4-bit offsets
    assert (e.value_bits, e.metadata_bits, e.total_bits) == (24, 12, 36)
    assert list(e.payload["offsets"]) == [1, 4, 10]


def test_csr_csc_by_hand():
    e = get_format("csr", value_bits=8).encode(M35)
    # 3 column indices of ceil(log2 5) = 3 bits; 4 row pointers counting 3 entries in 2 bits
    assert e.breakdown == {"indices": 9, "pointers": 8}
    assert e.total_bits == 24 + 17
    assert list(e.payload["ptr"]) == [0, 2, 2, 3] and list(e.payload["idx"]) == [1, 4, 0]
    e = get_format("csc", value_bits=8).encode(M35)
    # 3 row indices of ceil(log2 3) = 2 bits; 6 column pointers of 2 bits
    assert e.breakdown == {"indices": 6, "pointers": 12}
    assert list(e.payload["ptr"]) == [0, 1, 2, 2, 2, 3] and list(e.payload["idx"]) == [2, 0, 0]


def test_eie_relative_index_example():
    """Han et al., ISCA 2016, Sec. III-B: a gap of 18 zeros with 4-bit runs stores a padding zero (run 15)."""
    v = np.zeros(19, np.float32)
    v[18] = 5.0
    e = get_format("rle", value_bits=12, run_bits=4).encode(v)
    assert list(e.payload["runs"]) == [15, 2] and list(e.payload["values"]) == [0.0, 5.0]
    assert (e.padding_entries, e.value_bits, e.metadata_bits) == (1, 24, 8)
    assert e.total_bits == 2 * 16  # the 16-bit packing of a 12-bit value with a 4-bit run
    # the same column through EIE's CSC: one column pointer pair counting 2 entries
    e = get_format("csc", value_bits=12, index_bits=4, index_mode="relative").encode(v.reshape(19, 1))
    assert e.padding_entries == 1 and list(e.payload["idx"]) == [15, 2]
    assert e.breakdown == {"indices": 8, "pointers": 2 * 2}


def test_relative_csr_padding_by_hand():
    row = np.zeros((1, 20), np.int8)
    row[0, 6], row[0, 19] = 7, 9
    e = get_format("csr", value_bits=8, index_bits=2, index_mode="relative").encode(row)
    # span 4: gap 6 -> 1 pad + run 2; gap 12 -> 3 pads + run 0; 6 entries, pointers count 6 in 3 bits
    assert list(e.payload["idx"]) == [3, 2, 3, 3, 3, 0]
    assert (e.padding_entries, e.value_bits) == (4, 48)
    assert e.breakdown == {"indices": 12, "pointers": 6}


def test_zero_padded_delta_by_hand():
    v = np.zeros(40, np.int8)
    v[[14, 30, 39]] = 1
    e = get_format("zero_padded_delta", value_bits=8, delta_bits=4).encode(v)
    # deltas from -1: 15 fits; 16 does not (max 15): a padding zero 15 on, then 1; 9 fits
    assert list(e.payload["deltas"]) == [15, 15, 1, 9]
    assert (e.padding_entries, e.metadata_bits, e.value_bits) == (1, 16, 32)
    # rle with 4-bit runs covers the same gaps without padding (runs 14, 15, 8)
    r = get_format("rle", value_bits=8, run_bits=4).encode(v)
    assert list(r.payload["runs"]) == [14, 15, 8] and r.padding_entries == 0


def test_bcsr_nm_strided_by_hand():
    t = np.zeros((4, 4), np.int8)
    t[0, 0], t[3, 3] = 1, 2
    e = get_format("bcsr", block=(2, 2), value_bits=8).encode(t)
    # 2 of 4 blocks kept, stored whole; block column index 1 bit each; 3 pointers of 2 bits
    assert (e.value_bits, e.padding_entries) == (64, 6)
    assert e.breakdown == {"block_indices": 2, "pointers": 6}
    e = get_format("nm", n=2, m=4, value_bits=8).encode(np.array([1, 0, 2, 0, 0, 0, 0, 3]))
    # 2 groups x 2 entries, 2-bit positions; the second group pads one zero
    assert (e.value_bits, e.metadata_bits, e.padding_entries) == (32, 8, 1)
    v = np.zeros(16, np.int8)
    v[[1, 4, 7, 10, 15]] = 1
    e = get_format("strided", value_bits=8).encode(v)
    # segments (1, 3, 4) and (15, 0, 1); offsets and strides in 4 bits, counts up to 16 in 5
    assert list(e.payload["offsets"]) == [1, 15] and list(e.payload["strides"]) == [3, 0]
    assert list(e.payload["counts"]) == [4, 1]
    assert (e.metadata_bits, e.value_bits) == (2 * 13, 40)


def test_strided_limits_cut_segments():
    v = np.zeros(64, np.int8)
    v[::8] = 1                      # 8 evenly spaced nonzeros: one segment...
    assert get_format("strided").encode(v).payload["counts"].tolist() == [8]
    # ...unless a count fits in 2 bits (at most 3 per segment) or the stride 8 exceeds 3 bits
    assert get_format("strided", count_bits=2).encode(v).payload["counts"].tolist() == [3, 3, 2]
    assert get_format("strided", stride_bits=3).encode(v).payload["counts"].tolist() == [1] * 8


def test_list_formats_names_every_family():
    assert {"dense", "bitmap", "coo", "rle", "zero_padded_delta", "csr", "csc", "bcsr", "nm", "strided",
            "ranks"} <= set(list_formats())


# ---- the analytic padding of a gap-coded stream ---------------------------------------------------------

@pytest.mark.parametrize("length,span", [(9, 2), (10, 4), (7, 1), (11, 3)])
@pytest.mark.parametrize("d", [0.1, 0.5, 0.8])
def test_expected_padding_equals_enumeration(length, span, d):
    """Exact expectation by summing over all 2^L masks of a short stream."""
    total = 0.0
    for bits in itertools.product((0, 1), repeat=length):
        k = sum(bits)
        p = d ** k * (1 - d) ** (length - k)
        last, pads = -1, 0
        for i, b in enumerate(bits):
            if b:
                pads += (i - last - 1) // span
                last = i
        total += p * pads
    assert expected_padding(length, d, span) == pytest.approx(total, rel=1e-12, abs=1e-15)


def test_expected_padding_series_branch_matches_closed_form():
    # K (1 - q) just below and above the switch between the Taylor and the closed form
    for L, d, S in [(10**6, 1.1e-8, 16), (10**6, 0.9e-8, 16), (10**7, 1e-9, 1)]:
        K = (L - 1) // S
        k = np.arange(1, K + 1, dtype=np.float64)
        direct = d * np.sum((1 - d) ** (S * k) * (L - k * S))
        assert expected_padding(L, d, S) == pytest.approx(direct, rel=1e-9)


# ---- bad parameters and inputs -------------------------------------------------------------------------

@pytest.mark.parametrize("name,params,words", [
    ("rle", {"run_bits": 0}, "run_bits"),
    ("zero_padded_delta", {"delta_bits": 0}, "delta_bits"),
    ("nm", {"n": 5, "m": 4}, "N must be <= M"),
    ("nm", {"n": 2, "m": 8, "metadata_bits": 2}, "metadata_bits"),
    ("bcsr", {"block": (0, 4)}, "block"),
    ("rle", {"order": "diagonal"}, "order"),
    ("csr", {"index_mode": "delta"}, "index_mode"),
    ("ranks", {"ranks": "CP,UOP"}, "UOP cannot be the innermost"),
    ("ranks", {"ranks": "UOP,XYZ"}, "unknown rank format"),
    ("ranks", {"ranks": "B4,CP"}, "takes no bit width"),
    ("dense", {"value_bits": 0}, "value_bits"),
    ("dense", {"bogus": 1}, "bogus"),
])
def test_bad_parameters_rejected(name, params, words):
    with pytest.raises(AccelsimError, match=words):
        get_format(name, **params)


def test_unknown_format():
    with pytest.raises(FormatError, match="unknown format 'zip'.*known: bcsr"):
        get_format("zip")


def test_bcsr_block_that_does_not_divide_needs_a_padding_rule():
    t = np.ones((5, 6), np.int8)
    with pytest.raises(FormatError, match="does not divide the 5x6 matrix.*pad_edges"):
        get_format("bcsr", block=(2, 2), pad_edges=False).encode(t)
    with pytest.raises(FormatError, match="does not divide"):
        get_format("bcsr", block=(2, 2), pad_edges=False).measure(t)
    e = get_format("bcsr", block=(2, 2)).encode(t)   # the default pads edge blocks
    assert e.padding_entries == 3 * 3 * 4 - 30
    assert get_format("bcsr", block=(5, 3), pad_edges=False).encode(t).padding_entries == 0


def test_widths_too_small_rejected():
    t = np.ones((4, 40), np.int8)
    with pytest.raises(FormatError, match="index_bits=4 cannot address 40 columns"):
        get_format("csr", index_bits=4).encode(t)
    with pytest.raises(FormatError, match="ptr_bits=3 cannot count 160 entries"):
        get_format("csr", ptr_bits=3).encode(t)
    with pytest.raises(FormatError, match="cannot address 160 positions"):
        get_format("coo", index_bits=7).measure(t)
    with pytest.raises(FormatError, match="rank 0 \\(RLE2\\) must cover its 40 coordinates"):
        get_format("ranks", ranks="RLE2,RLE2").encode(t.T)
    with pytest.raises(FormatError, match="2 ranks do not fit|3 ranks do not fit"):
        get_format("ranks", ranks="B,B,B").encode(t)


def test_nm_group_with_too_many_nonzeros():
    t = np.array([[1, 1, 1, 0, 0, 0, 0, 0]])
    for op in ("encode", "measure"):
        with pytest.raises(FormatError, match="group 0 holds 3 nonzeros; prune with pattern nm:2:4"):
            getattr(get_format("nm"), op)(t)
    with pytest.raises(FormatError, match="at most 50% nonzeros"):
        get_format("nm").expected((8, 8), 0.6)


def test_bad_tensors_and_mismatched_decoders():
    f = get_format("rle", run_bits=4)
    with pytest.raises(FormatError, match="scalar"):
        f.encode(np.float32(3))
    with pytest.raises(FormatError, match="no elements"):
        f.encode(np.zeros((0, 4)))
    with pytest.raises(FormatError, match="cannot encode an array of"):
        f.encode(np.array(["a", "b"]))
    e = f.encode(np.array([0, 3, 0, 0]))
    with pytest.raises(FormatError, match="encoded with"):
        get_format("rle", run_bits=2).decode(e)
    with pytest.raises(FormatError, match="cannot decode a 'rle'"):
        get_format("coo").decode(e)
    with pytest.raises(FormatError, match="no payload"):
        f.decode(f.measure(np.array([0, 3, 0, 0])))
    with pytest.raises(FormatError, match="density must be in"):
        f.expected((4, 4), 1.5)
    with pytest.raises(ConfigError):
        get_format("rle", run_bits="four")


@pytest.mark.parametrize("name", ["rle", "zero_padded_delta"])
def test_tile_bits_equal_measuring_each_tile(name):
    from accelsim.formats import get_format
    fmt = get_format(name)
    rng = np.random.default_rng(5)
    m = rng.random((2, 3, 11, 9)) < 0.2
    yb, xb = np.array([0, 4, 11]), np.array([0, 3, 3, 9])    # an empty tile column too
    got = fmt.tile_bits(m, yb, xb)
    for b in range(2):
        for i in range(2):
            for j in range(3):
                t = m[b, :, yb[i]:yb[i + 1], xb[j]:xb[j + 1]]
                want = fmt.measure(t).total_bits if t.size else 0
                assert got[b, i * 3 + j] == want, (b, i, j)
