"""Your own device: `hwnas predictors adapt`, `hwnas predictors predict`, `hwnas.predict_cost` and
`--device local` (profile, adapt, search, time the front)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hwnas
from hwnas.cli import main
from hwnas.devices import all_devices, get_device
from hwnas.devices.costs import cost_table
from hwnas.devices.user import user_devices
from hwnas.errors import HwnasUsageError
from hwnas.predictors.metrics import compute_metrics


pytestmark = pytest.mark.usefixtures("isolated_home")


def _one_error(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("hwnas: error:"), captured.err
    assert "Traceback" not in captured.err + captured.out
    return captured.err


def test_adapt_a_held_out_device_from_20_measurements(pi5, tmp_path, capsys):
    """The Pi 5 is no source of the adapter: 20 of its measurements must rank the rest well."""
    reps = pi5[pi5["measured_as_index"] == pi5["nb201_index"]]
    sample = reps.sample(20, random_state=0)
    csv = tmp_path / "m.csv"
    pd.DataFrame({"arch": sample["arch_str"], "latency_ms": sample["litert_latency_ms"]}).to_csv(csv, index=False)
    assert main(["predictors", "adapt", "--measurements", str(csv), "--name", "my-pi"]) == 0
    out = capsys.readouterr().out
    assert "adapted my-pi latency (ms) from 20 measurements" in out and "leave-one-out" in out
    dev = get_device("my-pi")
    assert dev in all_devices() and dev.metric_names == ("latency",) and "adapted from 20" in dev.coverage[0].detail
    table = cost_table("nb201", "my-pi", "latency")
    assert table.counts() == {"measured": 20, "predicted": 15_605, "estimated": 0}
    rest = np.setdiff1d(reps["nb201_index"].to_numpy(), sample["nb201_index"].to_numpy())
    m = compute_metrics(table.values[rest], pi5["litert_latency_ms"].to_numpy()[rest])
    assert m.spearman > 0.95, m  # a broken adapter (or one without sources) does not get there
    # predict: CLI and Python agree, measured where measured
    out_csv = tmp_path / "preds.csv"
    assert main(["predictors", "predict", "--device", "my-pi", "--archs", "all", "--out", str(out_csv)]) == 0
    preds = pd.read_csv(out_csv)
    assert list(preds.columns) == ["arch_index", "arch", "value", "unit", "source", "support", "upper"]
    assert (preds["upper"] >= preds["value"]).all()
    assert len(preds) == 15_625 and (preds["source"] == "measured").sum() == 20 and set(preds["unit"]) == {"ms"}
    frame = hwnas.predict_cost("nb201", [int(sample["nb201_index"].iloc[0]), 0, "1", "3,3,3,1,3,2"], "my-pi", "latency")
    assert frame["source"].tolist() == ["measured", "predicted", "predicted", "predicted"]
    assert frame["value"].iloc[0] == pytest.approx(float(sample["litert_latency_ms"].iloc[0]))
    # energy of the same device from another file: the device gains a metric
    csv_e = tmp_path / "e.csv"
    pd.DataFrame({"arch": sample["nb201_index"], "energy_mj": sample["litert_energy_mj"]}).to_csv(csv_e, index=False)
    assert main(["predictors", "adapt", "--measurements", str(csv_e), "--name", "my-pi"]) == 0
    assert get_device("my-pi").metric_names == ("latency", "energy")


def test_predict_shipped_device_spec_and_sources(tmp_path):
    frame = hwnas.predict_cost("nb201", "0-4,6111", "jetson-tx2", "latency")
    assert frame["arch_index"].tolist() == [0, 1, 2, 3, 4, 6111]
    assert set(frame["source"]) == {"measured", "predicted"} and set(frame["support"]) <= {"in_range", "extrapolated"}
    assert (frame.loc[frame["source"] == "measured", "support"] == "in_range").all()
    energy = hwnas.predict_cost("nb201", [0], "jetson-tx2", "energy")
    assert energy["source"].tolist() == ["estimated"] and energy["unit"].tolist() == ["mJ"]


def _write(tmp_path, text: str, name: str = "m.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("text, message", [
    ("index,latency_ms\n1,2.0\n", "no 'arch' column"),
    ("arch,time\n1,2.0\n", "no latency_ms or energy_mj column"),
    ("arch,latency_ms,energy_mj\n1,2.0,3.0\n", "choose one with --metric"),
    ("arch,latency_ms\n1,2.0\n99999,1.0\n", "line 3: unknown architecture '99999'"),
    ("arch,latency_ms\n1,2.0\n|bogus~0|,1.0\n", "line 3: unknown architecture"),
    ("arch,latency_ms\n1,-2.0\n", "line 2: latency_ms = '-2.0' is not a positive, finite cost"),
    ("arch,latency_ms\n1,0\n", "is not a positive, finite cost"),
    ("arch,latency_ms\n1,nan\n", "is not a positive, finite cost"),
    ("arch,latency_ms\n1,inf\n", "is not a positive, finite cost"),
    ("arch,latency_ms\n1,fast\n", "is not a positive, finite cost"),
    ("arch,latency_ms\n1,2.0\n2,2.0\n1,3.0\n", "line 4: architecture 1 has two different latency_ms values"),
    ("arch,latency_ms\n", "has no measurements"),
])
def test_adapt_bad_measurements(tmp_path, capsys, text, message):
    assert main(["predictors", "adapt", "--measurements", _write(tmp_path, text), "--name", "x"]) == 2
    assert message in _one_error(capsys)
    assert user_devices() == {}


def test_adapt_bad_arguments(tmp_path, capsys):
    good = _write(tmp_path, "arch,latency_ms\n" + "".join(f"{i},{1 + i / 10}\n" for i in range(1, 9)))
    for args, message in [
        (["--name", "raspi4"], "names the built-in device 'raspi4'"),
        (["--name", "Bad Name!"], "is not valid"),
        (["--name", "ok", "--kind", "toaster"], "unknown device kind"),
        (["--name", "ok", "--metric", "power"], "unknown metric"),
        (["--name", "ok", "--metric", "energy"], "no 'energy_mj' column"),
        (["--name", "ok", "--space", "fbnet"], "adaptation exists for nb201 only"),
        (["--name", "ok", "--space", "nosuchspace"], "unknown search space"),
        (["--name", "ok", "--seed", "-1"], "-1"),
    ]:
        assert main(["predictors", "adapt", "--measurements", good, *args]) == 2
        assert message in _one_error(capsys), args
    assert main(["predictors", "adapt", "--measurements", str(tmp_path / "absent.csv"), "--name", "x"]) == 2
    assert "does not exist" in _one_error(capsys)
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81arch")
    assert main(["predictors", "adapt", "--measurements", str(binary), "--name", "x"]) == 2
    assert "cannot read" in _one_error(capsys)


def test_predict_bad_arguments(tmp_path, capsys):
    out = str(tmp_path / "p.csv")
    for args, message in [
        (["--device", "nowhere"], "unknown device"),
        (["--device", "raspi4", "--metric", "energy"], "has no energy data"),
        (["--device", "raspi4", "--metric", "power"], "unknown metric"),
        (["--device", "raspi4", "--archs", "0-99999"], "out of range"),
        (["--device", "raspi4", "--archs", "sample:0"], "N >= 1"),
        (["--device", "raspi4", "--archs", "x"], "architecture spec item 1"),
        (["--device", "raspi4", "--space", "nope"], "nope"),
    ]:
        assert main(["predictors", "predict", *args, "--out", out]) == 2
        assert message in _one_error(capsys), args
    for bad_out in ("/proc/nope/p.csv", str(tmp_path)):
        assert main(["predictors", "predict", "--device", "raspi4", "--out", bad_out]) == 2
        _one_error(capsys)
    assert not (tmp_path / "p.csv").exists()


def test_local_device_profiles_adapts_and_checks_the_front(tmp_path, monkeypatch):
    from hwnas.devices import local

    monkeypatch.setattr(local, "DEFAULT_SAMPLES", 6)
    monkeypatch.setattr(local, "PROFILE_OPTIONS", {"repeats": 5, "warmup": 1})
    res = hwnas.pareto("local", latency_ms=50, evaluations=40, out=tmp_path / "run")
    assert get_device("local").coverage[0].archs == 6 and local.profile_path().is_file()
    check = res.run["local_check"]
    assert check["n"] == min(len(res.front), 30) and res.paths["front_measured"].is_file()
    timed = pd.read_csv(res.paths["front_measured"])
    assert list(timed.columns) == ["arch_index", "predicted_ms", "measured_ms", "ratio"]
    assert (timed["measured_ms"] > 0).all()
    with pytest.raises(HwnasUsageError, match="unknown search space|nb201"):
        hwnas.pareto("local", latency_ms=5, space="fbnet", out=tmp_path / "fb")
