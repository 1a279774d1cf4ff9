"""Hugging Face style transformer directories (``config.json`` + ``*.safetensors``) as ONNX graphs.

A directory of the BERT, GPT-2 or Llama family becomes the graph of its
forward pass, written with ``onnx.helper`` from ``config.json`` (no
hand-written forward pass: onnxruntime runs it, and the same importer as any
ONNX file turns it into layers). Weights are read with the ``safetensors``
package (``safe_open``, one tensor at a time; sharded checkpoints too), or
from ``pytorch_model*.bin`` through accelsim's restricted unpickler. Only
tensors the family's forward pass names are read: optimizer state (Adam's
``exp_avg``, ``exp_avg_sq``), step counters and anything else in the files are
never layers (``provenance["ignored_tensors"]`` counts them).

Layers per block ``L<i>`` (names as in :mod:`accelsim.workload.transformer`):
``q_proj``, ``k_proj``, ``v_proj`` (GPT-2's fused ``c_attn`` split in three),
``qk`` and ``av`` (attention per head: both operands are activations,
``prunable: false``, ``count`` = batch x heads), ``o_proj``, then the MLP
(``up_proj``, ``down_proj``, and Llama's ``gate_proj``); GPT-2 and Llama end
with ``lm_head`` (``vocab x d_model``, tied to the embedding when the config
says so) over every position. Embeddings, norms, softmax, RoPE and biases are
not GEMMs and are not layers.

The families, as their reference implementations define them (Devlin et al.
2019 / HF ``BertModel``: post-norm, exact GELU; Radford et al. 2019 / HF
``GPT2Model``: pre-norm, ``gelu_new``, Conv1D weights stored ``in x out``;
Touvron et al. 2023 / HF ``LlamaModel``: RMSNorm, rotary embeddings in the
``rotate_half`` convention, SwiGLU, grouped-query attention):

* BERT inputs: ``input_ids``, ``position_ids``, ``token_type_ids`` (``B x T``)
  and ``attention_bias`` (``B x 1 x T x T``, added to the scores; 0 attends,
  -1e9 masks), output the last hidden state;
* GPT-2 and Llama inputs: ``input_ids``; causal; output the logits
  (``B x T x vocab``), so fidelity is next-token top-1 agreement.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import TraceError

FAMILIES = ("bert", "gpt2", "llama")
OPSET = 17      # LayerNormalization


def is_hf_dir(path) -> bool:
    p = Path(path)
    return p.is_dir() and (p / "config.json").is_file()


@dataclass
class HFConfig:
    family: str
    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    d_ff: int
    vocab: int
    max_pos: int
    eps: float
    head_dim: int
    rope_theta: float = 10000.0
    tied: bool = False
    type_vocab: int = 2
    act: str = ""
    raw: dict = field(default_factory=dict)


def _int(cfg: dict, keys, where: str, default=None) -> int:
    for k in keys:
        if cfg.get(k) is not None:
            v = cfg[k]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise TraceError(f"{where}: config.json '{k}' must be a positive integer, got {v!r}")
            return v
    if default is not None:
        return default
    raise TraceError(f"{where}: config.json lacks '{keys[0]}'")


def read_config(path) -> HFConfig:
    d = Path(path)
    where = str(d)
    try:
        cfg = json.loads((d / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise TraceError(f"{where}: config.json is not readable JSON ({e})") from None
    if not isinstance(cfg, dict):
        raise TraceError(f"{where}: config.json must hold an object")
    mt = str(cfg.get("model_type", "")).lower()
    arch = " ".join(cfg.get("architectures") or []).lower()
    family = next((f for f in FAMILIES if mt == f or (not mt and f in arch)), None)
    if family is None:
        raise TraceError(f"{where}: model_type '{mt or arch or '?'}' is not one accelsim builds (BERT, GPT-2 or "
                         f"Llama families); export the model to ONNX instead")
    if family == "bert":
        d_model = _int(cfg, ["hidden_size"], where)
        heads = _int(cfg, ["num_attention_heads"], where)
        c = HFConfig("bert", d_model, _int(cfg, ["num_hidden_layers"], where), heads, heads,
                     _int(cfg, ["intermediate_size"], where), _int(cfg, ["vocab_size"], where),
                     _int(cfg, ["max_position_embeddings"], where, 512), float(cfg.get("layer_norm_eps", 1e-12)),
                     d_model // heads, type_vocab=_int(cfg, ["type_vocab_size"], where, 2),
                     act=str(cfg.get("hidden_act", "gelu")))
    elif family == "gpt2":
        d_model = _int(cfg, ["n_embd", "hidden_size"], where)
        heads = _int(cfg, ["n_head", "num_attention_heads"], where)
        c = HFConfig("gpt2", d_model, _int(cfg, ["n_layer", "num_hidden_layers"], where), heads, heads,
                     _int(cfg, ["n_inner"], where, 4 * d_model), _int(cfg, ["vocab_size"], where),
                     _int(cfg, ["n_positions", "max_position_embeddings"], where, 1024),
                     float(cfg.get("layer_norm_epsilon", 1e-5)), d_model // heads, tied=True,
                     act=str(cfg.get("activation_function", "gelu_new")))
    else:
        d_model = _int(cfg, ["hidden_size"], where)
        heads = _int(cfg, ["num_attention_heads"], where)
        c = HFConfig("llama", d_model, _int(cfg, ["num_hidden_layers"], where), heads,
                     _int(cfg, ["num_key_value_heads"], where, heads), _int(cfg, ["intermediate_size"], where),
                     _int(cfg, ["vocab_size"], where), _int(cfg, ["max_position_embeddings"], where, 2048),
                     float(cfg.get("rms_norm_eps", 1e-6)), _int(cfg, ["head_dim"], where, d_model // heads),
                     rope_theta=float(cfg.get("rope_theta", 10000.0)),
                     tied=bool(cfg.get("tie_word_embeddings", False)), act=str(cfg.get("hidden_act", "silu")))
        if c.n_heads % c.n_kv_heads:
            raise TraceError(f"{where}: {c.n_heads} attention heads do not share {c.n_kv_heads} key-value heads")
        if c.act != "silu":
            raise TraceError(f"{where}: hidden_act '{c.act}': only Llama's silu is built")
    if c.family != "llama" and c.d_model % c.n_heads:
        raise TraceError(f"{where}: hidden size {c.d_model} does not divide into {c.n_heads} heads")
    c.raw = cfg
    return c


# ---- checkpoint names ------------------------------------------------------------------------------------
def _block_names(c: HFConfig, i: int) -> dict[str, str]:
    if c.family == "bert":
        p = f"encoder.layer.{i}."
        return {"q": p + "attention.self.query.weight", "q.b": p + "attention.self.query.bias",
                "k": p + "attention.self.key.weight", "k.b": p + "attention.self.key.bias",
                "v": p + "attention.self.value.weight", "v.b": p + "attention.self.value.bias",
                "o": p + "attention.output.dense.weight", "o.b": p + "attention.output.dense.bias",
                "ln1.w": p + "attention.output.LayerNorm.weight", "ln1.b": p + "attention.output.LayerNorm.bias",
                "up": p + "intermediate.dense.weight", "up.b": p + "intermediate.dense.bias",
                "down": p + "output.dense.weight", "down.b": p + "output.dense.bias",
                "ln2.w": p + "output.LayerNorm.weight", "ln2.b": p + "output.LayerNorm.bias"}
    if c.family == "gpt2":
        p = f"h.{i}."
        return {"ln1.w": p + "ln_1.weight", "ln1.b": p + "ln_1.bias", "qkv": p + "attn.c_attn.weight",
                "qkv.b": p + "attn.c_attn.bias", "o": p + "attn.c_proj.weight", "o.b": p + "attn.c_proj.bias",
                "ln2.w": p + "ln_2.weight", "ln2.b": p + "ln_2.bias", "up": p + "mlp.c_fc.weight",
                "up.b": p + "mlp.c_fc.bias", "down": p + "mlp.c_proj.weight", "down.b": p + "mlp.c_proj.bias"}
    p = f"layers.{i}."
    return {"ln1.w": p + "input_layernorm.weight", "q": p + "self_attn.q_proj.weight",
            "k": p + "self_attn.k_proj.weight", "v": p + "self_attn.v_proj.weight",
            "o": p + "self_attn.o_proj.weight", "ln2.w": p + "post_attention_layernorm.weight",
            "gate": p + "mlp.gate_proj.weight", "up": p + "mlp.up_proj.weight", "down": p + "mlp.down_proj.weight"}


def _top_names(c: HFConfig) -> dict[str, str]:
    if c.family == "bert":
        return {"wte": "embeddings.word_embeddings.weight", "wpe": "embeddings.position_embeddings.weight",
                "wtt": "embeddings.token_type_embeddings.weight", "ln.w": "embeddings.LayerNorm.weight",
                "ln.b": "embeddings.LayerNorm.bias"}
    if c.family == "gpt2":
        return {"wte": "wte.weight", "wpe": "wpe.weight", "lnf.w": "ln_f.weight", "lnf.b": "ln_f.bias"}
    return {"wte": "embed_tokens.weight", "lnf.w": "norm.weight"}


class Checkpoint:
    """The tensors of a directory's checkpoint files, by name, read lazily (one tensor at a time)."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.files: dict[str, Path] = {}
        st = sorted(self.dir.glob("*.safetensors"))
        self.kind = "safetensors" if st else "torch"
        if st:
            from safetensors import safe_open
            for f in st:
                try:
                    with safe_open(str(f), framework="np") as h:
                        for k in h.keys():
                            self.files[k] = f
                except Exception as e:  # noqa: BLE001 - safetensors raises SafetensorError; one line
                    raise TraceError(f"{f}: not a readable safetensors file ({e})") from None
        else:
            bins = sorted(self.dir.glob("pytorch_model*.bin"))
            if not bins:
                raise TraceError(f"{self.dir}: config.json but no *.safetensors (or pytorch_model.bin) weights")
            from .torch_zip import load_torch
            self._torch = {}
            for f in bins:
                for k, v in load_torch(f).items():
                    self._torch[k] = v
                    self.files[k] = f

    def names(self) -> list[str]:
        return list(self.files)

    def prefix(self, anchor: str) -> str:
        """The prefix of the model's own names (``bert.``, ``transformer.``, ``model.``, or none)."""
        for k in self.files:
            if k.endswith(anchor) and (k == anchor or k[-len(anchor) - 1] == "."):
                return k[:-len(anchor)]
        raise TraceError(f"{self.dir}: the checkpoint has no '{anchor}' (is config.json's model_type right?)")

    def shape(self, name: str) -> tuple:
        if name not in self.files:
            raise TraceError(f"{self.dir}: the checkpoint lacks tensor '{name}'")
        if self.kind == "torch":
            return tuple(self._torch[name].shape)
        from safetensors import safe_open
        with safe_open(str(self.files[name]), framework="np") as h:
            return tuple(int(d) for d in h.get_slice(name).get_shape())

    def get(self, name: str) -> np.ndarray:
        if name not in self.files:
            raise TraceError(f"{self.dir}: the checkpoint lacks tensor '{name}'")
        if self.kind == "torch":
            v = self._torch[name]
        else:
            from safetensors import safe_open
            with safe_open(str(self.files[name]), framework="np") as h:
                v = h.get_tensor(name)
        v = np.asarray(v)
        if v.dtype.kind not in "fiu" and v.dtype.name != "bfloat16":
            raise TraceError(f"{self.dir}: tensor '{name}' has dtype {v.dtype}")
        v = v.astype(np.float32)
        if not np.isfinite(v).all():
            raise TraceError(f"{self.dir}: tensor '{name}' holds NaN or infinity")
        return v


