"""``sigma``: SIGMA, a sparse and irregular GEMM accelerator with flexible interconnects.

What it models (Qin et al., "SIGMA: A Sparse and Irregular GEMM Accelerator with Flexible
Interconnects for DNN Training", HPCA 2020, Sec. III-VI; text read from a public English
transcript of the paper, and the authors' Flex-DPE RTL, github.com/georgia-tech-synergy-lab/SIGMA):
a Flex-DPU of ``dpes`` Flex-DPEs, each ``dpe_size`` multipliers fed by a distribution network
(Benes in the paper) and drained by a Forwarding Adder Network (FAN). Both operands are stored as
bitmaps (Sec. IV-C). One operand is *stationary*: its nonzeros sit in the multipliers' buffers; the
other *streams*, one vector per cycle, each multiplier receiving the streaming element that meets
its stationary value (Sec. IV-E steps i-vii):

1. bitmap logic (step ii): the stationary bitmap is ANDed with the OR of the streaming bitmap over
   the streamed vectors, so only *useful* stationary nonzeros are mapped;
2. K is cut into chunks of ``stream_bw`` indices: a fold holds stationary values of one chunk only,
   so that one streamed vector (the chunk's slice of a streaming column or row) crosses the
   ``stream_bw``-word input bus in one cycle. The paper gives SIGMA an input SRAM bandwidth of 128
   unique words per cycle (Sec. V, VI-A), and the per-GEMM cycle counts it reports (as tabulated
   by TeAAL's artifact, FPSG-UIUC/micro23-teaal-artifact, ``data/baselines/sigma.csv``) follow
   this tiling: TeAAL's SIGMA mapping cuts K by 128 (``yamls/teaal/sigma.yaml``);
3. within a chunk the useful nonzeros are packed contiguously, row after row, onto the
   ``dpes * dpe_size`` multipliers; a fold is one array-full. A row piece that does not fit goes on
   in the next fold, and every row piece is one dot-product cluster of the FAN; partial sums of
   a row from several folds and chunks accumulate in the output buffer;
4. stationary load: ``ceil(values / dist_bw)`` cycles (step iv: the bus fills
   ``dist_bw`` multipliers a cycle; the RTL's stationary flag latches one bus-width per cycle);
5. streaming: one cycle per streamed vector, pipelined (RTL: ``mult_switch.v`` multiplies every
   valid cycle, ``fan_ctrl.v`` registers the FAN's control per level, so a new vector enters each
   cycle);
6. reduction: the FAN is a pipeline of ``log2(dpe_size)`` adder levels whose depth does not depend
   on the cluster sizes (RTL: ``fan_network.v`` flops finished clusters level by level to one
   output stage), and the next fold's stationary values follow the last streamed vector through
   the same pipeline, so a fold's reduction overlaps the next fold's load. Only the layer's last
   drain is exposed: one distribution and one multiply stage (Sec. V: "1-cycle distribution,
   1-cycle multiplication, and 1-cycle for each level of reduction") plus the FAN levels, plus one
   level per doubling of the Flex-DPEs a cluster spans (the Flex-DPU adds partial sums across
   Flex-DPEs; assumed a tree). ``reduction_overlap: false`` charges the levels after every fold
   instead, as the paper's own performance model does ("taking logN cycles ... before starting the
   next fold", Sec. IV-A2 on Fig. 6b).

So a layer takes ``sum over folds (load + streamed vectors) + drain`` cycles. The cycle account:
``ideal = effectual MACs / multipliers``; losses: ``stationary_load`` (the loads),
``fragmentation`` (multiplier-cycles of the streaming phase that perform no MAC: multipliers left
empty by partly filled folds, and multipliers whose streamed partner is zero, which receive
nothing (step v pairs only nonzero with nonzero)), ``fill_drain`` (the distribution and multiply
stages) and ``reduction`` (the FAN levels). The runner adds the DRAM roofline.

Both dataflows are modelled (``dataflow: ws`` weights stationary, ``is`` inputs stationary);
``best`` (the default) reports the faster, as the paper does (Sec. IV-D).

Operand naming. accelsim's GEMM view is ``W (M x K) @ X (K x N)``, W the weights. The paper writes
GEMMs as M-N-K with an MK matrix times a KN matrix, where "MK represent[s] inputs and KN
represent[s] weights" (Sec. I). So the paper's weights KN are our W transposed and the paper's
M-N-K GEMM is ``gemm:{N}x{M}x{K}`` here (our M is its N). The study and validation translate.

Two front ends share the fold walk (:func:`_fold_walk`, fed by per-chunk, per-row useful counts):
the trace path takes both operands' bitmaps; the statistical path (:meth:`Sigma.simulate_stats`,
and :func:`estimate` for a bare GEMM) draws the per-row counts of a bounded sample of K chunks
from their distribution under the pattern (unstructured, N:M, block, channel) and the activation
density, and scales the sampled chunks' costs to all chunks. It allocates O(rows x sampled chunks),
never a tensor of the layer's size, so the paper's 1024-16-500000 and LLM layers run in
milliseconds.

Formats are priced by the hardware that reads them: the weight and input formats (``FormatRef``)
go through the ``accelsim.formats`` encoders for bits stored (``weight_bits``, ``metadata_bits``),
bits moved (SRAM reads of the stationary operand once and of the streaming operand once per fold of
its chunk; DRAM) and the controller's work: a bitmap is consumed by 64-bit AND/OR/popcount word
operations (step ii); any other format is first decoded by the front-end controller, one index
operation per stored entry, into the bitmaps the mapping logic works on (Sec. IV-C: "alternate
compression formats can be supported ... by only changing the front end controller").

Energy from action counts: multiplications (effectual only), the stationary registers (written at
load, read per multiplication), distribution-network traversals (:func:`benes_hops`: ``2 log2(dpe_size)
- 1`` switch stages per stationary word; a streamed word is multicast, Sec. IV-A1, as one tree per
Flex-DPE it reaches), FAN additions (``values - clusters`` per streamed vector, zero products included:
the FAN does not gate by value), partial-sum accumulations, SRAM, bitmap and decode operations,
DRAM (each operand as its format stores it, and the outputs, once). The data SRAM is ``sram_banks``
one-word banks (128 words a cycle need as many ports), so an access costs one bank's energy.

Left out, and assumed where the sources are silent: DRAM bandwidth (not stated by the paper; the
shipped config assumes an HBM-class 1024 GB/s as TeAAL's SIGMA specification does, so the paper's
GEMMs stay on-chip bound); streaming vectors are skipped only when they meet no stationary nonzero
of the whole layer; the controller's mapping time (steps ii-vi) is hidden behind the previous
GEMM; grouped and depthwise convolutions run as one block-diagonal GEMM.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np
from numba import njit

from ..config import positive
from ..energy import ActionCounts
from ..errors import AccelsimError, ConfigError, ModelError
from ..hardware import Compute, Dram, FormatRef, Hardware, Logic, Memory
from ..results import LayerResult
from .base import ArchModel, CommonParams, register

DATAFLOWS = ("best", "ws", "is")
#: bits the bitmap logic handles per operation (a 64-bit AND/OR/popcount word)
_BITMAP_WORD_BITS = 64
#: pipeline stages before the FAN: one to distribute, one to multiply (Sec. V)
_PIPE_STAGES = 2
#: K chunks the statistical path draws per layer and dataflow (the rest are scaled copies)
_STAT_CHUNKS = 8
#: the DRAM bandwidth assumption, stated once (config comment and docs say the same)
DRAM_SOURCE = ("assumed: 1024 GB/s (HBM class) at 500 MHz = 2048 B/cycle, as TeAAL's SIGMA specification "
               "(FPSG-UIUC/micro23-teaal-artifact); the paper states no DRAM bandwidth and feeds SIGMA from SRAM")


@dataclass
class SigmaParams(CommonParams):
    #: the clock (assumed: 500 MHz, as TeAAL's SIGMA specification; the paper does not state it)
    freq_hz: float = positive(500e6)
    #: DRAM bytes per cycle (see DRAM_SOURCE)
    dram_bytes_per_cycle: float = positive(2048.0)
    value_bits: int = field(default=16, metadata={"min": 1, "max": 64})
    #: Flex-DPEs in the Flex-DPU (Sec. VI-A: 128 in the evaluated instance)
    dpes: int = positive(128)
    #: multipliers per Flex-DPE (128 in the evaluated instance); a power of two
    dpe_size: int = positive(128)
    #: stationary words the distribution network delivers per cycle (Sec. V: 128 words/cycle from SRAM)
    dist_bw: int = positive(128)
    #: unique streaming words per cycle: a fold spans at most this many K indices (Sec. V, VI-A: 128)
    stream_bw: int = positive(128)
    #: a fold's FAN drain overlaps the next fold's load (the RTL's pipelined FAN); false: every fold waits
    #: its adder levels before the next one starts (the paper's performance model, Sec. IV-A2, Fig. 6b)
    reduction_overlap: bool = True
    #: best (faster of the two, as the paper reports), ws (weights stationary), is (inputs stationary)
    dataflow: Literal["best", "ws", "is"] = "best"
    #: storage formats of the operands; SIGMA stores both as bitmaps (Sec. IV-C)
    weight_format: FormatRef = FormatRef("bitmap")
    input_format: FormatRef = FormatRef("bitmap")
    #: deprecated (0.3): extra parameters for both encoders; give each format its own ``params``
    format_params: dict = field(default_factory=dict)
    #: on-chip data SRAM capacity (assumed; its area)
    sram_bytes: int = positive(16 << 20)
    #: banks of the data SRAM, one word each a cycle: 128 words a cycle (Sec. V) need 128 ports; an access
    #: costs the energy of one bank of ``sram_bytes / sram_banks``
    sram_banks: int = positive(128)

    def validate(self):
        if self.dpe_size & (self.dpe_size - 1):
            raise ConfigError(f"'params.dpe_size' must be a power of two (Benes and FAN are radix-2), "
                              f"got {self.dpe_size}")
        if self.dataflow not in DATAFLOWS:
            raise ConfigError(f"'params.dataflow' must be one of {', '.join(DATAFLOWS)}, got {self.dataflow!r}")
        if not isinstance(self.format_params, dict):
            raise ConfigError(f"'params.format_params' must be a mapping, got {self.format_params!r}")
        if self.format_params:
            # the old spelling: one mapping for both encoders; moved into each FormatRef (one release)
            warnings.warn("'params.format_params' is deprecated, give each format its params "
                          "(weight_format: {name: ..., params: {...}}); the old name goes in 0.3",
                          FutureWarning, stacklevel=3)
            for key in ("weight_format", "input_format"):
                ref = getattr(self, key)
                setattr(self, key, FormatRef(ref.name, {**self.format_params, **ref.kwargs}))
            self.format_params = {}
        for key in ("weight_format", "input_format"):
            _encoder(self.value_bits, getattr(self, key), key)

    @property
    def multipliers(self) -> int:
        return self.dpes * self.dpe_size


def _encoder(value_bits: int, ref: FormatRef, key: str = "weight_format"):
    """The format encoder of an operand (its FormatRef, at the datapath width)."""
    try:
        try:
            return _cached_encoder(value_bits, ref)
        except TypeError:   # a parameter value that cannot be hashed: build it uncached
            return _build_encoder(value_bits, ref)
    except AccelsimError as e:
        raise ConfigError(f"'params.{key}': {e}") from None


@lru_cache(maxsize=64)
def _cached_encoder(value_bits: int, ref: FormatRef):
    return _build_encoder(value_bits, ref)


def _build_encoder(value_bits: int, ref: FormatRef):
    from ..formats import get_format
    return get_format(ref.name, **{"value_bits": value_bits, **ref.kwargs})


# ---- numba kernels: bitmaps in, per-chunk per-row counts out --------------------------------------

@njit(cache=True)
def _nnz_per_row_and_col(mask, row_nnz, col_nnz):
    """Nonzeros of each row and of each column of a 0/1 matrix, in one pass in memory order."""
    rows, cols = mask.shape
    for i in range(rows):
        c = 0
        for j in range(cols):
            v = mask[i, j]
            c += v
            col_nnz[j] += v
        row_nnz[i] = c


@njit(cache=True)
def _add_row_chunk_counts(mask, keep, koff, C, row0, out):
    """``out[c, row0 + i]`` += nonzeros of row i of *mask* at kept K indices of chunk c (AND, popcount).

    *mask* and *keep* are 0/1 (uint8); *mask* holds one group's stationary rows (rows x Kg), whose
    K index j is ``koff + j`` in the layer's block-diagonal K, cut into chunks of C.
    """
    rows, cols = mask.shape
    for i in range(rows):
        j = 0
        while j < cols:
            c = (koff + j) // C
            end = min(cols, (c + 1) * C - koff)
            cnt = 0
            for jj in range(j, end):
                cnt += mask[i, jj] & keep[koff + jj]
            out[c, row0 + i] += cnt
            j = end


@njit(cache=True)
def _add_col_chunk_counts(mask, keep, koff, C, out):
    """``out[c, n]`` += nonzeros of column n of *mask* (Kg x N, 0/1) at kept K indices of chunk c."""
    rows, cols = mask.shape
    for j in range(rows):
        kt = koff + j
        if keep[kt]:
            c = kt // C
            for n in range(cols):
                out[c, n] += mask[j, n]


@njit(cache=True)
def _fold_walk(counts, weights, P, dpe, bw):
    """Pack each chunk's per-row useful counts onto ``P`` multipliers, row after row.

    ``counts`` is (chunks x rows); ``weights`` how many chunks each stands for (1 on a trace).
    Returns per chunk ``[folds, values, load cycles, clusters, Flex-DPE crossings]``, the
    weighted multipliers filled per Flex-DPE summed over folds, and the most Flex-DPEs one
    cluster spans.
    """
    nch, R = counts.shape
    stats = np.zeros((nch, 5), dtype=np.int64)
    fill = np.zeros(P // dpe, dtype=np.float64)
    max_span = 1
    for c in range(nch):
        pos = 0
        for r in range(R):
            cnt = counts[c, r]
            done = 0
            while done < cnt:
                off = pos % P
                take = min(cnt - done, P - off)
                span = (off + take - 1) // dpe - off // dpe + 1
                stats[c, 3] += 1
                stats[c, 4] += span - 1
                if span > max_span:
                    max_span = span
                done += take
                pos += take
        if pos == 0:
            continue
        nf = (pos + P - 1) // P
        last = pos - (nf - 1) * P
        stats[c, 0] = nf
        stats[c, 1] = pos
        stats[c, 2] = (nf - 1) * ((P + bw - 1) // bw) + (last + bw - 1) // bw
        w = weights[c]
        for d in range(P // dpe):
            fill[d] += w * ((nf - 1) * dpe + min(max(last - d * dpe, 0), dpe))
    return stats, fill, max_span


# ---- one dataflow, from either front end ----------------------------------------------------------

@dataclass
class Side:
    """One dataflow's view of a layer: what is stationary, what streams, the per-chunk row counts."""
    name: str                 # "ws" or "is"
    counts: np.ndarray        # (chunks, stationary rows) useful nonzeros: all chunks, or a sample
    weights: np.ndarray       # chunks each row of ``counts`` stands for (1.0 on a trace)
    chunk_len: np.ndarray     # K indices of each chunk in ``counts``
    k_total: float            # K indices of the block-diagonal GEMM
    stream_len: float         # streamed vectors: those that meet at least one useful stationary nonzero
    nonempty_rows: float      # stationary rows holding a useful nonzero (outputs of the layer's clusters)
    stat_elems: float         # stationary matrix positions (its bitmap bits)
    stream_elems: float       # streaming matrix positions


