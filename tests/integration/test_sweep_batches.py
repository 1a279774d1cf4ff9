"""The sweep store's batches: one Parquet file per task, its point keys in the schema metadata (issue 22)."""
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from accelsim.api import build_trace, simulate_trace
from accelsim.results import to_arrow
from accelsim.sweep import Store, load_results, parse_spec, run_sweep, status
from accelsim.sweep import run as run_mod

# 6 tasks (3 densities x 2 seeds), each of 3 points (the arch variants)
SPEC = {"archs": [{"name": "ideal", "params": {"peak_macs_per_cycle": [16, 64, 256]}}],
        "workloads": ["gemm:64x16x48"], "densities": [0.2, 0.6, 1.0], "act_densities": [0.5], "seeds": [0, 1]}


def _keys(path):
    return json.loads(pq.read_schema(path).metadata[b"accelsim_points"])


def _files(d):
    return sorted((d / "points").glob("*.parquet"))


def _by_point(df):
    return df.sort_values(["point", "layer"]).reset_index(drop=True)


def test_a_task_is_one_file_holding_its_points(tmp_path):
    spec = parse_spec(SPEC)
    res = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert res.done == 18
    files = _files(tmp_path)
    assert len(files) == len(spec.by_recipe()) == 6
    tasks = {frozenset(p.key for p in pts) for pts in spec.by_recipe().values()}
    assert {frozenset(_keys(f)) for f in files} == tasks
    for f in files:   # the metadata names exactly the points whose rows the file holds
        assert sorted(set(pq.read_table(f, columns=["point"])["point"].to_pylist())) == sorted(_keys(f))
    df = load_results(tmp_path)
    assert list(df["point"]) == [p.key for p in spec.points]   # manifest order
    assert status(tmp_path)["done"] == 18


def test_processes_store_the_same_batches(tmp_path):
    spec = parse_spec(SPEC)
    run_sweep(spec, tmp_path / "s", executor="serial", progress=False)
    run_sweep(spec, tmp_path / "p", executor="processes", workers=2, progress=False)
    assert [f.name for f in _files(tmp_path / "s")] == [f.name for f in _files(tmp_path / "p")]
    pd.testing.assert_frame_equal(load_results(tmp_path / "s"), load_results(tmp_path / "p"))


def _failing_for(bad_peak):
    real = simulate_trace

    def sim(config, trace):
        if config.params.peak_macs_per_cycle == bad_peak:
            raise RuntimeError("injected failure")
        return real(config, trace)
    return sim


def test_a_failing_point_leaves_the_rest_of_its_batch_stored(tmp_path, monkeypatch):
    spec = parse_spec(SPEC)
    monkeypatch.setattr(run_mod, "simulate_trace", _failing_for(64))
    res = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert res.done == 12 and res.failed == 6
    bad = {p.key for p in spec.points if p.arch.params["peak_macs_per_cycle"] == 64}
    files = _files(tmp_path)
    assert len(files) == 6 and all(len(_keys(f)) == 2 and not bad & set(_keys(f)) for f in files)
    st = status(tmp_path)
    assert st["done"] == 12 and st["failed"] == 6 and set(st["errors"]) == bad
    assert all("injected failure" in e for e in st["errors"].values())
    assert len(load_results(tmp_path)) == 12

    monkeypatch.undo()   # the rerun computes exactly the failed points, in new batches
    again = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert again.skipped == 12 and again.done == 6 and again.failed == 0
    assert not list((tmp_path / "failed").glob("*.json"))
    assert len(_files(tmp_path)) == 12
    full = run_sweep(spec, tmp_path / "full", executor="serial", progress=False)
    assert full.done == 18
    pd.testing.assert_frame_equal(load_results(tmp_path), load_results(tmp_path / "full"))


