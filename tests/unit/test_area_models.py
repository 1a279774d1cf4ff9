"""Area of every accelerator model: hand-counted small configurations, monotonicity, SCNN vs DCNN, rows.

Hand counts price each item with the 45 nm table's own numbers (``DEFAULT_AREA_45NM``, um2): what is under
test is what each model counts, not the table.
"""
import math

import pytest

import accelsim
from accelsim.arch import get_model, list_archs, load_arch
from accelsim.energy import load_table
from accelsim.energy.area import DEFAULT_AREA_45NM as T

MULT16 = T["int"][16]["mult"]          # 1128 um2
ADD16 = T["int"][16]["add"]            # 67
ADD32 = T["int"][32]["add"]            # 137
ADD24 = ADD32 * 24 / 32                # 24 bits: nearest listed width is 32, adders scale linearly
SRAM, RF, MUX, IDX = (T[k] for k in ("sram_um2_per_bit", "rf_um2_per_bit", "mux_um2_per_bit", "index_um2_per_bit"))

#: shipped configs without an inventory, on purpose: GPUs (see tensor_core's docstring) and the roofline
NO_AREA = {"a100", "h100"}


def um2(model: str, **params) -> dict[str, float]:
    """um2 per component at 45 nm for *model* with *params* (others at their defaults)."""
    cfg = load_arch(model, params)
    return {k: v * 1e6 for k, v in load_table().area_mm2(get_model(cfg.model)().inventory(cfg.params)).items()}


def total(model: str, **params) -> float:
    return sum(um2(model, **params).values())


# ---- hand counts ----------------------------------------------------------------------------------

def test_systolic_2x2_by_hand():
    a = um2("systolic", rows=2, cols=2, value_bits=16, pe_register_bytes=8, weight_sram_bytes=1024,
            input_sram_bytes=2048, output_sram_bytes=4096)
    assert a["mac"] == pytest.approx(4 * (MULT16 + ADD32))         # 16-bit multiply, 32-bit accumulate
    assert a["pe_registers"] == pytest.approx(4 * 64 * RF)         # 8 bytes of registers per PE
    assert a["sram_weight"] == pytest.approx(1024 * 8 * SRAM)
    assert a["sram_input"] == pytest.approx(2048 * 8 * SRAM)
    assert a["sram_output"] == pytest.approx(4096 * 8 * SRAM)


def test_column_combining_adds_index_mux_and_bus_to_the_array():
    small = dict(rows=2, cols=2, value_bits=16, weight_sram_bytes=1024, input_sram_bytes=1024,
                 output_sram_bytes=1024)
    base = total("systolic", **small)
    assert total("column_combining", alpha=1, **small) == pytest.approx(base)
    a = um2("column_combining", alpha=4, **small)
    assert a["channel_index"] == pytest.approx(4 * 2 * RF)           # log2(4) = 2 index bits per cell
    assert a["input_mux"] == pytest.approx(4 * 3 * 16 * MUX)         # 4:1 = three 2:1 muxes per value bit
    assert a["input_bus"] == pytest.approx(4 * 3 * 16 * RF)          # three more 16-bit values per cell
    assert sum(a.values()) == pytest.approx(base + 4 * (2 * RF + 48 * MUX + 48 * RF))


SCNN_SMALL = dict(pes=(1, 1), F=2, I=2, acc_banks=0, acc_bank_entries=4, acc_double_buffered=True,
                  value_bits=16, acc_bits=24, iaram_bytes=1024, oaram_bytes=1024, weight_fifo_entries=10)


def test_scnn_one_pe_by_hand():
    a = um2("scnn", bank_queue_entries=2, **SCNN_SMALL)
    banks = 2 * 2 * 2                                                # A = 2 F I
    drain = math.ceil(load_arch("scnn").params.drain_words_per_cycle)
    assert a["mac"] == pytest.approx(4 * MULT16)                     # F x I = 4 multipliers
    assert a["acc_add"] == pytest.approx(banks * ADD24)              # an adder per bank
    assert a["ppu"] == pytest.approx(drain * ADD24)                  # ReLU comparators on the drain path
    assert a["accumulator"] == pytest.approx(2 * banks * 4 * 24 * RF)
    assert a["iaram"] == a["oaram"] == pytest.approx(1024 * 8 * SRAM)
    assert a["weight_fifo"] == pytest.approx(10 * 2 * (16 + 4) * RF)   # 10 vectors of F weights + 4-bit runs
    assert a["crossbar"] == pytest.approx(4 * 8 * 24 * MUX)          # 4 x 8 crossbar of 24 bits
    # per bank a 2-deep queue of a 24-bit value and a 2-bit entry address
    assert a["bank_queues"] == pytest.approx(banks * 2 * (24 + 2) * RF)
    assert a["coord"] == pytest.approx(4 * 5 * IDX)                  # 32 accumulators: 5-bit addresses
    assert a["run_decoders"] == pytest.approx((2 * 4 + 2 * 4) * IDX)  # F + I zero-run decoders of 4 bits


