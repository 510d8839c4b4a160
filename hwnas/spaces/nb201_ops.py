"""PyTorch modules of NAS-Bench-201, laid out exactly as in the benchmark's reference code
(xautodl `TinyNetwork` + `InferCell` + `ResNetBasicblock`)."""

from __future__ import annotations

import torch
from torch import nn

OP_NAMES: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# Edge order of the arch string: (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2).
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out),
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
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
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
            nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)
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
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for cell in self.cells:
            x = cell(x)
        x = self.lastact(x)
        x = self.global_pooling(x).flatten(1)
        return self.classifier(x)