def _with_own_columns(monkeypatch, tiles_64):
    """Designs' own columns: 'tiles' is *tiles_64* for one variant, a number for the others."""
    real = simulate_trace

    def sim(config, trace):
        rows = real(config, trace)
        peak = config.params.peak_macs_per_cycle
        for r in rows:
            r["tiles"] = tiles_64 if peak == 64 else peak
            if peak == 16:
                r["only_16"] = True
        return rows
    monkeypatch.setattr(run_mod, "simulate_trace", sim)


def test_a_column_of_text_and_numbers_is_held_as_json(tmp_path, monkeypatch):
    """A design's own column may hold text where another's holds numbers: one batch still, values exact."""
    _with_own_columns(monkeypatch, "one slice")
    spec = parse_spec(SPEC)
    run_sweep(spec, tmp_path, executor="serial", progress=False)
    files = _files(tmp_path)
    assert len(files) == 6 and all(len(_keys(f)) == 3 for f in files)
    assert all(json.loads(pq.read_schema(f).metadata[b"accelsim_json_columns"]) == ["tiles"] for f in files)
    df = load_results(tmp_path)
    assert list(df["point"]) == [p.key for p in spec.points]
    peaks = df["param_peak_macs_per_cycle"]
    assert df["tiles"].dtype == object
    assert list(df["tiles"][peaks == 64].unique()) == ["one slice"]
    assert all(type(v) is int for v in df["tiles"][peaks != 64])    # as each point wrote it, not 16.0
    assert (df["tiles"][peaks != 64] == peaks[peaks != 64]).all()
    assert df["only_16"][peaks == 16].eq(True).all() and df["only_16"][peaks != 16].isna().all()

    # the same rows however the points were batched (here: one file per point, as older sweeps wrote)
    old = tmp_path / "old"
    _old_layout(spec, old)
    pd.testing.assert_frame_equal(load_results(old), df, check_like=True)


def test_values_json_cannot_hold_split_a_task_into_batches(tmp_path, monkeypatch):
    _with_own_columns(monkeypatch, [1, 2])
    spec = parse_spec(SPEC)
    run_sweep(spec, tmp_path, executor="serial", progress=False)
    files = _files(tmp_path)
    assert len(files) == 12 and sorted(len(_keys(f)) for f in files) == [1] * 6 + [2] * 6
    df = load_results(tmp_path)
    assert len(df) == 18 and list(df["point"]) == [p.key for p in spec.points]
    peaks = df["param_peak_macs_per_cycle"]
    assert all(list(v) == [1, 2] for v in df["tiles"][peaks == 64])
    assert (df["tiles"][peaks != 64] == peaks[peaks != 64]).all()


def _old_layout(spec, d):
    """A sweep directory as older accelsim wrote it: points/KEY.parquet per point, no metadata."""
    st = Store(d)
    st.init()
    st.write_manifest({"name": spec.name, "spec": spec.raw,
                       "points": [{"key": p.key, "arch": p.arch.label, **p.recipe.as_dict()} for p in spec.points]})
    for recipe, pts in spec.by_recipe().items():
        tr = build_trace(recipe.workload, pattern=recipe.pattern, density=recipe.density,
                         act_density=recipe.act_density, seed=recipe.seed)
        for p in pts:
            rows = run_mod.simulate_trace(p.arch.config, tr)
            for r in rows:
                r.update(p.columns())
            pq.write_table(to_arrow(rows), d / "points" / f"{p.key}.parquet")


def test_an_old_one_file_per_point_directory_loads_and_resumes(tmp_path):
    spec = parse_spec(SPEC)
    run_sweep(spec, tmp_path / "new", executor="serial", progress=False)
    old = tmp_path / "old"
    _old_layout(spec, old)
    assert status(old)["done"] == 18 and not status(old)["bad_files"]
    pd.testing.assert_frame_equal(load_results(old), load_results(tmp_path / "new"))

    gone = [p.key for p in spec.points[::4]]   # lost files: a resume computes exactly those points
    for k in gone:
        (old / "points" / f"{k}.parquet").unlink()
    res = run_sweep(spec, old, executor="serial", progress=False)
    assert res.skipped == 18 - len(gone) and res.done == len(gone)
    assert len(_files(old)) == 18 - len(gone) + len({spec.points[i].recipe for i in range(0, 18, 4)})
    pd.testing.assert_frame_equal(load_results(old), load_results(tmp_path / "new"))


