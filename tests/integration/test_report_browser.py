"""The report renders in a real browser (headless Chromium) at 1280 px wide, when one is installed.

CI machines without Debian's ``chromium`` skip this test; install it with ``apt-get install chromium`` to run it.
The page is measured by a script the browser runs (nothing runs in the report itself): its width, every table
inside its box, every figure decoded and captioned.
"""
import re
import shutil
import subprocess

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--virtual-time-budget=10000"]
WIDTH = 1280

MEASURE = """<script>window.addEventListener('load', () => {
  const b = document.body, tw = [...document.querySelectorAll('.tw')];
  b.setAttribute('data-page-width', document.documentElement.scrollWidth);
  b.setAttribute('data-tables-cut', tw.filter(t => t.scrollWidth > t.clientWidth + 1).length);
  b.setAttribute('data-tables', tw.length);
  b.setAttribute('data-images-ok', [...document.images].filter(i => i.complete && i.naturalWidth > 300).length);
  b.setAttribute('data-images', document.images.length);
});</script>"""


# slow: starts a browser
@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium_at_1280px(tmp_path):
    import matplotlib.image as mpimg

    from accelsim.report.report import write_report
    from accelsim.sweep import load_results, parse_spec, run_sweep
    spec = parse_spec({"archs": [{"name": "ideal", "params": {"peak_macs_per_cycle": [64, 256]}}],
                       "workloads": ["alexnet"], "layers": ["conv3", "fc8"], "densities": [0.2, 1.0],
                       "act_densities": [0.5]})
    run_sweep(spec, tmp_path / "sweep", executor="serial", progress=False)
    page = write_report(load_results(tmp_path / "sweep"), tmp_path / "rep", "browser check", formats=("png",))
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    profile = tmp_path / "profile"
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},900",
                          "--dump-dom", probe.resolve().as_uri()],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    attrs = dict(re.findall(r'data-([a-z-]+)="(\d+)"', dom))
    assert int(attrs["page-width"]) <= WIDTH                  # nothing runs off the page
    assert int(attrs["tables"]) >= 2 and attrs["tables-cut"] == "0"
    assert int(attrs["images"]) >= 5 and attrs["images-ok"] == attrs["images"]
    assert dom.count("<figcaption>") == int(attrs["images"])
    assert "Design: ideal" in dom and re.search(r"latency_(us|ms)", dom)

    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},2400",
                    f"--screenshot={shot}", page.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    img = mpimg.imread(shot)
    assert img.shape[1] == WIDTH and img.shape[0] >= 2000
    gray = img[..., :3].mean(axis=2)
    assert (gray < 0.9).mean() > 0.02                          # text and figures drawn
    colour = np.abs(img[..., 0] - img[..., 2]) > 0.2           # the palette's blue and orange lines
    assert colour.mean() > 0.001
