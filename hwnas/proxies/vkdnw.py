"""VKDNW (Tybl & Neumann, CVPR 2025, "Training-free Neural Architecture Search through Variance of
Knowledge of Deep Network Weights"): the entropy of the Fisher-information spectrum of the
network's weights at initialisation.

Definition implemented here (``vkdnw``, unit: nats, in [0, log 9]):

1. Parameter subset theta~: ONE scalar per parameter tensor of every module that owns parameters,
   the tensor's first element in flattened order (``weight[0, 0, 0, 0]`` of a conv, ``weight[0]``
   and ``bias[0]`` of a BatchNorm, ...), in ``model.modules()`` order. P = len(theta~) is the
   paper's network "dimension" aleph (`fisher_dimension`, also the free proxy ``vkdnw_dim``).
2. Fisher information matrix of theta~ (P x P), the "true" FIM of the categorical model::

       F = 1/B sum_b J_b^T (diag(p_b) - p_b p_b^T) J_b,   p_b = (1 - ALPHA) softmax(z_b) + ALPHA / C

   where J_b = d z_b / d theta~ (C x P) is the logit Jacobian of probe sample b, the network in
   evaluation mode (BatchNorm with its running statistics, which at initialisation are 0 / 1),
   and ALPHA = 0.05 mixes the softmax with the uniform distribution (at initialisation eval-mode
   logits are large and the softmax is nearly one-hot, which would make F vanish).
3. F is estimated by Monte Carlo from sampled labels: for each sample, NUM_DRAWS labels
   c ~ p_b (a private generator seeded from the scoring seed), each giving the per-sample score
   vector g = J_b^T (e_c - p_b), whose outer product has expectation J_b^T (diag p_b - p_b p_b^T) J_b;
   F_hat = 1 / (B * NUM_DRAWS) sum g g^T. One forward pass, NUM_DRAWS backward passes; the
   per-sample derivatives of the chosen scalars come from per-sample "probe" variables s that
   forward hooks add as s_b * d out_b / d theta (exact, see `_probe_delta`).
4. lambda_1 <= ... <= lambda_r: eigenvalues of F_hat (float64, clamped at 0), r = min(P, n),
   n = B * NUM_DRAWS (with n < P the P - n structural zeros of the estimate are left out); q_1..q_9 their
   deciles (10 %, ..., 90 % quantiles, linear interpolation); VKDNW = -sum_k qn_k log qn_k with
   qn = q / sum(q), 0 log 0 = 0. Uniform deciles give log 9; -inf when every decile is 0 (e.g.
   a network whose output does not depend on its weights).

``vkdnw_single`` (the paper's single-proxy ranking: by aleph first, then by VKDNW) is
aleph + VKDNW / (2 log 9), which orders networks exactly as the lexicographic pair (aleph, VKDNW).

Differences from the paper's reference setting, deliberate: the paper computes F exactly from
the full per-sample Jacobians (all C classes); here it is the sampled-label Monte Carlo estimate
(NUM_DRAWS labels per sample), so F_hat has rank <= B * NUM_DRAWS, and with P above that
the deciles are those of the B * NUM_DRAWS resolved eigenvalues, not of all P. The paper's aggregate VKDNW_agg (log-rank sum
of the (aleph, VKDNW) rank, jacob_cov, AZ-NAS expressivity and trainability, and FLOPs) is not
a proxy here; bench/vkdnw_table.py computes it from the score columns.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

from hwnas.proxies.base import Proxy, register

if TYPE_CHECKING:
    import torch
    from torch import nn

    from hwnas.proxies.passes import ScoringContext

ALPHA = 0.05  # weight of the uniform distribution mixed into the softmax
NUM_DRAWS = 1  # sampled labels per probe sample (backward passes)
QUANTILES = tuple(k / 10 for k in range(1, 10))  # the nine deciles


def selected_parameters(model: "nn.Module") -> list[tuple["nn.Module", str]]:
    """(module, parameter name) of theta~: every parameter tensor owned directly by a module, in
    ``model.modules()`` order (weight before bias as the module registers them)."""
    out = []
    for m in model.modules():
        for name, p in m.named_parameters(recurse=False):
            if p.numel() > 0:
                out.append((m, name))
    return out


def fisher_dimension(model: "nn.Module") -> int:
    """aleph: the number of parameter tensors, i.e. the size P of theta~."""
    return len(selected_parameters(model))


def decile_entropy(eigenvalues: "torch.Tensor") -> float:
    """Entropy (nats) of the L1-normalised deciles (10 %..90 % quantiles, linear interpolation)
    of ``eigenvalues`` (clamped at 0); -inf when every decile is 0 or any value is not finite."""
    import torch

    lam = eigenvalues.detach().double().reshape(-1).clamp_min(0.0)
    if lam.numel() == 0 or not bool(torch.isfinite(lam).all()):
        return -math.inf
    q = torch.quantile(lam, torch.tensor(QUANTILES, dtype=torch.float64))
    total = float(q.sum())
    if not total > 0.0:
        return -math.inf
    qn = q / total
    return float(-torch.special.xlogy(qn, qn).sum())


def _probe_delta(module: "nn.Module", name: str, inp: "torch.Tensor", out: "torch.Tensor") -> "torch.Tensor":
    """d out / d (first element of ``module.<name>``) for every sample, shaped like ``out``:
    closed forms for conv / linear / BatchNorm in evaluation mode, else a forward-mode JVP."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    param = getattr(module, name)
    delta = torch.zeros_like(out)
    conv = isinstance(module, nn.modules.conv._ConvNd) and not module.transposed
    if conv and module.padding_mode == "zeros" and isinstance(module.padding, tuple):
        if name == "bias":
            delta[:, 0] = 1.0
            return delta
        nd = inp.dim() - 2
        kernel = torch.zeros((1, 1, *param.shape[2:]), dtype=inp.dtype)
        kernel.view(-1)[0] = 1.0
        fn = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
        delta[:, 0] = fn(inp[:, :1], kernel, None, module.stride, module.padding, module.dilation)[:, 0]
        return delta
    if isinstance(module, nn.Linear):
        delta[..., 0] = 1.0 if name == "bias" else inp[..., 0]
        return delta
    bn = isinstance(module, nn.modules.batchnorm._BatchNorm)
    if bn and not module.training and module.track_running_stats and inp.dim() >= 2:
        if name == "bias":
            delta[:, 0] = 1.0
        else:
            delta[:, 0] = (inp[:, 0] - module.running_mean[0]) / torch.sqrt(module.running_var[0] + module.eps)
        return delta
    from torch.func import functional_call, jvp

    params = dict(module.named_parameters(recurse=False))
    tangent = torch.zeros_like(param)
    tangent.view(-1)[0] = 1.0

    def f(value: "torch.Tensor") -> "torch.Tensor":
        return functional_call(module, {**params, name: value}, (inp,))

    return jvp(f, (param.detach(),), (tangent,))[1].detach()


