"""``xi_gsnr`` (Sun et al., ICCV 2023, "Unleashing the power of gradient signal-to-noise ratio
for zero-shot NAS"), Eq. 10."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from hwnas.proxies.base import Proxy, register
from hwnas.proxies.probe import weight_layers

if TYPE_CHECKING:
    import torch
    from torch import nn

    from hwnas.proxies.probe import ProxyInput
    from hwnas.proxies.passes import ScoringContext

NUM_BATCHES = 8
XI = 1e-8


def xi_gsnr_from_gradients(per_batch: Sequence[torch.Tensor], xi: float = XI) -> float:
    """Eq. 10: sum_j mean_i(g_ij)^2 / (mean_i(g_ij^2) - mean_i(g_ij)^2 + xi), where
    ``per_batch[i]`` is the flat gradient vector of mini-batch i (the population variance,
    computed in float64 and clamped at 0 against rounding)."""
    import torch

    if len(per_batch) < 2:
        raise ValueError("xi-GSNR needs gradients of at least two mini-batches")
    s1 = torch.zeros(per_batch[0].numel(), dtype=torch.float64)
    s2 = torch.zeros_like(s1)
    for t in per_batch:
        g = t.detach().reshape(-1).double()
        s1 += g
        s2 += g * g
    mean = s1 / len(per_batch)
    var = (s2 / len(per_batch) - mean * mean).clamp_min(0.0)
    return float((mean * mean / (var + xi)).sum())


def batch_gradients(model: "nn.Module", batches: Sequence["ProxyInput"]) -> list[torch.Tensor]:
    """For each batch: the flat concatenated cross-entropy gradient (mean over the batch) of all
    conv and linear weights, gradients zeroed before every batch, BN in training mode. The model
    is left as it was (flags, BN statistics and .grad restored)."""
    import torch
    import torch.nn.functional as F

    from hwnas.proxies.passes import preserved_state

    layers = weight_layers(model)
    out: list[torch.Tensor] = []
    with preserved_state(model), torch.enable_grad():
        model.train()
        for data in batches:
            for p in model.parameters():
                p.grad = None
            loss = F.cross_entropy(model(data.inputs), data.labels)
            if loss.requires_grad:
                loss.backward()
            out.append(torch.cat([
                (m.weight.grad if m.weight.grad is not None else torch.zeros_like(m.weight)).reshape(-1)
                for m in layers
            ]) if layers else torch.zeros(0))
    return out


@register
class XiGSNR(Proxy):
    """xi-GSNR over 8 mini-batches of the probe batch size (64 in the paper), xi = 1e-8.

    The parameters are the weights of all conv and linear layers (as the official code; the
    paper writes "all P parameters"). Unlike the official NAS-Bench-201 script, which never
    zeroes gradients between batches (so it measures running sums), gradients are zeroed
    before each batch, as Eq. 10 defines g_B. Batch 0 is the shared probe batch. Unit:
    dimensionless ratio summed over parameters."""

    name = "xi_gsnr"
    description = "xi-GSNR: sum of gradient mean^2 / (variance + 1e-8) over 8 mini-batches"
    cost = "multi-batch"
    aliases = ("xi-gsnr", "gsnr")

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        grads = batch_gradients(ctx.model, ctx.batches(NUM_BATCHES))
        value = xi_gsnr_from_gradients(grads)
        return {self.name: value if math.isfinite(value) else -math.inf}
