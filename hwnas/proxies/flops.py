"""``flops``: FLOPs per sample under the NAS-Bench-201 convention (a strong baseline)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    from hwnas.proxies.passes import ScoringContext


@register
class Flops(Proxy):
    """`hwnas.counting.count_flops(model, input_shape, convention="nb201")`, unit: FLOPs per
    sample (that module's docstring lists what counts). Shared with ``az_complexity``."""

    name = "flops"
    description = "FLOPs per sample, NAS-Bench-201 counting convention (FLOPs)"
    cost = "free"
    aliases = ("#flops",)

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: float(ctx.flops())}
