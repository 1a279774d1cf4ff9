"""accelsim as a package: shipped data found inside it, user files found beside the file that names them, every
output under the working directory, nothing written into the installation. The wheel itself is checked by
``.ci/wheel_smoke`` (built, installed alone in a fresh venv, used from a temporary directory): slow, and CI runs it.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import accelsim
from accelsim import paths
from accelsim.cli import main
from accelsim.sweep import load_results

PACKAGE = Path(accelsim.__file__).parent
REPO = PACKAGE.parent


def _package_files() -> dict[str, float]:
    return {str(p): p.stat().st_mtime for p in PACKAGE.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def test_shipped_data_is_package_data():
    assert paths.ARCH_DIR == PACKAGE / "configs" and paths.WORKLOAD_DIR == PACKAGE / "workloads"
    assert {"eie", "ideal", "systolic"} <= set(paths.shipped(paths.ARCH_DIR))
    assert "eie_benchmark" in paths.shipped(paths.WORKLOAD_DIR)
    text = (REPO / "pyproject.toml").read_text()
    for pattern in ("configs/*.yaml", "workloads/*.yaml", "energy/tables/*.yaml", "data/*.csv"):
        assert pattern in text
        assert list(PACKAGE.glob(pattern)), pattern


# slow: `make smoke` (CI) runs the same check on the installed wheel
@pytest.mark.slow
def test_from_another_directory_outputs_stay_under_it(tmp_path, monkeypatch, capsys):
    """A sweep whose arch file sits beside its spec, run from elsewhere; plot --x and report land in ./reports."""
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "my_ideal.yaml").write_text("# mine\nmodel: ideal\nparams: {peak_macs_per_cycle: 32}\n")
    (specs / "tiny.yaml").write_text("archs:\n  - config: my_ideal.yaml\n    params: {peak_macs_per_cycle: [16, 64],"
                                     " dram_bytes_per_cycle: 4}\nworkloads: [gemm:64x16x32]\n"
                                     "densities: [0.25, 1.0]\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    before = _package_files()
    assert main(["sweep", str(specs / "tiny.yaml"), "--executor", "serial"]) == 0
    df = load_results(work / "reports" / "sweeps" / "tiny")
    # labels say what ran: the point's label shows only the swept values, the config label every override
    assert sorted(df["arch_label"].unique()) == ["my_ideal[peak_macs_per_cycle=16]", "my_ideal[peak_macs_per_cycle=64]"]
    assert "my_ideal[peak_macs_per_cycle=16,dram_bytes_per_cycle=4]" in set(df["config"])
    assert set(df["pattern"]) == {"unstructured", "dense"}       # density 1 pruned nothing
    capsys.readouterr()
    assert main(["plot", "reports/sweeps/tiny", "--x", "peak_macs_per_cycle", "--series", "density",
                 "--format", "png,pdf"]) == 0
    out = capsys.readouterr().out.split()
    assert [Path(p).name for p in out] == ["latency_energy_vs_peak_macs_per_cycle_by_density.png",
                                           "latency_energy_vs_peak_macs_per_cycle_by_density.pdf"]
    assert all(Path(p).is_relative_to(work / "reports" / "plots" / "tiny") for p in out)
    assert main(["report", "reports/sweeps/tiny"]) == 0
    page = (work / "reports" / "tiny" / "report.html").read_text()
    assert "# mine" in page                                      # the user's config, as written
    assert _package_files() == before                            # nothing written into the installation
    assert not (tmp_path / "specs" / "reports").exists() and not (REPO / "reports" / "tiny").exists()


def test_workload_file_beside_the_spec(tmp_path, monkeypatch):
    (tmp_path / "w.yaml").write_text("name: w\nlayers:\n  - {name: g, op: matmul, M: 8, K: 8, N: 8}\n")
    (tmp_path / "s.yaml").write_text("archs: [ideal]\nworkloads: [w.yaml]\n")
    monkeypatch.chdir(tmp_path.parent)
    from accelsim.sweep import load_spec
    spec = load_spec(tmp_path / "s.yaml")
    assert spec.points[0].recipe.workload == str(tmp_path / "w.yaml")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs the git checkout")
def test_wheel_installed_alone_in_a_fresh_venv():
    """Build the wheel, install it in a fresh venv (dependencies from the package index), use it from a
    temporary directory: .ci/wheel_smoke, which CI runs after `make test`."""
    p = subprocess.run(["bash", str(REPO / ".ci" / "wheel_smoke")], capture_output=True, text=True, timeout=900,
                       env={**os.environ, "PY": sys.executable})
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "[wheel smoke" in p.stdout and p.stdout.rstrip().endswith("ok")