def test_dcnn_one_pe_by_hand_and_below_scnn():
    a = um2("dcnn", **SCNN_SMALL)
    banks = 2 * 2                                                    # F x I: no over-provisioning (Sec. IV-B)
    drain = math.ceil(load_arch("dcnn").params.drain_words_per_cycle)
    assert a["mac"] == pytest.approx(4 * (MULT16 + ADD24))
    assert a["accumulator"] == pytest.approx(2 * banks * 4 * 24 * RF)
    assert a["weight_fifo"] == pytest.approx(10 * 2 * 16 * RF)
    assert a["ppu"] == pytest.approx(drain * ADD24)
    assert set(a) == {"mac", "accumulator", "iaram", "oaram", "weight_fifo", "ppu"}
    assert total("scnn", **SCNN_SMALL) > sum(a.values())


def test_scnn_exceeds_dcnn_for_the_same_multipliers():
    shared = dict(pes=(8, 8), F=4, I=4, iaram_bytes=10240, oaram_bytes=10240)
    assert total("scnn", **shared) > total("dcnn", **shared)
    # as shipped, DCNN carries twice the SRAM (2 MB against 1 MB); with the crossbar priced as multiplexer bits
    # only, that SRAM outweighs SCNN's scatter network: the paper's 7.9 vs 5.9 mm2 ordering is checked (and
    # currently flagged) in accelsim validate, not asserted here


CAMB_SMALL = dict(pes=2, multipliers=2, stream_width=4, value_bits=16, nbin_bytes=1024, nbout_bytes=1024,
                  sb_bytes=512)


IM = ("im", "im_window", "im_mux")                                   # Cambricon-X's indexing module


def _indexing(a):
    return sum(a[k] for k in IM)


def test_cambricon_x_by_hand_step_direct_dense():
    a = um2("cambricon_x", **CAMB_SMALL)                             # csr, relative: step indexing
    assert a["mac"] == pytest.approx(4 * (MULT16 + ADD32))
    assert a["nbin"] + a["nbout"] + a["sb"] == pytest.approx((1024 + 1024 + 2 * 512) * 8 * SRAM)   # SB per PE
    assert a["im_window"] == pytest.approx(2 * 4 * 16 * RF)          # per PE: a 4-neuron window
    assert a["im_mux"] == pytest.approx(2 * 2 * 4 * 16 * MUX)        # per PE: pick 2 of 4
    assert a["im"] == pytest.approx(2 * (2 * 2) * IDX)               # per PE: 2 steps of log2(4) bits
    direct = um2("cambricon_x", weight_format="bitmap", **CAMB_SMALL)
    assert direct["im"] == pytest.approx(2 * (4 * 2) * IDX)          # prefix over the 4 direct-index bits
    assert _indexing(direct) - _indexing(a) == pytest.approx(2 * (8 - 4) * IDX)
    assert not set(IM) & set(um2("cambricon_x", weight_format="dense", **CAMB_SMALL))


def test_cambricon_s_by_hand():
    a = um2("cambricon_s", conv_weight_bits=3, fc_weight_bits=2, entropy_coding=True, **CAMB_SMALL)
    nsm = 4 * 16 * RF + 2 * 4 * 16 * MUX + 4 * (2 + 1) * IDX        # register, pick 2 of 4, AND + prefix
    ssm = 2 * (2 * 4 * 3 * MUX + 4 * 2 * IDX)                        # per PE: pick 2 of 4 3-bit codes
    assert _indexing(a) == pytest.approx(nsm + ssm)
    assert a["codebook"] == pytest.approx(2 * 8 * 16 * RF)           # 2^3 16-bit centroids per PE
    assert a["huffman_table"] == pytest.approx(8 * (3 + 3) * RF)     # symbol + length of 2^3 codes
    assert a["huffman"] == pytest.approx(6 ** 2 * IDX)               # 2q-bit compares per code length
    plain = um2("cambricon_s", conv_weight_bits=3, fc_weight_bits=2, entropy_coding=False, **CAMB_SMALL)
    assert not {"huffman", "huffman_table"} & set(plain)


