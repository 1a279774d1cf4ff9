"""``cambricon_s``: Cambricon-S, coarse-grained (block) sparsity with one shared neuron selector.

What it models (Zhou et al., "Cambricon-S: Addressing Irregularity in Sparse Neural Networks through A
Cooperative Software/Hardware Approach", MICRO 2018, Sec. 3-4 as far as we could read it): software prunes
weights in blocks (the foundation's ``block:BHxBW`` pattern: ``BH`` rows of W, i.e. output neurons or
channels, by ``BW`` columns of K), so the output neurons that share a block share their connections.
The hardware has the DianNao-style array of Cambricon-X (``pes`` x ``multipliers``, see
:mod:`accelsim.arch._cambricon_common` for the mapping of output neurons to PEs, the pipeline and the
cycle account) but replaces the per-PE indexing modules with:

* one *neuron selector module* (NSM), shared by all PEs: for the current tile of Tn output neurons it
  ANDs the block index (the input neurons any of the tile's kept blocks needs) with the input neurons'
  nonzero flags and broadcasts only the needed nonzero neurons to every PE, so zero activations are
  skipped as well as pruned blocks;
* a *synapse selector module* (SSM) in each PE, which picks from the PE's kept-block synapses the ones
  that meet the broadcast neurons.

Per task (one output neuron per PE) every PE spends ``ceil(L / Tm)`` cycles, ``L`` the needed nonzero
neurons of the tile at that position; the NSM spends ``max(ceil(I / stream_width), ceil(U / stream_width))``
cycles, ``I`` the block-index positions it reads and ``U`` the needed neurons whose flags it examines. When
blocks are at least Tn rows tall (and aligned) the PEs of a tile do identical work: no imbalance. With
shorter blocks the NSM serves the union of the tile's blocks and a PE multiplies a zero synapse where its
own block is pruned.

Weights: each layer's kept-block values are locally quantized (``conv_weight_bits`` = 8 for
convolutions, ``fc_weight_bits`` = 4 for fully connected layers) and entropy coded (an exact Huffman code
over the layer's quantized values, with a codebook of 2^q 16-bit centroids and a table of code lengths);
the decoder expands them when they enter the SB, and each product looks its centroid up in the codebook.
Storage comes from the encoders: the kept blocks (values and padding) from ``bcsr`` with the layer's block
shape, the block index from the format named by ``block_index_format`` (a FormatRef) applied to the
block-occupancy grid (``bitmap``: one bit per block, direct indexing over blocks; ``csr``: BCSR's column
index and pointers).

Declared hardware (:meth:`CambriconS.hardware`): the MAC array, ``nbin`` (input neurons with their nonzero
flags; the NSM reads the tile's block index through it), ``nbout``, one ``sb`` per PE holding the q-bit
codes of the kept blocks; the selectors under the names Cambricon-X gives its IMs: ``im`` (the NSM's AND
and prefix sum and the SSMs' prefix sums), ``im_mux`` (the NSM's and the SSMs' selectors; the broadcast
wires are charged to it) and ``im_window`` (the NSM's output register); and the decoder: ``codebook`` (2^q
centroids per PE), ``huffman_table`` and ``huffman`` (one canonical Huffman decoder at the DRAM
interface). Energy (45 nm table scaled to 65 nm): MACs per broadcast neuron per PE; SB reads of the
kept-block codes of the needed neurons (the SSM filters them after the read) and the SB fill; codebook
lookups per product and Huffman decoding per stored weight; NBin reads of the selected neurons, of the
needed neurons' flags and of the block index, and the fill; NBout writes with a nonzero flag per output
and the drain; the NSM's and SSMs' operations (one per 8 index or flag bits, one per selected neuron and
per product), its output register and the broadcast; DRAM for the coded weights, tables, the index,
inputs and outputs.

What we could verify in public sources (the abstract and secondary summaries of the paper): 1.71x
performance and 1.37x energy efficiency over Cambricon-X; NSM and SSM; block sizes for AlexNet of
(B_fin, B_fout, B_x, B_y) = (1, 16, 1, 1) for convolutions, (B_in, B_out) = (32, 32) for fc6/fc7 and
(16, 16) for fc8, i.e. ``block:16x1``, ``block:32x32`` and ``block:16x16`` in our W view; local
quantization to 8 bits (conv) and 4 bits (fc) followed by Huffman coding; AlexNet's index shrinking from
2.95 MB to 29.38 KB (102.82x) and its weights by 79x; dynamic neuron sparsity of 62.37 % (AlexNet) and
40.52 % (VGG-16); 6.73 mm^2 and 798.55 mW at 65 nm; Cambricon-X's indexing module at 31.07 % of its area
and 34.83 % of its power.

What it leaves out, and what we assumed where the paper is silent (or unread):

* Tn = Tm = 16 and 1 GHz, as Cambricon-X (the paper compares against it at equal resources), and the
  same assumed DRAM (16 B/cycle, the runner's roofline).
* The NSM's width (``stream_width``, 256 index bits or flags per cycle, as Cambricon-X's stream) and its
  reading of only the flags of needed neurons; NBin is banked so that selected neurons are read alone.
* Quantization is linear between the smallest and the largest stored value (one codebook per layer); the
  paper's local quantization shares levels within a block, which we do not model.
* The decoder keeps up with DRAM (decoding costs energy, not cycles); SB holds the q-bit codes.
* VGG-16's block shapes are not in the sources we read: the study uses AlexNet's.
* The same omissions as Cambricon-X: buffer overflow, the control processor, pooling and activation units.

The statistical mode (:meth:`CambriconS.simulate_stats`) draws each block row's kept blocks and each
tile's needed neurons from the layer's densities (:mod:`accelsim.arch._row_stats`), the needed nonzero
neurons of each task as binomial in the activation density (with a convolution's zero-padded taps left
out), and the Huffman code from the expected histogram of the quantized weights; the same pipeline and
accounting as a trace follow.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..energy import ActionCounts
from ..errors import ConfigError, PatternError
from ..formats import index_bits
from ..hardware import Dram, FormatRef, Hardware, Logic, Memory, address_bits
from ..results import LayerResult
from ..traces.pruners import parse_pattern
from . import _row_stats
from ._cambricon_common import (DRAM_SOURCE, CambriconParams, Pipeline, array_compute, array_memories, assemble,
                                ceil_div, declared, make_encoder, selector_bits, tile_rows)
from .base import ArchModel, register

INDEX_FORMATS = ("bitmap", "csr", "coo", "rle", "zero_padded_delta")
#: bits one index operation of the NSM / SSM prefix logic handles (a narrow adder)
BITS_PER_OP = 8
#: per-task costs are computed for at most this many (tile, position) pairs at a time
CHUNK = 1 << 20


@dataclass
class CambriconSParams(CambriconParams):
    #: block shape (rows of W, columns of K) when the trace was not block-pruned (conv blocks of the paper)
    block: tuple[int, int] = (16, 1)
    #: take the block shape from the trace's pattern (``block:BHxBW``) when it has one
    block_from_trace: bool = True
    #: format of the block-occupancy grid: bitmap (one bit per block) or csr (BCSR's indices)
    block_index_format: FormatRef = FormatRef("bitmap")
    #: deprecated (goes in 0.3): the index encoder's parameters, now ``block_index_format: {name, params}``
    block_index_params: dict | None = None
    #: local quantization widths (Sec. 3: 8-bit convolutions, 4-bit fully connected layers)
    conv_weight_bits: int = field(default=8, metadata={"min": 1, "max": 12})
    fc_weight_bits: int = field(default=4, metadata={"min": 1, "max": 12})
    #: Huffman-code the quantized weights (Sec. 3); false stores q bits per weight
    entropy_coding: bool = True

    def validate(self):
        if self.block_index_params is not None:
            warnings.warn("'params.block_index_params' is deprecated, give them in 'params.block_index_format' "
                          "as {name: ..., params: {...}} (the old name goes in 0.3)", FutureWarning, stacklevel=3)
            self.block_index_format = FormatRef(self.block_index_format.name,
                                                {**self.block_index_format.kwargs, **self.block_index_params})
            self.block_index_params = None
        if min(self.block) < 1:
            raise ConfigError(f"'params.block' sides must be >= 1, got {self.block}")
        if self.block_index_format.name not in INDEX_FORMATS:
            raise ConfigError(f"'params.block_index_format' must be one of {', '.join(INDEX_FORMATS)}, "
                              f"got {self.block_index_format.name!r}")
        index_encoder(self)


def index_encoder(p: CambriconSParams):
    return make_encoder(p.block_index_format, "block_index_format")


def layer_block(lt, p: CambriconSParams) -> tuple[int, int]:
    """The block shape of a layer: its trace's ``block:BHxBW`` pattern, or the configured one."""
    if p.block_from_trace:
        pat = str(lt.info.get("pattern", ""))
        if pat.startswith("block:"):
            try:
                b = parse_pattern(pat)
            except PatternError:
                b = None
            if b is not None and b.kind == "block":
                return b.a, b.b
    return tuple(p.block)


