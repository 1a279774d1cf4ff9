"""Plots render from small result tables; the report holds every section and image; the demo runs end to end."""
import base64
import re

import numpy as np
import pandas as pd
import pytest

import accelsim
from accelsim.report import plots
from accelsim.report.html import Section, build_html
from accelsim.report.report import write_report


@pytest.fixture(scope="module")
def table():
    rows = []
    for peak in (64, 256):
        for d in (0.2, 0.6, 1.0):
            df = accelsim.simulate("ideal", "alexnet", layers=["conv3", "fc8"], density=d, act_density=0.5,
                                   overrides={"peak_macs_per_cycle": peak})
            df["arch_label"] = f"ideal[peak={peak}]"
            df["sweep_density"] = d
            rows.append(df)
    out = pd.concat(rows, ignore_index=True)
    out["pe_busy"] = [list(np.linspace(1, 2, 8) * (i + 1)) for i in range(len(out))]
    out["loss_imbalance_cycles"] = out["compute_cycles"] * 0.1
    out["fidelity"] = 1.0 - 0.3 * (1.0 - out["sweep_density"])   # as a real-model capture would carry it
    out["fidelity_metric"] = "embedding cosine"
    return out


def _series(png_path):
    return png_path.is_file() and png_path.stat().st_size > 2000


def test_each_plot_renders(table, tmp_path):
    for name, fn in plots.RESULT_PLOTS.items():
        paths = fn(table, tmp_path)
        assert paths, name
        assert all(_series(p) for p in paths if p.suffix == ".png")
        assert any(p.suffix == ".svg" for p in paths)


def test_density_plot_has_one_line_per_config(table, tmp_path):
    captured = {}
    orig = plots.save_figure

    def spy(fig, outdir, name):
        captured[name] = [len(ax.get_lines()) for ax in fig.axes]
        captured[name + "_xlabel"] = fig.axes[0].get_xlabel()
        return orig(fig, outdir, name)

    plots.save_figure = spy
    try:
        plots.latency_energy_vs_density(table, tmp_path)
    finally:
        plots.save_figure = orig
    assert captured["latency_energy_vs_density_alexnet"] == [2, 2]
    assert captured["latency_energy_vs_density_alexnet_xlabel"] == "weight density"


def test_format_plots(tmp_path):
    fmt = pd.DataFrame([{"layer": l, "format": f, "density": d, "total_bits": b}
                        for l, d in (("a", 0.1), ("b", 0.5))
                        for f, b in (("dense", 1000), ("bitmap", 400 if d == 0.5 else 300), ("coo", 200 if d == 0.1 else 900))])
    assert plots.storage_vs_sparsity(fmt, tmp_path) and plots.best_format_per_layer(fmt, tmp_path)


def test_report_holds_every_section_and_image(table, tmp_path):
    extra = [Section("Extra section", "hello")]
    path = write_report(table, tmp_path, "test report", extra)
    text = path.read_text()
    for title in ("Results", "Extra section", "Configurations and workloads used"):
        assert f">{title}</h2>" in text
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    pngs = list((tmp_path / "plots").glob("*.png"))
    assert len(imgs) == len(pngs) >= 5
    assert base64.b64decode(imgs[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "accelsim " + accelsim.__version__ in text


def test_html_escapes(tmp_path):
    text = build_html("<t>", [Section("s", tables=[("", pd.DataFrame({"a": ["<b>"]}))])])
    assert "<td>&lt;b&gt;</td>" in text and "<td><b>" not in text and "<title>&lt;t&gt;</title>" in text


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
