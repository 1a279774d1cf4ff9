"""tensor_core: dense and N:M-sparse tensor cores on a GPU of SMs (A100, H100).

Hand-checkable numbers use a fixed tile (autotune off) and the hardware rate (``kernel_efficiency: {}``): tile
128x128x32 with 64x64 warp tiles, FP16, 1024 dense FMA per SM per clock. A 128x128x32 CTA needs
3 x (128*32 + 32*128) x 2 B = 48 KiB of shared memory and 128 threads x (64*64/32 + 64) = 24576 registers, so an
A100 SM holds two of them. Its k-step is 128*128*32/1024 = 512 cycles of math against (4 warps x (64*32 + 32*64)
x 2 B of ldmatrix reads + 2 x 128*32*2 B of fills) / 128 B/clk = 384 cycles of shared memory: math-bound.
"""
import math

import numpy as np
import pytest

import accelsim
from accelsim.arch import load_arch
from accelsim.arch.tensor_core import TensorCore, _probability_sparse, layer_bound, peak_tflops
from accelsim.errors import ConfigError, ModelError
from accelsim.formats import get_format
from accelsim.results import LOSS_REASONS, finish
from accelsim.traces import LayerTrace, parse_pattern, prune
from accelsim.traces.stats import LayerStats
from accelsim.workload import conv, gemm

FIXED = {"autotune": False, "tile": [128, 128, 32], "split_k": 1, "kernel_efficiency": {}}


def arch(name="a100", **over):
    return load_arch(name, {**FIXED, **over})


def nm_trace(lay, n=2, m=4, seed=0):
    """A layer trace whose weight is pruned N:M by magnitude along K (the foundation's nm pruner)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((lay.M, lay.K)).astype(np.float32)
    w = prune(w, parse_pattern(f"nm:{n}:{m}"), n / m)
    return LayerTrace(lay, w, np.ones(lay.input_shape, dtype=np.float32))


def dense_trace(lay, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((lay.M, lay.K)).astype(np.float32) + 10.0   # no zeros
    return LayerTrace(lay, w, np.ones(lay.input_shape, dtype=np.float32))


def account(res):
    """ideal + losses, the contract's cycle account."""
    return res.macs_performed / res.peak_macs_per_cycle + sum(res.losses.values())


# ---- the single-SM case of the issue -----------------------------------------------------------------------------
def test_single_sm_dense_gemm_takes_mnk_over_1024_cycles_and_its_account():
    cfg = arch(sms=1)
    res = cfg.simulate(dense_trace(gemm("g", M=1024, K=256, N=512)))
    # 8 x 4 tiles of 128x128, 256/32 = 8 k-steps of 128*128*32/1024 = 512 cycles each
    assert res.totals["math_cycles"] == 1024 * 512 * 256 / 1024 == 131072
    assert res.peak_macs_per_cycle == 1024 and res.macs_performed == 1024 * 512 * 256
    assert res.extra["tiles"] == 32 and res.extra["sparse_path"] is False
    assert layer_bound(res) == "compute" and res.extra["sm_limiter"] == "mma"
    # total = math + one pipeline fill and epilogue (co-resident CTAs hide the others') + the launch
    p = cfg.params
    fill = p.dram_latency_cycles + 128 * 128 * 8 / 128
    launch = p.launch_overhead_s * p.freq_hz
    assert res.cycles == pytest.approx(131072 + fill + launch)
    assert res.losses == pytest.approx({"tile_quantization": 0, "sram_bandwidth": 0, "kernel_overhead": launch,
                                        "dram": 0, "fill_drain": fill})
    assert account(res) == pytest.approx(res.cycles)


def test_single_sm_sparse_gemm_halves_the_math_and_the_multiplications():
    cfg = arch(sms=1)
    res = cfg.simulate(nm_trace(gemm("g", M=1024, K=256, N=512)))
    assert res.extra["sparse_path"] is True
    assert res.totals["math_cycles"] == 131072 / 2
    assert res.macs_performed == 1024 * 512 * 256 / 2 and res.peak_macs_per_cycle == 1024
    assert res.totals["dense_cycles"] > res.cycles
    assert account(res) == pytest.approx(res.cycles)


