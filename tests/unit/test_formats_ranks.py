"""Per-rank composition (Sparseloop's U, UOP, B, CP, RLE) and the format spec syntax."""
import numpy as np
import pytest

from accelsim.errors import AccelsimError, FormatError
from accelsim.formats import get_format
from accelsim.formats.spec import load_format_file, parse_format_list, resolve_formats

# (classic format, the same format written per rank)
EQUIVALENT = [
    (("dense", {}), ("ranks", {"ranks": "U,U"})),
    (("bitmap", {}), ("ranks", {"ranks": "U,B"})),
    (("bitmap", {}), ("ranks", {"ranks": "B"})),
    (("coo", {}), ("ranks", {"ranks": "CP"})),
    (("rle", {"run_bits": 3}), ("ranks", {"ranks": "RLE3"})),
    (("rle", {"run_bits": 2, "order": "col"}), ("ranks", {"ranks": "RLE2", "order": "col"})),
    (("csr", {}), ("ranks", {"ranks": "UOP,CP"})),
    (("csc", {}), ("ranks", {"ranks": "UOP,CP", "order": "col"})),
    (("csr", {"index_mode": "relative", "index_bits": 3}), ("ranks", {"ranks": "UOP,RLE3"})),
    (("csc", {"index_mode": "relative", "index_bits": 4}), ("ranks", {"ranks": "UOP,RLE4", "order": "col"})),
]


@pytest.mark.parametrize("density", [0.02, 0.3, 0.9])
@pytest.mark.parametrize("classic,ranked", EQUIVALENT, ids=[r[1]["ranks"] + r[1].get("order", "")
                                                              for _, r in EQUIVALENT])
def test_rank_lists_reproduce_the_classic_formats(classic, ranked, density, rng):
    t = np.where(rng.random((23, 41)) < density, rng.integers(1, 50, (23, 41)), 0).astype(np.int16)
    a = get_format(classic[0], value_bits=8, **classic[1]).encode(t)
    b = get_format(ranked[0], value_bits=8, **ranked[1]).encode(t)
    assert (a.value_bits, a.metadata_bits, a.padding_entries, a.nnz) == \
           (b.value_bits, b.metadata_bits, b.padding_entries, b.nnz)


def test_two_level_bitmap_by_hand():
    t = np.array([[0, 0, 0], [0, 5, 0]], np.int8)
    e = get_format("ranks", ranks="B,B", value_bits=8).encode(t)
    # rank 0: 2 bits; rank 1: one nonempty row of 3 bits; one value
    assert e.breakdown == {"rank0_B": 2, "rank1_B": 3} and e.value_bits == 8
    assert e.payload["levels"][0]["bitmap"].tolist() == [False, True]


def test_fiber_counts_where_no_uop_delimits():
    t = np.array([[0, 0, 0], [0, 5, 6]], np.int8)
    e = get_format("ranks", ranks="CP,CP", value_bits=8).encode(t)
    # rank 0: one row coordinate in 1 bit; rank 1: 2 column coordinates of 2 bits, and the fiber's
    # entry count in ceil(log2 4) = 2 bits (the root's length is its array's, so no count there)
    assert e.breakdown == {"rank0_CP": 1, "rank1_CP": 4, "rank1_counts": 2}
    assert np.array_equal(get_format("ranks", ranks="CP,CP", value_bits=8).decode(e), t)
    # under UOP the offsets delimit the fibers: no counts
    e = get_format("ranks", ranks="UOP,CP", value_bits=8).encode(t)
    assert "rank1_counts" not in e.breakdown and e.breakdown["rank0_UOP"] == 3 * 2


def test_three_ranks_on_a_3d_tensor(rng):
    t = np.where(rng.random((4, 5, 6)) < 0.2, 1.5, 0).astype(np.float32)
    for ranks in ("UOP,UOP,CP", "B,CP,RLE2", "U,B,CP"):
        for order in ("row", "col"):
            f = get_format("ranks", ranks=ranks, order=order)
            e = f.encode(t)
            assert np.array_equal(f.decode(e), t)
            assert f.measure(t).total_bits == e.total_bits


def test_ranks_accept_lists_and_normalize():
    a = get_format("ranks", ranks=["uop", "rle4"])
    b = get_format("ranks", ranks="UOP, RLE4")
    assert a.p.ranks == b.p.ranks == "UOP,RLE4"


def test_spec_strings():
    specs = parse_format_list("dense,rle:run_bits=8,csc:index_mode=relative:index_bits=4,bcsr:block=8x8,"
                              "ranks:UOP,RLE4:order=col:label=eie,ranks:B,B,coo")
    assert [s.title for s in specs] == ["dense", "rle:run_bits=8", "csc:index_mode=relative:index_bits=4",
                                        "bcsr:block=8x8", "eie", "ranks:B,B", "coo"]
    eie = specs[4]
    assert eie.params == {"ranks": ["UOP", "RLE4"], "order": "col"}
    assert specs[3].build(8).p.block == (8, 8)
    # value bits come from the comparison unless the spec sets them
    assert specs[1].build(8).p.value_bits == 8
    assert parse_format_list("rle:value_bits=12")[0].build(8).p.value_bits == 12
    # the same columns as EIE's CSC
    t = np.eye(30, dtype=np.int8)
    assert eie.build(12).encode(t).total_bits == \
        get_format("csc", value_bits=12, index_bits=4, index_mode="relative").encode(t).total_bits


@pytest.mark.parametrize("text,words", [
    ("UOP,CP", "outside a rank list"),
    ("ranks:uop,cp", "written in capitals"),
    ("zip", "unknown format 'zip'"),
    ("rle:banana", "expected KEY=VALUE"),
    ("dense,dense", "listed twice"),
    ("ranks:", "give the rank formats"),
    ("rle:run_bits=0", "run_bits"),
    ("nm:n=3:m=2", "N must be <= M"),
    ("bcsr:block=3x0", "block sides"),
])
def test_bad_spec_strings(text, words):
    with pytest.raises(AccelsimError, match=words):
        parse_format_list(text)


def test_yaml_format_file(tmp_path):
    p = tmp_path / "formats.yaml"
    p.write_text("formats:\n"
                 "  - dense\n"
                 "  - rle:run_bits=8\n"
                 "  - {name: ranks, ranks: [UOP, RLE4], order: col, value_bits: 12, label: eie}\n"
                 "  - {name: bcsr, block: [2, 2], label: b2}\n")
    specs = load_format_file(p)
    assert [s.title for s in specs] == ["dense", "rle:run_bits=8", "eie", "b2"]
    assert specs[2].build(16).p.value_bits == 12
    assert [s.title for s in resolve_formats(str(p))] == ["dense", "rle:run_bits=8", "eie", "b2"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("formats:\n  - {name: rle, run_bitz: 4}\n")
    with pytest.raises(AccelsimError, match="unknown key 'bad.yaml: formats\\[0\\].run_bitz'"):
        load_format_file(bad)
    bad.write_text("formats: []\n")
    with pytest.raises(FormatError, match="expected a list of formats"):
        load_format_file(bad)
