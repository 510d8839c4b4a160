"""``synflow`` (Tanaka et al. 2020, as a NAS proxy in Abdelfattah et al. 2021), log-scaled.

BatchNorm handling follows zero-cost-nas / NASLib's ``synflow`` measure (``bn=False``):
the score is taken on a copy of the network whose BatchNorm layers are bypassed (identity).
zero-cost-nas rebuilds NAS-Bench-201 networks without BN; NASLib replaces each BN forward by a
no-op; both give this network. On a freshly initialised net this equals running BN in eval
mode (running mean 0, var 1, weight 1, bias 0) up to the 1/sqrt(1 + eps) factor per BN; unlike
eval mode it does not depend on whatever running statistics the model carries, and no BN
statistic is computed from the all-ones input (batch statistics of one constant sample would
zero every activation).

Then, as the reference: every parameter and buffer of the copy is replaced by its absolute
value, the copy is cast to float64, a single all-ones input of the model's input shape is
fed, R = sum of the outputs is back-propagated, and the score sums |theta * dR/dtheta| over
the weights of all conv and linear layers. hwnas returns log(score) (natural log): raw values
overflow float32 on deep nets and only the ranking matters. The copy runs in eval mode so that
dropout, if any, is off: synflow is data- and seed-independent.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING

from hwnas.proxies.base import Proxy, register
from hwnas.proxies.probe import weight_layers

if TYPE_CHECKING:
    from torch import nn

    from hwnas.proxies.passes import ScoringContext


def _bypass_batchnorm(module: nn.Module) -> None:
    """Replace every BatchNorm submodule of ``module`` by nn.Identity, in place."""
    from torch import nn

    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(module, name, nn.Identity())
        else:
            _bypass_batchnorm(child)


def synflow_log(model: nn.Module, input_shape: tuple[int, ...], log1p_gradients: bool = False) -> float:
    """log of sum |theta * dR/dtheta| over conv + linear weights (module docstring); -inf when
    no signal flows (e.g. a zeroed layer cuts every input-output path). ``log1p_gradients``:
    sum |theta * log(1 + dR/dtheta)| instead (FreeREA's LogSynflow, Cavagnero et al. 2023: the
    log keeps the few largest gradients from dominating the sum). ``model`` is untouched."""
    import torch
    from torch import nn

    net = copy.deepcopy(model)
    if isinstance(net, nn.modules.batchnorm._BatchNorm):
        net = nn.Identity()
    _bypass_batchnorm(net)
    net = net.double().eval()
    with torch.no_grad():
        for tensor in net.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    for p in net.parameters():
        p.requires_grad_(True)
        p.grad = None
    with torch.enable_grad():
        out = net(torch.ones((1, *input_shape), dtype=torch.float64))
        torch.sum(out).backward()
    total = 0.0
    for layer in weight_layers(net):
        if layer.weight.grad is not None:
            grad = torch.log1p(layer.weight.grad) if log1p_gradients else layer.weight.grad
            total += float((layer.weight.detach() * grad).abs().sum())
    if total <= 0.0:
        return -math.inf
    return math.log(total)


@register
class Synflow(Proxy):
    """Synaptic flow of the all-ones input through |weights|, BN bypassed (module docstring).
    Unit: natural log of an output-sum-times-weight quantity; independent of seed and batch."""

    name = "synflow"
    description = "log of synaptic flow sum|theta * dR/dtheta|, |weights|, ones input, BN bypassed"
    cost = "backward"
    aliases = ("synflow_log", "logsynflow")

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: synflow_log(ctx.model, ctx.input_shape)}


@register
class SynflowLog1p(Proxy):
    """FreeREA's LogSynflow: as `Synflow` but summing |theta * log(1 + dR/dtheta)| (gradients are
    non-negative here: |weights|, ones input). Unit: natural log of that sum; independent of seed
    and batch."""

    name = "synflow_log1p"
    description = "log of sum|theta * log(1 + dR/dtheta)| (FreeREA's LogSynflow), |weights|, ones input"
    cost = "backward"
    aliases = ("freerea_logsynflow",)

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: synflow_log(ctx.model, ctx.input_shape, log1p_gradients=True)}