@dataclass
class Cost:
    """The folds of one dataflow, summed (weighted) over chunks."""
    side: Side
    folds: float
    values: float             # useful stationary nonzeros mapped
    load: float               # stationary load cycles
    clusters: float           # row pieces over all folds
    crossings: float          # clusters spilling into a neighbouring Flex-DPE
    stream: float             # streaming cycles: folds x streamed vectors
    levels: float             # exposed FAN (and cross-Flex-DPE) adder levels, over the layer
    pipe: int                 # exposed distribution and multiply stages
    stream_reads: float       # times the streaming operand is read (folds per chunk, pro rata of K)
    fill: np.ndarray          # multipliers filled per Flex-DPE, summed over folds

    @property
    def cycles(self) -> float:
        return self.load + self.stream + self.pipe + self.levels


def _ceil_log2(n: int) -> int:
    return max(int(n) - 1, 0).bit_length()


def fold_cost(side: Side, p: SigmaParams) -> Cost:
    """Fold, load, stream and drain of one dataflow (both front ends end here)."""
    w = np.ascontiguousarray(side.weights, dtype=np.float64)
    stats, fill, span = _fold_walk(np.ascontiguousarray(side.counts, dtype=np.int64), w, p.multipliers,
                                   p.dpe_size, p.dist_bw)
    tot = w @ stats.astype(np.float64) if stats.size else np.zeros(5)
    folds = float(tot[0])
    L = float(side.stream_len)
    levels = _ceil_log2(p.dpe_size) + _ceil_log2(span) if folds > 0 else 0
    if not p.reduction_overlap:
        levels *= folds
    reads = float(np.sum(w * stats[:, 0] * side.chunk_len)) / side.k_total if side.k_total else 0.0
    return Cost(side=side, folds=folds, values=float(tot[1]), load=float(tot[2]), clusters=float(tot[3]),
                crossings=float(tot[4]), stream=folds * L, levels=levels, pipe=_PIPE_STAGES if folds > 0 else 0,
                stream_reads=reads, fill=fill)


