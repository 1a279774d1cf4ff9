"""Write accelsim/workloads/resnet50.yaml, googlenet.yaml and mobilenetv2.yaml from the papers' architecture tables.

The YAML files hold explicit layer lists; this script is how they were made
(``python tools/gen_workloads.py``, idempotent). Only layers with weights are
listed (convolutions, depthwise convolutions, fully connected); pooling,
batch norm, ReLU and the residual additions have no weights and no MACs in the
counting convention of the totals (weights without biases or batch norm; MACs
of convolutions and FC layers). Every network takes one 224x224 RGB image.

Sources
-------
* ResNet-50: He, Zhang, Ren and Sun, "Deep Residual Learning for Image
  Recognition", CVPR 2016, Table 1 (50-layer column) and Sec. 3.3/4.1
  (bottleneck blocks, projection shortcuts "option B": a 1x1 convolution only
  where the shape changes). The stride-2 sits in the 3x3 convolution of the
  first block of stages 3-5 (the torchvision "v1.5" layout); the paper puts it
  in the first 1x1. Weights are identical either way; the MACs are 4.09 G
  (v1.5) instead of 3.86 G.
* GoogLeNet: Szegedy et al., "Going Deeper with Convolutions", CVPR 2015,
  Table 1 (Inception-v1; the auxiliary classifiers are dropped, as at
  inference). Every inception module has four branches: 1x1; 1x1 reduce then
  3x3; 1x1 reduce then 5x5; 3x3 max pool then 1x1 projection.
* MobileNetV2: Sandler et al., "MobileNetV2: Inverted Residuals and Linear
  Bottlenecks", CVPR 2018, Table 2 (width multiplier 1.0, 224x224): a 3x3
  stem, 17 inverted-residual bottlenecks (1x1 expansion by t, 3x3 depthwise,
  1x1 linear projection; no expansion conv when t == 1), a 1x1 conv to 1280
  channels and the 1000-way classifier.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Net:
    """Collects layers while tracking the running feature-map shape."""

    def __init__(self):
        self.layers: list[dict] = []

    def conv(self, name, C, H, M, R, stride=1, pad=None, groups=1, op="conv"):
        pad = (R - 1) // 2 if pad is None else pad
        d = {"name": name, "op": op, "C": C, "H": H, "W": H, "M": M, "R": R}
        if stride != 1:
            d["stride"] = stride
        if pad:
            d["pad"] = pad
        if groups != 1:
            d["groups"] = groups
        self.layers.append(d)
        return (H + 2 * pad - R) // stride + 1  # output side

    def dw(self, name, C, H, stride=1):
        return self.conv(name, C, H, C, 3, stride=stride, groups=C, op="depthwise")

    def fc(self, name, n_in, n_out):
        self.layers.append({"name": name, "op": "fc", "in": n_in, "out": n_out})


def pool_out(H, k, stride, pad=0, ceil=False):
    num = H + 2 * pad - k
    return (-(-num // stride) if ceil else num // stride) + 1


def resnet50() -> Net:
    net = Net()
    H = net.conv("conv1", 3, 224, 64, 7, stride=2, pad=3)       # 112
    H = pool_out(H, 3, 2, 1)                                     # 3x3 max pool, stride 2: 56
    C = 64
    # Table 1: (blocks, bottleneck width) for conv2_x .. conv5_x; output channels = 4 x width
    for stage, (blocks, width) in enumerate([(3, 64), (4, 128), (6, 256), (3, 512)], start=1):
        for b in range(blocks):
            s = 2 if (b == 0 and stage > 1) else 1
            p = f"layer{stage}_{b}"
            net.conv(f"{p}_conv1", C, H, width, 1)
            Ho = net.conv(f"{p}_conv2", width, H, width, 3, stride=s)
            net.conv(f"{p}_conv3", width, Ho, 4 * width, 1)
            if b == 0:  # projection shortcut where channels (and, past stage 1, size) change
                net.conv(f"{p}_downsample", C, H, 4 * width, 1, stride=s)
            C, H = 4 * width, Ho
    net.fc("fc", 2048, 1000)  # after 7x7 global average pooling
    return net


# GoogLeNet Table 1: name, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj
_INCEPTION = [
    ("3a", 64, 96, 128, 16, 32, 32), ("3b", 128, 128, 192, 32, 96, 64),
    ("4a", 192, 96, 208, 16, 48, 64), ("4b", 160, 112, 224, 24, 64, 64), ("4c", 128, 128, 256, 24, 64, 64),
    ("4d", 112, 144, 288, 32, 64, 64), ("4e", 256, 160, 320, 32, 128, 128),
    ("5a", 256, 160, 320, 32, 128, 128), ("5b", 384, 192, 384, 48, 128, 128),
]


def googlenet() -> Net:
    net = Net()
    H = net.conv("conv1", 3, 224, 64, 7, stride=2, pad=3)        # 112
    H = pool_out(H, 3, 2, ceil=True)                              # 56
    net.conv("conv2_reduce", 64, H, 64, 1)
    H = net.conv("conv2", 64, H, 192, 3)                          # 56
    H = pool_out(H, 3, 2, ceil=True)                              # 28
    C = 192
    for name, c1, r3, c3, r5, c5, pp in _INCEPTION:
        if name in ("4a", "5a"):
            H = pool_out(H, 3, 2, ceil=True)                      # 14, then 7
        p = f"inception{name}"
        net.conv(f"{p}_1x1", C, H, c1, 1)
        net.conv(f"{p}_3x3_reduce", C, H, r3, 1)
        net.conv(f"{p}_3x3", r3, H, c3, 3)
        net.conv(f"{p}_5x5_reduce", C, H, r5, 1)
        net.conv(f"{p}_5x5", r5, H, c5, 5)
        net.conv(f"{p}_pool_proj", C, H, pp, 1)                   # after a 3x3 stride-1 max pool
        C = c1 + c3 + c5 + pp
    net.fc("fc", 1024, 1000)                                      # after 7x7 average pool (dropout 40%)
    return net


def mobilenetv2() -> Net:
    net = Net()
    H = net.conv("conv1", 3, 224, 32, 3, stride=2)               # 112
    C = 32
    # Table 2: expansion t, output channels c, repeats n, first stride s
    idx = 0
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            p = f"block{idx}"
            hidden = C * t
            if t != 1:
                net.conv(f"{p}_expand", C, H, hidden, 1)
            Ho = net.dw(f"{p}_dw", hidden, H, stride)
            net.conv(f"{p}_project", hidden, Ho, c, 1)
            C, H = c, Ho
            idx += 1
    net.conv("conv_last", C, H, 1280, 1)
    net.fc("fc", 1280, 1000)
    return net


def totals(layers: list[dict]) -> tuple[int, int]:
    w = macs = 0
    for d in layers:
        if d["op"] == "fc":
            w += d["in"] * d["out"]
            macs += d["in"] * d["out"]
            continue
        g = d.get("groups", 1)
        k = d["C"] // g * d["R"] * d["R"]
        out = (d["H"] + 2 * d.get("pad", 0) - d["R"]) // d.get("stride", 1) + 1
        w += d["M"] * k
        macs += d["M"] * k * out * out
    return w, macs


_ORDER = ["name", "op", "C", "H", "W", "M", "R", "stride", "pad", "groups", "in", "out"]


def _flow(d: dict) -> str:
    return "{" + ", ".join(f"{k}: {d[k]}" for k in _ORDER if k in d) + "}"


def render(name: str, source: str, notes: str, net: Net) -> str:
    w, macs = totals(net.layers)
    lines = [
        "# Generated by tools/gen_workloads.py; edit the script, not this file.",
        f"name: {name}",
        f'source: "{source}"',
        "notes: >",
    ]
    text = notes.strip() + f" Totals: {w / 1e6:.2f} M weights, {macs / 1e9:.3f} G MACs."
    words, line = text.split(), "  "
    for word in words:
        if len(line) + len(word) + 1 > 110:
            lines.append(line.rstrip())
            line = "  "
        line += word + " "
    lines.append(line.rstrip())
    lines.append("layers:")
    lines += [f"  - {_flow(d)}" for d in net.layers]
    return "\n".join(lines) + "\n"


SPECS = {
    "resnet50": (
        resnet50,
        "He, Zhang, Ren and Sun, Deep Residual Learning for Image Recognition, CVPR 2016, Table 1 (50-layer)",
        """Bottleneck ResNet-50 at 224x224, torchvision layout (v1.5): the stride-2 of stages 3-5 is in the 3x3
        conv, and each stage's first block has a 1x1 projection shortcut (option B, Sec. 3.3). Counting weights of
        convs and FC without biases or batch norm, MACs of convs and FC.""",
    ),
    "googlenet": (
        googlenet,
        "Szegedy et al., Going Deeper with Convolutions, CVPR 2015, Table 1 (Inception-v1)",
        """GoogLeNet as in the paper's Table 1, at 224x224, with its 1x1 reduction convs, the 5x5 convs of the
        inception modules and the pool projections; without the two auxiliary classifiers (inference) and
        without biases. Table 1 sums to about 6.8 M parameters and 1.5 G ops because it counts parameters in
        K = 1024 (conv2: 4,096 + 110,592 weights = 112 K) and its conv1 row (2.7 K parameters, 34 M ops) is below
        the 9.4 K weights and 118 M MACs of a 7x7 conv from 3 to 64 channels over 112x112 outputs; counted
        exactly, the same layers give 6.99 M weights and 1.58 G MACs. torchvision's googlenet (6.6 M) differs:
        its '5x5' branch uses a 3x3 kernel, and it adds batch norm.""",
    ),
    "mobilenetv2": (
        mobilenetv2,
        "Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, CVPR 2018, Table 2",
        """MobileNetV2 with width multiplier 1.0 at 224x224: 3x3 stem, 17 inverted-residual bottlenecks (1x1
        expand by t, 3x3 depthwise, 1x1 linear projection; no expand conv when t = 1), 1x1 conv to 1280, FC.
        Weights without biases or batch norm; MACs of convs and FC. The paper quotes 3.4 M parameters and 300 M
        multiply-adds (Table 4).""",
    ),
}


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else ROOT / "accelsim" / "workloads"
    for name, (build, source, notes) in SPECS.items():
        net = build()
        text = render(name, source, " ".join(notes.split()), net)
        (out_dir / f"{name}.yaml").write_text(text)
        w, macs = totals(net.layers)
        print(f"{name}: {len(net.layers)} layers, {w / 1e6:.3f} M weights, {macs / 1e9:.4f} G MACs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
