"""The workload zoo: every shipped file loads, totals match the published figures, GEMM views are consistent."""
import importlib.util
from pathlib import Path

import pytest

from accelsim.workload import load_workload
from accelsim.workload.zoo import list_workloads

ROOT = Path(__file__).resolve().parents[2]

# (weights, MACs): weights of convs and FC without biases or batch norm; MACs of convs and FC, batch 1.
PUBLISHED = {
    "alexnet": (60.96e6, 0.724e9),      # Krizhevsky et al. 2012; Han et al. ICLR 2016 Table 4 (61 M)
    "vgg16": (138.3e6, 15.47e9),        # Simonyan and Zisserman 2015, configuration D
    "resnet50": (25.5e6, 4.09e9),       # He et al. 2016, torchvision layout (stride in the 3x3)
    "googlenet": (6.99e6, 1.58e9),      # Szegedy et al. 2015 Table 1 counted exactly (see the file's notes)
    "mobilenetv2": (3.47e6, 0.30e9),    # Sandler et al. 2018, width 1.0, 224x224
}


def test_every_shipped_workload_loads():
    names = list_workloads()
    assert set(PUBLISHED) | {"eie_benchmark"} <= set(names)
    for name in names:
        wl = load_workload(name)
        assert wl.layers and wl.total_macs > 0, name


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_totals_match_published(name):
    wl = load_workload(name)
    weights, macs = PUBLISHED[name]
    assert wl.total_weights == pytest.approx(weights, rel=0.015)
    assert wl.total_macs == pytest.approx(macs, rel=0.015)


@pytest.mark.parametrize("name", list_workloads())
def test_gemm_view_is_consistent(name):
    for lay in load_workload(name).layers:
        assert lay.weight_shape == (lay.M, lay.K)
        assert lay.M * lay.K * lay.N == lay.macs
        if lay.is_conv:
            P = (lay.H + 2 * lay.pad - lay.R) // lay.stride + 1
            Q = (lay.W + 2 * lay.pad - lay.S) // lay.stride + 1
            assert (lay.P, lay.Q) == (P, Q) and P >= 1 and Q >= 1, lay.name
            assert lay.K == lay.C // lay.groups * lay.R * lay.S, lay.name
            assert lay.N == lay.batch * P * Q, lay.name
            assert lay.native_weight_shape == (lay.M, lay.C // lay.groups, lay.R, lay.S)
            if lay.op == "depthwise":
                assert lay.groups == lay.C == lay.M, lay.name
        else:
            assert lay.groups == 1 and lay.N % lay.batch == 0, lay.name  # N = batch x tokens or time steps


def test_hand_checked_layers():
    # ResNet-50 stage-3 first block: stride 2 in the 3x3 (torchvision layout), 28x28 out.
    r = load_workload("resnet50")
    c2 = r.layer("layer2_0_conv2")
    assert (c2.C, c2.M, c2.H, c2.stride, c2.P) == (128, 128, 56, 2, 28)
    assert c2.macs == 128 * (128 * 9) * 28 * 28
    ds = r.layer("layer2_0_downsample")
    assert (ds.C, ds.M, ds.stride, ds.P) == (256, 512, 2, 28)
    assert sum(l.name.endswith("downsample") for l in r.layers) == 4
    # GoogLeNet inception 3a, Table 1: 5x5 branch reduces 192 -> 16, then 16 -> 32 with a 5x5 kernel.
    g = load_workload("googlenet")
    b5 = g.layer("inception3a_5x5")
    assert (b5.C, b5.M, b5.R, b5.H, b5.P) == (16, 32, 5, 28, 28)
    assert sum(l.n_weights for l in g.layers if l.name.startswith("inception3a_")) == 163_328  # Table 1: 159 K
    # MobileNetV2: 17 depthwise convs; the last bottleneck is 960 -> 320 at 7x7.
    m = load_workload("mobilenetv2")
    assert sum(l.op == "depthwise" for l in m.layers) == 17
    assert (m.layer("block16_project").C, m.layer("block16_project").M, m.layer("block16_project").H) == (960, 320, 7)


def test_eie_benchmark_has_the_papers_nine_layers():
    wl = load_workload("eie_benchmark")
    # EIE (Han et al. ISCA 2016) Table III: [inputs, outputs], weight density, activation density
    table = {"alex6": (9216, 4096, 0.09, 0.351), "alex7": (4096, 4096, 0.09, 0.353),
             "alex8": (4096, 1000, 0.25, 0.375), "vgg6": (25088, 4096, 0.04, 0.183),
             "vgg7": (4096, 4096, 0.04, 0.375), "vgg8": (4096, 1000, 0.23, 0.411),
             "nt_we": (4096, 600, 0.10, 1.0), "nt_wd": (600, 8791, 0.11, 1.0), "nt_lstm": (1201, 2400, 0.10, 1.0)}
    assert [l.name for l in wl.layers] == list(table)
    dens = wl.densities()
    for name, (n_in, n_out, wd, ad) in table.items():
        lay = wl.layer(name)
        assert (lay.M, lay.K, lay.N) == (n_out, n_in, 1)
        assert dens[name].weight == wd and dens[name].act == ad


def test_generated_files_match_the_generator(tmp_path):
    spec = importlib.util.spec_from_file_location("gen_workloads", ROOT / "tools" / "gen_workloads.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.main(["gen", str(tmp_path)]) == 0
    for name in gen.SPECS:
        assert (tmp_path / f"{name}.yaml").read_text() == (ROOT / "accelsim" / "workloads" / f"{name}.yaml").read_text(), name