def _choose(sides: list[Side], p: SigmaParams) -> tuple[Cost, dict[str, float]]:
    costs = {s.name: fold_cost(s, p) for s in sides}
    if p.dataflow == "best":
        # the faster; a tie goes to weights stationary (the TPU's and the paper's Fig. 4b mapping)
        best = min(costs.values(), key=lambda c: (c.cycles, c.side.name != "ws"))
    else:
        best = costs[p.dataflow]
    return best, {f"cycles_{k}": v.cycles for k, v in costs.items()}


@dataclass
class Stored:
    """An operand as its format stores it (the encoder's accounting)."""
    value_bits: float
    metadata_bits: float
    entries: float            # stored values (nonzeros and padding): what a decoder walks
    bitmap: bool              # consumed by the bitmap logic directly
    nnz: float                # nonzero values

    @property
    def total_bits(self) -> float:
        return self.value_bits + self.metadata_bits


def _stored_trace(fmt, t: np.ndarray) -> Stored:
    e = fmt.measure(t)
    return Stored(float(e.value_bits), float(e.metadata_bits), float(e.stored_entries), fmt.name == "bitmap",
                  float(e.nnz))


def _stored_expected(fmt, shape, density) -> Stored:
    e = fmt.expected(shape, density)
    return Stored(float(e.value_bits), float(e.metadata_bits), float(e.nnz + e.padding_entries),
                  fmt.name == "bitmap", float(e.nnz))


