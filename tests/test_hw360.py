"""`hwnas data add-hw360`: HW-NAS-Bench-360's parquet reader and registration.

The parquet is written by the test in the upstream long layout (arch_idx, rep_arch_idx, device,
framework, task, lat_ms_median, lat_ms_var, energy_mj, accuracy, status) from the real Pi 5
measurements in ``shared/data/pi5``; bad files are written by the test too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hwnas.cli import main
from hwnas.devices import measured_column, measured_cost
from hwnas.devices.costs import cost_table
from hwnas.devices.hw360 import read_hw360, register_hw360
from hwnas.errors import HwnasUsageError

pytest.importorskip("pyarrow")

N_ARCHS = 300


pytestmark = pytest.mark.usefixtures("isolated_home")


def _upstream_rows(pi5: pd.DataFrame, n: int = N_ARCHS) -> pd.DataFrame:
    """The first ``n`` NB201 indices of the Pi 5 table in HW-NAS-Bench-360's long layout."""
    part = pi5.iloc[:n]
    frames = []
    for runtime in ("litert", "torchmobile"):
        frames.append(pd.DataFrame({
            "arch_idx": part["nb201_index"].astype("int64"), "rep_arch_idx": part["measured_as_index"].astype("int64"),
            "device": "pi5", "framework": runtime, "task": "cifar100",
            "lat_ms_median": part[f"{runtime}_latency_ms"], "lat_ms_var": part[f"{runtime}_latency_var_ms2"],
            "energy_mj": part[f"{runtime}_energy_mj"], "accuracy": np.nan, "status": "ok",
        }))
    return pd.concat(frames, ignore_index=True)


def _write(frame: pd.DataFrame, path) -> str:
    frame.to_parquet(path, index=False)
    return str(path)


def test_reads_every_device_runtime_and_task(pi5, tmp_path):
    rows = _upstream_rows(pi5)
    unknown = rows.iloc[:3].copy()
    unknown["device"] = "jetson"
    unknown[["lat_ms_median", "energy_mj"]] = np.nan
    data = read_hw360(_write(pd.concat([rows, unknown]), tmp_path / "dataset.parquet"))
    found = {(d, m, ds): v for d, m, ds, v in data["columns"]}
    assert set(found) == {(f"pi5-{r}", m, "cifar100") for r in ("litert", "torchmobile") for m in ("latency", "energy")}
    lat = found[("pi5-litert", "latency", "cifar100")]
    assert np.isfinite(lat).sum() == N_ARCHS and np.isnan(lat[N_ARCHS:]).all()
    np.testing.assert_allclose(lat[:N_ARCHS], pi5["litert_latency_ms"].to_numpy()[:N_ARCHS])
    assert any(item.startswith("jetson/litert/cifar100") for item in data["ignored"])


def test_registered_values_read_as_measured(pi5, tmp_path, capsys):
    path = _write(_upstream_rows(pi5), tmp_path / "dataset.parquet")
    before = cost_table("nb201", "pi5-torchmobile", "energy")
    assert before.counts()["measured"] == 0 and before.counts()["predicted"] == 15_625
    assert main(["data", "add-hw360", path]) == 0
    out = capsys.readouterr().out
    assert "registered dataset.parquet" in out and "pi5-litert (cifar100): latency 300, energy 300" in out
    cost = measured_cost("nb201", 17, "pi5-torchmobile", "energy")
    assert cost.source == "measured" and cost.unit == "mJ" and cost.dataset == "cifar100"
    assert cost.value == pytest.approx(float(pi5.loc[17, "torchmobile_energy_mj"]))
    assert "HW-NAS-Bench-360" in cost.provenance
    assert measured_cost("nb201", 17, "pi5-torchmobile", "energy", dataset="cifar10") is None  # other input
    assert np.isfinite(measured_column("nb201", "rpi5", "latency")).sum() == N_ARCHS  # alias of pi5-litert
    table = cost_table("nb201", "pi5-torchmobile", "energy")
    assert table.counts() == {"measured": N_ARCHS, "predicted": 15_625 - N_ARCHS, "estimated": 0}
    assert table.measured_input == "cifar100"
    # registering again replaces the earlier registration
    register_hw360(_write(_upstream_rows(pi5, 100), tmp_path / "smaller.parquet"))
    assert np.isfinite(measured_column("nb201", "pi5-litert", "energy")).sum() == 100


def _bad(pi5, tmp_path, change) -> str:
    rows = _upstream_rows(pi5, 20)
    rows = change(rows)
    return _write(rows, tmp_path / "bad.parquet")


@pytest.mark.parametrize("change, message", [
    (lambda r: r.drop(columns=["energy_mj"]), "lacks column(s) energy_mj"),
    (lambda r: r.assign(arch_idx=r["arch_idx"] + 15_620), "is not a NAS-Bench-201 index"),
    (lambda r: r.assign(lat_ms_median=-r["lat_ms_median"]), "is not a cost"),
    (lambda r: r.assign(energy_mj=np.inf), "is not a cost"),
    (lambda r: r.assign(arch_idx=r["arch_idx"].astype(str) + "x"), "arch_idx is not a number"),
    (lambda r: pd.concat([r, r.iloc[:1].assign(lat_ms_median=r["lat_ms_median"].iloc[0] * 2)]),
     "has two different lat_ms_median values"),
    (lambda r: r.assign(device="jetson"), "holds no usable"),
    (lambda r: r.iloc[:0], "has no rows"),
])
def test_bad_parquet_is_one_line_exit_2(pi5, tmp_path, capsys, change, message):
    path = _bad(pi5, tmp_path, change)
    assert main(["data", "add-hw360", path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hwnas: error:") and message in err, err
    assert not (tmp_path / "hwnas-home" / "hw360").exists()


def test_foreign_and_missing_files(tmp_path, capsys):
    text = tmp_path / "dataset.parquet"
    text.write_text("arch_idx,device\n0,pi5\n")
    assert main(["data", "add-hw360", str(text)]) == 2
    assert "is not a readable parquet file" in capsys.readouterr().err
    truncated = tmp_path / "cut.parquet"
    pd.DataFrame({"arch_idx": [0]}).to_parquet(truncated)
    truncated.write_bytes(truncated.read_bytes()[:-20])
    assert main(["data", "add-hw360", str(truncated)]) == 2
    assert capsys.readouterr().err.startswith("hwnas: error:")
    assert main(["data", "add-hw360", str(tmp_path / "absent.parquet")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(HwnasUsageError, match="lacks column"):
        read_hw360(_write(pd.DataFrame({"arch_idx": [0], "device": ["pi5"]}), tmp_path / "foreign.parquet"))


def test_energy_predictors_train_on_registered_measurements(pi5, tmp_path):
    """Every predictor model trains on energy as on latency; the Pi 5's input (CIFAR-100) is the
    default, and the split is over isomorphism classes (members carry the same measurement)."""
    from hwnas.predictors import train_predictor

    register_hw360(_write(_upstream_rows(pi5), tmp_path / "dataset.parquet"))
    result = train_predictor("pi5-litert", "energy", "ridge", train_size=100, seed=0)
    assert result.dataset == "cifar100" and result.unit == "mJ"
    reps = pi5["measured_as_index"].to_numpy()[:N_ARCHS] == pi5["nb201_index"].to_numpy()[:N_ARCHS]
    assert result.train_size + result.test_size == int(reps.sum())
    assert result.metrics.spearman > 0.85  # 100 training archs: 0.89 (a broken fit does not get here)