# ---- the graph builder -----------------------------------------------------------------------------------
class _Graph:
    """A small ``onnx.helper`` wrapper: nodes, initializers (values, or shapes only), unique names."""

    def __init__(self, ck: Checkpoint | None, prefix: str, values: bool):
        from onnx import TensorProto, helper
        self.h = helper
        self.TP = TensorProto
        self.ck = ck
        self.prefix = prefix
        self.values = values
        self.nodes, self.inits, self.inputs, self.declared = [], [], [], {}
        self.used: set[str] = set()
        self.n = 0

    def _name(self, base: str) -> str:
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, arr: np.ndarray, base: str = "c") -> str:
        from onnx import numpy_helper
        name = self._name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def weight(self, key: str, transpose: bool = False, cols: slice | None = None, name: str | None = None,
               shape: tuple | None = None) -> str:
        """A checkpoint tensor as an initializer (or a declared shape), optionally transposed or column-sliced."""
        from onnx import numpy_helper
        full = self.prefix + key
        self.used.add(full)
        name = name or self._name(key)
        if self.values:
            v = self.ck.get(full)
            if cols is not None:
                v = v[:, cols]
            if transpose:
                v = v.T
            self.inits.append(numpy_helper.from_array(np.ascontiguousarray(v, dtype=np.float32), name))
        else:
            s = shape or self.ck.shape(full)
            if cols is not None:
                s = (s[0], len(range(*cols.indices(s[1]))))
            if transpose:
                s = tuple(reversed(s))
            self.declared[name] = tuple(int(d) for d in s)
            self.inputs.append(self.h.make_tensor_value_info(name, self.TP.FLOAT, list(s)))
        return name

    def op(self, op_type: str, inputs: list[str], name: str | None = None, **attrs) -> str:
        out = self._name(op_type.lower())
        self.nodes.append(self.h.make_node(op_type, inputs, [out], name=name or out, **attrs))
        return out

    def linear(self, x: str, key: str, layer: str, bias: str | None = None, transpose: bool = True,
               cols: slice | None = None, bias_cols: slice | None = None) -> str:
        w = self.weight(key, transpose=transpose, cols=cols)
        y = self.op("MatMul", [x, w], name=layer)
        if bias is not None:
            y = self.op("Add", [y, self.bias(bias, bias_cols)])
        return y

    def bias(self, key: str, cols: slice | None = None) -> str:
        from onnx import numpy_helper
        full = self.prefix + key
        self.used.add(full)
        name = self._name(key)
        if not self.values:      # geometry only: a declared shape, nothing read or allocated
            s = self.ck.shape(full)
            s = (len(range(*cols.indices(s[0]))),) + tuple(s[1:]) if cols is not None else s
            self.declared[name] = tuple(int(d) for d in s)
            self.inputs.append(self.h.make_tensor_value_info(name, self.TP.FLOAT, list(s)))
            return name
        v = self.ck.get(full)
        if cols is not None:
            v = v[cols]
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(v, dtype=np.float32), name))
        return name

    def layer_norm(self, x: str, w: str, b: str | None, eps: float) -> str:
        ins = [x, self.bias(w)] + ([self.bias(b)] if b else [])
        return self.op("LayerNormalization", ins, axis=-1, epsilon=float(eps))

    def rms_norm(self, x: str, w: str, eps: float) -> str:
        sq = self.op("Mul", [x, x])
        ms = self.op("ReduceMean", [sq], axes=[-1], keepdims=1)
        den = self.op("Sqrt", [self.op("Add", [ms, self.const(np.float32(eps))])])
        return self.op("Mul", [self.op("Div", [x, den]), self.bias(w)])

    def heads(self, x: str, B: int, T: int, n: int, dh: int, perm) -> str:
        r = self.op("Reshape", [x, self.const(np.array([B, T, n, dh], np.int64))])
        return self.op("Transpose", [r], perm=list(perm))

    def merge(self, x: str, B: int, T: int, d: int) -> str:
        t = self.op("Transpose", [x], perm=[0, 2, 1, 3])
        return self.op("Reshape", [t, self.const(np.array([B, T, d], np.int64))])


