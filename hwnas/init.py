"""Deterministic randomness and model initialisation: the same (arch, dataset, seed) always gives
the same weights and probes, whatever ran before, without touching the global torch RNG."""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import math
from typing import Callable, Iterator

import torch
from torch import nn

from hwnas.spaces.base import Arch, get_space


WEIGHT_LAYERS = (nn.modules.conv._ConvNd, nn.Linear)


def _hash63(text: str) -> int:
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def derive_seed(seed: int, *tags: object) -> int:
    """A 63-bit seed from (seed, tags): independent streams for independent purposes."""
    return _hash63(repr((int(seed), *tags)))


def generator(seed: int, *tags: object) -> torch.Generator:
    """A private CPU generator seeded with `derive_seed(seed, *tags)`."""
    return torch.Generator().manual_seed(derive_seed(seed, *tags))


def arch_seed(seed: int, arch: Arch) -> int:
    """A 63-bit seed derived from (seed, architecture), independent of evaluation order."""
    return _hash63(f"{seed}:{arch.space}:{arch.genotype}")


def build_seeded(arch: Arch, dataset: str, seed: int = 0) -> nn.Module:
    """`Space.build` under a private RNG seeded from (seed, arch): PyTorch's default init."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(arch_seed(seed, arch))
        return get_space(arch.space).build(arch, dataset)


_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)


@torch.no_grad()
def init_normal(model: nn.Module, g: torch.Generator, std_of_fan_in: "Callable[[int], float]") -> nn.Module:
    """Re-initialise ``model`` in place from generator ``g`` and return it: conv / linear weights
    ~ N(0, std_of_fan_in(fan_in)^2) drawn in ``model.modules()`` order (fan_in = in_channels /
    groups * kernel area), their biases 0; normalisation layers get weight 1 and bias 0, and
    BatchNorm running statistics are reset."""
    for m in model.modules():
        if isinstance(m, WEIGHT_LAYERS):
            w = m.weight
            fan_in = w[0].numel() if w.dim() > 1 else w.numel()
            w.copy_(torch.randn(w.shape, generator=g, dtype=w.dtype) * std_of_fan_in(fan_in))
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, _NORMS):
            if getattr(m, "weight", None) is not None:
                m.weight.fill_(1.0)
            if getattr(m, "bias", None) is not None:
                m.bias.zero_()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
                m.reset_running_stats()
    return model


def init_kaiming_normal(model: nn.Module, seed: int) -> nn.Module:
    """Re-initialise ``model`` in place and return it.

    Conv / linear weights ~ N(0, 2 / fan_in) (PyTorch's ``kaiming_normal_(mode="fan_in",
    nonlinearity="relu")``, fan_in = in_channels / groups * kernel area), their biases 0;
    normalisation layers get weight 1 and bias 0, and BatchNorm running statistics are reset.
    Draws come, in ``model.modules()`` order, from a private generator seeded from ``seed``:
    the global torch RNG is not touched and the result does not depend on what ran before.
    """
    return init_normal(model, generator(seed, "init"), lambda fan_in: math.sqrt(2.0 / fan_in))


_DEFAULT_INIT_SKIPPED: contextvars.ContextVar[bool] = contextvars.ContextVar("hwnas_default_init_skipped", default=False)


@contextlib.contextmanager
def default_init_skipped() -> Iterator[None]:
    """Inside the block (this thread / task only), layers built from `SkippableDefaultInit`
    classes leave their parameters as allocated instead of running PyTorch's default
    initialisation. For a network that `init_normal` re-initialises right after building: it
    sets every parameter and buffer of those layers. PyTorch's ``reset_parameters`` was about
    4 ms of a 6-9 ms NB201 build."""
    token = _DEFAULT_INIT_SKIPPED.set(True)
    try:
        yield
    finally:
        _DEFAULT_INIT_SKIPPED.reset(token)


class SkippableDefaultInit:
    """Mixin for a conv / linear / normalisation layer: its ``reset_parameters`` (PyTorch's
    default initialisation, run by the constructor) does nothing inside `default_init_skipped`."""

    def reset_parameters(self) -> None:
        if not _DEFAULT_INIT_SKIPPED.get():
            super().reset_parameters()  # type: ignore[misc]
