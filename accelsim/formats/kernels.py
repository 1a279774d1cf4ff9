"""Numba kernels over nonzero masks: the hot loops of ``Format.measure``.

Each kernel does array work only; shapes and parameters are checked by the
Python code that calls it. Masks are 2-D boolean arrays; rows are walked in
memory order (a column-order stream keeps per-column state instead of
transposing the matrix).
"""
from __future__ import annotations

import numpy as np
from numba import njit


def stream_padding(mask, span: int, reset: bool, columns: bool = False) -> tuple[int, int]:
    """``(nnz, pads)`` of the row streams (or, with *columns*, the column streams) of a 2-D mask;
    picks the branch-free kernel where the density makes branches mispredict, and the word-at-a-time
    kernel for one flat stream of a boolean mask."""
    if columns:
        nnz, pads = col_stream_padding(mask, span, reset)
        return int(nnz), int(pads)
    if (not reset or mask.shape[0] == 1) and span >= WORD_MIN_SPAN and mask.dtype == np.bool_ \
            and mask.flags.c_contiguous:
        nnz, pads = flat_stream_padding(mask, span)
        return int(nnz), int(pads)
    dense = np.count_nonzero(mask) > 0.2 * mask.size
    nnz, pads = (row_stream_padding_dense if dense else row_stream_padding)(mask, span, reset)
    return int(nnz), int(pads)


@njit(cache=True)
def row_stream_padding(mask, span, reset):
    """``(nnz, pads)`` of a row-major stream: a nonzero after ``g`` zeros needs ``g // span`` padding
    entries. ``reset``: every row is its own stream (CSR with relative indices); else one flat stream."""
    rows, cols = mask.shape
    nnz = 0
    pads = 0
    last = -1
    for i in range(rows):
        if reset:
            last = -1
            base = 0
        else:
            base = i * cols
        for j in range(cols):
            if mask[i, j]:
                pos = base + j
                pads += (pos - last - 1) // span
                last = pos
                nnz += 1
    return nnz, pads


@njit(inline="always")
def _pad_step(m, cnt, pend, span):
    """One element of a gap-coded stream, without branches: ``m`` is 1 for a nonzero. Returns the zero
    counter (wrapping at *span*), the wraps pending since the last nonzero, and the padding entries this
    element stores (the pending wraps, when it is a nonzero)."""
    z = 1 - m
    cnt = (cnt + z) * z
    w = np.int64(cnt == span)
    pend += w
    cnt -= w * span
    pads = pend * m
    return cnt, pend * z, pads


#: the word-at-a-time kernels need a span of at least 7: no gap inside an 8-byte word can then need padding
WORD_MIN_SPAN = 7
_BYTE_ONES = np.uint64(0x0101010101010101)


@njit(inline="always")
def _first_byte(x):
    """Index of the lowest nonzero byte of a nonzero word."""
    i = 0
    while (x >> np.uint64(8 * i)) & np.uint64(0xFF) == 0:
        i += 1
    return i


@njit(inline="always")
def _last_byte(x):
    """Index of the highest nonzero byte of a nonzero word."""
    i = 7
    while (x >> np.uint64(8 * i)) & np.uint64(0xFF) == 0:
        i -= 1
    return i


@njit(cache=True)
def _scan_words(words, base, span, lw, lpos):
    """Gap-coded accounting of a stream of 0/1 bytes read eight at a time (``span >= WORD_MIN_SPAN``).

    ``words[i]`` holds the stream's positions ``base + 8 i .. base + 8 i + 7``; ``lw`` is the last nonzero
    word before them and ``lpos`` its first position (``lw = 1 << 56, lpos = -8``: a virtual nonzero at
    position -1, the stream's start). A gap inside a word is at most 6 < span, so only the gap from the
    last nonzero of one word to the first nonzero of the next nonzero word can need padding, and only
    when a zero word lies between them (or the span is under 15): those few are measured byte by byte.
    Returns ``(nnz, pads, lw, lpos)``, the last two to continue the stream."""
    nnz = 0
    pads = 0
    for i in range(words.size):
        x = words[i]
        if x == 0:
            continue
        nnz += np.int64((x * _BYTE_ONES) >> np.uint64(56))     # bytes are 0 or 1: their sum in the top byte
        pos = base + 8 * i
        if pos + 6 - lpos >= span:                      # the longest gap these two words allow
            gap = pos + _first_byte(x) - (lpos + _last_byte(lw)) - 1
            pads += gap // span
        lw = x
        lpos = pos
    return nnz, pads, lw, lpos


