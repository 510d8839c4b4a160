"""AZ-NAS (Lee & Ham, CVPR 2024): expressivity, progressivity, trainability and complexity.

All four come from one scoring context: expressivity and progressivity from the primary-block
features of the shared forward pass, trainability from backward passes of Rademacher output
gradients through the same graph (`hwnas.proxies.passes`), complexity = conv + linear MACs. ``az_nas``
yields the four scores together; ``az_expressivity`` ... ``az_complexity`` expose each one
(asking for several of them still runs the pass once). Combine them across candidates with
`hwnas.proxies.aggregate.nonlinear_rank_aggregate` (Eq. 12).

Setting: Gaussian probe batch, BN in training mode, features = stem output + every block
output (NB201: 1 + 17 at N=5, see `features.py`). Initialise the network with
`init_kaiming_normal` to reproduce the paper (`score_all` does by default).

Deliberate decisions (see docs of each function; the official code differs as noted):

* Eigenvalues of the feature covariance are clamped at 0 before L1 normalisation. The official
  code takes log(p + 1e-8) of unclamped values: a tiny negative eigenvalue of a near-singular
  covariance then gives NaN -> -inf and sends a sound network to the bottom of expressivity
  and progressivity. 0 * log 0 is taken as 0 (exact entropy; no 1e-8).
* A block whose features have zero variance in every direction (a disconnected network: its
  output does not depend on the input) has no defined entropy: expressivity and progressivity
  are then -inf -- the documented -inf case of these two scores.
* Trainability follows Eq. 11: per block -sigma - 1/(sigma + 1e-6) + 2 (the official 1e-6
  keeps a disconnected block finite, about -1e6). An exact identity block (input gradient
  equals output gradient; NB201 cells whose only live path is a skip) gets -inf, as in the
  official code (not in Eq. 11). Without it those networks (about 58 % on CIFAR-100) top the
  aggregate: their progressivity is 0, the largest value any network reaches, and their
  expressivity is high; with it, the exhaustive regret of the constrained searches of
  bench/pareto_quality.py fell from 2.57 to 1.28 accuracy points (docs/benchmarks.md).
  Note that sigma is a Hutchinson-style
  estimate, sigma(A^T (1/n) sum_p v_p v_p^T) (c output channels, n = batch x positions): even
  an exactly norm-preserving block gets sigma ~ (1 + sqrt(c/n))^2 > 1, so its score is below
  0 -- for NB201 at batch 64 about -0.001 in stage 1 (c=16, n=65536), -0.008 in stage 2 and
  -0.06 in stage 3 (c=64, n=4096). This bias is the paper's and the official code's too.
* Complexity = conv + linear multiply-accumulates per sample (`hwnas.counting` convention
  "conv_linear", the NAS-Bench-201 API figure the AZ-NAS authors read) of the layers the output
  depends on (``live_only``). The official code counts every layer of the module, including
  convolutions whose output only feeds `none` edges (166 of the 1,000 sampled NB201 networks
  carry such dead convolutions); they still run (the hardware-cost side counts them) but add
  nothing to the function the network computes, which is what complexity stands for here.
  Counting only live layers lifts complexity's Kendall tau on the fixed 1,000-architecture sample from 0.594 / 0.575 / 0.528 to 0.647 /
  0.627 / 0.585 and az_nas's from 0.738 / 0.719 / 0.698 to 0.748 / 0.730 / 0.710 (CIFAR-10 /
  CIFAR-100 / ImageNet16-120, batch 64, docs/benchmarks.md). The ``flops`` proxy keeps the
  NAS-Bench-201 table convention (every layer, with BN, ReLU and pooling element operations).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    import torch

    from hwnas.proxies.passes import ScoringContext

TRAINABILITY_EPS = 1e-6


def feature_entropy(feature: torch.Tensor) -> float:
    """AZ-NAS Eq. 1-3: entropy (nats) of the L1-normalised eigenvalues of the channel covariance
    of ``feature`` [N, C, H, W] or [N, C] (every sample and position is one C-vector).
    Ranges from 0 (one principal direction) to log C (isotropic). Eigenvalues are clamped at 0;
    -inf when the features have no variance at all."""
    import torch

    from hwnas.proxies.features import as_nchw, position_cross_product

    f = as_nchw(feature.detach())
    b, c = f.shape[0], f.shape[1]
    n = b * f.shape[2] * f.shape[3]
    if n < 2:
        return -math.inf
    centred = f.reshape(b, c, -1).to(torch.float64, copy=True)  # own copy, centred in place
    centred.sub_(centred.mean(dim=(0, 2), keepdim=True))
    cov = position_cross_product(centred, centred) / (n - 1)
    lam = torch.linalg.eigvalsh(cov).clamp_min(0.0)
    total = float(lam.sum())
    if not total > 0.0 or not math.isfinite(total):
        return -math.inf
    p = lam / total
    return float(-torch.special.xlogy(p, p).sum())


def expressivity_progressivity(block_entropies: Sequence[float]) -> tuple[float, float]:
    """Eq. 4 (sum of block entropies) and Eq. 5 (smallest increase between consecutive blocks);
    both -inf if any block has no variance (see the module docstring)."""
    s = np.asarray(block_entropies, dtype=np.float64)
    if s.size < 2:
        raise ValueError("AZ-NAS needs at least two primary blocks")
    if not np.all(np.isfinite(s)):
        return -math.inf, -math.inf
    return float(s.sum()), float(np.min(s[1:] - s[:-1]))


def trainability_from_sigmas(sigmas: Sequence[float], eps: float = TRAINABILITY_EPS) -> float:
    """Eq. 11: mean over blocks 2..L of -sigma_l - 1/(sigma_l + eps) + 2; maximum 0 when every
    block Jacobian has spectral norm 1, and sigma and 1/sigma are penalised alike."""
    s = np.asarray(sigmas, dtype=np.float64)
    if s.size == 0:
        raise ValueError("AZ-NAS trainability needs at least two primary blocks")
    return float(np.mean(-s - 1.0 / (s + eps) + 2.0))


@register
class AZNas(Proxy):
    """The four AZ-NAS scores of one network from one pass (module docstring)."""

    name = "az_nas"
    description = "AZ-NAS expressivity, progressivity, trainability and complexity (one pass)"
    cost = "backward"
    needs = frozenset({"features", "block_grads"})
    aliases = ("aznas", "az-nas")

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        out = dict(ctx.evaluate(_ExprProg()))
        out["az_trainability"] = _trainability(ctx)
        out["az_complexity"] = _complexity(ctx)
        return out


def _expressivity_progressivity(ctx: "ScoringContext") -> dict[str, float]:
    entropies = [feature_entropy(f) for f in ctx.main_pass({"features"}).features]
    e, p = expressivity_progressivity(entropies)
    return {"az_expressivity": e, "az_progressivity": p}


def _complexity(ctx: "ScoringContext") -> float:
    return float(ctx.flops("conv_linear", live_only=True))


def _trainability(ctx: "ScoringContext") -> float:
    return trainability_from_sigmas(ctx.main_pass({"features", "block_grads"}).block_sigmas)


@register
class AZExpressivity(Proxy):
    """Eq. 3-4: sum over primary blocks of the eigenvalue entropy of the feature covariance."""

    name = "az_expressivity"
    description = "AZ-NAS expressivity: sum of block feature-covariance eigen-entropies (nats)"
    cost = "forward"
    needs = frozenset({"features"})

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: ctx.evaluate(_ExprProg())["az_expressivity"]}


@register
class AZProgressivity(Proxy):
    """Eq. 5: smallest increase of the block entropy from one primary block to the next."""

    name = "az_progressivity"
    description = "AZ-NAS progressivity: min increase of block entropy along depth (nats)"
    cost = "forward"
    needs = frozenset({"features"})

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: ctx.evaluate(_ExprProg())["az_progressivity"]}


@register
class AZTrainability(Proxy):
    """Eq. 10-11: block Jacobian spectral norms from Rademacher output gradients."""

    name = "az_trainability"
    description = "AZ-NAS trainability: mean of -s - 1/s + 2 over block Jacobian norms s (<= 0)"
    cost = "backward"
    needs = frozenset({"features", "block_grads"})

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: _trainability(ctx)}


@register
class AZComplexity(Proxy):
    """Complexity = conv + linear multiply-accumulates per sample of the layers the output depends
    on (`hwnas.counting` convention "conv_linear", ``live_only``; module docstring)."""

    name = "az_complexity"
    description = "AZ-NAS complexity: conv + linear multiply-accumulates per sample of live layers (MACs)"
    cost = "forward"  # one single-sample forward and backward (live layers)

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: _complexity(ctx)}


class _ExprProg(Proxy):
    """Unregistered helper so expressivity and progressivity share one eigen-decomposition per
    block through the context's result cache."""

    name = "_az_expressivity_progressivity"
    description = "internal"
    needs = frozenset({"features"})

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("az_expressivity", "az_progressivity")

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return _expressivity_progressivity(ctx)
