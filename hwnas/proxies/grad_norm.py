"""``grad_norm`` (Abdelfattah et al. 2021; survey Sec. 2.2.1, Eq. 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    from hwnas.proxies.passes import ScoringContext


@register
class GradNorm(Proxy):
    """Sum over conv and linear layers of the L2 norm of the layer's weight gradient, for the
    cross-entropy loss of the probe batch (mean over samples, BN in training mode), as in
    zero-cost-nas / NASLib. Unit: loss units per weight unit (unitless for our inputs)."""

    name = "grad_norm"
    description = "sum of per-layer L2 norms of cross-entropy weight gradients (conv + linear)"
    cost = "backward"
    needs = frozenset({"weight_grads"})
    aliases = ("gradnorm", "grad-norm")

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        import torch

        grads = ctx.main_pass(self.needs).weight_grads
        total = sum(float(torch.linalg.vector_norm(g.double())) for _, g in grads if g is not None)
        return {self.name: total}
