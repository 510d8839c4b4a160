"""``params``: number of trainable parameters (a strong baseline on NAS-Bench-201)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwnas.counting import count_params
from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    from hwnas.proxies.passes import ScoringContext


@register
class Params(Proxy):
    """Trainable scalars of the network (`hwnas.counting.count_params`), unit: parameters."""

    name = "params"
    description = "number of trainable parameters (count)"
    cost = "free"
    aliases = ("#params", "num_params")

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: float(count_params(ctx.model))}
