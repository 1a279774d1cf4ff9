"""Per-layer format comparison, the shape comparison, `accelsim formats` and the storage study."""
import json

import numpy as np
import pandas as pd
import pytest

import accelsim
from accelsim.cli import main
from accelsim.errors import FormatError
from accelsim.formats import get_format
from accelsim.formats.compare import DEFAULT_FORMATS, compare_formats, compare_shape, totals, wide

REQUIRED = {"layer", "format", "density", "value_bits", "metadata_bits", "total_bits"}


@pytest.fixture(scope="module")
def trace():
    wl = accelsim.load_workload("gemm:64x32x128")
    return accelsim.make_trace(wl, "unstructured", density=0.3, act_density=0.5, seed=0)


def test_compare_formats_rows_are_the_encoders_numbers(trace):
    df = compare_formats(trace, value_bits=8)
    assert len(df) == len(trace.layers) * len(DEFAULT_FORMATS)
    assert REQUIRED <= set(df.columns)
    w = trace.layers[0].weight
    for label, name, params in [("csr", "csr", {}), ("rle4", "rle", {"run_bits": 4}), ("B,B", "ranks", {"ranks": "B,B"})]:
        row = df[df["format"] == label].iloc[0]
        e = get_format(name, value_bits=8, **params).encode(w)
        assert (row["value_bits"], row["metadata_bits"], row["total_bits"]) == \
               (e.value_bits, e.metadata_bits, e.total_bits)
        assert row["ratio_to_dense"] == pytest.approx(e.total_bits / (w.size * 8))
    dense = df[df["format"] == "dense"].iloc[0]
    assert dense["ratio_to_dense"] == 1.0 and dense["density"] == pytest.approx(0.3, abs=0.01)
    # the best row is the smallest; nm cannot store an unstructured layer and says why
    ok = df[df["total_bits"].notna()]
    assert df[df["best"]]["total_bits"].iloc[0] == ok["total_bits"].min()
    nm = df[df["format"] == "nm2:4"].iloc[0]
    assert np.isnan(nm["total_bits"]) and "prune with pattern nm:2:4" in nm["error"]


def test_compare_formats_on_nm_pruned_trace():
    tr = accelsim.make_trace(accelsim.load_workload("gemm:64x32x128"), "nm:2:4", seed=0)
    df = compare_formats(tr, formats="dense,bitmap,nm:n=2:m=4", value_bits=8)
    nm = df[df["format"] == "nm:n=2:m=4"].iloc[0]
    assert nm["total_bits"] == 64 * 128 // 2 * (8 + 2) and nm["error"] is None
    assert nm["best"]   # 10 bits per kept value beats the bitmap's 8 + 2


def test_compare_formats_operand_input(trace):
    df = compare_formats(trace, formats="dense,bitmap", value_bits=8, operand="input")
    x = trace.layers[0].input
    assert df[df["format"] == "dense"]["total_bits"].iloc[0] == x.size * 8
    assert df["density"].iloc[0] == pytest.approx(0.5, abs=0.02)
    with pytest.raises(FormatError, match="operand"):
        compare_formats(trace, operand="output")
    with pytest.raises(FormatError, match="value bits"):
        compare_formats(trace, value_bits=0)


def test_wide_and_totals(trace):
    df = compare_formats(trace, formats="dense,bitmap,csr", value_bits=8)
    w = wide(df)
    assert list(w.columns) == ["layer", "density", "dense", "bitmap", "csr", "best", "best/dense"]
    assert len(w) == 1 and w["best"].iloc[0] == df[df["best"]]["format"].iloc[0]
    t = totals(df)
    assert t.set_index("format").loc["dense", "ratio_to_dense"] == 1.0
    assert t["layers_best"].sum() == 1


