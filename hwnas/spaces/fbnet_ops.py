"""PyTorch modules of the FBNet space, laid out as HW-NAS-Bench's FBNet model code builds them
(`FBNet_Infer`, `ConvBlock`, `Skip`, `ConvNorm`, `ChannelShuffle` of HW-NAS-Bench's
``hw_nas_bench_api/fbnet_models.py``, GATECH-EIC/HW-NAS-Bench, MIT; itself the FBNetV1 block set).

Upstream details kept here: the channel shuffle of the grouped blocks sits after the first 1x1
group conv's BN + ReLU (before the depthwise conv), and no shuffle follows the last 1x1 group
conv; padding is ``ceil((k - s) / 2)`` (= (k - 1) // 2 for k in {3, 5}, s in {1, 2}); the
residual is added when stride is 1 and Cin == Cout; the head pools with `nn.AdaptiveAvgPool2d(1)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class ChannelShuffle(nn.Module):
    """[N, C, H, W] -> [N, g, C/g, H, W] -> [N, C/g, g, H, W] -> [N, C, H, W]."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = self.groups
        return x.reshape(n, g, c // g, h, w).transpose(1, 2).reshape(n, c, h, w)


def _padding(kernel: int, stride: int) -> int:
    return int(math.ceil((kernel - stride) / 2.0))


class ConvNorm(nn.Sequential):
    """conv (no bias) -> BN -> ReLU: HW-NAS-Bench's stem and head (``ConvNorm_...`` LUT entries)."""

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, padding: "int | None" = None) -> None:
        pad = _padding(kernel, stride) if padding is None else padding
        super().__init__(nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=pad, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=False))
        self.c_in, self.c_out, self.kernel, self.stride = c_in, c_out, kernel, stride


class ConvBlock(nn.Module):
    """1x1 conv (groups g) -> BN -> ReLU [-> channel shuffle if g > 1] -> depthwise kxk conv
    (stride s) -> BN -> ReLU -> 1x1 conv (groups g) -> BN [+ input if s == 1 and Cin == Cout]."""

    def __init__(self, c_in: int, c_out: int, expansion: int, kernel: int, stride: int, groups: int) -> None:
        super().__init__()
        mid = c_in * expansion
        self.c_in, self.c_out, self.expansion, self.kernel, self.stride, self.groups = (
            c_in, c_out, expansion, kernel, stride, groups)
        self.conv1 = nn.Conv2d(c_in, mid, 1, groups=groups, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.relu1 = nn.ReLU(inplace=False)
        self.shuffle = ChannelShuffle(groups) if groups > 1 else None
        self.conv2 = nn.Conv2d(mid, mid, kernel, stride=stride, padding=_padding(kernel, stride), groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.relu2 = nn.ReLU(inplace=False)
        self.conv3 = nn.Conv2d(mid, c_out, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        if self.shuffle is not None:
            out = self.shuffle(out)
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return out + x if self.residual else out


class Skip(nn.Module):
    """Identity when stride is 1 and Cin == Cout, else 1x1 conv (stride s) -> BN -> ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_in, self.c_out, self.stride = c_in, c_out, stride
        self.project = None
        if stride != 1 or c_in != c_out:
            self.project = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.project is None else self.project(x)


def make_layer(op: int, blocks: Sequence[tuple[int, int, int]], c_in: int, c_out: int, stride: int) -> nn.Module:
    """Op id ``op`` (0..7 = ``blocks[op]`` = (expansion, kernel, group), 8 = skip) as a module."""
    if op == len(blocks):
        return Skip(c_in, c_out, stride)
    expansion, kernel, groups = blocks[op]
    return ConvBlock(c_in, c_out, expansion, kernel, stride, groups)


class FBNet(nn.Module):
    """Stem (ConvNorm 3x3), 22 searchable layers, head ConvNorm 1x1, global average pool, Linear."""

    def __init__(self, stem: nn.Module, layers: Sequence[nn.Module], head: nn.Module, head_channels: int,
                 num_classes: int) -> None:
        super().__init__()
        self.stem = stem
        self.layers = nn.ModuleList(layers)
        self.head = head
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(head_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        return self.fc(self.avgpool(self.head(x)).flatten(1))

    def proxy_blocks(self) -> list[nn.Module]:
        """The AZ-NAS primary blocks: the stem and every layer that computes something (an identity
        skip passes its input on unchanged, so it is no block of its own)."""
        return [self.stem, *(m for m in self.layers if not (isinstance(m, Skip) and m.project is None))]
