"""Writing the results of ``hwnas eval proxies`` to a CSV or JSON file (`write_results`)."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from hwnas.errors import HwnasUsageError
from hwnas.eval_metrics import ProxyMetrics
from hwnas.eval_scoring import Evaluation
from hwnas.eval_truth import load_ground_truth


def _jsonable(x: float) -> "float | str | None":
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def write_results(path: "str | os.PathLike[str]", results: Sequence[tuple[Evaluation, list[ProxyMetrics]]],
                  config: Mapping[str, Any]) -> Path:
    """Write the tables to ``path``: ``.csv`` (one row per dataset and table row) or ``.json``
    (config, and per dataset the table, the sample indices, accuracy and every score column;
    non-finite numbers as the strings "nan", "inf", "-inf")."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise HwnasUsageError(f"--out must end in .csv or .json, got {p.name!r}")
    p.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        fields = ["dataset", "proxy", "kind", "kendall_tau", "spearman_rho", "top_kendall_tau", "top_spearman_rho",
                  "ndcg", "ndcg_k", "median_ms_per_arch", "n", "n_top", "non_finite", "columns", "timed_groups"]
        with open(p, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            for ev, rows in results:
                for m in rows:
                    d = m.as_dict()
                    d["columns"] = "+".join(d["columns"])
                    d["timed_groups"] = "; ".join(d["timed_groups"])
                    w.writerow({"dataset": ev.dataset, **d})
        return p
    doc: dict[str, Any] = {"config": dict(config), "datasets": {}}
    for ev, rows in results:
        acc = None
        try:
            acc = [float(v) for v in load_ground_truth(ev.dataset)[ev.indices]]
        except HwnasUsageError:
            pass
        doc["datasets"][ev.dataset] = {
            "metrics": [{k: (_jsonable(v) if isinstance(v, float) else v) for k, v in m.as_dict().items()} for m in rows],
            "indices": [int(i) for i in ev.indices],
            "test_accuracy": acc,
            "scores": {c: [_jsonable(v) for v in vals] for c, vals in ev.columns.items()},
            "ms": {c: [float(v) for v in vals] for c, vals in ev.ms.items()},
            "computed_calls": ev.computed,
            "reused": ev.reused,
        }
    with open(p, "w") as fh:
        json.dump(doc, fh, indent=1)
    return p
