"""``swap`` (SWAP-Score; Peng et al., ICLR 2024, "SWAP-NAS: Sample-Wise Activation Patterns for
Ultra-fast NAS").

    swap = |{ (1[z_1n > 0], ..., 1[z_Sn > 0]) : n a ReLU unit }|,

the number of distinct sample-wise activation patterns: for every unit n of every nn.ReLU
module (each position of each channel), the binary vector of its pre-activation signs over the
first S = min(16, B) probe samples (the paper's 16 input samples), counted once however many
units share it. Read from the shared pass (one forward of the probe batch, BatchNorm in training
mode), the same ReLU pre-hooks as ``naswot``; the paper's optional regularisation by parameter
count (a Gaussian around a chosen model size) is not applied. Unit: a count of patterns.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    from hwnas.proxies.passes import ScoringContext


@register
class Swap(Proxy):
    """Distinct sample-wise activation patterns of the ReLU units over the first 16 probe
    samples (module docstring). One forward, no backward."""

    name = "swap"
    description = "SWAP-Score: distinct ReLU activation patterns over 16 probe samples (count)"
    cost = "forward"
    needs = frozenset({"relu_patterns"})
    aliases = ("swap_score",)

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: float(ctx.main_pass(self.needs).relu_patterns)}
