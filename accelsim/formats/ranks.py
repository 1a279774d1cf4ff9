"""Per-rank formats composed into a tensor format, in Sparseloop's vocabulary.

Sparseloop (Wu et al., MICRO 2022, Sec. III-B, after the fibertree notation
of Sze et al., "Efficient Processing of Deep Neural Networks", 2020) describes
a compressed tensor as a list of per-rank formats, outermost rank first. A
tensor of shape ``(d0, d1, ...)`` is a tree of fibers: the root fiber has
``d0`` coordinates, each present coordinate holds a fiber of ``d1``
coordinates, and so on down to the values. Each rank stores its fibers as:

``U``    uncompressed: every coordinate present, no metadata.
``UOP``  uncompressed offset pairs: every coordinate present, plus ``d + 1``
         offsets per fiber into the next rank's storage (CSR's row pointers),
         ``ceil(log2(entries below + 1))`` bits each unless a width is given.
``B``    bitmap: one bit per coordinate; only nonempty coordinates present.
``CP``   coordinate payload: each nonempty coordinate in ``ceil(log2 d)`` bits.
``RLE``  run-length: each nonempty coordinate as the run of empty ones before
         it. At the innermost rank a gap longer than ``2**bits - 1`` inserts
         padding entries (a zero value with the maximal run), as EIE does
         (default 4 bits); an inner RLE rank must cover its fiber (default
         ``ceil(log2 d)`` bits), since a padding entry there would point to an
         empty sub-fiber.

A bit width may follow the name: ``RLE4``, ``CP8``, ``UOP16``. Classic formats:
``[U, U]`` dense, ``[B]`` bitmap, ``[CP]`` COO (flat offsets), ``[UOP, CP]``
CSR, ``[UOP, RLE4]`` with ``order=col`` EIE's CSC with 4-bit relative
indices, ``[B, B]`` a two-level bitmap, ``[RLE4]`` SCNN's zero-run stream.

Ranks and tensor axes: one rank flattens the tensor; two ranks take its
matrix view (last axis as columns); ``k`` ranks for a rank-``k`` tensor take
it as it is. ``order="col"`` reverses the axes (two ranks over a matrix:
columns outermost, as CSC).

Where this departs from Sparseloop: Sparseloop counts no fiber lengths for
``CP`` and ``RLE`` fibers, which is enough for traffic estimates but not for
decoding. Here a CP or RLE fiber whose parent rank is not ``UOP`` (and is not
the root, whose length is the length of its array) stores its entry count in
``ceil(log2(d + 1))`` bits, so every composition decodes from what it
stores. ``UOP`` cannot be the innermost rank (it points into a rank below).

Expected size: a prefix at rank ``L`` is nonempty with probability
``1 - (1-d)^(elements below it)``, and the padding of an innermost RLE fiber
is :func:`accelsim.formats.base.expected_padding`.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import FormatError
from .base import Encoded, Expected, Format, expected_padding, index_bits, register
from .kernels import stream_padding
from .rle import gap_encode, interleave_padding

RANK_KINDS = ("U", "UOP", "B", "CP", "RLE")
_TOKEN = re.compile(r"^(UOP|U|B|CP|RLE)(\d+)?$", re.IGNORECASE)
_COUNTED = ("CP", "RLE")


@dataclass(frozen=True)
class Rank:
    kind: str
    bits: int | None = None

    def __str__(self) -> str:
        return f"{self.kind}{self.bits if self.bits is not None else ''}"


def is_rank_token(text: str) -> bool:
    return bool(_TOKEN.match(text.strip()))


def parse_ranks(spec: str | list | tuple) -> tuple[Rank, ...]:
    """``"UOP,RLE4"`` or ``["UOP", "RLE4"]`` -> ranks, outermost first, checked."""
    if isinstance(spec, str):
        tokens = [s for s in re.split(r"[\s,\-]+", spec.strip().strip("[]")) if s]
    elif isinstance(spec, (list, tuple)):
        tokens = [str(s).strip() for s in spec]
    else:
        raise FormatError(f"ranks must be a list such as [UOP, CP], got {spec!r}")
    if not tokens:
        raise FormatError("ranks: give at least one rank format (U, UOP, B, CP or RLE)")
    out = []
    for tok in tokens:
        m = _TOKEN.match(tok)
        if not m:
            raise FormatError(f"ranks: unknown rank format '{tok}' (known: {', '.join(RANK_KINDS)}, "
                              "with an optional bit width such as RLE4)")
        kind, bits = m.group(1).upper(), m.group(2)
        if bits is not None:
            if kind in ("U", "B"):
                raise FormatError(f"ranks: {kind} takes no bit width, got '{tok}'")
            bits = int(bits)
            if not 1 <= bits <= 62:
                raise FormatError(f"ranks: the width of '{tok}' must be in 1..62")
        out.append(Rank(kind, bits))
    if out[-1].kind == "UOP":
        raise FormatError("ranks: UOP cannot be the innermost rank (its offsets point into a rank below); use U")
    return tuple(out)


@dataclass
class RanksParams:
    ranks: str | list[str] = "UOP,CP"
    value_bits: int = dataclasses.field(default=16, metadata={"min": 1, "max": 64})
    order: Literal["row", "col"] = "row"

    def validate(self):
        self.ranks = ",".join(str(r) for r in parse_ranks(self.ranks))


@dataclass
class _Counts:
    """Per-rank totals from which the bits follow: fibers present, entries stored."""
    fibers: list[int | float]
    entries: list[int | float]
    nnz: int | float
    pads: int | float


@register
class Ranks(Format):
    name = "ranks"
    description = "per-rank composition in Sparseloop's words, e.g. UOP,CP (CSR) or UOP,RLE4 (EIE)"
    Params = RanksParams

    @property
    def ranks(self) -> tuple[Rank, ...]:
        return parse_ranks(self.p.ranks)

    # -- the view of the tensor that the ranks walk -------------------------------------
    def _view_dims(self, shape) -> tuple[int, ...]:
        k = len(self.ranks)
        if k == 1:
            return (int(np.prod(shape)),)
        if k == 2:
            r, c = self.matrix_shape(shape)
            return (c, r) if self.p.order == "col" else (r, c)
        if k == len(shape):
            return tuple(reversed(shape)) if self.p.order == "col" else tuple(shape)
        fits = sorted({1, 2, len(shape)})
        raise FormatError(f"ranks: {k} ranks do not fit a tensor of rank {len(shape)}; give "
                          + " or ".join(map(str, fits)) + " ranks")

    def _view(self, t):
        k = len(self.ranks)
        self._view_dims(t.shape)
        if k <= 2:
            m = self.as_matrix(t)
            v = m.T if self.p.order == "col" else m
            return v.ravel() if k == 1 else v
        return t.transpose(tuple(reversed(range(t.ndim)))) if self.p.order == "col" else t

    def _unview(self, flat, shape):
        dims = self._view_dims(shape)
        v = flat.reshape(dims)
        k = len(self.ranks)
        if self.p.order == "col":
            if k <= 2:
                r, c = self.matrix_shape(shape)
                v = v.reshape(c, r).T
            else:
                v = v.transpose(tuple(reversed(range(v.ndim))))
        return np.ascontiguousarray(v).reshape(shape)

    # -- widths ---------------------------------------------------------------------------
    def _needs_counts(self, L: int) -> bool:
        ranks = self.ranks
        return L > 0 and ranks[L].kind in _COUNTED and ranks[L - 1].kind != "UOP"

    def _width(self, L: int, d: int, below: int) -> int:
        """Metadata bits per item at rank *L* (fiber length *d*; *below*: entries at rank L+1)."""
        r = self.ranks[L]
        leaf = L == len(self.ranks) - 1
        if r.kind == "CP":
            need = index_bits(d)
            if r.bits is not None and r.bits < need:
                raise FormatError(f"ranks: rank {L} ({r}) cannot name {d} coordinates (need {need} bits)")
            return r.bits or need
        if r.kind == "RLE":
            if leaf:
                return r.bits or 4
            need = index_bits(d)
            if r.bits is not None and r.bits < need:
                raise FormatError(f"ranks: rank {L} ({r}) must cover its {d} coordinates without padding "
                                  f"(need {need} bits); padding is allowed only at the innermost rank")
            return r.bits or need
        if r.kind == "UOP":
            need = index_bits(int(round(below)) + 1)
            if r.bits is not None and r.bits < need:
                raise FormatError(f"ranks: rank {L} ({r}) cannot count {int(below)} entries (need {need} bits)")
            return r.bits or need
        return 1 if r.kind == "B" else 0

    def _account(self, shape, c: _Counts, cls=Encoded):
        dims = self._view_dims(shape)
        ranks = self.ranks
        k = len(ranks)
        meta = {}
        for L, (r, d) in enumerate(zip(ranks, dims)):
            below = c.entries[L + 1] if L + 1 < k else 0
            w = self._width(L, d, below)
            if r.kind == "UOP":
                bits = c.fibers[L] * (d + 1) * w
            elif r.kind == "B":
                bits = c.fibers[L] * d
            elif r.kind in _COUNTED:
                bits = c.entries[L] * w
            else:
                bits = 0
            if bits:
                meta[f"rank{L}_{r.kind}"] = bits
            if self._needs_counts(L):
                meta[f"rank{L}_counts"] = c.fibers[L] * index_bits(d + 1)
        values = c.entries[-1]
        total_meta = sum(meta.values()) if meta else 0
        if cls is Encoded:
            meta = {kk: int(v) for kk, v in meta.items()}
            return Encoded(self.name, tuple(shape), int(c.nnz), int(values) * self.p.value_bits, int(total_meta),
                           int(values - c.nnz), breakdown=meta)
        return Expected(self.name, tuple(shape), float(c.nnz), float(values) * self.p.value_bits, float(total_meta),
                        float(values - c.nnz), breakdown={kk: float(v) for kk, v in meta.items()})

    def _counts(self, dims, occupied, nnz, pads) -> _Counts:
        """Fibers and entries per rank from the number of nonempty prefixes of each length."""
        fibers, entries = [1], []
        for L, (r, d) in enumerate(zip(self.ranks, dims)):
            leaf = L == len(dims) - 1
            if r.kind in ("U", "UOP"):
                e = fibers[L] * d
            else:
                e = nnz + (pads if r.kind == "RLE" else 0) if leaf else occupied[L]
            entries.append(e)
            if not leaf:
                fibers.append(e)
        return _Counts(fibers, entries, nnz, pads)

    # -- measure -----------------------------------------------------------------------
    def _leaf_padding(self, mask) -> int:
        r = self.ranks[-1]
        if r.kind != "RLE":
            return 0
        span = 1 << self._width(len(self.ranks) - 1, 1, 0)
        k = len(self.ranks)
        if k <= 2:
            m = np.ascontiguousarray(self.as_matrix(mask))
            return stream_padding(m, span, k == 2, columns=self.p.order == "col")[1]
        v = np.ascontiguousarray(self._view(mask))
        return stream_padding(v.reshape(-1, v.shape[-1]), span, True)[1]

    def _measure(self, mask):
        dims = self._view_dims(mask.shape)
        k = len(dims)
        v = self._view(mask)
        occupied = []
        for L in range(k - 1):
            occupied.append(int(np.count_nonzero(v.any(axis=tuple(range(L + 1, k))))))
        nnz = int(np.count_nonzero(mask))
        return self._account(mask.shape, self._counts(dims, occupied, nnz, self._leaf_padding(mask)))

    # -- encode / decode -----------------------------------------------------------------
    def _encode(self, t):
        dims = self._view_dims(t.shape)
        k = len(dims)
        ranks = self.ranks
        vals = np.ascontiguousarray(self._view(t)).ravel()
        nz = vals != 0
        present = np.zeros(1, dtype=np.int64)
        per_fiber: list[np.ndarray] = []
        levels: list[dict] = []
        leaf_codes = leaf_pads = None
        for L, (r, d) in enumerate(zip(ranks, dims)):
            leaf = L == k - 1
            F = present.size
            occ = nz if leaf else nz.reshape(-1, int(np.prod(dims[L + 1:]))).any(axis=1)
            lev: dict = {}
            if r.kind in ("U", "UOP"):
                children = (present[:, None] * d + np.arange(d)).ravel()
                counts = np.full(F, d, dtype=np.int64)
            else:
                children = np.flatnonzero(occ).astype(np.int64)   # every nonempty prefix lies under a present one
                fiber_idx = np.searchsorted(present, children // d)
                counts = np.bincount(fiber_idx, minlength=F).astype(np.int64)
                coord = children % d
                if r.kind == "B":
                    lev["bitmap"] = occ.reshape(-1, d)[present].ravel()
                elif r.kind == "CP":
                    lev["coords"] = coord
                else:
                    first = np.ones(coord.size, dtype=bool)
                    first[1:] = fiber_idx[1:] != fiber_idx[:-1]
                    prev = np.concatenate(([-1], coord[:-1]))
                    gaps = np.where(first, coord, coord - prev - 1)
                    span = 1 << self._width(L, d, 0)
                    codes, pads = gap_encode(gaps, span)
                    if leaf:
                        leaf_codes, leaf_pads = codes, pads
                        counts = counts + np.bincount(fiber_idx, weights=pads, minlength=F).astype(np.int64)
                    else:
                        lev["runs"] = codes  # the width covers the fiber: no padding here
                if self._needs_counts(L):
                    lev["counts"] = counts
            per_fiber.append(counts)
            levels.append(lev)
            present = children
        # offsets of UOP ranks: d + 1 per fiber, into the entries of the rank below
        for L, r in enumerate(ranks):
            if r.kind == "UOP":
                below = per_fiber[L + 1].reshape(-1, dims[L])
                base = np.concatenate(([0], np.cumsum(below.sum(axis=1))[:-1]))
                off = np.empty((below.shape[0], dims[L] + 1), dtype=np.int64)
                off[:, 0] = base
                off[:, 1:] = base[:, None] + np.cumsum(below, axis=1)
                levels[L]["offsets"] = off
        leaf_vals = vals[present]
        pads_total = 0
        if ranks[-1].kind == "RLE":
            span = 1 << self._width(k - 1, dims[-1], 0)
            leaf_vals, runs = interleave_padding(leaf_vals, leaf_codes, leaf_pads, span - 1)
            levels[-1]["runs"] = runs
            pads_total = int(leaf_pads.sum())
        occupied = [int(c.sum()) for c in per_fiber[:-1]]
        e = self._account(t.shape, self._counts(dims, occupied, int(np.count_nonzero(nz)), pads_total))
        e.payload = {"levels": levels, "values": leaf_vals}
        return e

    def _decode(self, e):
        dims = self._view_dims(e.shape)
        levels = e.payload["levels"]
        present = np.zeros(1, dtype=np.int64)
        known = None  # entries of each present fiber, when the rank above delimits them
        for L, (r, d) in enumerate(zip(self.ranks, dims)):
            lev = levels[L]
            F = present.size
            if r.kind in ("U", "UOP"):
                children = (present[:, None] * d + np.arange(d)).ravel()
            elif r.kind == "B":
                children = (present[:, None] * d + np.arange(d))[lev["bitmap"].reshape(F, d)]
            else:
                items = lev["coords"] if r.kind == "CP" else lev["runs"]
                if known is not None:
                    counts = known
                elif "counts" in lev:
                    counts = lev["counts"]
                else:  # the root fiber: its length is its array's
                    counts = np.array([items.size])
                if r.kind == "CP":
                    coord = items
                else:
                    adv = np.cumsum(np.asarray(items, dtype=np.int64) + 1)
                    start = np.cumsum(counts) - counts
                    base = np.concatenate(([0], adv))[start]
                    coord = adv - np.repeat(base, counts) - 1
                children = np.repeat(present, counts) * d + coord
            known = np.diff(lev["offsets"], axis=1).ravel() if r.kind == "UOP" else None
            present = children
        vals = e.payload["values"]
        out = np.zeros(int(np.prod(dims)), dtype=vals.dtype)
        out[present] = vals  # padding entries write zeros onto zero positions
        return self._unview(out, e.shape)

    # -- expected ----------------------------------------------------------------------
    def _expected(self, shape, density):
        dims = self._view_dims(shape)
        k = len(dims)
        occupied = []
        for L in range(k - 1):
            prefixes = float(np.prod(dims[:L + 1]))
            below = float(np.prod(dims[L + 1:]))
            occupied.append(prefixes * -np.expm1(below * np.log1p(-density)) if density < 1 else prefixes)
        nnz = density * float(np.prod(dims))
        pads = 0.0
        if self.ranks[-1].kind == "RLE":
            span = 1 << self._width(k - 1, dims[-1], 0)
            pads = float(np.prod(dims[:-1])) * expected_padding(dims[-1], density, span)
        return self._account(shape, self._counts(dims, occupied, nnz, pads), cls=Expected)