# ---- peak rates at the math-bound limit ---------------------------------------------------------------------------
def test_dense_and_sparse_rates_at_the_math_bound_limit():
    # 4 SMs, 16 tiles of 128x128: 4 per SM, no edge tiles -> math cycles = MNK / (4 SMs x rate)
    cfg = arch(sms=4)
    lay = gemm("g", M=512, K=1024, N=512)
    dense = cfg.simulate(dense_trace(lay))
    sparse = cfg.simulate(nm_trace(lay))
    assert dense.totals["math_cycles"] == 512 * 512 * 1024 / (4 * 1024)
    assert sparse.totals["math_cycles"] == dense.totals["math_cycles"] / 2
    int8 = arch(sms=4, precision="int8").simulate(dense_trace(lay))
    assert int8.totals["math_cycles"] == dense.totals["math_cycles"] / 2    # 2048 INT8 FMA per SM per clock


def test_published_peaks_follow_from_the_configs():
    a100, h100 = load_arch("a100").params, load_arch("h100").params
    assert peak_tflops(a100) == pytest.approx(312, rel=0.001)          # A100 whitepaper: 312 / 624 TFLOPS FP16
    assert peak_tflops(a100, sparse=True) == pytest.approx(624, rel=0.001)
    assert peak_tflops(h100) == pytest.approx(989.4, rel=0.001)        # H100 whitepaper Table 3: 989.4 / 1978.9
    assert peak_tflops(h100, sparse=True) == pytest.approx(1978.9, rel=0.001)


def test_large_math_bound_gemm_nears_but_does_not_pass_2x():
    p = load_arch("a100", {"kernel_efficiency": {}}).params
    big = TensorCore().simulate_weight(gemm("g", 8192, 8192, 8192), None, p)
    small = TensorCore().simulate_weight(gemm("g", 512, 512, 512), None, p)
    assert layer_bound(big) == "compute" and big.extra["bound_dense"] == "compute"
    assert 1.7 < big.extra["speedup_vs_dense"] <= 2.0
    assert small.extra["speedup_vs_dense"] < big.extra["speedup_vs_dense"] - 0.4
    # at the hardware rate the dense kernel runs near the whitepaper's peak on a large GEMM
    dense_tflops = 2 * 8192**3 / (big.totals["dense_cycles"] / p.freq_hz) / 1e12
    assert 0.9 * 312 < dense_tflops <= 312


# ---- memory-bound GEMMs gain little -------------------------------------------------------------------------------
def test_activation_bound_gemm_gains_little():
    # W is 64x64: all the traffic is X (K x N) and Y (M x N), which 2:4 on W does not shrink
    cfg = load_arch("a100")
    lay = gemm("g", M=64, K=64, N=1 << 18)
    res = cfg.simulate(nm_trace(lay))
    assert res.extra["sparse_path"] is True and layer_bound(res) == "dram"
    assert res.extra["speedup_vs_dense"] < 1.05


def test_weight_bound_gemm_gains_at_most_the_compression():
    # a GEMV-like layer moves W once: 2:4 FP16 stores 2 x (16 + 2) bits per 4 weights instead of 4 x 16
    cfg = load_arch("a100")
    lay = gemm("g", M=4096, K=4096, N=8)
    w = np.where(np.arange(lay.K) % 4 < 2, 1.0, 0.0).astype(np.float32) * np.ones((lay.M, 1), np.float32)
    res = cfg.simulate(LayerTrace(lay, w, np.ones(lay.input_shape, dtype=np.float32)))
    assert layer_bound(res) != "compute" and res.macs_performed / res.peak_macs_per_cycle < 0.05 * res.cycles
    assert 1.0 < res.extra["speedup_vs_dense"] < 64 / 36


