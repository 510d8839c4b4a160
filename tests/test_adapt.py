"""Few-shot adaptation (`hwnas.predictors.adapt`) on real shipped measurements: a device held out
of the sources is learnt from a few samples; save/restore; determinism; bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hwnas.devices import measured_column
from hwnas.errors import HwnasUsageError
from hwnas.predictors.adapt import Adapter, fit_adapter, select_informative, source_matrix
from hwnas.predictors.metrics import spearman

SOURCES = ("1080ti_1", "1080ti_32", "silver_4114", "samsung_a50", "pixel3", "essential_ph_1")


@pytest.fixture(scope="module")
def raspi4_fit():
    y = measured_column("nb201", "raspi4")
    rows = np.random.default_rng(0).choice(15_625, 20, replace=False)
    ad = fit_adapter("nb201", rows, y[rows], sources=SOURCES, seed=0, device="raspi4-heldout")
    return ad, y, rows


def test_source_matrix_excludes_target():
    names, x = source_matrix("nb201", exclude=["raspi4"])
    assert "raspi4" not in names and x.shape == (15_625, len(names)) and np.all(np.isfinite(x))
    assert "i7-7820x" not in names  # 15,284 of 15,625 measured: not a full source


def test_adapts_to_held_out_device(raspi4_fit):
    ad, y, rows = raspi4_fit
    assert "raspi4" not in ad.sources and ad.n_samples == 20
    others = np.setdiff1d(np.arange(0, 15_625, 7), rows)
    pred = ad.predict(others)
    assert pred.dtype == np.float64 and np.all(pred > 0)
    assert spearman(pred, y[others]) > 0.85  # constant / shuffled / wrong-unit predictions fail this
    assert np.median(np.abs(pred / y[others] - 1)) < 0.25
    assert ad.loo["kind"] == "leave-one-out" and 0.0 < ad.loo["spearman"] <= 1.0


def test_round_trip_npz_json(raspi4_fit, tmp_path):
    ad, _, _ = raspi4_fit
    np.savez(tmp_path / "a.npz", **ad.to_arrays())
    (tmp_path / "a.json").write_text(json.dumps(ad.config()))
    with np.load(tmp_path / "a.npz", allow_pickle=False) as fh:
        arrays = {k: fh[k] for k in fh.files}
    back = Adapter.from_arrays(arrays, json.loads((tmp_path / "a.json").read_text()))
    idx = np.arange(0, 15_625, 3)
    assert np.array_equal(back.predict(idx), ad.predict(idx))
    assert back.config() == ad.config()
    with pytest.raises(HwnasUsageError):
        Adapter.from_arrays({**arrays, "coef_src": arrays["coef_src"][:, :2]}, ad.config())


def test_deterministic():
    y = measured_column("nb201", "eyeriss")
    rows = select_informative("nb201", 8, seed=3, sources=SOURCES)
    assert np.array_equal(rows, select_informative("nb201", 8, seed=3, sources=SOURCES)) and len(set(rows)) == 8
    a = fit_adapter("nb201", rows, y[rows], sources=SOURCES, estimate_error=False)
    b = fit_adapter("nb201", rows, y[rows], sources=SOURCES, estimate_error=False)
    assert np.array_equal(a.predict(), b.predict())


@pytest.mark.parametrize("rows, values, needle", [
    ([1, 2, 3, 4], [1.0, 2.0, 3.0, 4.0], "at least 5"),
    ([1, 2, 3, 4, 5], [1.0, 2.0, np.nan, 4.0, 5.0], "positive and finite"),
    ([1, 2, 3, 4, 5], [1.0, 2.0, 0.0, 4.0, 5.0], "positive and finite"),
    ([1, 2, 3, 4, 5, 5], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "twice with different values"),
    ([1, 2, 3, 4, 4], [1.0, 2.0, 3.0, 4.0, 4.0], "at least 5"),  # a repeat is one architecture
    ([1, 2, 3, 4, 99_999], [1.0, 2.0, 3.0, 4.0, 5.0], "out of range"),
    ([1, 2, 3, 4, 5], [1.0, 2.0, 3.0], "measured values"),
])
def test_bad_input(rows, values, needle):
    with pytest.raises(HwnasUsageError, match=needle) as err:
        fit_adapter("nb201", rows, values, sources=SOURCES)
    assert "\n" not in str(err.value)


def test_reads_arrays_saved_without_view_weights(raspi4_fit):
    """Adapters saved before view weights (no "weights" array) predict the plain mean of their views."""
    ad, _, _ = raspi4_fit
    arrays = {k: v for k, v in ad.to_arrays().items() if k != "weights"}
    old = Adapter.from_arrays(arrays, ad.config())
    v = len(ad.views)
    assert np.allclose(old.weights, 1.0 / v)
    equal = Adapter.from_arrays({**arrays, "weights": np.full(v, 1.0 / v)}, ad.config())
    idx = np.arange(0, 15_625, 11)
    assert np.array_equal(old.predict(idx), equal.predict(idx))
    assert abs(float(np.sum(ad.weights)) - 1.0) < 1e-9 and np.all(ad.weights > 0)


def test_few_samples_fall_back_to_the_flops_params_line():
    """A cost that is exactly a line in FLOPs and params: the adapter puts (almost) all its weight
    on the line view and predicts the cost, whatever the sources say."""
    from hwnas.spaces.nb201 import cost_arrays

    params, flops = cost_arrays("cifar10")
    y = 0.3 * flops / 1e6 + 2.0 * params / 1e6 + 1.0
    rows = np.random.default_rng(1).choice(15_625, 10, replace=False)
    ad = fit_adapter("nb201", rows, y[rows], sources=SOURCES, estimate_error=False)
    assert ad.views[0] == "line:flops+params" and ad.weights[0] > 0.9
    idx = np.arange(0, 15_625, 5)
    assert np.median(np.abs(ad.predict(idx) / y[idx] - 1)) < 0.01


def test_a_fixed_view_predicts_with_it_and_keeps_the_others_to_show_disagreement():
    """From 100 samples a view can be fixed (a biased subset: leave-one-out cannot say which view
    extrapolates); the other views stay at weight 0 and `view_costs` shows where they disagree."""
    y = measured_column("nb201", "fpga", "latency")
    rows = np.random.default_rng(0).choice(15_625, 120, replace=False)
    auto = fit_adapter("nb201", rows, y[rows], exclude=["fpga"], estimate_error=False)
    fixed = fit_adapter("nb201", rows, y[rows], exclude=["fpga"], estimate_error=False, view="raw:full")
    assert len(auto.views) == 1 and fixed.views[0] == "raw:full" and len(fixed.views) == 3
    np.testing.assert_array_equal(fixed.weights, [1.0, 0.0, 0.0])
    query = np.arange(0, 15_625, 97)
    costs = fixed.view_costs(query)
    assert costs.shape == (query.size, 3)
    np.testing.assert_allclose(fixed.predict(query), costs[:, 0], rtol=1e-12)
    back = Adapter.from_arrays(fixed.to_arrays(), fixed.config())
    np.testing.assert_allclose(back.view_costs(query), costs, rtol=1e-12)
    with pytest.raises(HwnasUsageError, match="unknown adapter view"):
        fit_adapter("nb201", rows, y[rows], exclude=["fpga"], estimate_error=False, view="nope")
