"""Train and evaluate a predictor on measured costs: `train_predictor`.

The split is the acceptance protocol of the hardware-cost issue: ``train_size`` architectures
drawn with ``numpy.random.default_rng(seed).choice`` (without replacement) from those with a
measurement on (device, metric), and every other measured architecture as the test set. The
`flops` baseline is fitted on the same training architectures and reported beside the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.predictors.base import PREDICTORS, Predictor, get_predictor
from hwnas.predictors.metrics import Metrics
from hwnas.spaces import Arch, get_space


@dataclass
class TrainResult:
    """A fitted predictor and how it did on the held-out architectures."""

    predictor: Predictor
    metrics: Metrics  # on the test architectures
    baseline: Metrics | None  # the flops baseline on the same split (None if not asked for)
    device: str
    metric: str
    unit: str
    space: str
    dataset: str
    seed: int
    train_indices: np.ndarray  # the space's indices of the training architectures
    test_indices: np.ndarray
    fit_s: float
    predict_s: float
    measured_input: str  # the input the measurements were taken with, as the source states it
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def train_size(self) -> int:
        return int(self.train_indices.size)

    @property
    def test_size(self) -> int:
        return int(self.test_indices.size)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready record of this run."""
        return {
            "device": self.device, "metric": self.metric, "unit": self.unit, "space": self.space,
            "dataset": self.dataset, "model": self.predictor.name, "seed": self.seed,
            "train_size": self.train_size, "test_size": self.test_size, "measured_input": self.measured_input,
            "metrics": self.metrics.as_dict(), "flops_baseline": self.baseline.as_dict() if self.baseline else None,
            "fit_s": round(self.fit_s, 3), "predict_s": round(self.predict_s, 3),
            "hparams": self.predictor.hparams, **self.extra,
        }


def measured_targets(space: str, device: str, metric: str, dataset: str) -> tuple[np.ndarray, str]:
    """Measured costs of every architecture of ``space`` (NaN = not measured) for networks built
    for ``dataset``, and a note on the input the measurements used. Usage errors name the fix."""
    from hwnas.devices import get_device, measured_column, measured_cost
    from hwnas.devices.measured import SPACES_WITH_DATA, devices_with_data

    dev = get_device(device)
    metric = dev.require_metric(metric)
    sp = get_space(space)
    if sp.name not in SPACES_WITH_DATA:
        raise HwnasUsageError(f"no measured costs for search space {sp.name!r}; spaces with data: "
                              f"{', '.join(s for s in SPACES_WITH_DATA if s in _registered_spaces())}")
    ds = sp.dataset(dataset).name
    values = measured_column(sp.name, dev.name, metric, dataset=ds)
    if np.isfinite(values).any():
        return values, ds
    anyinput = measured_column(sp.name, dev.name, metric)
    measured = np.flatnonzero(np.isfinite(anyinput))
    if measured.size == 0:
        have = devices_with_data(sp.name, metric)
        detail = "; ".join(c.detail for c in dev.coverage_of(sp.name, metric) if c.detail)
        raise HwnasUsageError(f"device {dev.name!r} has no measured {metric} for {sp.name}"
                              f"{f' ({detail})' if detail else ''}; devices with {sp.name} {metric}: "
                              f"{', '.join(have) or 'none'}")
    cost = measured_cost(sp.name, int(measured[0]), dev.name, metric)
    if cost is not None and cost.dataset is not None:
        raise HwnasUsageError(f"{dev.name} {metric} was measured with {cost.dataset} input, not {ds}; "
                              f"use --dataset {cost.dataset}")
    return anyinput, "not stated by the source"


def _registered_spaces() -> list[str]:
    from hwnas.spaces import SPACES

    return SPACES.names()