# ---- tile and wave quantisation -----------------------------------------------------------------------------------
def test_tile_quantisation_steps_when_m_crosses_a_tile_boundary():
    cfg = arch(sms=1)
    k, n = 256, 128
    cyc = {M: cfg.simulate(dense_trace(gemm("g", M=M, K=k, N=n))).totals["math_cycles"]
           for M in (64, 128, 129, 200, 256)}
    step = 128 * 128 * k / 1024          # one 128x128 tile over K=256
    assert cyc[64] == cyc[128] == step
    assert cyc[129] == cyc[200] == cyc[256] == 2 * step
    r = cfg.simulate(dense_trace(gemm("g", M=129, K=k, N=n)))
    assert r.extra["tile_efficiency"] == pytest.approx(129 / 256)
    # the layer needs 129*128*256 multiplications; the padded rows of the second tile are tile quantisation
    assert r.macs_performed == 129 * 128 * k and r.totals["padded_macs"] == 2 * 128 * 128 * k
    assert r.losses["tile_quantization"] == pytest.approx(2 * step - 129 * 128 * k / 1024)


def test_wave_quantisation_when_tiles_exceed_the_sms():
    cfg = arch(sms=4)
    one = cfg.simulate(dense_trace(gemm("g", M=512, K=256, N=128)))   # 4 tiles: one per SM
    five = cfg.simulate(dense_trace(gemm("g", M=640, K=256, N=128)))  # 5 tiles: SM 0 runs two
    t = one.totals["math_cycles"]
    assert five.totals["math_cycles"] == 2 * t
    assert five.extra["wave_efficiency"] == pytest.approx(5 / 8)
    assert five.pe_busy.tolist() == [2 * t] + [t] * 3
    # ideal: 5 tiles' work over 4 SMs; the idle SMs of the second wave are tile quantisation
    assert five.losses["tile_quantization"] == pytest.approx(2 * t - 5 * t / 4)


# ---- operands through the nm encoder, L2 and DRAM -----------------------------------------------------------------
def test_compressed_weight_comes_from_the_nm_encoder():
    cfg = arch()
    lt = nm_trace(gemm("g", M=64, K=128, N=64))
    res = cfg.simulate(lt)
    e = get_format("nm", n=2, m=4, value_bits=16).encode(lt.weight)
    assert res.weight_bits == e.value_bits == 64 * 32 * 2 * 16
    assert res.metadata_bits == e.metadata_bits == 64 * 32 * 2 * 2


def test_weight_format_prices_the_metadata_and_other_formats_are_refused():
    lay = gemm("g", M=256, K=512, N=256)
    lt = nm_trace(lay)
    base = arch().simulate(lt)
    wide = arch(weight_format={"name": "nm", "params": {"metadata_bits": 4}}).simulate(lt)
    assert wide.metadata_bits == 2 * base.metadata_bits == 256 * 128 * 2 * 4
    # A's DRAM bytes grow from 2 x 18 to 2 x 20 bits per group of 4
    assert wide.dram_bytes - base.dram_bytes == pytest.approx(256 * 128 * 2 * 2 / 8)
    with pytest.raises(ConfigError, match="nm"):
        arch(weight_format="csr")
    with pytest.raises(ConfigError, match="disagrees"):
        arch(weight_format={"name": "nm", "params": {"m": 8}})


def test_deprecated_metadata_bits_warns_and_still_works():
    lt = nm_trace(gemm("g", M=64, K=128, N=64))
    with pytest.warns(FutureWarning, match="metadata_bits"):
        old = arch(metadata_bits=4)
    new = arch(weight_format={"name": "nm", "params": {"metadata_bits": 4}})
    assert old.params.weight_format == new.params.weight_format
    assert old.simulate(lt).metadata_bits == new.simulate(lt).metadata_bits == 64 * 64 * 4


def test_dram_traffic_is_each_operand_once_when_it_fits_in_l2():
    cfg = arch()
    M, K, N = 256, 512, 384
    dense = cfg.simulate(dense_trace(gemm("g", M=M, K=K, N=N)))
    assert dense.dram_bytes == 2 * (M * K + K * N + M * N)
    sparse = cfg.simulate(nm_trace(gemm("g", M=M, K=K, N=N)))
    # W: M*K/4 groups x 2 kept values x (16 + 2) bits
    assert sparse.dram_bytes == M * K // 4 * 2 * 18 / 8 + 2 * (K * N + M * N)


