"""Sweeps: specs checked up front, resumable store, executors agree, failures isolated."""
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from accelsim.errors import AccelsimError
from accelsim.sweep import load_results, parse_spec, run_sweep, status

SMALL = {"archs": [{"name": "ideal", "params": {"peak_macs_per_cycle": [64, 256]}}],
         "workloads": ["gemm:64x16x48"], "patterns": ["unstructured"], "densities": [0.2, 0.6, 1.0],
         "act_densities": [0.5], "seeds": [0, 1]}


def _batch_keys(path):
    import json

    import pyarrow.parquet as pq
    return json.loads(pq.read_schema(path).metadata[b"accelsim_points"])


def _sorted(df):
    return df.sort_values(["point", "layer"]).reset_index(drop=True)


def test_points_are_a_cartesian_product():
    spec = parse_spec(SMALL)
    assert len(spec.points) == 2 * 3 * 2
    assert len(spec.by_recipe()) == 3 * 2  # traces shared by the two arch variants


def test_zip_advances_axes_together():
    spec = parse_spec({**SMALL, "act_densities": [0.1, 0.5, 0.9], "zip": ["densities", "act_densities"]})
    pairs = {(p.recipe.density, p.recipe.act_density) for p in spec.points}
    assert pairs == {(0.2, 0.1), (0.6, 0.5), (1.0, 0.9)}


