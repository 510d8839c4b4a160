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
    if F.shape[1] == 2 and np.isfinite(F).all():
        return _non_dominated_2d(F)
    return _non_dominated_blocked(F)


def _non_dominated_blocked(F: np.ndarray, block: int = 512) -> np.ndarray:
    """`non_dominated` for any number of objectives. Rows sorted lexicographically can only be
    dominated by earlier rows, and a kept row is never dominated later; so the rows go through
    in blocks of ``block``, each compared (vectorised) with the rows kept so far and with the
    rest of its own block. Cost about n x (front size + block) comparisons of m values, instead
    of n^2. NaN compares false: such a row dominates nothing and is dominated by nothing."""
    order = np.lexsort(F.T[::-1])
    Fs = F[order]
    kept_rows = np.zeros((0, F.shape[1]))
    kept: list[np.ndarray] = []
    for start in range(0, Fs.shape[0], block):
        rows = Fs[start:start + block]
        pos = np.arange(start, start + rows.shape[0])
        for k in range(0, kept_rows.shape[0], 8 * block):  # in slices: memory stays block x 8 block
            ref = kept_rows[k:k + 8 * block]
            le = np.all(ref[None, :, :] <= rows[:, None, :], axis=2)
            lt = np.any(ref[None, :, :] < rows[:, None, :], axis=2)
            alive = ~np.any(le & lt, axis=1)
            rows, pos = rows[alive], pos[alive]
        # within the block: a row dominated by a dominated row is dominated by its dominator too
        le = np.all(rows[:, None, :] <= rows[None, :, :], axis=2)
        lt = np.any(rows[:, None, :] < rows[None, :, :], axis=2)
        alive = ~np.any(le & lt, axis=0)
        kept_rows = np.concatenate([kept_rows, rows[alive]])
        kept.append(pos[alive])
    return np.sort(order[np.concatenate(kept)]) if kept else np.zeros(0, dtype=np.int64)


def _non_dominated_2d(F: np.ndarray) -> np.ndarray:
    """`non_dominated` of finite two-objective rows in O(n log n): after sorting by (f1, f2), a row
    is dominated exactly when a row with smaller f1 has f2 <= its f2, or a row with its f1 has a
    smaller f2."""
    order = np.lexsort((F[:, 1], F[:, 0]))
    f1, f2 = F[order, 0], F[order, 1]
    new_f1 = np.concatenate([[True], f1[1:] != f1[:-1]])
    group = np.cumsum(new_f1) - 1  # index of each row's f1 group
    group_min = f2[new_f1]  # sorted by f2 within a group: its first row holds its smallest f2
    best_before = np.concatenate([[np.inf], np.minimum.accumulate(group_min)[:-1]])  # over smaller f1
    keep = (f2 == group_min[group]) & (f2 < best_before[group])
    return np.sort(order[keep])


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
