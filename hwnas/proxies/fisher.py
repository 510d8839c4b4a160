"""``fisher`` (Theis et al. 2018, as a NAS proxy in Abdelfattah et al. 2021; survey Eq. 6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    from hwnas.proxies.passes import ScoringContext


@register
class Fisher(Proxy):
    """Channel-wise Fisher information of every conv / linear output z, as zero-cost-nas:
    sum over layers and channels k of 0.5 * mean_batch (sum_spatial z_k * dL/dz_k)^2 times the
    number of weights of channel k (in_channels/groups x kh x kw; in_features for a linear), as
    zero-cost-nas broadcasts the channel value over them before summing; cross-entropy loss of
    the probe batch (BN in training mode). Unit: squared loss units."""

    name = "fisher"
    description = "sum of channel-wise Fisher information of conv + linear outputs"
    cost = "backward"
    needs = frozenset({"fisher"})

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: sum(ctx.main_pass(self.needs).fisher_per_layer)}
