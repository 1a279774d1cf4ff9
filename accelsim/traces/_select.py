"""Selection kernels of the pruners and the activation generator.

Keep the *k* largest magnitudes of a float32 tensor in O(n), by a two-pass radix select on the float bits.
Magnitude pruning and activation zeroing both ask "which k entries are the largest?". ``np.partition`` answers
it in O(n) too, but with a random-access introselect over a copy of ``|w|``; for float32, a non-negative value's
bit pattern orders like the value, so two histogram passes (the top 16 bits, then the low 16 bits inside the one
top bin that holds the threshold) find the k-th largest magnitude exactly, streaming the tensor in memory order.
The mask is the one :func:`accelsim.traces.pruners._keep_top` gives for ``np.abs(w)``: every magnitude above the
threshold, then entries equal to it by position until k are kept (tested against it).

N:M pruning (:func:`nm_mask`): the *n* largest of every group of *m* along a row, in one pass.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _threshold(bits, k):
    """``(t, need)``: the k-th largest magnitude's bits, and how many entries equal to it are kept (0 < k < n)."""
    hist = np.zeros(65536, dtype=np.int64)
    for i in range(bits.size):
        hist[(bits[i] & 0x7FFFFFFF) >> 16] += 1
    above = 0   # entries in bins above the threshold's bin
    hi = 65535
    while above + hist[hi] < k:
        above += hist[hi]
        hi -= 1
    hist[:] = 0
    for i in range(bits.size):
        b = bits[i] & 0x7FFFFFFF
        if (b >> 16) == hi:
            hist[b & 0xFFFF] += 1
    lo = 65535
    while above + hist[lo] < k:
        above += hist[lo]
        lo -= 1
    return (np.uint32(hi) << 16) | np.uint32(lo), k - above


@njit(cache=True, nogil=True)
def _keep(bits, t, need, out):
    """``out[i] = bits[i]`` for the kept entries (above *t*, or the first *need* equal to it), else 0 (the
    float bits of +0.0). Works on the bits alone, so in place (*out* is *bits*) is one array of one type
    (measured: an in-place pass through float and integer views of one buffer ran 6-10x slower).

    Two passes, so that the first has no data-dependent branch (kept entries are random: a branch on them is
    mispredicted half the time): keep everything at or above *t*, then drop the equal ones beyond the first
    *need* (in place the second pass still reads the ties' bits: they were kept)."""
    for i in range(bits.size):
        b = bits[i]
        out[i] = b if (b & 0x7FFFFFFF) >= t else 0
    _drop_extra_ties(bits, t, need, out)


@njit(cache=True, nogil=True)
def _drop_extra_ties(bits, t, need, out):
    for i in range(bits.size):
        if (bits[i] & 0x7FFFFFFF) == t:
            if need > 0:
                need -= 1
            else:
                out[i] = 0


def zero_all_but_top_abs(x: np.ndarray, k: int, inplace: bool = False) -> np.ndarray:
    """A float32 copy of *x* keeping its *k* largest magnitudes (ties: the lower index wins), zero elsewhere;
    *inplace*: zero *x* itself (a contiguous float32 array nobody else needs) and return it."""
    if inplace and not (x.dtype == np.float32 and x.flags.c_contiguous):
        raise ValueError("inplace selection needs a contiguous float32 array")
    flat = x.reshape(-1) if inplace else np.ascontiguousarray(x, dtype=np.float32).reshape(-1)
    k = int(min(max(k, 0), flat.size))
    if k in (0, flat.size):
        if not inplace:
            return flat.reshape(x.shape).copy() if k else np.zeros(x.shape, np.float32)
        if k == 0:
            flat.fill(0.0)
        return x
    bits = flat.view(np.uint32)
    t, need = _threshold(bits, k)
    out = flat if inplace else np.empty(flat.size, dtype=np.float32)
    _keep(bits, t, need, out.view(np.uint32))
    return x if inplace else out.reshape(x.shape)


@njit(cache=True, nogil=True)
def _nm_mask(a, n, m):
    """Keep the *n* largest of every *m* consecutive entries of each row of *a* (magnitudes); a tail group
    shorter than *m* keeps ``min(n, len)``; ties: the lower index wins (an entry's rank is the number of
    entries of its group that are larger, or equal and earlier)."""
    rows, cols = a.shape
    out = np.zeros((rows, cols), dtype=np.bool_)
    for r in range(rows):
        for g0 in range(0, cols, m):
            g1 = min(g0 + m, cols)
            for i in range(g0, g1):
                rank = 0
                for j in range(g0, g1):
                    if a[r, j] > a[r, i] or (a[r, j] == a[r, i] and j < i):
                        rank += 1
                out[r, i] = rank < n
    return out


def nm_mask(magnitudes: np.ndarray, n: int, m: int) -> np.ndarray:
    """Boolean mask of N:M pruning along the rows of ``|w|`` (``M x K``, groups along K)."""
    return _nm_mask(np.ascontiguousarray(magnitudes), int(n), int(m))
