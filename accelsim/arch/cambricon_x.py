"""``cambricon_x``: Cambricon-X, a sparse-weight accelerator with a central indexing module.

What it models (Zhang et al., "Cambricon-X: An Accelerator for Sparse Neural Networks", MICRO 2016,
Sec. III-IV as far as we could read it): ``pes`` (Tn = 16) PEs, each ``multipliers`` (Tm = 16) multipliers
and an adder tree (the PEFU, inherited from DianNao), each PE computing one output neuron at a time from
its *nonzero* synapses only, stored compressed in its own synapse buffer. A buffer controller (BC) between
NBin and the PEs holds one indexing module (IM) per PE: the input neurons stream past the IMs and each IM
uses its PE's weight index to select the neurons that PE needs and sends them over the PE's Tm-wide link.
PEs run asynchronously (see :mod:`accelsim.arch._cambricon_common` for the mapping of output neurons to
PEs, the BC/PE pipeline and the cycle account). Zero activations are *not* skipped: every stored synapse
is multiplied.

Per task (one output neuron per PE) a PE spends ``ceil(E / Tm)`` cycles, ``E`` its row's stored entries
(nonzeros plus the padding entries of its index format); the BC spends ``ceil(K / stream_width)`` cycles
streaming the ``K`` input neurons past the IMs. Load imbalance comes from rows of unequal density in the
same tile: the per-PE FIFO lets a PE run ahead of the others by ``fifo_tasks`` tasks, no more.

Weight indexing comes from the format encoder named by ``weight_format`` (a FormatRef), each output
neuron's synapses being their own stream:

* step indexing (the paper's choice, more efficient in area and power than direct indexing): each synapse
  with the run of zeros before it, ``{name: csr, params: {index_mode: relative, index_bits: 4}}`` (the
  default; a longer gap stores padding entries that occupy a multiplier slot), or ``rle`` /
  ``zero_padded_delta``, or absolute offsets (``csr`` absolute, ``coo``); the IM accumulates the steps into
  neuron addresses, Tm per cycle;
* direct indexing: ``bitmap``, one bit per synapse position; the IM prefix-sums the bit string
  (``stream_width`` bits per cycle) to find the neurons;
* ``dense``: no index, every synapse stored (DianNao's operation, the dense baseline).

Declared hardware (:meth:`CambriconX.hardware`): the MAC array (``mac``), ``nbin``, ``nbout``, one ``sb``
per PE holding the synapses and their index in ``weight_format``, and the IMs: ``im_window`` (each IM's
register of the streamed neurons), ``im_mux`` (each IM's selector of Tm neurons out of that window; the
selected neurons' wires to the PE are charged to it) and ``im`` (the index logic turning the index into
window positions). Energy (action counts priced by the config's table, 45 nm data scaled to 65 nm): MACs
for every stored entry; SB reads of the synapses and of their index per use, SB fill; NBin reads of the
streamed input neurons (once per task, shared by the IMs) and fill; NBout writes and drains; the IMs'
window writes, decode operations (one per step, or per 8 bits of a direct index, plus one per selected
neuron) and the BC-to-PE wires; DRAM for weights with their index (from the encoder), inputs and outputs.
The IMs are the ``im*`` components, the same names Cambricon-S gives its selectors.

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
  refetching are not modelled; every layer reads its input from and writes its output to DRAM once, at
  the assumed ``dram_bytes_per_cycle`` (16 B/cycle), overlapped with compute (the runner's roofline).
* The BCFU (pooling, activation functions) and the control processor are not modelled.
* Grouped and depthwise convolutions: tiles never mix groups, so a depthwise layer uses one PE per tile.

The statistical mode (:meth:`CambriconX.simulate_stats`) draws each row's stored entries from the layer's
density (:mod:`accelsim.arch._row_stats`: per-row densities of magnitude pruning, block rows, N:M rows,
kept channels; padding entries as expected for the row's density) and runs them through the same pipeline
and accounting as a trace: memory O(rows).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from ..formats.kernels import row_stream_entries

from ..energy import ActionCounts
from ..errors import ConfigError
from ..hardware import Dram, FormatRef, Hardware, Logic, Memory, address_bits
from ..results import LayerResult
from . import _row_stats
from ._cambricon_common import (DRAM_SOURCE, CambriconParams, Pipeline, array_compute, array_memories, assemble,
                                ceil_div, declared, make_encoder, selector_bits, tile_rows)
from .base import ArchModel, register

#: formats whose index is kept per output neuron (the rows of W), and how the IM reads it
STEP_FORMATS = ("csr", "rle", "zero_padded_delta", "coo")
DIRECT_FORMATS = ("bitmap",)
PLAIN_FORMATS = ("dense",)
#: bits of a direct index one index operation of the IM's prefix sum handles (a narrow adder)
DIRECT_BITS_PER_OP = 8


@dataclass
class CambriconXParams(CambriconParams):
    #: the synapses' storage format: csr (relative) is step indexing, bitmap direct indexing, dense is
    #: DianNao's operation (value_bits comes from value_bits unless the format's params give it)
    weight_format: FormatRef = FormatRef("csr", {"index_mode": "relative", "index_bits": 4})
    #: deprecated (goes in 0.3): the encoder's parameters, now ``weight_format: {name, params}``
    format_params: dict | None = None

    def validate(self):
        if self.format_params is not None:
            warnings.warn("'params.format_params' is deprecated, give them in 'params.weight_format' as "
                          "{name: ..., params: {...}} (the old name goes in 0.3)", FutureWarning, stacklevel=3)
            self.weight_format = FormatRef(self.weight_format.name, {**self.weight_format.kwargs,
                                                                      **self.format_params})
            self.format_params = None
        allowed = STEP_FORMATS + DIRECT_FORMATS + PLAIN_FORMATS
        if self.weight_format.name not in allowed:
            raise ConfigError(f"'params.weight_format' must keep each output neuron's synapses together, one of "
                              f"{', '.join(allowed)}; got {self.weight_format.name!r}")
        if self.weight_format.kwargs.get("order", "row") != "row":
            raise ConfigError("'params.weight_format.params.order' must be row: Cambricon-X stores each output "
                              "neuron's synapses as one stream")
        encoder(self)

    @property
    def index_kind(self) -> str:
        if self.weight_format.name in DIRECT_FORMATS:
            return "direct"
        if self.weight_format.name in PLAIN_FORMATS:
            return "dense"
        return "step"


def encoder(p: CambriconXParams):
    return make_encoder(p.weight_format, "weight_format", value_bits=p.value_bits)


def step_span(fmt) -> int:
    """Positions one stored entry of a gap-coded row can cover (a longer gap stores padding entries);
    0 when the format stores no padding (absolute offsets, bitmap, dense)."""
    if fmt.name == "csr" and fmt.p.index_mode == "relative":
        return 1 << (fmt.p.index_bits or 4)
    if fmt.name in ("rle", "zero_padded_delta"):
        return fmt.span()
    return 0


def row_entries(fmt, mask: np.ndarray) -> tuple[np.ndarray, float, float, int]:
    """Stored entries of every row of the nonzero *mask* (nonzeros plus padding) and the storage totals
    ``(entries, value_bits, metadata_bits, padding_entries)``, from the encoder.

    Each row is its own stream. CSR (relative indices restart every row), COO, bitmap and dense measure the
    whole matrix at once; a gap-coded stream (``rle``, ``zero_padded_delta``) is measured row by row.
    """
    entries = row_stream_entries(mask, step_span(fmt))
    if fmt.name in ("rle", "zero_padded_delta"):
        vb = mb = pads = 0
        for i in range(mask.shape[0]):
            e = fmt.measure(mask[i:i + 1])
            vb += e.value_bits
            mb += e.metadata_bits
            pads += e.padding_entries
        return entries, float(vb), float(mb), int(pads)
    enc = fmt.measure(mask)
    if fmt.name == "dense":   # every synapse stored, zeros included
        entries = np.full(mask.shape[0], mask.shape[1], dtype=np.int64)
    return entries, float(enc.value_bits), float(enc.metadata_bits), int(enc.padding_entries)


def expected_storage(fmt, lay, entries: np.ndarray, density: float) -> tuple[float, float]:
    """``(value_bits, metadata_bits)`` of *entries* stored entries (drawn rows of the statistical mode): the
    encoder's analytic size at the layer's density, its per-entry part rescaled to the drawn entries."""
    e = fmt.expected((lay.M, lay.K), min(max(density, 0.0), 1.0))
    total = float(entries.sum())
    if fmt.name in ("dense", "bitmap"):
        return total * fmt.p.value_bits, float(e.metadata_bits)
    fixed = float(e.breakdown.get("pointers", 0.0))
    stored = float(e.nnz + e.padding_entries)
    per_entry = (float(e.metadata_bits) - fixed) / stored if stored > 0 else 0.0
    return total * fmt.p.value_bits, total * per_entry + fixed


@register
class CambriconX(ArchModel):
    name = "cambricon_x"
    description = "Cambricon-X (MICRO 2016): 16 PEs x 16 multipliers, per-PE indexing modules, sparse weights only"
    Params = CambriconXParams

    def hardware(self, p: CambriconXParams) -> Hardware:
        """The PE array and its buffers (:func:`~accelsim.arch._cambricon_common.array_memories`) plus one
        indexing module per PE in the buffer controller (the IM whose share of the area Cambricon-S quotes
        as 31.07 %): ``im_window``, a register of the ``stream_width`` streamed input neurons; ``im_mux``, a
        selector picking the PE's Tm neurons out of that window (``Tm x stream_width x value_bits``
        multiplexer bits); ``im``, the index logic turning the PE's index into window positions: the
        running sum of Tm steps of ``log2(stream_width)`` bits (step indexing) or a prefix sum over the
        ``stream_width`` bits of a direct index. DianNao's operation (``weight_format: dense``) has no IM.
        The control processor, the BCFU and the DRAM interface are left out.
        """
        W, Tm, vb, P = p.stream_width, p.multipliers, p.value_bits, p.pes
        mems = array_memories(p, p.weight_format)
        logic = []
        kind = p.index_kind
        if kind != "dense":
            pos = address_bits(W)
            prefix = Tm * pos if kind == "step" else W * pos
            mems.append(Memory("im_window", "rf", W * vb / 8, count=P, width_bits=W * vb, operands=("inputs",)))
            logic = [Logic("im_mux", "mux", selector_bits(P, Tm, W, vb)), Logic("im", "index", P * prefix)]
        return Hardware(compute=array_compute(p), memories=mems, logic=logic,
                        dram=Dram(p.dram_bytes_per_cycle, DRAM_SOURCE))

    def simulate(self, lt, p: CambriconXParams) -> LayerResult:
        # one byte per weight: the only temporary of the layer's size (the encoder's measure needs the mask)
        mask = lt.weight != 0
        entries, w_bits, idx_bits, pads = row_entries(encoder(p), mask)
        del mask
        return self._result(p, lt.layer, entries, w_bits, idx_bits, pads)

    def simulate_stats(self, ls, p: CambriconXParams) -> LayerResult:
        """Expected values from the layer's shape and density: each row's stored entries drawn (with the
        layer's seed) from the pattern's per-row distribution, then the trace path's pipeline."""
        lay = ls.layer
        fmt = encoder(p)
        rng = np.random.default_rng([int(ls.seed), 0x43580])
        rows = _row_stats.row_model(ls, rng)
        if fmt.name == "dense":
            entries = np.full(lay.M, lay.K, dtype=np.int64)
            pads = float(lay.M * lay.K - rows.nnz.sum())
        else:
            # padding entries: Poisson about each row's expectation (keeps the mean, and whole entries)
            pad = rng.poisson(_row_stats.expected_padding(rows, step_span(fmt)))
            entries = rows.nnz + pad
            pads = float(pad.sum())
        w_bits, idx_bits = expected_storage(fmt, lay, entries, ls.weight_density)
        return self._result(p, lay, entries, w_bits, idx_bits, pads)

    def _result(self, p: CambriconXParams, lay, entries: np.ndarray, w_bits: float, idx_bits: float,
                pads: float) -> LayerResult:
        hw = declared(self, p)
        M, K, N = lay.M, lay.K, lay.N
        P, Tm, vb = p.pes, p.multipliers, p.value_bits
        kind = p.index_kind

        rows = tile_rows(M, lay.groups, P)
        active = rows >= 0
        rowc = np.where(active, ceil_div(entries[np.maximum(rows, 0)], Tm), 0)
        n_tiles = rows.shape[0]
        pl = Pipeline(n_tiles, P, N, p.fifo_tasks)
        pl.feed(rowc, np.zeros((n_tiles, 1), dtype=np.int64), active, np.full(n_tiles, -(-K // p.stream_width)))

        total_entries = float(entries.sum())
        products = N * total_entries
        x_elems = float(math.prod(lay.input_shape))
        sb, nbin, nbout = hw.memory("sb"), hw.memory("nbin"), hw.memory("nbout")
        acts = ActionCounts().mac(products, vb)
        # synapse buffer: filled once (values and index), each synapse read once per output position
        acts.write(sb, w_bits + idx_bits).read(sb, N * w_bits)
        # NBin: filled once; the K input neurons of every task streamed once past all the IMs
        nbin_reads = float(n_tiles) * N * K * vb
        acts.write(nbin, x_elems * vb).read(nbin, nbin_reads)
        acts.write(nbout, float(M) * N * vb).read(nbout, float(M) * N * vb)
        index_reads = N * idx_bits if kind != "dense" else 0.0
        if kind != "dense":
            # the IMs: each reads its PE's index per task, takes the K streamed neurons into its window,
            # decodes (one op per step, or per 8 bits of a direct index, plus one per selected neuron) and
            # sends the selected neurons over its Tm-wide link
            acts.read(sb, index_reads)
            acts.write(hw.memory("im_window"), float(N) * M * K * vb)
            decode = N * total_entries
            if kind == "direct":
                decode += float(N) * M * -(-K // DIRECT_BITS_PER_OP)
            acts.index(decode, component="im")
            acts.wire(products * vb * p.bc_pe_hops, component="im_mux")
        else:
            acts.wire(products * vb * p.bc_pe_hops, component="noc")
        dram = (w_bits + idx_bits) / 8 + x_elems * vb / 8 + M * N * vb / 8
        acts.dram(dram)
        sram_bits = (w_bits + idx_bits) + N * w_bits + x_elems * vb + nbin_reads + 2.0 * M * N * vb + index_reads
        return assemble(p, pl, active.sum(axis=1), products=products, actions=acts, weight_bits=w_bits,
                        metadata_bits=idx_bits, dram_bytes=dram, sram_bytes=sram_bits / 8,
                        totals={"stored_entries": total_entries, "padding_entries": float(pads)},
                        extra={"index_kind": kind, "tiles": n_tiles, "activation_skip_fraction": 0.0})
