"""``grasp`` (Wang et al. 2020, "Picking winning tickets before training by preserving gradient
flow", as a NAS proxy in Abdelfattah et al. 2021; survey Sec. 2.2.4, Eq. 4).

score = -sum over conv + linear weights theta of theta * (H g), where g = dL/dtheta and H the
Hessian of the cross-entropy loss L of the probe batch (mean over samples, BN in training mode).
This is zero-cost-nas / NASLib's ``grasp`` measure (T = 1, one iteration, no data split): they
take the Hessian-gradient product from the backward pass of z = sum(stop_grad(g) * g) and sum
-theta * Hg over every weight. zero-cost-nas runs two identical forward passes of the same batch
(one for g, one with ``create_graph`` for H g); with BN in training mode both give the same
graph, so hwnas uses one forward and differentiates g twice. The Hessian is exact (double
backward through the network, BN batch statistics included), not a finite difference.

GraSP needs a graph of the gradient (``create_graph=True``), which the shared pass does not
build, so it runs its own pass: one forward, one backward with graph, one double backward.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hwnas.errors import HwnasUsageError
from hwnas.proxies.base import Proxy, register
from hwnas.proxies.probe import weight_layers

if TYPE_CHECKING:
    import torch
    from torch import nn

    from hwnas.proxies.probe import ProxyInput
    from hwnas.proxies.passes import ScoringContext


def hessian_gradient_products(model: "nn.Module", data: "ProxyInput") -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(theta, H g) for the weight of every conv / linear layer, in `weight_layers` order, for the
    cross-entropy loss of ``data`` with BN in training mode. A weight the loss does not depend on
    gets g = 0 and H g = 0. The model is left as it was (flags, buffers, ``.grad``)."""
    import torch
    import torch.nn.functional as F

    from hwnas.proxies.passes import preserved_state

    layers = weight_layers(model)
    if not layers:
        raise HwnasUsageError(f"grasp needs conv or linear layers, {type(model).__name__} has none")
    weights = [m.weight for m in layers]
    with preserved_state(model), torch.enable_grad():
        model.train()
        flags = [w.requires_grad for w in weights]
        for w in weights:
            w.requires_grad_(True)
        try:
            device = weights[0].device
            logits = model(data.inputs.to(device))
            if logits.dim() != 2:
                raise HwnasUsageError(
                    f"expected [batch, classes] logits from the model, got shape {tuple(logits.shape)}"
                )
            loss = F.cross_entropy(logits, data.labels.to(device))
            grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
            z = None
            for g in grads:
                if g is not None and g.requires_grad:
                    term = (g.detach() * g).sum()
                    z = term if z is None else z + term
            if z is None:  # the loss does not depend on any weight twice over: H g = 0
                hg: tuple[torch.Tensor | None, ...] = (None,) * len(weights)
            else:
                hg = torch.autograd.grad(z, weights, allow_unused=True)
        finally:
            for w, flag in zip(weights, flags):
                w.requires_grad_(flag)
    return [
        (w.detach(), torch.zeros_like(w) if h is None else h.detach())
        for w, h in zip(weights, hg)
    ]


@register
class Grasp(Proxy):
    """-sum theta * (H g) over conv + linear weights (module docstring); larger = predicted
    better, as in zero-cost-nas (the sign GraSP pruning uses is flipped there). Unit: loss units
    (second-order term of the loss change), unbounded in sign."""

    name = "grasp"
    description = "GraSP: -sum(theta x Hessian-gradient product) over conv + linear weights"
    cost = "backward"

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        pairs = hessian_gradient_products(ctx.model, ctx.data)
        value = -sum(float((w.double() * hg.double()).sum()) for w, hg in pairs) + 0.0  # no -0.0
        return {self.name: value if math.isfinite(value) else -math.inf}
