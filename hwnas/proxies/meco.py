"""``meco`` (MeCo; Jiang et al., NeurIPS 2023, "Zero-Shot NAS via the Minimum Eigenvalue of
Pearson Correlation on Feature Maps").

    meco = sum over modules m of lambda_min(P_m),

where P_m is the Pearson correlation matrix between the channels of module m's output feature
map for the first probe sample (C channels x H*W positions -> C x C), and lambda_min its smallest
eigenvalue. As the official code: every module of ``model.modules()`` is hooked (containers,
convolutions, normalisation, activations alike), one forward of the probe batch with BatchNorm
in training mode, NaN / inf entries of P_m (a channel constant over the map: zero variance) set
to 0, non-finite terms dropped from the sum. Outputs with fewer than three dimensions (pooled
features, logits) or a single position per channel have one value per channel, so their P_m is
all zeros and they add 0 -- hwnas skips them. A map with more channels than positions - 1 has a
singular P_m (`rank_deficient`): its term is exactly 0 and is not computed (LAPACK returns
rounding noise of ~1e-15 there, which the shipped class tables hold: they differ from the
exact sum by less than 1e-12). Eigenvalues come from ``torch.linalg.eigvalsh`` in
float64 (P_m is symmetric; the official code takes the real part of ``torch.linalg.eig``). Unit: a sum of eigenvalues (no unit).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from hwnas.proxies.passes import ScoringContext
    from hwnas.proxies.probe import ProxyInput


def rank_deficient(channels: int, positions: int) -> bool:
    """True when a [channels, positions] map's correlation matrix is singular whatever its
    values: centring leaves rank <= positions - 1 < channels, so (being positive semi-definite)
    its smallest eigenvalue is exactly 0. LAPACK would return rounding noise of about 1e-15
    there (the 64-channel 8x8 maps of an NB201 network on CIFAR: a third of the terms)."""
    return positions - 1 < channels


def min_correlation_eigenvalue(feature_map: "torch.Tensor") -> float:
    """lambda_min of the channel correlation matrix of one sample's [C, H, W] (or [C, ...]) map;
    exactly 0 for a `rank_deficient` map."""
    import torch

    x = feature_map.detach().reshape(feature_map.shape[0], -1)
    if rank_deficient(*x.shape):
        return 0.0
    corr = torch.corrcoef(x.double())
    corr = torch.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(corr)[0])


def min_eigenvalues_of_stack(x: "torch.Tensor") -> list[float]:
    """`min_correlation_eigenvalue` of each map of an [N, C, positions] float64 stack, bit for
    bit: ``torch.corrcoef``'s steps (mean over positions, centred product / (positions - 1)
    with one ``mm`` per map, division by each standard deviation, clip to [-1, 1]) on the whole
    stack, then one batched ``eigvalsh``. ``x`` is overwritten. Per-map dispatch overhead was
    about half of MeCo's cost on an NB201 network (~170 small matrices)."""
    import torch

    n, channels, positions = x.shape
    x -= x.mean(dim=2, keepdim=True)
    corr = torch.empty(n, channels, channels, dtype=x.dtype)
    for k in range(n):  # torch.bmm's kernels round differently from corrcoef's mm at some sizes
        torch.mm(x[k], x[k].T, out=corr[k])
    corr /= positions - 1
    std = torch.sqrt(torch.diagonal(corr, dim1=1, dim2=2))
    corr.div_(std[:, :, None]).div_(std[:, None, :]).clamp_(-1.0, 1.0)
    corr.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)
    return torch.linalg.eigvalsh(corr)[:, 0].tolist()


def module_output_map(output: object) -> "torch.Tensor | None":
    """The first sample of a module's output as MeCo reads it, a [C, positions] view (not a
    copy), or None for an output MeCo skips (fewer than three dimensions, or one position per
    channel). A tuple / list output is read at its first element."""
    import torch

    out = output[0] if isinstance(output, (tuple, list)) else output
    if isinstance(out, torch.Tensor) and out.dim() >= 3 and math.prod(out.shape[2:]) >= 2:
        return out.detach()[0].reshape(out.shape[1], -1)  # detached first: no autograd view
    return None


