"""Traces: pruned weights and activations per layer, pruners, synthetic generators, .npz I/O."""
from .make import make_trace, plan_densities
from .pruners import PATTERNS, Pattern, detect_pattern, parse_pattern, prune, satisfies
from .trace import LayerTrace, Trace, im2col, load_trace, save_trace

__all__ = ["make_trace", "plan_densities", "PATTERNS", "Pattern", "detect_pattern", "parse_pattern", "prune",
           "satisfies", "LayerTrace", "Trace", "im2col", "load_trace", "save_trace"]
