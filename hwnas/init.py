"""Deterministic model construction: the same (arch, dataset, seed) always gives the same weights,
whatever ran before, without touching the global torch RNG."""

from __future__ import annotations

import hashlib

import torch
from torch import nn

from hwnas.spaces.base import Arch, get_space


def arch_seed(seed: int, arch: Arch) -> int:
    """A 63-bit seed derived from (seed, canonical architecture key), independent of order."""
    digest = hashlib.blake2b(f"{seed}:{arch.space}:{arch.genotype}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def build_seeded(arch: Arch, dataset: str, seed: int = 0) -> nn.Module:
    """`Space.build` under a private RNG seeded from (seed, arch): PyTorch's default init."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(arch_seed(seed, arch))
        return get_space(arch.space).build(arch, dataset)
