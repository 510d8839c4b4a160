"""PyTorch modules of the MobileNetV2-style TF-NAS space, laid out as TF-NAS's evaluation network
builds them (``models/layers.py`` `ConvLayer`, `MBInvertedResBlock`, `LinearLayer`, `Swish`;
``models/model_eval.py`` `Network`; AberHu/TF-NAS, MIT).

`MBInvertedResBlock(c_in, mid, se, c_out, k, s, act)`: [1x1 conv c_in -> mid, BN, act, only when
mid > c_in] -> depthwise kxk conv (stride s, padding k // 2), BN, act -> [squeeze-excite when
se > 0: global average (functional), 1x1 conv mid -> se with bias, act, 1x1 conv se -> mid with
bias, sigmoid, multiply] -> 1x1 conv mid -> c_out, BN [+ input when s == 1 and c_in == c_out].
Convolutions other than the squeeze-excite ones have no bias; BatchNorm is affine (evaluation
network); drop-connect and dropout (0 in TF-NAS's parsing and latency code) are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class Swish(nn.Module):
    """x * sigmoid(x) (TF-NAS's `Swish`, out of place)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


def activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=False)
    if name == "swish":
        return Swish()
    raise ValueError(f"unknown TF-NAS activation {name!r}")


class ConvLayer(nn.Sequential):
    """conv (no bias, padding k // 2) -> BN -> act: TF-NAS's first stem and feature-mix layer."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, act: str) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), activation(act))


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, se: int, act: str) -> None:
        super().__init__()
        self.conv_reduce = nn.Conv2d(channels, se, 1, bias=True)
        self.act = activation(act)
        self.conv_expand = nn.Conv2d(se, channels, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        return x * torch.sigmoid(self.conv_expand(self.act(self.conv_reduce(s))))


class MBInvertedResBlock(nn.Module):
    """TF-NAS's inverted residual block (see the module docstring)."""

    def __init__(self, c_in: int, mid: int, se: int, c_out: int, kernel: int, stride: int, act: str) -> None:
        super().__init__()
        self.c_in, self.se, self.c_out, self.kernel, self.stride, self.act = c_in, se, c_out, kernel, stride, act
        self.inverted_bottleneck = None
        if mid > c_in:
            self.inverted_bottleneck = nn.Sequential(nn.Conv2d(c_in, mid, 1, bias=False), nn.BatchNorm2d(mid),
                                                     activation(act))
        else:
            mid = c_in  # as TF-NAS: no expansion conv, the block works on c_in channels
        self.mid = mid
        self.depth_conv = nn.Sequential(
            nn.Conv2d(mid, mid, kernel, stride=stride, padding=kernel // 2, groups=mid, bias=False),
            nn.BatchNorm2d(mid), activation(act))
        self.squeeze_excite = SqueezeExcite(mid, se, act) if se > 0 else None
        self.point_linear = nn.Sequential(nn.Conv2d(mid, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.inverted_bottleneck is None else self.inverted_bottleneck(x)
        out = self.depth_conv(out)
        if self.squeeze_excite is not None:
            out = self.squeeze_excite(out)
        out = self.point_linear(out)
        return out + x if self.residual else out


class TFNASNetwork(nn.Module):
    """first stem, second stem, the present searchable blocks in order, feature-mix layer, global
    average pool, Linear (with bias)."""

    def __init__(self, first_stem: nn.Module, second_stem: nn.Module, blocks: Sequence[nn.Module],
                 feature_mix: nn.Module, feature_channels: int, num_classes: int) -> None:
        super().__init__()
        self.first_stem = first_stem
        self.second_stem = second_stem
        self.blocks = nn.ModuleList(blocks)
        self.feature_mix_layer = feature_mix
        self.global_avg_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(feature_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.second_stem(self.first_stem(x))
        for block in self.blocks:
            x = block(x)
        x = self.global_avg_pooling(self.feature_mix_layer(x)).flatten(1)
        return self.classifier(x)

    def proxy_blocks(self) -> list[nn.Module]:
        """The AZ-NAS primary blocks: the first stem, the second stem (a fixed inverted-residual
        block), then every present searchable block (a skipped layer is an identity, no block)."""
        return [self.first_stem, self.second_stem, *(b for b in self.blocks if not isinstance(b, nn.Identity))]
