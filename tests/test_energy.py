"""The NB201 energy estimate (`hwnas.devices.energy`): anchors, monotonicity, shapes, errors,
FLOP counting, and its validation on HW-NAS-Bench's FBNet networks.

Everything runs on the shipped tables; the one comparison with the data directory skips where
that is absent. Figures asserted below were measured with `python bench/energy_validation.py`
(docs/energy.md) and are checked with a small margin, so a worse model fails.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from hwnas.data import ENV_VAR, find_data_dir
from hwnas.devices import energy
from hwnas.devices.energy import ENERGY_DEVICES, energy_provenance, estimate_energy_mj
from hwnas.devices.registry import get_device
from hwnas.errors import HwnasUsageError

# published NB201 arch-0 values (HW-NAS-Bench, CIFAR-10 input): device -> (ms, mJ)
PUBLISHED = {"jetson-tx2": (5.807, 24.227), "eyeriss": (3.646, 0.687), "fpga": (2.573, 18.011)}


# --- anchors and the public API ---------------------------------------------------------------
def test_energy_devices_are_canonical_names():
    assert set(ENERGY_DEVICES) == set(PUBLISHED)
    for name in ENERGY_DEVICES:
        assert get_device(name).name == name


@pytest.mark.parametrize("device", ["jetson-tx2", "edgegpu", "eyeriss", "fpga"])
def test_anchor_reproduced(device):
    lat, en = PUBLISHED[get_device(device).name]
    got = estimate_energy_mj("nb201", np.array([0]), np.array([lat]), device)
    assert got.shape == (1,)
    assert got[0] == pytest.approx(en, rel=1e-9)


def test_tx2_anchor_exact_figure():
    assert float(estimate_energy_mj("nb201", np.array([0]), np.array([5.807]), "jetson-tx2")[0]) == pytest.approx(
        24.227, abs=1e-9)


def test_anchor_error_before_calibration():
    # measured: jetson-tx2 +47.8 %, eyeriss +45.1 %, fpga 0.0 % (every FPGA block draws exactly 7 W)
    assert energy.anchor_error("jetson-tx2") == pytest.approx(0.478, abs=0.005)
    assert energy.anchor_error("eyeriss") == pytest.approx(0.451, abs=0.005)
    assert abs(energy.anchor_error("fpga")) < 1e-9


@pytest.mark.parametrize("device", ENERGY_DEVICES)
def test_energy_increases_with_latency(device):
    lat = np.linspace(1.0, 20.0, 40)
    for index in (0, 1234, 15624):
        en = estimate_energy_mj("nb201", np.full(lat.shape, index), lat, device)
        assert np.all(np.diff(en) > 0)
        assert np.all(en > 0)


def test_vectorised_shapes_and_nan():
    idx = np.arange(12).reshape(3, 4)
    lat = np.full((3, 4), 6.0)
    out = estimate_energy_mj("nb201", idx, lat, "jetson-tx2")
    assert out.shape == (3, 4) and out.dtype == np.float64
    # broadcasting: one latency for many archs, one arch for many latencies
    assert estimate_energy_mj("nb201", np.arange(5), 6.0, "eyeriss").shape == (5,)
    assert estimate_energy_mj("nb201", 7, np.array([5.0, 6.0]), "fpga").shape == (2,)
    assert estimate_energy_mj("nb201", np.array([], dtype=int), np.array([]), "fpga").shape == (0,)
    # elementwise: the same as one call per network
    one = [float(estimate_energy_mj("nb201", np.array([i]), np.array([6.0]), "jetson-tx2")[0]) for i in idx.ravel()]
    np.testing.assert_allclose(out.ravel(), one, rtol=1e-12)
    # NaN latency (not measured) gives NaN energy, the rest is untouched
    got = estimate_energy_mj("nb201", np.array([0, 1]), np.array([np.nan, 5.807]), "jetson-tx2")
    assert np.isnan(got[0]) and np.isfinite(got[1])


def test_fpga_is_seven_watts():
    lat = np.array([1.0, 2.5, 9.0])
    np.testing.assert_allclose(estimate_energy_mj("nb201", np.array([3, 400, 9000]), lat, "fpga"), 7.0 * lat,
                               rtol=1e-9)


def test_dataset_changes_flops_not_anchor():
    c10 = estimate_energy_mj("nb201", np.array([100]), np.array([6.0]), "jetson-tx2", "cifar10")
    in16 = estimate_energy_mj("nb201", np.array([100]), np.array([6.0]), "jetson-tx2", "imagenet16-120")
    assert in16[0] < c10[0]  # fewer FLOPs in the same time: lower power on the TX2 model


@pytest.mark.parametrize("call, words", [
    (lambda: estimate_energy_mj("nb201", np.array([0]), np.array([5.0]), "no-such-device"), "unknown device"),
    (lambda: estimate_energy_mj("nb201", np.array([0]), np.array([5.0]), "raspi4"), "no energy model"),
    (lambda: estimate_energy_mj("fbnet", np.array([0]), np.array([5.0]), "jetson-tx2"), "no energy estimate"),
    (lambda: estimate_energy_mj("darts", np.array([0]), np.array([5.0]), "jetson-tx2"), "no energy estimate"),
    (lambda: estimate_energy_mj("nb201", np.array([15625]), np.array([5.0]), "fpga"), "0..15624"),
    (lambda: estimate_energy_mj("nb201", np.array([0.5]), np.array([5.0]), "fpga"), "integers"),
    (lambda: estimate_energy_mj("nb201", np.array([0]), np.array([0.0]), "fpga"), "> 0"),
    (lambda: estimate_energy_mj("nb201", np.array([0, 1]), np.array([1.0, 2.0, 3.0]), "fpga"), "broadcast"),
    (lambda: estimate_energy_mj("nb201", np.array([0]), np.array([5.0]), "fpga", "mnist"), "dataset"),
    (lambda: energy_provenance("pixel3"), "no energy model"),
])
def test_clear_one_line_errors(call, words):
    with pytest.raises(HwnasUsageError) as info:
        call()
    message = str(info.value)
    assert words in message and "\n" not in message


@pytest.mark.parametrize("device", ENERGY_DEVICES)
def test_provenance_one_line(device):
    text = energy_provenance(device)
    assert "\n" not in text
    assert text.startswith(f"estimated: power model fitted on FBNet block energy of {device}")
    assert "calibrated to the published NB201 arch-0 value" in text
    assert "checked where NB201 energy was measured" in text and "docs/energy.md" in text
    assert "FBNet networks Spearman" not in text  # no in-sample FBNet figures as the error bar
    assert "may itself be predicted" in text


def test_nb201_validation_record_is_shipped_and_consistent():
    from hwnas.devices.energy import nb201_validation

    val = nb201_validation()
    assert val["n"] > 6_000 and set(val["runtimes"]) == {"litert", "torchmobile"}
    for rec in val["runtimes"].values():
        for variant in ("measured_latency", "predicted_latency"):
            r = rec[variant]
            assert 0.5 < r["spearman"] <= 1 and r["mape_pct"] > 0 and 0 <= r["within10_pct"] <= 100
            lo, mid, hi = r["any_anchor_mape_pct"]
            assert lo <= mid <= hi


# --- FLOP counting --------------------------------------------------------------------------------
def test_nb201_flops_match_space_cost():
    import torch

    torch.set_num_threads(1)
    from hwnas.spaces import get_space

    space = get_space("nb201")
    for index in (0, 1, 6111, 15624):
        for dataset in ("cifar10", "imagenet16-120"):
            cost = space.cost(space.arch_at(index), dataset)
            assert energy.nb201_flops(np.array([index]), dataset)[0] == cost.flops
    assert energy.nb201_flops(np.array([0]))[0] == 17_958_592  # the anchor's FLOPs, CIFAR-10


@pytest.mark.parametrize("key", [
    "ConvBlock_H32_W32_Cin16_Cout24_exp1_kernel3_stride1_group2",
    "ConvBlock_H16_W16_Cin32_Cout64_exp6_kernel5_stride2_group1",
    "Skip_H32_W32_Cin24_Cout32_stride2",
    "ConvNorm_H4_W4_Cin352_Cout1504_kernel1_stride1_group1",
])
def test_fbnet_block_counts_match_torch(key):
    """`lut_entry_counts` against a PyTorch copy of HW-NAS-Bench's FBNet layer, counted by
    `hwnas.counting` (NB201 FLOP convention)."""
    import torch
    from torch import nn

    from hwnas.counting import count_flops, count_params

    torch.set_num_threads(1)
    f = energy._fields(key)
    if key.startswith("ConvBlock"):
        cin, cout, e, k, s, g = f["Cin"], f["Cout"], f["exp"], f["kernel"], f["stride"], f["group"]
        ce = cin * e
        layer = nn.Sequential(
            nn.Conv2d(cin, ce, 1, groups=g, bias=False), nn.BatchNorm2d(ce), nn.ReLU(),
            nn.Conv2d(ce, ce, k, stride=s, padding=(k - 1) // 2, groups=ce, bias=False), nn.BatchNorm2d(ce), nn.ReLU(),
            nn.Conv2d(ce, cout, 1, groups=g, bias=False), nn.BatchNorm2d(cout))
    elif key.startswith("Skip"):
        cin, cout, s, k, g = f["Cin"], f["Cout"], f["stride"], 1, 1
        layer = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=s, bias=False), nn.BatchNorm2d(cout), nn.ReLU())
    else:
        cin, cout, k, s, g = f["Cin"], f["Cout"], f["kernel"], f["stride"], f["group"]
        layer = nn.Sequential(nn.Conv2d(cin, cout, k, stride=s, padding=(k - 1) // 2, groups=g, bias=False),
                              nn.BatchNorm2d(cout), nn.ReLU())
    shape = (cin, f["H"], f["W"])
    flops, macs, params = energy.lut_entry_counts(key)
    assert flops == count_flops(layer, shape)
    assert macs == count_flops(layer, shape, "conv_linear")
    assert params == count_params(layer)


def test_identity_skip_costs_nothing():
    assert energy.lut_entry_counts("Skip_H32_W32_Cin16_Cout16_stride1") == (0, 0, 0)


# --- the fit and its validation on FBNet networks --------------------------------------------------------
def test_fit_uses_the_usable_blocks():
    assert energy.fit_power_model("jetson-tx2").n_blocks == 213  # 225 entries less 12 identity skips
    assert energy.fit_power_model("eyeriss").n_blocks == 204  # also less 9 entries with energy == latency
    assert energy.fit_power_model("fpga").n_blocks == 192  # the FPGA has no stem/head/skip entries
    tx2 = energy.fit_power_model("jetson-tx2")
    assert 0.05 < tx2.slope < 0.15  # measured 0.100: more FLOPs per ms, more watts
    assert abs(energy.fit_power_model("fpga").slope) < 1e-9


def test_validation_tx2():
    """Measured: Spearman 0.9963 (model, all blocks), 0.9904 (ImageNet blocks only: none of the
    CIFAR-100 networks' blocks), constant power 0.9686; MAPE 7.25 % / 6.12 %; 100 % within 10 %."""
    val = energy.fbnet_validation("jetson-tx2")
    assert val["model"].n == 5000
    assert val["model"].spearman >= 0.9963 - 0.002
    assert val["model"].spearman > val["constant_anchor"].spearman + 0.02
    assert val["model"].mape <= 7.25 + 0.5 and val["model"].within10 >= 99.0
    honest = energy.fbnet_validation("jetson-tx2", "imagenet")
    assert honest["model"].spearman >= 0.9904 - 0.003
    assert honest["model"].mape < honest["constant_blocks"].mape
    assert val["constant_anchor"].mape > 25  # the NB201 anchor's power is far from FBNet's


def test_validation_eyeriss_and_fpga():
    """Measured: eyeriss Spearman 0.9318 vs 0.9031 for constant power (0.9154 fitted on ImageNet
    blocks only); fpga exact (every block draws 7.000 W)."""
    eye = energy.fbnet_validation("eyeriss")
    assert eye["model"].spearman >= 0.9318 - 0.005
    assert eye["model"].spearman > eye["constant_blocks"].spearman
    assert energy.fbnet_validation("eyeriss", "imagenet")["model"].spearman >= 0.9154 - 0.005
    layers = energy.fbnet_validation("eyeriss", layers_only=True)
    assert layers["model"].mape <= 7.78 + 0.5
    fpga = energy.fbnet_validation("fpga")
    assert fpga["model"].spearman > 0.9999 and fpga["model"].mape < 1e-6


def test_validation_rejects_unknown_fit_set():
    with pytest.raises(HwnasUsageError, match="fit set"):
        energy.fit_power_model("jetson-tx2", "cifar100")


def test_fbnet_truth_matches_the_data_file():
    """The networks' latency and energy used for validation equal HW-NAS-Bench's sums as released
    in the data directory (fbnet/hwnasbench_fbnet_5000_metrics.csv)."""
    root = find_data_dir()
    path = None if root is None else root / "fbnet" / "hwnasbench_fbnet_5000_metrics.csv"
    if path is None or not path.is_file():
        pytest.skip(f"fbnet/hwnasbench_fbnet_5000_metrics.csv not found (set {ENV_VAR} or put shared/data beside the repo)")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for device, column in (("jetson-tx2", "edgegpu"), ("eyeriss", "eyeriss"), ("fpga", "fpga")):
        lat, en, _ = energy.fbnet_networks(device)
        np.testing.assert_allclose(lat, [float(r[f"cifar100_{column}_latency"]) for r in rows], rtol=1e-12)
        np.testing.assert_allclose(en, [float(r[f"cifar100_{column}_energy"]) for r in rows], rtol=1e-12)