def per_sample_scores(model: "nn.Module", inputs: "torch.Tensor", num_classes: int, g: "torch.Generator",
                      draws: int = NUM_DRAWS, alpha: float = ALPHA) -> "torch.Tensor":
    """[B * draws, P] float64: per-sample score vectors J_b^T (e_c - p_b) of theta~ for ``draws``
    labels c ~ p_b per sample (module docstring). The model is run in evaluation mode and left
    as it was (training flags, buffers and ``.grad``)."""
    import torch

    from hwnas.proxies.passes import preserved_state

    chosen = selected_parameters(model)
    b = int(inputs.shape[0])
    probes = [torch.zeros(b, dtype=inputs.dtype, requires_grad=True) for _ in chosen]
    by_module: dict[int, list[tuple[str, torch.Tensor]]] = {}
    for (m, name), s in zip(chosen, probes):
        by_module.setdefault(id(m), []).append((name, s))

    def make_hook(entries: list[tuple[str, "torch.Tensor"]]) -> Callable:
        inside = [False]  # the JVP fallback calls the module again: no probes in that call

        def hook(module: "nn.Module", args: tuple, out: "torch.Tensor") -> "torch.Tensor":
            if inside[0] or not isinstance(out, torch.Tensor) or out.dim() < 1 or out.shape[0] != b or not args:
                return out
            inp = args[0].detach()
            inside[0] = True
            try:
                for name, s in entries:
                    delta = _probe_delta(module, name, inp, out.detach())
                    out = out + s.view(b, *([1] * (out.dim() - 1))) * delta
            finally:
                inside[0] = False
            return out

        return hook

    handles = []
    with preserved_state(model), torch.enable_grad():
        model.eval()
        try:
            for m in model.modules():
                if id(m) in by_module:
                    handles.append(m.register_forward_hook(make_hook(by_module[id(m)])))
            logits = model(inputs.detach())
        finally:
            for h in handles:
                h.remove()
        if logits.dim() != 2:
            from hwnas.errors import HwnasUsageError

            raise HwnasUsageError(f"vkdnw needs [batch, classes] logits, got shape {tuple(logits.shape)}")
        c = logits.shape[1]
        p = (1.0 - alpha) * torch.softmax(logits.detach().double(), dim=1) + alpha / c
        rows = []
        for k in range(draws):
            labels = torch.multinomial(p, 1, generator=g).squeeze(1)
            v = torch.nn.functional.one_hot(labels, c).double() - p
            grads = torch.autograd.grad(logits, probes, grad_outputs=v.to(logits.dtype),
                                        retain_graph=k + 1 < draws, allow_unused=True)
            rows.append(torch.stack([torch.zeros(b, dtype=torch.float64) if gr is None else gr.double()
                                     for gr in grads], dim=1))
    return torch.cat(rows, dim=0)


