"""Rows of a pruned weight matrix from its shape and density: what the Cambricon models' statistical mode
counts instead of a trace (memory O(rows); nothing of the layer's size is allocated).

A :class:`RowModel` holds, for one layer, each row's nonzero count (drawn with the layer's seed) and, for
groups of rows whose zeros are shared (a block pattern's block rows; otherwise single rows), the
probability that a window of ``w`` consecutive columns holds no nonzero. Under each pattern
(:mod:`accelsim.traces.stats`):

* ``unstructured`` (magnitude pruning): the trace generator scales each row of a Gaussian weight matrix by
  a log-normal factor (:func:`accelsim.traces.generate.make_weights`, sigma :data:`ROW_SCALE_SIGMA`), so one
  threshold over the layer keeps more of the large rows: row ``r`` keeps each weight with probability
  ``erfc(tau / (s_r sqrt 2))``, ``tau`` solving the layer's density over the drawn scales ``s_r``; its count
  is binomial. This spread is where Cambricon-X's load imbalance comes from (EIE, Sec. IV-B, makes the
  same observation of real pruned networks). ``balanced:G`` is taken the same way.
* ``random``: every row binomial at the layer's density.
* ``block:BHxBW``: blocks ranked by their L2 norm; a block row's squared norms are sums of ``BH x BW``
  scaled squared Gaussians, taken as a Gamma law with the same mean and variance (Wilson-Hilferty for its
  tail), one threshold over the layer; each block row's kept blocks are binomial.
* ``nm:N:M``: exactly N of every M along K; ``channel``: whole rows kept, chosen at random; ``dense``.

Zeros within a row are placed uniformly (given the row's count), so a gap-coded index stores the padding
entries :func:`expected_padding` gives for the row's density.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numba import njit

#: sigma of the per-row log-normal scale of the trace generator (accelsim.traces.generate.make_weights)
ROW_SCALE_SIGMA = 0.3


@njit(cache=True)
def tail_threshold(scales, density):
    """``tau`` with ``mean_r erfc(tau / (s_r sqrt 2)) = density``, by bisection."""
    lo, hi = 0.0, 40.0 * scales.max()
    for _ in range(56):
        mid = 0.5 * (lo + hi)
        acc = 0.0
        for s in scales:
            acc += math.erfc(mid / (s * math.sqrt(2.0)))
        if acc / scales.size > density:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@njit(cache=True)
def _wh_sf(t, mean, shape):
    """P(X > t) for a Gamma law of *mean* and *shape* (Wilson-Hilferty: (X/mean)^(1/3) is normal)."""
    v = 1.0 / (9.0 * shape)
    z = ((t / mean) ** (1.0 / 3.0) - (1.0 - v)) / math.sqrt(v)
    return 0.5 * math.erfc(z / math.sqrt(2.0))


@njit(cache=True)
def _gamma_keep(means, shapes, density):
    """Per block row the probability that a block is kept, one threshold over the layer."""
    lo, hi = 0.0, 50.0 * means.max()
    out = np.empty(means.size)
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        acc = 0.0
        for i in range(means.size):
            acc += _wh_sf(mid, means[i], shapes[i])
        if acc / means.size > density:
            lo = mid
        else:
            hi = mid
    t = 0.5 * (lo + hi)
    for i in range(means.size):
        out[i] = _wh_sf(t, means[i], shapes[i])
    return out


@njit(cache=True)
def _stream_pads(L, d, w, S):
    """Expected padding entries of a stream of *L* units (each *w* positions wide) kept with probability
    *d*, a kept unit after ``j`` empty units storing ``floor(j w / S)`` padding entries.

    The gap before unit ``i`` is ``j < i`` with probability ``q^j d`` and ``i`` (counted from the stream's
    start) with probability ``q^i``, ``q = 1 - d``; the unit itself is kept with probability ``d``.
    """
    if d <= 0.0 or d >= 1.0 or S <= 0 or L <= 1:
        return 0.0
    q = 1.0 - d
    acc = 0.0
    qj = 1.0
    for j in range(L):
        f = (j * w) // S
        if f > 0:
            acc += qj * f * (d * (L - 1 - j) + 1.0)
        qj *= q
        if qj < 1e-18:
            break
    return d * acc


@njit(cache=True)
def _stream_pads_each(L, ds, w, S):
    out = np.empty(ds.size)
    for i in range(ds.size):
        out[i] = _stream_pads(L, ds[i], w, S)
    return out


@functools.lru_cache(maxsize=4)
def scale_quantiles(n: int = 64) -> np.ndarray:
    """*n* midpoint quantiles of the row scales' log-normal law (a deterministic stand-in for draws)."""
    p = (np.arange(n) + 0.5) / n
    # inverse of Phi by bisection on erfc (64 points, 60 steps: exact to the float)
    lo, hi = np.full(n, -10.0), np.full(n, 10.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = 0.5 * _erfc_vec(-mid / math.sqrt(2.0)) < p
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.exp(ROW_SCALE_SIGMA * 0.5 * (lo + hi))


@njit(cache=True)
def _erfc_vec(x):
    out = np.empty(x.size)
    for i in range(x.size):
        out[i] = math.erfc(x[i])
    return out


@dataclass
class RowModel:
    """Rows of one layer (see the module docstring): ``nnz`` per row, ``group`` of each row (contiguous,
    non-decreasing), and per group the log-probability machinery of :meth:`log_empty`."""
    K: int
    nnz: np.ndarray
    group: np.ndarray
    kind: str
    #: block patterns: kept-block density of each group and the block width; other kinds: unused
    unit_density: np.ndarray
    unit: int = 1
    n: int = 0
    m: int = 0

    def log_empty(self, w: int) -> np.ndarray:
        """Per group: log P(a window of *w* consecutive columns holds no nonzero in any of its rows)."""
        with np.errstate(divide="ignore"):
            if self.kind == "iid":
                d = np.clip(self.nnz / max(self.K, 1), 0.0, 1.0)
                return w * np.log1p(-d)
            if self.kind == "block":
                return -(-w // self.unit) * np.log1p(-np.clip(self.unit_density, 0.0, 1.0))
            if self.kind == "nm":
                z = math.comb(self.m - w, self.n) / math.comb(self.m, self.n) if w < self.m else 0.0
                return np.full(self.group[-1] + 1, math.log(z) if z > 0 else -np.inf)
            if self.kind == "channel":
                return np.where(self.nnz > 0, -np.inf, 0.0)
            return np.full(self.group[-1] + 1, -np.inf)   # dense

    def empty_prob(self, starts: np.ndarray, stops: np.ndarray, w: int) -> np.ndarray:
        """P(a window of *w* columns holds no nonzero in rows ``starts[i] .. stops[i] - 1``), for every i:
        the product over the row groups those rows touch."""
        le = self.log_empty(w)
        c = np.concatenate(([0.0], np.cumsum(np.where(np.isfinite(le), le, 0.0))))
        inf = np.concatenate(([0], np.cumsum(~np.isfinite(le))))
        g0, g1 = self.group[starts], self.group[stops - 1] + 1
        return np.where(inf[g1] - inf[g0] > 0, 0.0, np.exp(c[g1] - c[g0]))


def row_model(ls, rng: np.random.Generator) -> RowModel:
    """The rows of *ls* (a :class:`~accelsim.traces.stats.LayerStats`) under its pattern and density."""
    lay, pat, d = ls.layer, ls.pattern, float(ls.weight_density)
    M, K = lay.M, lay.K
    rows = np.arange(M, dtype=np.int64)
    none = np.zeros(0)
    if pat.kind == "dense" or d >= 1.0:
        return RowModel(K, np.full(M, K, dtype=np.int64), rows, "dense", none)
    if pat.kind == "nm":
        n, m = pat.a, pat.b
        per = (K // m) * n + min(n, K % m)
        return RowModel(K, np.full(M, per, dtype=np.int64), rows, "nm", none, n=n, m=m)
    if pat.kind == "channel":
        nnz = np.zeros(M, dtype=np.int64)
        nnz[rng.permutation(M)[:int(round(d * M))]] = K
        return RowModel(K, nnz, rows, "channel", none)
    if pat.kind == "block":
        bh, bw = pat.a, pat.b
        nbr, nbc = -(-M // bh), -(-K // bw)
        s2 = rng.lognormal(0.0, ROW_SCALE_SIGMA, M) ** 2
        pad = np.zeros(nbr * bh)
        pad[:M] = s2
        per = pad.reshape(nbr, bh)
        # squared block norm: sum over the block's rows of s_r^2 times a chi-square of BW degrees of freedom
        means = bw * per.sum(axis=1)
        shapes = means ** 2 / np.maximum(2.0 * bw * (per ** 2).sum(axis=1), 1e-300)
        keep = _gamma_keep(means, shapes, d)
        kept = rng.binomial(nbc, keep)
        group = rows // bh
        nnz = np.minimum(np.rint(kept[group] * (K / nbc)).astype(np.int64), K)
        return RowModel(K, nnz, group, "block", kept / nbc, unit=bw)
    if pat.kind == "random":
        dr = np.full(M, d)
    else:   # unstructured (and balanced): one magnitude threshold over rows of unequal scale
        s = rng.lognormal(0.0, ROW_SCALE_SIGMA, M)
        tau = tail_threshold(s, d)
        dr = keep_probability(tau, s)
    return RowModel(K, rng.binomial(K, np.clip(dr, 0.0, 1.0)).astype(np.int64), rows, "iid", none)


@njit(cache=True)
def keep_probability(tau, s):
    """``P(|s z| > tau)`` for a standard normal ``z``, for every scale in *s*."""
    out = np.empty(s.size)
    for i in range(s.size):
        out[i] = math.erfc(tau / (s[i] * math.sqrt(2.0)))
    return out


def expected_padding(model: RowModel, span: int) -> np.ndarray:
    """Expected padding entries of each row stream of *model* when one stored entry covers at most *span*
    positions (0: no padding). Rows with the same count share one evaluation."""
    M = model.nnz.size
    if span <= 0 or model.kind in ("dense", "channel"):
        return np.zeros(M)
    if model.kind == "nm" and 2 * (model.m - model.n) < span:
        return np.zeros(M)       # an N:M row never leaves a gap of span zeros
    unit = model.unit if model.kind == "block" else 1
    L = -(-model.K // unit)
    vals, inv = np.unique(model.nnz, return_inverse=True)
    return _stream_pads_each(L, np.minimum(vals / model.K, 1.0), unit, span)[inv]
