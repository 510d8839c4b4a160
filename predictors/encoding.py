"""Fixed-length inputs of the encoding-based predictors: architectures as a list of `Arch`,
the one-hot genotype encoding, and (FLOPs, params) from `hwnas.counting`."""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.spaces import Arch, get_space


def as_archs(space: str, archs: "Iterable[Arch | int | str]") -> list[Arch]:
    """``archs`` as `Arch` objects of ``space``: accepts `Arch`, the space's index or its text forms."""
    sp = get_space(space)
    out: list[Arch] = []
    for a in archs:
        if isinstance(a, Arch):
            if a.space != sp.name:
                raise HwnasUsageError(f"architecture of space {a.space!r} given to a predictor for {sp.name!r}")
            out.append(a)
        elif isinstance(a, (int, np.integer)) and not isinstance(a, bool):
            out.append(sp.parse(str(int(a))))
        else:
            out.append(sp.parse(str(a)))
    return out


def onehot_size(space: str) -> int:
    lo, hi = get_space(space).genotype_bounds
    return int(np.sum(hi - lo + 1))


def onehot(space: str, archs: Sequence[Arch]) -> np.ndarray:
    """One-hot encoding [n, sum of choices]: one block per genotype variable (NB201: 6 edges x 5 ops)."""
    lo, hi = get_space(space).genotype_bounds
    sizes = (hi - lo + 1).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    g = np.array([a.genotype for a in archs], dtype=np.int64).reshape(len(archs), len(lo))
    x = np.zeros((len(archs), int(sizes.sum())), dtype=np.float32)
    if len(archs):
        rows = np.repeat(np.arange(len(archs)), len(lo))
        x[rows, (g - lo + offsets).reshape(-1)] = 1.0
    return x


def flops_params(space: str, archs: Sequence[Arch], dataset: str) -> np.ndarray:
    """[n, 2]: FLOPs and params in millions per sample (`Space.cost`, NAS-Bench-201 convention)."""
    sp = get_space(space)
    out = np.empty((len(archs), 2), dtype=np.float64)
    for i, a in enumerate(archs):
        c = sp.cost(a, dataset)
        out[i] = (c.mflops, c.params_m)
    return out
