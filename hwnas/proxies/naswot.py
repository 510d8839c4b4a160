"""``naswot`` (Mellor et al. 2021, "Neural architecture search without training", v2)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    from hwnas.proxies.passes import ScoringContext


def naswot_from_kernel(kernel: np.ndarray) -> float:
    """log|det K| of the binary-code kernel, -inf when K is singular (two samples with equal
    codes everywhere, e.g. a network whose activations do not depend on the input)."""
    sign, logdet = np.linalg.slogdet(np.asarray(kernel, dtype=np.float64))
    if sign == 0 or not math.isfinite(logdet):
        return -math.inf
    return float(logdet)


@register
class Naswot(Proxy):
    """Log-determinant of K, K_ij = sum over ReLU units of [c_i = c_j] = N_A - Hamming(c_i, c_j),
    where c_i is the binary code (pre-activation > 0) of sample i over every nn.ReLU module
    (hooked on the input, so in-place ReLUs are read correctly); one forward of the probe
    batch, BN in training mode, as NASLib's ``nwot``. Unit: log of a count-valued determinant.
    Models that apply ReLU functionally (F.relu) are not seen: that is an error if no nn.ReLU
    module exists."""

    name = "naswot"
    description = "log-determinant of the Hamming kernel of binary ReLU codes (nats)"
    cost = "forward"
    needs = frozenset({"relu_codes"})
    aliases = ("nwot", "nas-wot", "logdet")

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        kernel = ctx.main_pass(self.needs).relu_kernel
        assert kernel is not None
        return {self.name: naswot_from_kernel(kernel)}
