"""``cambricon_x``: Cambricon-X, a sparse-weight accelerator with a central indexing module.

What it models (Zhang et al., "Cambricon-X: An Accelerator for Sparse Neural Networks", MICRO 2016,
Sec. III-IV as far as we could read it): ``pes`` (Tn = 16) PEs, each ``multipliers`` (Tm = 16) multipliers
and an adder tree (the PEFU, inherited from DianNao), each PE computing one output neuron at a time from
its *nonzero* synapses only, stored compressed in its own synapse buffer. A buffer controller (BC) between
NBin and the PEs holds one indexing module (IM) per PE: the input neurons stream past the IMs and each IM
uses its PE's weight index to select the neurons that PE needs and sends them over the PE's Tm-wide link.
PEs run asynchronously (see :mod:`accelsim.arch._cambricon_common` for the mapping of output neurons to
PEs and the BC/PE pipeline). Zero activations are *not* skipped: every stored synapse is multiplied.

Per task (one output neuron per PE) a PE spends ``ceil(E / Tm)`` cycles, ``E`` its row's stored entries
(nonzeros plus the padding entries of its index format); the BC spends ``ceil(K / stream_width)`` cycles
streaming the ``K`` input neurons past the IMs. Load imbalance comes from rows of unequal density in the
same tile: the per-PE FIFO lets a PE run ahead of the others by ``fifo_tasks`` tasks, no more.

Weight indexing comes from the format encoder named in the config (``weight_format`` plus
``format_params``), each output neuron's synapses being their own stream:

* step indexing (the paper's choice, more efficient in area and power than direct indexing): each synapse
  with the run of zeros before it, ``csr`` with ``index_mode: relative`` (default 4-bit steps; a longer gap
  stores padding entries that occupy a multiplier slot), or ``rle`` / ``zero_padded_delta``; the IM
  accumulates the steps into neuron addresses, Tm per cycle;
* direct indexing: ``bitmap``, one bit per synapse position; the IM prefix-sums the bit string
  (``stream_width`` bits per cycle) to find the neurons;
* ``dense``: no index, every synapse stored (DianNao's operation, the dense baseline).

Energy (action counts priced by the config's table, 45 nm data scaled to 65 nm): MACs for every stored
entry; SB reads of the synapses per use; NBin reads of the streamed input neurons (once per task, shared
by the IMs); NBout writes and drains; DRAM for weights with their index (from the encoder), inputs and
outputs. The IM's work is its own component, ``energy_indexing_pj``: reading the index, writing the
streamed neurons into each IM's window register, decoding (one index operation per step, or per 8 bits of
a direct index, plus one per selected neuron) and sending the selected neurons over the BC-to-PE wires.

What we could verify in public sources: the abstract (16 PEs, up to 544 GOP/s, 6.38 mm^2 and 954 mW at
65 nm, 7.23x speedup and 6.43x energy saving over DianNao on average); the BC/IM/PEFU organization and
step vs direct indexing (secondary summaries); the step index as the run of zeros before each weight (IEEE
Circuits and Systems Magazine, Q3 2023, Fig. 13); the IM's share, 31.07 % of area and 34.83 % of power,
as Cambricon-S (MICRO 2018, Sec. 1) quotes it. From memory, unverified: Tm = 16, 1 GHz, 16-bit fixed
point.

What it leaves out, and what we assumed where the paper is silent (or unread):

* The step-index width (4 bits, as EIE and Deep Compression's FC layers) and that a padding entry costs a
  multiplier slot like a synapse.
* The IM's structure beyond the abstract: one IM per PE fed by one shared neuron stream of
  ``stream_width`` neurons per cycle (assumed 256 = Tn * Tm); IM window registers sized to that stream.
* PE asynchrony is bounded by a per-PE FIFO of ``fifo_tasks`` tasks (assumed 2); the paper does not say
  how far PEs may drift apart.
* Buffer capacities (assumed NBin = NBout = 8 KB, SB = 16 KB per PE) only price accesses: SB overflow and
  refetching are not modelled; every layer reads its input from and writes its output to DRAM once.
* The BCFU (pooling, activation functions) and the control processor are not modelled.
* Grouped and depthwise convolutions: tiles never mix groups, so a depthwise layer uses one PE per tile.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..energy import ActionCounts
from ..errors import ConfigError
from ..results import LayerResult
from ._cambricon_common import (CambriconParams, array_inventory, assemble, ceil_div, log2_ceil, make_encoder,
                                pipeline, selector, tile_rows)
from .base import ArchModel, register

#: formats whose index is kept per output neuron (the rows of W), and how the IM reads it
STEP_FORMATS = ("csr", "rle", "zero_padded_delta", "coo")
DIRECT_FORMATS = ("bitmap",)
PLAIN_FORMATS = ("dense",)
#: bits of a direct index one index operation of the IM's prefix sum handles (a narrow adder)
DIRECT_BITS_PER_OP = 8


@dataclass
class CambriconXParams(CambriconParams):
    #: the synapses' storage format (an accelsim.formats name): csr (relative) is step indexing,
    #: bitmap is direct indexing, dense is DianNao's operation
    weight_format: str = "csr"
    #: parameters of the encoder (value_bits comes from value_bits)
    format_params: dict = field(default_factory=lambda: {"index_mode": "relative", "index_bits": 4})

    def validate(self):
        allowed = STEP_FORMATS + DIRECT_FORMATS + PLAIN_FORMATS
        if self.weight_format not in allowed:
            raise ConfigError(f"'params.weight_format' must keep each output neuron's synapses together, one of "
                              f"{', '.join(allowed)}; got {self.weight_format!r}")
        if self.format_params.get("order", "row") != "row":
            raise ConfigError("'params.format_params.order' must be row: Cambricon-X stores each output "
                              "neuron's synapses as one stream")
        encoder(self)

    @property
    def index_kind(self) -> str:
        if self.weight_format in DIRECT_FORMATS:
            return "direct"
        if self.weight_format in PLAIN_FORMATS:
            return "dense"
        return "step"


def encoder(p: CambriconXParams):
    return make_encoder(p.weight_format, {"value_bits": p.value_bits, **p.format_params}, "weight_format")


def row_entries(fmt, w: np.ndarray) -> tuple[np.ndarray, float, float, int]:
    """Stored entries of every row of *w* (nonzeros plus padding) and the storage totals,
    ``(entries, value_bits, metadata_bits, padding_entries)``, from the encoder.

    Each row is its own stream: CSR keeps rows apart by construction (its row pointers give the entries);
    a format without padding stores each nonzero once; other streamed formats are measured row by row.
    """
    nnz = np.count_nonzero(w, axis=1).astype(np.int64)
    if fmt.name == "csr":
        enc = fmt.encode(w)
        entries = np.diff(np.asarray(enc.payload["ptr"], dtype=np.int64))
        return entries, float(enc.value_bits), float(enc.metadata_bits), int(enc.padding_entries)
    enc = fmt.measure(w)
    if enc.padding_entries == 0:
        return nnz, float(enc.value_bits), float(enc.metadata_bits), 0
    entries = np.empty(w.shape[0], dtype=np.int64)
    vb = mb = pads = 0
    for i in range(w.shape[0]):
        e = fmt.measure(w[i:i + 1])
        entries[i] = e.nnz + e.padding_entries
        vb += e.value_bits
        mb += e.metadata_bits
        pads += e.padding_entries
    return entries, float(vb), float(mb), int(pads)


@register
class CambriconX(ArchModel):
    name = "cambricon_x"
    description = "Cambricon-X (MICRO 2016): 16 PEs x 16 multipliers, per-PE indexing modules, sparse weights only"
    Params = CambriconXParams

    def simulate(self, lt, p: CambriconXParams) -> LayerResult:
        lay = lt.layer
        M, K, N = lay.M, lay.K, lay.N
        P, Tm, vb = p.pes, p.multipliers, p.value_bits
        kind = p.index_kind
        entries, w_bits, idx_bits, pads = row_entries(encoder(p), lt.weight)

        rows = tile_rows(M, lay.groups, P)
        active = rows >= 0
        rowc = np.where(active, ceil_div(entries[np.maximum(rows, 0)], Tm), 0)
        n_tiles = rows.shape[0]
        scan = np.full(n_tiles, -(-K // p.stream_width), dtype=np.int64)
        cycles, busy = pipeline(rowc, np.zeros((n_tiles, 1), dtype=np.int64), active, scan, N, p.fifo_tasks)

        total_entries = float(entries.sum())
        products = N * total_entries
        acts = ActionCounts().mac(products, vb)
        # synapse buffer: filled once, each synapse read once per output position
        sb_bits = N * w_bits + (w_bits + idx_bits)
        acts.sram(sb_bits, p.sb_bytes, component="sb")
        # NBin: filled once; the K input neurons of every task streamed once past all the IMs
        x_elems = float(lt.input.size)
        nbin_bits = n_tiles * N * K * vb + x_elems * vb
        acts.sram(nbin_bits, p.nbin_bytes, component="nbin")
        nbout_bits = 2.0 * M * N * vb
        acts.sram(nbout_bits, p.nbout_bytes, component="nbout")
        # the indexing modules
        index_reads = N * idx_bits
        if kind != "dense":
            acts.sram(index_reads, p.sb_bytes, component="indexing")
            window_bytes = max(1, p.stream_width * vb // 8)
            acts.rf(float(N) * M * K * vb, window_bytes, component="indexing")
            decode = N * total_entries
            if kind == "direct":
                decode += float(N) * M * -(-K // DIRECT_BITS_PER_OP)
            acts.index(decode, component="indexing")
            acts.wire(N * total_entries * vb * p.bc_pe_hops, component="indexing")
        else:
            acts.wire(N * total_entries * vb * p.bc_pe_hops, component="noc")
        dram = (w_bits + idx_bits) / 8 + x_elems * vb / 8 + M * N * vb / 8
        acts.dram(dram)
        sram_bytes = (sb_bits + nbin_bits + nbout_bits + (index_reads if kind != "dense" else 0)) / 8
        return assemble(p, pipeline_cycles=cycles, busy=busy, scan_cycles=float(scan.sum()) * N, products=products,
                        actions=acts, weight_bits=w_bits, metadata_bits=idx_bits, dram_bytes=dram,
                        sram_bytes=sram_bytes,
                        extra={"index_kind": kind, "stored_entries": total_entries, "padding_entries": float(pads),
                               "tiles": n_tiles, "activation_skip_fraction": 0.0})

    def inventory(self, p: CambriconXParams):
        """The PE array and buffers (:func:`~accelsim.arch._cambricon_common.array_inventory`) plus one
        indexing module per PE in the buffer controller (component ``indexing``, the IM whose share of the
        area Cambricon-S quotes as 31.07 %): a window register holding the ``stream_width`` streamed input
        neurons, a selector picking the PE's Tm neurons out of that window (``Tm x stream_width x
        value_bits`` multiplexer bits) and the index logic that turns the PE's index into window positions:
        the running sum of Tm steps of ``log2(stream_width)`` bits (step indexing) or a prefix sum over the
        ``stream_width`` bits of a direct index. DianNao's operation (``weight_format: dense``) has no IM.
        """
        inv = array_inventory(p)
        kind = p.index_kind
        if kind == "dense":
            return inv
        W, Tm = p.stream_width, p.multipliers
        pos = log2_ceil(W)
        inv.rf(W * p.value_bits / 8, p.pes, component="indexing")
        prefix = Tm * pos if kind == "step" else W * pos
        return selector(inv, p.pes, Tm, W, p.value_bits, prefix, component="indexing")