def _gelu_exact(g: _Graph, x: str) -> str:
    e = g.op("Erf", [g.op("Div", [x, g.const(np.float32(math.sqrt(2.0)))])])
    return g.op("Mul", [g.op("Mul", [x, g.const(np.float32(0.5))]), g.op("Add", [e, g.const(np.float32(1.0))])])


def _gelu_tanh(g: _Graph, x: str) -> str:
    x3 = g.op("Mul", [g.op("Mul", [x, x]), x])
    inner = g.op("Add", [x, g.op("Mul", [x3, g.const(np.float32(0.044715))])])
    t = g.op("Tanh", [g.op("Mul", [inner, g.const(np.float32(math.sqrt(2.0 / math.pi)))])])
    return g.op("Mul", [g.op("Mul", [x, g.const(np.float32(0.5))]), g.op("Add", [t, g.const(np.float32(1.0))])])


def _attention(g: _Graph, c: HFConfig, i: int, q: str, k: str, v: str, B: int, T: int, mask: str | None,
               rope: tuple | None = None) -> str:
    H, KV, dh = c.n_heads, c.n_kv_heads, c.head_dim
    qh = g.heads(q, B, T, H, dh, (0, 2, 1, 3))                  # B, H, T, dh
    kh = g.heads(k, B, T, KV, dh, (0, 2, 1, 3))                 # B, KV, T, dh
    vh = g.heads(v, B, T, KV, dh, (0, 2, 1, 3))
    if rope is not None:
        qh, kh = _rope(g, qh, dh, rope), _rope(g, kh, dh, rope)
    if KV != H:   # grouped-query attention: each key-value head serves H/KV query heads (HF repeat_kv)
        rep = H // KV
        shape5 = g.const(np.array([B, KV, rep, T, dh], np.int64))
        shape4 = g.const(np.array([B, H, T, dh], np.int64))
        kh = g.op("Reshape", [g.op("Expand", [g.op("Unsqueeze", [kh, g.const(np.array([2], np.int64))]), shape5]),
                              shape4])
        vh = g.op("Reshape", [g.op("Expand", [g.op("Unsqueeze", [vh, g.const(np.array([2], np.int64))]), shape5]),
                              shape4])
    kt = g.op("Transpose", [kh], perm=[0, 1, 3, 2])              # B, H, dh, T
    s = g.op("MatMul", [qh, kt], name=f"L{i}.qk")
    s = g.op("Mul", [s, g.const(np.float32(1.0 / math.sqrt(dh)))])
    if mask is not None:
        s = g.op("Add", [s, mask])
    p = g.op("Softmax", [s], axis=-1)
    ctx = g.op("MatMul", [p, vh], name=f"L{i}.av")               # B, H, T, dh
    return g.merge(ctx, B, T, H * dh)