def test_implicit_gemm_reads_the_input_once_not_its_im2col():
    cfg = arch()
    lay = conv("c", C=16, H=8, W=8, M=32, R=3, pad=1)          # K = 144, N = 64
    res = cfg.simulate(dense_trace(lay))
    assert (lay.M, lay.K, lay.N) == (32, 144, 64)
    assert res.dram_bytes == pytest.approx(2 * (32 * 144 + 16 * 8 * 8 + 32 * 64))


def test_l2_misses_return_when_operands_overflow_l2():
    small_l2 = arch(l2_bytes=1 << 20).simulate(dense_trace(gemm("g", M=2048, K=2048, N=2048)))
    big_l2 = arch().simulate(dense_trace(gemm("g", M=2048, K=2048, N=2048)))
    assert big_l2.dram_bytes == 2 * 3 * 2048 * 2048
    assert small_l2.dram_bytes > big_l2.dram_bytes


def test_declared_hardware_bounds_dram_and_names_every_component():
    cfg = load_arch("a100")
    hw = TensorCore().hardware(cfg.params)
    assert hw.dram.bytes_per_cycle == pytest.approx(2.039e12 / 1.41e9)       # A100 80GB HBM2e at the SM clock
    assert load_arch("a100", {"dram_bytes_per_s": 1.555e12}).params.dram_bpc() == pytest.approx(1.555e12 / 1.41e9)
    assert TensorCore().hardware(load_arch("h100").params).dram.bytes_per_cycle == pytest.approx(3.35e12 / 1.83e9)
    assert hw.compute[0].count == 108 * 1024 and hw.memory("smem").format.name == "nm"
    assert hw.inventory() is None                                # a GPU die: no area from this declaration
    res = cfg.simulate(nm_trace(gemm("g", M=256, K=256, N=256)))
    assert res.actions.components() <= hw.names()


# ---- which layers take the sparse path ----------------------------------------------------------------------------
def test_dense_weight_runs_dense_and_matches_its_baseline():
    res = arch().simulate(dense_trace(gemm("g", M=256, K=256, N=256)))
    assert res.extra["sparse_path"] is False and "does not satisfy nm:2:4" in res.extra["sparse_reason"]
    assert res.cycles == res.totals["dense_cycles"] and res.extra["speedup_vs_dense"] == 1.0
    assert res.metadata_bits == 0 and res.macs_performed == 256**3


def test_k_not_a_multiple_of_4_runs_dense_unless_padding_is_allowed():
    lay = conv("conv1", C=3, H=32, W=32, M=64, R=7, stride=2, pad=3)     # K = 147, like ResNet-50's first conv
    lt = nm_trace(lay)
    res = arch().simulate(lt)
    assert res.extra["sparse_path"] is False
    assert "K=147 is not a multiple of 4" in res.extra["sparse_reason"] and "pad_k" in res.extra["sparse_reason"]
    padded = arch(pad_k=True).simulate(lt)
    assert padded.extra["sparse_path"] is True and "padded to 148" in padded.extra["sparse_reason"]
    with pytest.raises(ModelError, match="conv1.*not a multiple of 4"):
        arch(strict=True).simulate(lt)


def test_activation_operands_never_take_the_sparse_path():
    lay = gemm("qk", M=128, K=64, N=128, op="matmul", prunable=False)
    res = arch().simulate(nm_trace(lay))
    assert res.extra["sparse_path"] is False and "activation" in res.extra["sparse_reason"]


def test_tf32_needs_1_to_2_sparsity():
    lay = gemm("g", M=128, K=128, N=128)
    tf32 = arch(precision="tf32")
    two_four = nm_trace(lay, 2, 4)
    one_two = nm_trace(lay, 1, 2)
    assert tf32.simulate(two_four).extra["sparse_path"] is False
    r = tf32.simulate(one_two)
    assert r.extra["sparse_path"] is True and r.extra["hw_pattern"] == "nm:1:2"
    assert r.metadata_bits == 128 * 64 * 1                     # one bit names one of two positions