def test_bad_batches_are_named_set_aside_and_recomputed(tmp_path):
    spec = parse_spec(SPEC)
    run_sweep(spec, tmp_path, executor="serial", progress=False)
    files = _files(tmp_path)
    lost = set(_keys(files[0])) | set(_keys(files[1]))
    # a batch holding a point this sweep does not know, and one whose point list is not a list of keys
    for f, meta in ((files[0], json.dumps(_keys(files[0]) + ["stranger"])), (files[1], json.dumps({"a": 1}))):
        t = pq.read_table(f)
        pq.write_table(t.replace_schema_metadata({b"accelsim_points": meta.encode()}), f)
    # a batch of two points without the column that tells their rows apart
    t = pq.read_table(files[2])
    pq.write_table(t.drop_columns(["point"]), files[2])
    lost |= set(_keys(files[2]))
    st = status(tmp_path)
    assert st["done"] == 18 - len(lost) and len(st["bad_files"]) == 3
    assert "not in this sweep's manifest" in st["bad_files"][files[0].name]
    df = load_results(tmp_path)
    assert len(df) == 18 - len(lost) and len(df.attrs["notes"]) == 3 and not lost & set(df["point"])
    res = run_sweep(spec, tmp_path, executor="serial", progress=False)
    assert res.done == len(lost)
    assert sorted(p.name for p in (tmp_path / "quarantine").iterdir()) == sorted(f.name for f in files[:3])
    assert list(load_results(tmp_path)["point"]) == [p.key for p in spec.points]


def test_a_point_in_two_files_is_loaded_once(tmp_path):
    spec = parse_spec(SPEC)
    run_sweep(spec, tmp_path, executor="serial", progress=False)
    f = _files(tmp_path)[0]
    k = _keys(f)[0]   # a copy of one of its points, as a file of the old layout
    t = pq.read_table(f)
    pq.write_table(t.filter(pa.compute.equal(t["point"], k)).replace_schema_metadata(None),
                   tmp_path / "points" / f"{k}.parquet")
    df = load_results(tmp_path)
    assert len(df) == 18 and df["point"].is_unique


@pytest.mark.parametrize("n", [0, 1])
def test_run_task_returns_one_batch(n):
    spec = parse_spec({**SPEC, "densities": [0.5], "seeds": [0]})
    (recipe, pts), = spec.by_recipe().items()
    res = run_mod.run_task(recipe, pts[n:])
    assert not res.failed and len(res.batches) == 1 and res.batches[0][0] == [p.key for p in pts[n:]]
    assert pq.read_table(pa.BufferReader(res.batches[0][1])).num_rows == len(pts) - n


@pytest.mark.parametrize("executor", ["dask://no:port:x", "dask://host:0", "dask://:8786", "dask://h/x:1"])
def test_a_bad_scheduler_address_is_refused_before_anything_is_written(tmp_path, executor):
    out = tmp_path / "sweep"
    with pytest.raises(run_mod.AccelsimError, match="expected dask://HOST:PORT"):
        run_sweep(parse_spec(SPEC), out, executor=executor, progress=False)
    assert not out.exists()


def test_a_half_written_batch_left_by_a_killed_run_is_cleared(tmp_path):
    spec = parse_spec(SPEC)
    (tmp_path / "points").mkdir(parents=True)
    stale = tmp_path / "points" / ".batch-0123456789abcdef0123.parquet.x1y2z3.tmp"
    stale.write_bytes(b"PAR1 half a file")
    other = tmp_path / "points" / "notes.tmp"   # not the store's own temporary: left alone
    other.write_text("mine")
    assert run_sweep(spec, tmp_path, executor="serial", progress=False).done == 18
    assert not stale.exists() and other.read_text() == "mine"