class PendingTerms:
    """MeCo terms collected during a forward pass and computed in batches: `add` takes a
    [C, positions] map and returns its term's index; `values` gives every term. A map is copied
    (in float64) straight into a stack of maps of its shape, unless `rank_deficient` (its term
    is 0) or larger than ``stack_bytes / 16`` (a 224x224 network's early maps: computed at once,
    while still in cache); the stacks are computed (`min_eigenvalues_of_stack`) when
    ``max_bytes`` of maps are held or at the end, so memory stays bounded. A stack holds up to
    ``stack_bytes``. Small maps gain the most: an NB201 network's ~170 are a few kB to 128 kB."""

    def __init__(self, max_bytes: int = 64 << 20, stack_bytes: int = 16 << 20) -> None:
        self.max_bytes = max_bytes
        self.stack_bytes = stack_bytes
        self._values: list[float] = []
        self._stacks: list[tuple["torch.Tensor", list[int]]] = []  # (maps, their term indices)
        self._open: dict[tuple[int, int], int] = {}  # shape -> its stack being filled
        self._bytes = 0

    def add(self, fmap: "torch.Tensor") -> int:
        import torch

        index = len(self._values)
        self._values.append(0.0)
        shape = (int(fmap.shape[0]), int(fmap.shape[1]))
        if rank_deficient(*shape):
            return index
        map_bytes = shape[0] * shape[1] * 8  # float64
        if map_bytes > self.stack_bytes // 16:  # a large map: computed at once, while in cache
            self._values[index] = min_correlation_eigenvalue(fmap)
            return index
        slot = self._open.get(shape)
        if slot is None or len(self._stacks[slot][1]) == self._stacks[slot][0].shape[0]:
            capacity = max(1, self.stack_bytes // map_bytes)
            self._stacks.append((torch.empty(capacity, *shape, dtype=torch.float64), []))
            slot = self._open[shape] = len(self._stacks) - 1
        stack, indices = self._stacks[slot]
        stack[len(indices)].copy_(fmap.detach())
        indices.append(index)
        self._bytes += map_bytes
        if self._bytes >= self.max_bytes:
            self._flush()
        return index

    def _flush(self) -> None:
        for stack, indices in self._stacks:
            for index, value in zip(indices, min_eigenvalues_of_stack(stack[: len(indices)])):
                self._values[index] = value
        self._stacks, self._open, self._bytes = [], {}, 0

    def values(self) -> list[float]:
        self._flush()
        return list(self._values)


def meco_total(terms: "list[float]") -> float:
    """MeCo from its module terms: their exact sum, non-finite terms dropped."""
    return math.fsum(t for t in terms if math.isfinite(t))


def meco_score(model: "nn.Module", data: "ProxyInput") -> float:
    """MeCo of ``model`` as it is, on the first sample of ``data``: the shared pass
    (`hwnas.proxies.passes.run_main_pass`) with only MeCo's terms, i.e. one training-mode forward
    of the whole batch without gradients; the model's flags and buffers are restored."""
    from dataclasses import replace

    import torch

    from hwnas.proxies.passes import run_main_pass

    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    on_device = replace(data, inputs=data.inputs.to(device), labels=data.labels.to(device))
    return meco_total(run_main_pass(model, on_device, ["meco_terms"], seed=0).meco_terms)


@register
class Meco(Proxy):
    """Sum over modules of the smallest eigenvalue of the channel correlation matrix of the
    first probe sample's feature map (module docstring), read off the shared forward pass: no
    pass of its own, no backward."""

    name = "meco"
    description = "MeCo: sum over modules of the min eigenvalue of channel correlations of one sample's map"
    cost = "forward"
    needs = frozenset({"meco_terms"})
    aliases = ("meco_score",)

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: meco_total(ctx.main_pass(self.needs).meco_terms)}
