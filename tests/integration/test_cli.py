"""The command line: tables, JSON, files, and one clear line with exit 2 for every user error."""
import json
import subprocess
import sys

import numpy as np
import pytest

from accelsim.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_run_prints_a_table(capsys):
    code, out, err = run(capsys, "run", "--arch", "ideal", "--workload", "gemm:64x16x32", "--density", "0.5")
    assert code == 0 and "cycles" in out and "gemm" in out


def test_run_json_is_only_json(capsys):
    code, out, _ = run(capsys, "run", "--arch", "ideal", "--workload", "alexnet", "--layers", "conv1,fc8",
                       "--profile", "han2015", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["layer"] for r in rows] == ["conv1", "fc8"]
    assert rows[1]["weight_density"] == pytest.approx(0.25, abs=1e-4)


def test_set_overrides_params(capsys):
    _, out, _ = run(capsys, "run", "-a", "ideal", "-w", "gemm:64x16x32", "--density", "1", "--json",
                    "--set", "peak_macs_per_cycle=64", "--set", "dram_bytes_per_cycle=1e6")
    assert json.loads(out)[0]["cycles"] == 64 * 16 * 32 / 64


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_output_files(capsys, tmp_path, suffix):
    import accelsim.io
    p = tmp_path / f"r{suffix}"
    code, _, err = run(capsys, "run", "-a", "ideal", "-w", "gemm:8x8x8", "-o", str(p))
    assert code == 0 and p.is_file()
    assert len(accelsim.io.read_frame(p)) == 1


def test_trace_make_and_inspect(capsys, tmp_path):
    p = tmp_path / "t.npz"
    code, _, _ = run(capsys, "trace", "make", "--workload", "alexnet", "--layers", "fc7,fc8", "--pattern", "nm:2:4",
                     "--act-density", "0.5", "--seed", "0", "-o", str(p))
    assert code == 0 and p.is_file()
    code, out, _ = run(capsys, "trace", "inspect", str(p), "--json")
    rows = json.loads(out)
    assert code == 0 and [r["pattern"] for r in rows] == ["nm:2:4", "nm:2:4"]
    assert rows[0]["act_density"] == pytest.approx(0.5)


def test_list(capsys):
    for what in ("archs", "workloads", "patterns", "formats", "models"):
        code, out, _ = run(capsys, "list", what)
        assert code == 0 and out.strip()


def _bad_files(tmp_path):
    (tmp_path / "bad.yaml").write_text("model: ideal\nparams: {x: [1,\n")
    (tmp_path / "unknown.yaml").write_text("model: ideal\nparams: {pes: 4}\n")
    np.savez(tmp_path / "evil.npz", **{"fc.weight": np.array([{"a": 1}], dtype=object)})
    (tmp_path / "corrupt.npz").write_bytes(b"garbage")
    (tmp_path / "badspec.yaml").write_text("archs: [ideal]\nworkloads: [alexnet]\ndensitys: [0.1]\n")
    np.savez(tmp_path / "wrong.npz", **{"gemm.weight": np.ones((3, 3), dtype=np.float32)})
    (tmp_path / "model.pt").write_bytes(b"PK\x03\x04 a torch checkpoint")


