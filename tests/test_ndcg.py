"""nDCG@k (`hwnas.eval_metrics.ndcg_at_k`): a hand-computed example, scikit-learn's ndcg_score
where the definitions coincide (linear gain), ties, non-finite scores, and its place in the
results table and the CSV of ``hwnas eval proxies``."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from hwnas import eval as ev
from hwnas.eval_metrics import ndcg_at_k


def test_hand_computed_example():
    # ranked by score: accuracies 10, 30, 20; the ideal order is 30, 20, 10
    scores, acc = [3.0, 2.0, 1.0], [10.0, 30.0, 20.0]
    dcg2 = 10.0 / math.log2(2) + 30.0 / math.log2(3)
    ideal2 = 30.0 / math.log2(2) + 20.0 / math.log2(3)
    assert ndcg_at_k(scores, acc, 2) == pytest.approx(dcg2 / ideal2, abs=1e-15)
    assert ndcg_at_k(scores, acc, 1) == pytest.approx(10.0 / 30.0)
    assert ndcg_at_k([1.0, 3.0, 2.0], acc, 3) == pytest.approx(1.0)  # the ideal order
    assert ndcg_at_k(scores, acc, 100) == ndcg_at_k(scores, acc, 3)  # k clipped to the sample
    exp = ndcg_at_k(scores, acc, 1, gain="exp2")
    assert exp == pytest.approx((2 ** 0.1 - 1) / (2 ** 0.3 - 1))


def test_matches_sklearn_ndcg_score_with_ties():
    from sklearn.metrics import ndcg_score

    rng = np.random.default_rng(0)
    for _ in range(100):
        n = int(rng.integers(2, 60))
        scores = rng.integers(0, 6, n).astype(float)  # many ties: sklearn averages over tie groups too
        acc = rng.random(n) * 100.0
        k = int(rng.integers(1, 70))
        assert ndcg_at_k(scores, acc, k) == pytest.approx(ndcg_score(acc[None], scores[None], k=k), abs=1e-12)


def test_non_finite_scores_rank_last_and_order_does_not_matter():
    acc = np.array([90.0, 10.0, 50.0, 70.0])
    scores = np.array([np.nan, 4.0, -np.inf, 3.0])  # the two finite ones first (10, 70), then 90 and 50 tied
    expected = (10.0 + 70.0 / math.log2(3) + 70.0 * (1 / math.log2(4) + 1 / math.log2(5))) / \
        (90.0 + 70.0 / math.log2(3) + 50.0 / math.log2(4) + 10.0 / math.log2(5))
    assert ndcg_at_k(scores, acc, 4) == pytest.approx(expected)
    perm = np.array([2, 0, 3, 1])
    assert ndcg_at_k(scores[perm], acc[perm], 3) == pytest.approx(ndcg_at_k(scores, acc, 3))
    assert math.isnan(ndcg_at_k([], [], 3))
    with pytest.raises(ValueError):
        ndcg_at_k([1.0, 2.0], [1.0], 2)


def test_ndcg_in_the_results_table_and_csv(tmp_path):
    n = 40
    acc = np.linspace(50.0, 90.0, n)
    cols = {"synflow": acc.copy(), "params": acc[::-1].copy()}
    evaluation = ev.Evaluation("nb201", "cifar100", 0, 64, "cpu", np.arange(n), ev.parse_request("synflow,params"),
                               cols, {c: np.full(n, 1.0) for c in cols}, {c: [c] * n for c in cols},
                               {c: [c] * n for c in cols})
    rows = {m.name: m for m in ev.proxy_metrics(evaluation, accuracy=acc, ndcg_k=5)}
    assert rows["synflow"].ndcg == pytest.approx(1.0) and rows["synflow"].ndcg_k == 5
    assert rows["params"].ndcg == pytest.approx(ndcg_at_k(acc[::-1], acc, 5)) and rows["params"].ndcg < 0.65
    out = ev.write_results(tmp_path / "r.csv", [(evaluation, list(rows.values()))], {})
    with open(out, newline="") as fh:
        written = {r["proxy"]: r for r in csv.DictReader(fh)}
    assert float(written["synflow"]["ndcg"]) == pytest.approx(1.0) and written["synflow"]["ndcg_k"] == "5"
