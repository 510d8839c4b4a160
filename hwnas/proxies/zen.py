"""``zen`` (Zen-score; Lin et al., ICCV 2021, "Zen-NAS"; survey Sec. 2.2.8, Eq. 11).

    zen = log E_k || f_e(x) - f_e(x + alpha * eps) ||  +  sum over BN layers i of log sigma_i,

where f_e is the network without its global average pool and head (the feature map that enters
the pool), x and eps are Gaussian, alpha = 0.01, the norm is the sum of absolute differences
over each sample's feature map (Zen-NAS's ``torch.sum(torch.abs(.), dim=[1, 2, 3])``) averaged
over the batch, and sigma_i = sqrt(mean over channels of the BN layer's mini-batch variance):
the factor by which BN layer i shrank its input, added back so that the score reflects the
network without normalisation.

Setting, as the official Zen-NAS code (``compute_zen_score.py``): the score is a property of the
architecture under Zen-NAS's own initialisation -- it is taken on a COPY of the network whose
conv and linear weights are redrawn from N(0, 1) (biases 0, norm weights 1 and biases 0) from a
private generator seeded from the context seed; the weights the network carries are ignored.
BatchNorm runs in training mode (batch statistics); x is the probe batch (Gaussian by default),
eps is drawn from a private generator. One repeat (Zen-NAS averages 32 repeats of the whole
procedure for its searches; NASLib uses one).

Deliberate difference: sigma_i is the mini-batch variance of the BN input during the forward of
the unperturbed batch (biased, the variance BN divides by), as the Zen-NAS paper defines it.
The official code reads ``running_var`` after the two forwards, which with PyTorch's momentum
0.1 is 0.81 + 0.09 v1 + 0.1 v2 (v1, v2 the unbiased batch variances): a blend with the initial 1
that the paper does not describe. Only BatchNorm2d/BatchNorm1d layers count (``_BatchNorm``).

A BN layer whose input is exactly zero (a dead branch, e.g. a conv fed only by ``none`` edges)
carries no signal and is skipped: its scale is undefined (log 0); the official code's
``running_var`` blend hides the same case. A network whose pooled features do not depend on the
input at all (disconnected) scores -inf. Zen-score runs its own two forward passes (no
backward), cost class "forward".
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING

from hwnas.errors import HwnasUsageError
from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from hwnas.proxies.probe import ProxyInput
    from hwnas.proxies.passes import ScoringContext

MIXUP_GAMMA = 1e-2  # alpha of Eq. 11 (Zen-NAS's mixup_gamma)


def gaussian_init(model: nn.Module, seed: int) -> nn.Module:
    """Zen-NAS's ``network_weight_gaussian_init`` in place: conv / linear weights ~ N(0, 1) (from a
    private generator seeded from ``seed``), their biases 0, normalisation weights 1, biases 0."""
    from hwnas.init import generator, init_normal

    return init_normal(model, generator(seed, "zen", "init"), lambda fan_in: 1.0)


def pre_gap_module(model: nn.Module) -> nn.Module:
    """The global-average-pool module whose INPUT is f_e: the last ``nn.AdaptiveAvgPool2d`` in
    ``model.modules()`` order (NAS-Bench-201's ``global_pooling``)."""
    from torch import nn

    pools = [m for m in model.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if not pools:
        raise HwnasUsageError(
            f"zen needs the feature map before global average pooling, but {type(model).__name__} "
            "has no nn.AdaptiveAvgPool2d module"
        )
    return pools[-1]


def zen_score(model: nn.Module, data: "ProxyInput", seed: int, mixup_gamma: float = MIXUP_GAMMA) -> float:
    """Eq. 11 on ``model`` as it is (no re-initialisation; `Zen.compute` re-initialises a copy).

    Two forwards in training mode: x = ``data.inputs`` and x + mixup_gamma * eps (eps ~ N(0, I)
    from a generator seeded from ``seed``). The model's flags and buffers are restored."""
    import torch

    with torch.no_grad():
        return _zen_score(model, data, seed, mixup_gamma)


def _zen_score(model: nn.Module, data: "ProxyInput", seed: int, mixup_gamma: float) -> float:
    import torch
    from torch import nn

    from hwnas.init import generator
    from hwnas.proxies.passes import preserved_state

    pool = pre_gap_module(model)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    feats: list[torch.Tensor] = []
    variances: list[torch.Tensor] = []
    recording = [True]

    def pool_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        feats.append(inputs[0].detach())

    def bn_hook(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        if recording[0]:
            x = inputs[0].detach().double()
            dims = [d for d in range(x.dim()) if d != 1]
            variances.append(x.var(dim=dims, unbiased=False).mean())

    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    x = data.inputs.to(device)
    eps = torch.randn(x.shape, generator=generator(seed, "zen", "perturbation"), dtype=x.dtype).to(device)
    handles = [pool.register_forward_pre_hook(pool_hook)]
    handles += [m.register_forward_pre_hook(bn_hook) for m in bns]
    with preserved_state(model):
        model.train()
        try:
            model(x)
            recording[0] = False
            model(x + mixup_gamma * eps)
        finally:
            for h in handles:
                h.remove()
    if len(feats) != 2:
        raise HwnasUsageError(
            f"zen expected the global pool of {type(model).__name__} to run once per forward, "
            f"it ran {len(feats)} times in two forwards"
        )
    diff = (feats[0].double() - feats[1].double()).abs()
    delta = float(diff.reshape(diff.shape[0], -1).sum(dim=1).mean())
    if not delta > 0.0 or not math.isfinite(delta):
        return -math.inf
    log_bn = 0.0
    for v in variances:
        v = float(v)
        if not math.isfinite(v):
            return -math.inf
        if v > 0.0:  # a dead BN (input exactly 0, e.g. fed only by `none` edges) is skipped
            log_bn += 0.5 * math.log(v)
    value = math.log(delta) + log_bn
    return value if math.isfinite(value) else -math.inf


@register
class Zen(Proxy):
    """Zen-score of the architecture under Zen-NAS's N(0, 1) initialisation (module docstring).
    Unit: nats (log of a feature-map L1 distance plus log BN scales)."""

    name = "zen"
    description = "Zen-score: log |f(x) - f(x + 0.01 eps)| before GAP + sum of log BN scales, N(0,1) init (nats)"
    cost = "forward"
    aliases = ("zen_score", "zen-score", "zennas")

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        net = gaussian_init(copy.deepcopy(ctx.model), ctx.seed)
        return {self.name: zen_score(net, ctx.data, ctx.seed)}