def test_what_if_1_4_tensor_core():
    lay = gemm("g", M=1024, K=256, N=512)
    base = arch(sms=1).simulate(dense_trace(lay)).totals["math_cycles"]
    res = arch(sms=1, pattern="nm:1:4").simulate(nm_trace(lay, 1, 4))
    assert res.extra["sparse_path"] is True and res.totals["math_cycles"] == base / 4
    assert res.macs_performed == 1024 * 512 * 256 / 4
    half = arch(sms=1, pattern="nm:1:4", sparse_math_speedup=2.0).simulate(nm_trace(lay, 1, 4))
    assert half.totals["math_cycles"] == base / 2
    assert half.macs_performed == 1024 * 512 * 256 / 2     # a 2x datapath multiplies a zero beside each value
    wide = arch(pattern="nm:1:4", weight_format={"name": "nm", "params": {"metadata_bits": 4}}).simulate(
        nm_trace(lay, 1, 4))
    assert wide.metadata_bits == 1024 * 64 * 4


def test_bad_configurations_are_clear_errors():
    with pytest.raises(ConfigError, match="fp8.*not supported"):
        load_arch("a100", {"precision": "fp8"})
    with pytest.raises(ConfigError, match="N:M pattern"):
        load_arch("a100", {"pattern": "block:4x4"})
    with pytest.raises(ConfigError, match="tile"):
        load_arch("a100", {"tile": [100, 128, 32], "autotune": False})
    with pytest.raises(ConfigError, match="fraction"):
        load_arch("a100", {"kernel_efficiency": {"cublas": 1.5}})
    with pytest.raises(ConfigError, match="value_bits"):
        load_arch("a100", {"value_bits": 8})
    with pytest.raises(ModelError, match="resident"):
        arch(smem_bytes_per_sm=1024).simulate(dense_trace(gemm("g", M=128, K=128, N=128)))


# ---- the libraries' distance from the hardware rate ---------------------------------------------------------------
def test_kernel_efficiency_stretches_the_main_loop_into_kernel_overhead():
    lay = gemm("g", M=1024, K=256, N=512)
    hw = arch(sms=1).simulate(dense_trace(lay))
    lib = arch(sms=1, kernel_efficiency={"cublas": 0.8}).simulate(dense_trace(lay))
    # the 131072 math cycles run at 80 %: 131072 / 0.8 - 131072 = 32768 more, all kernel overhead
    assert lib.cycles - hw.cycles == pytest.approx(32768)
    assert lib.losses["kernel_overhead"] - hw.losses["kernel_overhead"] == pytest.approx(32768)
    assert lib.macs_performed == hw.macs_performed and lib.extra["kernel"] == "cublas"
    # the sparse library runs at its own figure, or at the dense one's when it has none
    # the 2:4 k-step is shared-memory bound at the hardware rate: A is 2 x 18 bits per 4 weights (1.125 B per
    # weight), so (4 warps x (64*32*1.125 + 32*64*2) + 128*32*1.125 + 32*128*2) / 128 B/clk = 300 cycles against
    # 256 of math; 32 tiles x 8 k-steps x 300 = 76800 cycles at the hardware rate, stretched by the library's figure
    sp = arch(sms=1, kernel_efficiency={"cublas": 0.8, "cusparselt": 0.5}, sparse_kernel="cusparselt").simulate(
        nm_trace(lay))
    assert sp.extra["sm_limiter"] == "smem" and sp.totals["sm_cycles"] == pytest.approx(76800 / 0.5)
    same = arch(sms=1, kernel_efficiency={"cublas": 0.8}, sparse_kernel="cusparselt").simulate(nm_trace(lay))
    assert same.totals["sm_cycles"] == pytest.approx(76800 / 0.8) and same.extra["kernel_efficiency"] == 0.8