def _operand_2d(shape: tuple[int, ...]) -> tuple[int, int]:
    """The 2-D view an operand is stored in: a (B, C, H, W) input as (B*C, H*W)."""
    if len(shape) == 4:
        return (shape[0] * shape[1], shape[2] * shape[3])
    return (int(shape[0]), int(math.prod(shape[1:])))


# ---- the model --------------------------------------------------------------------------------------

@register
class Sigma(ArchModel):
    name = "sigma"
    description = "SIGMA (HPCA 2020): Flex-DPEs with Benes distribution and FAN reduction, bitmap operands"
    Params = SigmaParams

    #: the paper's blocks for the area breakdown: the RTL's mult_switch holds multiplier and buffer
    AREA_BLOCKS = {"stationary_regs": "mult", "fan_switches": "fan", "fan_ctrl": "fan"}

    def hardware(self, p: SigmaParams) -> Hardware:
        """The Flex-DPU (Sec. IV), per Flex-DPE of ``dpe_size`` = N multipliers:

        * ``mult``: N multipliers of ``value_bits``; ``stationary_regs``: the ``value_bits`` register
          holding each one's stationary value (the RTL's ``mult_switch``);
        * ``benes``: the N-port Benes distribution network, ``2 log2 N - 1`` stages of N/2 2x2 switches
          (two 2:1 multiplexers per bit each): ``N x (2 log2 N - 1) x value_bits`` multiplexer bits;
        * ``fan``: the FAN's N - 1 adders of ``2 x value_bits``; ``fan_switches``: a 2:1 multiplexer on
          both inputs of each to take a forwarding link; ``fan_ctrl``: the comparison of the inputs'
          ``log2 N``-bit vector IDs that decides add or forward (``fan_ctrl.v``);
        * ``accum``: one adder per Flex-DPE for partial sums continued across folds and chunks;
        * ``bitmap``: one 64-bit AND/OR/popcount unit per Flex-DPE (the energy's word operation);
          ``format_decoder`` (only when an operand is not a bitmap): the front end that turns
          ``dist_bw`` stored coordinates a cycle into bitmap positions (16-bit comparators, assumed);
        * ``sram``: the data SRAM, ``sram_bytes`` in ``sram_banks`` one-word banks (128 words a cycle to the
          array, Sec. V);
        * DRAM: see ``DRAM_SOURCE``.

        The controller's routing computation and the DRAM interface are left out.
        """
        n, d, vb = p.dpe_size, p.dpes, p.value_bits
        acc = 2 * vb
        lg = int(math.log2(n))
        stages = 2 * lg - 1 if n > 1 else 1
        adders = d * (n - 1)
        bus = max(p.dist_bw, p.stream_bw) * vb
        logic = [Logic("benes", "mux", d * n * stages * vb), Logic("fan_switches", "mux", adders * 2 * acc),
                 Logic("fan_ctrl", "index", adders * max(lg, 1)),
                 Logic("bitmap", "index", d * _BITMAP_WORD_BITS * int(math.log2(_BITMAP_WORD_BITS)))]
        if any(f.name != "bitmap" for f in (p.weight_format, p.input_format)):
            logic.append(Logic("format_decoder", "index", p.dist_bw * 16))
        return Hardware(
            compute=[Compute("mult", "mult", d * n, vb), Compute("fan", "add", adders, acc),
                     Compute("accum", "add", d, acc)],
            memories=[Memory("stationary_regs", "rf", vb / 8, count=d * n, width_bits=vb,
                             read_bits_per_cycle=d * n * vb, write_bits_per_cycle=p.dist_bw * vb,
                             operands=("weights", "inputs")),
                      Memory("sram", "sram", p.sram_bytes / p.sram_banks, count=p.sram_banks, width_bits=vb,
                             read_bits_per_cycle=bus, write_bits_per_cycle=bus,
                             operands=("weights", "inputs", "outputs"), format=p.weight_format)],
            logic=logic,
            dram=Dram(p.dram_bytes_per_cycle, DRAM_SOURCE))

    def inventory(self, p: SigmaParams):
        """The declared hardware's area inventory, grouped into the paper's blocks (mult, benes, fan,
        accum, bitmap, sram): the same items and total as :meth:`hardware`."""
        from ..energy import Inventory
        out = Inventory()
        for (comp, kind, dtype, size), count in self.hardware(p).inventory().items():
            out._add(kind, count, dtype, size, self.AREA_BLOCKS.get(comp, comp))
        return out

    def simulate(self, lt, p: SigmaParams) -> LayerResult:
        lay = lt.layer
        if lt.weight.shape != (lay.M, lay.K):
            raise ModelError(f"layer '{lay.name}': weight has shape {lt.weight.shape}, expected {(lay.M, lay.K)}")
        sides, effectual, wmask = trace_sides(lt, p)
        best, both = _choose(sides, p)
        w_store = _stored_trace(_encoder(p.value_bits, p.weight_format, "weight_format"), wmask)
        xin = lt.input != 0
        x_store = _stored_trace(_encoder(p.value_bits, p.input_format, "input_format"),
                                xin.reshape(_operand_2d(xin.shape)))
        return _result(best, p, self.hardware(p), effectual=effectual, out_elems=float(lay.M * lay.N),
                       w_store=w_store, x_store=x_store, both=both, path="trace")

    def simulate_stats(self, ls, p: SigmaParams) -> LayerResult:
        """Expected values from shapes and densities: the same fold walk on drawn per-row counts."""
        lay = ls.layer
        dw = _check_density(ls.weight_density, "weight density")
        dx = _check_density(ls.act_density, "activation density")
        sides, effectual = stats_sides(lay, ls.pattern, dw, dx, ls.seed, p)
        best, both = _choose(sides, p)
        w_store = _stored_expected(_encoder(p.value_bits, p.weight_format, "weight_format"), (lay.M, lay.K), dw)
        x_store = _stored_expected(_encoder(p.value_bits, p.input_format, "input_format"),
                                   _operand_2d(lay.input_shape), dx)
        return _result(best, p, self.hardware(p), effectual=effectual, out_elems=float(lay.M * lay.N),
                       w_store=w_store, x_store=x_store, both=both, path="statistical")


