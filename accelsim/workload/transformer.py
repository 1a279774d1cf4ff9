"""Transformer workloads from their shape: encoders (BERT, ViT), decoders (GPT-2, Llama) in prefill or decode.

A workload YAML with a ``transformer:`` section (instead of ``layers:``) is expanded here into its GEMM
layers, once per block with ``count`` = the number of blocks (and heads, and sequences) so a 7-billion-
weight model is a dozen layers::

    name: llama2_7b
    transformer: {d_model: 4096, n_layers: 32, n_heads: 32, n_kv_heads: 32, d_ff: 11008, vocab: 32000,
                  mlp: gated, causal: true, seq_len: 2048, phase: prefill, batch: 1}

Workload parameters (``phase``, ``seq_len``, ``kv_len``, ``batch``) are set by name on the command line
(``--phase decode --kv-len 4096``) or in the workload string (``llama2_7b[phase=decode,kv_len=4096]``).

The GEMM view (``W (M x K) @ X (K x N)``) of one block, for ``B`` sequences of ``T`` tokens:

* projections ``q, k, v, o`` and the MLP (``up``/``down``, plus ``gate`` for a gated MLP, as SwiGLU in
  Llama, Touvron et al. 2023, Sec. 2.2) are weights ``out x in`` against ``in x (B*T)`` activations:
  prunable;
* attention per head and sequence, with the KV cache in the matrix role ``W`` and the new tokens
  streaming as ``X`` (the layout a matrix-vector engine reads during decode, and the same MACs as
  ``Q K^T`` and ``A V``): scores ``K (T_kv x d_head) @ Q^T (d_head x T)`` and values
  ``V^T (d_head x T_kv) @ A^T (T_kv x T)``; both operands are activations (``prunable: false``), so they
  are sparse only through an activation pattern (top-k or block-sparse attention as ``--act-density``);
* ``prefill``: ``T = seq_len`` and ``T_kv = seq_len`` (the full causal square is counted, as published
  MAC counts do; a causal kernel skips about half of it);
* ``decode``: one new token per sequence (``T = 1``) against a KV cache of ``kv_len`` tokens
  (``T_kv = kv_len + 1``): matrix-vector products, memory-bound, the regime EIE was built for;
* ``encode`` (ViT, BERT): ``T = seq_len``, bidirectional;
* the LM head (``vocab x d_model``) runs on the last token of each sequence only (what generation needs);
  an encoder's classifier head on one token per sequence; ViT's patch embedding is a 16x16 stride-16
  convolution.

Embeddings, layer norms, biases, softmax and activations functions are not GEMMs and are not layers;
``embedding_params`` counts the embedding tables for the published parameter totals.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

from ..config import check_keys, expect_mapping
from ..errors import WorkloadError
from .layer import Layer, conv, gemm

PHASES = ("prefill", "decode", "encode")
#: workload parameters a user may set on a transformer workload
PARAMS = ("phase", "seq_len", "kv_len", "batch")


@dataclass(frozen=True)
class TransformerShape:
    d_model: int
    n_layers: int
    n_heads: int
    d_ff: int
    vocab: int = 0
    n_kv_heads: int = 0          # grouped-query attention; 0 = n_heads
    mlp: str = "plain"           # plain (up, down) | gated (gate, up, down)
    causal: bool = True
    seq_len: int = 128
    kv_len: int = 0              # decode: tokens already in the KV cache (default seq_len)
    batch: int = 1
    phase: str = "prefill"
    head: str = "lm"             # lm (vocab x d_model on the last token) | classifier | none
    classes: int = 0             # classifier head outputs
    image: int = 0               # ViT: input image side; patches of `patch` pixels, a class token added
    patch: int = 0
    channels: int = 3
    max_positions: int = 0       # learned position embeddings (GPT-2, BERT, ViT); 0 = rotary (Llama)
    tied_lm_head: bool = False   # GPT-2 reuses the token embedding as its LM head

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def tokens(self) -> int:
        """Tokens per sequence entering the blocks."""
        if self.image:
            return (self.image // self.patch) ** 2 + 1
        return 1 if self.phase == "decode" else self.seq_len

    @property
    def kv_tokens(self) -> int:
        if self.phase == "decode":
            return (self.kv_len or self.seq_len) + 1
        return self.tokens

    @property
    def embedding_params(self) -> int:
        """Embedding tables (tokens and learned positions), for the published parameter counts."""
        tok = self.vocab * self.d_model
        pos = self.max_positions * self.d_model
        return tok + pos


def _int(v, where: str, lo: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise WorkloadError(f"{where} must be an integer >= {lo}, got {v!r}")
    return v


def shape_from_dict(raw, where: str = "transformer") -> TransformerShape:
    raw = expect_mapping(raw, where)
    names = {f.name for f in fields(TransformerShape)}
    check_keys(raw, names, where)
    kw = {}
    for f in fields(TransformerShape):
        if f.name not in raw:
            continue
        v = raw[f.name]
        if f.name in ("mlp", "phase", "head"):
            choices = {"mlp": ("plain", "gated"), "phase": PHASES, "head": ("lm", "classifier", "none")}[f.name]
            if v not in choices:
                raise WorkloadError(f"{where}.{f.name} must be one of {', '.join(choices)}, got {v!r}")
        elif f.name in ("causal", "tied_lm_head"):
            if not isinstance(v, bool):
                raise WorkloadError(f"{where}.{f.name} must be true or false, got {v!r}")
        else:
            lo = 0 if f.name in ("vocab", "n_kv_heads", "kv_len", "classes", "image", "patch",
                                  "max_positions") else 1
            v = _int(v, f"{where}.{f.name}", lo)
        kw[f.name] = v
    for key in ("d_model", "n_layers", "n_heads", "d_ff"):
        if key not in kw:
            raise WorkloadError(f"{where}.{key}: missing")
    s = TransformerShape(**kw)
    check_shape(s, where)
    return s


def check_shape(s: TransformerShape, where: str = "transformer") -> None:
    if s.d_model % s.n_heads:
        raise WorkloadError(f"{where}: d_model {s.d_model} does not divide into {s.n_heads} heads")
    if s.n_heads % s.kv_heads:
        raise WorkloadError(f"{where}: {s.n_heads} heads do not share {s.kv_heads} KV heads evenly")
    if s.image and (not s.patch or s.image % s.patch):
        raise WorkloadError(f"{where}: image {s.image} is not a whole number of {s.patch}-pixel patches")
    if s.head == "lm" and not s.vocab:
        raise WorkloadError(f"{where}: an LM head needs vocab")
    if s.head == "classifier" and not s.classes:
        raise WorkloadError(f"{where}: a classifier head needs classes")
    if s.image and s.phase == "decode":
        raise WorkloadError(f"{where}: an image encoder has no decode phase")


def with_params(s: TransformerShape, params: dict, where: str = "workload") -> TransformerShape:
    """*s* with user parameters (phase, seq_len, kv_len, batch) applied and checked."""
    unknown = set(params) - set(PARAMS)
    if unknown:
        raise WorkloadError(f"{where}: unknown workload parameter '{sorted(unknown)[0]}' "
                            f"(transformer workloads take {', '.join(PARAMS)})")
    kw = {}
    for k, v in params.items():
        if k == "phase":
            if v not in PHASES:
                raise WorkloadError(f"{where}: phase must be one of {', '.join(PHASES)}, got {v!r}")
            kw[k] = v
        else:
            kw[k] = _int(v, f"{where}: {k}", 0 if k == "kv_len" else 1)
    out = replace(s, **kw)
    check_shape(out, where)
    return out


def transformer_layers(s: TransformerShape) -> list[Layer]:
    """The GEMM layers of *s* in execution order (module docstring)."""
    B, T, Tkv, L = s.batch, s.tokens, s.kv_tokens, s.n_layers
    d, dh, kv = s.d_model, s.d_head, s.kv_heads * s.d_head
    N = B * T
    out: list[Layer] = []
    if s.image:
        out.append(conv("patch_embed", s.channels, s.image, s.image, d, s.patch, stride=s.patch, batch=B))
    out += [gemm("q_proj", d, d, N, count=L, batch=B), gemm("k_proj", kv, d, N, count=L, batch=B),
            gemm("v_proj", kv, d, N, count=L, batch=B),
            # one batched launch per block covers every head and sequence (a bmm, as attention kernels run)
            gemm("qk", Tkv, dh, T, op="matmul", count=L * s.n_heads * B, prunable=False, batched=s.n_heads * B),
            gemm("av", dh, Tkv, T, op="matmul", count=L * s.n_heads * B, prunable=False, batched=s.n_heads * B),
            gemm("o_proj", d, d, N, count=L, batch=B)]
    if s.mlp == "gated":
        out.append(gemm("gate_proj", s.d_ff, d, N, count=L, batch=B))
    out += [gemm("up_proj", s.d_ff, d, N, count=L, batch=B), gemm("down_proj", d, s.d_ff, N, count=L, batch=B)]
    if s.head == "lm":
        out.append(gemm("lm_head", s.vocab, d, B, batch=B))
    elif s.head == "classifier":
        out.append(gemm("classifier", s.classes, d, B, batch=B))
    return out


def params_total(s: TransformerShape) -> int:
    """Weights of the GEMM layers plus the embedding tables (a tied LM head counted once)."""
    w = sum(l.total_weights for l in transformer_layers(replace(s, batch=1)) if l.prunable)
    if s.tied_lm_head and s.head == "lm":
        w -= s.vocab * s.d_model
    return w + s.embedding_params


_PARAMS_RE = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<params>[^\[\]]*)\]$")


def split_params(text: str) -> tuple[str, dict]:
    """``llama2_7b[phase=decode,kv_len=4096]`` -> ``("llama2_7b", {"phase": "decode", "kv_len": 4096})``."""
    m = _PARAMS_RE.match(text)
    if not m:
        return text, {}
    params = {}
    for item in filter(None, (x.strip() for x in m.group("params").split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise WorkloadError(f"'{text}': workload parameters are written NAME[key=value,...], got '{item}'")
        value = value.strip()
        params[key.strip()] = int(value) if re.fullmatch(r"\d+", value) else value
    return m.group("name"), params


def label(name: str, params: dict) -> str:
    """The workload's name with its parameters, as it appears in result rows."""
    if not params:
        return name
    return f"{name}[{','.join(f'{k}={v}' for k, v in params.items())}]"