def test_library_figures_reproduce_their_published_measurements():
    # each shipped kernel_efficiency is solved against one published GEMM measurement (docs/tensor_core.md)
    from accelsim.validation.tensor_core import CALIBRATION, _calibration_case
    for case in CALIBRATION:
        row = _calibration_case(*case)
        assert row["accelsim"] == pytest.approx(row["published"], rel=0.005), row["quantity"]


def test_amdahl_keeps_the_measured_time_outside_the_gemms():
    from accelsim.validation.tensor_core import amdahl_speedup
    # 10 ms measured, 4 ms of it GEMMs that 2:4 makes 2 ms: 10 / (10 - 4 + 2) = 1.25
    assert amdahl_speedup(10.0, 4.0, 2.0) == pytest.approx(1.25)


def test_gemm_only_bert_is_a_one_sided_bound_on_the_measured_network():
    # the model has the GEMMs only: its times stay below the measured end-to-end times, its speedup above
    from accelsim.validation.tensor_core import BERT_COMPILED_MS, PYTORCH_CUTLASS, bert_base_layers, gemm_times_ms
    p = load_arch("a100", PYTORCH_CUTLASS).params
    for batch, (dense_meas, sparse_meas) in BERT_COMPILED_MS.items():
        dense_ms, sparse_ms = gemm_times_ms(bert_base_layers(384, batch), p)
        assert dense_ms <= dense_meas and sparse_ms <= sparse_meas
        assert dense_ms / sparse_ms >= dense_meas / sparse_meas


# ---- the statistical mode -----------------------------------------------------------------------------------------
def stats(lay, pattern, density):
    return LayerStats(lay, parse_pattern(pattern), density, 1.0)


def test_probability_that_a_weight_obeys_2_4():
    p = arch().params
    lay = gemm("g", M=4, K=8, N=16)                                   # 4 x 2 = 8 groups of 4 along K
    q = sum(math.comb(4, i) * 0.3**i * 0.7 ** (4 - i) for i in range(3))   # at most 2 of 4 nonzero: 0.9163
    assert _probability_sparse(stats(lay, "unstructured", 0.3), p) == pytest.approx(q**8)
    assert _probability_sparse(stats(lay, "nm:2:4", 0.5), p) == 1.0
    assert _probability_sparse(stats(lay, "nm:1:4", 0.25), p) == 1.0
    assert _probability_sparse(stats(lay, "nm:2:8", 0.25), p) == 1.0      # 2 of 8: never 3 in an aligned 4
    assert _probability_sparse(stats(lay, "nm:4:8", 0.5), p) == 0.0
    assert _probability_sparse(stats(lay, "channel", 0.5), p) == pytest.approx(0.5**4)
    assert _probability_sparse(stats(lay, "block:4x4", 0.5), p) == pytest.approx(0.5**2)
    assert _probability_sparse(stats(lay, "dense", 1.0), p) == 0.0


def test_statistical_row_is_the_expected_value_over_both_paths():
    cfg = arch()
    lay = gemm("g", M=4, K=8, N=1024)
    model = TensorCore()
    prob = _probability_sparse(stats(lay, "unstructured", 0.3), cfg.params)
    mixed = model.simulate_stats(stats(lay, "unstructured", 0.3), cfg.params)
    sparse = model.simulate_stats(stats(lay, "nm:2:4", 0.5), cfg.params)
    dense = model.simulate_stats(stats(lay, "dense", 1.0), cfg.params)
    assert mixed.extra["sparse_path_probability"] == pytest.approx(prob)
    assert mixed.cycles == pytest.approx(prob * sparse.cycles + (1 - prob) * dense.cycles)
    assert mixed.macs_performed == pytest.approx(prob * lay.macs / 2 + (1 - prob) * lay.macs)
    assert account(mixed) == pytest.approx(mixed.cycles)