def test_compare_shape_exact_and_analytic():
    ex = compare_shape((400, 500), [0.5, 0.05], 8, formats="dense,bitmap,rle:run_bits=4")
    an = compare_shape("400x500", "0.5,0.05", 8, formats="dense,bitmap,rle:run_bits=4", analytic=True)
    assert list(ex["mode"].unique()) == ["exact"] and list(an["mode"].unique()) == ["analytic"]
    merged = ex.merge(an, on=["format", "density"], suffixes=("_x", "_a"))
    assert np.allclose(merged["total_bits_x"], merged["total_bits_a"], rtol=0.03)
    bitmap = an[(an["format"] == "bitmap") & (an["density"] == 0.5)].iloc[0]
    assert bitmap["total_bits"] == 200000 + 0.5 * 200000 * 8     # one bit per position + the values
    assert bitmap["bits_per_element"] == 5.0
    for bad, words in [((0, 5), "positive integers"), ("10xA", "ROWSxCOLS")]:
        with pytest.raises(FormatError, match=words):
            compare_shape(bad, [0.5], 8)
    with pytest.raises(FormatError, match="lie in \\[0, 1\\]"):
        compare_shape((10, 10), [1.5], 8)
    with pytest.raises(FormatError, match="--analytic"):
        compare_shape((1 << 16, 1 << 15), [0.5], 8)


# ---- the command line -----------------------------------------------------------------------------------

def test_cli_shape_json(capsys):
    assert main(["formats", "--shape", "300x200", "--value-bits", "8", "--densities", "0.95,0.5,0.05", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(REQUIRED <= set(r) for r in rows)
    assert {r["density"] for r in rows} == {0.95, 0.5, 0.05}
    best = {r["density"]: r["format"] for r in rows if r["best"]}
    assert best[0.95] == "dense" and best[0.5] == "bitmap"


def test_cli_shape_analytic_table(capsys):
    assert main(["formats", "--shape", "10000x10000", "--value-bits", "8", "--densities", "0.95,0.5,0.05",
                 "--analytic"]) == 0
    out = capsys.readouterr().out
    assert "best" in out.splitlines()[0] and "bitmap" in out and "rle8" in out


def test_cli_workload_table_output_and_plot(tmp_path, capsys):
    csv = tmp_path / "f.csv"
    png = tmp_path / "f.png"
    assert main(["formats", "--workload", "gemm:64x32x128", "--density", "0.2", "--value-bits", "8",
                 "--formats", "dense,bitmap,ranks:UOP,CP,rle:run_bits=6", "-o", str(csv), "--plot", str(png)]) == 0
    df = pd.read_csv(csv)
    assert list(df["format"]) == ["dense", "bitmap", "ranks:UOP,CP", "rle:run_bits=6"]
    assert png.stat().st_size > 10_000
    assert main(["formats", "--workload", "gemm:64x32x128", "--density", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "best/dense" in out and "layers_best" in out


@pytest.mark.parametrize("argv,words", [
    (["--shape", "10x10", "--workload", "gemm:8x8x8"], "not both"),
    (["--shape", "0x10"], "positive integers"),
    (["--shape", "10x10", "--densities", "2"], "lie in"),
    (["--shape", "10x10", "--formats", "zip"], "unknown format"),
    (["--shape", "10x10", "--formats", "rle:run_bits=0"], "run_bits"),
    (["--shape", "10x10", "--value-bits", "0"], "value bits"),
    (["--workload", "gemm:8x8x8", "--analytic"], "--analytic goes with --shape"),
    ([], "give --workload, --trace or --shape"),
])
def test_cli_errors_are_one_line(argv, words, capsys):
    assert main(["formats", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("accelsim: error:") and words in err and "\n" not in err


# ---- the study ------------------------------------------------------------------------------------------

def test_study_quick_frames():
    from accelsim.studies import formats as study
    frames = study.run(quick=True)
    assert set(frames) == {"analytic", "exact", "agreement", "winners"}
    win = frames["winners"]
    assert win["format"].iloc[0] == "dense" and win["format"].iloc[1] == "bitmap"
    assert win["format"].iloc[-1] in ("coo", "csr")
    # analytic within a few percent of exact wherever there are many nonzeros
    agree = frames["agreement"]
    assert (agree[agree["density"] >= 0.01]["rel_error"].abs() < 0.03).all()


@pytest.mark.slow
def test_study_plot(tmp_path):
    from accelsim.studies import formats as study
    paths = study.plot(study.run(quick=True), tmp_path)
    assert [p.name for p in paths] == ["storage_vs_sparsity.png"] and paths[0].stat().st_size > 20_000
