"""``jacob_cov`` (Mellor et al. 2021, v1 of "NAS without training"; survey Sec. 2.2.7)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    import torch

    from hwnas.proxies.passes import ScoringContext

EPS = 1e-5  # k of the reference code


def jacobian_covariance_score(jacobian: torch.Tensor, eps: float = EPS) -> float:
    """-sum_i [log(lambda_i + eps) + 1 / (lambda_i + eps)] over the eigenvalues of the
    correlation matrix of the rows of ``jacobian`` [B, D] (one row per sample).

    This is the formula of the reference code (zero-cost-nas / NASLib ``jacov``); the survey's
    Eq. 10 prints (lambda + eps) instead of log(lambda + eps). Eigenvalues are clamped at 0
    (a correlation matrix is positive semi-definite; only rounding makes them negative).
    A sample whose Jacobian row is constant has no correlation: the score is then -inf."""
    import torch

    j = jacobian.detach().double()
    centred = j - j.mean(dim=1, keepdim=True)
    norms = centred.norm(dim=1)
    if j.shape[0] < 2 or not bool(torch.all(norms > 0)):
        return -math.inf
    unit = centred / norms[:, None]
    corr = unit @ unit.T
    lam = torch.linalg.eigvalsh(corr).clamp_min(0.0)
    value = -float(torch.sum(torch.log(lam + eps) + 1.0 / (lam + eps)))
    return value if math.isfinite(value) else -math.inf


@register
class JacobCov(Proxy):
    """Correlation of the input gradients d(sum of logits)/dx across the probe batch (BN in
    training mode): low correlation between samples scores high. Unit: nats-like, unitless."""

    name = "jacob_cov"
    description = "-sum(log(l + 1e-5) + 1/(l + 1e-5)) over eigenvalues of input-Jacobian correlations"
    cost = "backward"
    needs = frozenset({"input_jacobian"})
    aliases = ("jacov", "jacob-cov")

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        jac = ctx.main_pass(self.needs).input_jacobian
        assert jac is not None
        return {self.name: jacobian_covariance_score(jac)}
