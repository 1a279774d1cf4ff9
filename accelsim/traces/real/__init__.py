"""Real networks in: ONNX graphs (read with ``onnx``, run with ``onnxruntime``), Hugging Face style transformer
directories, SCALE-Sim topologies, traces, and three shipped real models; see ``docs/real_traces.md``.

``capture(model, pattern, density, seed)`` gives a :class:`~accelsim.traces.Trace` of a network's real weights
pruned and its measured activations, with fidelity against the dense network; ``workload(model)`` its layers.
"""
from .capture import RECORD_LIMIT, capture_source, onnx_source
from .models import MODELS, PACKAGES
from .own import capture, is_own, own_trace, workload

__all__ = ["RECORD_LIMIT", "MODELS", "PACKAGES", "capture", "capture_source", "onnx_source", "is_own", "own_trace",
           "workload"]