def test_cambricon_s_shared_selector_is_smaller_than_per_pe_indexing_modules():
    x, s = (load_arch(n) for n in ("cambricon_x", "cambricon_s"))
    ax, as_ = (x.energy.area_mm2(get_model(c.model)().inventory(c.params)) for c in (x, s))
    assert _indexing(as_) < _indexing(ax)


def test_sigma_by_hand():
    a = um2("sigma", dpes=2, dpe_size=4, value_bits=16, sram_bytes=1024)
    assert a["mult"] == pytest.approx(8 * MULT16 + 8 * 16 * RF)      # multipliers and stationary registers
    assert a["benes"] == pytest.approx(2 * 4 * 3 * 16 * MUX)         # 2 log2(4) - 1 = 3 stages
    assert a["fan"] == pytest.approx(6 * ADD32 + 6 * 2 * 32 * MUX + 6 * 2 * IDX)   # 3 adders per DPE
    assert a["accum"] == pytest.approx(2 * ADD32)
    assert a["bitmap"] == pytest.approx(2 * 64 * 6 * IDX)
    assert a["sram"] == pytest.approx(1024 * 8 * SRAM)


def test_eie_inventory_counts_its_pes():
    a, b = um2("eie", pes=4), um2("eie", pes=8)
    # these carry the broadcast activation index j, one bit wider with twice the PEs (eie.act_index_bits)
    wider = {"act_queue", "ptr_addr", "queue_select"}
    for k in set(a) - wider - {"lnzd"}:
        assert b[k] == pytest.approx(2 * a[k]), k
    for k in wider:
        assert b[k] > 2 * a[k], k
    # the leading-nonzero quadtree (Sec. VI): one node over 4 PEs, 2 + 1 over 8, each a 16-bit path
    assert (a["lnzd"], b["lnzd"]) == (pytest.approx(1 * 16 * IDX), pytest.approx(3 * 16 * IDX))


def test_area_scales_with_the_square_of_the_node():
    cfg = load_arch("systolic_32")
    inv = get_model("systolic")().inventory(cfg.params)
    at45 = sum(load_table().area_mm2(inv).values())
    at16 = sum(load_table({"table": "horowitz_45nm", "node_nm": 16}).area_mm2(inv).values())
    assert at16 == pytest.approx(at45 * (16 / 45) ** 2)


# ---- monotonicity: more hardware never shrinks the area ---------------------------------------------

GROWTH = {
    "systolic": [("rows", [1, 2, 8]), ("cols", [1, 4, 16]), ("input_sram_bytes", [1024, 4096]),
                 ("pe_register_bytes", [4, 8])],
    "column_combining": [("alpha", [1, 2, 3, 8]), ("rows", [2, 4]), ("weight_sram_bytes", [1024, 8192])],
    "scnn": [("pes", [(1, 1), (2, 2), (8, 8)]), ("F", [1, 2, 4]), ("I", [1, 4]), ("acc_bank_entries", [8, 32]),
             ("iaram_bytes", [1024, 10240]), ("weight_fifo_entries", [10, 50])],
    "dcnn": [("pes", [(1, 1), (4, 4)]), ("F", [2, 4]), ("oaram_bytes", [1024, 16384])],
    "cambricon_x": [("pes", [1, 16]), ("multipliers", [4, 16]), ("stream_width", [16, 256]),
                    ("sb_bytes", [1024, 16384])],
    "cambricon_s": [("pes", [1, 16]), ("multipliers", [4, 16]), ("stream_width", [16, 256]),
                    ("conv_weight_bits", [4, 8]), ("nbin_bytes", [1024, 8192])],
    "sigma": [("dpes", [1, 8, 128]), ("dpe_size", [2, 8, 128]), ("sram_bytes", [1024, 1 << 20])],
}


@pytest.mark.parametrize("model", sorted(GROWTH))
def test_more_hardware_never_shrinks_area(model):
    for key, values in GROWTH[model]:
        areas = [total(model, **{key: v}) for v in values]
        assert all(b > a for a, b in zip(areas, areas[1:])), (model, key, areas)


# ---- the runner ------------------------------------------------------------------------------------

def test_every_shipped_config_reports_area_except_the_skipped_ones():
    for name in list_archs():
        df = accelsim.simulate(name, "gemm:16x8x32", density=0.5, act_density=0.5, seed=0)
        if name in NO_AREA:
            assert "area_mm2" not in df.columns or df["area_mm2"].isna().all(), name
            continue
        cfg = load_arch(name)
        expect = sum(cfg.energy.area_mm2(get_model(cfg.model)().inventory(cfg.params)).values())
        assert df["area_mm2"].tolist() == pytest.approx([expect] * len(df)), name
        assert math.isfinite(expect) and expect > 0, name
