"""``meco`` (MeCo; Jiang et al., NeurIPS 2023, "Zero-Shot NAS via the Minimum Eigenvalue of
Pearson Correlation on Feature Maps").

    meco = sum over modules m of lambda_min(P_m),

where P_m is the Pearson correlation matrix between the channels of module m's output feature
map for the first probe sample (C channels x H*W positions -> C x C), and lambda_min its smallest
eigenvalue. As the official code: every module of ``model.modules()`` is hooked (containers,
convolutions, normalisation, activations alike), one forward of the probe batch with BatchNorm
in training mode, NaN / inf entries of P_m (a channel constant over the map: zero variance) set
to 0, non-finite terms dropped from the sum. Outputs with fewer than three dimensions (pooled
features, logits) or a single position per channel have one value per channel, so their P_m is
all zeros and they add 0 -- hwnas skips them. Eigenvalues come from ``torch.linalg.eigvalsh`` in
float64 (P_m is symmetric; the official code takes the real part of ``torch.linalg.eig``). Unit: a sum of eigenvalues (no unit).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from hwnas.proxies.passes import ScoringContext
    from hwnas.proxies.probe import ProxyInput


def min_correlation_eigenvalue(feature_map: "torch.Tensor") -> float:
    """lambda_min of the channel correlation matrix of one sample's [C, H, W] (or [C, ...]) map."""
    import torch

    x = feature_map.detach().reshape(feature_map.shape[0], -1).double()
    corr = torch.corrcoef(x)
    corr = torch.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(corr)[0])


def module_output_term(output: object) -> float | None:
    """One module's MeCo term: lambda_min of its output's first sample, or None for an output
    MeCo skips (fewer than three dimensions, or one position per channel). A tuple / list output
    is read at its first element."""
    import torch

    out = output[0] if isinstance(output, (tuple, list)) else output
    if isinstance(out, torch.Tensor) and out.dim() >= 3 and out[0, 0].numel() >= 2:
        return min_correlation_eigenvalue(out[0])
    return None


def meco_total(terms: "list[float]") -> float:
    """MeCo from its module terms: their exact sum, non-finite terms dropped."""
    return math.fsum(t for t in terms if math.isfinite(t))


def meco_score(model: "nn.Module", data: "ProxyInput") -> float:
    """MeCo of ``model`` as it is, on the first sample of ``data``: the shared pass
    (`hwnas.proxies.passes.run_main_pass`) with only MeCo's terms, i.e. one training-mode forward
    of the whole batch without gradients; the model's flags and buffers are restored."""
    from dataclasses import replace

    import torch

    from hwnas.proxies.passes import run_main_pass

    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    on_device = replace(data, inputs=data.inputs.to(device), labels=data.labels.to(device))
    return meco_total(run_main_pass(model, on_device, ["meco_terms"], seed=0).meco_terms)


@register
class Meco(Proxy):
    """Sum over modules of the smallest eigenvalue of the channel correlation matrix of the
    first probe sample's feature map (module docstring), read off the shared forward pass: no
    pass of its own, no backward."""

    name = "meco"
    description = "MeCo: sum over modules of the min eigenvalue of channel correlations of one sample's map"
    cost = "forward"
    needs = frozenset({"meco_terms"})
    aliases = ("meco_score",)

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: meco_total(ctx.main_pass(self.needs).meco_terms)}
