"""Energy tables: hand-computed energies, interpolation rules, bad tables."""
import pytest

from accelsim.energy import ActionCounts, load_table
from accelsim.errors import ConfigError


def test_known_action_counts_by_hand():
    t = load_table("horowitz_45nm")
    a = ActionCounts().mult(1000, bits=8).add(1000, bits=32).dram(10).sram(64 * 100, capacity_bytes=32768)
    e = t.energy(a)
    # 1000 x 0.2 pJ + 1000 x 0.1 pJ; 10 B x 8 bit x 20 pJ/bit; 100 x 64-bit reads of a 32 KB SRAM at 20 pJ
    assert e["mac"] == pytest.approx(300.0)
    assert e["dram"] == pytest.approx(1600.0)
    assert e["sram"] == pytest.approx(2000.0)


def test_mac_is_mult_plus_double_width_add():
    t = load_table()
    e = t.energy(ActionCounts().mac(10, bits=16))
    assert e["mac"] == pytest.approx(10 * (0.8 + 0.1))  # 16-bit mult + 32-bit add


def test_width_interpolation_rules():
    t = load_table()
    assert t.arith_pj("add", "int", 24) == pytest.approx(0.05 * 24 / 16)  # linear from nearest (16)
    assert t.arith_pj("mult", "int", 4) == pytest.approx(0.2 / 4)         # quadratic from 8


def test_sram_interpolation_and_extrapolation():
    t = load_table()
    assert t.storage_pj_per_bit(8192) * 64 == pytest.approx(10.0)
    assert t.storage_pj_per_bit(16384) * 64 == pytest.approx(10 * 2 ** 0.5)   # log-log midpoint
    assert t.storage_pj_per_bit(2048) * 64 == pytest.approx(5.0)              # sqrt below 8 KB
    assert t.storage_pj_per_bit(1 << 20) * 64 == pytest.approx(100.0)


def test_components_can_be_named():
    e = load_table().energy(ActionCounts().add(10, bits=8, component="indexing"))
    assert e == {"indexing": pytest.approx(0.3)}


def test_node_scaling_is_linear_and_spares_dram():
    t = load_table({"table": "horowitz_45nm", "node_nm": 22.5})
    a = ActionCounts().mult(1, bits=8).dram(1)
    e = t.energy(a)
    assert e["mac"] == pytest.approx(0.1) and e["dram"] == pytest.approx(160.0)


def test_bad_tables():
    base = {"units": "pJ", "arith": {"int": {8: {"add": 0.03, "mult": 0.2}}}, "sram_64b": {8192: 10, 32768: 20}}
    load_table(base)
    with pytest.raises(ConfigError, match="non-negative"):
        load_table({**base, "dram_per_bit": -1})
    with pytest.raises(ConfigError, match="unknown unit"):
        load_table({**base, "units": "calories"})
    with pytest.raises(ConfigError, match="unknown key 'energy.colour'"):
        load_table({**base, "colour": 1})
    with pytest.raises(ConfigError, match="not found"):
        load_table("no_such_table")


def test_area_by_hand_and_node_scaling():
    from accelsim.energy import Inventory
    inv = Inventory().mult(10, bits=8).add(10, bits=32).sram(1024, count=2).mux(100)
    a = load_table().area_mm2(inv)
    # 10 x 282 + 10 x 137 um2; 2 KB x 8 bit x 0.448 um2; 100 x 2 um2
    assert a["mac"] == pytest.approx((2820 + 1370) * 1e-6)
    assert a["sram"] == pytest.approx(2 * 1024 * 8 * 0.448 * 1e-6)
    assert a["noc"] == pytest.approx(200e-6)
    half = load_table({"table": "horowitz_45nm", "node_nm": 22.5}).area_mm2(inv)
    assert half["sram"] == pytest.approx(a["sram"] / 4)
