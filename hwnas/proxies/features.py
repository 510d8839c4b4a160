"""Which modules are a network's "primary blocks" (AZ-NAS Sec. 3): their outputs are the features
that expressivity, progressivity and trainability read.

The blocks must form a chain: block l's input is block l-1's output (the first block, the stem,
reads the image). Resolution order:

1. ``model.proxy_blocks()`` if the model defines it (any space can opt in this way);
2. a model with a ``stem`` module and a ``cells`` ModuleList/Sequential -- NAS-Bench-201's
   `TinyNetwork`: the stem plus all cells and reduction blocks (1 + 17 blocks at N=5), as the
   official AZ-NAS code does;
3. documented fallback: an ``nn.Sequential`` -- each top-level child is one block, the first
   one playing the stem;

anything else is refused with a `HwnasUsageError` that says how to opt in. The chain is checked
while the pass runs (a block whose input is not the previous block's output is an error).
A block output must not be modified in place afterwards (e.g. by ``ReLU(inplace=True)``
applied to it directly): the stored features and the block backward passes read it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hwnas.errors import HwnasUsageError


def primary_blocks(model: nn.Module) -> list[nn.Module]:
    """The chained primary blocks of ``model`` (see the module docstring)."""
    custom = getattr(model, "proxy_blocks", None)
    if callable(custom):
        blocks = list(custom())
    elif isinstance(getattr(model, "stem", None), nn.Module) and isinstance(
        getattr(model, "cells", None), (nn.ModuleList, nn.Sequential)
    ):
        blocks = [model.stem, *model.cells]
    elif isinstance(model, nn.Sequential):
        blocks = list(model.children())
    else:
        raise HwnasUsageError(
            f"cannot find the primary blocks of a {type(model).__name__} for the AZ-NAS proxies: "
            "give the model a `proxy_blocks()` method returning its stem and blocks in order "
            "(each block fed by the previous one), or `stem` and `cells` attributes"
        )
    if len(blocks) < 2:
        raise HwnasUsageError(
            f"the AZ-NAS proxies need at least 2 primary blocks, {type(model).__name__} has {len(blocks)}"
        )
    return blocks


def as_nchw(t: torch.Tensor) -> torch.Tensor:
    """A feature or gradient as [N, C, H, W]: [N, C] becomes [N, C, 1, 1]."""
    if t.dim() == 4:
        return t
    if t.dim() == 2:
        return t[:, :, None, None]
    raise HwnasUsageError(
        f"AZ-NAS features must be [N, C, H, W] or [N, C] tensors, got shape {tuple(t.shape)}"
    )


def match_resolution(g_in: torch.Tensor, out_hw: tuple[int, int]) -> torch.Tensor:
    """Space-to-depth of ``g_in`` [N, C, H, W] down to ``out_hw`` (official AZ-NAS uses
    PixelUnshuffle for reduction blocks), so every output position has one input row.
    The channel order differs from PixelUnshuffle only by a permutation, which leaves the
    singular values used by the trainability score unchanged."""
    n, c, h, w = g_in.shape
    ho, wo = out_hw
    if (h, w) == (ho, wo):
        return g_in
    if ho == 0 or wo == 0 or h % ho or w % wo:
        raise HwnasUsageError(
            f"cannot match a block input of {h}x{w} to its output of {ho}x{wo}: the AZ-NAS "
            "trainability proxy needs the input size to be an integer multiple of the output size"
        )
    sh, sw = h // ho, w // wo
    if sh == sw:
        return F.pixel_unshuffle(g_in, sh)
    return g_in.reshape(n, c, ho, sh, wo, sw).permute(0, 1, 3, 5, 2, 4).reshape(n, c * sh * sw, ho, wo)


def position_cross_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """sum over samples and positions p of a(p) b(p)^T: [C_a, C_b] from ``a`` [N, C_a, ...] and
    ``b`` [N, C_b, ...] with the same positions. Computed per sample as [C_a, P] @ [P, C_b] and
    summed over the batch, so neither tensor is copied into an [N * P, C] row matrix (AZ-NAS's
    feature covariance and block cross-covariance)."""
    n = a.shape[0]
    return torch.bmm(a.reshape(n, a.shape[1], -1), b.reshape(n, b.shape[1], -1).transpose(1, 2)).sum(dim=0)