def huffman_code_lengths(counts) -> np.ndarray:
    """Code length of every symbol in an optimal (Huffman) prefix code for *counts*; 0 for absent ones.

    >>> huffman_code_lengths([5, 0, 2, 1, 1]).tolist()
    [1, 0, 2, 3, 3]
    """
    counts = np.asarray(counts, dtype=np.int64)
    lengths = np.zeros(counts.size, dtype=np.int64)
    syms = np.flatnonzero(counts > 0)
    if syms.size == 1:
        lengths[syms[0]] = 1
    if syms.size > 1:
        order = syms[np.argsort(counts[syms], kind="stable")]
        lengths[order] = _huffman_depths(counts[order])
    return lengths


@njit(cache=True)
def _huffman_depths(w):
    """Depths of the leaves of a Huffman tree over the ascending weights *w* (two-queue construction: the
    leaves in order, the merged nodes in the order they are made, which is ascending too; the lighter front
    is taken, a leaf on a tie)."""
    n = w.size
    parent = np.full(2 * n - 1, -1, np.int64)
    merged = np.zeros(n, np.int64)
    li, mi, made = 0, 0, 0
    for node in range(n, 2 * n - 1):
        pair = np.zeros(2, np.int64)
        total = 0
        for k in range(2):
            if li < n and (mi >= made or w[li] <= merged[mi]):
                pair[k] = li
                total += w[li]
                li += 1
            else:
                pair[k] = n + mi
                total += merged[mi]
                mi += 1
        parent[pair[0]] = node
        parent[pair[1]] = node
        merged[made] = total
        made += 1
    depth = np.zeros(2 * n - 1, np.int64)
    for v in range(2 * n - 3, -1, -1):      # parents come after their children
        depth[v] = depth[parent[v]] + 1
    return depth[:n]


