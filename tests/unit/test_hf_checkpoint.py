"""Hugging Face style directories (config.json + safetensors): tiny BERT, GPT-2 and Llama checkpoints the tests
write become their real layer lists with the right MACs, and the graphs compute what the families compute."""
import json
import math

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

from accelsim.cli import main  # noqa: E402
from accelsim.traces.real import capture, workload  # noqa: E402
from accelsim.traces.real.hf import import_hf  # noqa: E402
from accelsim.traces.real.onnx import run_graph  # noqa: E402

D, H, F, V, L, T = 16, 2, 32, 50, 2, 8


def _write(tmp_path, name, config, tensors):
    d = tmp_path / name
    d.mkdir()
    (d / "config.json").write_text(json.dumps(config))
    safetensors_numpy.save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(d / "model.safetensors"))
    return d


def _bert(tmp_path, rng, optimizer_state=True):
    t = {"embeddings.word_embeddings.weight": rng.standard_normal((V, D)),
         "embeddings.position_embeddings.weight": rng.standard_normal((16, D)),
         "embeddings.token_type_embeddings.weight": rng.standard_normal((2, D)),
         "embeddings.LayerNorm.weight": 1 + 0.1 * rng.standard_normal(D), "embeddings.LayerNorm.bias": 0.1 * rng.standard_normal(D)}
    for i in range(L):
        p = f"encoder.layer.{i}."
        for n, (o, k) in {"attention.self.query": (D, D), "attention.self.key": (D, D), "attention.self.value": (D, D),
                          "attention.output.dense": (D, D), "intermediate.dense": (F, D), "output.dense": (D, F)}.items():
            t[p + n + ".weight"] = rng.standard_normal((o, k)) / math.sqrt(k)
            t[p + n + ".bias"] = 0.1 * rng.standard_normal(o)
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[p + n + ".weight"] = 1 + 0.1 * rng.standard_normal(D)
            t[p + n + ".bias"] = 0.1 * rng.standard_normal(D)
    if optimizer_state:   # what a training checkpoint also holds: never layers
        t["optimizer.state.0.exp_avg"] = rng.standard_normal((D, D))
        t["optimizer.state.0.exp_avg_sq"] = rng.standard_normal((D, D)) ** 2
    t = {("bert." + k if not k.startswith("optimizer") else k): v.astype(np.float32) for k, v in t.items()}
    cfg = {"model_type": "bert", "hidden_size": D, "num_hidden_layers": L, "num_attention_heads": H,
           "intermediate_size": F, "vocab_size": V, "max_position_embeddings": 16, "layer_norm_eps": 1e-12}
    return _write(tmp_path, "bert", cfg, t), t


