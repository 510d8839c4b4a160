"""``zico`` (Li et al., ICLR 2023, "ZiCo: zero-shot NAS via inverse coefficient of variation on
gradients"; mentioned in the survey Sec. 5).

    zico = sum over conv / linear layers l of log( sum over weights w of l of mean_b |g_bw| / std_b g_bw )

where g_bw is the cross-entropy gradient (mean over the batch's samples) of weight w for
mini-batch b, over NUM_BATCHES = 2 probe batches, BN in training mode, gradients zeroed between
batches. As the official ZiCo code (``caculate_zico``): the numerator is the mean of the ABSOLUTE
gradient and the denominator the population standard deviation (ddof 0) of the signed gradient;
weights whose gradient does not vary (std 0) are left out, and a layer whose sum is 0 (every
weight left out) contributes nothing. The ZiCo paper writes E[|g|] / sqrt(Var(|g|)); hwnas
follows the code, which produced the published numbers.

Shared pass: batch 0 is the shared probe batch, and its gradients are the ``weight_grads`` of
the shared pass (the same cross-entropy backward that grad_norm and snip read); only batch 1
needs an extra forward and backward. Unit: nats (sum of logs of a dimensionless ratio).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from hwnas.proxies.base import Proxy, register
from hwnas.proxies.probe import weight_layers
from hwnas.proxies.xi_gsnr import batch_gradients

if TYPE_CHECKING:
    import torch

    from hwnas.proxies.passes import ScoringContext

NUM_BATCHES = 2


def zico_from_gradients(per_layer: Sequence[Sequence[torch.Tensor]]) -> float:
    """The ZiCo sum from ``per_layer[l][b]``, the gradient of layer l's weights for batch b (any
    shape; at least two batches). Computed in float64; see the module docstring for the rules.
    -inf when no layer has a weight whose gradient varies across batches."""
    import torch

    total = 0.0
    used = 0
    for grads in per_layer:
        if len(grads) < 2:
            raise ValueError("ZiCo needs the gradients of at least two batches")
        g = torch.stack([t.detach().reshape(-1).double().cpu() for t in grads])  # [batches, weights]
        std = g.std(dim=0, unbiased=False)
        keep = std > 0
        if not bool(keep.any()):
            continue
        ratio_sum = float((g.abs().mean(dim=0)[keep] / std[keep]).sum())
        if ratio_sum > 0.0:
            total += math.log(ratio_sum)
            used += 1
    if used == 0 or not math.isfinite(total):
        return -math.inf
    return total


@register
class ZiCo(Proxy):
    """ZiCo over 2 probe batches (module docstring): high when gradients are large relative to
    their variation across batches, summed in log over layers. Unit: nats."""

    name = "zico"
    description = "ZiCo: sum over layers of log(sum mean|grad| / std grad), 2 batches (nats)"
    cost = "multi-batch"
    needs = frozenset({"weight_grads"})

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        import torch

        first = ctx.main_pass(self.needs).weight_grads
        layers = weight_layers(ctx.model)
        per_layer: list[list[torch.Tensor]] = [
            [torch.zeros_like(w) if g is None else g] for w, g in first
        ]
        rest = batch_gradients(ctx.model, ctx.batches(NUM_BATCHES)[1:])
        sizes = [m.weight.numel() for m in layers]
        for flat in rest:
            for grads, chunk, m in zip(per_layer, torch.split(flat, sizes), layers):
                grads.append(chunk.reshape(m.weight.shape))
        return {self.name: zico_from_gradients(per_layer)}