def split_indices(measured: np.ndarray, train_size: int, seed: int,
                  test_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: ``train_size`` of ``measured`` drawn with default_rng(seed).choice,
    the test set every other measured index (or ``test_size`` of them, drawn from the same generator)."""
    measured = np.asarray(measured, dtype=np.int64)
    if not 2 <= train_size < measured.size:
        raise HwnasUsageError(f"train size {train_size} is out of range: {measured.size:,} architectures are "
                              f"measured, so use 2..{measured.size - 1}")
    rng = np.random.default_rng(seed)
    train = np.sort(rng.choice(measured, size=train_size, replace=False))
    test = np.setdiff1d(measured, train)
    if test_size is not None and test_size < test.size:
        if test_size < 2:
            raise HwnasUsageError(f"test size {test_size} is too small; use at least 2")
        test = np.sort(rng.choice(test, size=test_size, replace=False))
    return train, test


def train_predictor(device: str, metric: str = "latency", model: str = "gcn", train_size: int = 900,
                    seed: int = 0, space: str = "nb201", dataset: "str | None" = None, *,
                    test_size: int | None = None, baseline: bool = True, workers: int = 1,
                    cache_dir: "str | None" = None, progress: bool = False,
                    **hparams: Any) -> TrainResult:
    """Fit ``model`` on ``train_size`` random measured architectures and evaluate it (and the flops
    baseline) on all other measured ones. ``workers``/``cache_dir``/``progress`` concern the ONNX
    graphs of graph models; ``hparams`` go to the model, over the options validated for this
    device (`hwnas.predictors.tuned`, recorded in the result's ``extra["tuned_hparams"]``)."""
    from hwnas.devices import get_device

    dev = get_device(device)
    metric = dev.require_metric(metric)
    model = PREDICTORS.canonical(model)
    sp = get_space(space)
    if dataset is None:  # the input the device was measured with (HW-NAS-Bench: CIFAR-10; Pi 5: CIFAR-100)
        from hwnas.devices.measured import measured_input as _input

        dataset = (_input(sp.name, dev.name, metric) if sp.name == "nb201" else None) or "cifar10"
    values, measured_input = measured_targets(sp.name, dev.name, metric, dataset)
    measured = np.flatnonzero(np.isfinite(values))
    if dev.class_level and sp.name == "nb201":  # one measurement per isomorphism class: split the classes
        from hwnas.devices.costs import class_first_index

        measured = measured[class_first_index()[measured] == measured]
    train_idx, test_idx = split_indices(measured, train_size, seed, test_size)
    to_arch = sp.arch_at if hasattr(sp, "arch_at") else (lambda i: sp.parse(str(i)))
    train_archs: list[Arch] = [to_arch(int(i)) for i in train_idx]
    test_archs: list[Arch] = [to_arch(int(i)) for i in test_idx]

    from hwnas.predictors.tuned import tuned_hparams

    tuned = {k: v for k, v in tuned_hparams(dev.name, model).items() if k not in hparams}
    pred = get_predictor(model, space=sp.name, dataset=dataset, seed=seed, **tuned, **hparams)
    if hasattr(pred, "workers"):
        pred.workers = int(workers)
        pred.cache_dir = cache_dir
        pred.progress = progress
        if hasattr(pred, "prepare"):  # build every graph once, in parallel, before timing the fit
            pred.prepare([*train_archs, *test_archs])
    start = time.perf_counter()
    pred.fit(train_archs, values[train_idx])
    fit_s = time.perf_counter() - start
    pred.trained_on = {"device": dev.name, "metric": metric, "unit": dev.unit(metric), "space": sp.name,
                       "dataset": pred.dataset, "measured_input": measured_input, "train_size": int(train_size),
                       "split_seed": int(seed)}
    start = time.perf_counter()
    predicted = pred.predict(test_archs)
    predict_s = time.perf_counter() - start
    from hwnas.predictors.metrics import compute_metrics

    metrics = compute_metrics(predicted, values[test_idx])
    base = None
    if baseline:
        if model == "flops":
            base = metrics
        else:
            flops = get_predictor("flops", space=sp.name, dataset=dataset, seed=seed).fit(train_archs, values[train_idx])
            base = flops.evaluate(test_archs, values[test_idx])
    return TrainResult(pred, metrics, base, dev.name, metric, dev.unit(metric), sp.name, pred.dataset, int(seed),
                       train_idx, test_idx, fit_s, predict_s, measured_input,
                       extra={"tuned_hparams": tuned} if tuned else {})