def vkdnw_from_scores(scores: "torch.Tensor") -> float:
    """VKDNW of the FIM estimate F_hat = G^T G / n from per-sample score rows ``scores`` [n, P]:
    the decile entropy of its min(n, P) resolved eigenvalues (all P when n >= P; when n < P the
    P - n zeros that only reflect the sample size are left out, else every network with more
    than 10 n parameter tensors would score -inf)."""
    import torch

    g = scores.double()
    n, p = g.shape
    if n == 0 or p == 0 or not bool(torch.isfinite(g).all()):
        return -math.inf
    scale = float(g.abs().max())
    if not scale > 0.0:
        return -math.inf
    g = g / scale  # the entropy of normalised deciles does not depend on the scale of F
    small = g @ g.T if n < p else g.T @ g  # same non-zero eigenvalues
    lam = torch.linalg.eigvalsh(small / n).clamp_min(0.0)
    return decile_entropy(lam)


def _spectrum(ctx: "ScoringContext") -> dict[str, float]:
    from hwnas.init import generator

    data = ctx.data
    g = generator(ctx.seed, "vkdnw", "labels")
    scores = per_sample_scores(ctx.model, data.inputs, data.num_classes, g)
    return {"vkdnw": vkdnw_from_scores(scores), "vkdnw_dim": float(fisher_dimension(ctx.model))}


class _Spectrum(Proxy):
    """Unregistered helper: ``vkdnw`` and ``vkdnw_single`` share one FIM per scoring context."""

    name = "_vkdnw_spectrum"
    description = "internal"
    cost = "backward"

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("vkdnw", "vkdnw_dim")

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return _spectrum(ctx)


@register
class VKDNW(Proxy):
    """VKDNW: entropy of the deciles of the Fisher-information spectrum of one scalar per
    parameter tensor (module docstring). Unit: nats, in [0, log 9]."""

    name = "vkdnw"
    description = "VKDNW: entropy of the FIM eigenvalue deciles, one weight per tensor (nats)"
    cost = "backward"

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: ctx.evaluate(_Spectrum())["vkdnw"]}


@register
class VKDNWSingle(Proxy):
    """The paper's VKDNW_single ranking: aleph (number of parameter tensors) first, VKDNW second,
    as one number aleph + VKDNW / (2 log 9) (-inf where VKDNW is -inf)."""

    name = "vkdnw_single"
    description = "VKDNW_single: parameter-tensor count + VKDNW / (2 log 9), ranks by count then VKDNW"
    cost = "backward"

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        s = ctx.evaluate(_Spectrum())
        return {self.name: s["vkdnw_dim"] + s["vkdnw"] / (2.0 * math.log(9.0))}


@register
class VKDNWDim(Proxy):
    """aleph of VKDNW: the number of parameter tensors (`fisher_dimension`). Unit: tensors."""

    name = "vkdnw_dim"
    description = "VKDNW's aleph: number of parameter tensors of the network (count)"
    cost = "free"

    def compute(self, ctx: "ScoringContext") -> dict[str, float]:
        return {self.name: float(fisher_dimension(ctx.model))}
