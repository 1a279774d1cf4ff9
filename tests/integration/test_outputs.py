"""Outputs (issue 23): refused before the work starts when they cannot be written, written whole or not at all,
never over an input, a file of another kind or a planted link; the memory budget from the command line."""
import os

import pytest

from accelsim.cli import main

RUN = ["run", "-a", "ideal", "-w", "gemm:8x8x8"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_output_naming_a_directory_is_refused(capsys, tmp_path):
    code, _, err = run(capsys, *RUN, "-o", str(tmp_path))
    assert code == 2 and "is a directory" in err and err.count("\n") == 1


def test_output_under_a_file_is_refused(capsys, tmp_path):
    (tmp_path / "f").write_text("keep")
    code, _, err = run(capsys, *RUN, "-o", str(tmp_path / "f" / "r.csv"))
    assert code == 2 and "is a file" in err
    assert (tmp_path / "f").read_text() == "keep"


def test_wrong_suffix_never_overwrites(capsys, tmp_path):
    precious = tmp_path / "precious.json"
    precious.write_text("{}")
    code, _, err = run(capsys, "trace", "make", "-w", "gemm:8x8x8", "-o", str(precious))
    assert code == 2 and ".npz" in err and precious.read_text() == "{}"


def test_report_never_overwrites_its_input(capsys, tmp_path):
    res = tmp_path / "res.parquet"
    assert run(capsys, *RUN, "-o", str(res))[0] == 0
    before = res.read_bytes()
    code, _, err = run(capsys, "report", str(res), "-o", str(res))
    assert code == 2 and res.read_bytes() == before


def test_report_to_another_name_keeps_an_existing_report(capsys, tmp_path):
    res = tmp_path / "res.csv"
    assert run(capsys, *RUN, "-o", str(res))[0] == 0
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "report.html").write_text("earlier")
    code, _, _ = run(capsys, "report", str(res), "-o", str(tmp_path / "out" / "other.html"))
    assert code == 0 and (tmp_path / "out" / "other.html").stat().st_size > 1000
    assert (tmp_path / "out" / "report.html").read_text() == "earlier"


def test_planted_link_at_the_old_temporary_name_is_not_followed(capsys, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    os.symlink(victim, tmp_path / ".out.csv.tmp")
    assert run(capsys, *RUN, "-o", str(tmp_path / "out.csv"))[0] == 0
    assert victim.read_text() == "mine" and (tmp_path / "out.csv").read_text().startswith("arch,")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp") and not p.is_symlink()]


def test_output_directory_that_is_a_file_is_refused(capsys, tmp_path):
    f = tmp_path / "plots"
    f.write_text("keep")
    res = tmp_path / "res.csv"
    assert run(capsys, *RUN, "-o", str(res))[0] == 0
    code, _, err = run(capsys, "plot", str(res), "-o", str(f))
    assert code == 2 and "is a file" in err and f.read_text() == "keep"


def test_memory_budget_from_the_command_line(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("ACCELSIM_MAX_MEMORY", raising=False)
    # alexnet fc6 alone is 37.7 M weights: far above a 1 MiB budget
    code, _, err = run(capsys, "--max-memory", "1M", "trace", "make", "-w", "alexnet", "--layers", "fc6",
                       "-o", str(tmp_path / "t.npz"))
    assert code == 2 and "budget" in err and not (tmp_path / "t.npz").exists()
    code, _, err = run(capsys, "--max-memory", "lots", *RUN)
    assert code == 2 and "memory size 'lots'" in err


def test_sweep_spec_with_an_unknown_profile_or_too_many_points_is_refused(capsys, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("archs: [ideal]\nworkloads: [alexnet]\nprofiles: [han2051]\n")
    code, _, err = run(capsys, "sweep", str(spec), "-o", str(tmp_path / "out"))
    assert code == 2 and "'han2051' is not a profile of workload 'alexnet'" in err
    # 101 x 100 x 100 = 1.01e6 seeds x densities x act densities: over the 10^6 limit before anything runs
    spec.write_text("archs: [ideal]\nworkloads: [alexnet]\nseeds: [" + ",".join(map(str, range(101))) + "]\n"
                    "densities: [" + ",".join(f"{(i + 1) / 100}" for i in range(100)) + "]\n"
                    "act_densities: [" + ",".join(f"{(i + 1) / 100}" for i in range(100)) + "]\n")
    code, _, err = run(capsys, "sweep", str(spec), "-o", str(tmp_path / "out"))
    assert code == 2 and "1.01e+06 combinations" in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("text,needle", [("arch,layer,cycles\nx,y,3\n", "no 'config' column"),
                                         (None, "column 'cycles' must hold numbers")])
def test_plot_and_report_refuse_a_table_that_is_not_results(capsys, tmp_path, text, needle):
    p = tmp_path / "res.csv"
    if text is None:   # a real results file whose cycles became strings
        assert run(capsys, *RUN, "-o", str(p))[0] == 0
        import pandas as pd
        df = pd.read_csv(p)
        df["cycles"] = "many"
        df.to_csv(p, index=False)
    else:
        p.write_text(text)
    for cmd in (["plot", str(p), "-o", str(tmp_path / "plots")], ["report", str(p), "-o", str(tmp_path / "r.html")]):
        code, _, err = run(capsys, *cmd)
        assert code == 2 and needle in err and err.count("\n") == 1, err


@pytest.mark.parametrize("densities,needle", [("a", "'a' is not a number"), (",", "at least one density"),
                                              ("0.5,1.5", "(0, 1]")])
def test_codesign_densities_are_checked(capsys, tmp_path, densities, needle):
    code, _, err = run(capsys, "codesign", "-w", "alexnet", "--layers", "fc8", "--arch", "ideal",
                       "--densities", densities, "-o", str(tmp_path / "cd"))
    assert code == 2 and needle in err and not (tmp_path / "cd").exists()
