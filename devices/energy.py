"""Estimated NAS-Bench-201 energy (mJ) for devices where only FBNet block energy was measured.

No NB201 energy was measured on any device in our data. HW-NAS-Bench did measure (or simulate)
per-block latency (ms) and energy (mJ) of the FBNet space on the Jetson TX2 (``edgegpu``),
Eyeriss and the FPGA. This module transfers that to NB201 networks as

    energy [mJ] = scale x power [W] x latency [ms],
    ln power = a + b ln(FLOPs per ms of latency)          (the "power model")

* ``a, b`` are fitted by least squares on the FBNet block LUT of the device (shipped in
  ``hwnas/_data/fbnet_lut.npz``), one row per block with a positive latency and energy.
  FLOPs follow the NAS-Bench-201 table convention (``hwnas.counting``: conv and linear
  multiply-accumulates, BatchNorm 2 and ReLU 1 per element, pools k*k per output element)
  and are counted here from each block's signature. Eyeriss's stem/head/pool/FC entries,
  whose energy equals their latency to the last digit (power exactly 1 W, most likely a copy
  upstream), are left out of the fit.
* FLOPs per ms is an intensive quantity (a network's power is the latency-weighted mean of
  its parts' powers), so a model fitted on single blocks can be applied to whole networks;
  extensive features (FLOPs, params, latency) were tried and transfer badly (docs/energy.md).
* ``scale`` is a one-point calibration: NB201 arch 0 (CIFAR-10 input) at its published
  latency reproduces its published energy exactly. `anchor_error` says how far the
  uncalibrated model was off there.

This is a cross-space transfer (FBNet blocks -> NB201 cells) checked against FBNet networks
only; the NB201 values themselves cannot be validated with the data we have, beyond the one
anchor. `fbnet_validation` measures the model on HW-NAS-Bench's 5,000 sampled FBNet networks.
Everything here runs offline from the shipped tables; fits are cached with `lru_cache`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

import numpy as np

from hwnas.devices import _tables
from hwnas.devices.registry import get_device
from hwnas.errors import HwnasUsageError

# devices with FBNet block energy in HW-NAS-Bench (canonical names) -> column prefix in the LUT
_LUT_PREFIX: dict[str, str] = {"jetson-tx2": "edgegpu", "eyeriss": "eyeriss", "fpga": "fpga"}
ENERGY_DEVICES: tuple[str, ...] = tuple(_LUT_PREFIX)
ENERGY_SPACES: tuple[str, ...] = ("nb201",)

# Published NB201 arch-0 values (HW-NAS-Bench, CIFAR-10 input): (latency ms, energy mJ)
ANCHOR_INDEX = 0
ANCHOR_DATASET = "cifar10"
ANCHORS: dict[str, tuple[float, float]] = {
    "jetson-tx2": (5.807, 24.227),
    "eyeriss": (3.646, 0.687),
    "fpga": (2.573, 18.011),
}
FIT_SETS: tuple[str, ...] = ("all", "imagenet")  # which LUT entries a power model is fitted on

_NB201_DATASETS: dict[str, tuple[int, int]] = {  # dataset -> (input side, classes)
    "cifar10": (32, 10), "cifar100": (32, 100), "imagenet16-120": (16, 120),
}
_NB201_DATASET_ALIASES = {"c10": "cifar10", "c100": "cifar100", "imagenet16": "imagenet16-120",
                          "in16": "imagenet16-120", "imagenet16_120": "imagenet16-120"}


# --- FLOP counting ---------------------------------------------------------------------------------
def _frozen(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays made read-only (they are cached and shared)."""
    for a in arrays:
        a.flags.writeable = False
    return arrays


def _fields(key: str) -> dict[str, int]:
    return {name: int(value) for name, value in re.findall(r"_([A-Za-z]+?)(\d+)(?=_|$)", key)}


