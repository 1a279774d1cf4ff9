"""Analytic sizes against exact encodings of large random tensors, and the known shape of the answer."""
import numpy as np
import pytest

from accelsim.formats import get_format
from accelsim.formats.compare import compare_shape, random_mask

ANALYTIC = [
    ("dense", {}), ("bitmap", {}), ("coo", {}), ("rle", {"run_bits": 4}), ("rle", {"run_bits": 7, "order": "col"}),
    ("zero_padded_delta", {"delta_bits": 5}), ("csr", {}), ("csc", {}),
    ("csr", {"index_mode": "relative", "index_bits": 5}), ("csc", {"index_mode": "relative", "index_bits": 3}),
    ("bcsr", {"block": (4, 4)}), ("bcsr", {"block": (3, 7)}), ("strided", {}), ("strided", {"stride_bits": 3}),
    ("ranks", {"ranks": "B,B"}), ("ranks", {"ranks": "CP,CP"}), ("ranks", {"ranks": "B,RLE3"}),
    ("ranks", {"ranks": "UOP,RLE4", "order": "col"}),
]


@pytest.fixture(scope="module")
def masks():
    shape = (1500, 2000)
    return shape, {d: random_mask(shape, d, seed=3) for d in (0.6, 0.1, 0.01)}


@pytest.mark.parametrize("name,params", ANALYTIC, ids=[f"{n}{sorted(p.items())}" for n, p in ANALYTIC])
def test_expected_bits_agree_with_exact_encodings(name, params, masks):
    shape, by_density = masks
    f = get_format(name, value_bits=8, **params)
    for d, mask in by_density.items():
        exact = f.measure(mask).total_bits
        assert f.expected_bits(shape, d) == pytest.approx(exact, rel=0.03), f"density {d}"


def test_expected_padding_and_fields_agree(masks):
    shape, by_density = masks
    f = get_format("rle", value_bits=8, run_bits=4)
    mask = by_density[0.01]
    e, x = f.measure(mask), f.expected(shape, 0.01)
    assert x.padding_entries == pytest.approx(e.padding_entries, rel=0.03)
    assert x.metadata_bits == pytest.approx(e.metadata_bits, rel=0.03)
    assert x.nnz == pytest.approx(e.nnz, rel=0.03)


def test_nm_expected_is_exact_on_nm_tensors(rng):
    shape = (64, 96)
    t = rng.random(shape).astype(np.float32) + 1
    g = t.reshape(-1, 4)
    drop = np.argsort(rng.random(g.shape), axis=1)[:, :2]
    np.put_along_axis(g, drop, 0, axis=1)
    f = get_format("nm", n=2, m=4, value_bits=8)
    assert f.expected_bits(shape, 0.5) == f.encode(t).total_bits == 64 * 24 * 2 * (8 + 2)


def test_evenly_spaced_nonzeros_cost_one_segment():
    t = np.zeros((100, 64), np.int8)
    t[:, ::4] = 1   # column-strided pruning: one progression through the whole row-major stream
    e = get_format("strided", value_bits=8).encode(t)
    assert e.payload["counts"].tolist() == [1600]
    assert e.metadata_bits < get_format("coo", value_bits=8).encode(t).metadata_bits / 100


# ---- the known behaviour of the classic comparison --------------------------------------------------------

def _best(df):
    return df[df["best"]].set_index("density")["format"].to_dict()


FAMILY = {"dense": "dense", "bitmap": "bitmap", "B,B": "bitmap", "rle4": "runlength", "rle8": "runlength",
          "zpd4": "runlength", "csc_rel4": "runlength", "coo": "coordinates", "csr": "coordinates",
          "csc": "coordinates"}


def test_known_behaviour_10k_matrix_8bit_values():
    """10^4 x 10^4 of 8-bit values: dense below ~10% sparsity, bitmap in the middle, run-length at high
    sparsity, coordinates only at extreme sparsity."""
    dens = [0.99, 0.95, 0.9, 0.8, 0.6, 0.4, 0.05, 0.02, 1e-4, 1e-5]
    df = compare_shape((10000, 10000), dens, 8, analytic=True)
    best = {d: FAMILY[f] for d, f in _best(df).items()}
    assert [best[d] for d in dens] == ["dense"] * 3 + ["bitmap"] * 3 + ["runlength"] * 2 + ["coordinates"] * 2
    # below 10% sparsity nothing beats dense
    low = df[df["density"] >= 0.9]
    assert (low["ratio_to_dense"] >= 1.0).all()


@pytest.mark.parametrize("value_bits", [4, 8, 16])
def test_bitmap_overtakes_dense_at_one_over_value_bits(value_bits):
    """bitmap = n + d n b < n b exactly when the sparsity exceeds 1/b."""
    s = 1.0 / value_bits
    df = compare_shape((1000, 1000), [1 - s + 0.01, 1 - s - 0.01], value_bits, formats="dense,bitmap",
                       analytic=True)
    assert list(df[df["best"]]["format"]) == ["dense", "bitmap"]


def test_known_behaviour_holds_for_exact_encodings():
    dens = [0.95, 0.5, 0.05, 2e-4]
    df = compare_shape((2000, 2000), dens, 8, seed=1)
    assert [FAMILY[_best(df)[d]] for d in dens] == ["dense", "bitmap", "runlength", "coordinates"]
    # and the same winners as the analytic answer
    assert _best(df) == _best(compare_shape((2000, 2000), dens, 8, analytic=True))


def test_random_masks_are_seeded_per_density():
    a = random_mask((300, 400), 0.25, seed=5)
    assert np.array_equal(a, random_mask((300, 400), 0.25, seed=5))
    assert not np.array_equal(a, random_mask((300, 400), 0.25, seed=6))
    assert abs(a.mean() - 0.25) < 0.01
    one = compare_shape((300, 400), [0.25], 8, seed=5)
    two = compare_shape((300, 400), [0.7, 0.25], 8, seed=5)
    assert np.array_equal(one["total_bits"].to_numpy(), two[two["density"] == 0.25]["total_bits"].to_numpy())
