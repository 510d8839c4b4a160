"""The `transfer` predictor (`hwnas.predictors.transfer`): the few-shot adapter behind the
`Predictor` interface; the target device is never among its sources; npz/JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwnas.devices import measured_column
from hwnas.predictors import get_predictor, load_predictor
from hwnas.predictors.metrics import spearman


@pytest.fixture(scope="module")
def raspi4():
    y = measured_column("nb201", "raspi4")
    rows = np.sort(np.random.default_rng(0).choice(15_625, 150, replace=False))
    return y, rows


def test_target_is_not_a_source(raspi4):
    y, rows = raspi4
    p = get_predictor("transfer").fit([int(i) for i in rows], y[rows])  # no exclude: found from the values
    assert "raspi4" not in p.sources and len(p.sources) >= 20
    q = get_predictor("transfer", exclude="raspi4,pixel3").fit([int(i) for i in rows], y[rows])
    assert "raspi4" not in q.sources and "pixel3" not in q.sources and len(q.sources) == len(p.sources) - 1
    assert get_predictor("transfer", exclude=["rpi4"]).hparams["exclude"] == "raspi4"  # aliases, lists
    others = np.setdiff1d(np.arange(0, 15_625, 5), rows)
    pred = q.predict([int(i) for i in others])
    assert np.all(pred > 0) and spearman(pred, y[others]) > 0.85


def test_round_trip_and_deterministic(raspi4, tmp_path):
    y, rows = raspi4
    archs = [int(i) for i in rows[:40]]
    a = get_predictor("transfer").fit(archs, y[rows[:40]])
    b = get_predictor("transfer").fit(archs, y[rows[:40]])
    idx = list(range(0, 15_625, 11))
    assert np.array_equal(a.predict(idx), b.predict(idx))
    folder = a.save(tmp_path / "t")
    config = json.loads((folder / "config.json").read_text())
    assert config["model"] == "transfer" and all(v["dtype"][1] != "O" for v in config["arrays"].values())
    with np.load(folder / "weights.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    back = load_predictor(folder)
    assert np.array_equal(back.predict(idx), a.predict(idx)) and back.sources == a.sources


def test_subset_shift_extrapolates():
    """Trained on raspi4's values on the expensive half only, it still ranks the cheap half."""
    y = measured_column("nb201", "raspi4")
    order = np.argsort(y)
    train = np.sort(order[len(order) // 2:][::40])
    test = order[:len(order) // 2:7]
    p = get_predictor("transfer").fit([int(i) for i in train], y[train])
    assert "raspi4" not in p.sources
    assert spearman(p.predict([int(i) for i in test]), y[test]) > 0.6