@pytest.mark.parametrize("bad,needle", [
    ({**SMALL, "densitys": [0.1]}, "unknown key 'densitys'"),
    ({**SMALL, "densities": []}, "empty axis"),
    ({**SMALL, "archs": [{"name": "nope"}]}, "unknown arch"),
    ({**SMALL, "archs": [{"name": "ideal", "params": {"pes": [1]}}]}, "params.pes"),
    ({**SMALL, "archs": [{"name": "ideal", "params": {"peak_macs_per_cycle": []}}]}, "empty axis"),
    ({**SMALL, "densities": [1.5]}, "(0, 1]"),
    ({**SMALL, "workloads": ["nowhere"]}, "unknown workload"),
    ({**SMALL, "patterns": ["nm:5:4"]}, "N <= M"),
    ({**SMALL, "zip": ["densities", "seeds"]}, "equal lengths"),
])
def test_bad_specs_rejected_before_work(bad, needle):
    with pytest.raises(AccelsimError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        parse_spec(bad)


def test_users_first_sweep_spec_parses():
    spec = parse_spec({"archs": [{"name": "ideal"}], "workloads": ["alexnet"], "patterns": ["unstructured"],
                       "densities": [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], "seeds": [0, 1]})
    assert len(spec.points) == 22


def test_interrupted_sweep_resumes_to_the_same_rows(tmp_path):
    spec = parse_spec(SMALL)
    full = run_sweep(spec, tmp_path / "full", executor="serial", progress=False)
    assert full.done == 12

    seen = []

    def stop_after_five(key):
        seen.append(key)
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(spec, tmp_path / "part", executor="serial", progress=False, on_point=stop_after_five)
    st = status(tmp_path / "part")
    # a task's two points are stored together: the interrupt came after the third batch was written
    assert st["done"] == 6 and st["remaining"] == 6
    again = run_sweep(spec, tmp_path / "part", executor="serial", progress=False)
    assert again.skipped == 6 and again.done == 6
    a, b = _sorted(load_results(tmp_path / "full")), _sorted(load_results(tmp_path / "part"))
    assert len(a) == len(b) == 12
    pd.testing.assert_frame_equal(a, b)


def test_processes_match_serial(tmp_path):
    spec = parse_spec(SMALL)
    run_sweep(spec, tmp_path / "s", executor="serial", progress=False)
    run_sweep(spec, tmp_path / "p", executor="processes", workers=2, progress=False)
    pd.testing.assert_frame_equal(_sorted(load_results(tmp_path / "s")), _sorted(load_results(tmp_path / "p")))


@pytest.mark.slow
def test_dask_local_cluster_matches_serial(tmp_path):
    pytest.importorskip("dask.distributed")
    spec = parse_spec(SMALL)
    run_sweep(spec, tmp_path / "s", executor="serial", progress=False)
    run_sweep(spec, tmp_path / "d", executor="dask", workers=2, progress=False)
    pd.testing.assert_frame_equal(_sorted(load_results(tmp_path / "s")), _sorted(load_results(tmp_path / "d")))


def test_a_failing_point_does_not_stop_the_others(tmp_path):
    # a point whose trace cannot be made (an unknown profile) is recorded as failed; the others finish
    spec = parse_spec({"archs": ["ideal"], "workloads": ["gemm:8x8x8"], "densities": [0.5, 1.0]})
    from accelsim.sweep import spec as spec_mod
    bad_recipe = spec_mod.Recipe(workload="gemm:8x8x8", pattern="unstructured", density=0.5, profile="nonesuch",
                                 act_density=None, seed=0)
    spec.points.append(spec_mod.Point("deadbeef", bad_recipe, spec.points[0].arch))
    res = run_sweep(spec, tmp_path / "f", executor="serial", progress=False)
    assert res.done == 2 and res.failed == 1
    st = status(tmp_path / "f")
    assert st["done"] == 2 and "nonesuch" in st["errors"]["deadbeef"]


def test_kill_9_then_resume(tmp_path):
    spec_file = tmp_path / "s.yaml"
    # 12 tasks (6 densities x 2 seeds) of 2 points (arch variants): one batch file each
    spec_file.write_text("archs: [{name: ideal, params: {peak_macs_per_cycle: [64, 256]}}]\n"
                         "workloads: ['gemm:512x64x512']\ndensities: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]\nseeds: [0, 1]\n")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "accelsim.cli", "sweep", str(spec_file), "-o", str(out),
                             "--executor", "serial"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        if (out / "points").is_dir() and len(list((out / "points").glob("*.parquet"))) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = len(list((out / "points").glob("*.parquet")))
    assert 3 <= partial <= 12
    assert status(out)["done"] == 2 * partial   # whole batches only
    subprocess.run([sys.executable, "-m", "accelsim.cli", "sweep", str(spec_file), "-o", str(out), "--executor",
                    "serial"], check=True, capture_output=True)
    df = load_results(out)
    assert len(df) == 24 and df["point"].is_unique
    assert not list((out / "points").glob(".*.tmp"))
    held = [k for p in (out / "points").glob("*.parquet") for k in _batch_keys(p)]
    assert len(held) == 24 and set(held) == set(df["point"])   # no point stored twice


def test_bad_point_files_are_named_set_aside_and_recomputed(tmp_path):
    """Issue 23: an empty, garbage or foreign point file is never trusted; resume recomputes it."""
    from accelsim.sweep.run import status
    spec = parse_spec({"archs": ["ideal"], "workloads": ["gemm:8x8x8"], "densities": [0.5, 1.0]})
    run_sweep(spec, tmp_path, executor="serial", progress=False)
    pts = sorted((tmp_path / "points").glob("*.parquet"))
    pts[0].write_bytes(b"")                         # empty
    pts[1].write_bytes(b"PAR1 garbage")             # unreadable
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "points" / "stranger.parquet")   # not in the manifest
    st = status(tmp_path)
    assert st["done"] == 0 and st["remaining"] == 2 and len(st["bad_files"]) == 3
    assert load_results(tmp_path).empty and len(load_results(tmp_path).attrs["notes"]) == 3
    res = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert res.done == 2 and res.skipped == 0
    assert len(load_results(tmp_path)) == 2 and sorted(p.name for p in (tmp_path / "quarantine").iterdir())


def test_unreadable_manifest_is_one_clear_error(tmp_path):
    spec = parse_spec({"archs": ["ideal"], "workloads": ["gemm:8x8x8"], "densities": [0.5]})
    run_sweep(spec, tmp_path, executor="serial", progress=False)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(AccelsimError, match="manifest.json' is unreadable"):
        load_results(tmp_path)


def test_failed_points_exit_3_and_workers_are_bounded(tmp_path):
    from accelsim.cli import main
    spec_file = tmp_path / "s.yaml"
    spec_file.write_text("archs: [{name: eie}]\nworkloads: ['gemm:8x8x8']\npatterns: ['nm:2:4']\n")
    assert main(["sweep", str(spec_file), "-o", str(tmp_path / "out"), "--executor", "serial"]) in (0, 3)
    with pytest.raises(AccelsimError, match="--workers must be between 1 and"):
        run_sweep(parse_spec({"archs": ["ideal"], "workloads": ["gemm:8x8x8"]}), tmp_path / "w",
                  workers=100000, progress=False)
