"""`hwnas devices`: the compact 80-column view, --wide, and --format csv|json."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from hwnas.commands.devices import devices_cmd, nb201_coverage
from hwnas.devices import _tables, all_devices, get_device
from hwnas.devices.energy import ENERGY_DEVICES
from hwnas.predictors.pretrained import available_pretrained


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path, monkeypatch):
    """Never read the real ~/.local/share/hwnas (a registered pickle would change the counts)."""
    monkeypatch.setenv("HWNAS_HOME", str(tmp_path / "hwnas-home"))
    _tables.clear_cache()
    yield
    _tables.clear_cache()


def _invoke(args: list[str], columns: int = 80):
    result = CliRunner().invoke(devices_cmd, args, env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    return result.output


def test_compact_view_fits_80_columns_and_names_every_device():
    out = _invoke([])
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert len(lines) < 100  # the full table was 269 lines at 80 columns
    first_words = {line.split()[0] for line in lines if line.strip()}
    for d in all_devices():
        assert d.name in first_words, f"{d.name} is not a row of its own, unabbreviated"
    assert "…" not in out
    for text in ("latency", "energy", "m measured", "p predicted", "e estimated", "--wide", "--format json"):
        assert text in out


def test_compact_view_rows_say_measured_predicted_estimated():
    rows = {line.split()[0]: line for line in _invoke([]).splitlines() if line.strip()}
    assert "1,999 m + p" in rows["jetson-tx2"] and "all e" in rows["jetson-tx2"]  # NB201 energy is estimated
    assert "all m" in rows["raspi4"] and "all e" in rows["eyeriss"] and "all e" in rows["fpga"]
    assert "1,740 m + p" in rows["edgetpu"]  # 259 failed to compile: neither measured nor predicted
    assert "none" in rows["local"]
    assert "live profiling" in _invoke([]) or get_device("local").coverage_of("nb201")


def test_wide_terminals_get_aliases():
    out = _invoke([], columns=250)
    for text in ("edgegpu", "coral", "latency (ms)", "energy (mJ)"):
        assert text in out


def test_wide_is_the_full_table():
    out = _invoke(["--wide"], columns=250)
    for text in ("aliases", "batch", "coverage (archs)", "edgegpu", "HW-NAS-Bench (ICLR 2021)", "fbnet: LUT"):
        assert text in out
    for d in all_devices():
        assert d.name in out


def test_csv_has_every_field():
    rows = list(csv.DictReader(io.StringIO(_invoke(["--format", "csv"]))))
    assert [r["name"] for r in rows] == [d.name for d in all_devices()]
    tx2 = next(r for r in rows if r["name"] == "jetson-tx2")
    assert "edgegpu" in tx2["aliases"].split(";") and tx2["notes"] and "OneProxy" in tx2["coverage_detail"]
    assert tx2["nb201_energy_estimated"] == "15625" and tx2["nb201_latency_measured"] == "1999"
    raspi4 = next(r for r in rows if r["name"] == "raspi4")
    assert raspi4["nb201_energy_summary"] == ""  # no energy metric


def test_json_has_every_field_and_matches_the_registry():
    records = json.loads(_invoke(["--format", "json"]))
    assert [r["name"] for r in records] == [d.name for d in all_devices()]
    pretrained = set(available_pretrained("nb201"))
    for r in records:
        dev = get_device(r["name"])
        assert r["aliases"] == list(dev.aliases) and r["notes"] == dev.notes and r["kind"] == dev.kind
        assert [c["space"] for c in r["coverage"]] == [c.space for c in dev.coverage]
        assert set(r["nb201"]) == set(dev.metric_names)
        for metric, c in r["nb201"].items():
            assert c["measured"] + c["failed"] + c["predicted"] + c["estimated"] + c["none"] == 15_625
            if c["predicted"]:
                assert (r["name"], metric) in pretrained and "predictor" in c
            if c["estimated"]:
                assert metric == "energy" and r["name"] in ENERGY_DEVICES
    local = next(r for r in records if r["name"] == "local")
    assert local["nb201"]["latency"]["usable"] is False


def test_kind_filter_applies_to_every_format():
    records = json.loads(_invoke(["--kind", "phone", "--format", "json"]))
    assert records and all(r["kind"] == "phone" for r in records)
    assert "pixel3" in _invoke(["--kind", "phone"]) and "titan-rtx-b1" not in _invoke(["--kind", "phone"])


@pytest.mark.parametrize("device, metric", [("edgetpu", "latency"), ("eyeriss", "energy"), ("raspi4", "latency")])
def test_coverage_agrees_with_the_cost_service(device, metric):
    from hwnas.devices.costs import cost_table

    counts = cost_table("nb201", device, metric).counts()
    cov = nb201_coverage(get_device(device))[metric]
    assert cov["measured"] + cov["failed"] == counts["measured"]  # failures are measured (+inf)
    assert cov["predicted"] == counts["predicted"] and cov["estimated"] == counts["estimated"]
