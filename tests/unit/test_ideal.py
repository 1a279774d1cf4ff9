"""The ideal roofline: effectual MACs at peak, operands moved once."""
import numpy as np

import accelsim
from accelsim.arch import load_arch
from accelsim.traces import LayerTrace
from accelsim.workload import gemm


def test_ideal_by_hand():
    lay = gemm("g", M=4, K=4, N=2)
    w = np.diag([1, 2, 3, 4]).astype(np.float32)
    x = np.array([[1, 0], [1, 1], [0, 0], [1, 1]], dtype=np.float32)
    cfg = load_arch("ideal", {"peak_macs_per_cycle": 2, "dram_bytes_per_cycle": 1000})
    res = cfg.simulate(LayerTrace(lay, w, x))
    # effectual pairs: w00*x0 (1) + w11*x1 (2) + w33*x3 (2) = 5 -> ceil(5/2) = 3 cycles: 2.5 ideal + 0.5 rounding
    assert res.macs_performed == 5 and res.cycles == 3 and res.losses == {"tile_quantization": 0.5}


def test_memory_bound_when_bandwidth_is_low():
    df = accelsim.simulate("ideal", "gemm:256x1x256", overrides={"dram_bytes_per_cycle": 1}, density=1.0)
    r = df.iloc[0]
    assert r["bound"] == "dram" and r["stall_cycles"] > 0
    # the roofline: 1 B/cycle, so cycles are the DRAM bytes; everything past the ideal is DRAM loss
    assert r["cycles"] == r["dram_bytes"]
    assert r["loss_dram_cycles"] == r["cycles"] - r["ideal_cycles"] - r["loss_tile_quantization_cycles"]


def test_more_sparsity_never_costs_more_macs():
    prev = None
    for d in (1.0, 0.7, 0.4, 0.1):
        m = accelsim.simulate("ideal", "alexnet", layers=["conv3"], density=d, seed=0)["macs_performed"].iloc[0]
        assert prev is None or m <= prev
        prev = m
