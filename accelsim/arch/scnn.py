"""``scnn``: SCNN, the compressed-sparse CNN accelerator (Parashar et al., ISCA 2017).

What it models
--------------
The PT-IS-CP-sparse dataflow (Sec. III) on the SCNN PE array (Sec. IV); the array, its mapping and
timing are shared with the dense twin DCNN in :mod:`accelsim.arch._scnn_pe`:

* **Planar tiling.** ``pes`` PEs (8 x 8) each own a balanced ``Wt x Ht`` tile of
  every input channel (sizes differ by at most one where the plane does not
  divide). Weights are broadcast to all PEs in output-channel groups of ``Kc``,
  one compressed ``Kc x R x S`` block per input channel.
* **Input-stationary Cartesian product.** Per PE, group and input channel, the
  nonzero activations of the tile are held in vectors of ``I`` while the nonzero
  weights of the block stream past in vectors of ``F``; every cycle the ``F x I``
  multiplier array forms all products of one weight vector with one activation
  vector (Sec. III-B, loop nest of Fig. 3/4). The busy cycles of a PE are exactly
  ``sum_c ceil(a_c / I) * ceil(w_c / F)`` on the trace's nonzero counts.
* **Kc from the accumulators.** ``Kc`` is the largest number of output channels
  whose partial sums, over the tile's output footprint including the halo,
  fit in one (of the two, double-buffered) accumulator sets of
  ``A x entries`` = 32 x 32 (Sec. IV, Table III); a plane too large even for
  ``Kc = 1`` is cut into sub-tiles processed one after another.
* **Scatter and bank conflicts.** Products cross a crossbar into ``A = 2 F I``
  accumulator banks (Sec. IV-B); each bank retires one update a cycle. The
  bank of a product is an XOR-fold of its accumulator address (the paper does
  not give its hash). Each bank has a small input queue
  (``bank_queue_entries``); when a queue holds more than that the multiplier
  array stalls until it drains. The stalls are found by walking the actual
  products of the trace, cycle by cycle, with their real output coordinates:
  exactly when the layer has at most ``conflict_sample_products`` products,
  otherwise on a seeded random sample of (output-channel group, input channel)
  blocks, whose stall-per-busy-cycle ratio is applied to every PE (column
  ``bank_conflict_method``).
* **Halos and barriers.** Products landing outside a PE's own output tile are
  accumulated in its halo region and sent to the neighbours after each group
  (output halos, Sec. III-C). The accumulator set is then drained: halos
  exchanged at ``halo_words_per_cycle`` and the owned outputs passed through the
  PPU (ReLU, compression) into the OARAM at ``drain_words_per_cycle``. With
  double buffering the drain of one group overlaps the next group's multiplies;
  only the excess is lost. All PEs wait for the slowest at the end of each group.
* **Strided convolutions.** ``stride_mode: phase`` (default) splits a strided
  layer into ``stride^2`` phase sub-convolutions, so an activation is only paired
  with weights that can reach a valid output (the paper is silent on strides);
  ``cartesian`` pairs everything and counts the misaligned products as waste.
* **Fully connected layers** (``mode = fc-mapped``): there is no spatial plane to
  tile, so each PE owns a slice of the output neurons and every PE sees every
  input activation; per nonzero input the PE multiplies the ``F``-vectors of its
  nonzero weights of that input with the ``I``-vector of that input's nonzero
  batch samples. At batch 1 one activation lane of ``I`` is used: at most
  ``1/I`` = 25 % of the multipliers (Sec. VI, the paper's FC discussion).
* **Formats.** Weights and activations are stored in the formats named by
  ``weight_format`` / ``act_format`` (``FormatRef``; default ``rle`` with 16-bit values
  and 4-bit zero runs, Sec. IV); sizes, DRAM traffic, IARAM fit and FIFO traffic come
  from the encoder's ``measure`` (``expected`` in the statistical mode). The output is
  compressed after ReLU; its size is the encoder's expected size at ``output_density``
  (the trace carries no output activations; default: the layer's input activation density).
* **Memory and DRAM.** Activations stay in the IARAM/OARAM (10 KB each per PE, Table III)
  when the compressed tile fits; otherwise they move through DRAM. Weights come from DRAM
  once per image and sub-tile pass. DRAM traffic overlaps compute at ``dram_bytes_per_cycle``
  (50 GB/s at 1 GHz, the paper's nominal bandwidth, Sec. VI): the time beyond the on-chip
  time is the ``dram`` loss (SCNN's own DRAM stall model; the runner's roofline only checks it).

One cycle account
-----------------
``cycles = ideal + loss_fragmentation + loss_load_imbalance + loss_bank_conflict + loss_halo
+ loss_dram``, all in cycles of the whole array: ``ideal`` is the products at the full
``PEs x F x I`` rate, fragmentation the partly filled ``F`` and ``I`` vectors, load imbalance
the barrier wait behind the slowest PE, bank conflicts the crossbar stalls, halo the exposed
drain (halo exchange and output write-back). ``dcnn_cycles``, ``speedup_vs_dcnn`` and
``energy_ratio_vs_dcnn`` (DCNN energy / SCNN energy, > 1 means SCNN is better) compare with
:mod:`accelsim.arch.dcnn` on the same trace (``LayerResult.baselines``), priced by the runner
with the config's own energy table.

Energy: actions only (16-bit multiplies, 24-bit accumulates, crossbar bit-hops, accumulator-bank,
weight-FIFO, IARAM/OARAM and DRAM traffic, run-length decoding and coordinate computation), on
the declared hardware (:func:`accelsim.arch._scnn_pe.pe_array_hardware`).

Statistical mode (:meth:`SCNN.simulate_stats`): the operand counts per PE tile and channel drawn
from the layer's densities and pattern, then the same timing; bank conflicts from walking a small
synthetic slice of the layer; storage from the formats' expected sizes.

What it leaves out
------------------
Leakage; the PPU's pooling; weight-FIFO refills when a compressed ``Kc x R x S`` block is larger
than the 50-entry FIFO (counted in ``weight_fifo_overflow_frac``, not timed); the time to load the
first layer's input; a per-layer DRAM schedule (DRAM time is a roofline overlap). Sampled
bank-conflict estimates apply one layer-wide stall ratio to every PE.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import bounded, positive
from ..energy import ActionCounts
from ..hardware import FormatRef, Hardware
from ..results import LayerResult
from . import _scnn_pe as pe
from ._scnn_pe import PEArray, RLE16, map_counts
from .base import ArchModel, register


@dataclass
class SCNNParams(PEArray):
    #: products walked for bank conflicts before sampling starts
    conflict_sample_products: int = positive(60_000)
    #: queued updates a bank holds before the multiplier array stalls (assumed; the paper is silent)
    bank_queue_entries: int = bounded(2, lo=0)
    #: storage formats of the weights and of the activations (inputs and outputs), Sec. IV
    weight_format: FormatRef = RLE16
    act_format: FormatRef = RLE16
    #: density of the compressed outputs; 0 means the layer's input activation density
    output_density: float = bounded(0.0, lo=0.0, hi=1.0)
    #: fill speedup_vs_dcnn / energy_ratio_vs_dcnn by running DCNN on the same trace
    compare_dcnn: bool = True
    #: deprecated (one release): the format parameters, now ``weight_format: {name, params}``
    weight_format_params: dict[str, Any] | None = None
    act_format_params: dict[str, Any] | None = None

    def validate(self) -> None:
        self.check_pes()
        pe.adopt_legacy_format(self, "weight_format", "weight_format_params")
        pe.adopt_legacy_format(self, "act_format", "act_format_params")
        pe.check_format(self, "weight_format")
        pe.check_format(self, "act_format")


# ---------------------------------------------------------------------------------------
# Storage through the format encoders
# ---------------------------------------------------------------------------------------
@dataclass
class Storage:
    weight_bits: float               # values and metadata, as stored and moved
    weight_value_bits: float         # the values (padding entries included)
    weight_meta_bits: float
    weight_nnz: float
    act_nnz: float
    act_bits: float                  # all images, all tiles
    act_tile_bits_max: float         # the largest PE's compressed input (one image)
    out_bits: float
    out_tile_bits_max: float


def _out_storage(lay, p: SCNNParams, ofmt, out_density: float, B: int) -> tuple[float, float]:
    if out_density <= 0:
        return 0.0, 0.0
    if lay.is_conv:
        total = ofmt.expected_bits((lay.M, lay.P, lay.Q), out_density) * B
        own_max = float(np.diff(pe.split(lay.P, p.pes[0])).max() * np.diff(pe.split(lay.Q, p.pes[1])).max())
        return total, total / B * own_max / max(lay.P * lay.Q, 1)
    total = ofmt.expected_bits((lay.N, lay.M), out_density)
    return total, total / p.n_pes


def trace_storage(lt, p: SCNNParams, plan, out_density: float, counts: pe.Counts | None = None) -> Storage:
    """Bits of the trace's operands as SCNN stores them (the encoders' ``measure``); *counts*: the layer's
    trace counts, whose input mask is measured rather than made again."""
    lay = lt.layer
    wfmt, afmt = pe.encoder(p.weight_format), pe.encoder(p.act_format)
    we = pe.weight_stream_encoding(lt, p, wfmt)
    x = lt.input
    act_nnz = None
    if lay.is_conv:
        m = counts.act_mask if counts is not None else None
        if m is None:
            m = x != 0
        else:
            act_nnz = float(counts.A.sum())           # the same nonzeros, counted per tile and channel
        B = x.shape[0]
        fast = getattr(afmt, "tile_bits", None)     # gap-coded formats measure every tile in one pass
        tile_bits = fast(m, plan.yb, plan.xb) if fast is not None else None
        if tile_bits is None:
            tile_bits = np.zeros((B, plan.nv))
            for b in range(B):
                for v in range(plan.nv):
                    i, j = divmod(v, plan.nx)
                    t = m[b, :, plan.yb[i]:plan.yb[i + 1], plan.xb[j]:plan.xb[j + 1]]
                    tile_bits[b, v] = afmt.measure(t).total_bits if t.size else 0
        per_pe = np.zeros((B, p.n_pes))
        np.add.at(per_pe, (slice(None), plan.v_pe), tile_bits)     # a PE holds its t x t sub-tiles together
        act_bits, act_max = float(tile_bits.sum()), float(per_pe.max())
    else:
        B = 1
        act_bits = float(afmt.measure((lt.x_gemm(0) != 0).T).total_bits)   # every PE holds the whole input
        act_max = act_bits
    out_bits, out_max = _out_storage(lay, p, afmt, out_density, B)
    return Storage(float(we.total_bits), float(we.value_bits), float(we.metadata_bits), float(we.nnz),
                   act_nnz if act_nnz is not None else float(np.count_nonzero(x)),
                   act_bits, act_max, out_bits, out_max)


def expected_storage(ls, p: SCNNParams, plan, out_density: float) -> Storage:
    """The same bits from the encoders' expected sizes at the layer's densities (statistical mode)."""
    lay = ls.layer
    wfmt, afmt = pe.encoder(p.weight_format), pe.encoder(p.act_format)
    we = wfmt.expected((lay.M * lay.K,), ls.weight_density)
    ad = ls.act_density
    if lay.is_conv:
        B = lay.batch
        shapes = pe.tile_shapes(lay, plan)
        uniq, inv = np.unique(shapes, axis=0, return_inverse=True)
        bits = np.array([afmt.expected_bits((lay.C, int(h), int(w)), ad) if h * w else 0.0 for h, w in uniq])
        tile_bits = bits[np.asarray(inv).ravel()]
        per_pe = np.zeros(p.n_pes)
        np.add.at(per_pe, plan.v_pe, tile_bits)
        act_bits, act_max = float(tile_bits.sum() * B), float(per_pe.max())
    else:
        B = 1
        act_bits = float(afmt.expected_bits((lay.N, lay.K), ad))
        act_max = act_bits
    out_bits, out_max = _out_storage(lay, p, afmt, out_density, B)
    n_in = float(np.prod(lay.input_shape))
    return Storage(float(we.total_bits), float(we.value_bits), float(we.metadata_bits), float(we.nnz), n_in * ad,
                   act_bits, act_max,
                   out_bits, out_max)


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------
@register
class SCNN(ArchModel):
    name = "scnn"
    description = "SCNN (ISCA 2017): planar-tiled input-stationary Cartesian-product sparse CNN accelerator"
    Params = SCNNParams

    def hardware(self, p: SCNNParams) -> Hardware:
        return pe.pe_array_hardware(p, True, p.weight_format, p.act_format)

    def simulate(self, lt, p: SCNNParams) -> LayerResult:
        plan, counts = pe.trace_counts(lt, p, sparse=True)
        walk = pe.walk_trace(lt, p, plan, counts) if counts.valid > 0 else None
        m = map_counts(lt.layer, p, plan, counts, walk, "cartesian")
        st = trace_storage(lt, p, plan, p.output_density or lt.act_density, counts)
        res = self._result(lt.layer, p, m, st)
        if p.compare_dcnn:
            res.baselines["dcnn"] = self._dcnn_baseline(lt, p)
        return res

    def _dcnn_baseline(self, lt, p: SCNNParams) -> LayerResult:
        """DCNN on the same layer. The dense twin reads no tensor (its counts are closed forms of the
        layer's shape), so layers of one shape (ResNet's repeated blocks) share one result: it is
        computed once per shape for the parameters this model instance last saw."""
        memo = self.__dict__.get("_dcnn_memo")
        if memo is None or memo[0] is not p:
            from .dcnn import DCNN
            memo = self._dcnn_memo = (p, DCNN(), dcnn_params(p), {})
        _, model, dp, done = memo
        shape = dataclasses.replace(lt.layer, name="")
        res = done.get(shape)
        if res is None:
            res = done[shape] = model.simulate(lt, dp)
        return res

    def simulate_stats(self, ls, p: SCNNParams) -> LayerResult:
        """Expected values from the layer's shapes and densities: drawn operand counts, the same timing."""
        plan, counts = pe.stats_counts(ls, p, sparse=True)
        walk = pe.walk_sample(ls, p) if counts.valid > 0 else None
        m = map_counts(ls.layer, p, plan, counts, walk, "cartesian", exact_walk=False)
        st = expected_storage(ls, p, plan, p.output_density or ls.act_density)
        res = self._result(ls.layer, p, m, st)
        if p.compare_dcnn:
            from .dcnn import DCNN
            res.baselines["dcnn"] = DCNN().simulate_stats(ls, dcnn_params(p))
        return res

    def _result(self, lay, p: SCNNParams, m: pe.Mapped, st: Storage) -> LayerResult:
        hw = self.hardware(p)
        # weights stream from DRAM once per image and sub-tile pass (conv) or batch chunk (FC):
        # the PEs keep no more than a FIFO of them
        w_passes = lay.batch * m.rounds if lay.is_conv else m.rounds
        vb, ab = p.value_bits, p.acc_bits
        bits_per_w = st.weight_bits / max(st.weight_nnz, 1.0)
        bits_per_a = st.act_bits / max(st.act_nnz, 1.0)

        # ---- memory: weights from DRAM once per pass; activations on chip when they fit
        iaram_fits = st.act_tile_bits_max <= 8 * p.iaram_bytes
        oaram_fits = st.out_tile_bits_max <= 8 * p.oaram_bytes
        dram = st.weight_bits / 8 * w_passes
        if not iaram_fits:
            dram += st.act_bits / 8
        if not oaram_fits:
            dram += st.out_bits / 8
        t = m.timing
        dram_stall = max(dram / p.dram_bytes_per_cycle - t.cycles, 0.0)
        cycles = max(t.cycles + dram_stall, 1.0)
        losses = {"fragmentation": t.frag, "load_imbalance": t.imbalance, "bank_conflict": t.bank,
                  "halo": t.halo, "dram": dram_stall, "other": max(cycles - t.cycles - dram_stall, 0.0)}

        # ---- actions on the declared hardware
        acc, fifo = hw.memory("accumulator"), hw.memory("weight_fifo")
        iaram, oaram = hw.memory("iaram"), hw.memory("oaram")
        acts = ActionCounts()
        acts.mult(m.products, vb, component="mac")
        acts.add(m.valid, ab, component="acc_add")
        acts.index(m.products, component="coord")                 # output coordinate of every product
        acts.wire(m.valid * ab, component="crossbar")             # scatter network, one traversal
        acts.read(acc, m.valid * ab).write(acc, m.valid * ab)     # read-modify-write of a bank entry
        # every PE's FIFO takes the broadcast weights once per pass (FC: its own slice) and re-reads
        # a weight vector for every activation vector it meets
        w_in = st.weight_bits * w_passes * (p.n_pes if lay.is_conv else 1)
        acts.write(fifo, w_in).read(fifo, m.fifo_reads * bits_per_w)
        # conv: each PE reads its tile once per group; FC: every PE holds and reads the whole input
        iaram_reads = st.act_bits * m.act_passes * (1 if lay.is_conv else p.n_pes)
        acts.read(iaram, iaram_reads)
        acts.write(oaram, st.out_bits)
        acts.index(m.fifo_reads + iaram_reads / max(bits_per_a, 1.0), component="run_decoders")
        hops = (p.n_pes - 1) if lay.is_conv else (p.pes[0] + p.pes[1]) / 2
        acts.wire(st.weight_bits * w_passes * hops, component="noc")       # broadcast (conv) / unicast (FC)
        acts.wire(m.halo_words * ab, component="noc")
        acts.add(m.halo_words, ab, component="acc_add")
        acts.read(acc, (2 * m.halo_words + m.out_words) * ab)
        acts.add(m.out_words, ab, component="ppu")                 # ReLU compare on the way out
        acts.dram(dram)

        totals = {"macs_useful": m.valid, "products_out_of_plane": m.products - m.valid,
                  "halo_words": m.halo_words}
        extra = {"mode": m.mode, "kc": m.kc, "tiles": m.tiles, "subtile_rounds": m.rounds,
                 "barrier_phases": m.phases, "bank_conflict_method": m.conflict_method,
                 "iaram_fits": bool(iaram_fits), "oaram_fits": bool(oaram_fits),
                 "weight_fifo_overflow_frac": m.fifo_overflow}
        return LayerResult(cycles=cycles, freq_hz=p.freq_hz, macs_performed=m.products,
                           peak_macs_per_cycle=p.peak_macs_per_cycle, losses=losses, pe_busy=t.pe_busy,
                           actions=acts, weight_bits=st.weight_value_bits, metadata_bits=st.weight_meta_bits,
                           dram_bytes=dram, sram_bytes=(iaram_reads + st.out_bits) / 8, totals=totals,
                           extra=extra)