def benes_hops(loads: float, words: float, deliveries: float, stages: int, dpe_size: int) -> float:
    """Switch traversals in the distribution networks (per bit of a word).

    Stationary loads are unicast: ``stages`` each. A streamed word reaches its ``F = deliveries / words``
    destinations (Sec. IV-A1: the Benes multicasts, so a word is read once) as one tree per Flex-DPE it
    reaches (``t = ceil(F / dpe_size)``, ``f = F / t`` leaves each): ``stages - log2 f`` switches down to
    where the tree splits, then ``2 f - 2`` below it. Words with no destination are never sent (step v
    pairs only nonzeros), so at most ``deliveries`` words enter.
    """
    sent = min(words, deliveries)
    if sent <= 0:
        return loads * stages
    fan = deliveries / sent
    trees = math.ceil(fan / dpe_size - 1e-9)
    f = fan / trees
    return loads * stages + sent * trees * (stages - math.log2(f)) + 2 * (deliveries - sent * trees)


def _result(c: Cost, p: SigmaParams, hw: Hardware, *, effectual: float, out_elems: float, w_store: Stored,
            x_store: Stored, both: dict[str, float], path: str) -> LayerResult:
    """Cycles, losses, actions and columns from one dataflow's fold costs."""
    vb = p.value_bits
    acc = 2 * vb
    s = c.side
    P = p.multipliers
    L = float(s.stream_len)
    stages = 2 * int(math.log2(p.dpe_size)) - 1 if p.dpe_size > 1 else 1
    # partial sums beyond one per output: every cluster yields one per streamed vector
    accum = max(c.clusters - s.nonempty_rows, 0.0) * L
    acts = ActionCounts()
    acts.mult(effectual, vb, component="mult")
    regs = hw.memory("stationary_regs")
    acts.write(regs, c.values * vb)
    acts.read(regs, effectual * vb)
    stat, stream = (w_store, x_store) if s.name == "ws" else (x_store, w_store)
    acts.wire(benes_hops(c.values, c.stream_reads * stream.nnz, effectual, stages, p.dpe_size) * vb,
              component="benes")
    acts.add(max(c.values - c.clusters, 0.0) * L, acc, component="fan")
    acts.add(accum, acc, component="accum")
    sram = hw.memory("sram")
    stat_bits = c.values * vb + stat.metadata_bits      # useful values and the operand's metadata, once
    stream_bits = c.stream_reads * stream.total_bits    # the chunk's slice, once per fold
    out_bits = out_elems * vb + 2 * accum * acc         # outputs; partial sums read and written back
    acts.read(sram, stat_bits + stream_bits)
    acts.write(sram, out_bits)
    # step ii: OR over the streaming bitmap, AND and popcount over the stationary one
    words = math.ceil((s.stream_elems + 2 * s.stat_elems) / _BITMAP_WORD_BITS)
    acts.index(words, component="bitmap")
    decode = sum(o.entries for o in (stat, stream) if not o.bitmap)
    acts.index(decode, component="format_decoder")
    dram = (w_store.total_bits + x_store.total_bits + out_elems * vb) / 8
    acts.dram(dram)
    cycles = c.cycles
    ideal = effectual / P
    losses = {"stationary_load": c.load, "fragmentation": max(c.stream - ideal, 0.0),
              "fill_drain": float(c.pipe), "reduction": float(c.levels)}
    if c.stream < ideal:   # float round-off only: effectual <= values x vectors <= P x stream
        cycles += ideal - c.stream
    busy = c.fill / p.dpe_size * L
    return LayerResult(
        cycles=cycles, freq_hz=p.freq_hz, macs_performed=effectual, peak_macs_per_cycle=P, losses=losses,
        pe_busy=busy, actions=acts, weight_bits=w_store.value_bits, metadata_bits=w_store.metadata_bits,
        dram_bytes=dram, sram_bytes=(stat_bits + stream_bits + out_bits) / 8,
        totals={"folds": c.folds, "load_cycles": c.load, "stream_cycles": c.stream,
                "drain_cycles": float(c.pipe + c.levels), "stationary_values": c.values,
                "dpe_crossings": c.crossings, "accumulations": accum,
                "empty_slot_cycles": (c.folds * P - c.values) * L / P,
                "zero_operand_slot_cycles": max(c.values * L - effectual, 0.0) / P,
                "sram_stationary_bits": stat_bits, "sram_streaming_bits": stream_bits,
                "sram_output_bits": out_bits, "bitmap_word_ops": float(words), "format_decode_ops": decode,
                **both},
        extra={"dataflow": s.name, "stream_vectors": L, "k_chunk": p.stream_bw, "sigma_path": path})