def _rope_tables(c: HFConfig, T: int) -> tuple[np.ndarray, np.ndarray]:
    dh = c.head_dim
    inv = 1.0 / (c.rope_theta ** (np.arange(0, dh, 2, dtype=np.float64) / dh))
    f = np.outer(np.arange(T, dtype=np.float64), inv)
    emb = np.concatenate([f, f], axis=1)
    return np.cos(emb).astype(np.float32)[None, None], np.sin(emb).astype(np.float32)[None, None]


def _rope(g: _Graph, x: str, dh: int, tables: tuple) -> str:
    cos, sin = tables
    half = dh // 2
    ax = g.const(np.array([3], np.int64))
    x1 = g.op("Slice", [x, g.const(np.array([0], np.int64)), g.const(np.array([half], np.int64)), ax])
    x2 = g.op("Slice", [x, g.const(np.array([half], np.int64)), g.const(np.array([dh], np.int64)), ax])
    rot = g.op("Concat", [g.op("Neg", [x2]), x1], axis=3)
    return g.op("Add", [g.op("Mul", [x, cos]), g.op("Mul", [rot, sin])])


def build_graph(c: HFConfig, ck: Checkpoint, B: int, T: int, values: bool = True):
    """The family's forward pass on ``B`` sequences of ``T`` tokens as an ONNX model (and declared weights)."""
    from onnx import TensorProto, helper
    anchor = _top_names(c)["wte"]
    prefix = ck.prefix(anchor)
    g = _Graph(ck, prefix, values)
    top = _top_names(c)
    ids = "input_ids"
    g.inputs.append(helper.make_tensor_value_info(ids, TensorProto.INT64, [B, T]))
    if T > c.max_pos and c.family != "llama":
        raise TraceError(f"sequence length {T} exceeds the model's {c.max_pos} positions")
    d = c.d_model
    if c.family == "bert":
        for n, dt, shp in (("position_ids", TensorProto.INT64, [B, T]), ("token_type_ids", TensorProto.INT64, [B, T]),
                           ("attention_bias", TensorProto.FLOAT, [B, 1, T, T])):
            g.inputs.append(helper.make_tensor_value_info(n, dt, shp))
        emb = g.op("Add", [g.op("Gather", [g.bias(top["wte"]), ids]), g.op("Gather", [g.bias(top["wpe"]),
                                                                                        "position_ids"])])
        emb = g.op("Add", [emb, g.op("Gather", [g.bias(top["wtt"]), "token_type_ids"])])
        x = g.layer_norm(emb, top["ln.w"], top["ln.b"], c.eps)
        for i in range(c.n_layers):
            n = _block_names(c, i)
            q = g.linear(x, n["q"], f"L{i}.q_proj", n["q.b"])
            k = g.linear(x, n["k"], f"L{i}.k_proj", n["k.b"])
            v = g.linear(x, n["v"], f"L{i}.v_proj", n["v.b"])
            a = g.linear(_attention(g, c, i, q, k, v, B, T, "attention_bias"), n["o"], f"L{i}.o_proj", n["o.b"])
            x = g.layer_norm(g.op("Add", [x, a]), n["ln1.w"], n["ln1.b"], c.eps)
            h = _gelu_exact(g, g.linear(x, n["up"], f"L{i}.up_proj", n["up.b"]))
            x = g.layer_norm(g.op("Add", [x, g.linear(h, n["down"], f"L{i}.down_proj", n["down.b"])]),
                             n["ln2.w"], n["ln2.b"], c.eps)
        out, out_shape = x, [B, T, d]
    else:
        causal = np.triu(np.full((T, T), -1e9, np.float32), k=1)[None, None]
        mask = g.const(causal, "causal")
        x = g.op("Gather", [g.bias(top["wte"]), ids])
        rope = None
        if c.family == "gpt2":
            x = g.op("Add", [x, g.op("Gather", [g.bias(top["wpe"]), g.const(np.arange(T, dtype=np.int64)[None])])])
        else:
            rope = tuple(g.const(t, "rope") for t in _rope_tables(c, T))
        for i in range(c.n_layers):
            n = _block_names(c, i)
            if c.family == "gpt2":   # Conv1D weights are stored in x out: no transpose; c_attn splits in three
                h = g.layer_norm(x, n["ln1.w"], n["ln1.b"], c.eps)
                q, k, v = (g.linear(h, n["qkv"], f"L{i}.{nm}_proj", n["qkv.b"], transpose=False,
                                    cols=slice(j * d, (j + 1) * d), bias_cols=slice(j * d, (j + 1) * d))
                           for j, nm in enumerate("qkv"))
                a = g.linear(_attention(g, c, i, q, k, v, B, T, mask), n["o"], f"L{i}.o_proj", n["o.b"],
                             transpose=False)
                x = g.op("Add", [x, a])
                h = g.layer_norm(x, n["ln2.w"], n["ln2.b"], c.eps)
                up = g.linear(h, n["up"], f"L{i}.up_proj", n["up.b"], transpose=False)
                act = _gelu_tanh(g, up) if "new" in c.act or "tanh" in c.act else _gelu_exact(g, up)
                x = g.op("Add", [x, g.linear(act, n["down"], f"L{i}.down_proj", n["down.b"], transpose=False)])
            else:
                h = g.rms_norm(x, n["ln1.w"], c.eps)
                q = g.linear(h, n["q"], f"L{i}.q_proj")
                k = g.linear(h, n["k"], f"L{i}.k_proj")
                v = g.linear(h, n["v"], f"L{i}.v_proj")
                x = g.op("Add", [x, g.linear(_attention(g, c, i, q, k, v, B, T, mask, rope), n["o"],
                                             f"L{i}.o_proj")])
                h = g.rms_norm(x, n["ln2.w"], c.eps)
                gate = g.linear(h, n["gate"], f"L{i}.gate_proj")
                up = g.linear(h, n["up"], f"L{i}.up_proj")
                act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up])
                x = g.op("Add", [x, g.linear(act, n["down"], f"L{i}.down_proj")])
        x = g.layer_norm(x, top["lnf.w"], top["lnf.b"], c.eps) if c.family == "gpt2" else \
            g.rms_norm(x, top["lnf.w"], c.eps)
        head_key = "lm_head.weight"
        if not c.tied and head_key in ck.files:
            # the LM head sits outside the base model's prefix (LlamaForCausalLM: lm_head.weight, model.*)
            saved, g.prefix = g.prefix, ""
            w = g.weight(head_key, transpose=True)
            g.prefix = saved
        else:   # tied: the embedding table, as its own initializer (pruning the head never prunes the embedding)
            w = g.weight(top["wte"], transpose=True)
        out = g.op("MatMul", [x, w], name="lm_head")
        out_shape = [B, T, c.vocab]
    outputs = [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)]
    graph = helper.make_graph(g.nodes, f"{c.family}", g.inputs, outputs, initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="accelsim")
    model.ir_version = 8
    ignored = [k for k in ck.names() if k not in g.used]
    return model, g.declared, ignored


