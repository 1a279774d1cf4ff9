"""Figures as a paper prints them, and the HTML report: checked on a small real sweep of the ideal design.

The ideal design is a roofline: on a dense GEMM it takes max(M*K*N / peak, dram_bytes / bandwidth) cycles, so
the plotted numbers can be checked by hand against the rows.
"""
import base64
import re

import numpy as np
import pandas as pd
import pytest

import accelsim
from accelsim.report import plots
from accelsim.report.html import Section, build_html
from accelsim.report.report import summary_table, write_report
from accelsim.results import ENERGY_COLUMNS
from accelsim.sweep import load_results, parse_spec, run_sweep

FAST = ("png",)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """ideal over peak_macs_per_cycle (given out of order) x three densities, on two AlexNet layers."""
    d = tmp_path_factory.mktemp("sweep")
    spec = parse_spec({"name": "t", "archs": [{"name": "ideal", "params": {"peak_macs_per_cycle": [256, 64, 128]}}],
                       "workloads": ["alexnet"], "layers": ["conv3", "fc8"], "densities": [0.2, 0.6, 1.0],
                       "act_densities": [0.5]})
    run_sweep(spec, d, executor="serial", progress=False)
    return load_results(d)


@pytest.fixture
def spy(monkeypatch):
    """Captures each figure (its axes, legends, labels) before it is saved."""
    seen = {}
    orig = plots.save_figure

    def save(fig, outdir, name, caption=None, formats=None):
        axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
        seen[name] = {"axes": axes, "caption": caption,
                      "legends": [[t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else None
                                  for ax in axes],
                      "font": (fig.axes[0].xaxis.label.get_fontfamily(), fig.axes[0].xaxis.label.get_fontsize()),
                      "width_in": fig.get_size_inches()[0]}
        return orig(fig, outdir, name, caption, formats)

    monkeypatch.setattr(plots, "save_figure", save)
    return seen


def _lines(ax):
    return [l for l in ax.get_lines() if len(l.get_xdata()) > 0 and l.get_label() and not l.get_label().startswith("_")]


def test_axis_figure_against_a_parameter_by_hand(sweep, tmp_path, spy):
    paths = plots.axis_figure(sweep, tmp_path, x="peak_macs_per_cycle", series="density", formats=FAST)
    (name,) = spy
    fig = spy[name]
    lat_ax, en_ax = fig["axes"]
    # numeric legends in numeric order, a legend on every panel
    assert fig["legends"] == [["0.2", "0.6", "1"], ["0.2", "0.6", "1"]]
    assert lat_ax.get_xlabel() == "peak rate (MACs/cycle)" and lat_ax.get_ylabel() in ("latency (µs)", "latency (ms)")
    assert en_ax.get_ylabel().startswith("energy (")
    # the density-1 line: network latency of conv3 + fc8 at each peak, from the rows themselves
    line = [l for l in _lines(lat_ax) if l.get_label() == "1"][0]
    div = 1e-6 if "µs" in lat_ax.get_ylabel() else 1e-3
    rows = sweep[sweep["sweep_density"] == 1.0]
    want = rows.groupby("param_peak_macs_per_cycle")["latency_s"].sum().sort_index() / div
    assert list(line.get_xdata()) == [64, 128, 256]
    assert np.allclose(line.get_ydata(), want.to_numpy())
    # each layer on the ideal design: max(MACs performed / 64, DRAM bytes / bytes per cycle) cycles
    for _, r in rows[rows["param_peak_macs_per_cycle"] == 64].iterrows():
        bw = r["dram_bytes_per_s"] / r["freq_hz"]
        assert r["cycles"] == pytest.approx(max(r["macs_performed"] / 64, r["dram_bytes"] / bw))
    # the caption names what is fixed; it is stored in the PNG
    cap = plots.caption_of(paths[0])
    assert "Fixed:" in cap and "workload alexnet" in cap and "activation density 0.5" in cap
    assert cap == fig["caption"]


def test_default_series_and_facets(sweep, tmp_path, spy):
    plots.axis_figure(sweep, tmp_path, x="density", formats=FAST)   # series defaults to the other swept axis
    (fig,) = spy.values()
    assert fig["legends"][0] == ["64", "128", "256"]
    assert fig["axes"][0].get_xlabel() == "weight density (fraction kept)"


def test_categorical_axis_draws_bars(sweep, tmp_path, spy):
    one = sweep[sweep["param_peak_macs_per_cycle"] == 64]
    df = pd.concat([one, one.assign(workload="alexnet_copy", energy_pj=one["energy_pj"] * 2)], ignore_index=True)
    plots.axis_figure(df, tmp_path, x="workload", y="energy", formats=FAST)
    (fig,) = spy.values()
    ax = fig["axes"][0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["alexnet", "alexnet_copy"]
    assert fig["legends"][0] == ["0.2", "0.6", "1"]          # the other swept axis, density, as the series
    heights = [p.get_height() for p in ax.patches]       # per density: alexnet, then the copy at twice the energy
    assert len(heights) == 6 and heights[1::2] == pytest.approx([2 * h for h in heights[0::2]])


def test_unknown_axis_names_the_swept_ones(sweep, tmp_path):
    with pytest.raises(accelsim.errors.AccelsimError, match="swept here: .*peak_macs_per_cycle"):
        plots.axis_figure(sweep, tmp_path, x="fifo_depth")


def test_paper_style_is_serif_8pt_vector_at_a_column(sweep, tmp_path, spy):
    paths = plots.axis_figure(sweep, tmp_path, x="density", y="latency", style="paper", formats="svg,pdf")
    (fig,) = spy.values()
    assert fig["font"][0] == ["serif"] and 8 <= fig["font"][1] <= 9
    assert fig["width_in"] == pytest.approx(plots.COLUMN_IN)
    assert sorted(p.suffix for p in paths) == [".pdf", ".svg"]
    assert paths[0].read_bytes()[:4] in (b"%PDF", b"<?xm")


def test_roofline_places_every_layer_under_its_roofs(sweep, tmp_path, spy):
    df = sweep.copy()
    df.loc[df.index[0], "dram_bytes"] = 0.0          # a layer that moves nothing off chip
    plots.roofline(df, tmp_path, formats=FAST)
    (fig,) = spy.values()
    ax = fig["axes"][0]
    pts = sum(len(l.get_xdata()) for l in ax.get_lines() if l.get_linestyle() == "None")
    assert pts == len(df)                               # none dropped
    assert "1 layer(s) with no DRAM traffic" in fig["caption"]
    roofs = [l for l in ax.get_lines() if l.get_linestyle() != "None" and len(l.get_xdata()) > 2]
    assert len(roofs) == 3
    # the 64-MAC design's roof flattens at 64 MACs/cycle x 1 GHz (the ideal config's clock)
    peak = sweep.loc[sweep["param_peak_macs_per_cycle"] == 64].iloc[0]
    top = max(max(l.get_ydata()) for l in roofs)
    assert "GMAC/s" in ax.get_ylabel()
    assert top == pytest.approx(256 * peak["freq_hz"] / 1e9)


def test_cycle_account_uses_the_shared_reasons(sweep, tmp_path, spy):
    plots.cycle_account(sweep, tmp_path, formats=FAST)
    (fig,) = spy.values()
    ax = fig["axes"][0]
    labels = fig["legends"][0]
    assert labels[0] == "ideal" and set(labels[1:]) <= {r.replace("_", " ") for r in accelsim.results.LOSS_REASONS}
    # one bar per configuration, its segments adding up to 1
    widths = {}
    for p in ax.patches:
        widths.setdefault(round(p.get_y(), 6), []).append(p.get_width())
    assert len(widths) == 3 and all(sum(w) == pytest.approx(1.0) for w in widths.values())


def test_energy_breakdown_ignores_legacy_component_columns(sweep, tmp_path, spy):
    df = sweep.assign(energy_spmat_sram_pj=1e9)       # a legacy per-component column
    plots.energy_breakdown(df, tmp_path, formats=FAST)
    (fig,) = spy.values()
    classes = {c[len("energy_"):-len("_pj")] for c in ENERGY_COLUMNS}
    assert set(fig["legends"][0]) <= classes and "spmat sram" not in fig["legends"][0]


def test_heatmap_titles_carry_the_setting(sweep, tmp_path, spy):
    df = sweep.copy()
    df["pe_busy"] = [list(np.linspace(1, 2, 8) * (i + 1)) for i in range(len(df))]
    plots.load_balance_heatmap(df, tmp_path, formats=FAST, labels=["ideal[peak_macs_per_cycle=64]"])
    (fig,) = spy.values()
    titles = [ax.get_title(loc="left") for ax in fig["axes"] if ax.get_title(loc="left")]
    assert titles == [f"ideal[peak_macs_per_cycle=64]: alexnet, unstructured, weight density {d:g}, activations 0.5"
                      for d in (0.2, 0.6, 1)]


def test_every_standard_plot_renders(sweep, tmp_path):
    df = sweep.assign(fidelity=1.0 - 0.3 * (1.0 - sweep["sweep_density"]), fidelity_metric="embedding cosine")
    for name, fn in plots.RESULT_PLOTS.items():
        if name == "balance":
            continue
        paths = fn(df, tmp_path, formats=FAST)
        assert paths, name
        assert all(p.stat().st_size > 2000 for p in paths if p.suffix == ".png")
        assert all(plots.caption_of(p) for p in paths if p.suffix == ".png"), name


def test_format_plots(tmp_path):
    fmt = pd.DataFrame([{"layer": l, "format": f, "density": d, "total_bits": b}
                        for l, d in (("a", 0.1), ("b", 0.5))
                        for f, b in (("dense", 1000), ("bitmap", 400 if d == 0.5 else 300),
                                     ("coo", 200 if d == 0.1 else 900))])
    assert plots.storage_vs_sparsity(fmt, tmp_path, formats=FAST)
    assert plots.best_format_per_layer(fmt, tmp_path, formats=FAST)


def test_summary_table_units_and_order(sweep):
    tot = plots.point_totals(sweep)
    t = summary_table(tot)
    assert list(t.columns[:2]) == ["peak_macs_per_cycle", "density"]
    assert list(t["peak_macs_per_cycle"].iloc[::3]) == [64, 128, 256]
    html = build_html("x", [Section("s", tables=[("", t)])])
    assert re.search(r"<th>latency_(us|ms)</th>", html) and re.search(r"<th>energy_(uJ|mJ)</th>", html)
    assert "e+0" not in html


def test_report_holds_summary_figures_designs_and_configs(sweep, tmp_path):
    path = write_report(sweep, tmp_path, "test report", [Section("Extra section", "hello")], formats=FAST)
    text = path.read_text()
    for title in ("Summary", "Figures", "Design: ideal", "Extra section", "Workloads used"):
        assert f">{title}</h2>" in text
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    caps = re.findall(r"<figcaption>([^<]+)</figcaption>", text)
    assert len(imgs) == len(caps) >= 5 and all(len(c) > 30 for c in caps)
    assert base64.b64decode(imgs[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "accelsim/configs/ideal.yaml" in text and "model: ideal" in text
    assert "peak_macs_per_cycle: [64, 128, 256]" in text     # what the points set on top of the config
    assert "accelsim " + accelsim.__version__ in text


def test_report_shows_a_user_config_as_written(tmp_path):
    (tmp_path / "mine.yaml").write_text("# my design\nmodel: ideal\nparams: {peak_macs_per_cycle: 32}\n")
    (tmp_path / "spec.yaml").write_text("archs:\n  - config: mine.yaml\nworkloads: [gemm:32x8x16]\n")
    from accelsim.sweep import load_spec
    run_sweep(load_spec(tmp_path / "spec.yaml"), tmp_path / "out", executor="serial", progress=False)
    text = write_report(load_results(tmp_path / "out"), tmp_path / "rep", formats=FAST).read_text()
    assert "arch config: mine (user file)" in text and "# my design" in text


def test_html_escapes(tmp_path):
    text = build_html("<t>", [Section("s", tables=[("", pd.DataFrame({"a": ["<b>"]}))])])
    assert '<td class="t">&lt;b&gt;</td>' in text and "<td><b>" not in text and "<title>&lt;t&gt;</title>" in text


@pytest.mark.slow
def test_demo_quick_end_to_end(tmp_path):
    from accelsim.report.demo import run_demo
    path = run_demo(tmp_path / "demo", quick=True, executor="serial")
    text = path.read_text()
    assert "Every model on pruned AlexNet" in text and "Density sweep" in text
    assert len(re.findall(r"data:image/png;base64", text)) >= 3


def test_front_indices_by_hand():
    # (1, 5) (2, 3) (3, 4) (4, 1): (3, 4) is beaten by (2, 3)
    assert plots.front_indices([3, 1, 4, 2], [4, 5, 1, 3]) == [1, 3, 2]


def test_natural_order():
    assert sorted(["eie[pes=128]", "eie[pes=16]", "eie[pes=64]"], key=plots.natural_key) == \
        ["eie[pes=16]", "eie[pes=64]", "eie[pes=128]"]
    assert sorted([128, 256, 512, 64], key=plots.natural_key) == [64, 128, 256, 512]
