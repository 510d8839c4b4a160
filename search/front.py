"""Pareto utilities (pure functions on numpy arrays; every objective is minimised)."""

from __future__ import annotations

import numpy as np


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``F`` [n, m] that no other row dominates (all <=, one <), in input
    order; rows equal to each other are all kept."""
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2:
        raise ValueError(f"expected a 2-D objective matrix, got shape {F.shape}")
    n = F.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    keep = np.ones(n, dtype=bool)
    # sort by the first objective so each row is only compared with earlier (possibly dominating) rows
    order = np.lexsort(F.T[::-1])
    Fs = F[order]
    for pos in range(n):
        row = Fs[pos]
        earlier = Fs[:pos][keep[order[:pos]]]
        if earlier.size and np.any(np.all(earlier <= row, axis=1) & np.any(earlier < row, axis=1)):
            keep[order[pos]] = False
    return np.flatnonzero(keep)


def hypervolume(F: np.ndarray, ref_point: np.ndarray) -> float:
    """Hypervolume dominated by the rows of ``F`` (minimised) up to ``ref_point``; rows not
    strictly better than the reference in every objective contribute nothing (pymoo's HV)."""
    from pymoo.indicators.hv import HV

    F = np.asarray(F, dtype=np.float64)
    ref = np.asarray(ref_point, dtype=np.float64)
    inside = F[np.all(F < ref, axis=1)] if F.size else F.reshape(0, ref.size)
    if inside.shape[0] == 0:
        return 0.0
    return float(HV(ref_point=ref)(inside))