def default_inputs(c: HFConfig, B: int, T: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded token ids uniform over the vocabulary (and, for BERT, positions 0..T-1, type 0, full attention)."""
    rng = np.random.default_rng([int(seed), 13])
    feeds = {"input_ids": rng.integers(0, c.vocab, size=(B, T)).astype(np.int64)}
    if c.family == "bert":
        feeds["position_ids"] = np.broadcast_to(np.arange(T, dtype=np.int64), (B, T)).copy()
        feeds["token_type_ids"] = np.zeros((B, T), np.int64)
        feeds["attention_bias"] = np.zeros((B, 1, T, T), np.float32)
    return feeds


def import_hf(directory, seq_len: int | None = None, batch: int | None = None, values: bool = True):
    """``(OnnxNet, HFConfig, ignored tensor names)`` of a directory; ``values=False`` reads shapes only."""
    from .onnx import import_onnx
    c = read_config(directory)
    ck = Checkpoint(directory)
    T = int(seq_len or min(c.max_pos, 128))
    B = int(batch or 1)
    if T < 1 or B < 1:
        raise TraceError("seq_len and batch must be positive")
    model, declared, ignored = build_graph(c, ck, B, T, values)
    net = import_onnx(model, name=Path(directory).name, declared=declared or None, check=values)
    return net, c, ignored
