"""Judging zero-cost proxies against real NAS-Bench-201 accuracy (``hwnas eval proxies``).

Pipeline: `fixed_sample` picks the architectures, `evaluate_proxies` scores them (resumable,
through the on-disk `ScoreCache`), `proxy_metrics` compares every score column (and every rank
aggregate) with `load_ground_truth`, over the sample and over its top 5 %.

Conventions, used throughout:

* Scores: larger = predicted better. A non-finite score (-inf, +inf is never produced, NaN) is
  ranked LAST, below every finite score, and all non-finite scores of a column tie with each
  other (`hwnas.proxies.rank_ascending`: NaN counts as -inf, ties get their average rank). The
  correlations are computed on those ranks, so they are deterministic and do not depend on the
  order of the sample.
* Accuracy: 200-epoch test accuracy in percent (``c10_test``, ``c100_test``, ``in16_test`` of
  ``nb201/accuracy.csv``; for CIFAR-100 and ImageNet16-120 the NATS "x-test" values that papers
  quote).
* Time: milliseconds of wall-clock time per architecture for one *timed call*, i.e. building the
  network, Kaiming-normal initialisation and computing the group of proxies that share that call
  (see `proxy_groups`), measured with ``time.perf_counter``. A proxy computed together with
  others in one shared pass reports the time of the whole group: that is what it cost.

The work is split by job, and everything is re-exported here (import from ``hwnas.eval``):
`hwnas.eval_truth` (ground truth, sample), `hwnas.eval_cache` (score cache),
`hwnas.eval_request` (``--proxies`` parsing, score columns, timed groups), `hwnas.eval_scoring`
(scoring, `Evaluation`), `hwnas.eval_metrics` (results table), `hwnas.eval_output` (files).
"""

from __future__ import annotations

from hwnas.eval_cache import (  # noqa: F401
    _SCHEMA,
    DEFAULT_CACHE,
    CachedScore,
    CacheKey,
    ScoreCache,
    _check_cache_path,
    version_tag,
)
from hwnas.eval_metrics import (  # noqa: F401
    TOP_FRACTION,
    ProxyMetrics,
    proxy_metrics,
    rank_correlations,
    row_scores,
    rows_of,
    top_fraction,
)
from hwnas.eval_output import _jsonable, write_results  # noqa: F401
from hwnas.eval_request import Request, outputs_of, parse_request, proxy_groups  # noqa: F401
from hwnas.eval_scoring import (  # noqa: F401
    DEVICES,
    Evaluation,
    _check_device,
    _progress,
    evaluate_proxies,
    score_architecture,
)
from hwnas.eval_truth import (  # noqa: F401
    ACCURACY_FILE,
    GROUND_TRUTH_COLUMNS,
    NB201_SIZE,
    _ground_truth,
    canonical_dataset,
    check_seed,
    fixed_sample,
    load_ground_truth,
)

__all__ = [
    "ACCURACY_FILE", "DEFAULT_CACHE", "DEVICES", "GROUND_TRUTH_COLUMNS", "NB201_SIZE", "TOP_FRACTION",
    "CacheKey", "CachedScore", "Evaluation", "ProxyMetrics", "Request", "ScoreCache",
    "canonical_dataset", "check_seed", "evaluate_proxies", "fixed_sample", "load_ground_truth", "outputs_of",
    "parse_request", "proxy_groups", "proxy_metrics", "rank_correlations", "row_scores", "rows_of",
    "score_architecture", "top_fraction", "version_tag", "write_results",
]
