"""Accuracy of a cost predictor: pure functions of (predicted, true) arrays and the `Metrics` record.

* ``rmse``                  -- root mean squared error, in the target's unit;
* ``mape``                  -- mean absolute percentage error, in percent;
* ``accuracy_within``       -- nn-Meter's metric: the percentage of architectures whose
  relative error |pred - true| / true is at most ``bound`` (0.05 -> "+-5 % accuracy");
* ``spearman``, ``kendall`` -- rank correlations (scipy.stats; Kendall's tau-b).

True values must be positive (latency, energy); predictions may be anything finite.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np


def _pair(pred, true) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64).reshape(-1)
    t = np.asarray(true, dtype=np.float64).reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"predicted and true values differ in length: {p.size} vs {t.size}")
    if p.size == 0:
        raise ValueError("no values to compare")
    return p, t


def _relative_error(pred, true) -> np.ndarray:
    p, t = _pair(pred, true)
    if not np.all(t > 0):
        raise ValueError("relative errors need positive true values")
    return np.abs(p - t) / t


def rmse(pred, true) -> float:
    """Root mean squared error (unit of the target)."""
    p, t = _pair(pred, true)
    return float(np.sqrt(np.mean((p - t) ** 2)))


def mape(pred, true) -> float:
    """Mean absolute percentage error, in percent."""
    return float(100.0 * np.mean(_relative_error(pred, true)))


def accuracy_within(pred, true, bound: float) -> float:
    """Percentage of values with |pred - true| / true <= ``bound`` (nn-Meter's +-bound accuracy)."""
    if not bound > 0:
        raise ValueError(f"bound must be positive, not {bound}")
    # a hair of slack so that an error of exactly 10 % counts as within 10 % despite rounding
    return float(100.0 * np.mean(_relative_error(pred, true) <= bound * (1 + 1e-12)))


def _rank_corr(fn, pred, true) -> float:
    p, t = _pair(pred, true)
    if p.size < 2 or np.all(p == p[0]) or np.all(t == t[0]):
        return math.nan  # undefined for constant input
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = fn(p, t)[0]
    return float(value)


def spearman(pred, true) -> float:
    """Spearman's rank correlation (NaN where either side is constant)."""
    from scipy.stats import spearmanr

    return _rank_corr(spearmanr, pred, true)


def kendall(pred, true) -> float:
    """Kendall's tau-b (NaN where either side is constant)."""
    from scipy.stats import kendalltau

    return _rank_corr(kendalltau, pred, true)


@dataclass(frozen=True)
class Metrics:
    """How well predictions match measurements on ``n`` architectures."""

    n: int
    rmse: float  # unit of the target (ms, mJ)
    mape_pct: float  # mean absolute percentage error, %
    acc5_pct: float  # % of archs within +-5 % of the truth
    acc10_pct: float  # % of archs within +-10 % of the truth
    spearman: float
    kendall: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Metrics":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


METRIC_COLUMNS: tuple[tuple[str, str], ...] = (
    ("rmse", "RMSE"), ("mape_pct", "MAPE %"), ("acc5_pct", "+-5 %"), ("acc10_pct", "+-10 %"),
    ("spearman", "Spearman"), ("kendall", "Kendall"),
)


def compute_metrics(pred, true) -> Metrics:
    """All metrics of ``pred`` against ``true`` (true values positive)."""
    p, t = _pair(pred, true)
    return Metrics(
        n=int(p.size),
        rmse=rmse(p, t),
        mape_pct=mape(p, t),
        acc5_pct=accuracy_within(p, t, 0.05),
        acc10_pct=accuracy_within(p, t, 0.10),
        spearman=spearman(p, t),
        kendall=kendall(p, t),
    )


def format_metric(key: str, value: float) -> str:
    """The way tables show one metric: 4 significant digits for RMSE, 1 decimal for percentages,
    3 decimals for correlations."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    if key == "rmse":
        return f"{value:.4g}"
    if key.endswith("_pct"):
        return f"{value:.1f}"
    if key in ("spearman", "kendall"):
        return f"{value:.4f}"
    return str(value)


def markdown_table(rows: "list[tuple[str, Metrics]]", unit: str = "", first: str = "model") -> str:
    """A markdown table of named `Metrics` (one row each)."""
    rmse_head = f"RMSE ({unit})" if unit else "RMSE"
    heads = [first, "n", rmse_head] + [label for key, label in METRIC_COLUMNS[1:]]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join(["---"] * len(heads)) + "|"]
    for name, m in rows:
        cells = [name, str(m.n)] + [format_metric(key, getattr(m, key)) for key, _ in METRIC_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