def dcnn_params(p: SCNNParams):
    """The dense twin of an SCNN configuration: the same array, clock and DRAM; DCNN's own SRAM sizes,
    accumulator banks (``F x I``, no over-provisioning against conflicts) and dense storage."""
    from .dcnn import DCNNParams
    shared = {f.name for f in dataclasses.fields(PEArray)} - {"iaram_bytes", "oaram_bytes", "acc_banks"}
    return DCNNParams(**{k: getattr(p, k) for k in shared})


def simulate_scnn_functional(lt, p: SCNNParams) -> np.ndarray:
    """The layer's output computed by scattering SCNN's products (tests and small cases only).

    Returns ``M x N`` (the GEMM view of the output), accumulated from exactly the products the
    modelled PEs form, at the output coordinates they compute.
    """
    lay = lt.layer
    plan, counts = pe.trace_counts(lt, p, sparse=True)
    w = pe.walk_trace(lt, p, plan, counts, want_values=True)
    if lay.is_conv:
        return w.out.transpose(1, 0, 2, 3).reshape(lay.M, -1)
    return w.out.reshape(lay.M, lay.N)


def map_layer(lt, p, sparse: bool = True, conflicts: bool = True, packing: str = "cartesian") -> pe.Mapped:
    """The mapping of a trace's layer (tests): SCNN's (*sparse*, with its bank-conflict walk when
    *conflicts*) or the dense twin's."""
    plan, counts = pe.trace_counts(lt, p, sparse)
    walk = pe.walk_trace(lt, p, plan, counts) if (sparse and conflicts and counts.valid > 0) else None
    return map_counts(lt.layer, p, plan, counts, walk, packing)