@njit(cache=True)
def flat_stream_padding(mask, span):
    """``(nnz, pads)`` of the flat C-order stream of a contiguous boolean mask, as
    :func:`row_stream_padding` with ``reset=False``, eight positions at a time (:func:`_scan_words`;
    ``span >= WORD_MIN_SPAN``)."""
    flat = mask.reshape(-1)
    n = flat.size
    nw = n // 8
    nnz, pads, lw, lpos = _scan_words(flat[:nw * 8].view(np.uint64), 0, span, np.uint64(1) << np.uint64(56), -8)
    last = lpos + _last_byte(lw)
    for j in range(nw * 8, n):                          # the last few positions
        if flat[j]:
            pads += (j - last - 1) // span
            last = j
            nnz += 1
    return nnz, pads


@njit(cache=True)
def row_stream_padding_dense(mask, span, reset):
    """:func:`row_stream_padding` without data-dependent branches (faster above ~20% density, where
    the branch on each element mispredicts): a zero counter that wraps at *span*, and the wraps
    pending since the last nonzero."""
    rows, cols = mask.shape
    nnz = 0
    pads = 0
    cnt = 0
    pend = 0
    for i in range(rows):
        if reset:
            cnt = 0
            pend = 0
        for j in range(cols):
            m = np.int64(mask[i, j])
            cnt, pend, p = _pad_step(m, cnt, pend, span)
            pads += p
            nnz += m
    return nnz, pads