def quantize(values: np.ndarray, bits: int) -> np.ndarray:
    """Linear quantization codes (0 .. 2^bits - 1) between the smallest and largest nonzero value."""
    v = np.asarray(values, dtype=np.float64).ravel()
    nz = v[v != 0]
    if nz.size == 0 or nz.max() == nz.min():
        return np.zeros(v.size, dtype=np.int64)
    lo, hi = nz.min(), nz.max()
    top = (1 << bits) - 1
    return np.clip(np.rint((v - lo) / (hi - lo) * top), 0, top).astype(np.int64)


@njit(cache=True, fastmath=True)
def _block_scan(w, bh, bw):
    """Which ``bh x bw`` blocks of *w* hold a nonzero, and the smallest and largest nonzero value (the
    quantization range): row-major passes with branch-free inner loops (they vectorize)."""
    M, K = w.shape
    nbr, nbc = (M + bh - 1) // bh, (K + bw - 1) // bw
    lo, hi = np.inf, -np.inf
    for i in range(M):
        for j in range(K):
            lo = min(lo, w[i, j])
            hi = max(hi, w[i, j])
    if not (lo < 0 < hi):   # zeros may be the extremes: take the nonzeros' alone
        lo, hi = np.inf, -np.inf
        for i in range(M):
            for j in range(K):
                v = w[i, j]
                if v != 0:
                    lo = min(lo, v)
                    hi = max(hi, v)
    occ = np.zeros((nbr, nbc), np.bool_)
    if bw == 1:
        for i in range(M):
            o = occ[i // bh]
            for j in range(K):
                o[j] |= w[i, j] != 0
        return occ, lo, hi
    for i in range(M):
        o = occ[i // bh]
        for bj in range(nbc):
            any_nz = False
            for j in range(bj * bw, min(K, bj * bw + bw)):
                any_nz |= w[i, j] != 0
            o[bj] |= any_nz
    return occ, lo, hi


@njit(cache=True, fastmath=True)
def _kept_code_histogram(w, occ, bh, bw, bits, lo, hi):
    """Histogram of :func:`quantize`'s codes (range ``lo .. hi``) over every stored entry of the kept blocks
    of *w*; positions past the matrix's edge, stored as padding, count as zeros."""
    M, K = w.shape
    top = (1 << bits) - 1
    hist = np.zeros(top + 1, np.int64)
    stored = np.int64(occ.sum()) * bh * bw
    if not hi > lo:
        hist[0] = stored
        return hist
    scale = top / (hi - lo)
    kept = np.zeros(K, np.int64)          # the kept positions of the current block row, one per column
    code = np.zeros(K, np.int64)
    inside = 0
    for i in range(M):
        bi = i // bh
        if i % bh == 0:
            for j in range(K):
                kept[j] = occ[bi, j // bw]
        for j in range(K):             # codes of the whole row (vectorizes), then the kept ones counted
            code[j] = np.int64(min(max(np.rint((w[i, j] - lo) * scale), 0.0), float(top)))
        for j in range(K):
            hist[code[j]] += kept[j]
            inside += kept[j]
    hist[np.int64(min(max(np.rint((0.0 - lo) * scale), 0.0), float(top)))] += stored - inside
    return hist


def expected_huffman_bits(stored: float, nnz: float, bits: int, tau: float) -> tuple[float, int]:
    """Expected Huffman-coded bits of *stored* quantized entries, *nnz* of them nonzero weights of the trace
    generator's law (a Gaussian times a per-row log-normal scale, magnitude pruning at ``|w| > tau`` with
    *tau* in units of the weights' standard deviation; 0 for patterns that keep whole blocks, rows or
    groups), the rest zeros: the code of the expected histogram, the quantization range being the extremes
    of *nnz* such weights. Returns the coded bits and the longest code."""
    if stored <= 0:
        return 0.0, 0
    top = (1 << bits) - 1
    s = _row_stats.scale_quantiles()
    nz = max(nnz, 1.0)
    # the largest of nnz samples of the symmetric law: P(|w| > hi) = 1 / nnz over the kept ones
    kept_mass = float(np.mean(_row_stats.keep_probability(tau, s))) if tau > 0 else 1.0
    hi = float(_row_stats.tail_threshold(s, min(kept_mass / nz, 1.0)))
    if not hi > 0:
        return float(stored) * max(bits, 1), bits
    edges = -hi + (np.arange(top + 2) - 0.5) * (2 * hi / top)
    edges[0], edges[-1] = -np.inf, np.inf
    mass = _bin_mass(edges, s, tau) / kept_mass
    counts = nnz * mass
    zero_code = int(np.clip(np.rint(hi / (2 * hi) * top), 0, top))
    counts[zero_code] += max(stored - nnz, 0.0)
    lengths = huffman_code_lengths(np.rint(counts))
    return float(counts @ lengths), int(lengths.max())


@njit(cache=True)
def _bin_mass(edges, s, tau):
    """Mass of ``s z`` (averaged over the scales *s*) in each bin of *edges*, outside ``[-tau, tau]``."""
    nb = edges.size - 1
    out = np.zeros(nb)
    r2 = math.sqrt(2.0)
    for k in range(s.size):
        for b in range(nb):
            a, c = edges[b], edges[b + 1]
            # the part of [a, c] outside (-tau, tau)
            m = 0.0
            for lo, hi in ((a, min(c, -tau)), (max(a, tau), c)):
                if hi > lo:
                    m += 0.5 * (math.erfc(lo / (s[k] * r2)) - math.erfc(hi / (s[k] * r2)))
            out[b] += m
    return out / s.size


@register
class CambriconS(ArchModel):
    name = "cambricon_s"
    description = "Cambricon-S (MICRO 2018): block-pruned weights, shared neuron selector skipping zero activations"
    Params = CambriconSParams

    def hardware(self, p: CambriconSParams) -> Hardware:
        """The PE array and its buffers (:func:`~accelsim.arch._cambricon_common.array_memories`) plus:

        * what replaces Cambricon-X's per-PE indexing modules: one shared NSM, which ANDs ``stream_width``
          block-index bits with the neurons' flags, prefix-sums them and selects Tm needed nonzero neurons
          per cycle into its ``stream_width`` output register (``im_window``; ``Tm x stream_width x
          value_bits`` multiplexer bits), and one SSM per PE selecting the Tm matching synapse codes out of
          a ``stream_width`` window (``Tm x stream_width x q`` bits, ``q`` the wider of the two quantization
          widths) with its own prefix sum: the selectors are ``im_mux``, the prefix logic ``im``;
        * the decoder: a ``codebook`` of ``2^q`` centroids of ``value_bits`` per PE (one read port per
          multiplier not counted) and, with ``entropy_coding``, one canonical Huffman decoder at the DRAM
          interface: a symbol table of ``2^q`` entries (symbol and code length, ``huffman_table``) and a
          comparator of up to ``2q`` bits per code length (``huffman``; code lengths assumed at most
          ``2q`` bits).
        """
        W, Tm, vb, P = p.stream_width, p.multipliers, p.value_bits, p.pes
        q = max(p.conv_weight_bits, p.fc_weight_bits)
        pos = address_bits(W)
        mems = array_memories(p, FormatRef("bcsr", {"block": tuple(p.block), "value_bits": q}), ("weights",))
        mems[0] = Memory("nbin", "sram", p.nbin_bytes, width_bits=W * vb, operands=("inputs", "indices"),
                         format=p.block_index_format)
        mems += [Memory("im_window", "rf", W * vb / 8, width_bits=W * vb, operands=("inputs",)),
                 Memory("codebook", "rf", (1 << q) * vb / 8, count=P, width_bits=vb, operands=("codebook",))]
        logic = [Logic("im_mux", "mux", selector_bits(1, Tm, W, vb) + selector_bits(P, Tm, W, q)),
                 Logic("im", "index", W * (pos + 1) + P * W * pos)]
        if p.entropy_coding:
            mems.append(Memory("huffman_table", "rf", (1 << q) * (q + address_bits(2 * q)) / 8,
                               width_bits=q + address_bits(2 * q), operands=("codebook",)))
            logic.append(Logic("huffman", "index", (2 * q) ** 2))
        return Hardware(compute=array_compute(p), memories=mems, logic=logic,
                        dram=Dram(p.dram_bytes_per_cycle, DRAM_SOURCE))

    # ---- the trace path ------------------------------------------------------------------------------
    def simulate(self, lt, p: CambriconSParams) -> LayerResult:
        lay = lt.layer
        M, K, N, G = lay.M, lay.K, lay.N, lay.groups
        P, Tm = p.pes, p.multipliers
        bh, bw = layer_block(lt, p)
        q = p.conv_weight_bits if lay.is_conv else p.fc_weight_bits
        mask = lt.weight != 0          # one byte per weight: the only temporary of the layer's size

        # storage: kept blocks through bcsr, the block index through its own encoder
        vals = make_encoder(FormatRef("bcsr", {"block": (bh, bw), "value_bits": q}), "block").measure(mask)
        del mask
        w = np.ascontiguousarray(lt.weight)
        occ, lo, hi = _block_scan(w, bh, bw)
        stored = int(vals.stored_entries)
        idx_bits = float(index_encoder(p).measure(occ).metadata_bits)
        coded, longest = float(stored * q), 0
        if p.entropy_coding and stored:
            counts = _kept_code_histogram(w, occ, bh, bw, q, lo, hi)
            lengths = huffman_code_lengths(counts)
            coded, longest = float(counts @ lengths), int(lengths.max())
        nbr, nbc = occ.shape
        widths = np.full(nbc, bw, dtype=np.int64)
        widths[-1] = K - (nbc - 1) * bw
        kept_cols = occ.astype(np.int64) @ widths                      # needed neurons of each block row

        # the tiles' needed neurons (block index) and the needed nonzero neurons of every task (flags)
        rows = tile_rows(M, G, P)
        active = rows >= 0
        n_tiles = rows.shape[0]
        safe = np.maximum(rows, 0)
        tile_blocks = np.zeros((n_tiles, nbc), dtype=bool)
        for j in range(P):
            tile_blocks |= occ[safe[:, j] // bh] & active[:, j:j + 1]
        U = tile_blocks.astype(np.int64) @ widths
        # a tile's rows are consecutive: it spans every block row from its first row's to its last's
        spanned = np.where(active, rows, -1).max(axis=1) // bh - np.where(active, rows, M).min(axis=1) // bh + 1
        own = np.where(active, kept_cols[safe // bh], 0)

        scan = np.maximum(ceil_div(spanned * nbc, p.stream_width), ceil_div(U, p.stream_width))
        pl = Pipeline(n_tiles, P, N, p.fifo_tasks)
        per_group = n_tiles // G
        L_tile = np.zeros(n_tiles)
        starts = np.arange(0, K, bw)
        step = max(1, CHUNK // max(N, 1))
        for g, xg in enumerate(lt.x_masks()):
            # nonzero inputs of every block column at every position (bw rows of X summed)
            xb = xg.astype(np.float32)
            if bw > 1:
                xb = np.add.reduceat(xb, starts, axis=0)
            for t0 in range(g * per_group, (g + 1) * per_group, step):
                t1 = min(t0 + step, (g + 1) * per_group)
                L = np.rint(tile_blocks[t0:t1].astype(np.float32) @ xb).astype(np.int64)
                L_tile[t0:t1] = L.sum(axis=1)
                pl.feed(np.zeros((t1 - t0, P), dtype=np.int64), ceil_div(L, Tm), active[t0:t1], scan[t0:t1])
        return self._result(p, lay, pl, active, q=q, block=(bh, bw), stored=stored,
                            padding=float(vals.padding_entries), kept_blocks=float(occ.sum()), coded=coded,
                            longest=longest, idx_bits=idx_bits, nbr=nbr, U=U, spanned=spanned, own=own, L_tile=L_tile)

    # ---- the statistical mode -----------------------------------------------------------------------
    def simulate_stats(self, ls, p: CambriconSParams) -> LayerResult:
        """Expected values from the layer's shape and densities (module docstring), in O(rows + N) memory."""
        lay = ls.layer
        M, K, N, G = lay.M, lay.K, lay.N, lay.groups
        bh, bw = layer_block(ls, p)
        q = p.conv_weight_bits if lay.is_conv else p.fc_weight_bits
        rng = np.random.default_rng([int(ls.seed), 0x43581])
        model = _row_stats.row_model(ls, rng)
        nbr, nbc = -(-M // bh), -(-K // bw)
        col_w = K / nbc

        # kept blocks of every block row: binomial in the probability that a block holds a nonzero
        b_start = np.arange(nbr) * bh
        b_stop = np.minimum(b_start + bh, M)
        kept = rng.binomial(nbc, 1.0 - model.empty_prob(b_start, b_stop, bw))
        kept_blocks = float(kept.sum())
        stored = int(kept_blocks) * bh * bw
        nnz = float(model.nnz.sum())
        idx_bits = float(index_encoder(p).expected((nbr, nbc), kept_blocks / (nbr * nbc)).metadata_bits)
        coded, longest = float(stored * q), 0
        if p.entropy_coding and stored:
            tau = 0.0
            if ls.pattern.kind in ("unstructured", "balanced") and ls.weight_density < 1.0:
                tau = float(_row_stats.tail_threshold(_row_stats.scale_quantiles(), ls.weight_density))
            coded, longest = expected_huffman_bits(stored, nnz, q, tau)

        P = p.pes
        rows = tile_rows(M, G, P)
        active = rows >= 0
        n_tiles = rows.shape[0]
        first = np.where(active, rows, M).min(axis=1)
        last = np.where(active, rows, -1).max(axis=1)
        sb0, sb1 = first // bh, last // bh
        spanned = sb1 - sb0 + 1
        # needed neurons: one block row's kept blocks, or the union over the block rows the tile spans
        union = rng.binomial(nbc, 1.0 - model.empty_prob(sb0 * bh, np.minimum((sb1 + 1) * bh, M), bw))
        U = np.rint(np.where(spanned == 1, kept[sb0], union) * col_w).astype(np.int64)
        own = np.where(active, np.rint(kept[np.maximum(rows, 0) // bh] * col_w).astype(np.int64), 0)
        scan = np.maximum(ceil_div(spanned * nbc, p.stream_width), ceil_div(U, p.stream_width))

        valid = valid_tap_fraction(lay)
        pl = Pipeline(n_tiles, P, N, p.fifo_tasks)
        L_tile = np.zeros(n_tiles)
        step = max(1, CHUNK // max(N, 1))
        for t0 in range(0, n_tiles, step):
            t1 = min(t0 + step, n_tiles)
            L = rng.binomial(np.rint(U[t0:t1, None] * valid[None, :]).astype(np.int64), ls.act_density)
            L_tile[t0:t1] = L.sum(axis=1)
            pl.feed(np.zeros((t1 - t0, P), dtype=np.int64), ceil_div(L, p.multipliers), active[t0:t1], scan[t0:t1])
        return self._result(p, lay, pl, active, q=q, block=(bh, bw), stored=stored, padding=float(stored - nnz),
                            kept_blocks=kept_blocks, coded=coded, longest=longest, idx_bits=idx_bits, nbr=nbr, U=U,
                            spanned=spanned, own=own, L_tile=L_tile)

    # ---- what both paths report ---------------------------------------------------------------------
    def _result(self, p: CambriconSParams, lay, pl: Pipeline, active, *, q, block, stored, padding, kept_blocks,
                coded, longest, idx_bits, nbr, U, spanned, own, L_tile) -> LayerResult:
        hw = declared(self, p)
        M, N = lay.M, lay.N
        vb = p.value_bits
        # the codebook of 2^q centroids, and with a Huffman code the table of code lengths
        tables = float((1 << q) * vb)
        if p.entropy_coding and stored:
            tables += float((1 << q) * index_bits(longest + 1))
        w_bits = coded + tables

        n_active = active.sum(axis=1).astype(np.float64)
        L_sum = float(L_tile.sum())
        products = float(n_active @ L_tile)
        sb, nbin, nbout = hw.memory("sb"), hw.memory("nbin"), hw.memory("nbout")
        acts = ActionCounts().mac(products, vb)
        sb_reads = float(N) * float(own.sum()) * q
        acts.write(sb, stored * q).read(sb, sb_reads)
        acts.read(hw.memory("codebook"), products * vb)
        if p.entropy_coding:
            acts.index(stored, component="huffman")
        x_elems = float(math.prod(lay.input_shape))
        acts.write(nbin, x_elems * vb).read(nbin, L_sum * vb)
        acts.write(nbout, float(M) * N * (vb + 1)).read(nbout, float(M) * N * vb)
        # NSM: the needed neurons' flags and the tile's block index, read through NBin; AND + prefix sum and
        # one op per selected neuron; its output register; the SSMs; the broadcast to the PEs
        idx_pos = spanned * (-(-lay.K // block[1]))
        flag_bits = float(N) * float(U.sum())
        index_reads = float(N) * idx_bits * float(spanned.sum()) / max(nbr, 1)
        acts.read(nbin, flag_bits + index_reads)
        nsm_ops = float(N) * float(ceil_div(idx_pos + U, BITS_PER_OP).sum()) + L_sum
        ssm_ops = products + float(N) * float(n_active @ ceil_div(U, BITS_PER_OP))
        acts.index(nsm_ops + ssm_ops, component="im")
        acts.write(hw.memory("im_window"), L_sum * vb)
        acts.wire(products * vb * p.bc_pe_hops, component="im_mux")
        dram = (w_bits + idx_bits) / 8 + x_elems * vb / 8 + M * N * vb / 8
        acts.dram(dram)
        sram_bits = stored * q + sb_reads + x_elems * vb + L_sum * vb + M * N * (2 * vb + 1) + flag_bits + index_reads
        needed = float(N) * float(U.sum())
        n_tiles = active.shape[0]
        return assemble(p, pl, n_active, products=products, actions=acts, weight_bits=w_bits, metadata_bits=idx_bits,
                        dram_bytes=dram, sram_bytes=sram_bits / 8,
                        totals={"stored_entries": float(stored), "padding_entries": float(padding),
                                "kept_blocks": float(kept_blocks)},
                        extra={"block": f"{block[0]}x{block[1]}", "quant_bits": q,
                               "code_bits_per_weight": coded / stored if stored else 0.0, "tiles": n_tiles,
                               "needed_neuron_fraction": float(U.sum()) / (n_tiles * lay.K) if n_tiles else 0.0,
                               "activation_skip_fraction": 1.0 - L_sum / needed if needed else 0.0})


def valid_tap_fraction(lay) -> np.ndarray:
    """Per output position, the fraction of a convolution's taps that fall inside the input (the rest are
    zero padding, which the NSM skips like zero activations); ones for other layers. Length ``N``."""
    if not lay.is_conv or not lay.pad:
        return np.ones(lay.N)

    def along(size, out, k):
        o = np.arange(out)[:, None] * lay.stride - lay.pad + np.arange(k)[None, :]
        return ((o >= 0) & (o < size)).sum(axis=1) / k

    per = np.outer(along(lay.H, lay.P, lay.R), along(lay.W, lay.Q, lay.S)).ravel()
    return np.tile(per, lay.N // per.size)
