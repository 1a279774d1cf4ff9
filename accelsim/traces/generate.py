"""Synthetic tensors: realistic weights and ReLU-like activations, all seeded.

Weights: a per-layer Gaussian or Laplace draw with He fan-in scaling
(std = sqrt(2 / K)), each output row scaled by a log-normal factor
(sigma 0.3) so that rows differ in magnitude as trained filters do; magnitude
pruning then leaves rows with unequal nonzero counts, which is where load
imbalance comes from in real pruned networks (Han et al., EIE, Sec. IV-B).

Activations: non-negative values (|N(0, 1)|, as after ReLU) with exactly
``round((1 - density) * n)`` zeros, placed uniformly at random (the smallest
of the i.i.d. draws are zeroed, as a ReLU cuts the smallest inputs) or, with
``clustered=True``, in spatial clusters: a smooth random field per channel
(noise at 1/4 resolution, upsampled) thresholded at the density's quantile,
so zeros come in patches as they do in real feature maps.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ._select import zero_all_but_top_abs


def layer_rng(seed: int, index: int, stream: int) -> np.random.Generator:
    """An independent generator per (seed, layer, purpose): layers are reproducible one at a time."""
    return np.random.default_rng([int(seed), int(index), int(stream)])


def make_weights(shape: tuple[int, int], rng: np.random.Generator, dist: str = "gaussian") -> np.ndarray:
    M, K = shape
    std = np.sqrt(2.0 / K)
    if dist == "laplace":
        w = rng.laplace(0.0, std / np.sqrt(2.0), size=(M, K)).astype(np.float32)
        _scale_rows(w, np.float32(1.0), rng.lognormal(0.0, 0.3, size=M).astype(np.float32), np.float32(std * 1e-3))
    else:
        w = rng.standard_normal((M, K), dtype=np.float32)
        _scale_rows(w, np.float32(std), rng.lognormal(0.0, 0.3, size=M).astype(np.float32),
                    np.float32(std * 1e-3))
    return w


@njit(cache=True, nogil=True)
def _scale_rows(w, std, row_scale, tiny):
    """``w = (w * std) * row_scale[row]`` in float32, in one pass; an exact zero becomes *tiny* (a continuous
    draw is never exactly zero in practice; this makes sure of it, so the density is exact)."""
    for r in range(w.shape[0]):
        f = row_scale[r]
        for c in range(w.shape[1]):
            v = (w[r, c] * std) * f
            w[r, c] = tiny if v == 0 else v


def make_activations(shape: tuple[int, ...], density: float, rng: np.random.Generator,
                     clustered: bool = False) -> np.ndarray:
    n = int(np.prod(shape))
    x = rng.standard_normal(n, dtype=np.float32)
    np.abs(x, out=x)
    x += np.float32(1e-3)
    n_zero = n - int(round(density * n))
    if n_zero <= 0:
        return x.reshape(shape)
    if clustered and len(shape) == 4:
        B, C, H, W = shape
        h4, w4 = -(-H // 4), -(-W // 4)
        coarse = rng.standard_normal((B, C, h4, w4), dtype=np.float32)
        field = np.repeat(np.repeat(coarse, 4, axis=2), 4, axis=3)[:, :, :H, :W]
        field = field + np.float32(0.25) * rng.standard_normal(shape, dtype=np.float32)
        order = np.argsort(field.ravel(), kind="stable")
        x[order[:n_zero]] = 0.0
        return x.reshape(shape)
    # the n_zero smallest of i.i.d. values are a uniformly random set of positions (as a ReLU zeroes the
    # smallest pre-activations); selected in O(n), where a permutation of 10 M positions took 0.4 s
    return zero_all_but_top_abs(x, n - n_zero, inplace=True).reshape(shape)
