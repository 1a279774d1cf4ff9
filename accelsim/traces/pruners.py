"""Pruners: turn a dense weight matrix (GEMM view, ``M x K``) into a pruned one.

Patterns (``accelsim list patterns``):

* ``dense`` - nothing pruned.
* ``unstructured`` - magnitude pruning per layer (Han et al., NeurIPS 2015);
  ``unstructured:global`` ranks all prunable layers together.
* ``random`` - a uniformly random mask with the exact target count.
* ``block:BHxBW`` - blocks of ``BH`` rows x ``BW`` columns ranked by L2 norm
  (Cambricon-S's coarse-grained pruning, Zhou et al., MICRO 2018, Sec. 3).
* ``nm:N:M`` - at most ``N`` nonzeros in every group of ``M`` consecutive
  weights along K, the largest kept (NVIDIA's 2:4, Mishra et al. 2021). The
  density is ``N/M``. A tail group shorter than M keeps ``min(N, len)``.
* ``channel`` - whole rows of W (output channels) ranked by L2 norm.
* ``balanced:G`` - the same number of nonzeros in every group of ``G``
  consecutive rows (load-balance-aware pruning, Han et al., ESE, FPGA 2017).

Every pruner keeps exactly ``round(density * n)`` weights of the units it
ranks (ties broken by position, so results are deterministic).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ._select import nm_mask, zero_all_but_top_abs
from ..errors import PatternError

PATTERNS = {
    "dense": "no pruning",
    "unstructured": "magnitude pruning per layer (unstructured:global ranks all layers together)",
    "random": "uniformly random mask",
    "block:BHxBW": "BH x BW blocks of W ranked by L2 norm (e.g. block:4x4)",
    "nm:N:M": "at most N nonzeros per M consecutive weights along K (e.g. nm:2:4)",
    "channel": "whole output channels (rows of W) ranked by L2 norm",
    "balanced:G": "equal nonzeros in every group of G rows (e.g. balanced:16)",
}


@dataclass(frozen=True)
class Pattern:
    kind: str
    a: int = 0
    b: int = 0
    scope: str = "layer"

    @property
    def name(self) -> str:
        if self.kind == "block":
            return f"block:{self.a}x{self.b}"
        if self.kind == "nm":
            return f"nm:{self.a}:{self.b}"
        if self.kind == "balanced":
            return f"balanced:{self.a}"
        if self.kind == "unstructured" and self.scope == "global":
            return "unstructured:global"
        return self.kind

    @property
    def fixed_density(self) -> float | None:
        """The density a pattern imposes by itself (N:M), else None."""
        if self.kind == "nm":
            return self.a / self.b
        if self.kind == "dense":
            return 1.0
        return None


def parse_pattern(text: str) -> Pattern:
    t = str(text).strip().lower()
    if t in ("dense", "random", "channel", "unstructured"):
        return Pattern(t)
    if t == "unstructured:global":
        return Pattern("unstructured", scope="global")
    m = re.fullmatch(r"block:(\d+)x(\d+)", t)
    if m:
        bh, bw = int(m[1]), int(m[2])
        if bh < 1 or bw < 1:
            raise PatternError(f"pattern '{text}': block sides must be >= 1")
        return Pattern("block", bh, bw)
    m = re.fullmatch(r"nm:(\d+):(\d+)", t)
    if m:
        n, mm = int(m[1]), int(m[2])
        if mm < 1 or n < 1:
            raise PatternError(f"pattern '{text}': N and M must be >= 1")
        if n > mm:
            raise PatternError(f"pattern '{text}': N:M needs N <= M, got {n} > {mm}")
        return Pattern("nm", n, mm)
    m = re.fullmatch(r"balanced:(\d+)", t)
    if m:
        g = int(m[1])
        if g < 1:
            raise PatternError(f"pattern '{text}': group size must be >= 1")
        return Pattern("balanced", g)
    raise PatternError(f"unknown pattern '{text}' (known: {', '.join(PATTERNS)})")


def _keep_top(scores: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask keeping the *k* largest scores; among equal scores the lower index wins. O(n)."""
    flat = scores.ravel()
    n = flat.size
    k = int(min(max(k, 0), n))
    if k == n:
        return np.ones(scores.shape, dtype=bool)
    if k == 0:
        return np.zeros(scores.shape, dtype=bool)
    thr = np.partition(flat, n - k)[n - k]
    mask = flat > thr
    need = k - int(np.count_nonzero(mask))
    if need > 0:
        mask[np.flatnonzero(flat == thr)[:need]] = True
    return mask.reshape(scores.shape)


def _target(density: float, n: int) -> int:
    return int(round(density * n))