# ---- the trace path ---------------------------------------------------------------------------------

def trace_sides(lt, p: SigmaParams) -> tuple[list[Side], float, np.ndarray]:
    """Both dataflows' per-chunk useful counts from the operands' bitmaps, the effectual products and
    the weight mask."""
    lay = lt.layer
    G, Kg, N, M = lay.groups, lay.K, lay.N, lay.M
    rows = lay.rows_per_group
    C = p.stream_bw
    Kt = G * Kg
    nch = -(-Kt // C)
    wmask = lt.weight != 0
    w8 = wmask.view(np.uint8)
    x8 = [np.ascontiguousarray(x).view(np.uint8) for x in lt.x_masks()]
    x_nnz = np.zeros(Kt, dtype=np.int64)
    w_nnz = np.zeros(Kt, dtype=np.int64)
    for g in range(G):   # nonzeros per X row and per W column (the other counts are not needed)
        _nnz_per_row_and_col(x8[g], x_nnz[g * Kg:(g + 1) * Kg], np.zeros(N, dtype=np.int64))
        _nnz_per_row_and_col(w8[g * rows:(g + 1) * rows], np.zeros(rows, dtype=np.int64), w_nnz[g * Kg:(g + 1) * Kg])
    effectual = float(w_nnz @ x_nnz)
    x_any = (x_nnz > 0).view(np.uint8)           # the ORs over the streamed vectors (step ii)
    w_any = (w_nnz > 0).view(np.uint8)
    ws_counts = np.zeros((nch, M), dtype=np.int64)
    is_counts = np.zeros((nch, N), dtype=np.int64)
    for g in range(G):
        _add_row_chunk_counts(w8[g * rows:(g + 1) * rows], x_any, g * Kg, C, g * rows, ws_counts)
        _add_col_chunk_counts(x8[g], w_any, g * Kg, C, is_counts)
    # a vector streams when it meets a useful stationary nonzero: the other side's nonempty rows
    ws_rows = float(np.count_nonzero(ws_counts.any(axis=0)))
    is_rows = float(np.count_nonzero(is_counts.any(axis=0)))
    ones = np.ones(nch)
    clen = np.minimum(C, Kt - np.arange(nch) * C).astype(np.float64)
    ws = Side("ws", ws_counts, ones, clen, float(Kt), is_rows, ws_rows, float(M * Kg), float(Kt * N))
    is_ = Side("is", is_counts, ones, clen, float(Kt), ws_rows, is_rows, float(Kt * N), float(M * Kg))
    return [ws, is_], effectual, wmask


# ---- the statistical path ---------------------------------------------------------------------------

def _check_density(d: float, what: str) -> float:
    d = float(d)
    if not 0.0 <= d <= 1.0 or d != d:
        raise ModelError(f"{what} must be in [0, 1], got {d}")
    return d


def _valid_outputs(lay) -> np.ndarray:
    """Output positions each im2col row (c, r, s) of one group really reads (padding excluded): (Kg,)."""
    if not lay.is_conv:
        return np.full(lay.K, float(lay.N))
    P, Q, st, pad = lay.P, lay.Q, lay.stride, lay.pad
    rows = np.array([np.count_nonzero((np.arange(P) * st - pad + r >= 0) & (np.arange(P) * st - pad + r < lay.H))
                     for r in range(lay.R)], dtype=np.float64)
    cols = np.array([np.count_nonzero((np.arange(Q) * st - pad + s >= 0) & (np.arange(Q) * st - pad + s < lay.W))
                     for s in range(lay.S)], dtype=np.float64)
    taps = np.outer(rows, cols).ravel() * lay.batch          # (r, s) order within a channel
    return np.tile(taps, lay.K // (lay.R * lay.S))


def _weight_prob(pattern, dw: float) -> float:
    """Probability that one weight is nonzero under the pattern."""
    return pattern.a / pattern.b if pattern.kind == "nm" else dw


def _p_any(p, n=1.0):
    """``1 - (1 - p)^n`` element by element: P(at least one of n independent events of probability p)."""
    return -np.expm1(np.asarray(n, dtype=np.float64) * np.log1p(-np.minimum(p, 1 - 1e-12)))


def _p_any_of(p, copies: int = 1) -> float:
    """P(at least one of the independent events of probabilities *p*, each repeated *copies* times)."""
    return float(-np.expm1(copies * np.sum(np.log1p(-np.minimum(p, 1 - 1e-12)))))


def _sample_chunks(nch: int) -> tuple[np.ndarray, np.ndarray]:
    """Which K chunks to draw and how many chunks each stands for: all when few, else the last
    (often partial) one and ``_STAT_CHUNKS - 1`` evenly spread over the others."""
    if nch <= _STAT_CHUNKS:
        return np.arange(nch), np.ones(nch)
    idx = np.unique(np.linspace(0, nch - 2, _STAT_CHUNKS - 1).round().astype(np.int64))
    return np.append(idx, nch - 1), np.append(np.full(idx.size, (nch - 1) / idx.size), 1.0)


def stats_sides(lay, pattern, dw: float, dx: float, seed: int, p: SigmaParams) -> tuple[list[Side], float]:
    """Both dataflows' per-chunk useful counts drawn from their distribution, and the expected effectual
    products, for layer *lay* with weight pattern *pattern* (accelsim.traces.stats): memory O(rows x
    sampled chunks)."""
    G, Kg, N, M = lay.groups, lay.K, lay.N, lay.M
    rows = lay.rows_per_group
    C = p.stream_bw
    Kt = G * Kg
    nch = -(-Kt // C)
    kind = pattern.kind if pattern.kind in ("nm", "block", "channel") else "unstructured"
    pw = _weight_prob(pattern, dw)
    valid = _valid_outputs(lay)                         # (Kg,) output positions each X row reaches
    f = valid / N
    p_xany = _p_any(dx, valid)                          # P(X row k holds a nonzero)
    # P(W column k holds a nonzero): rows independent, a block's rows (or a channel) drawn as one
    p_wany = float(_p_any(pw, math.ceil(rows / pattern.a) if kind == "block" else rows))
    effectual = float(G * rows * pw * np.sum(dx * valid))
    # ws streams X's columns: column n meets some k with X[k, n] != 0 and W[:, k] any
    ws_len = N * _p_any_of(dx * f * p_wany, G)
    # is streams W's rows: row m meets some k with W[m, k] != 0 and X[k, :] any (a kept channel: any k)
    is_len = M * (dw * _p_any_of(p_xany) if kind == "channel" else _p_any_of(pw * p_xany))
    rng = np.random.default_rng([int(seed), 0x51A])
    idx, weights = _sample_chunks(nch)
    clen = np.minimum(C, Kt - idx * C).astype(np.float64)
    ws_counts = np.zeros((idx.size, M), dtype=np.int64)
    is_counts = np.zeros((idx.size, N), dtype=np.int64)
    kept_rows = rng.random(M) < dw if kind == "channel" else None
    xany_tiled = np.tile(p_xany, G)
    f_tiled = np.tile(f, G)
    for i, c in enumerate(idx):
        lo, hi = int(c) * C, min((int(c) + 1) * C, Kt)
        # weights stationary: rows of the groups this chunk overlaps, over the chunk's useful k
        useful_x = rng.random(hi - lo) < xany_tiled[lo:hi]
        for g in range(lo // Kg, (hi - 1) // Kg + 1):
            a, b = max(lo, g * Kg), min(hi, (g + 1) * Kg)
            u = useful_x[a - lo:b - lo]
            r0 = g * rows
            ws_counts[i, r0:r0 + rows] = _draw_rows(rng, kind, pattern, pw, u, rows, a - g * Kg,
                                                     None if kept_rows is None else kept_rows[r0:r0 + rows])
        # inputs stationary: every X^T row over the chunk's k where W has a nonzero
        useful_w = rng.random(hi - lo) < p_wany
        q = dx * f_tiled[lo:hi][useful_w]
        is_counts[i] = rng.binomial(int(useful_w.sum()), float(q.mean()) if q.size else 0.0, size=N)
    ws = Side("ws", ws_counts, weights, clen, float(Kt), ws_len, is_len, float(M * Kg), float(Kt * N))
    is_ = Side("is", is_counts, weights, clen, float(Kt), is_len, ws_len, float(Kt * N), float(M * Kg))
    return [ws, is_], effectual


def _draw_rows(rng, kind: str, pattern, pw: float, useful: np.ndarray, rows: int, k0: int, kept) -> np.ndarray:
    """Useful nonzeros of each of *rows* weight rows over K positions whose X rows are *useful*
    (``k0``: the first position's index inside its group, for block alignment)."""
    u = int(useful.sum())
    if kind == "channel":
        return np.where(kept, u, 0)
    if kind == "block":
        bh, bw = pattern.a, pattern.b
        cols = np.arange(useful.size) + k0
        per_block = np.bincount(cols // bw - k0 // bw, weights=useful.astype(np.float64)).astype(np.int64)
        nbr = -(-rows // bh)
        keep = rng.random((nbr, per_block.size)) < pw
        per_brow = keep.astype(np.int64) @ per_block
        return np.repeat(per_brow, bh)[:rows]
    return rng.binomial(u, pw, size=rows)


def estimate(M: int, N: int, K: int, weight_density: float = 1.0, act_density: float = 1.0,
             params: SigmaParams | dict | None = None, seed: int = 0, pattern: str = "unstructured") -> LayerResult:
    """SIGMA on a ``W (M x K) @ X (K x N)`` GEMM from densities alone (no tensors): the statistical mode
    on one GEMM. Returns the model's :class:`LayerResult` (the runner's DRAM roofline is not applied:
    use ``accelsim.simulate(..., statistical=True)`` for result rows).

    >>> r = estimate(2048, 128, 4096)       # our M x N x K: the paper's 128-2048-4096, dense
    >>> r.totals["folds"]                   # doctest: +SKIP
    """
    from ..traces.pruners import parse_pattern
    from ..traces.stats import LayerStats
    from ..workload import gemm
    for key, v in dict(M=M, N=N, K=K).items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ModelError(f"{key} must be a positive integer, got {v!r}")
    ls = LayerStats(gemm("gemm", int(M), int(K), int(N)), parse_pattern(pattern), float(weight_density),
                    float(act_density), seed)
    return Sigma().simulate_stats(ls, _params(params))


def _params(params) -> SigmaParams:
    from ..config import build_dataclass
    if params is None:
        return SigmaParams()
    if isinstance(params, SigmaParams):
        return params
    if isinstance(params, dict):
        return build_dataclass(SigmaParams, params, "params")
    raise ModelError(f"params must be a SigmaParams or a mapping, got {type(params).__name__}")
