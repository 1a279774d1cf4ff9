"""``accelsim trace capture``: a trace of a real network's pruned weights and measured activations.

``--model`` is an ONNX file (``--input-shape NAME=1x3x640x640`` for symbolic dimensions, ``--inputs
FILE.npz`` for real inputs, ``--batch N``), a Hugging Face style directory (``config.json`` +
``*.safetensors``; ``--seq-len``, ``--batch``), a trace ``.npz`` to prune again, or a shipped real model
(``minilm``, ``efficientnet-lite0``, ``silero-vad``). See ``docs/real_traces.md`` and
:mod:`accelsim.traces.real`.
"""
from __future__ import annotations

import sys

from ..errors import AccelsimError
from .trace import save_trace


def run(model: str, pattern: str = "dense", density: float | None = None, seed: int = 0, *, input_shapes=None,
        inputs=None, batch: int | None = None, seq_len: int | None = None, profile: str | None = None,
        record_limit: int | None = None, layers: list[str] | None = None):
    """The trace the command writes. ``--density`` without a pattern prunes by magnitude."""
    from .real import capture
    return capture(model, pattern, density, seed, input_shapes=input_shapes, inputs=inputs, batch=batch,
                   seq_len=seq_len, profile=profile, record_limit=record_limit, layers=layers)


def cli(args) -> None:
    if args.seed is not None and args.seed < 0:
        raise AccelsimError("--seed must be >= 0")
    for key in ("batch", "seq_len"):
        v = getattr(args, key, None)
        if v is not None and v < 1:
            raise AccelsimError(f"--{key.replace('_', '-')} must be >= 1")
    layers = [s.strip() for s in args.layers.split(",") if s.strip()] if getattr(args, "layers", None) else None
    tr = run(args.model, args.pattern, args.density, args.seed or 0, input_shapes=getattr(args, "input_shape", None),
             inputs=getattr(args, "inputs", None), batch=getattr(args, "batch", None),
             seq_len=getattr(args, "seq_len", None), profile=getattr(args, "profile", None),
             record_limit=getattr(args, "record_limit", None), layers=layers)
    path = save_trace(tr, args.output)
    prov = tr.provenance
    macs = sum(lt.layer.total_macs for lt in tr.layers)
    msg = f"wrote {len(tr)} layers of '{tr.workload}' ({prov.get('pattern')}, {macs / 1e9:.4g} G MACs) to {path}"
    if "fidelity" in prov:
        msg += f"; {prov['fidelity_metric']} = {prov['fidelity']:.4f}"
    print(msg, file=sys.stderr)
