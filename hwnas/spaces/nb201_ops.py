"""PyTorch modules of NAS-Bench-201, laid out exactly as in the benchmark's reference code
(xautodl `TinyNetwork` + `InferCell` + `ResNetBasicblock`)."""

from __future__ import annotations

import torch
from torch import nn

from hwnas.init import SkippableDefaultInit

OP_NAMES: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# Edge order of the arch string: (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2).
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


class Conv2d(SkippableDefaultInit, nn.Conv2d):
    """`nn.Conv2d` whose default initialisation can be skipped (`hwnas.init.default_init_skipped`)."""


class BatchNorm2d(SkippableDefaultInit, nn.BatchNorm2d):
    """`nn.BatchNorm2d` whose default initialisation can be skipped."""


class Linear(SkippableDefaultInit, nn.Linear):
    """`nn.Linear` whose default initialisation can be skipped."""


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    """The `none` edge: multiplies by zero (kept in the graph, as in NAS-Bench-201)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class ChannelsLastAvgPool2d(nn.AvgPool2d):
    """`nn.AvgPool2d` that pools a channels-last copy of a CPU input.

    PyTorch's CPU kernels are 2-4x (forward) and about 10x (backward) faster on that layout and
    return bit-identical values and gradients, so outputs and proxy scores do not change; the
    output and the input gradient come back in the caller's layout, so later kernels see what
    they would without this."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.is_cuda:
            return super().forward(x)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        y_cl = super().forward(x_cl)
        if y_cl.requires_grad:
            y_cl.register_hook(lambda g: g.contiguous(memory_format=torch.channels_last))
            x_cl.register_hook(lambda g: g.contiguous())
        return y_cl.contiguous()


def avg_pool_3x3() -> ChannelsLastAvgPool2d:
    """The `avg_pool_3x3` edge: 3x3 average, stride 1, padding 1, padding not counted."""
    return ChannelsLastAvgPool2d(3, stride=1, padding=1, count_include_pad=False)


