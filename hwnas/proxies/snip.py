"""``snip`` (Lee et al. 2019, as a NAS proxy in Abdelfattah et al. 2021; survey Eq. 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    from hwnas.proxies.passes import ScoringContext


@register
class Snip(Proxy):
    """Connection sensitivity sum_w |w * dL/dw| over conv and linear weights, for the
    cross-entropy loss of the probe batch (BN in training mode). zero-cost-nas computes the
    same number as |dL/d mask| with a multiplicative weight mask. Unit: loss units."""

    name = "snip"
    description = "sum of |weight x cross-entropy gradient| over conv + linear weights"
    cost = "backward"
    needs = frozenset({"weight_grads"})

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        grads = ctx.main_pass(self.needs).weight_grads
        total = sum(float((w.double() * g.double()).abs().sum()) for w, g in grads if g is not None)
        return {self.name: total}
