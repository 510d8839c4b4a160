"""Device registry, shipped measured tables, FBNet block LUT and the HW-NAS-Bench pickle reader.

Tests that compare with the measurement data read it from HWNAS_DATA_DIR and skip where it is
absent; everything else runs on the shipped tables alone. Every number below is taken from the
data files or from HW-NAS-Bench's published README / example notebook.
"""

from __future__ import annotations

import csv
import json
import math
import os
import pickle
from importlib import resources

import numpy as np
import pytest
from click.testing import CliRunner

from hwnas.data import find_data_dir
from hwnas.devices import (
    DEVICES,
    KINDS,
    METRIC_UNITS,
    Cost,
    all_devices,
    failed_archs,
    fbnet_archs,
    fbnet_cost,
    fbnet_costs,
    get_device,
    measured_column,
    measured_cost,
    read_hwnasbench,
    register_hwnasbench,
)
from hwnas.devices import _tables
from hwnas.devices.fbnet import lut_provenance
from hwnas.errors import HwnasUsageError


def _data(relative: str):
    root = find_data_dir()
    if root is None or not (root / relative).is_file():
        pytest.skip(f"measurement data {relative} not found (set HWNAS_DATA_DIR or put shared/data beside the repo)")
    return root / relative


def _read(relative: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(_data(relative), newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    return list(reader.fieldnames or []), rows


@pytest.fixture(autouse=True)
def _isolated_user_data(tmp_path, monkeypatch):
    """Never read or write the real ~/.local/share/hwnas."""
    monkeypatch.setenv("HWNAS_HOME", str(tmp_path / "hwnas-home"))
    _tables.clear_cache()
    yield
    _tables.clear_cache()


# --- registry -------------------------------------------------------------------------------------
def test_hwnasbench_six_with_aliases():
    assert get_device("edgegpu").name == "jetson-tx2"
    assert get_device("coral").name == "edgetpu"
    assert get_device("Jetson-TX2").name == "jetson-tx2"  # case-insensitive
    for name in ("jetson-tx2", "raspi4", "pixel3", "edgetpu", "eyeriss", "fpga"):
        dev = get_device(name)
        assert dev.source.startswith("HW-NAS-Bench") and dev.batch_size == 1
    assert get_device("eyeriss").metrics == (("latency", "ms"), ("energy", "mJ"))
    assert get_device("raspi4").metrics == (("latency", "ms"),)
    local = get_device("local")
    assert local.coverage == () and local.coverage_text() == "none"


def test_records_are_consistent():
    devices = all_devices()
    assert len(devices) == len(DEVICES.names()) >= 45
    for dev in devices:
        assert dev.kind in KINDS
        assert all(METRIC_UNITS[m] == u for m, u in dev.metrics)
        assert all(c.metric in dev.metric_names for c in dev.coverage)
        for alias in dev.aliases:
            assert get_device(alias) is dev
    with pytest.raises(Exception):
        devices[0].name = "x"  # frozen


def test_unknown_device_suggests_close_matches():
    with pytest.raises(HwnasUsageError) as err:
        get_device("raspi6")
    msg = str(err.value)
    assert "\n" not in msg and "did you mean" in msg and "raspi4" in msg
    assert msg.endswith(f"({len(DEVICES.names())} known: see `hwnas devices`)")  # points to its list
    with pytest.raises(HwnasUsageError, match="jetson-tx2"):
        measured_cost("nb201", 0, "jetson_tx2", "latency")


def test_metric_errors_name_what_exists():
    with pytest.raises(HwnasUsageError) as err:
        measured_cost("nb201", 0, "raspi4", "energy")
    assert "latency (ms)" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(HwnasUsageError, match="latency, energy"):
        measured_cost("nb201", 0, "raspi4", "power")
    with pytest.raises(HwnasUsageError, match="nb201, fbnet"):
        measured_cost("nb301", 0, "raspi4", "latency")


def test_every_device_in_the_data_appears():
    files = {
        "nb201/latency_help_27dev_ms.csv": 2,
        "nb201/latency_oneproxy_1999_18dev_ms.csv": 3,
        "fbnet/latency_help_5000_27dev_ms.csv": 3,
        "ofa/latency_help_5000_12dev_ms.csv": 5,
    }
    found = set()
    for relative, first in files.items():
        header, _ = _read_header(relative)
        for column in header[first:]:
            found.add(get_device(column).name)  # raises if a data column has no device
    for key in ("edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga"):  # HW-NAS-Bench's own names
        found.add(get_device(key).name)
    found.add("i7-7820x")  # nb201/latency_eagle_i7_7820x_ms.csv
    found |= {"pi5-litert", "pi5-torchmobile"}  # pi5/pi5_litert_torchmobile_cifar100.csv
    found.add(get_device("xeon6130").name)  # mbv2/tfnas_lut_cpu_xeon6130_bs1_ms.json (titan-rtx-b32: HELP's too)
    hw360_only = {"pi5-onnx", "hw360-pixel-litert", "hw360-pixel-onnx", "hw360-pixel-torchmobile"}  # add-hw360
    assert found == set(DEVICES.names()) - {"local"} - hw360_only


def _read_header(relative: str) -> tuple[list[str], None]:
    with open(_data(relative), newline="") as fh:
        return next(csv.reader(fh)), None


def test_coverage_matches_the_shipped_tables():
    n_fbnet = len(fbnet_archs())
    for dev in all_devices():
        for cov in dev.coverage:
            if cov.space in ("ofa", "mbv2"):  # mbv2: TF-NAS block LUT, tests/test_mbv2_space.py
                continue
            col = measured_column(cov.space, dev, cov.metric)
            if cov.archs is None:  # block LUT: every sampled FBNet arch is priced
                assert np.isfinite(col).sum() == n_fbnet, (dev.name, cov)
            else:
                assert np.isfinite(col).sum() == cov.archs, (dev.name, cov)


# --- shipped NB201 tables -------------------------------------------------------------------------
def test_shipped_tables_are_npz_with_provenance_per_column():
    pkg = resources.files("hwnas._data")
    for name in ("nb201_measured", "fbnet_measured", "fbnet_lut"):
        with pkg.joinpath(f"{name}.npz").open("rb") as fh, np.load(fh, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(pkg.joinpath(f"{name}.json").read_text())
        assert meta["built_by"] == "scripts/build_measured_tables.py"
        if name == "fbnet_lut":
            assert arrays["lut_values"].dtype == np.float64
            continue
        assert arrays["values"].dtype == np.float32
        assert len(meta["columns"]) == arrays["values"].shape[1]
        for rec, dev, metric in zip(meta["columns"], arrays["col_device"], arrays["col_metric"]):
            assert rec["device"] == dev and rec["metric"] == metric
            assert rec["unit"] == METRIC_UNITS[metric] and "batch_size" in rec and "caveats" in rec
            assert rec["source_file"] and rec["upstream"]["repo"] and rec["upstream"]["license"]
            assert len(rec["upstream"]["commit"]) == 40
    assert pkg.joinpath("nb201_measured.npz").stat().st_size < 4e6


def test_shipped_tables_work_without_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("HWNAS_DATA_DIR", str(tmp_path / "nowhere"))
    _tables.clear_cache()
    cost = measured_cost("nb201", 0, "raspi4", "latency")
    assert isinstance(cost, Cost) and cost.source == "measured" and cost.unit == "ms"
    assert "latency_help_27dev_ms.csv" in cost.provenance and "HayeonLee/HELP" in cost.provenance
    assert measured_column("nb201", "titan-rtx-b256", "latency").shape == (15_625,)


def test_published_arch0_values():
    """HW-NAS-Bench README, arch 0 on CIFAR-10 (also in shared/data/README.md)."""
    published = {("raspi4", "latency"): 10.482, ("pixel3", "latency"): 3.606, ("eyeriss", "latency"): 3.646,
                 ("fpga", "latency"): 2.573, ("jetson-tx2", "latency"): 5.807, ("edgetpu", "latency"): 0.957,
                 ("jetson-tx2", "energy"): 24.227, ("eyeriss", "energy"): 0.687, ("fpga", "energy"): 18.011}
    in_table = 0
    for (device, metric), value in published.items():
        cost = measured_cost("nb201", 0, device, metric)
        if cost is not None:  # the shipped table holds the four HELP-shipped latencies
            assert cost.value == pytest.approx(value, abs=5e-4) and cost.dataset == "cifar10"
            in_table += 1
    assert in_table >= 4
    for device, metric in (("jetson-tx2", "energy"), ("eyeriss", "energy"), ("fpga", "energy")):
        assert measured_cost("nb201", 0, device, metric) is None  # no NB201 energy is shipped


def test_arch_forms_and_datasets():
    from hwnas.spaces import get_space

    space = get_space("nb201")
    arch = space.arch_at(6111)
    by_index = measured_cost("nb201", 6111, "pixel3", "latency")
    assert measured_cost("nb201", arch, "pixel3", "latency") == by_index
    assert measured_cost("nb201", space.to_str(arch), "pixel3", "latency") == by_index
    assert measured_cost("nb201", list(arch.genotype), "pixel3", "latency") == by_index
    assert measured_cost("nb201", 6111, "pixel3", "latency", dataset="cifar10") == by_index
    # shipped HW-NAS-Bench numbers are for CIFAR-10 only; HELP's own devices do not state their input
    assert measured_cost("nb201", 6111, "pixel3", "latency", dataset="cifar100") is None
    assert measured_cost("nb201", 6111, "xeon-gold-6226", "latency") is not None
    assert measured_cost("nb201", 6111, "xeon-gold-6226", "latency", dataset="cifar10") is None


def test_measured_lookups_equal_the_csv():
    header, rows = _read("nb201/latency_help_27dev_ms.csv")
    for index in (0, 1, 6111, 15624):
        for column in header[2:]:
            cost = measured_cost("nb201", index, column, "latency")
            assert cost.value == pytest.approx(float(rows[index][column]), rel=1e-6), (index, column)
            assert cost.device == get_device(column).name
    header, rows = _read("nb201/latency_oneproxy_1999_18dev_ms.csv")
    for row in rows[:6]:
        index = int(row["nb201_index"])
        for column in header[3:]:
            cost = measured_cost("nb201", index, column, "latency")
            if float(row[column]) == -1.0:  # Edge TPU compile failure: not a cost
                assert column == "rice_edgetpu" and cost is None
                assert index in failed_archs("nb201", "edgetpu")
            else:
                assert cost.value == pytest.approx(float(row[column]), rel=1e-6), (index, column)
    _, rows = _read("nb201/latency_eagle_i7_7820x_ms.csv")
    have = {int(r["nb201_index"]) for r in rows}
    for row in rows[:3]:
        assert measured_cost("nb201", int(row["nb201_index"]), "eagle_i7").value == pytest.approx(
            float(row["latency_ms"]), rel=1e-6)
    missing = next(i for i in range(15_625) if i not in have)
    assert measured_cost("nb201", missing, "i7-7820x", "latency") is None


def test_edgetpu_failures_are_never_costs():
    failed = failed_archs("nb201", "coral")
    assert len(failed) == 259
    col = measured_column("nb201", "edgetpu", "latency")
    assert np.all(np.isnan(col[failed])) and np.nanmin(col) > 0


# --- FBNet ----------------------------------------------------------------------------------------
def test_fbnet_block_lut_reproduces_hwnasbench_exactly():
    header, rows = _read("fbnet/hwnasbench_fbnet_5000_metrics.csv")
    ops = np.array([[int(v) for v in r["op_idx_list"].split()] for r in rows])
    assert np.array_equal(ops, fbnet_archs())
    checked = set()
    for column in header[2:]:  # e.g. cifar100_edgegpu_energy: 2 datasets x 5 devices x latency/energy
        dataset, device, metric = column.split("_")
        want = np.array([float(r[column]) for r in rows])
        np.testing.assert_allclose(fbnet_costs(ops, device, metric, dataset), want, rtol=1e-6, atol=0)
        checked.add((get_device(device).name, metric))
    assert {d for d, _ in checked} == {"jetson-tx2", "raspi4", "pixel3", "eyeriss", "fpga"} and len(checked) == 8
    assert fbnet_cost(list(ops[0]), "eyeriss", "energy", "imagenet") == pytest.approx(
        float(rows[0]["ImageNet_eyeriss_energy"]), rel=1e-12)


def test_fbnet_published_example_and_errors():
    # HW-NAS-Bench example.ipynb values for arch [0]*22, as recorded in the data provenance notes
    assert fbnet_cost([0] * 22, "edgegpu", "latency", "cifar100") == pytest.approx(15.804523, abs=1e-6)
    assert fbnet_cost([0] * 22, "jetson-tx2", "energy", "cifar100") == pytest.approx(86.980959, abs=1e-6)
    assert fbnet_cost([0] * 22, "raspi4", "latency", "ImageNet") == pytest.approx(57.6565, abs=1e-4)
    cost = measured_cost("fbnet", [0] * 22, "fpga", "energy")
    assert cost.unit == "mJ" and cost.dataset == "cifar100" and "block LUT" in cost.provenance
    with pytest.raises(HwnasUsageError, match="22 integer op ids"):
        fbnet_cost([0] * 21, "raspi4")
    with pytest.raises(HwnasUsageError, match="0..8"):
        fbnet_cost([9] + [0] * 21, "raspi4")
    with pytest.raises(HwnasUsageError, match="covers: jetson-tx2"):
        fbnet_cost([0] * 22, "xeon-gold-6226")
    with pytest.raises(HwnasUsageError, match="latency \\(ms\\)"):
        fbnet_cost([0] * 22, "pixel3", "energy")
    with pytest.raises(HwnasUsageError, match="cifar100, imagenet"):
        fbnet_cost([0] * 22, "pixel3", "latency", "cifar10")


def test_fbnet_help_devices():
    header, rows = _read("fbnet/latency_help_5000_27dev_ms.csv")
    for row in rows[:3]:
        ops = [int(v) for v in row["op_idx_list"].split()]
        for column in ("titan_rtx_64", "gold_6240", "samsung_s7", "pixel3", "raspi4"):
            assert measured_cost("fbnet", ops, column, "latency").value == pytest.approx(float(row[column]), rel=1e-6)
    assert [8] * 22 not in fbnet_archs().tolist()
    assert measured_cost("fbnet", [8] * 22, "titan_rtx_64", "latency") is None  # not in HELP's sample


# --- HW-NAS-Bench pickle ----------------------------------------------------------------------------
# Published values (HW-NAS-Bench README / example.ipynb, `query_by_index(idx, dataset)`), archs 0..2.
PUBLISHED = {
    "cifar10": [
        {"edgegpu_latency": 5.807418537139893, "edgegpu_energy": 24.226614330768584, "raspi4_latency": 10.481976820010459,
         "edgetpu_latency": 0.9571811309997429, "pixel3_latency": 3.6058499999999998, "eyeriss_latency": 3.645620000000001,
         "eyeriss_energy": 0.6872827644999999, "eyeriss_arithmetic_intensity": 6.289297634665844,
         "fpga_latency": 2.57296, "fpga_energy": 18.01072},
        {"edgegpu_latency": 6.547689437866211, "edgegpu_energy": 29.997147878011067, "raspi4_latency": 54.77739761998237,
         "edgetpu_latency": 1.4389883610001561, "pixel3_latency": 17.2381, "eyeriss_latency": 7.577780000000003,
         "eyeriss_energy": 1.5644240284999997, "eyeriss_arithmetic_intensity": 20.86006697108513,
         "fpga_latency": 5.31536, "fpga_energy": 37.20752},
        {"edgegpu_latency": 6.509256362915039, "edgegpu_energy": 29.40231099128723, "raspi4_latency": 50.40940375998616,
         "edgetpu_latency": 2.0300670009992245, "pixel3_latency": 15.723, "eyeriss_latency": 10.526900000000001,
         "eyeriss_energy": 2.0846801885, "eyeriss_arithmetic_intensity": 9.855405336239704,
         "fpga_latency": 5.28656, "fpga_energy": 37.005919999999996},
    ],
    "cifar100": [
        {"edgegpu_latency": 5.866079330444336, "edgegpu_energy": 24.471327606836955, "raspi4_latency": 10.432981719932286,
         "edgetpu_latency": 0.9669485199992778, "pixel3_latency": 5.04007, "eyeriss_latency": 3.648640000000001,
         "eyeriss_energy": 0.6874206219999999, "eyeriss_arithmetic_intensity": 6.267465213714637,
         "fpga_latency": 2.57296, "fpga_energy": 18.01072},
        {"edgegpu_latency": 6.49538516998291, "edgegpu_energy": 28.763730661074316, "raspi4_latency": 54.55359055995359,
         "edgetpu_latency": 1.4470767620005063, "pixel3_latency": 23.4768, "eyeriss_latency": 7.5808000000000035,
         "eyeriss_energy": 1.5645618859999997, "eyeriss_arithmetic_intensity": 20.824541103340195,
         "fpga_latency": 5.31536, "fpga_energy": 37.20752},
        {"edgegpu_latency": 6.567897796630859, "edgegpu_energy": 29.338799457550046, "raspi4_latency": 49.32873783996911,
         "edgetpu_latency": 2.579378587000974, "pixel3_latency": 21.7894, "eyeriss_latency": 10.52992,
         "eyeriss_energy": 2.084818046, "eyeriss_arithmetic_intensity": 9.84428376395304,
         "fpga_latency": 5.28656, "fpga_energy": 37.005919999999996},
    ],
    "ImageNet16-120": [
        {"edgegpu_latency": 5.828042030334473, "edgegpu_energy": 24.238826804161075, "raspi4_latency": 2.973176879895618,
         "edgetpu_latency": 0.7929624850075925, "pixel3_latency": 1.33656, "eyeriss_latency": 0.9145600000000003,
         "eyeriss_energy": 0.17677097200000003, "eyeriss_arithmetic_intensity": 2.2148960216998193,
         "fpga_latency": 0.64912, "fpga_energy": 4.54384},
        {"edgegpu_latency": 6.373348236083984, "edgegpu_energy": 27.730438175201414, "raspi4_latency": 8.764811480068602,
         "edgetpu_latency": 1.0751235479983734, "pixel3_latency": 6.59465, "eyeriss_latency": 1.8976000000000006,
         "eyeriss_energy": 0.4007401879999999, "eyeriss_arithmetic_intensity": 6.2913928924685605,
         "fpga_latency": 1.8784, "fpga_energy": 13.148800000000001},
        {"edgegpu_latency": 6.557350158691406, "edgegpu_energy": 28.281851234436036, "raspi4_latency": 8.361578920012107,
         "edgetpu_latency": 1.4812845270062098, "pixel3_latency": 5.85365, "eyeriss_latency": 2.63488,
         "eyeriss_energy": 0.5342876919999999, "eyeriss_arithmetic_intensity": 2.9733837772397096,
         "fpga_latency": 1.4208, "fpga_energy": 9.9456},
    ],
}
CLASSES = {"cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}


def _hwnasbench_layout(as_numpy: bool) -> dict:
    """HW-NAS-Bench's layout: HW_metrics[space][dataset][metric][arch_index] (NB201) and
    HW_metrics['fbnet'][metric][block] (the shipped copy of its FBNet table)."""
    from hwnas.spaces import get_space

    space = get_space("nb201")
    nb201 = {}
    for ds, archs in PUBLISHED.items():
        metrics = {m: [a[m] for a in archs] for m in archs[0]}
        if as_numpy:
            metrics = {m: np.array(v) for m, v in metrics.items()}
        metrics["config"] = [{"name": "infer.tiny", "C": 16, "N": 5, "arch_str": space.to_str(space.arch_at(i)),
                              "num_classes": CLASSES[ds]} for i in range(len(archs))]
        nb201[ds] = metrics
    arrays, _ = _tables.shipped(_tables.FBNET_LUT)
    fbnet = {str(m): {str(k): float(v) for k, v in zip(arrays["lut_keys"], arrays["lut_values"][:, j])}
             for j, m in enumerate(arrays["lut_metrics"])}
    fbnet.update({"devices": ["edgegpu", "raspi4", "pixel3", "eyeriss", "fpga"], "architecture_length": 22})
    return {"nasbench201": nb201, "fbnet": fbnet}


@pytest.mark.parametrize("as_numpy,protocol", [(False, 4), (True, 2), (True, 4)])
def test_hwnasbench_reader_on_a_self_written_pickle(tmp_path, as_numpy, protocol):
    path = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    path.write_bytes(pickle.dumps(_hwnasbench_layout(as_numpy), protocol=protocol))
    data = read_hwnasbench(path)
    assert sorted(data.nb201) == ["cifar10", "cifar100", "imagenet16-120"] and data.n_archs == 3
    assert data.nb201["cifar100"]["raspi4_latency"][1] == 54.55359055995359
    assert len(data.fbnet_lut) == 8 and "nasbench201/cifar10/config" in data.ignored


def test_registered_hwnasbench_takes_precedence(tmp_path):
    from hwnas.commands.data import data_group
    from hwnas.commands.devices import devices_cmd

    path = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    path.write_bytes(pickle.dumps(_hwnasbench_layout(False)))
    shipped_raspi4_5 = measured_cost("nb201", 5, "raspi4", "latency")
    shipped_tx2 = np.isfinite(measured_column("nb201", "jetson-tx2", "latency"))
    assert measured_cost("nb201", 0, "jetson-tx2", "energy") is None
    result = CliRunner().invoke(data_group, ["add-hwnasbench", str(path)])
    assert result.exit_code == 0, result.output
    assert "registered HW-NAS-Bench-v1_0.pickle" in result.output
    home = tmp_path / "hwnas-home" / "hwnasbench"
    assert sorted(p.name for p in home.iterdir()) == ["fbnet_lut.npz", "nb201.npz", "provenance.json"]

    energy = measured_cost("nb201", 0, "jetson-tx2", "energy")
    assert energy.value == 24.226614330768584 and energy.unit == "mJ" and energy.source == "measured"
    assert "HW-NAS-Bench-v1_0.pickle" in energy.provenance and energy.dataset == "cifar10"
    assert measured_cost("nb201", 1, "raspi4", "latency", dataset="cifar100").value == 54.55359055995359
    assert measured_cost("nb201", 2, "edgetpu", "latency", dataset="ImageNet16-120").value == 1.4812845270062098
    assert measured_cost("nb201", 0, "fpga", "energy").value == 18.01072
    assert "pickle" in measured_cost("nb201", 0, "raspi4", "latency").provenance  # pickle first
    assert measured_cost("nb201", 5, "raspi4", "latency") == shipped_raspi4_5  # not in the pickle: shipped
    assert measured_cost("nb201", 5, "eyeriss", "energy") is None
    col = measured_column("nb201", "jetson-tx2", "latency")
    assert col[0] == 5.807418537139893
    assert np.isfinite(col).sum() == 1_999 + sum(not shipped_tx2[i] for i in range(3))
    assert "registered" in lut_provenance()
    assert fbnet_cost([0] * 22, "edgegpu", "energy") == pytest.approx(86.980959, abs=1e-6)
    listing = CliRunner().invoke(devices_cmd, [])
    assert listing.exit_code == 0 and "HW-NAS-Bench pickle registered" in listing.output


def test_compile_failures_in_the_pickle_are_not_costs(tmp_path):
    layout = _hwnasbench_layout(False)
    layout["nasbench201"]["cifar10"]["edgetpu_latency"][2] = -1.0  # HW-NAS-Bench's marker of a failed compile
    path = tmp_path / "hw.pickle"
    path.write_bytes(pickle.dumps(layout))
    register_hwnasbench(path)
    assert measured_cost("nb201", 2, "edgetpu", "latency", dataset="cifar10") is None
    assert 2 in failed_archs("nb201", "edgetpu")


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    layout = _hwnasbench_layout(False)
    layout["nasbench201"]["cifar10"]["raspi4_latency"] = _Evil(str(marker))
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps(layout))
    with pytest.raises(HwnasUsageError) as err:
        read_hwnasbench(path)
    assert "refusing to load" in str(err.value) and "system" in str(err.value) and "\n" not in str(err.value)
    assert not marker.exists()
    with pytest.raises(HwnasUsageError, match="refusing"):
        register_hwnasbench(path)
    assert not (tmp_path / "hwnas-home" / "hwnasbench").exists() and not marker.exists()

    for payload in (pickle.dumps({"nasbench201": eval}),  # builtins.eval
                    pickle.dumps({"fbnet": np.array([_Evil(str(marker))], dtype=object)})):
        path.write_bytes(payload)
        with pytest.raises(HwnasUsageError, match="refusing"):
            read_hwnasbench(path)
    assert not marker.exists()


def test_not_a_hwnasbench_pickle(tmp_path):
    path = tmp_path / "other.pickle"
    path.write_bytes(pickle.dumps([1.0, 2.0]))
    with pytest.raises(HwnasUsageError, match="not a HW-NAS-Bench pickle"):
        read_hwnasbench(path)
    path.write_bytes(pickle.dumps({"nasbench201": {"cifar10": {"raspi4_latency": {"a": 1.0}}}}))
    with pytest.raises(HwnasUsageError, match="expected a list"):
        read_hwnasbench(path)
    path.write_bytes(b"not a pickle at all")
    with pytest.raises(HwnasUsageError):
        read_hwnasbench(path)


# --- CLI ---------------------------------------------------------------------------------------------
def test_devices_command_lists_every_device():
    from hwnas.commands.devices import devices_cmd

    result = CliRunner().invoke(devices_cmd, [], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for text in ("jetson-tx2", "edgegpu", "coral", "eyeriss", "local", "latency (ms)", "energy (mJ)"):
        assert text in result.output
    phones = CliRunner().invoke(devices_cmd, ["--kind", "phone"], env={"COLUMNS": "250"})
    assert "pixel3" in phones.output and "titan-rtx-b1" not in phones.output
    bad = CliRunner().invoke(devices_cmd, ["--kind", "tpu"], standalone_mode=False)
    assert isinstance(bad.exception, HwnasUsageError)


def test_cost_is_labelled():
    cost = measured_cost("nb201", 0, "pixel3", "latency")
    assert str(cost).endswith("ms (measured)") and not math.isnan(cost.value)
    with pytest.raises(ValueError):
        Cost(1.0, "ms", "guessed", "pixel3", "latency", "")