def make_op(name: str, channels: int) -> nn.Module:
    """One cell edge with ``channels`` in and out, stride 1."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if name == "avg_pool_3x3":
        return avg_pool_3x3()
    raise ValueError(f"unknown NAS-Bench-201 op {name!r}")


class InferCell(nn.Module):
    """A 4-node NAS-Bench-201 cell; node j is the sum of its incoming edges."""

    def __init__(self, ops: tuple[str, ...], channels: int) -> None:
        super().__init__()
        self.edges = nn.ModuleList(make_op(name, channels) for name in ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        edge = 0
        for node in range(1, 4):
            total = None
            for _ in range(node):
                _, src = EDGES[edge]
                out = self.edges[edge](nodes[src])
                total = out if total is None else total + out
                edge += 1
            nodes.append(total)
        return nodes[-1]


class ResNetBasicBlock(nn.Module):
    """The reduction block between stages: two ReLU-conv-BN plus an avg-pool + 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            ChannelsLastAvgPool2d(kernel_size=2, stride=2, padding=0),
            Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    """NAS-Bench-201 macro skeleton: stem, 3 stages x ``cells_per_stage`` cells, head."""

    def __init__(
        self,
        ops: tuple[str, ...],
        num_classes: int,
        channels: int = 16,
        cells_per_stage: int = 5,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            Conv2d(3, channels, 3, padding=1, bias=False), BatchNorm2d(channels)
        )
        widths = [channels] * cells_per_stage + [channels * 2] + [channels * 2] * cells_per_stage
        widths += [channels * 4] + [channels * 4] * cells_per_stage
        reductions = [False] * cells_per_stage + [True] + [False] * cells_per_stage
        reductions += [True] + [False] * cells_per_stage
        blocks: list[nn.Module] = []
        c_prev = channels
        for width, reduce in zip(widths, reductions):
            blocks.append(ResNetBasicBlock(c_prev, width) if reduce else InferCell(ops, width))
            c_prev = width
        self.cells = nn.ModuleList(blocks)
        self.lastact = nn.Sequential(BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = Linear(c_prev, num_classes)

    def counted_flops(self, input_shape: "tuple[int, ...]", convention: str, live_only: bool) -> int | None:
        """`hwnas.counting.count_flops` of this network for convention ``"conv_linear"`` with
        ``live_only``, from its structure instead of a forward and backward pass (AZ-NAS's
        complexity); None for anything else, and whenever a BatchNorm layer is not in its
        freshly initialised state (bias 0, running mean 0: a zero input then stays zero, which
        the rule relies on). See `live_conv_linear_macs`."""
        if convention != "conv_linear" or not live_only:
            return None
        norms = [m for m in self.modules() if isinstance(m, nn.BatchNorm2d)]
        for bn in norms:
            if not bn.track_running_stats or bn.running_mean is None:
                return None
            if bool(bn.running_mean.any()) or (bn.bias is not None and bool(bn.bias.any())) \
                    or (bn.weight is not None and not bool(bn.weight.all())):
                return None
        return live_conv_linear_macs(self, input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.lastact(x)
        x = self.global_pooling(x).flatten(1)
        return self.classifier(x)


def _conv_macs(conv: nn.Conv2d, h: int, w: int) -> tuple[int, int, int]:
    """(multiply-accumulates per sample, output height, output width) of ``conv`` on an h x w input,
    by `hwnas.counting`'s Conv2d rule."""
    from hwnas.counting import conv_flops_per_position

    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    return conv_flops_per_position(conv) * ho * wo, ho, wo


def _pooled(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a square pooling window (ceil_mode off) over ``size`` positions."""
    return (size + 2 * padding - kernel) // stride + 1


def _cell_liveness(cell: InferCell) -> tuple[bool, list[bool]]:
    """(whether the cell output depends on its input, per node 1..3 whether it receives a gradient
    from the output). A node is non-zero when a path of non-`none` edges reaches it from the input;
    a gradient crosses a `none` edge never, a convolution edge (ReLU first) only from a non-zero
    node, a skip or pooling edge always."""
    nonzero = [True, False, False, False]
    for e, (dst, src) in enumerate(EDGES):
        if not isinstance(cell.edges[e], Zero) and nonzero[src]:
            nonzero[dst] = True
    grad = [False, False, False, True]
    for node in (2, 1, 0):
        for e, (dst, src) in enumerate(EDGES):
            op = cell.edges[e]
            if src != node or not grad[dst] or isinstance(op, Zero):
                continue
            if not isinstance(op, ReLUConvBN) or nonzero[src]:
                grad[node] = True
    return nonzero[3], grad


def live_conv_linear_macs(net: TinyNetwork, input_shape: "tuple[int, ...]") -> int:
    """Conv + linear multiply-accumulates per sample (linear bias included) of the layers of ``net``
    whose output gets a gradient from its logits -- `hwnas.counting.count_flops(net, input_shape,
    "conv_linear", live_only=True)` without running the network, for BatchNorm layers in their
    initial state (eval mode: a zero input stays zero). If some cell's output does not depend on
    its input, everything before the classifier computes a constant zero and the final
    BatchNorm + ReLU pass no gradient: the classifier alone is live. Otherwise every stem,
    reduction-block and classifier layer is live, and a convolution edge of a cell is live when
    its destination node receives a gradient (`_cell_liveness`)."""
    h, w = (int(v) for v in input_shape[-2:])
    fc = net.classifier
    classifier = fc.in_features * fc.out_features + (fc.out_features if fc.bias is not None else 0)
    total = 0
    for module in net.stem:
        if isinstance(module, nn.Conv2d):
            macs, h, w = _conv_macs(module, h, w)
            total += macs
    for cell in net.cells:
        if isinstance(cell, ResNetBasicBlock):
            macs_a, ho, wo = _conv_macs(cell.conv_a[1], h, w)
            macs_b, _, _ = _conv_macs(cell.conv_b[1], ho, wo)
            pool = cell.downsample[0]  # the shortcut's 1x1 conv runs on the pooled input
            hp, wp = (_pooled(v, pool.kernel_size, pool.stride, pool.padding) for v in (h, w))
            macs_d, _, _ = _conv_macs(cell.downsample[1], hp, wp)
            total += macs_a + macs_b + macs_d
            h, w = ho, wo
            continue
        connected, grad = _cell_liveness(cell)
        if not connected:
            return classifier
        for e, (dst, _) in enumerate(EDGES):
            op = cell.edges[e]
            if isinstance(op, ReLUConvBN) and grad[dst]:
                total += _conv_macs(op[1], h, w)[0]
    return total + classifier