def test_statistical_mode_agrees_with_the_trace():
    cfg = load_arch("a100")
    for lay, pattern, density in [(gemm("g", M=512, K=768, N=384), "nm:2:4", 0.5),
                                  (gemm("g", M=512, K=768, N=384), "unstructured", 0.3),
                                  (conv("c", C=64, H=14, W=14, M=128, R=3, pad=1), "nm:2:4", 0.5)]:
        lt = nm_trace(lay) if pattern.startswith("nm") else \
            accelsim.make_trace(accelsim.workload.Workload("w", [lay]), pattern, density=density).layers[0]
        a = cfg.simulate(lt)
        b = TensorCore().simulate_stats(stats(lay, pattern, density), cfg.params)
        assert a.cycles == pytest.approx(b.cycles) and a.weight_bits == b.weight_bits
        assert a.extra["sparse_path"] == b.extra["sparse_path"]


def test_llama_sized_layers_run_shape_only():
    p = load_arch("h100").params
    for M, K, N in [(4096, 4096, 2048), (11008, 4096, 2048), (4096, 11008, 1)]:
        r = TensorCore().simulate_stats(stats(gemm("g", M=M, K=K, N=N), "nm:2:4", 0.5), p)
        assert r.extra["sparse_path"] and r.cycles > 0
        assert account(r) == pytest.approx(r.cycles)


# ---- whole runs ---------------------------------------------------------------------------------------------------
def test_bert_layers_and_the_network_sum():
    df = accelsim.simulate("a100", "bert_base", pattern="nm:2:4", layers=["q_proj", "qk", "ffn1"])
    row = df.set_index("layer")
    assert bool(row.loc["q_proj", "sparse_path"]) and not bool(row.loc["qk", "sparse_path"])
    assert set(df["bound"]) <= {"compute", "mapping", "sram", "dram", "software", "pipeline"}
    assert (df["speedup_vs_dense"] >= 1.0).all()
    assert (df["cycles"] > 0).all() and (df["energy_pj"] > 0).all()
    assert {"component_tensor_cores_pj", "component_dram_pj", "component_l2_pj", "component_smem_pj"} <= \
        set(df.columns)
    losses = [f"loss_{r}_cycles" for r in LOSS_REASONS]
    assert (df["ideal_cycles"] + df[losses].sum(axis=1)).tolist() == pytest.approx(df["cycles"].tolist())
    # dense_cycles is a total: it scales with count like cycles
    assert (df["dense_cycles"] / df["cycles"]).tolist() == pytest.approx(df["speedup_vs_dense"].tolist())


def test_h100_runs_fp8_and_is_faster_than_a100():
    lay = gemm("g", 4096, 4096, 4096)
    a = TensorCore().simulate_weight(lay, None, load_arch("a100").params)
    h = TensorCore().simulate_weight(lay, None, load_arch("h100").params)
    h8 = TensorCore().simulate_weight(lay, None, load_arch("h100", {"precision": "fp8"}).params)
    t = lambda r, p: r.cycles / p  # noqa: E731
    assert t(h, 1.83e9) < t(a, 1.41e9)
    assert h8.cycles < h.cycles


def test_shape_only_run_agrees_with_the_trace():
    p = arch().params
    lay = gemm("g", M=256, K=512, N=256)
    a = TensorCore().simulate_weight(lay, None, p)
    b = arch().simulate(nm_trace(lay))
    assert a.cycles == b.cycles and a.weight_bits == b.weight_bits and a.metadata_bits == b.metadata_bits


def test_sparse_library_kernels_can_differ_from_dense():
    cfg = arch(sparse_tile_candidates=[[64, 64, 32]])
    res = cfg.simulate(nm_trace(gemm("g", M=256, K=256, N=256)))
    assert res.extra["tile"] == "64x64x32" and res.extra["dense_tile"] == "128x128x32"


def test_splitting_k_adds_a_reduction_and_keeps_the_math():
    lay = gemm("g", M=128, K=1024, N=128)
    one = arch(sms=4).simulate(dense_trace(lay))
    four = arch(sms=4, split_k=4).simulate(dense_trace(lay))
    assert four.extra["split_k"] == 4 and four.extra["tiles"] == 4
    assert four.totals["math_cycles"] == one.totals["math_cycles"] / 4     # four SMs share the K loop
    assert four.macs_performed == one.macs_performed
    assert four.totals["l2_bytes"] > one.totals["l2_bytes"]      # 32-bit partials to a workspace and back


