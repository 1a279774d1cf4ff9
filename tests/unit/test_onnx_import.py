"""The ONNX path: graphs the tests build with onnx.helper, checked by hand; bad files; the rapidocr models."""
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from accelsim.cli import main  # noqa: E402
from accelsim.errors import TraceError  # noqa: E402
from accelsim.traces import LayerTrace, load_trace  # noqa: E402
from accelsim.traces.real import capture, workload  # noqa: E402
from accelsim.traces.real.onnx import import_onnx, run_graph, stored_input  # noqa: E402


def _model(nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, "t", inputs, outputs, initializer=[numpy_helper.from_array(v, k)
                                                                      for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    try:        # outputs written without a shape get the inferred one (the checker wants a shape)
        m = onnx.shape_inference.infer_shapes(m)
    except Exception:  # noqa: BLE001 - the bad-graph tests build graphs inference refuses
        pass
    return m


def _save(m, path):
    onnx.save(m, str(path))
    return path


def _vi(name, shape, dt=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dt, shape)


def _conv_model(rng, C, M, k, strides, dil, pads, group, H=9, W=10, B=2):
    w = rng.standard_normal((M, C // group) + tuple(k)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c", strides=list(strides), dilations=list(dil),
                            pads=list(pads), group=group, kernel_shape=list(k))
    nd = len(k)
    xs = [B, C, H, W][:2 + nd] if nd == 2 else [B, C, W]
    return _model([node], [_vi("x", xs)], [_vi("y", None)], {"w": w}), xs


def _gemm_output(lt: LayerTrace) -> np.ndarray:
    return lt.output()


# ---- convolutions: geometry by hand, and the stored input reproduces onnxruntime's output exactly ----------------
@pytest.mark.parametrize("C, M, k, strides, dil, pads, group, lowering, P, Q", [
    # 3x3, dilation 2 in both axes, 2 groups, asymmetric pads (top 1, left 0, bottom 2, right 1): patches
    (4, 6, (3, 3), (1, 1), (2, 2), (1, 0, 2, 1), 2, "patches", (9 + 3 - 5) // 1 + 1, (10 + 1 - 5) // 1 + 1),
    # depthwise 3x3, stride (2, 1), pads 1: rows (the PP-OCR recognizer's downsampling)
    (4, 4, (3, 3), (2, 1), (1, 1), (1, 1, 1, 1), 4, "rows", (9 + 2 - 3) // 2 + 1, 10),
    # 3x3 stride (1, 2): whichever axis duplicates less
    (4, 3, (3, 3), (1, 2), (1, 1), (1, 1, 1, 1), 1, None, 9, (10 + 2 - 3) // 2 + 1),
    # 1x3 with pads (0, 1, 0, 1): symmetric per axis but not equal: prepadded
    (4, 5, (1, 3), (1, 1), (1, 1), (0, 1, 0, 1), 1, "prepadded", 9, 10),
    # dilation along H only: rows
    (4, 4, (3, 3), (1, 1), (2, 1), (2, 1, 2, 1), 1, "rows", 9, 10),
    # plain 3x3 stride 2 pad 1: native
    (4, 8, (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 1, "", 5, 5),
])
def test_conv_geometry_and_exact_lowering(rng, C, M, k, strides, dil, pads, group, lowering, P, Q):
    m, xs = _conv_model(rng, C, M, k, strides, dil, pads, group)
    net = import_onnx(m, name="c")
    (ol,) = net.layers
    lay = ol.layer
    B = xs[0]
    assert lay.macs == B * M * P * Q * (C // group) * k[0] * k[1]          # the real MAC count
    assert lay.strides == tuple(strides) and lay.dilation == tuple(dil)
    assert lay.pads == (pads[0], pads[2], pads[1], pads[3])                 # (top, bottom, left, right)
    if lowering is not None:
        assert lay.lowering == lowering
    x = rng.standard_normal(xs).astype(np.float32)
    y = run_graph(m, {"x": x}, ["y"])["y"]
    assert y.shape == (B, M, P, Q)
    lt = LayerTrace(lay, net.weight_gemm(ol), stored_input(ol, {"x": x}))
    assert lt.input.shape == lay.input_shape
    got = _gemm_output(lt)                                                  # M x N in the layer's column order
    if lay.lowering == "cols":
        got = got.reshape(M, B, Q, P).transpose(1, 0, 3, 2)
    else:
        got = got.reshape(M, B, P, Q).transpose(1, 0, 2, 3)
    assert np.allclose(got, y, atol=1e-4)


def test_one_dimensional_conv_with_stride(rng):
    m, xs = _conv_model(rng, 3, 5, (4,), (2,), (1,), (1, 2), 1, W=17)
    net = import_onnx(m)
    lay = net.layers[0].layer
    Q = (17 + 3 - 4) // 2 + 1
    assert (lay.H, lay.R, lay.stride, lay.P, lay.Q) == (1, 1, 2, 1, Q) and lay.macs == 2 * 5 * Q * 3 * 4
    x = rng.standard_normal(xs).astype(np.float32)
    y = run_graph(m, {"x": x}, ["y"])["y"]
    lt = LayerTrace(lay, net.weight_gemm(net.layers[0]), stored_input(net.layers[0], {"x": x}))
    assert np.allclose(lt.output().reshape(5, 2, Q).transpose(1, 0, 2), y, atol=1e-4)


def test_auto_pad_same_upper(rng):
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], strides=[2, 2], auto_pad="SAME_UPPER")
    net = import_onnx(_model([node], [_vi("x", [1, 3, 8, 8])], [_vi("y", None)], {"w": w}))
    lay = net.layers[0].layer
    assert lay.pads == (0, 1, 0, 1) and (lay.P, lay.Q) == (4, 4) and lay.lowering == "prepadded"


def test_transposed_conv_is_gemm_plus_col2im(rng):
    C, M, g, H, W, R, s = 4, 6, 2, 3, 5, 2, 2
    w = rng.standard_normal((C, M // g, R, R)).astype(np.float32)
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[s, s], group=g)
    m = _model([node], [_vi("x", [1, C, H, W])], [_vi("y", None)], {"w": w})
    net = import_onnx(m)
    ol = net.layers[0]
    lay = ol.layer
    # every input pixel meets every weight of its group: H*W * C * M/g * R*S
    assert lay.macs == H * W * C * (M // g) * R * R
    assert lay.transposed and lay.lowering == "col2im" and lay.op == "matmul" and lay.groups == g
    assert (lay.M, lay.K, lay.N) == (M * R * R, C // g, H * W)
    x = rng.standard_normal((1, C, H, W)).astype(np.float32)
    y = run_graph(m, {"x": x}, ["y"])["y"]
    cols = LayerTrace(lay, net.weight_gemm(ol), stored_input(ol, {"x": x})).output()   # (M*R*S) x (H*W)
    out = np.zeros((M, H * s, W * s))
    c = cols.reshape(M, R, R, H, W)
    for r in range(R):
        for t in range(R):
            out[:, r::s, t::s][:, :H, :W] += c[:, r, t]
    assert y.shape == (1, M, H * s, W * s) and np.allclose(out, y[0], atol=1e-4)


def test_conv_weight_must_be_constant(rng):
    node = helper.make_node("Conv", ["x", "w"], ["y"])
    m = _model([node], [_vi("x", [1, 3, 4, 4]), _vi("w", [2, 3, 1, 1])], [_vi("y", None)], {})
    with pytest.raises(TraceError, match="constant weights"):
        import_onnx(m)


# ---- matrix products -------------------------------------------------------------------------------------
def _attention(rng, B=2, T=5, d=8, h=2):
    dh = d // h
    ws = {n: rng.standard_normal((d, d)).astype(np.float32) for n in ("wq", "wk", "wv", "wo")}
    shape = np.array([B, T, h, dh], np.int64)
    nodes = [helper.make_node("MatMul", ["x", "wq"], ["q"], name="q_proj"),
             helper.make_node("MatMul", ["x", "wk"], ["k"], name="k_proj"),
             helper.make_node("MatMul", ["x", "wv"], ["v"], name="v_proj")]
    for n in "qkv":
        nodes.append(helper.make_node("Reshape", [n, "shape"], [n + "r"]))
        nodes.append(helper.make_node("Transpose", [n + "r"], [n + "h"],
                                      perm=[0, 2, 3, 1] if n == "k" else [0, 2, 1, 3]))
    nodes += [helper.make_node("MatMul", ["qh", "kh"], ["s"], name="scores"),
              helper.make_node("Softmax", ["s"], ["p"], axis=-1),
              helper.make_node("MatMul", ["p", "vh"], ["ctx"], name="context"),
              helper.make_node("Transpose", ["ctx"], ["ct"], perm=[0, 2, 1, 3]),
              helper.make_node("Reshape", ["ct", "shape3"], ["cm"]),
              helper.make_node("MatMul", ["cm", "wo"], ["y"], name="o_proj")]
    inits = dict(ws, shape=shape, shape3=np.array([B, T, d], np.int64))
    return _model(nodes, [_vi("x", [B, T, d])], [_vi("y", [B, T, d])], inits)


def test_attention_block_layers_by_hand(rng):
    B, T, d, h = 2, 5, 8, 2
    net = import_onnx(_attention(rng, B, T, d, h))
    got = [(ol.name, ol.layer.op, ol.layer.M, ol.layer.K, ol.layer.N, ol.layer.count, ol.layer.prunable)
           for ol in net.layers]
    assert got == [("q_proj", "fc", d, d, B * T, 1, True), ("k_proj", "fc", d, d, B * T, 1, True),
                   ("v_proj", "fc", d, d, B * T, 1, True),
                   ("scores", "matmul", T, d // h, T, B * h, False),      # Q K^T per sequence and head
                   ("context", "matmul", T, T, d // h, B * h, False),     # A V
                   ("o_proj", "fc", d, d, B * T, 1, True)]
    assert sum(ol.layer.total_macs for ol in net.layers) == 4 * B * T * d * d + 2 * B * h * T * T * (d // h)


def test_attention_capture_values_and_fidelity(rng, tmp_path):
    m = _attention(rng)
    p = _save(m, tmp_path / "attn.onnx")
    dense = capture(str(p), "dense")
    assert dense.provenance["fidelity"] == 1.0
    assert all(lt.info["output_rel_error"] == 0.0 and lt.info["local_rel_error"] == 0.0 for lt in dense.layers)
    x = np.random.default_rng([0, 11]).standard_normal((2, 5, 8)).astype(np.float32)   # the synthetic input
    q = dense.layer("q_proj")
    assert np.allclose(q.input, x.reshape(-1, 8).T)                 # K x N: the tokens as columns
    vals = run_graph(m, {"x": x}, ["qh", "kh", "q"])
    s = dense.layer("scores")
    assert np.allclose(s.weight, vals["qh"][0, 0]) and np.allclose(s.input, vals["kh"][0, 0])   # first instance
    assert np.allclose(q.output(), vals["q"].reshape(-1, 8).T, atol=1e-5)
    errs = {}
    for dens in (0.75, 0.25):
        tr = capture(str(p), "unstructured", dens)
        assert tr.layer("q_proj").weight_density == pytest.approx(dens)
        sc = tr.layer("scores")      # not pruned: its 'weight' is Q, an activation (zero where a whole row was)
        assert sc.info["pattern"] == "dense" and sc.info["target_weight_density"] == 1.0
        assert tr.layer("q_proj").info["local_rel_error"] > 0
        errs[dens] = tr.provenance["logit_rel_error"]
    assert 0 < errs[0.75] < errs[0.25]


def test_gemm_einsum_and_weight_on_the_left(rng):
    w1 = rng.standard_normal((6, 4)).astype(np.float32)       # Gemm transB: W is (out, in)
    w2 = rng.standard_normal((3, 5)).astype(np.float32)       # MatMul with the weight on the left
    w3 = rng.standard_normal((6, 7)).astype(np.float32)       # Einsum 'bij,jk->bik'
    nodes = [helper.make_node("Gemm", ["x", "w1"], ["a"], name="gemm", transB=1),
             helper.make_node("MatMul", ["w2", "a"], ["b"], name="left"),
             helper.make_node("Reshape", ["b", "s"], ["b3"]),
             helper.make_node("Einsum", ["b3", "w3"], ["c"], name="ein", equation="bij,jk->bik"),
             helper.make_node("Einsum", ["c", "c"], ["d"], name="gram", equation="bik,bjk->bij")]
    m = _model(nodes, [_vi("x", [5, 4])], [_vi("d", [1, 3, 3])],
               {"w1": w1, "w2": w2, "w3": w3, "s": np.array([1, 3, 6], np.int64)})
    net = import_onnx(m)
    got = {ol.name: (ol.layer.M, ol.layer.K, ol.layer.N, ol.layer.count, ol.layer.prunable) for ol in net.layers}
    assert got == {"gemm": (6, 4, 5, 1, True), "left": (3, 5, 6, 1, True), "ein": (7, 6, 3, 1, True),
                   "gram": (3, 7, 3, 1, False)}
    x = rng.standard_normal((5, 4)).astype(np.float32)
    vals = run_graph(m, {"x": x}, ["a", "b", "b3", "c"])
    for name, out in (("gemm", vals["a"].T), ("left", vals["b"]), ("ein", vals["c"][0].T)):
        ol = net.layer(name)
        lt = LayerTrace(ol.layer, net.weight_gemm(ol), stored_input(ol, dict(vals, x=x)))
        assert np.allclose(lt.output(), out, atol=1e-4), name
    assert np.array_equal(net.weight_gemm(net.layer("ein")), w3.T)


def test_einsum_that_is_not_a_matmul_is_refused(rng):
    node = helper.make_node("Einsum", ["x", "w"], ["y"], equation="ij,jk->i")
    m = _model([node], [_vi("x", [3, 4])], [_vi("y", None)], {"w": rng.standard_normal((4, 5)).astype(np.float32)})
    with pytest.raises(TraceError, match="not a matmul"):
        import_onnx(m)


# ---- weights through Constant, Identity, Cast, Transpose and DequantizeLinear -----------------------------------
def test_weights_found_through_value_preserving_ops(rng, tmp_path):
    wq = rng.integers(-8, 8, size=(4, 6)).astype(np.int8)
    wq[wq == 3] = 2
    zp = np.array([3, 3, 3, 3], np.int8)                       # per output row (axis 0): 3 is zero
    wq[0, :2] = 3
    scale = np.linspace(0.1, 0.4, 4).astype(np.float32)
    w16 = rng.standard_normal((6, 5)).astype(np.float16)
    wc = rng.standard_normal((5, 3)).astype(np.float32)
    nodes = [helper.make_node("DequantizeLinear", ["wq", "scale", "zp"], ["wdq"], axis=0),
             helper.make_node("Transpose", ["wdq"], ["wt"], perm=[1, 0]),
             helper.make_node("MatMul", ["x", "wt"], ["a"], name="quant"),      # a: 2 x 4 ... x is 2 x 6
             helper.make_node("Cast", ["w16"], ["w32"], to=TensorProto.FLOAT),
             helper.make_node("Identity", ["w32"], ["wid"]),
             helper.make_node("MatMul", ["x", "wid"], ["b"], name="half"),
             helper.make_node("Constant", [], ["wc"], value=numpy_helper.from_array(wc)),
             helper.make_node("MatMul", ["b", "wc"], ["c"], name="const")]
    m = _model(nodes, [_vi("x", [2, 6])], [_vi("a", None), _vi("c", None)],
               {"wq": wq, "scale": scale, "zp": zp, "w16": w16}, opset=17)
    p = _save(m, tmp_path / "q.onnx")
    net = import_onnx(str(p))
    assert [ol.name for ol in net.layers] == ["quant", "half", "const"]
    wg = net.weight_gemm(net.layer("quant"))
    assert np.allclose(wg, (wq.astype(np.float32) - 3) * scale[:, None])
    assert np.count_nonzero(wg) == np.count_nonzero(wq != 3)                 # integer zeros are zero points
    assert np.array_equal(net.weight_gemm(net.layer("half")), w16.astype(np.float32).T)
    assert np.array_equal(net.weight_gemm(net.layer("const")), wc.T)
    tr = capture(str(p), "unstructured", 0.5)
    q = tr.layer("quant")
    assert q.weight_density == 0.5
    pruned = net.with_weights({"quant": q.weight})
    qi = numpy_helper.to_array(next(t for t in pruned.graph.initializer if t.name == "wq"))
    assert qi.dtype == np.int8 and np.count_nonzero(qi != 3) == 12            # pruned to the zero point
    x = np.random.default_rng([0, 11]).standard_normal((2, 6)).astype(np.float32)
    a = run_graph(pruned, {"x": x}, ["a"])["a"]
    # the pruned model really runs (onnxruntime may quantize x on the way: a quantized kernel, not exact)
    assert np.allclose(a, x @ q.weight.T, atol=0.05) and np.all(a[:, 0] == 0)


def test_shared_weight_is_copied_not_pruned_twice(rng):
    w = rng.standard_normal((4, 4)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["a"], name="first"),
             helper.make_node("MatMul", ["a", "w"], ["b"], name="second")]
    m = _model(nodes, [_vi("x", [3, 4])], [_vi("b", None)], {"w": w})
    net = import_onnx(m)
    pruned_first = np.where(np.abs(w.T) > 0.5, w.T, 0).astype(np.float32)
    model = net.with_weights({"first": pruned_first})
    x = rng.standard_normal((3, 4)).astype(np.float32)
    out = run_graph(model, {"x": x}, ["a", "b"])
    assert np.allclose(out["a"], x @ pruned_first.T, atol=1e-5)
    assert np.allclose(out["b"], out["a"] @ w, atol=1e-5)                   # the second layer keeps w


def test_lstm_columns_are_x_and_previous_h(rng):
    T, B, I, H = 4, 2, 3, 5
    W = rng.standard_normal((1, 4 * H, I)).astype(np.float32)
    R = rng.standard_normal((1, 4 * H, H)).astype(np.float32)
    node = helper.make_node("LSTM", ["x", "W", "R"], ["y", "yh"], name="rnn", hidden_size=H)
    m = _model([node], [_vi("x", [T, B, I])], [_vi("y", None)], {"W": W, "R": R})
    net = import_onnx(m)
    ol = net.layers[0]
    assert (ol.layer.op, ol.layer.M, ol.layer.K, ol.layer.N) == ("lstm", 4 * H, I + H, T * B)
    x = rng.standard_normal((T, B, I)).astype(np.float32)
    vals = run_graph(m, {"x": x}, ["y"])
    vals["x"] = x
    cols = stored_input(ol, vals)
    assert np.allclose(cols[:I], x.reshape(T * B, I).T)
    assert np.all(cols[I:, :B] == 0)                                        # h_0 = 0
    assert np.allclose(cols[I:, B:], vals["y"][:-1, 0].reshape((T - 1) * B, H).T)
    assert np.array_equal(net.weight_gemm(ol), np.concatenate([W[0], R[0]], axis=1))


# ---- memory: chunked runs and the record limit -----------------------------------------------------------------
def test_chunked_runs_and_record_limit(rng, tmp_path):
    from accelsim.traces.real.capture import capture_source, onnx_source
    p = _save(_attention(rng), tmp_path / "a.onnx")
    src = onnx_source(p)
    one = capture_source(src, "unstructured", 0.5)
    many = capture_source(src, "unstructured", 0.5, budget=1)                # one layer per onnxruntime run
    for a, b in zip(one.layers, many.layers):
        assert np.array_equal(a.input, b.input) and a.info["output_rel_error"] == b.info["output_rel_error"]
    small = capture_source(src, "unstructured", 0.5, record_limit=30)
    q = small.layer("q_proj")                                                # 8 x 10 = 80 elements > 30
    assert "stand-in" in q.info["input"] and q.input.shape == one.layer("q_proj").input.shape
    assert q.act_density == pytest.approx(q.info["act_density_measured"], abs=0.02)
    assert "input" not in small.layer("scores").info                        # 4 x 5 = 20 elements: kept


# ---- the command line and bad files: one line, exit 2 -----------------------------------------------------------
def test_cli_capture_and_run(rng, tmp_path, capsys):
    p = _save(_attention(rng), tmp_path / "a.onnx")
    out = tmp_path / "a.npz"
    assert main(["trace", "capture", "--model", str(p), "--density", "0.5", "-o", str(out)]) == 0
    tr = load_trace(out)
    assert [lt.name for lt in tr.layers][:3] == ["q_proj", "k_proj", "v_proj"]
    assert tr.layer("scores").layer.count == 4 and tr.provenance["fidelity_metric"] == "1 - output_rel_error"
    capsys.readouterr()
    assert main(["run", "--arch", "ideal", "--workload", str(p), "--density", "0.5", "--json"]) == 0
    import json
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 6 and all("output_rel_error" in r and "fidelity" in r for r in rows)
    assert main(["run", "--arch", "ideal", "--workload", str(out), "--json"]) == 0     # a trace as a workload


def _dyn_conv(tmp_path, rng, shape=("N", 3, "H", "W")):
    w = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])
    return _save(_model([node], [_vi("x", list(shape))], [_vi("y", None)], {"w": w}), tmp_path / "dyn.onnx")


def _one_line_exit_2(argv, capsys, words):
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("accelsim: error:"), err
    assert words in err, err
    return err


def test_missing_input_shape_names_the_input(rng, tmp_path, capsys):
    p = _dyn_conv(tmp_path, rng)
    err = _one_line_exit_2(["trace", "capture", "--model", str(p), "-o", str(tmp_path / "t.npz")], capsys,
                           "input 'x' has symbolic shape [N, 3, H, W]")
    assert "--input-shape x=" in err
    assert main(["trace", "capture", "--model", str(p), "--input-shape", "x=1x3x8x8",
                 "-o", str(tmp_path / "t.npz")]) == 0
    assert load_trace(tmp_path / "t.npz").layers[0].layer.N == 64
    assert main(["trace", "capture", "--model", str(p), "--input-shape", "x=1x3x8x8", "--batch", "3",
                 "-o", str(tmp_path / "t.npz")]) == 2            # --batch disagrees with the shape's 1
    assert main(["trace", "capture", "--model", str(p), "--input-shape", "x=3x3x8x8", "--batch", "3",
                 "-o", str(tmp_path / "t.npz")]) == 0
    assert load_trace(tmp_path / "t.npz").layers[0].layer.N == 3 * 64
    _one_line_exit_2(["trace", "capture", "--model", str(p), "--input-shape", "y=1x3x8x8",
                      "-o", str(tmp_path / "t.npz")], capsys, "graph's inputs are x")


def test_bad_files_are_one_line(rng, tmp_path, capsys):
    good = _dyn_conv(tmp_path, rng, (1, 3, 8, 8))
    data = good.read_bytes()
    trunc = tmp_path / "trunc.onnx"
    trunc.write_bytes(data[: len(data) // 2])
    o = str(tmp_path / "o.npz")
    _one_line_exit_2(["trace", "capture", "--model", str(trunc), "-o", o], capsys, "trunc.onnx")
    foo = _save(_model([helper.make_node("FooBar", ["x"], ["y"])], [_vi("x", [1, 3])], [_vi("y", None)], {}),
                tmp_path / "foo.onnx")
    _one_line_exit_2(["trace", "capture", "--model", str(foo), "-o", o], capsys, "unsupported op")
    ql = _save(_model([helper.make_node("QLinearConv", ["x", "s", "z", "w", "s", "z", "s", "z"], ["y"])],
                      [_vi("x", [1, 3, 4, 4], TensorProto.UINT8)], [_vi("y", None)],
                      {"s": np.float32(1), "z": np.uint8(0), "w": np.ones((2, 3, 1, 1), np.uint8)}),
               tmp_path / "ql.onnx")
    _one_line_exit_2(["trace", "capture", "--model", str(ql), "-o", o], capsys, "QLinearConv")
    huge = _dyn_conv(tmp_path, rng, (1, 3, 100000, 100000))
    _one_line_exit_2(["trace", "capture", "--model", str(huge), "-o", o], capsys, "more than")
    _one_line_exit_2(["run", "--arch", "ideal", "--workload", str(huge)], capsys, "more than")
    from safetensors.numpy import save_file
    st = tmp_path / "w.safetensors"
    save_file({"enc.weight": rng.standard_normal((8, 16)).astype(np.float32)}, str(st))
    _one_line_exit_2(["trace", "capture", "--model", str(st), "-o", o], capsys, "weights only")
    _one_line_exit_2(["run", "--arch", "ideal", "--workload", str(st)], capsys, "weights only")
    (tmp_path / "w.pth").write_bytes(b"PK")
    _one_line_exit_2(["trace", "capture", "--model", str(tmp_path / "w.pth"), "-o", o], capsys, "weights only")
    loop = _model([helper.make_node("If", ["c"], ["y"], then_branch=helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y1"])], "t", [], [_vi("y1", None)]),
        else_branch=helper.make_graph([helper.make_node("Identity", ["x"], ["y2"])], "e", [], [_vi("y2", None)]))],
        [_vi("c", [], TensorProto.BOOL), _vi("x", [2, 2])], [_vi("y", None)], {"w": np.eye(2, dtype=np.float32)})
    _one_line_exit_2(["trace", "capture", "--model", str(_save(loop, tmp_path / "if.onnx")), "-o", o], capsys,
                     "control flow")


def test_inputs_file(rng, tmp_path, capsys):
    p = _dyn_conv(tmp_path, rng)
    x = np.maximum(rng.standard_normal((2, 3, 6, 7)), 0).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    tr = capture(str(p), "dense", inputs=str(tmp_path / "in.npz"))
    assert np.array_equal(tr.layers[0].input, x) and tr.layers[0].act_density == pytest.approx(
        np.count_nonzero(x) / x.size)
    np.savez(tmp_path / "bad.npz", z=x)
    _one_line_exit_2(["trace", "capture", "--model", str(p), "--inputs", str(tmp_path / "bad.npz"),
                      "-o", str(tmp_path / "o.npz")], capsys, "'z' is not an input")


def test_topology_csv(tmp_path):
    (tmp_path / "topo.csv").write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        "Conv1, 227, 227, 11, 11, 3, 96, 4,\n"
        "Conv2, 31, 31, 5, 5, 96, 256, 1,\n"
        "Tall, 9, 10, 3, 3, 4, 8, 2, 1,\n")
    wl = workload(str(tmp_path / "topo.csv"))
    c1, c2, tall = wl.layers
    assert (c1.P, c1.Q, c1.K, c1.N) == (55, 55, 363, 3025) and c2.macs == 256 * 96 * 25 * 27 * 27
    assert tall.macs == 8 * 4 * 9 * 4 * 8 and tall.lowering == "rows"      # P = 4 rows, Q = 8 at stride (2, 1)
    (tmp_path / "g.csv").write_text("Layer, M, N, K,\nQKT, 1024, 1024, 64,\nLinear1, 1024, 4800, 1600,\n")
    g = workload(str(tmp_path / "g.csv[batch=2]"))
    assert [(l.M, l.K, l.N) for l in g.layers] == [(1024, 64, 2048), (4800, 1600, 2048)]
    assert main(["run", "--arch", "ideal", "--workload", str(tmp_path / "topo.csv"), "--layers", "Conv2",
                 "--density", "0.5", "--json"]) == 0


# ---- the rapidocr models: MAC totals against onnxruntime's real shapes, graph order, measured densities -----------
def _rapidocr(name):
    spec = importlib.util.find_spec("rapidocr_onnxruntime")
    if spec is None:
        pytest.skip("rapidocr-onnxruntime not installed (pip install --no-deps rapidocr-onnxruntime)")
    p = Path(spec.submodule_search_locations[0]) / "models" / name
    if not p.is_file():
        pytest.skip(f"rapidocr-onnxruntime has no {name}")
    return p


def _true_macs(path, shape):
    """MACs counted from the tensors onnxruntime really produces, independent of the importer."""
    m = onnx.load(str(path))
    want = []
    for n in m.graph.node:
        if n.op_type in ("Conv", "ConvTranspose", "MatMul", "Gemm"):
            want += [n.input[0], n.input[1], n.output[0]]
    have = {o.name for o in m.graph.output}
    for t in dict.fromkeys(want):
        if t not in have:
            m.graph.output.append(onnx.ValueInfoProto(name=t))
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    vals = dict(zip(names, sess.run(None, {"x": np.zeros(shape, np.float32)})))
    inits = {t.name: tuple(t.dims) for t in m.graph.initializer}
    consts = {n.output[0]: tuple(n.attribute[0].t.dims) for n in m.graph.node if n.op_type == "Constant"}

    def shp(t):
        return vals[t].shape if t in vals else (inits.get(t) or consts[t])

    total, order = 0, []
    for n in m.graph.node:
        if n.op_type == "Conv":
            w = shp(n.input[1])
            total += math.prod(shp(n.output[0])) * math.prod(w[1:])
        elif n.op_type == "ConvTranspose":
            w = shp(n.input[1])
            total += math.prod(shp(n.input[0])) * math.prod(w[1:])
        elif n.op_type in ("MatMul", "Gemm"):
            total += math.prod(shp(n.output[0])) * shp(n.input[0])[-1]
        else:
            continue
        order.append(n.name)
    return total, order


def _check_rapidocr(name, shape, pattern="unstructured", density=0.5):
    p = _rapidocr(name)
    true, order = _true_macs(p, shape)
    tr = capture(str(p), pattern, density, input_shapes=[f"x={'x'.join(map(str, shape))}"])
    macs = sum(lt.layer.total_macs for lt in tr.layers)
    assert abs(macs - true) <= 0.01 * true, (macs, true)
    nodes = [lt.info["node"] for lt in tr.layers]
    assert [n for n in order if n in nodes] == nodes                         # graph order
    dens = [lt.act_density for lt in tr.layers]
    assert min(dens) < 0.8 and len({round(d, 2) for d in dens}) > 5         # measured, and varied
    assert all(lt.weight_density == pytest.approx(density, abs=0.01) for lt in tr.layers if lt.layer.prunable)
    return tr, true


def test_rapidocr_classifier(tmp_path):
    tr, true = _check_rapidocr("ch_ppocr_mobile_v2.0_cls_infer.onnx", (1, 3, 48, 192))
    assert any(lt.layer.lowering == "rows" for lt in tr.layers)              # its stride (2, 1) convolutions
    assert tr.provenance["fidelity_metric"] == "top1_agreement"              # a 2-way softmax
    import accelsim
    df = accelsim.simulate("ideal", trace=tr)
    assert int(df["macs_dense"].sum()) == sum(lt.layer.total_macs for lt in tr.layers)
    assert "output_rel_error" in df.columns and "fidelity" in df.columns


@pytest.mark.slow
@pytest.mark.parametrize("name, shape", [("ch_PP-OCRv4_det_infer.onnx", (1, 3, 640, 640)),
                                         ("ch_PP-OCRv4_rec_infer.onnx", (1, 3, 48, 320))])
def test_rapidocr_detector_and_recognizer(name, shape):
    tr, true = _check_rapidocr(name, shape)
    if "det" in name:
        assert abs(true - 2.30e9) < 0.01e9 and sum(lt.layer.transposed for lt in tr.layers) == 2
    else:
        assert sum(1 for lt in tr.layers if not lt.layer.prunable) == 4     # two attention blocks x (QK^T, AV)


@pytest.mark.slow
@pytest.mark.parametrize("name, shape", [("ch_ppocr_mobile_v2.0_cls_infer.onnx", (1, 3, 48, 192)),
                                         ("ch_PP-OCRv4_rec_infer.onnx", (1, 3, 48, 320)),
                                         ("ch_PP-OCRv4_det_infer.onnx", (1, 3, 640, 640))])
def test_rapidocr_on_every_shipped_design(name, shape):
    import accelsim
    from accelsim.arch import list_archs
    p = _rapidocr(name)
    tr = capture(str(p), "nm:2:4", input_shapes=[f"x={'x'.join(map(str, shape))}"])
    failed = {}
    for arch in list_archs():
        try:
            df = accelsim.simulate(arch, trace=tr)
            assert len(df) == len(tr.layers) and (df["cycles"] > 0).all()
        except Exception as e:  # noqa: BLE001 - collected, reported together
            failed[arch] = f"{type(e).__name__}: {e}"
    assert not failed, failed


def test_a_loaded_own_workload_still_captures_real_weights(rng, tmp_path):
    # sweeps load workloads on the driver and hand Workload objects to build_trace: it must still capture
    from accelsim.api import build_trace
    from accelsim.workload import load_workload
    from accelsim.traces.real.onnx import import_onnx as imp
    p = _save(_attention(rng), tmp_path / "a.onnx")
    wl = load_workload(str(p))
    assert wl.capture == str(p) and [l.name for l in wl.layers][:2] == ["q_proj", "k_proj"]
    tr = build_trace(wl, pattern="unstructured", density=0.5)
    net = imp(str(p))
    dense = net.weight_gemm(net.layer("o_proj"))
    w = tr.layer("o_proj").weight
    assert tr.layer("o_proj").weight_density == 0.5 and np.array_equal(w[w != 0], dense[w != 0])
    assert "fidelity" in tr.provenance