@pytest.mark.parametrize("argv,needle", [
    (["run", "-a", "nonesuch", "-w", "alexnet"], "unknown arch"),
    (["bench", "--repeat", "0"], "between 1 and 100"),
    (["bench", "--repeat", "1000000"], "between 1 and 100"),
    (["run", "-a", "ideal", "-w", "nonesuch"], "unknown workload"),
    (["run", "-a", "ideal", "-w", "alexnet", "--density", "1.5"], "density must be in (0, 1]"),
    (["run", "-a", "ideal", "-w", "alexnet", "--density", "0"], "density must be in (0, 1]"),
    (["run", "-a", "ideal", "-w", "alexnet", "--act-density", "-1"], "density must be in (0, 1]"),
    (["run", "-a", "ideal", "-w", "alexnet", "--pattern", "nm:4:2"], "N <= M"),
    (["run", "-a", "ideal", "-w", "alexnet", "--pattern", "zigzag"], "unknown pattern"),
    (["run", "-a", "ideal", "-w", "alexnet", "--layers", "conv9"], "no layer 'conv9'"),
    (["run", "-a", "ideal", "-w", "alexnet", "--set", "pes=4"], "params.pes"),
    (["run", "-a", "{tmp}/bad.yaml", "-w", "alexnet"], "malformed YAML"),
    (["run", "-a", "{tmp}/unknown.yaml", "-w", "alexnet"], "params.pes"),
    (["run", "-a", "{tmp}/missing.yaml", "-w", "alexnet"], "not found"),
    (["run", "-a", "ideal", "--trace", "{tmp}/evil.npz"], "pickled"),
    (["run", "-a", "ideal", "--trace", "{tmp}/corrupt.npz"], "corrupt"),
    (["run", "-a", "ideal", "--trace", "{tmp}/model.pt"], "not a .pt model file"),
    (["trace", "inspect", "{tmp}/model.pt"], "accelsim trace capture"),
    (["run", "-a", "ideal", "-w", "gemm:3x1x4", "--trace", "{tmp}/wrong.npz"], "needs 3x4"),
    (["trace", "make", "-w", "gemm:200000x100000x200000", "-o", "{tmp}/huge.npz"], "more than"),
    (["run", "-a", "ideal", "-w", "gemm:12x4"], "gemm:MxNxK"),
    (["run", "-a", "ideal"], "give --workload or --trace"),
    (["run", "-a", "ideal", "-w", "alexnet", "-o", "{tmp}/out.txt"], ".csv, .parquet or .json"),
    (["trace", "inspect", "{tmp}/nothere.npz"], "not found"),
    (["frobnicate"], "invalid choice"),
    (["sweep", "{tmp}/badspec.yaml"], "unknown key 'densitys'"),
    (["sweep", "--status", "{tmp}"], "not a sweep directory"),
    (["study", "nosuch"], "unknown study"),
    (["plot", "{tmp}/nofile.csv"], "not found"),
    (["formats", "--shape", "10x10", "--densities", "0.5", "--formats", "rle:run_bits=0"], "must be >= 1"),
    (["codesign", "-w", "alexnet", "-a", "a100", "--layers", "fc8", "--patterns", "unstructured", "--densities",
      "0.5", "--max-area", "1"], "report no area"),
    (["codesign", "-w", "alexnet", "-a", "eie", "--layers", "fc8", "--patterns", "unstructured", "--densities",
      "0.1", "--min-fidelity", "0.99999"], "the best feasible is"),
    (["run", "-a", "a100", "-w", "gemm:64x64x66", "--pattern", "nm:2:4", "--set", "strict=true"], "pad_k"),
])
def test_user_errors_exit_2_with_one_line(capsys, tmp_path, argv, needle):
    _bad_files(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("accelsim: error:") and needle in lines[0], err


def test_no_traceback_from_the_real_entry_point(tmp_path):
    p = subprocess.run([sys.executable, "-m", "accelsim.cli", "run", "-a", "ideal", "-w", "alexnet",
                        "--density", "1.5"], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr and p.stderr.count("\n") == 1


def test_existing_output_survives_a_failed_run(capsys, tmp_path):
    p = tmp_path / "r.csv"
    assert run(capsys, "run", "-a", "ideal", "-w", "gemm:8x8x8", "-o", str(p))[0] == 0
    before = p.read_text()
    assert run(capsys, "run", "-a", "ideal", "-w", "alexnet", "--density", "7", "-o", str(p))[0] == 2
    assert p.read_text() == before


# ---- what a user reads: labels, units, help ----------------------------------------------------------------

def test_config_label_carries_overrides_and_dense_runs_say_dense(capsys):
    _, out, _ = run(capsys, "run", "-a", "systolic", "-w", "gemm:64x16x32", "--set", "rows=32", "--set", "cols=32",
                    "--json")
    (row,) = json.loads(out)
    assert row["config"] == "systolic[rows=32,cols=32]" and row["pattern"] == "dense"
    _, out, _ = run(capsys, "run", "-a", "ideal", "-w", "gemm:64x16x32", "--density", "0.5", "--json")
    assert json.loads(out)[0]["config"] == "ideal" and json.loads(out)[0]["pattern"] == "unstructured"


def test_terminal_table_in_engineering_units_json_in_si(capsys):
    _, out, _ = run(capsys, "run", "-a", "ideal", "-w", "gemm:256x64x128", "--set", "peak_macs_per_cycle=64",
                    "--set", "dram_bytes_per_cycle=1e6")
    head = out.splitlines()[0].split()
    assert "latency_us" in head and "latency_s" not in head and any(h.startswith("energy_") for h in head)
    # 256*64*128 MACs at 64 per cycle = 32,768 cycles = 32.768 us at the ideal config's 1 GHz
    row = out.splitlines()[2].split()
    assert row[head.index("cycles")] == "32,768" and row[head.index("latency_us")] == "32.77"
    _, out, _ = run(capsys, "run", "-a", "ideal", "-w", "gemm:256x64x128", "--set", "peak_macs_per_cycle=64",
                    "--set", "dram_bytes_per_cycle=1e6", "--json")
    assert json.loads(out)[0]["latency_s"] == pytest.approx(32768e-9)


def test_table_units_by_hand():
    import pandas as pd
    from accelsim.table import render
    df = pd.DataFrame({"latency_s": [4.32e-05, 1.5e-4], "energy_pj": [2.39e9, 1.0e9], "cycles": [1234567.0, 8.0],
                       "dram_bytes": [2.5e6, 0.0], "dense": [160000, 18160], "name": ["a", "bb"]})
    lines = render(df, units={"dense": "bits"}).splitlines()
    assert lines[0].split() == ["latency_us", "energy_mJ", "cycles", "dram_MB", "dense_kbit", "name"]
    assert lines[2].split() == ["43.20", "2.390", "1,234,567", "2.500", "160.00", "a"]
    assert lines[3].split() == ["150.00", "1.000", "8", "0", "18.16", "bb"]


def _parsers(p, path="accelsim"):
    import argparse
    yield path, p
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sp in a.choices.items():
                yield from _parsers(sp, f"{path} {name}")


def test_every_option_has_help_text():
    import argparse
    from accelsim.cli import build_parser
    missing = [f"{path} {a.option_strings or a.dest}" for path, p in _parsers(build_parser()) for a in p._actions
               if not isinstance(a, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction))
               and not a.help]
    assert not missing, missing


def test_plot_help_names_the_axis_options(capsys):
    with pytest.raises(SystemExit):
        main(["plot", "--help"])
    out = capsys.readouterr().out
    for opt in ("--x PARAM", "--series PARAM", "--y METRIC", "--style", "--format"):
        assert opt in out
