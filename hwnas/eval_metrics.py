"""The results table of ``hwnas eval proxies``: rank correlations of every score column (and
every rank aggregate) with ground-truth accuracy, over the sample and over its top 5 %, and the
top-of-ranking metric nDCG@k (`ndcg_at_k`, VKDNW's proposal) (`proxy_metrics`). Non-finite
scores rank last (`hwnas.proxies.rank_ascending`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.eval_request import Request, outputs_of
from hwnas.eval_scoring import Evaluation
from hwnas.eval_truth import load_ground_truth

TOP_FRACTION = 0.05
NDCG_K = 10  # nDCG@10: the ten networks a proxy ranks first, what a user would train


def rank_correlations(scores: "np.ndarray | Sequence[float]", accuracy: "np.ndarray | Sequence[float]") -> tuple[float, float]:
    """(Kendall tau-b, Spearman rho) between ``scores`` and ``accuracy`` (scipy.stats).

    Non-finite scores are ranked last (below every finite score, tied with each other), ties get
    their average rank: the scores are replaced by `rank_ascending` ranks first, which changes
    neither coefficient for finite scores. NaN when fewer than two architectures or when either
    side is constant."""
    from scipy import stats

    from hwnas.proxies import rank_ascending

    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    a = np.asarray(accuracy, dtype=np.float64).reshape(-1)
    if s.size != a.size:
        raise ValueError(f"scores ({s.size}) and accuracy ({a.size}) differ in length")
    if s.size < 2:
        return math.nan, math.nan
    r = rank_ascending(s)
    if np.all(r == r[0]) or np.all(a == a[0]):
        return math.nan, math.nan
    tau = float(stats.kendalltau(r, a).statistic)
    rho = float(stats.spearmanr(r, a).statistic)
    return tau, rho


def top_fraction(accuracy: "np.ndarray | Sequence[float]", fraction: float = TOP_FRACTION) -> np.ndarray:
    """Positions (ascending) of the best ``fraction`` of the sample by ground-truth accuracy: the
    survey's constrained setting (Sec. 4.1.2), taken within the sample. Size
    max(2, ceil(fraction * n)); ties at the boundary go to the earlier position (the smaller NB-201
    index in a sorted sample), so the subset is deterministic."""
    a = np.asarray(accuracy, dtype=np.float64).reshape(-1)
    if not 0.0 < fraction <= 1.0:
        raise HwnasUsageError(f"top fraction must be in (0, 1], got {fraction}")
    k = min(a.size, max(2, math.ceil(fraction * a.size - 1e-9)))
    order = np.argsort(-a, kind="stable")
    return np.sort(order[:k])


def ndcg_at_k(scores: "np.ndarray | Sequence[float]", accuracy: "np.ndarray | Sequence[float]", k: int = NDCG_K,
              gain: str = "linear") -> float:
    """Normalised discounted cumulative gain of the ``k`` architectures ranked first by
    ``scores`` (larger = better), the metric VKDNW (Tybl & Neumann, CVPR 2025) proposes for NAS
    because it looks at the top of the ranking, where a search picks its answer:

        DCG@k  = sum_{r=1..k} gain(acc of the architecture ranked r-th by score) / log2(r + 1)
        nDCG@k = DCG@k / DCG@k of the ideal ordering (by accuracy itself)

    ``gain``: ``"linear"`` (default) -- the gain is the test accuracy itself in percent (must be
    >= 0), which is also `sklearn.metrics.ndcg_score`'s definition; ``"exp2"`` -- 2**(acc / 100) - 1,
    the information-retrieval form with the accuracy as a fraction. Ranking: non-finite scores
    rank last (NaN as -inf); architectures with tied scores share the average gain of their tie
    group over the ranks they span (scikit-learn's tie handling), so the value does not depend on
    the order of the sample. ``k`` is clipped to the sample size. 1.0 = the k best architectures
    in the best order; NaN when the sample is empty or the ideal DCG is 0 (every gain 0)."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    a = np.asarray(accuracy, dtype=np.float64).reshape(-1)
    if s.size != a.size:
        raise ValueError(f"scores ({s.size}) and accuracy ({a.size}) differ in length")
    if int(k) < 1:
        raise HwnasUsageError(f"nDCG k must be at least 1, got {k}")
    if gain == "linear":
        g = a
    elif gain == "exp2":
        g = np.exp2(a / 100.0) - 1.0
    else:
        raise ValueError(f"unknown nDCG gain {gain!r}; use linear or exp2")
    if s.size == 0 or not np.all(np.isfinite(g)):
        return math.nan
    if np.any(g < 0):
        raise ValueError("nDCG needs non-negative gains (accuracy in percent)")
    k = min(int(k), s.size)
    discount = np.zeros(s.size)
    discount[:k] = 1.0 / np.log2(np.arange(2, k + 2))
    s = np.where(np.isnan(s), -np.inf, s)
    order = np.argsort(-s, kind="stable")
    sorted_s, sorted_g = s[order], g[order]
    new_group = np.concatenate([[True], sorted_s[1:] != sorted_s[:-1]])
    starts = np.flatnonzero(new_group)
    ends = np.append(starts[1:], s.size)
    dcg = 0.0
    for st, en in zip(starts, ends):
        if st >= k:
            break
        dcg += float(sorted_g[st:en].mean()) * float(discount[st:en].sum())
    ideal = float(np.sum(np.sort(g)[::-1] * discount))
    return math.nan if ideal <= 0 else dcg / ideal


@dataclass(frozen=True)
class ProxyMetrics:
    """One row of the results table. ``kind``: "proxy", "component" (one score of a multi-score
    proxy such as az_nas) or "aggregate" (Eq. 12 over ``columns``). Correlations against test
    accuracy over the n sampled architectures and over the top ``n_top`` of them; ``median_ms``:
    median over architectures of the ms of the timed calls that produced ``columns``;
    ``non_finite``: architectures whose score is -inf/NaN (an aggregate has none: it ranks);
    ``ndcg``: nDCG@``ndcg_k`` over the whole sample (`ndcg_at_k`, gain = test accuracy in %)."""

    name: str
    kind: str
    columns: tuple[str, ...]
    kendall: float
    spearman: float
    top_kendall: float
    top_spearman: float
    median_ms: float
    n: int
    n_top: int
    non_finite: int
    timed_groups: tuple[str, ...]
    ndcg: float = math.nan
    ndcg_k: int = NDCG_K

    def as_dict(self) -> dict[str, Any]:
        return {
            "proxy": self.name, "kind": self.kind, "columns": list(self.columns), "kendall_tau": self.kendall,
            "spearman_rho": self.spearman, "top_kendall_tau": self.top_kendall, "top_spearman_rho": self.top_spearman,
            "median_ms_per_arch": self.median_ms, "n": self.n, "n_top": self.n_top, "non_finite": self.non_finite,
            "timed_groups": list(self.timed_groups), "ndcg": self.ndcg, "ndcg_k": self.ndcg_k,
        }


def rows_of(request: Request) -> list[tuple[str, str, tuple[str, ...]]]:
    """(row name, kind, score columns) of every table row for ``request``: each single proxy (a
    multi-score proxy gives its aggregate row, then one row per component), then the aggregates."""
    rows: list[tuple[str, str, tuple[str, ...]]] = []
    for name in request.singles:
        outs = outputs_of(name)
        if len(outs) == 1:
            rows.append((name, "proxy", outs))
        else:
            rows.append((name, "aggregate", outs))
            rows += [(c, "component", (c,)) for c in outs]
    for label, members in request.aggregates:
        cols = tuple(dict.fromkeys(c for m in members for c in outputs_of(m)))
        rows.append((label, "aggregate", cols))
    return rows


def row_scores(evaluation: Evaluation, columns: Sequence[str]) -> np.ndarray:
    """One column's scores, or the AZ-NAS Eq. 12 non-linear rank aggregate of several columns
    over the sample (`hwnas.proxies.nonlinear_rank_aggregate`; non-finite scores rank last)."""
    from hwnas.proxies import nonlinear_rank_aggregate

    if len(columns) == 1:
        return evaluation.columns[columns[0]]
    return nonlinear_rank_aggregate({c: evaluation.columns[c] for c in columns}, list(columns))


def proxy_metrics(
    evaluation: Evaluation, accuracy: "np.ndarray | None" = None, fraction: float = TOP_FRACTION,
    ndcg_k: int = NDCG_K,
) -> list[ProxyMetrics]:
    """The results table of ``evaluation``: Kendall tau and Spearman rho (`rank_correlations`)
    against ground-truth test accuracy (%) over the whole sample and over its top ``fraction``
    by accuracy (`top_fraction`: the survey's constrained setting, the top 5 % *of the sample*),
    the median ms per architecture, and n. ``accuracy``: accuracy of the sampled architectures in
    sample order; default `load_ground_truth` of the evaluation's dataset. Aggregates (``az_nas``
    and ``a+b`` requests) are ranked over the whole sample, then restricted to the top subset.
    ``ndcg_k``: the cutoff of nDCG@k over the whole sample (`ndcg_at_k`; default 10: the ten
    networks a proxy ranks first)."""
    if accuracy is None:
        accuracy = load_ground_truth(evaluation.dataset)[evaluation.indices]
    acc = np.asarray(accuracy, dtype=np.float64).reshape(-1)
    if acc.size != len(evaluation.indices):
        raise ValueError(f"accuracy has {acc.size} entries for {len(evaluation.indices)} architectures")
    top = top_fraction(acc, fraction)
    out = []
    for name, kind, cols in rows_of(evaluation.request):
        scores = row_scores(evaluation, cols)
        tau, rho = rank_correlations(scores, acc)
        ttau, trho = rank_correlations(scores[top], acc[top])
        non_finite = int(np.sum(~np.isfinite(scores)))
        groups = tuple(dict.fromkeys(g for c in cols for g in evaluation.groups[c]))
        out.append(ProxyMetrics(name, kind, tuple(cols), tau, rho, ttau, trho,
                                float(np.median(evaluation.call_ms(cols))), int(acc.size), int(top.size),
                                non_finite, groups, ndcg_at_k(scores, acc, ndcg_k), min(int(ndcg_k), int(acc.size))))
    return out
