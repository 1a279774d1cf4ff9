"""Transformer workloads (issue 22): shapes, published parameter and MAC counts, phases and parameters."""
import pytest

import accelsim
from accelsim.errors import AccelsimError
from accelsim.workload import load_workload
from accelsim.workload.transformer import params_total, split_params


def test_gpt2_parameters_by_hand():
    s = load_workload("gpt2").transformer
    # 12 blocks x (4 x 768^2 attention + 2 x 768 x 3072 MLP) + 50257 x 768 tokens + 1024 x 768 positions
    assert params_total(s) == 12 * (4 * 768 ** 2 + 2 * 768 * 3072) + 50257 * 768 + 1024 * 768 == 124_318_464
    # HF's 124,439,808 adds biases and layer norms (121,344 parameters): within 0.1%
    assert params_total(s) == pytest.approx(124_439_808, rel=1e-3)


@pytest.mark.parametrize("name,published,rel", [
    ("llama2_7b", 6_738_415_616, 1e-3),   # HF meta-llama/Llama-2-7b-hf parameter count (norms included)
    ("vit_b16", 86_567_656, 2e-3),        # timm vit_base_patch16_224 (biases, norms, class token included)
])
def test_published_parameter_counts(name, published, rel):
    assert params_total(load_workload(name).transformer) == pytest.approx(published, rel=rel)


def test_vit_macs_match_the_published_17_6_g():
    # DeiT (Touvron et al. 2021, Table 1) lists ViT-B/16 at 224 px as 17.6 G (multiply-accumulates)
    assert load_workload("vit_b16").total_macs == pytest.approx(17.6e9, rel=5e-3)


def test_decode_is_matrix_vector_against_the_kv_cache():
    wl = load_workload("llama2_7b[phase=decode,kv_len=100,batch=2]")
    q, qk, av = wl.layer("q_proj"), wl.layer("qk"), wl.layer("av")
    assert (q.M, q.K, q.N, q.count) == (4096, 4096, 2, 32)          # one token per sequence, two sequences
    # the cache is the matrix, the new token the vector: 100 cached tokens + the new one, d_head 128
    assert (qk.M, qk.K, qk.N, qk.count) == (101, 128, 1, 32 * 32 * 2)
    assert (av.M, av.K, av.N) == (128, 101, 1) and not qk.prunable and not av.prunable
    assert wl.layer("lm_head").N == 2


def test_prefill_macs_by_hand():
    wl = load_workload("gpt2[seq_len=8]")
    per_block = 8 * (4 * 768 * 768 + 2 * 768 * 3072) + 12 * 2 * (8 * 64 * 8)
    assert wl.total_macs == 12 * per_block + 50257 * 768 * 1   # LM head on the last token only


def test_workload_parameter_errors():
    with pytest.raises(AccelsimError, match="phase must be one of"):
        load_workload("gpt2[phase=train]")
    with pytest.raises(AccelsimError, match="unknown workload parameter 'heads'"):
        load_workload("gpt2[heads=4]")
    with pytest.raises(AccelsimError, match="transformer workloads only"):
        load_workload("alexnet[phase=decode]")
    with pytest.raises(AccelsimError, match="no decode phase"):
        load_workload("vit_b16[phase=decode]")
    assert split_params("a[x=1,y=b]") == ("a", {"x": 1, "y": "b"})


def test_a_7b_model_runs_statistically_without_a_trace():
    from accelsim.api import plan_trace
    from accelsim.traces.stats import StatsTrace
    st, note = plan_trace("llama2_7b", pattern="nm:2:4")   # too large to trace: statistical, with a note
    assert isinstance(st, StatsTrace) and "statistical" in note
    assert plan_trace("bert_base", pattern="nm:2:4")[1] == ""
    df = accelsim.simulate("ideal", "llama2_7b[phase=decode,kv_len=2048]", pattern="nm:2:4", statistical=True)
    q = df.set_index("layer").loc["q_proj"]
    # 2:4 halves the stored weights: 4096 x 4096 x 0.5 x 16 bits
    assert q["weight_bits"] == pytest.approx(4096 * 4096 * 0.5 * 16 * 32)
    assert q["bound"] == "dram"
