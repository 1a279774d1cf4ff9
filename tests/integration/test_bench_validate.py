"""bench and validate produce what they promise (speed is never asserted: that is bench's job)."""
import json

import pandas as pd
import pytest

from accelsim import bench
from accelsim.validate import collect, error_pct, markdown


def test_error_pct_by_hand():
    assert error_pct(100.0, 110.0) == pytest.approx(10.0)
    assert error_pct(2.0, 1.0) == pytest.approx(-50.0)
    assert error_pct(-4.0, -2.0) == pytest.approx(50.0)


@pytest.mark.slow
def test_bench_item_reports_median_spread_and_memory():
    row = bench.run_item("trace_resnet50", 2)
    assert row["runs"] == 2 and row["min_s"] <= row["median_s"] <= row["max_s"]
    assert row["peak_rss_mib"] > 0 and isinstance(row["meets_target"], bool)
    json.dumps(row)


def test_bench_summary_names_the_slowest_config_and_the_misses():
    res = {"results": [
        {"item": "trace_resnet50", "target_s": 0.3, "median_s": 0.25, "x_memory_scan": 14.0, "peak_rss_mib": 400.0,
         "meets_target": True},
        {"item": "resnet50_every_model", "target_s": 0.25, "median_s": 0.3, "peak_rss_mib": 420.0,
         "meets_target": False, "per_config": {"eie": {"median_s": 0.1}, "scnn": {"median_s": 0.3}}},
        {"item": "sweep", "best_points_per_s": 400.4, "target_points_per_s": 315.0, "meets_target": True,
         "peak_rss_mib": 300.0},
        {"item": "layer_points", "peak_rss_mib": 1.0},            # no target: not a line
        {"item": "scnn_vgg16", "error": "ModelError: boom"}]}
    rows = bench.summary(res)
    assert [r["item"] for r in rows] == ["trace_resnet50", "resnet50_every_model (scnn)",
                                         "sweep (400 points/s, target 315)", "scnn_vgg16"]
    assert [r["met"] for r in rows] == ["yes", "NO", "yes", "error"]
    assert rows[0]["median_ms"] == pytest.approx(250.0) and rows[1]["target_ms"] == pytest.approx(250.0)


def test_validation_flags_out_of_tolerance(monkeypatch):
    import accelsim.validate as v

    class Fake:
        @staticmethod
        def cases():
            kind = {"source_kind": "table", "category": "performance"}
            return [{"model": "m", "quantity": "q1", "published": 10.0, "accelsim": 10.5, "unit": "x",
                     "tolerance_pct": 10, "source": "paper", **kind},
                    {"model": "m", "quantity": "q2", "published": 10.0, "accelsim": 20.0, "unit": "x",
                     "tolerance_pct": 10, "source": "paper", **kind},
                    # within tolerance, but it does not say how its number was read: flagged
                    {"model": "m", "quantity": "q3", "published": 10.0, "accelsim": 10.0, "unit": "x",
                     "tolerance_pct": 10, "source": "paper", "category": "area"},
                    # a figure read by eye cannot claim 5 %
                    {"model": "m", "quantity": "q4", "published": 10.0, "accelsim": 10.0, "unit": "x",
                     "tolerance_pct": 5, "source": "paper", "source_kind": "figure", "category": "area"}]

    monkeypatch.setattr(v.importlib, "import_module", lambda name: Fake)
    df = collect(["fake"], workers=1)
    assert df["ok"].tolist() == [True, False, False, False]
    assert df["error_pct"].tolist() == pytest.approx([5.0, 100.0, 0.0, 0.0])
    assert "unstated" in df["note"][2] and "figure" in df["note"][3]
    assert "**FLAG**" in markdown(df).splitlines()[-1]


def test_every_model_has_a_validation_module():
    """Fast check: every registered model is named by some validation module (the full run is slow)."""
    import inspect
    from accelsim.arch import list_models
    from accelsim.validate import validation_modules
    import importlib
    text = " ".join(inspect.getsource(importlib.import_module(f"accelsim.validation.{m}"))
                    for m in validation_modules())
    missing = [m for m in list_models() if m != "ideal" and f'"{m}"' not in text and f"'{m}'" not in text]
    assert not missing, f"models without validation cases: {missing}"


@pytest.mark.slow
def test_every_model_has_a_published_quantity():
    from accelsim.arch import list_models
    df = collect()
    models_with_cases = set(df["model"])
    missing = [m for m in list_models() if m != "ideal" and not any(m in x or x in m for x in models_with_cases)]
    assert not missing, f"models without validation cases: {missing}"
    assert not df["quantity"].eq("(validation module failed)").any(), df[df["quantity"].str.contains("failed")]
    # every row says how its number was read and what it is (the rule `collect` enforces by flagging)
    assert not df["note"].str.contains("missing or unknown").any(), df[df["note"] != ""][["model", "quantity"]]
    # the docs' and the README's tables are this run's (tools/doc_tables.py writes them)
    import importlib.util
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("doc_tables", root / "tools" / "doc_tables.py")
    doc_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(doc_tables)
    stale = [f for f in doc_tables.FILES
             if doc_tables.rewrite((root / f).read_text(), df) != (root / f).read_text()]
    assert not stale, f"run `python tools/doc_tables.py`: stale tables in {stale}"