def lut_entry_counts(key: str) -> tuple[int, int, int]:
    """(FLOPs, conv+linear MACs, params) of one FBNet LUT entry, from its signature.

    FLOPs use the NAS-Bench-201 table convention (see `hwnas.counting`). Blocks are laid out as
    in HW-NAS-Bench's FBNet code: ``ConvBlock`` = 1x1 conv (groups g) -> BN -> ReLU -> depthwise
    kxk conv (stride s) -> BN -> ReLU -> 1x1 conv (groups g) -> BN (+ identity); ``Skip`` is an
    identity (nothing) unless it changes shape, then 1x1 conv -> BN -> ReLU; ``ConvNorm`` is
    conv -> BN -> ReLU; ``AvgP`` a global average pool; ``FC`` a linear layer."""
    f = _fields(key)
    kind = key.split("_", 1)[0]
    if kind == "ConvBlock":
        h, cin, cout, e, k, s, g = f["H"], f["Cin"], f["Cout"], f["exp"], f["kernel"], f["stride"], f["group"]
        ce, n_in, n_out = cin * e, h * f["W"], (h // s) * (f["W"] // s)
        macs = n_in * cin * ce // g + n_out * ce * k * k + n_out * ce * cout // g
        other = 3 * ce * n_in + 3 * ce * n_out + 2 * cout * n_out
        params = cin * ce // g + ce * k * k + ce * cout // g + 2 * (2 * ce + cout)
    elif kind == "Skip":
        cin, cout, s = f["Cin"], f["Cout"], f["stride"]
        if s == 1 and cin == cout:
            return 0, 0, 0
        n_out = (f["H"] // s) * (f["W"] // s)
        macs, other, params = n_out * cin * cout, 3 * cout * n_out, cin * cout + 2 * cout
    elif kind == "ConvNorm":
        cin, cout, k, s, g = f["Cin"], f["Cout"], f["kernel"], f["stride"], f["group"]
        n_out = (f["H"] // s) * (f["W"] // s)
        macs, other, params = n_out * k * k * cin * cout // g, 3 * cout * n_out, k * k * cin * cout // g + 2 * cout
    elif kind == "AvgP":
        macs, other, params = 0, f["Cin"] * f["H"] * f["W"], 0
    elif kind == "FC":
        macs, other, params = f["Cin"] * f["Cout"], 0, f["Cin"] * f["Cout"] + f["Cout"]
    else:
        raise ValueError(f"unknown FBNet LUT entry {key!r}")
    return macs + other, macs, params


def _nb201_dataset(dataset: str) -> str:
    key = str(dataset).strip().lower()
    key = _NB201_DATASET_ALIASES.get(key, key)
    if key not in _NB201_DATASETS:
        raise HwnasUsageError(f"unknown NB201 dataset {dataset!r}; use one of: {', '.join(_NB201_DATASETS)}")
    return key


def nb201_flops(indices: np.ndarray, dataset: str = "cifar10") -> np.ndarray:
    """FLOPs per sample (NAS-Bench-201 table convention) of NB201 networks ``indices``."""
    from hwnas.spaces.nb201 import cost_arrays

    _, flops = cost_arrays(_nb201_dataset(dataset))
    return flops[_check_indices(indices)].astype(np.float64)


# --- the FBNet block table --------------------------------------------------------------------------
@dataclass(frozen=True)
class BlockTable:
    """The FBNet LUT entries of one device usable for a power fit (latency > 0, energy > 0, and
    energy != latency), with their FLOPs; units ms, mJ, FLOPs."""

    device: str
    keys: tuple[str, ...]
    latency_ms: np.ndarray
    energy_mj: np.ndarray
    flops: np.ndarray
    macs: np.ndarray
    params: np.ndarray
    imagenet: np.ndarray  # bool: the entry belongs to the ImageNet (224x224) skeleton

    @property
    def power_w(self) -> np.ndarray:
        return self.energy_mj / self.latency_ms


def _lut() -> tuple[list[str], list[str], np.ndarray]:
    arrays, _ = _tables.shipped(_tables.FBNET_LUT)
    return [str(k) for k in arrays["lut_keys"]], [str(m) for m in arrays["lut_metrics"]], arrays["lut_values"]


@lru_cache(maxsize=None)
def _entry_counts() -> np.ndarray:
    """[entries, 3] (FLOPs, MACs, params) of every shipped LUT entry, in table order."""
    keys, _, _ = _lut()
    return _frozen(np.array([lut_entry_counts(k) for k in keys], dtype=np.float64))[0]


@lru_cache(maxsize=None)
def block_table(device: str) -> BlockTable:
    """The usable FBNet blocks of ``device`` (one of `ENERGY_DEVICES`)."""
    from hwnas.devices import fbnet

    name = _energy_device(device)
    keys, metrics, values = _lut()
    lat = values[:, metrics.index(f"{_LUT_PREFIX[name]}_latency")]
    en = values[:, metrics.index(f"{_LUT_PREFIX[name]}_energy")]
    ok = (lat > 0) & (en > 0) & (en != lat)
    fixed, layers = fbnet.block_keys("imagenet")
    imagenet_keys = set(fixed) | {k for layer in layers for k in layer}
    counts = _entry_counts()
    rows = np.flatnonzero(ok)
    return BlockTable(name, tuple(keys[i] for i in rows),
                      *_frozen(lat[rows], en[rows], counts[rows, 0], counts[rows, 1], counts[rows, 2],
                               np.array([keys[i] in imagenet_keys for i in rows])))


# --- the power model --------------------------------------------------------------------------------
@dataclass(frozen=True)
class PowerModel:
    """``ln P[W] = intercept + slope * ln(FLOPs / latency_ms)``, times ``scale`` once calibrated."""

    device: str
    intercept: float
    slope: float
    n_blocks: int
    fit_on: str
    scale: float = 1.0

    def power_w(self, flops: np.ndarray, latency_ms: np.ndarray) -> np.ndarray:
        """Power in W at ``flops`` (per sample) run in ``latency_ms``."""
        intensity = np.asarray(flops, dtype=np.float64) / np.asarray(latency_ms, dtype=np.float64)
        return self.scale * np.exp(self.intercept + self.slope * np.log(intensity))

    def energy_mj(self, flops: np.ndarray, latency_ms: np.ndarray) -> np.ndarray:
        """Energy in mJ (= W x ms) of ``flops`` run in ``latency_ms``."""
        return self.power_w(flops, latency_ms) * np.asarray(latency_ms, dtype=np.float64)


def _energy_device(device: str) -> str:
    name = get_device(device).name
    if name not in _LUT_PREFIX:
        raise HwnasUsageError(f"no energy model for device {name!r}; energy is estimated for: "
                              f"{', '.join(ENERGY_DEVICES)}")
    return name


@lru_cache(maxsize=None)
def fit_power_model(device: str, fit_on: str = "all") -> PowerModel:
    """The uncalibrated power model of ``device``, fitted on its FBNet blocks: ``all`` of them,
    or only those of the ImageNet skeleton (``imagenet``, for an honest check on the CIFAR-100
    FBNet networks, which use none of those blocks)."""
    if fit_on not in FIT_SETS:
        raise HwnasUsageError(f"unknown fit set {fit_on!r}; use one of: {', '.join(FIT_SETS)}")
    table = block_table(device)
    rows = table.imagenet if fit_on == "imagenet" else np.ones(len(table.keys), dtype=bool)
    x = np.log(table.flops[rows] / table.latency_ms[rows])
    y = np.log(table.power_w[rows])
    design = np.stack([np.ones_like(x), x], axis=1)
    (intercept, slope), *_ = np.linalg.lstsq(design, y, rcond=None)
    return PowerModel(table.device, float(intercept), float(slope), int(rows.sum()), fit_on)


def anchor_error(device: str) -> float:
    """Relative error of the uncalibrated power model at the published NB201 arch-0 anchor:
    predicted energy / published energy - 1 (both at the published latency)."""
    model = fit_power_model(_energy_device(device))
    lat, en = ANCHORS[model.device]
    flops = nb201_flops(np.array([ANCHOR_INDEX]), ANCHOR_DATASET)
    return round(float(model.energy_mj(flops, np.array([lat]))[0] / en - 1.0), 12) + 0.0


@lru_cache(maxsize=None)
def power_model(device: str) -> PowerModel:
    """The calibrated power model of ``device``: fitted on all its FBNet blocks, scaled so that
    NB201 arch 0 (CIFAR-10) at its published latency has its published energy."""
    base = fit_power_model(_energy_device(device))
    scale = 1.0 / (1.0 + anchor_error(base.device))
    return PowerModel(base.device, base.intercept, base.slope, base.n_blocks, base.fit_on, scale)


# --- public API -------------------------------------------------------------------------------------
def _check_indices(indices: np.ndarray) -> np.ndarray:
    arr = np.asarray(indices)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        elif arr.size:
            raise HwnasUsageError(f"NB201 indices must be integers 0..15624; got dtype {arr.dtype}")
        else:
            arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() > 15_624):
        raise HwnasUsageError(f"NB201 indices must lie in 0..15624; got {arr.min()}..{arr.max()}")
    return arr.astype(np.int64)


def _check_space(space: str) -> str:
    from hwnas.spaces import SPACES

    try:
        name = SPACES.canonical(str(space))
    except HwnasUsageError:
        name = str(space)
    if name not in ENERGY_SPACES:
        raise HwnasUsageError(f"no energy estimate for search space {space!r}; it exists for: "
                              f"{', '.join(ENERGY_SPACES)}")
    return name


def estimate_energy_mj(space: str, indices: np.ndarray, latency_ms: np.ndarray, device: str,
                       dataset: str = "cifar10") -> np.ndarray:
    """Estimated energy in mJ per network: calibrated FBNet-block power model (W) x latency (ms).

    ``indices`` are NB201 indices, ``latency_ms`` the networks' latencies in ms on ``device``
    (measured or predicted; broadcast against ``indices``). NaN latency gives NaN energy; a
    latency <= 0 is a usage error. ``dataset`` picks the input whose FLOPs enter the power
    model (the calibration anchor is CIFAR-10). Returns float64 of the broadcast shape.
    An estimate, not a measurement: label it with `energy_provenance`."""
    _check_space(space)
    model = power_model(_energy_device(device))
    idx = _check_indices(indices)
    lat = np.asarray(latency_ms, dtype=np.float64)
    try:
        idx, lat = np.broadcast_arrays(idx, lat)
    except ValueError:
        raise HwnasUsageError(f"indices {np.shape(indices)} and latency_ms {np.shape(latency_ms)} "
                              "have shapes that do not broadcast") from None
    if np.any(lat[np.isfinite(lat)] <= 0) or np.any(np.isinf(lat)):
        raise HwnasUsageError("latency_ms must be finite and > 0 (NaN = unknown gives NaN energy)")
    flops = nb201_flops(idx, dataset)
    with np.errstate(invalid="ignore"):
        return model.energy_mj(flops, lat)


@lru_cache(maxsize=None)
def nb201_validation() -> dict:
    """The estimate checked on NB201 networks with measured energy: the method run on the Raspberry
    Pi 5 as if its energy were unknown (``hwnas/_data/energy_validation.json``, written by
    ``python bench/energy_pi5_validation.py --ship``): per runtime, Spearman, MAPE and +-10 %
    with measured and with predicted latency, and with any calibration point."""
    from importlib import resources

    return json.loads(resources.files("hwnas._data").joinpath("energy_validation.json").read_text())


def _span(values: list[float], fmt: str) -> str:
    lo, hi = min(values), max(values)
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else f"{format(lo, fmt)}-{format(hi, fmt)}"


@lru_cache(maxsize=None)
def energy_provenance(device: str) -> str:
    """One line: how the NB201 energy of ``device`` is obtained and how well the method is known on
    NB201 networks (the Raspberry Pi 5 check), not on the FBNet blocks it was fitted to."""
    model = power_model(_energy_device(device))
    lat, en = ANCHORS[model.device]
    val = nb201_validation()
    recs = [r[k] for r in val["runtimes"].values() for k in ("measured_latency", "predicted_latency")]
    typical = [r["measured_latency"]["any_anchor_mape_pct"][1] for r in val["runtimes"].values()]
    return (f"estimated: power model fitted on FBNet block energy of {model.device} "
            f"(HW-NAS-Bench LUT, {model.n_blocks} blocks; ln P[W] = {model.intercept:.3f} + {model.slope:.3f} "
            f"ln(FLOPs/ms)) x latency, calibrated to the published NB201 arch-0 value ({en} mJ at {lat} ms, "
            f"CIFAR-10); checked where NB201 energy was measured (the same method on the Raspberry Pi 5, "
            f"{val['n']:,} networks, two runtimes): Spearman {_span([r['spearman'] for r in recs], '.3f')}, "
            f"MAPE {_span([r['mape_pct'] for r in recs], '.0f')} %, within +-10 % "
            f"{_span([r['within10_pct'] for r in recs], '.0f')} % (the one calibration point dominates: "
            f"MAPE {_span(typical, '.0f')} % with a typical one); the latency it multiplies may itself be "
            f"predicted; see docs/energy.md")


# --- validation on FBNet networks ----------------------------------------------------------------------
@dataclass(frozen=True)
class Scores:
    """Predicted vs true energy over a set of networks."""

    spearman: float
    mape: float  # mean absolute percentage error, %
    within10: float  # share of networks within +-10 %, %
    n: int


def scores(pred_mj: np.ndarray, true_mj: np.ndarray) -> Scores:
    from scipy.stats import spearmanr

    rel = np.abs(np.asarray(pred_mj) / np.asarray(true_mj) - 1.0)
    return Scores(float(spearmanr(pred_mj, true_mj).statistic), float(100 * rel.mean()),
                  float(100 * (rel <= 0.10).mean()), int(len(rel)))


@lru_cache(maxsize=None)
def _fbnet_usage() -> tuple[np.ndarray, np.ndarray]:
    """(uses [archs, entries]: how often each LUT entry occurs in each of HELP's 5,000 CIFAR-100
    FBNet networks, fixed [entries] bool: stem/head/pool/FC)."""
    from hwnas.devices import fbnet
    from hwnas.devices.measured import fbnet_archs

    keys, _, _ = _lut()
    row = {k: i for i, k in enumerate(keys)}
    ops = fbnet_archs()
    fixed, layers = fbnet.block_keys("cifar100")
    uses = np.zeros((len(ops), len(keys)))
    for k in fixed:
        uses[:, row[k]] += 1
    for layer in range(fbnet.NUM_LAYERS):
        cols = np.array([row[k] for k in layers[layer]])[ops[:, layer]]
        np.add.at(uses, (np.arange(len(ops)), cols), 1)
    is_fixed = np.zeros(len(keys), dtype=bool)
    is_fixed[[row[k] for k in fixed]] = True
    return _frozen(uses, is_fixed)


@lru_cache(maxsize=None)
def fbnet_networks(device: str, layers_only: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(latency ms, energy mJ, FLOPs) of HELP's 5,000 CIFAR-100 FBNet networks on ``device``, as
    HW-NAS-Bench sums them (`hwnas.devices.fbnet.fbnet_costs`); ``layers_only`` drops the fixed
    stem/head/pool/FC entries (the 22 searchable layers only)."""
    from hwnas.devices import fbnet
    from hwnas.devices.measured import fbnet_archs

    name = _energy_device(device)
    ops = fbnet_archs()
    lat = fbnet.fbnet_costs(ops, name, "latency", "cifar100")
    en = fbnet.fbnet_costs(ops, name, "energy", "cifar100")
    uses, is_fixed = _fbnet_usage()
    flops = uses @ _entry_counts()[:, 0]
    if layers_only:
        _, metrics, values = _lut()
        fixed_uses = uses[:, is_fixed]
        lat = lat - fixed_uses @ values[is_fixed, metrics.index(f"{_LUT_PREFIX[name]}_latency")]
        en = en - fixed_uses @ values[is_fixed, metrics.index(f"{_LUT_PREFIX[name]}_energy")]
        flops = flops - fixed_uses @ _entry_counts()[is_fixed, 0]
    return _frozen(lat, en, flops)


@lru_cache(maxsize=None)
def fbnet_validation(device: str, fit_on: str = "all", layers_only: bool = False) -> Mapping[str, Scores]:
    """Energy predicted from the networks' true latency vs their true energy, on HELP's 5,000
    CIFAR-100 FBNet networks. Keys: ``model`` (uncalibrated power model fitted ``fit_on``),
    ``constant_blocks`` (constant power = geometric mean power of the same blocks),
    ``constant_anchor`` (constant power = NB201 arch-0 energy / latency, the published anchor)."""
    model = fit_power_model(_energy_device(device), fit_on)
    lat, en, flops = fbnet_networks(model.device, layers_only)
    table = block_table(model.device)
    rows = table.imagenet if fit_on == "imagenet" else np.ones(len(table.keys), dtype=bool)
    p_blocks = float(np.exp(np.mean(np.log(table.power_w[rows]))))
    a_lat, a_en = ANCHORS[model.device]
    return MappingProxyType({  # read-only: the result is cached
        "model": scores(model.energy_mj(flops, lat), en),
        "constant_blocks": scores(p_blocks * lat, en),
        "constant_anchor": scores(a_en / a_lat * lat, en),
    })
