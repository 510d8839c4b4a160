"""Pre-trained predictors shipped in hwnas/_data/predictors: one for every device with >= 300
measured NB201 archs, each predicts all 15,625 archs, and each still reaches (within 0.02) the
holdout Spearman recorded in its JSON on the measured archs it was not trained on; the loader's
one-line errors. Runs on the shipped measured tables only (a registered pickle is hidden)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from hwnas.devices import _tables
from hwnas.devices.registry import get_device
from hwnas.errors import HwnasUsageError
from hwnas.predictors.metrics import spearman
from hwnas.predictors.pretrained import (
    available_pretrained,
    clear_cache,
    default_folder,
    file_stem,
    load_pretrained,
    pretrained_info,
)
from hwnas.spaces import get_space

SPACE = get_space("nb201")
MIN_MEASURED = 300
# Predictors built from the shipped measured tables (scripts/build_pretrained.py); the Raspberry Pi 5
# ones are trained on data hwnas may not ship (scripts/build_pi5_predictors.py, tests/test_pi5.py).
SHIPPED = [(d, m) for d, m in available_pretrained("nb201") if not d.startswith("pi5-")]


@pytest.fixture(scope="module", autouse=True)
def _shipped_tables_only(tmp_path_factory):
    """Measured values from the shipped tables only, as the build used, and one torch thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HWNAS_HOME", str(tmp_path_factory.mktemp("hwnas-home")))
        _tables.clear_cache()
        yield
    _tables.clear_cache()
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def all_archs():
    return [SPACE.arch_at(i) for i in range(SPACE.num_archs)]


def _one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text and text.strip()
    return text


def test_every_device_with_enough_measurements_has_a_predictor():
    from hwnas.devices.measured import devices_with_data, measured_column

    expected = set()
    for metric in ("latency", "energy"):
        for device in devices_with_data("nb201", metric):
            if np.isfinite(measured_column("nb201", device, metric)).sum() >= MIN_MEASURED:
                expected.add((device, metric))
    assert expected, "no device has measured NB201 data: the shipped tables are missing"
    assert set(SHIPPED) == expected


def test_shipped_files_are_small():
    total = sum(p.stat().st_size for p in default_folder().glob("nb201_*.*"))
    assert 0 < total < 5 * 1024 * 1024


@pytest.mark.parametrize("device,metric", SHIPPED, ids=[f"{d}-{m}" for d, m in SHIPPED])
def test_shipped_predictor_predicts_everything_and_holds_its_holdout(device, metric, all_archs):
    from hwnas.predictors.train import measured_targets, split_indices

    info = pretrained_info(device, metric)
    dev = get_device(device)
    assert (info["device"], info["metric"], info["unit"]) == (dev.name, metric, dev.unit(metric))
    assert info["model"] in ("mlp", "ridge", "gp", "transfer") and info["candidate"] in info["candidates"]
    assert info["provenance"] and info["hwnas_version"] and "build_pretrained.py" in info["command"]

    pred = load_pretrained(device, metric)
    everywhere = pred.predict(all_archs)
    assert everywhere.shape == (SPACE.num_archs,)
    assert np.all(np.isfinite(everywhere)) and np.all(everywhere > 0)

    # the split the build used, recomputed from the shipped measurements and checked by its fingerprint
    split = info["split"]
    values, _ = measured_targets("nb201", device, metric, split["dataset"])
    measured = np.flatnonzero(np.isfinite(values))
    assert measured.size == info["measured_archs"] >= MIN_MEASURED
    train, holdout = split_indices(measured, info["train_size"], split["seed"])
    import hashlib

    assert hashlib.sha256(np.sort(train.astype("<i8")).tobytes()).hexdigest() == split["train_sha256"]
    assert holdout.size == info["holdout_size"] and np.intersect1d(train, holdout).size == 0
    assert info["train_size"] == round(0.9 * measured.size)

    rho = spearman(everywhere[holdout], values[holdout])
    assert rho >= info["holdout"]["spearman"] - 0.02, (
        f"{device} {metric}: holdout Spearman {rho:.4f}, recorded {info['holdout']['spearman']:.4f}")


def test_aliases_resolve_and_the_predictor_is_cached():
    if ("jetson-tx2", "latency") not in SHIPPED:
        pytest.fail("jetson-tx2 latency (1,999 measured archs) should be shipped")
    a = load_pretrained("edgegpu")
    assert a is load_pretrained("jetson-tx2", "latency", "nb201")
    assert pretrained_info("rice_edgegpu", "lat")["device"] == "jetson-tx2"
    assert load_pretrained("jetson-tx2").predict([0]).shape == (1,)


def test_unknown_device_or_metric_is_a_one_line_error():
    with pytest.raises(HwnasUsageError) as exc:
        load_pretrained("no-such-board")
    text = _one_line(exc)
    assert "no-such-board" in text and "pre-trained nb201 latency predictors exist for: adreno-630" in text
    with pytest.raises(HwnasUsageError) as exc:
        load_pretrained("jetson-tx3")
    assert "predictors exist for: jetson-tx2" in _one_line(exc)  # close matches first
    with pytest.raises(HwnasUsageError) as exc:
        load_pretrained("jetson-tx2", "watts")
    assert "watts" in _one_line(exc)
    with pytest.raises(HwnasUsageError):
        available_pretrained("no-such-space")