@njit(cache=True)
def tile_stream_padding(mask, yb, xb, span):
    """``(nnz, pads)`` of every planar tile of a ``(B, C, H, W)`` mask, each tile ``[:, yb[i]:yb[i+1],
    xb[j]:xb[j+1]]`` one row-major stream (channel, row, column): ``out[b, i * nx + j]``. The same
    accounting as :func:`row_stream_padding_dense` on each tile, without slicing them: each tile's stream
    gathered into one buffer of bytes and scanned a word at a time (:func:`_scan_words`); tiles under
    three columns wide on average (their rows are too short to gather cheaply), or spans under
    ``WORD_MIN_SPAN``, stepped position by position."""
    B, C, W = mask.shape[0], mask.shape[1], mask.shape[3]
    ny, nx = yb.size - 1, xb.size - 1
    out = np.zeros((B, ny * nx, 2), np.int64)
    if span < WORD_MIN_SPAN or W < 3 * nx:
        return _tile_stream_steps(mask, yb, xb, span, out)
    H = mask.shape[2]
    flat = mask.reshape(-1)
    most = 0
    for i in range(ny):
        for j in range(nx):
            most = max(most, C * (yb[i + 1] - yb[i]) * (xb[j + 1] - xb[j]))
    buf = np.zeros((most // 8 + 2) * 8, np.uint8)
    words = buf.view(np.uint64)
    for b in range(B):
        for i in range(ny):
            for j in range(nx):
                x0 = xb[j]
                tw = xb[j + 1] - x0
                n = 0
                for c in range(C):
                    for y in range(yb[i], yb[i + 1]):
                        at = ((b * C + c) * H + y) * W + x0
                        if tw <= 8 and at + 8 <= flat.size:      # eight at once (a literal count: unrolled);
                            for k in range(8):                     # the extra ones are overwritten or unread
                                buf[n + k] = flat[at + k] != 0
                        else:
                            for k in range(tw):
                                buf[n + k] = flat[at + k] != 0
                        n += tw
                nw = (n + 7) // 8
                for k in range(n, nw * 8):                # zeros after the tile's stream
                    buf[k] = 0
                nnz, pads, _, _ = _scan_words(words[:nw], 0, span, np.uint64(1) << np.uint64(56), -8)
                out[b, i * nx + j, 0] = nnz
                out[b, i * nx + j, 1] = pads
    return out


@njit(cache=True)
def _tile_stream_steps(mask, yb, xb, span, out):
    """:func:`tile_stream_padding` position by position (:func:`_pad_step`), for any span."""
    B, C = mask.shape[0], mask.shape[1]
    ny, nx = yb.size - 1, xb.size - 1
    for b in range(B):
        for i in range(ny):
            for j in range(nx):
                nnz = 0
                pads = 0
                cnt = 0
                pend = 0
                for c in range(C):
                    for y in range(yb[i], yb[i + 1]):
                        for x in range(xb[j], xb[j + 1]):
                            m = np.int64(mask[b, c, y, x])
                            cnt, pend, p = _pad_step(m, cnt, pend, span)
                            pads += p
                            nnz += m
                out[b, i * nx + j, 0] = nnz
                out[b, i * nx + j, 1] = pads
    return out


@njit(cache=True)
def row_stream_entries(mask, span):
    """Stored entries of every row stream of *mask* (each row its own stream): its nonzeros plus
    ``gap // span`` padding entries before a nonzero that follows ``gap`` zeros (span 0: no padding)."""
    rows, cols = mask.shape
    out = np.zeros(rows, np.int64)
    for i in range(rows):
        e = 0
        if span <= 0:
            for j in range(cols):
                e += mask[i, j]
        else:
            cnt = 0
            pend = 0
            for j in range(cols):
                m = np.int64(mask[i, j])
                cnt, pend, p = _pad_step(m, cnt, pend, span)
                e += m + p
        out[i] = e
    return out


@njit(cache=True)
def col_stream_padding(mask, span, reset):
    """As :func:`row_stream_padding` for column-major streams (CSC with relative indices,
    column-order run-length), walking the matrix in row-major memory order with per-column
    state and no data-dependent branches (the inner loop vectorizes across columns)."""
    rows, cols = mask.shape
    cnt = np.zeros(cols, np.int64)
    pend = np.zeros(cols, np.int64)
    seen = np.zeros(cols, np.int64)
    first = np.full(cols, -1, np.int64)
    last = np.full(cols, -1, np.int64)
    nnz = 0
    pads = 0
    for i in range(rows):
        for j in range(cols):
            m = np.int64(mask[i, j])
            z = 1 - m
            c = (cnt[j] + z) * z
            w = np.int64(c == span)
            p = pend[j] + w
            cnt[j] = c - w * span
            pads += p * m * seen[j]          # gaps inside the column; the first one is added below
            pend[j] = p * z
            first[j] += (i - first[j]) * (m * (1 - seen[j]))
            last[j] += (i - last[j]) * m
            seen[j] |= m
            nnz += m
    prev = -1  # column-major position of the previous nonzero in the flat stream
    for j in range(cols):
        if seen[j]:
            if reset:
                gap = first[j]
            else:
                gap = j * rows + first[j] - prev - 1
            pads += gap // span
            prev = j * rows + last[j]
    return nnz, pads


@njit(cache=True)
def block_occupancy(mask, bh, bw):
    """Boolean ``(ceil(R/bh), ceil(C/bw))``: which blocks hold a nonzero."""
    rows, cols = mask.shape
    nbr = (rows + bh - 1) // bh
    nbc = (cols + bw - 1) // bw
    occ = np.zeros((nbr, nbc), np.bool_)
    # branch-free inner loops (they vectorize); early exits on random masks were mispredicted, 3x slower
    if bw == 1:
        for i in range(rows):
            o = occ[i // bh]
            for j in range(cols):
                o[j] |= mask[i, j]
        return occ
    for i in range(rows):
        o = occ[i // bh]
        for bj in range(nbc):
            any_nz = False
            for j in range(bj * bw, min(cols, bj * bw + bw)):
                any_nz |= mask[i, j]
            o[bj] |= any_nz
    return occ


@njit(cache=True)
def group_counts(mask, m, n):
    """N:M groups of *m* along each row: ``(nnz, groups, first group with more than n nonzeros or -1,
    its count)``; stops at the first such group."""
    rows, cols = mask.shape
    ng = (cols + m - 1) // m
    nnz = 0
    bad = -1
    bad_count = 0
    for i in range(rows):
        for g in range(ng):
            c = 0
            stop = min(cols, (g + 1) * m)
            for j in range(g * m, stop):
                if mask[i, j]:
                    c += 1
            nnz += c
            if c > n:
                return nnz, rows * ng, i * ng + g, c
    return nnz, rows * ng, bad, bad_count


@njit(cache=True)
def stride_segments(pos, max_stride, max_count):
    """Greedy arithmetic-progression segments over sorted positions *pos*.

    A segment starts at a position, takes the next one to fix its stride (if that stride is at
    most *max_stride* and *max_count* >= 2) and extends while the next position continues the
    progression and the count stays <= *max_count*. Returns ``(offsets, strides, counts)``; a
    one-element segment has stride 0.
    """
    n = pos.size
    offsets = np.empty(n, np.int64)
    strides = np.empty(n, np.int64)
    counts = np.empty(n, np.int64)
    s = 0
    i = 0
    while i < n:
        start = pos[i]
        c = 1
        stride = 0
        if i + 1 < n and max_count >= 2:
            d = pos[i + 1] - start
            if d <= max_stride:
                stride = d
                c = 2
                while i + c < n and c < max_count and pos[i + c] - pos[i + c - 1] == stride:
                    c += 1
        offsets[s] = start
        strides[s] = stride
        counts[s] = c
        s += 1
        i += c
    return offsets[:s], strides[:s], counts[:s]