def test_autotune_keeps_the_fastest_plan():
    lay = gemm("g", M=768, K=3072, N=384)
    tuned = load_arch("a100", {"kernel_efficiency": {}}).simulate(dense_trace(lay))
    for tile in ([128, 128, 32], [64, 64, 32], [256, 128, 32]):
        for split in (1, 4):
            fixed = arch(tile=tile, split_k=split).simulate(dense_trace(lay))
            assert tuned.cycles <= fixed.cycles


@pytest.mark.slow
def test_study_quick_runs_and_plots(tmp_path):
    from accelsim.studies import tensor_core as study
    frames = study.run(quick=True)
    sq = frames["gemm_sizes"].query("family == 'square'").sort_values("M")
    assert sq["speedup"].iloc[-1] > 1.5 and sq["speedup"].iloc[0] < 1.2
    tot = frames["network_totals"]
    assert (tot["speedup"] > 1.0).all() and (tot["speedup"] < 2.0).all()
    first = frames["network_layers"].query("layer == 'conv1'")
    assert not first["sparse_path"].any()                           # K = 147: the first convolution stays dense
    paths = study.plot(frames, tmp_path)
    assert len([p for p in paths if p.suffix == ".png"]) == 3 and all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_energy_counts_bytes_and_macs_by_precision():
    lay = gemm("g", M=256, K=512, N=384)
    rows = {}
    for prec in ("fp16", "int8"):
        cfg = arch(precision=prec)
        lt = dense_trace(lay)
        rows[prec] = finish(cfg.simulate(lt), lt, arch="tensor_core", config="a100", workload="w", table=cfg.energy,
                            hardware=TensorCore().hardware(cfg.params))
    eb = {"fp16": 2, "int8": 1}
    for prec, r in rows.items():
        # DRAM: 20 pJ/bit in the Horowitz table, not scaled with the logic node
        assert r["dram_bytes"] == eb[prec] * (256 * 512 + 512 * 384 + 256 * 384)
        assert r["energy_dram_pj"] == pytest.approx(r["dram_bytes"] * 8 * 20.0)
    assert rows["int8"]["energy_mac_pj"] < rows["fp16"]["energy_mac_pj"]
    assert rows["int8"]["macs_performed"] == rows["fp16"]["macs_performed"] == 256 * 512 * 384


def test_a_batched_attention_product_is_one_grouped_launch():
    # 32 heads of a decode step's scores (128 cached keys x 64 dims x 1 query), twice (two blocks)
    from dataclasses import replace
    from accelsim.workload.layer import Layer
    p = load_arch("a100").params
    model = TensorCore()
    batched = gemm("qk", 128, 64, 1, op="matmul", count=64, prunable=False, batched=32)
    grouped = Layer("qk", "matmul", M=128 * 32, K=64, N=1, groups=32, prunable=False, count=2)
    one, launch = model.simulate_weight(batched, None, p), model.simulate_weight(grouped, None, p)
    # a row is the grouped launch's share per head: 32 of them make the launch
    assert 32 * one.cycles == pytest.approx(launch.cycles)
    assert 32 * one.dram_bytes == pytest.approx(launch.dram_bytes)
    assert 32 * one.macs_performed == pytest.approx(launch.macs_performed) == 128 * 64 * 32
    assert one.extra["batched"] == 32
    # launched head by head, each pays the 3 us launch: more than ten times the batched share
    alone = model.simulate_weight(replace(batched, batched=1), None, p)
    assert alone.cycles >= p.launch_overhead_s * p.freq_hz
    assert alone.cycles > 10 * one.cycles


def test_batched_must_divide_count():
    from accelsim.errors import WorkloadError
    with pytest.raises(WorkloadError, match="does not divide"):
        gemm("qk", 128, 64, 1, op="matmul", count=12, batched=5)
    lay = accelsim.load_workload("llama2_7b[phase=decode,batch=2]").layer("qk")
    assert (lay.count, lay.batched) == (32 * 32 * 2, 32 * 2)   # blocks x heads x sequences; one bmm a block
