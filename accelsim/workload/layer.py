"""Layers and their GEMM view.

Every layer lowers to ``W (M x K) @ X (K x N)``:

* ``M`` output channels or neurons (all groups together),
* ``K`` the reduction of one output (``C/groups * R * S`` for a convolution),
* ``N`` batch x output positions (batch x time steps for an LSTM).

A grouped convolution is ``groups`` GEMMs side by side: rows
``g*M/groups .. (g+1)*M/groups`` of ``W`` meet the im2col of input channels
``g*C/groups .. (g+1)*C/groups``. A depthwise convolution is the case
``groups == C == M``. Convolutions keep their geometry (``C, H, W, R, S``,
stride, padding) for the models that need it.

``count`` repeats a layer (attention heads, identical encoder layers): models
simulate it once and the result is scaled. ``batched`` says how many of those
repeats one kernel launch runs together (a batched GEMM: every head of one
attention product is one ``bmm``); it divides ``count``, and only designs that
pay per launch (the GPUs) read it.

Own networks (ONNX graphs) have geometry the fields above cannot say in one
number: per-axis strides, dilation, asymmetric padding, transposed
convolution. Such a layer is *lowered*: ``C, H, W, R, S, stride, pad, batch``
describe the computation exactly as the trace stores it (its im2col gives the
source operator's products, no more and no fewer), and ``strides``,
``dilation``, ``pads`` and ``lowering`` (``transposed``) keep the source
operator's own geometry and say how it was mapped (see
``accelsim.traces.real.onnx``). They are descriptive: they never change
``P``, ``Q``, ``K``, ``N`` or ``input_shape``, and shipped workloads leave
them at their defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import WorkloadError

OPS = ("conv", "depthwise", "fc", "matmul", "lstm")
#: no network repeats a layer more often (Llama-2-7B decode at batch 1024 repeats its attention 10^6 times)
MAX_COUNT = 10 ** 9


@dataclass(frozen=True)
class Layer:
    name: str
    op: str
    M: int
    K: int
    N: int
    groups: int = 1
    # convolution geometry (input C x H x W, filters R x S)
    C: int = 0
    H: int = 0
    W: int = 0
    R: int = 1
    S: int = 1
    stride: int = 1
    pad: int = 0
    batch: int = 1
    count: int = 1
    #: repeats one launch runs together (a batched GEMM); divides ``count``
    batched: int = 1
    prunable: bool = True
    note: str = field(default="", compare=False)
    # ---- the source operator's geometry when the fields above are a lowering of it (module docstring) ----
    #: per-axis strides (H, W) of the source convolution; () = (stride, stride)
    strides: tuple = ()
    #: per-axis dilation (H, W); () = (1, 1)
    dilation: tuple = ()
    #: the source padding (top, bottom, left, right); () = ``pad`` on every side
    pads: tuple = ()
    #: how the source operator maps onto this layer: "" (as is), prepadded, rows, cols, patches, or col2im (a
    #: transposed convolution computed as GEMM + col2im)
    lowering: str = ""

    def __post_init__(self):
        for key in ("strides", "dilation", "pads"):   # JSON gives lists back; a frozen layer stays hashable
            v = getattr(self, key)
            if not isinstance(v, tuple):
                object.__setattr__(self, key, tuple(int(x) for x in v))

    # ---- geometry ----------------------------------------------------------
    @property
    def transposed(self) -> bool:
        """A transposed convolution (ConvTranspose), lowered to GEMM + col2im."""
        return self.lowering == "col2im"

    @property
    def is_conv(self) -> bool:
        return self.op in ("conv", "depthwise")

    @property
    def P(self) -> int:
        """Output height."""
        return (self.H + 2 * self.pad - self.R) // self.stride + 1 if self.is_conv else 1

    @property
    def Q(self) -> int:
        """Output width."""
        return (self.W + 2 * self.pad - self.S) // self.stride + 1 if self.is_conv else 1

    @property
    def rows_per_group(self) -> int:
        return self.M // self.groups

    @property
    def weight_shape(self) -> tuple[int, int]:
        """The weight matrix in the GEMM view."""
        return (self.M, self.K)

    @property
    def native_weight_shape(self) -> tuple[int, ...]:
        if self.is_conv:
            return (self.M, self.C // self.groups, self.R, self.S)
        return (self.M, self.K)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The input activation tensor as traces store it: (B, C, H, W) or (K, N)."""
        if self.is_conv:
            return (self.batch, self.C, self.H, self.W)
        return (self.K * self.groups, self.N)

    @property
    def n_weights(self) -> int:
        return self.M * self.K

    @property
    def macs(self) -> int:
        """Dense multiply-accumulates of one instance (``count`` not applied)."""
        return self.M * self.K * self.N

    @property
    def total_macs(self) -> int:
        return self.macs * self.count

    @property
    def total_weights(self) -> int:
        return self.n_weights * self.count

    def describe(self) -> str:
        if self.is_conv:
            g = f" g{self.groups}" if self.groups > 1 else ""
            low = f" [{self.lowering}]" if self.lowering else ""
            return (f"{self.op} {self.C}x{self.H}x{self.W} -> {self.M}x{self.P}x{self.Q} "
                    f"k{self.R}x{self.S} s{self.stride} p{self.pad}{g}{low}")
        low = f" [{self.lowering}]" if self.lowering else ""
        return f"{self.op} {self.M}x{self.K} @ {self.K}x{self.N}{low}"


