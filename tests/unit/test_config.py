"""Arch configs and schema checks: unknown keys name their path, types are checked."""
import pytest

import accelsim
from accelsim.arch import list_archs, load_arch
from accelsim.config import parse_overrides
from accelsim.errors import AccelsimError, ConfigError


def test_every_shipped_arch_config_loads():
    names = list_archs()
    assert "ideal" in names
    for n in names:
        cfg = load_arch(n)
        assert cfg.model and cfg.energy is not None


def test_unknown_param_names_its_path(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("model: ideal\nparams: {pes: 4}\n")
    with pytest.raises(ConfigError, match=r"params\.pes"):
        load_arch(str(p))


def test_overrides_are_typed():
    cfg = load_arch("ideal", parse_overrides(["peak_macs_per_cycle=16", "freq_hz=5e8"]))
    assert cfg.params.peak_macs_per_cycle == 16 and cfg.params.freq_hz == 5e8
    with pytest.raises(ConfigError, match="must be an integer"):
        load_arch("ideal", parse_overrides(["peak_macs_per_cycle=fast"]))
    with pytest.raises(ConfigError, match="must be > 0"):
        load_arch("ideal", {"peak_macs_per_cycle": 0})


def test_malformed_yaml(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("model: ideal\nparams: {pes: [1, 2\n")
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_arch(str(p))


def test_unknown_arch_and_model():
    with pytest.raises(AccelsimError, match="unknown arch"):
        load_arch("warp_drive")


def test_simulate_returns_schema_rows():
    df = accelsim.simulate("ideal", "gemm:64x8x32", density=0.5, act_density=0.5)
    for col in accelsim.SCHEMA:
        assert col in df.columns
    row = df.iloc[0]
    assert row["macs_dense"] == 64 * 8 * 32
    assert row["latency_s"] == pytest.approx(row["cycles"] / row["freq_hz"])
    assert row["energy_pj"] == pytest.approx(sum(row[c] for c in df.columns
                                                 if c.startswith("energy_") and c != "energy_pj"))


def test_count_scales_additive_columns():
    df = accelsim.simulate("ideal", "bert_base", layers=["qk"], seed=0)
    row = df.iloc[0]
    assert row["count"] == 144  # 12 heads x 12 layers
    assert row["macs_dense"] == 144 * 128 * 64 * 128


@pytest.mark.parametrize("text,msg", [
    ("a: 1\na: 2\n", "duplicate key 'a'"),
    ("a: &x [1, 2]\nb: *x\n", "aliases"),
    ("description: " + "[" * 100 + "]" * 100 + "\n", "nested deeper than 64"),
])
def test_hostile_yaml_is_one_clear_error(text, msg):
    """Issue 23: duplicate keys (the last used to win silently), alias bombs, deep nesting."""
    from accelsim.config import parse_yaml
    with pytest.raises(ConfigError, match=msg):
        parse_yaml(text)


def test_a_billion_laughs_is_refused_before_it_expands(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]" for i in range(1, 10)]
    lines.append("description: *a9")
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    from accelsim.arch import load_arch
    with pytest.raises(ConfigError, match="aliases"):
        load_arch(str(tmp_path / "bomb.yaml"))


def test_yaml_never_builds_python_objects():
    from accelsim.config import parse_value, parse_yaml
    from accelsim.errors import ConfigError
    with pytest.raises(ConfigError, match="could not determine a constructor"):
        parse_yaml('a: !!python/object/apply:os.system ["echo owned"]')
    # a --set value that is not plain YAML stays the text it was
    assert parse_value('!!python/object/apply:os.system ["x"]') == '!!python/object/apply:os.system ["x"]'
    assert parse_value("8") == 8 and parse_value("ws") == "ws"