def _ln(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def _softmax(s):
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _bert_reference(t, ids):
    """BERT's post-norm encoder in numpy (Devlin et al. 2019): the check on the graph the importer builds."""
    from math import erf
    g = lambda k: t["bert." + k].astype(np.float64)  # noqa: E731
    x = g("embeddings.word_embeddings.weight")[ids] + g("embeddings.position_embeddings.weight")[:len(ids)] \
        + g("embeddings.token_type_embeddings.weight")[0]
    x = _ln(x, g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"), 1e-12)
    dh = D // H
    for i in range(L):
        p = f"encoder.layer.{i}."
        lin = lambda h, n: h @ g(p + n + ".weight").T + g(p + n + ".bias")  # noqa: E731
        q, k, v = (lin(x, f"attention.self.{n}").reshape(-1, H, dh).transpose(1, 0, 2) for n in ("query", "key", "value"))
        ctx = (_softmax(q @ k.transpose(0, 2, 1) / math.sqrt(dh)) @ v).transpose(1, 0, 2).reshape(-1, D)
        x = _ln(x + lin(ctx, "attention.output.dense"), g(p + "attention.output.LayerNorm.weight"),
                g(p + "attention.output.LayerNorm.bias"), 1e-12)
        h = lin(x, "intermediate.dense")
        h = 0.5 * h * (1 + np.vectorize(erf)(h / math.sqrt(2)))
        x = _ln(x + lin(h, "output.dense"), g(p + "output.LayerNorm.weight"), g(p + "output.LayerNorm.bias"), 1e-12)
    return x


def test_bert_directory_layers_and_macs(tmp_path, rng):
    d, _ = _bert(tmp_path, rng)
    wl = workload(f"{d}[seq_len={T},batch=2]")
    B, dh = 2, D // H
    per_block = [("q_proj", D, D, B * T, 1), ("k_proj", D, D, B * T, 1), ("v_proj", D, D, B * T, 1),
                 ("qk", T, dh, T, B * H), ("av", T, T, dh, B * H), ("o_proj", D, D, B * T, 1),
                 ("up_proj", F, D, B * T, 1), ("down_proj", D, F, B * T, 1)]
    want = [(f"L{i}.{n}", M, K, N, c) for i in range(L) for n, M, K, N, c in per_block]
    assert [(l.name, l.M, l.K, l.N, l.count) for l in wl.layers] == want
    assert [l.prunable for l in wl.layers[:8]] == [True, True, True, False, False, True, True, True]
    assert wl.total_macs == L * B * T * (4 * D * D + 2 * D * F + 2 * T * D)


def test_bert_graph_computes_bert(tmp_path, rng):
    d, t = _bert(tmp_path, rng)
    net, c, ignored = import_hf(d, seq_len=T, batch=1)
    assert sorted(ignored) == ["optimizer.state.0.exp_avg", "optimizer.state.0.exp_avg_sq"]
    assert not any("exp_avg" in ol.name for ol in net.layers)
    ids = rng.integers(0, V, size=T)
    feeds = {"input_ids": ids[None], "position_ids": np.arange(T)[None], "token_type_ids": np.zeros((1, T), np.int64),
             "attention_bias": np.zeros((1, 1, T, T), np.float32)}
    out = run_graph(net.model, feeds, net.outputs)[net.outputs[0]][0]
    assert np.allclose(out, _bert_reference(t, ids), atol=2e-4)


def _llama(tmp_path, rng, kv=1, tied=False):
    dh = D // H
    t = {"model.embed_tokens.weight": rng.standard_normal((V, D)), "model.norm.weight": 1 + 0.1 * rng.standard_normal(D)}
    for i in range(L):
        p = f"model.layers.{i}."
        shapes = {"self_attn.q_proj": (D, D), "self_attn.k_proj": (kv * dh, D), "self_attn.v_proj": (kv * dh, D),
                  "self_attn.o_proj": (D, D), "mlp.gate_proj": (F, D), "mlp.up_proj": (F, D), "mlp.down_proj": (D, F)}
        for n, s in shapes.items():
            t[p + n + ".weight"] = rng.standard_normal(s) / math.sqrt(s[1])
        t[p + "input_layernorm.weight"] = 1 + 0.1 * rng.standard_normal(D)
        t[p + "post_attention_layernorm.weight"] = 1 + 0.1 * rng.standard_normal(D)
    if not tied:
        t["lm_head.weight"] = rng.standard_normal((V, D)) / math.sqrt(D)
    t = {k: v.astype(np.float32) for k, v in t.items()}
    cfg = {"model_type": "llama", "hidden_size": D, "num_hidden_layers": L, "num_attention_heads": H,
           "num_key_value_heads": kv, "intermediate_size": F, "vocab_size": V, "max_position_embeddings": 64,
           "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": tied, "hidden_act": "silu"}
    return _write(tmp_path, f"llama{kv}{tied}", cfg, t), t


def _llama_reference(t, ids, kv, tied):
    """Llama in numpy (Touvron et al. 2023; HF's rotate_half RoPE, repeat_kv for grouped queries)."""
    g = lambda k: t[k].astype(np.float64)  # noqa: E731
    rms = lambda x, w: x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-6) * w  # noqa: E731
    dh, n = D // H, len(ids)
    inv = 1.0 / 10000.0 ** (np.arange(0, dh, 2) / dh)
    f = np.outer(np.arange(n), inv)
    cos, sin = np.cos(np.concatenate([f, f], 1)), np.sin(np.concatenate([f, f], 1))
    rot = lambda x: x * cos + np.concatenate([-x[..., dh // 2:], x[..., :dh // 2]], -1) * sin  # noqa: E731
    x = g("model.embed_tokens.weight")[ids]
    mask = np.triu(np.full((n, n), -1e9), 1)
    for i in range(L):
        p = f"model.layers.{i}."
        h = rms(x, g(p + "input_layernorm.weight"))
        q = rot((h @ g(p + "self_attn.q_proj.weight").T).reshape(n, H, dh).transpose(1, 0, 2))
        k = rot((h @ g(p + "self_attn.k_proj.weight").T).reshape(n, kv, dh).transpose(1, 0, 2))
        v = (h @ g(p + "self_attn.v_proj.weight").T).reshape(n, kv, dh).transpose(1, 0, 2)
        k, v = np.repeat(k, H // kv, axis=0), np.repeat(v, H // kv, axis=0)
        ctx = (_softmax(q @ k.transpose(0, 2, 1) / math.sqrt(dh) + mask) @ v).transpose(1, 0, 2).reshape(n, D)
        x = x + ctx @ g(p + "self_attn.o_proj.weight").T
        h = rms(x, g(p + "post_attention_layernorm.weight"))
        gate, up = h @ g(p + "mlp.gate_proj.weight").T, h @ g(p + "mlp.up_proj.weight").T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ g(p + "mlp.down_proj.weight").T
    x = rms(x, g("model.norm.weight"))
    return x @ (g("model.embed_tokens.weight") if tied else g("lm_head.weight")).T


@pytest.mark.parametrize("kv, tied", [(1, False), (2, True)])
def test_llama_graph_computes_llama(tmp_path, rng, kv, tied):
    d, t = _llama(tmp_path, rng, kv, tied)
    net, c, ignored = import_hf(d, seq_len=T, batch=1)
    assert ignored == []
    ids = rng.integers(0, V, size=T)
    out = run_graph(net.model, {"input_ids": ids[None]}, net.outputs)[net.outputs[0]][0]
    assert np.allclose(out, _llama_reference(t, ids, kv, tied), atol=2e-4)


def test_llama_directory_layers_and_macs(tmp_path, rng):
    d, _ = _llama(tmp_path, rng, kv=1)
    wl = workload(f"{d}[seq_len={T}]")
    dh = D // H
    per_block = [("q_proj", D, D, T, 1), ("k_proj", dh, D, T, 1), ("v_proj", dh, D, T, 1),   # one key-value head
                 ("qk", T, dh, T, H), ("av", T, T, dh, H), ("o_proj", D, D, T, 1),
                 ("gate_proj", F, D, T, 1), ("up_proj", F, D, T, 1), ("down_proj", D, F, T, 1)]
    want = [(f"L{i}.{n}", M, K, N, cnt) for i in range(L) for n, M, K, N, cnt in per_block] + [("lm_head", V, D, T, 1)]
    assert [(l.name, l.M, l.K, l.N, l.count) for l in wl.layers] == want
    assert wl.total_macs == L * T * (2 * D * D + 2 * dh * D + 3 * D * F + 2 * T * D) + T * V * D


def test_gpt2_directory_splits_c_attn_and_ties_the_head(tmp_path, rng):
    t = {"transformer.wte.weight": rng.standard_normal((V, D)), "transformer.wpe.weight": rng.standard_normal((32, D)),
         "transformer.ln_f.weight": np.ones(D), "transformer.ln_f.bias": np.zeros(D)}
    for i in range(L):
        p = f"transformer.h.{i}."
        for n, s in {"attn.c_attn": (D, 3 * D), "attn.c_proj": (D, D), "mlp.c_fc": (D, 4 * D),
                     "mlp.c_proj": (4 * D, D)}.items():
            t[p + n + ".weight"] = rng.standard_normal(s) / math.sqrt(s[0])      # Conv1D: in x out
            t[p + n + ".bias"] = np.zeros(s[1])
        for n in ("ln_1", "ln_2"):
            t[p + n + ".weight"], t[p + n + ".bias"] = np.ones(D), np.zeros(D)
    t = {k: v.astype(np.float32) for k, v in t.items()}
    d = _write(tmp_path, "gpt2", {"model_type": "gpt2", "n_embd": D, "n_layer": L, "n_head": H, "vocab_size": V,
                                  "n_positions": 32}, t)
    wl = workload(f"{d}[seq_len={T}]")
    names = [l.name for l in wl.layers]
    assert names[:8] == ["L0.q_proj", "L0.k_proj", "L0.v_proj", "L0.qk", "L0.av", "L0.o_proj", "L0.up_proj",
                         "L0.down_proj"] and names[-1] == "lm_head"
    assert wl.layer("L0.up_proj").M == 4 * D and wl.layer("lm_head").M == V
    net, cfg, _ = import_hf(d, seq_len=T)
    q = net.weight_gemm(net.layer("L0.q_proj"))
    assert np.array_equal(q, t["transformer.h.0.attn.c_attn.weight"][:, :D].T)    # q is c_attn's first third
    tr = capture(f"{d}[seq_len={T}]", "unstructured", 0.5)
    assert tr.layer("lm_head").weight_density == 0.5
    assert tr.provenance["fidelity_metric"] == "top1_agreement"                    # next-token agreement
    # the tied embedding table is not pruned with the head: the pruned graph still embeds with the full table
    from accelsim.traces.real.hf import default_inputs
    feeds = default_inputs(cfg, 1, T)
    model = net.with_weights({"lm_head": tr.layer("lm_head").weight})
    emb = [n for n in model.graph.node if n.op_type == "Gather"][0]
    table = next(x for x in model.graph.initializer if x.name == emb.input[0])
    from onnx import numpy_helper
    assert np.array_equal(numpy_helper.to_array(table), t["transformer.wte.weight"])
    assert run_graph(model, feeds, net.outputs)


def test_directory_capture_cli_and_run(tmp_path, rng, capsys):
    d, _ = _bert(tmp_path, rng)
    out = tmp_path / "b.npz"
    assert main(["trace", "capture", "--model", str(d), "--seq-len", "8", "--pattern", "nm:2:4", "-o", str(out)]) == 0
    assert main(["trace", "capture", "--model", str(d / "model.safetensors"), "--seq-len", "8",
                 "-o", str(out)]) == 0                        # a weights file inside the directory stands for it
    capsys.readouterr()
    assert main(["run", "--arch", "ideal", "--workload", str(d), "--seq-len", "8", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 16 and rows[0]["layer"] == "L0.q_proj"


def test_unknown_family_is_one_line(tmp_path, rng, capsys):
    d = _write(tmp_path, "t5", {"model_type": "t5", "d_model": 8}, {"shared.weight": np.zeros((4, 8), np.float32)})
    capsys.readouterr()
    assert main(["trace", "capture", "--model", str(d), "-o", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "BERT, GPT-2 or Llama" in err