def prune(w: np.ndarray, pattern: Pattern, density: float, rng: np.random.Generator | None = None,
          inplace: bool = False) -> np.ndarray:
    """Return a pruned copy of *w* (``M x K``) at *density* under *pattern*; *inplace*: prune *w* itself
    where the pattern allows it (a fresh draw nobody else holds; the trace builder's)."""
    M, K = w.shape
    if pattern.kind == "dense" or (density >= 1.0 and pattern.kind != "nm"):
        return w if inplace else w.copy()
    if pattern.kind == "unstructured" and w.dtype == np.float32:   # the same mask as below, in O(n) streaming
        return zero_all_but_top_abs(w, _target(density, w.size), inplace=inplace and w.flags.c_contiguous)
    a = np.abs(w)
    if pattern.kind == "unstructured":
        mask = _keep_top(a, _target(density, w.size))
    elif pattern.kind == "random":
        rng = rng or np.random.default_rng(0)
        mask = np.zeros(w.size, dtype=bool)
        mask[rng.permutation(w.size)[:_target(density, w.size)]] = True
        mask = mask.reshape(w.shape)
    elif pattern.kind == "channel":
        rows = _keep_top(np.sqrt((w.astype(np.float64) ** 2).sum(axis=1)), _target(density, M))
        mask = np.repeat(rows[:, None], K, axis=1)
    elif pattern.kind == "block":
        bh, bw = pattern.a, pattern.b
        nbr, nbc = -(-M // bh), -(-K // bw)
        pad = np.zeros((nbr * bh, nbc * bw), dtype=np.float64)
        pad[:M, :K] = w
        norms = np.sqrt((pad.reshape(nbr, bh, nbc, bw) ** 2).sum(axis=(1, 3)))
        keep = _keep_top(norms, _target(density, nbr * nbc))
        mask = np.repeat(np.repeat(keep, bh, axis=0), bw, axis=1)[:M, :K]
    elif pattern.kind == "nm":
        # the n largest of each group of m along K, ties to the lower index (a tail group keeps min(n, len))
        mask = nm_mask(a, pattern.a, pattern.b)
    elif pattern.kind == "balanced":
        G = pattern.a
        mask = np.zeros_like(w, dtype=bool)
        for r0 in range(0, M, G):
            blk = a[r0:r0 + G]
            mask[r0:r0 + G] = _keep_top(blk, _target(density, blk.size))
    else:  # pragma: no cover - parse_pattern guards this
        raise PatternError(f"unknown pattern kind {pattern.kind}")
    out = np.where(mask, w, 0).astype(w.dtype, copy=False)
    return out


def global_threshold_densities(weights: dict[str, np.ndarray], density: float) -> dict[str, float]:
    """Per-layer densities that one global magnitude threshold gives (``unstructured:global``)."""
    if density >= 1.0:
        return {k: 1.0 for k in weights}
    allv = np.concatenate([np.abs(w).ravel() for w in weights.values()])
    k = _target(density, allv.size)
    if k == 0:
        return {n: 0.0 for n in weights}
    thr = np.partition(allv, allv.size - k)[allv.size - k]
    return {n: max(float((np.abs(w) >= thr).sum()) / w.size, 1.0 / w.size) for n, w in weights.items()}


def satisfies(w: np.ndarray, pattern: Pattern) -> bool:
    """Whether *w*'s zeros obey *pattern*'s structure (not its density)."""
    M, K = w.shape
    nz = w != 0
    if pattern.kind in ("dense", "unstructured", "random"):
        return True if pattern.kind != "dense" else bool(nz.all())
    if pattern.kind == "nm":
        n, m = pattern.a, pattern.b
        ng = -(-K // m)
        pad = np.zeros((M, ng * m), dtype=bool)
        pad[:, :K] = nz
        return bool((pad.reshape(M, ng, m).sum(axis=2) <= n).all())
    if pattern.kind == "channel":
        # every row either entirely pruned or entirely kept
        return bool((nz.all(axis=1) | ~nz.any(axis=1)).all())
    if pattern.kind == "block":
        # every block (edge blocks clipped) either entirely pruned or entirely kept
        bh, bw = pattern.a, pattern.b
        nbr, nbc = -(-M // bh), -(-K // bw)
        any_pad = np.zeros((nbr * bh, nbc * bw), dtype=bool)
        all_pad = np.ones((nbr * bh, nbc * bw), dtype=bool)
        any_pad[:M, :K] = nz
        all_pad[:M, :K] = nz
        b_any = any_pad.reshape(nbr, bh, nbc, bw).any(axis=(1, 3))
        b_all = all_pad.reshape(nbr, bh, nbc, bw).all(axis=(1, 3))
        return bool((b_any == b_all).all())
    if pattern.kind == "balanced":
        G = pattern.a
        full = (M // G) * G
        counts = nz[:full].reshape(-1, G * K).sum(axis=1) if full else np.array([])
        return len(set(counts.tolist())) <= 1
    return False


def detect_pattern(w: np.ndarray) -> str:
    """The most specific structure a weight matrix satisfies, for ``trace inspect``."""
    nz = w != 0
    if nz.all():
        return "dense"
    if not nz.any():
        return "empty"
    K = w.shape[1]
    for n, m in ((1, 4), (2, 4), (1, 8), (2, 8), (4, 8)):
        if K >= m and satisfies(w, Pattern("nm", n, m)):
            return f"nm:{n}:{m}"
    if satisfies(w, Pattern("channel")):
        return "channel"
    for bh, bw in ((16, 16), (8, 8), (4, 4), (2, 2)):
        if satisfies(w, Pattern("block", bh, bw)):
            return f"block:{bh}x{bw}"
    return "unstructured"
