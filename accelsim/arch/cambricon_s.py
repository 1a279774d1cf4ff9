"""``cambricon_s``: Cambricon-S, coarse-grained (block) sparsity with one shared neuron selector.

What it models (Zhou et al., "Cambricon-S: Addressing Irregularity in Sparse Neural Networks through A
Cooperative Software/Hardware Approach", MICRO 2018, Sec. 3-4 as far as we could read it): software prunes
weights in blocks (the foundation's ``block:BHxBW`` pattern: ``BH`` rows of W, i.e. output neurons or
channels, by ``BW`` columns of K), so the output neurons that share a block share their connections.
The hardware has the DianNao-style array of Cambricon-X (``pes`` x ``multipliers``, see
:mod:`accelsim.arch._cambricon_common` for the mapping of output neurons to PEs and the pipeline) but
replaces the per-PE indexing modules with:

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
shape, the block index from the format named by ``block_index_format`` applied to the block-occupancy grid
(``bitmap``: one bit per block, direct indexing over blocks; ``csr``: BCSR's column index and pointers).

Energy (45 nm table scaled to 65 nm): MACs per broadcast neuron per PE; SB reads of the kept-block codes of
the needed neurons (the SSM filters them after the read); codebook lookups and Huffman decoding
(``energy_decoder_pj``); NBin reads of the selected neurons only; NBout writes with a nonzero flag per
output; DRAM for the coded weights, the index, inputs and outputs. ``energy_indexing_pj`` holds the NSM
(block index and flag reads, the AND and prefix sum, one operation per selected neuron, its output
register), the broadcast to the PEs and the SSMs, so it compares directly with Cambricon-X's indexing
modules.

What we could verify in public sources (the abstract and secondary summaries of the paper): 1.71x
performance and 1.37x energy efficiency over Cambricon-X; NSM and SSM; block sizes for AlexNet of
(B_fin, B_fout, B_x, B_y) = (1, 16, 1, 1) for convolutions, (B_in, B_out) = (32, 32) for fc6/fc7 and
(16, 16) for fc8, i.e. ``block:16x1``, ``block:32x32`` and ``block:16x16`` in our W view; local
quantization to 8 bits (conv) and 4 bits (fc) followed by Huffman coding; AlexNet's index shrinking from
2.95 MB to 29.38 KB (102.82x) and its weights by 79x; dynamic neuron sparsity of 62.37 % (AlexNet) and
40.52 % (VGG-16); 6.73 mm^2 and 798.55 mW at 65 nm; Cambricon-X's indexing module at 31.07 % of its area
and 34.83 % of its power.

What it leaves out, and what we assumed where the paper is silent (or unread):

* Tn = Tm = 16 and 1 GHz, as Cambricon-X (the paper compares against it at equal resources).
* The NSM's width (``stream_width``, 256 index bits or flags per cycle, as Cambricon-X's stream) and its
  reading of only the flags of needed neurons; NBin is banked so that selected neurons are read alone.
* Quantization is linear between the smallest and the largest stored value (one codebook per layer); the
  paper's local quantization shares levels within a block, which we do not model.
* The decoder keeps up with DRAM (decoding costs energy, not cycles); SB holds the q-bit codes.
* VGG-16's block shapes are not in the sources we read: the study uses AlexNet's.
* The same omissions as Cambricon-X: buffer overflow, the control processor, pooling and activation units.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from ..energy import ActionCounts
from ..errors import ConfigError, PatternError
from ..formats import index_bits
from ..results import LayerResult
from ..traces.pruners import parse_pattern
from ._cambricon_common import (CambriconParams, array_inventory, assemble, ceil_div, log2_ceil,
                                make_encoder, pipeline, selector, tile_rows)
from .base import ArchModel, register

INDEX_FORMATS = ("bitmap", "csr", "coo", "rle", "zero_padded_delta")
#: bits one index operation of the NSM / SSM prefix logic handles (a narrow adder)
BITS_PER_OP = 8


@dataclass
class CambriconSParams(CambriconParams):
    #: block shape (rows of W, columns of K) when the trace was not block-pruned (conv blocks of the paper)
    block: tuple[int, int] = (16, 1)
    #: take the block shape from the trace's pattern (``block:BHxBW``) when it has one
    block_from_trace: bool = True
    #: format of the block-occupancy grid: bitmap (one bit per block) or csr (BCSR's indices)
    block_index_format: str = "bitmap"
    block_index_params: dict = field(default_factory=dict)
    #: local quantization widths (Sec. 3: 8-bit convolutions, 4-bit fully connected layers)
    conv_weight_bits: int = field(default=8, metadata={"min": 1, "max": 12})
    fc_weight_bits: int = field(default=4, metadata={"min": 1, "max": 12})
    #: Huffman-code the quantized weights (Sec. 3); false stores q bits per weight
    entropy_coding: bool = True

    def validate(self):
        if min(self.block) < 1:
            raise ConfigError(f"'params.block' sides must be >= 1, got {self.block}")
        if self.block_index_format not in INDEX_FORMATS:
            raise ConfigError(f"'params.block_index_format' must be one of {', '.join(INDEX_FORMATS)}, "
                              f"got {self.block_index_format!r}")
        index_encoder(self)


def index_encoder(p: CambriconSParams):
    return make_encoder(p.block_index_format, dict(p.block_index_params), "block_index_format")


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
    if syms.size <= 1:
        return lengths
    heap = [(int(counts[s]), i, [int(s)]) for i, s in enumerate(syms)]
    heapq.heapify(heap)
    uid = len(heap)
    while len(heap) > 1:
        c1, _, s1 = heapq.heappop(heap)
        c2, _, s2 = heapq.heappop(heap)
        merged = s1 + s2
        lengths[merged] += 1
        heapq.heappush(heap, (c1 + c2, uid, merged))
        uid += 1
    return lengths


def quantize(values: np.ndarray, bits: int) -> np.ndarray:
    """Linear quantization codes (0 .. 2^bits - 1) between the smallest and largest nonzero value."""
    v = np.asarray(values, dtype=np.float64).ravel()
    nz = v[v != 0]
    if nz.size == 0 or nz.max() == nz.min():
        return np.zeros(v.size, dtype=np.int64)
    lo, hi = nz.min(), nz.max()
    top = (1 << bits) - 1
    return np.clip(np.rint((v - lo) / (hi - lo) * top), 0, top).astype(np.int64)


def block_grid(w: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """Block occupancy: ``(ceil(M/bh), ceil(K/bw))``, true where a block holds a nonzero."""
    M, K = w.shape
    nbr, nbc = -(-M // bh), -(-K // bw)
    pad = np.zeros((nbr * bh, nbc * bw), dtype=bool)
    pad[:M, :K] = w != 0
    return pad.reshape(nbr, bh, nbc, bw).any(axis=(1, 3))


@register
class CambriconS(ArchModel):
    name = "cambricon_s"
    description = "Cambricon-S (MICRO 2018): block-pruned weights, shared neuron selector skipping zero activations"
    Params = CambriconSParams

    def simulate(self, lt, p: CambriconSParams) -> LayerResult:
        lay = lt.layer
        M, K, N, G = lay.M, lay.K, lay.N, lay.groups
        P, Tm, vb, W = p.pes, p.multipliers, p.value_bits, p.stream_width
        bh, bw = layer_block(lt, p)
        q = p.conv_weight_bits if lay.is_conv else p.fc_weight_bits
        w = lt.weight

        # ---- storage: kept blocks through bcsr, the block index through its own encoder ----
        vals = make_encoder("bcsr", {"block": (bh, bw), "value_bits": q}, "block").encode(w)
        occ = block_grid(w, bh, bw)
        nbr, nbc = occ.shape
        idx_bits = float(index_encoder(p).measure(occ).metadata_bits)
        stored = int(vals.stored_entries)
        if p.entropy_coding and stored:
            counts = np.bincount(quantize(vals.payload["blocks"], q), minlength=1 << q)
            lengths = huffman_code_lengths(counts)
            coded = float(counts @ lengths)
            tables = float((1 << q) * vb + (1 << q) * index_bits(int(lengths.max()) + 1))
        else:
            coded = float(vals.value_bits)
            tables = float((1 << q) * vb)
        w_bits = coded + tables

        # ---- the tiles' needed neurons (block index) and needed nonzero neurons (with the flags) ----
        rows = tile_rows(M, G, P)
        active = rows >= 0
        n_tiles = rows.shape[0]
        safe = np.maximum(rows, 0)
        tile_blocks = np.zeros((n_tiles, nbc), dtype=bool)
        for j in range(P):
            tile_blocks |= occ[safe[:, j] // bh] & active[:, j:j + 1]
        widths = np.full(nbc, bw, dtype=np.int64)
        widths[-1] = K - (nbc - 1) * bw
        U_mask = np.repeat(tile_blocks, bw, axis=1)[:, :K]
        U = U_mask.sum(axis=1).astype(np.int64)
        spanned = np.array([np.unique(safe[t][active[t]] // bh).size for t in range(n_tiles)], dtype=np.int64)
        idx_pos = spanned * nbc
        kept_cols_row = occ.astype(np.int64) @ widths                  # needed neurons of each block row
        own = np.where(active, kept_cols_row[safe // bh], 0)           # per PE of each tile

        per_group = n_tiles // G
        L = np.zeros((n_tiles, N), dtype=np.int64)
        for g, xg in enumerate(lt.x_masks()):
            sl = slice(g * per_group, (g + 1) * per_group)
            L[sl] = np.rint(U_mask[sl].astype(np.float32) @ xg.astype(np.float32)).astype(np.int64)

        scan = np.maximum(ceil_div(idx_pos, W), ceil_div(U, W))
        cycles, busy = pipeline(np.zeros((n_tiles, P), dtype=np.int64), ceil_div(L, Tm), active, scan, N,
                                p.fifo_tasks)

        # ---- actions ----
        n_active = active.sum(axis=1).astype(np.float64)
        L_tile = L.sum(axis=1).astype(np.float64)
        L_sum = float(L_tile.sum())
        products = float(n_active @ L_tile)
        acts = ActionCounts().mac(products, vb)
        sb_bits = float(N) * float(own.sum()) * q + stored * q
        acts.sram(sb_bits, p.sb_bytes, component="sb")
        acts.rf(products * vb, max(1, (1 << q) * vb // 8), component="decoder")
        acts.index(stored, component="decoder")
        x_elems = float(lt.input.size)
        nbin_bits = L_sum * vb + x_elems * vb
        acts.sram(nbin_bits, p.nbin_bytes, component="nbin")
        nbout_bits = 2.0 * M * N * vb + M * N
        acts.sram(nbout_bits, p.nbout_bytes, component="nbout")
        # NSM: block index and flags read, AND + prefix sum, selection, output register; broadcast; SSMs
        flag_bits = float(N) * float(U.sum())
        index_reads = float(N) * idx_bits * float(spanned.sum()) / max(nbr, 1)
        acts.sram(flag_bits + index_reads, p.nbin_bytes, component="indexing")
        nsm_ops = float(N) * float(ceil_div(idx_pos + U, BITS_PER_OP).sum()) + L_sum
        ssm_ops = products + float(N) * float(n_active @ ceil_div(U, BITS_PER_OP))
        acts.index(nsm_ops + ssm_ops, component="indexing")
        acts.rf(L_sum * vb, max(1, W * vb // 8), component="indexing")
        acts.wire(products * vb * p.bc_pe_hops, component="indexing")
        dram = (w_bits + idx_bits) / 8 + x_elems * vb / 8 + M * N * vb / 8
        acts.dram(dram)
        sram_bytes = (sb_bits + nbin_bits + nbout_bits + flag_bits + index_reads) / 8

        needed = float(N) * float(U.sum())
        return assemble(p, pipeline_cycles=cycles, busy=busy, scan_cycles=float(scan.sum()) * N, products=products,
                        actions=acts, weight_bits=w_bits, metadata_bits=idx_bits, dram_bytes=dram,
                        sram_bytes=sram_bytes,
                        extra={"block": f"{bh}x{bw}", "quant_bits": q,
                               "code_bits_per_weight": coded / stored if stored else 0.0,
                               "stored_entries": float(stored), "padding_entries": float(vals.padding_entries),
                               "kept_blocks": int(occ.sum()), "tiles": n_tiles,
                               "needed_neuron_fraction": float(U.sum()) / (n_tiles * K) if n_tiles else 0.0,
                               "activation_skip_fraction": 1.0 - L_sum / needed if needed else 0.0})

    def inventory(self, p: CambriconSParams):
        """The PE array and buffers (:func:`~accelsim.arch._cambricon_common.array_inventory`) plus:

        * ``indexing`` (what replaces Cambricon-X's per-PE indexing modules): one shared NSM, which ANDs
          ``stream_width`` block-index bits with the neurons' flags, prefix-sums them and selects Tm needed
          nonzero neurons per cycle into its ``stream_width`` output register (``Tm x stream_width x
          value_bits`` multiplexer bits), and one SSM per PE selecting the Tm matching synapse codes out of
          a ``stream_width`` window (``Tm x stream_width x q`` bits, ``q`` the wider of the two quantization
          widths) with its own prefix sum;
        * ``decoder``: a codebook of ``2^q`` centroids of ``value_bits`` per PE (one read port per multiplier
          not counted) and, with ``entropy_coding``, one canonical Huffman decoder at the DRAM interface: a
          symbol table of ``2^q`` entries (symbol and code length) and a comparator of up to ``2q`` bits per
          code length (code lengths assumed at most ``2q`` bits).
        """
        inv = array_inventory(p)
        W, Tm, vb = p.stream_width, p.multipliers, p.value_bits
        q = max(p.conv_weight_bits, p.fc_weight_bits)
        pos = log2_ceil(W)
        inv.rf(W * vb / 8, component="indexing")
        selector(inv, 1, Tm, W, vb, W * (pos + 1), component="indexing")
        selector(inv, p.pes, Tm, W, q, W * pos, component="indexing")
        inv.rf((1 << q) * vb / 8, p.pes, component="decoder")
        if p.entropy_coding:
            inv.rf((1 << q) * (q + log2_ceil(2 * q)) / 8, component="decoder")
            inv.index((2 * q) ** 2, component="decoder")
        return inv
