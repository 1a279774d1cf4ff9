"""The report renders in a real browser (headless Chromium), when one is installed.

CI machines without Debian's ``chromium`` skip this test; install it with
``apt-get install chromium`` to run it.
"""
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

import accelsim
from accelsim.report.report import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(tmp_path):
    import matplotlib.image as mpimg
    df = pd.concat([accelsim.simulate("ideal", "alexnet", layers=["conv3", "fc8"], density=d, act_density=0.5)
                    .assign(sweep_density=d) for d in (0.2, 1.0)], ignore_index=True)
    page = write_report(df, tmp_path / "rep", "browser check")
    shot = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--window-size=1200,2400",
                    f"--screenshot={shot}", page.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    img = mpimg.imread(shot)
    assert img.shape[0] >= 2000 and img.shape[1] >= 1100
    gray = img[..., :3].mean(axis=2)
    # text and plots drawn: a good share of the page is not background, and it holds colour (the plot lines)
    assert (gray < 0.9).mean() > 0.02
    colour = np.abs(img[..., 0] - img[..., 2]) > 0.2
    assert colour.mean() > 0.001
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    assert dom.count("<img") >= 5 and "Configurations and workloads used" in dom