def test_condensed_folds_long_runs_keeping_the_worst():
    from accelsim.validate import condensed
    rows = [{"model": "m", "quantity": f"c{i}", "published": 10.0, "accelsim": 10.0 + i, "unit": "x",
             "error_pct": 10.0 * i, "tolerance_pct": 50, "ok": 10 * i <= 50, "source": "s"} for i in range(8)]
    rows.append({"model": "n", "quantity": "q", "published": 1.0, "accelsim": 1.0, "unit": "x", "error_pct": 0.0,
                 "tolerance_pct": 1, "ok": True, "source": "t"})
    out = condensed(pd.DataFrame(rows))
    assert len(out) == 2
    first = out.iloc[0]
    assert first["quantity"].startswith("8 cases (6 within tolerance); worst: c7")
    assert first["error_pct"] == 70.0 and not first["ok"]


def test_validation_figure_draws_every_published_row(tmp_path):
    """One row per performance/energy quantity; flagged rows in vermillion; errors beyond the clip at the edge."""
    from accelsim.report.plots import PALETTE
    from accelsim.validate import FIGURE_CLIP_PCT, figure, write_figure
    import matplotlib.colors as mc
    kind = {"unit": "x", "source": "paper"}
    df = pd.DataFrame([
        {"model": "a", "quantity": "q1", "published": 1.0, "accelsim": 1.05, "error_pct": 5.0, "tolerance_pct": 10.0,
         "ok": True, "source_kind": "text", "category": "performance", **kind},
        {"model": "a", "quantity": "q2", "published": 1.0, "accelsim": 1.3, "error_pct": 30.0, "tolerance_pct": 10.0,
         "ok": False, "source_kind": "table", "category": "energy", **kind},
        {"model": "b", "quantity": "q3", "published": 1.0, "accelsim": 4.0, "error_pct": 300.0, "tolerance_pct": 50.0,
         "ok": False, "source_kind": "figure", "category": "performance", **kind},
        {"model": "b", "quantity": "area", "published": 1.0, "accelsim": 9.0, "error_pct": 800.0,
         "tolerance_pct": 50.0, "ok": False, "source_kind": "table", "category": "area", **kind},
    ])
    fig, ax = figure(df)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["q1", "q2", "q3"]   # the area row is not drawn
    pts = {}
    for coll in ax.collections:
        off = coll.get_offsets()
        if len(off):
            for (x, y), c in zip(off, coll.get_facecolors() if len(coll.get_facecolors()) == len(off)
                                  else [coll.get_facecolors()[0]] * len(off)):
                pts[int(round(y))] = (float(x), mc.to_hex(c))
    # rows are drawn top-down: q1 at y=2, q2 at y=1, q3 at y=0
    assert pts[2] == (5.0, PALETTE[0].lower()) and pts[1] == (30.0, PALETTE[3].lower())
    assert pts[0] == (FIGURE_CLIP_PCT, PALETTE[3].lower())       # 300% drawn at the edge
    assert "3 published performance and energy quantities" in fig._suptitle.get_text()
    import matplotlib.pyplot as plt
    plt.close(fig)
    assert [p.suffix for p in write_figure(df, tmp_path)] == [".png", ".svg", ".pdf"]


def test_validate_one_model_keeps_its_rows_and_its_areas(monkeypatch):
    import accelsim.validate as v
    from accelsim.errors import AccelsimError
    row = {"unit": "x", "source": "paper", "source_kind": "table", "published": 1.0, "accelsim": 1.0,
           "tolerance_pct": 10}
    mods = {"scnn": [{"model": "scnn", "quantity": "s", "category": "performance", **row},
                     {"model": "dcnn", "quantity": "d", "category": "energy", **row}],
            "eie": [{"model": "eie", "quantity": "e", "category": "performance", **row}],
            "area": [{"model": m, "quantity": f"{m} area", "category": "area", **row} for m in ("scnn", "dcnn", "eie")]}

    class Fake:
        def __init__(self, name):
            self.name = name

        def cases(self):
            return mods[self.name]

    monkeypatch.setattr(v, "validation_modules", lambda: sorted(mods))
    monkeypatch.setattr(v.importlib, "import_module", lambda name: Fake(name.rsplit(".", 1)[1]))
    df = v.select_models(["scnn"], workers=1)
    assert sorted(df["quantity"]) == ["d", "dcnn area", "s", "scnn area"]
    assert set(df["module"]) == {"scnn", "area"}
    with pytest.raises(AccelsimError, match="no validation module 'area'"):
        v.select_models(["area"])


def test_summary_and_no_figure_without_published_rows(tmp_path):
    from accelsim.validate import summary, write_figure
    row = {"model": "m", "unit": "", "source": "s", "source_kind": "exact", "published": 1.0, "accelsim": 1.0,
           "error_pct": 0.0, "tolerance_pct": 0.0}
    ref = pd.DataFrame([{**row, "quantity": "a", "ok": True, "category": "reference"},
                        {**row, "quantity": "b", "ok": False, "category": "reference"}])
    assert summary(ref) == "2 quantities, 1 outside tolerance (flagged)"
    assert write_figure(ref, tmp_path) == [] and not list(tmp_path.iterdir())
    perf = pd.concat([ref, pd.DataFrame([{**row, "quantity": "c", "ok": True, "category": "energy",
                                          "error_pct": -4.0}])])
    assert summary(perf).endswith("1 quantities, median |error| 4.0%, worst 4.0%, 0 flagged")
