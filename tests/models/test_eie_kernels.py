"""EIE's numba kernels against plain references: column counts against the encoder, the activation stream, the
row buffer over many vectors, the FIFO recurrence at every slack width and with no PE followed."""
import numpy as np
import pytest

from accelsim.arch import load_arch
from accelsim.arch.eie import (_broadcast_schedule, _column_entries, _count_row, _new_slices, _rows_in_round,
                               _slack_dtype, _split, _stream, plan_layer, run_schedule, step_cycles, vector_bits)
from accelsim.formats import get_format
from accelsim.traces import LayerTrace
from accelsim.workload import gemm

FORMATS = [{"value_bits": 4, "index_bits": 4, "index_mode": "relative"},
           {"value_bits": 4, "index_bits": 2, "index_mode": "relative"},
           {"value_bits": 8, "index_mode": "absolute"}]


def trace(w, x):
    w = np.asarray(w, dtype=np.float32)
    x = np.asarray(x, dtype=np.float32)
    return LayerTrace(gemm("g", M=w.shape[0], K=w.shape[1], N=x.shape[1]), w, x)


@pytest.mark.parametrize("params", FORMATS)
def test_column_counts_are_the_encoders_on_every_slice(rng, params):
    # the one-pass counts, priced by the encoder, against encoding every (round, PE) slice in full
    fmt = get_format("csc", **params)
    for _ in range(12):
        M, K = int(rng.integers(1, 90)), int(rng.integers(1, 40))
        w = rng.standard_normal((M, K)).astype(np.float32)
        w[rng.random(w.shape) < rng.uniform(0.3, 0.98)] = 0.0
        pes, regs = int(rng.integers(1, 9)), int(rng.integers(1, 12))
        p = load_arch("eie", {"pes": pes, "act_regs_per_pe": regs, "weight_format": {"name": "csc", "params": params}})
        plan = plan_layer(trace(w, np.ones((K, 1))), p.params)
        nnz = pads = vbits = ibits = width = 0
        for r in range(plan.rounds):
            for pe in range(pes):
                rows = np.arange(pe, M, pes)[r * regs:(r + 1) * regs]
                assert rows.size == _rows_in_round(M, pes, regs, pe, r)
                if not rows.size:
                    assert not plan.entries[r, pe].any()
                    continue
                # the encoder sees the round's local rows (its absolute index width): pad the slice to them
                n_local = max(_rows_in_round(M, pes, regs, q, r) for q in range(pes))
                block = np.zeros((n_local, K), np.float32)
                block[:rows.size] = w[rows]
                enc = fmt.encode(block)
                assert plan.entries[r, pe].tolist() == np.diff(enc.payload["ptr"]).tolist()
                assert plan.real[r, pe].tolist() == np.count_nonzero(block, axis=0).tolist()
                nnz, pads = nnz + enc.nnz, pads + enc.padding_entries
                vbits, ibits = vbits + enc.value_bits, ibits + enc.breakdown["indices"]
                width = max(width, enc.breakdown["pointers"] // (K + 1))
        st = plan.storage
        assert (st.nnz, st.padding_entries, st.value_bits, st.index_bits) == (nnz, pads, vbits, ibits)
        assert st.ptr_width == width


def test_column_entries_match_the_row_by_row_count(rng):
    # the branch-free per-column pass against _count_row (the statistical mode's rule), row by row
    for _ in range(30):
        M, K = int(rng.integers(1, 70)), int(rng.integers(1, 30))
        mask = rng.random((M, K)) < rng.uniform(0.02, 0.9)
        pes, regs, run_bits = int(rng.integers(1, 7)), int(rng.integers(1, 10)), int(rng.integers(-1, 5))
        rounds = max(1, -(-(-(-M // pes)) // regs))
        slices = _new_slices(rounds, pes, K)
        for i in range(M):
            li = i // pes
            cols = np.flatnonzero(mask[i])
            _count_row(slices, li // regs, i % pes, li % regs, cols, cols.size, run_bits)
        ent, real = _column_entries(mask, pes, regs, rounds, run_bits)
        ref_ent, ref_real = _split(slices)
        assert np.array_equal(ent, ref_ent) and np.array_equal(real, ref_real)
        assert np.array_equal(_column_entries(mask.astype(np.float32), pes, regs, rounds, run_bits)[0], ent)


@pytest.mark.parametrize("N", [1, 5, 63, 64, 65, 130])
def test_activation_stream_is_the_masks_nonzeros(rng, N):
    for K in (1, 7, 40):
        mask = rng.random((K, N)) < rng.uniform(0.0, 1.0)
        ptr, idx, per_column, bits = _stream(mask)
        assert ptr.tolist() == [0] + np.cumsum(mask.sum(axis=0)).tolist()
        for n in range(N):
            assert idx[ptr[n]:ptr[n + 1]].tolist() == np.flatnonzero(mask[:, n]).tolist()
        assert per_column.tolist() == mask.sum(axis=1).tolist()
        assert np.array_equal(bits, vector_bits(mask))
        unpacked = (bits[:, :, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
        assert np.array_equal(unpacked.reshape(K, -1)[:, :N].astype(bool), mask)


@pytest.mark.parametrize("width_bits", [64, 40])     # 8 entries a row (shifts), 5 (divisions)
def test_row_reads_over_many_vectors_match_a_literal_row_buffer(rng, width_bits):
    # more than 64 vectors: the bit sets span several words
    for _ in range(6):
        M, K, N = int(rng.integers(4, 40)), int(rng.integers(1, 25)), int(rng.integers(60, 150))
        w = (rng.random((M, K)) < rng.uniform(0.05, 0.9)).astype(np.float32)
        x = (rng.random((K, N)) < rng.uniform(0.1, 1.0)).astype(np.float32)
        pes, regs = int(rng.integers(1, 5)), int(rng.integers(2, 9))
        p = load_arch("eie", {"pes": pes, "act_regs_per_pe": regs, "spmat_sram_width_bits": width_bits}).params
        plan = plan_layer(trace(w, x), p)
        _, first, last = plan._layout
        expect = np.zeros(pes, np.int64)
        for n in range(N):
            cols = plan.x_idx[plan.x_ptr[n]:plan.x_ptr[n + 1]]
            for t in range(plan.rounds):
                held = [-1] * pes
                for j in cols:
                    for q in range(pes):
                        a, b = first[t, j, q], last[t, j, q]
                        if b >= a:
                            expect[q] += b - a + 1 - (a == held[q])
                            held[q] = b
        assert plan.sram_reads.tolist() == expect.tolist()


def _stream_costs(cost, x_ptr, x_idx, vectors, rounds):
    """The costs of every broadcast in stream order (the cycle stepper's input)."""
    rows = []
    for v in range(len(x_ptr) - 1):
        g = v // vectors
        for r in range(rounds):
            rows += [cost[g * rounds + r, j] for j in x_idx[x_ptr[v]:x_ptr[v + 1]]]
    return np.array(rows, np.int32).reshape(-1, cost.shape[2])


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64])
def test_recurrence_is_exact_at_every_slack_width(rng, dtype):
    for _ in range(60):
        T, K, P, D = int(rng.integers(1, 4)), int(rng.integers(1, 8)), int(rng.integers(1, 6)), int(rng.integers(1, 6))
        cost = rng.integers(0, 9, size=(T, K, P)).astype(np.int32)
        mask = rng.random((K, int(rng.integers(1, 7)))) < 0.6
        x_ptr, x_idx, _, _ = _stream(mask)
        cycles, _, stall = step_cycles(_stream_costs(cost, x_ptr, x_idx, mask.shape[1], T), D)
        got = _broadcast_schedule(cost.astype(dtype), np.zeros((T, K), np.int32), x_ptr, x_idx, mask.shape[1], T, D)
        assert tuple(int(v) for v in got) == (cycles, len(x_idx) * T, stall)


def test_slack_width_holds_the_bound():
    assert _slack_dtype(21, 8) == np.int16                   # ResNet-50's largest slices at the paper's depth
    assert _slack_dtype(1000, 32) == np.int32                # (33 * 1000 + 2 > 32767)
    assert _slack_dtype(1 << 20, 1 << 16) == np.int64
    assert _slack_dtype(32765 // 2, 1) == np.int16 and _slack_dtype(32766 // 2, 1) == np.int32


def test_no_followed_pe_is_one_broadcast_a_cycle(rng):
    # every cost <= 1 at depth >= 2: no PE is followed, and the closed form agrees with the cycle stepper
    for _ in range(40):
        T, K, P, D = int(rng.integers(1, 4)), int(rng.integers(1, 8)), int(rng.integers(1, 6)), int(rng.integers(2, 6))
        rounds = int(rng.integers(1, T + 1))
        T -= T % rounds
        cost = rng.integers(0, 2, size=(T, K, P)).astype(np.int32)
        vectors = int(rng.integers(1, 5))
        mask = rng.random((K, vectors * (T // rounds))) < rng.uniform(0.0, 1.0)
        ptr, idx = [0], []
        for g in range(T // rounds):                       # groups follow each other in the stream
            p_, i_, _, _ = _stream(mask[:, g * vectors:(g + 1) * vectors])
            ptr += (ptr[-1] + p_[1:]).tolist()
            idx += i_.tolist()
        x_ptr, x_idx = np.array(ptr, np.int64), np.array(idx, np.int64)
        cycles, _, stall = step_cycles(_stream_costs(cost, x_ptr, x_idx, vectors, rounds), D)
        assert run_schedule(cost, x_ptr, x_idx, vectors, rounds, D) == (cycles, len(x_idx) * rounds, stall)