def test_device_without_a_shipped_predictor_names_the_ones_that_exist():
    with pytest.raises(HwnasUsageError) as exc:
        load_pretrained("local")  # a registered device with no measurements
    text = _one_line(exc)
    assert "'local'" in text and "adreno-630" in text and "hwnas predictors list" in text
    with pytest.raises(HwnasUsageError) as exc:
        pretrained_info("jetson-tx2", "energy")  # no NB201 energy shipped
    text = _one_line(exc)
    assert "energy predictor for device 'jetson-tx2'" in text and "pi5-litert" in text  # the ones that exist


def _copy(folder, device="jetson-tx2", metric="latency"):
    stem = file_stem(device, metric)
    for suffix in (".json", ".npz"):
        shutil.copyfile(default_folder() / f"{stem}{suffix}", folder / f"{stem}{suffix}")
    return folder / stem


def test_corrupt_or_missing_files_are_one_line_errors(tmp_path):
    good = _copy(tmp_path)
    assert available_pretrained(folder=tmp_path) == [("jetson-tx2", "latency")]
    assert load_pretrained("jetson-tx2", folder=tmp_path).predict([0, 1]).shape == (2,)

    bad = tmp_path / "bad"
    bad.mkdir()
    stem = _copy(bad)
    stem.with_suffix(".npz").write_bytes(b"not a zip file")
    with pytest.raises(HwnasUsageError) as exc:
        load_pretrained("jetson-tx2", folder=bad)
    assert "corrupt" in _one_line(exc) and ".npz" in str(exc.value)

    stem.with_suffix(".npz").write_bytes(good.with_suffix(".npz").read_bytes())
    stem.with_suffix(".json").write_text("{ truncated")
    with pytest.raises(HwnasUsageError) as exc:
        load_pretrained("edgegpu", folder=bad)
    assert "corrupt" in _one_line(exc) and ".json" in str(exc.value)
    with pytest.raises(HwnasUsageError):
        pretrained_info("jetson-tx2", folder=bad)

    config = json.loads(good.with_suffix(".json").read_text())
    first = sorted(config["arrays"])[0]
    config["arrays"][first]["shape"] = [3, 3, 3]  # disagrees with the npz
    stem.with_suffix(".json").write_text(json.dumps(config))
    clear_cache()
    with pytest.raises(HwnasUsageError) as exc:
        load_pretrained("jetson-tx2", folder=bad)
    assert "corrupt" in _one_line(exc)

    stem.with_suffix(".npz").unlink()  # JSON without weights
    with pytest.raises(HwnasUsageError) as exc:
        load_pretrained("jetson-tx2", folder=bad)
    assert "jetson-tx2" in _one_line(exc)

    empty = tmp_path / "empty"
    empty.mkdir()
    assert available_pretrained(folder=empty) == []
    with pytest.raises(HwnasUsageError) as exc:
        load_pretrained("jetson-tx2", folder=empty)
    assert "no pre-trained" in _one_line(exc)


def test_predictors_list_shows_the_shipped_predictors():
    from click.testing import CliRunner

    from hwnas.commands.predictors import predictors_group

    result = CliRunner().invoke(predictors_group, ["list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "pre-trained nb201 predictors" in result.output
    assert all(device in result.output for device, _ in SHIPPED)


def test_subset_device_label_quotes_accuracy_where_used():
    """A device measured on the 1,999-arch subset is labelled with the subset-shift accuracy of its
    model (outside the subset, where the predictions are used), not only its in-subset holdout."""
    from hwnas.devices.costs import cost_table

    info = pretrained_info("jetson-tx2")
    shift = info["subset_shift"]
    assert shift["model"] == info["model"] and shift["devices"] >= 5 and 0 < shift["acc10_pct"] < 100
    label = cost_table("nb201", "jetson-tx2", "latency").provenance["predicted"]
    assert "outside the measured subset" in label and f"{shift['acc10_pct']:.1f} %" in label
    assert "subset_shift" not in pretrained_info("raspi4")  # fully measured: never predicted
    # TX2 correlates with no fully measured device as well as the protocol's devices do with theirs:
    # its label quotes the no-twin protocol (sources that close left out), not the 27-device mean
    if "best_source_spearman" in shift:
        notwin = shift["best_source_spearman"] < shift["protocol_best_source_spearman_min"]
        assert notwin == shift["protocol"].startswith("no-twin")
        assert ("left out" in label) == notwin


def test_subset_device_budgets_use_the_margin_measured_where_predictions_are_used():
    """A subset-only device's shipped transfer predictor states no per-arch uncertainty: budgets
    are checked against the largest of its views x exp(q), q the 97.5th percentile of
    log(measured / largest view) outside the subset (bench/subset_shift.py); never below the
    prediction; measured values are their own bound."""
    from hwnas.devices.costs import SOURCE_CODES, cost_table

    info = pretrained_info("jetson-tx2")
    if info["model"] != "transfer":
        pytest.skip(f"jetson-tx2 ships {info['model']}, not transfer")
    margin = info["subset_shift"]["budget_bound_views_q975"]
    assert margin["level"] == 0.975 and margin["devices"] >= 5 and 0 < margin["log_ratio"] < 1
    table = cost_table("nb201", "jetson-tx2", "latency")
    predicted = np.flatnonzero(table.source_codes == SOURCE_CODES["predicted"])
    assert predicted.size == 15_625 - 1_999
    views = load_pretrained("jetson-tx2").view_costs([int(i) for i in predicted])
    np.testing.assert_allclose(table.bound[predicted],
                               np.maximum(views.max(axis=1) * np.exp(margin["log_ratio"]), table.values[predicted]),
                               rtol=1e-9)
    measured = table.source_codes == SOURCE_CODES["measured"]
    np.testing.assert_array_equal(table.bound[measured], table.values[measured])
    assert f"views x {np.exp(margin['log_ratio']):.3f}" in table.provenance["predicted"]
