"""Real models that ship their weights: readers (safetensors, torch checkpoints) and numpy forward passes.

``capture(model, pattern, density, seed)`` gives a :class:`~accelsim.traces.Trace` of a real model's pruned
weights and measured activations, with fidelity against the dense model; see ``docs/real_traces.md``.
"""
from .capture import MODELS, PACKAGES, capture, workload
from .safetensors import load_safetensors, save_safetensors
from .torch_zip import load_torch

__all__ = ["MODELS", "PACKAGES", "capture", "workload", "load_safetensors", "save_safetensors", "load_torch"]
