"""The shipped Raspberry Pi 5 predictors (scripts/build_pi5_predictors.py) against the Pi 5
measurements in the data directory: the recorded split, the recorded test figures, and the
devices end to end. Skips where ``pi5/`` is absent."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from hwnas.devices import get_device
from hwnas.devices.costs import cost_table
from hwnas.predictors.metrics import compute_metrics
from hwnas.predictors.pretrained import load_pretrained, pretrained_info
from hwnas.predictors.train import split_indices

PI5 = [(f"pi5-{r}", m) for r in ("litert", "torchmobile") for m in ("latency", "energy")]
COLUMN = {"latency": "latency_ms", "energy": "energy_mj"}


@pytest.mark.parametrize("device,metric", PI5, ids=[f"{d}-{m}" for d, m in PI5])
def test_shipped_pi5_predictor_reproduces_its_recorded_test_figures(pi5, device, metric):
    info = pretrained_info(device, metric)
    assert info["model"] == "gp" and info["hparams"]["cost_features"] is True and info["dataset"] == "cifar100"
    reps = pi5.loc[pi5["measured_as_index"] == pi5["nb201_index"], "nb201_index"].to_numpy(np.int64)
    assert reps.size == info["measured_archs"] == 6_466
    train, test = split_indices(reps, info["train_size"], info["split"]["seed"])
    assert hashlib.sha256(np.sort(train.astype("<i8")).tobytes()).hexdigest() == info["split"]["train_sha256"]
    y = pi5[f"{device.split('-')[1]}_{COLUMN[metric]}"].to_numpy(np.float64)
    m = compute_metrics(load_pretrained(device, metric).predict(test.tolist()), y[test])
    assert m.spearman == pytest.approx(info["holdout"]["spearman"], abs=1e-4)
    assert m.acc10_pct == pytest.approx(info["holdout"]["acc10_pct"], abs=0.05)
    if metric == "latency":  # the measured-energy issue's acceptance (energy is noise-limited: see docs)
        assert m.spearman >= 0.995 and m.acc10_pct >= 97.0


def test_pi5_devices_are_priced_everywhere_and_labelled_predicted():
    assert get_device("raspi5").name == "pi5-litert" and get_device("rpi5-torchmobile").name == "pi5-torchmobile"
    table = cost_table("nb201", "pi5-litert", "energy")
    assert table.counts()["predicted"] == 15_625 and table.measured_input == "cifar100"
    assert np.all(np.isfinite(table.values)) and np.all(table.values > 0)
    assert "Spearman" in table.provenance["predicted"]
