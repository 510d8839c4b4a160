"""Rank aggregation of proxy score columns (pure functions on numpy arrays).

Ranks are ascending: over m candidates the lowest score gets rank 1 and the best gets rank m.
Ties get the average of the ranks they span (so tied candidates always receive equal
aggregates, whatever their order in the input); NaN counts as -inf, i.e. worst, and all
-inf / NaN entries of a column tie with each other. ``ties="min"`` (every tied candidate gets
the lowest rank of its group) and ``ties="max"`` are available; all three are deterministic
and independent of the input order.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

TIE_METHODS = ("average", "min", "max")


def rank_ascending(values: ArrayLike, ties: str = "average") -> np.ndarray:
    """Ranks 1..m of ``values`` (float array; see the module docstring for ties and NaN)."""
    if ties not in TIE_METHODS:
        raise ValueError(f"unknown tie method {ties!r}; use one of {TIE_METHODS}")
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = np.where(np.isnan(v), -np.inf, v)
    m = v.size
    order = np.argsort(v, kind="stable")
    sorted_v = v[order]
    # start and end (exclusive) of each run of equal values in sorted order
    new_group = np.concatenate([[True], sorted_v[1:] != sorted_v[:-1]]) if m else np.zeros(0, bool)
    starts = np.flatnonzero(new_group)
    ends = np.append(starts[1:], m)
    ranks_sorted = np.empty(m, dtype=np.float64)
    for s, e in zip(starts, ends):
        if ties == "average":
            ranks_sorted[s:e] = (s + 1 + e) / 2.0
        elif ties == "min":
            ranks_sorted[s:e] = s + 1
        else:
            ranks_sorted[s:e] = e
    ranks = np.empty(m, dtype=np.float64)
    ranks[order] = ranks_sorted
    return ranks


def _columns(columns: Mapping[str, ArrayLike], names: Sequence[str] | None) -> list[np.ndarray]:
    keys = list(columns) if names is None else list(names)
    if not keys:
        raise ValueError("rank aggregation needs at least one score column")
    missing = [k for k in keys if k not in columns]
    if missing:
        raise KeyError(f"score columns {missing} not found (have: {', '.join(columns)})")
    arrays = [np.asarray(columns[k], dtype=np.float64).reshape(-1) for k in keys]
    sizes = {a.size for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"score columns differ in length: {dict(zip(keys, (a.size for a in arrays)))}")
    if sizes == {0}:
        raise ValueError("score columns are empty")
    return arrays


def linear_rank_aggregate(
    columns: Mapping[str, ArrayLike], names: Sequence[str] | None = None, ties: str = "average"
) -> np.ndarray:
    """Sum over the chosen columns of each candidate's ascending rank (larger = better)."""
    return np.sum([rank_ascending(a, ties) for a in _columns(columns, names)], axis=0)


def nonlinear_rank_aggregate(
    columns: Mapping[str, ArrayLike], names: Sequence[str] | None = None, ties: str = "average"
) -> np.ndarray:
    """AZ-NAS Eq. 12: sum over the chosen columns of log(rank / m), m = number of candidates.
    At most 0 (best everywhere); one low rank pulls a candidate down hard (larger = better)."""
    arrays = _columns(columns, names)
    m = arrays[0].size
    return np.sum([np.log(rank_ascending(a, ties) / m) for a in arrays], axis=0)


AZ_NAS_COLUMNS: tuple[str, ...] = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