def conv(name: str, C: int, H: int, W: int, M: int, R: int, S: int | None = None, stride: int = 1,
         pad: int = 0, groups: int = 1, batch: int = 1, count: int = 1, op: str | None = None,
         prunable: bool = True) -> Layer:
    S = R if S is None else S
    for key, v in dict(C=C, H=H, W=W, M=M, R=R, S=S, stride=stride, groups=groups, batch=batch).items():
        if not isinstance(v, int) or v < 1:
            raise WorkloadError(f"layer '{name}': {key} must be a positive integer, got {v!r}")
    if isinstance(pad, bool) or not isinstance(pad, int) or pad < 0:
        raise WorkloadError(f"layer '{name}': pad must be an integer >= 0, got {pad!r}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise WorkloadError(f"layer '{name}': count must be an integer in [1, {MAX_COUNT:.0e}], got {count!r}")
    if C % groups or M % groups:
        raise WorkloadError(f"layer '{name}': channels {C} -> {M} do not divide into {groups} groups")
    if H + 2 * pad < R or W + 2 * pad < S:
        raise WorkloadError(f"layer '{name}': filter {R}x{S} larger than padded input {H}x{W}")
    P = (H + 2 * pad - R) // stride + 1
    Q = (W + 2 * pad - S) // stride + 1
    if op is None:
        op = "depthwise" if groups == C == M and groups > 1 else "conv"
    return Layer(name=name, op=op, M=M, K=(C // groups) * R * S, N=batch * P * Q, groups=groups,
                 C=C, H=H, W=W, R=R, S=S, stride=stride, pad=pad, batch=batch, count=count,
                 prunable=prunable)


def gemm(name: str, M: int, K: int, N: int, op: str = "fc", count: int = 1, prunable: bool = True,
         batch: int = 1, batched: int = 1) -> Layer:
    for key, v in dict(M=M, K=K, N=N, count=count, batched=batched).items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise WorkloadError(f"layer '{name}': {key} must be a positive integer, got {v!r}")
    if count > MAX_COUNT:
        raise WorkloadError(f"layer '{name}': count {count:.3g} is more than any network repeats a layer "
                            f"({MAX_COUNT:.0e})")
    if count % batched:
        raise WorkloadError(f"layer '{name}': batched {batched} does not divide count {count}")
    return Layer(name=name, op=op, M=M, K=K, N=N, count=count, prunable=prunable, batch=batch, batched=batched)
