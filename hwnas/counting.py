"""Parameter and FLOP counting, with the convention of the NAS-Bench-201 cost tables.

Two conventions, chosen by name:

``"nb201"`` (default) -- the one behind the NAS-Bench-201 FLOPs that NAS-Bench-Suite-Zero
(NASLib) publishes, i.e. tensorwatch/torchstat's per-module rules. It reproduces that table
exactly. Per single input sample:

* Conv2d: k_h * k_w * C_in * C_out / groups multiply-accumulates per output position
  (+ C_out per position if the conv has a bias);
* Linear: in * out (bias not counted);
* BatchNorm2d: 2 per element (1 without affine weights); ReLU: 1 per element;
* AvgPool2d / MaxPool2d: k_h * k_w per output element;
* AdaptiveAvgPool2d: (window_h + 1) * (window_w + 1) per output element and channel
  (torchstat's rule; 81 per channel for the 8x8 -> 1x1 head at 32x32 input);
* additions, the zero op and identities: nothing.

``"macs"`` -- multiply-accumulates of the conv, linear (with bias) and pooling layers only;
what a hardware model usually wants as its "FLOPs" feature.

``"conv_linear"`` -- conv and linear multiply-accumulates (linear bias included), pooling
excluded: the NAS-Bench-201 API figure the AZ-NAS authors use as their complexity score.

Parameters count every trainable scalar (BatchNorm affine weights included), as NAS-Bench-201.

``live_only=True`` counts only the layers the output depends on: a layer whose output receives
an identically zero gradient from a random output direction does no useful work (in
NAS-Bench-201, a convolution that only feeds `none` edges, or a node that reaches the output
through `none` edges alone). Such dead layers still run in the PyTorch module, and
NAS-Bench-201's tables count them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where it is used, so `ModelCost` costs no torch import
    import torch
    from torch import nn

FLOP_CONVENTIONS = ("nb201", "macs", "conv_linear")


@dataclass(frozen=True)
class ModelCost:
    """Static cost of a network for one input sample."""

    params: int  # trainable scalars
    flops: int  # see the module docstring for the convention

    @property
    def params_m(self) -> float:
        """Parameters in millions."""
        return self.params / 1e6

    @property
    def mflops(self) -> float:
        """FLOPs in millions."""
        return self.flops / 1e6


def count_params(model: "nn.Module") -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _pair(v: "int | tuple[int, int]") -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _adaptive_pool_windows(size_in: int, size_out: int) -> int:
    """Sum over output positions of (window length + 1), torchstat's adaptive-pool rule."""
    return sum(
        math.ceil((i + 1) * size_in / size_out) - math.floor(i * size_in / size_out) + 1
        for i in range(size_out)
    )


def conv_flops_per_position(conv: "nn.Conv2d") -> int:
    """Multiply-accumulates of ``conv`` per output position (and sample), bias adds included:
    the rule every convention counts a Conv2d by."""
    kh, kw = conv.kernel_size
    per_pos = kh * kw * conv.in_channels * conv.out_channels // conv.groups
    return per_pos + (conv.out_channels if conv.bias is not None else 0)


def _module_flops(module: "nn.Module", x: "torch.Tensor", out: "torch.Tensor", convention: str) -> int:
    from torch import nn

    full = convention == "nb201"
    if isinstance(module, nn.Conv2d):
        n, _, h, w = out.shape
        return conv_flops_per_position(module) * n * h * w
    if isinstance(module, nn.Linear):
        per_sample = module.in_features * module.out_features
        if module.bias is not None and not full:
            per_sample += module.out_features
        return per_sample * x.shape[0]
    if isinstance(module, (nn.AvgPool2d, nn.MaxPool2d)):
        if convention == "conv_linear":
            return 0
        kh, kw = _pair(module.kernel_size)
        return out.numel() * kh * kw
    if not full:
        return 0
    if isinstance(module, nn.BatchNorm2d):
        return x.numel() * (2 if module.affine else 1)
    if isinstance(module, nn.ReLU):
        return x.numel()
    if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        n, c, h, w = x.shape
        oh, ow = out.shape[2:]
        return n * c * _adaptive_pool_windows(h, oh) * _adaptive_pool_windows(w, ow)
    return 0


def count_flops(model: "nn.Module", input_shape: tuple[int, ...], convention: str = "nb201",
                live_only: bool = False) -> int:
    """FLOPs of one forward pass on a single sample of shape (C, H, W) or (1, C, H, W),
    under ``convention`` ("nb201", "macs" or "conv_linear", see the module docstring); with
    ``live_only``, of the layers the output depends on (one forward and backward pass of a
    Gaussian sample instead of the no-grad forward; parameter gradients are left as they were)."""
    import torch
    from torch import nn

    if convention not in FLOP_CONVENTIONS:
        raise ValueError(f"unknown FLOP convention {convention!r}; use one of {FLOP_CONVENTIONS}")
    counted = (nn.Conv2d, nn.Linear, nn.AvgPool2d, nn.MaxPool2d, nn.BatchNorm2d, nn.ReLU,
               nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    shape = tuple(int(v) for v in (input_shape[-3:] if len(input_shape) == 4 else input_shape))
    calls: list[tuple[int, "torch.Tensor"]] = []  # (FLOPs, output) per layer call, one sample

    def hook(module: "nn.Module", inputs: "tuple[torch.Tensor, ...]", output: "torch.Tensor") -> None:
        calls.append((_module_flops(module, inputs[0], output, convention), output))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, counted)]
    was_training = model.training
    grads = [(p, p.grad) for p in model.parameters()]
    try:
        model.eval()
        if live_only:
            g = torch.Generator().manual_seed(0)
            x = torch.randn((1, *shape), generator=g).requires_grad_(True)
            with torch.enable_grad():
                out = model(x)
                total = _live_flops(calls, out, torch.randn(out.shape, generator=g))
        else:
            with torch.no_grad():
                model(torch.zeros((1, *shape)))
            total = sum(f for f, _ in calls)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
        for p, grad in grads:
            p.grad = grad
    return total


def _live_flops(calls: "list[tuple[int, torch.Tensor]]", out: "torch.Tensor", direction: "torch.Tensor") -> int:
    """Sum of the FLOPs of the layer calls whose output gets a gradient that is not identically
    zero when ``direction`` is backpropagated from ``out``."""
    import torch

    tracked = [(i, t) for i, (_, t) in enumerate(calls) if t.requires_grad]
    grads = torch.autograd.grad(out, [t for _, t in tracked], grad_outputs=direction, allow_unused=True)
    live = {i for (i, _), g in zip(tracked, grads) if g is not None and bool(g.abs().sum() > 0)}
    return sum(f for i, (f, _) in enumerate(calls) if i in live)


def model_cost(model: "nn.Module", input_shape: tuple[int, ...], convention: str = "nb201") -> ModelCost:
    """`ModelCost` (params, FLOPs) of ``model`` for one sample of ``input_shape``."""
    return ModelCost(params=count_params(model), flops=count_flops(model, input_shape, convention))
