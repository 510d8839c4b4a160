"""FBNet-space cost from HW-NAS-Bench's per-block look-up table (exactly as HW-NAS-Bench computes it).

An FBNet network is a fixed skeleton with 22 searchable layers, each one of 9 blocks
(op id 0..8 = k3_e1, k3_e1_g2, k3_e3, k3_e6, k5_e1, k5_e1_g2, k5_e3, k5_e6, skip). HW-NAS-Bench
prices a network as stem + the 22 chosen blocks + head conv + average pool + classifier, each
entry looked up by its shape (``ConvBlock_H32_W32_Cin16_Cout24_exp6_kernel5_stride1_group1``,
``Skip_...``, ``ConvNorm_...``, ``AvgP_...``, ``FC_...``). The sum is taken in the same order as
HW-NAS-Bench's API (``fbnet_get_metrics``), so results agree with it to the last bit.

Devices: jetson-tx2 (HW-NAS-Bench's edgegpu; latency ms, energy mJ), raspi4 and pixel3
(latency), eyeriss and fpga (latency, energy). Skeletons: ``cifar100`` (32x32 input) and
``imagenet`` (224x224). When HW-NAS-Bench's pickle is registered, its table is used.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

from hwnas.devices import _tables
from hwnas.devices.registry import get_device
from hwnas.errors import HwnasUsageError

OP_NAMES: tuple[str, ...] = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
NUM_LAYERS = 22
DATASETS: tuple[str, ...] = ("cifar100", "imagenet")
_DATASET_ALIASES = {"cifar100": "cifar100", "c100": "cifar100", "cifar-100": "cifar100",
                    "imagenet": "imagenet", "imagenet1k": "imagenet", "in1k": "imagenet"}
# HW-NAS-Bench's own device names in the table keys
LUT_DEVICE = {"jetson-tx2": "edgegpu", "raspi4": "raspi4", "pixel3": "pixel3", "eyeriss": "eyeriss", "fpga": "fpga"}

# (expansion, kernel, group) of op ids 0..7; 8 is skip
_BLOCKS = ((1, 3, 1), (1, 3, 2), (3, 3, 1), (6, 3, 1), (1, 5, 1), (1, 5, 2), (3, 5, 1), (6, 5, 1))
_STAGE_LAYERS = (1, 4, 4, 4, 4, 4, 1)
_STAGE_CHANNELS = (16, 24, 32, 64, 112, 184, 352)
_STEM_CHANNELS = 16
# dataset -> (input size, stem stride, stage strides, head channels, classes)
_SKELETON = {
    "cifar100": (32, 1, (1, 1, 2, 2, 1, 2, 1), 1504, 100),
    "imagenet": (224, 2, (1, 2, 2, 2, 1, 2, 1), 1984, 1000),
}


def canonical_dataset(dataset: str) -> str:
    key = _DATASET_ALIASES.get(dataset.strip().lower())
    if key is None:
        raise HwnasUsageError(f"unknown FBNet dataset {dataset!r}; use one of: cifar100, imagenet")
    return key


@lru_cache(maxsize=None)
def block_keys(dataset: str) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """(fixed entries in summation order [stem, head conv, avg pool, fc], per layer the key of
    each of the 9 ops). The stem comes first in the sum, the other three after the 22 layers."""
    size, stem_stride, strides, head, classes = _SKELETON[canonical_dataset(dataset)]
    stem = f"ConvNorm_H{size}_W{size}_Cin3_Cout{_STEM_CHANNELS}_kernel3_stride{stem_stride}_group1"
    hw = size // stem_stride
    layers: list[tuple[str, ...]] = []
    cin = _STEM_CHANNELS
    for stage, (count, cout) in enumerate(zip(_STAGE_LAYERS, _STAGE_CHANNELS)):
        for i in range(count):
            stride = strides[stage] if i == 0 else 1
            keys = [f"ConvBlock_H{hw}_W{hw}_Cin{cin}_Cout{cout}_exp{e}_kernel{k}_stride{stride}_group{g}"
                    for e, k, g in _BLOCKS]
            keys.append(f"Skip_H{hw}_W{hw}_Cin{cin}_Cout{cout}_stride{stride}")
            layers.append(tuple(keys))
            if i == 0:
                hw //= stride
            cin = cout
    fixed = (
        stem,
        f"ConvNorm_H{hw}_W{hw}_Cin{_STAGE_CHANNELS[-1]}_Cout{head}_kernel1_stride1_group1",
        f"AvgP_H{hw}_W{hw}_Cin{head}_Cout{head}_kernel{hw}_stride1",
        f"FC_Cin{head}_Cout{classes}",
    )
    return fixed, tuple(layers)


def _lut_arrays() -> tuple[dict[str, int], tuple[str, ...], np.ndarray, str]:
    """(row of each block key, metric column names like 'edgegpu_energy', values [blocks, metrics]
    float64, provenance label); HW-NAS-Bench's registered pickle wins over the shipped copy."""
    return _lut_arrays_at(str(_tables.user_data_dir()))


@lru_cache(maxsize=4)
def _lut_arrays_at(user_root: str) -> tuple[dict[str, int], tuple[str, ...], np.ndarray, str]:
    user = _tables.registered("fbnet_lut")
    if user is not None:
        arrays, meta = user
        label = f"HW-NAS-Bench FBNet block LUT from the registered {meta.get('source_name', 'pickle')}"
    else:
        arrays, meta = _tables.shipped(_tables.FBNET_LUT)
        label = meta.get("provenance_label", "HW-NAS-Bench FBNet block LUT (shipped)")
    keys = [str(k) for k in arrays["lut_keys"]]
    return {k: i for i, k in enumerate(keys)}, tuple(str(m) for m in arrays["lut_metrics"]), arrays["lut_values"], label


def lut_provenance() -> str:
    return _lut_arrays()[3]


def _column(device: str, metric: str) -> tuple[str, int]:
    dev = get_device(device)
    if dev.name not in LUT_DEVICE:
        raise HwnasUsageError(
            f"the FBNet block LUT has no {dev.name!r}; it covers: {', '.join(LUT_DEVICE)}"
        )
    metric = dev.require_metric(metric)
    _, metrics, _, _ = _lut_arrays()
    name = f"{LUT_DEVICE[dev.name]}_{metric}"
    if name not in metrics:
        have = sorted({m.rsplit("_", 1)[1] for m in metrics if m.startswith(LUT_DEVICE[dev.name] + "_")})
        raise HwnasUsageError(f"the FBNet block LUT has no {metric} for {dev.name!r}; it has: {', '.join(have)}")
    return dev.name, metrics.index(name)


def check_op_ids(op_ids: "Sequence[int] | np.ndarray") -> np.ndarray:
    """``op_ids`` as an int array of shape [22] or [N, 22], checked to lie in 0..8."""
    arr = np.asarray(op_ids)
    if arr.dtype.kind not in "iu" or arr.shape[-1:] != (NUM_LAYERS,) or arr.ndim not in (1, 2):
        raise HwnasUsageError(
            f"an FBNet architecture is {NUM_LAYERS} integer op ids 0..8 ({', '.join(OP_NAMES)}); got shape {arr.shape}"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= len(OP_NAMES)):
        raise HwnasUsageError(f"FBNet op ids must lie in 0..{len(OP_NAMES) - 1}; got {arr.min()}..{arr.max()}")
    return arr.astype(np.int64)


def _index_matrix(dataset: str) -> tuple[list[int], np.ndarray]:
    rows, _, _, _ = _lut_arrays()
    fixed, layers = block_keys(dataset)
    missing = [k for k in (*fixed, *(k for layer in layers for k in layer)) if k not in rows]
    if missing:
        raise HwnasUsageError(f"the FBNet block LUT lacks {len(missing)} entries, e.g. {missing[0]}: "
                              "re-register a complete HW-NAS-Bench pickle")
    return [rows[k] for k in fixed], np.array([[rows[k] for k in layer] for layer in layers])


def fbnet_cost(op_ids: Sequence[int], device: str, metric: str = "latency", dataset: str = "cifar100") -> float:
    """HW-NAS-Bench's cost of one FBNet architecture (22 op ids 0..8) on ``device``:
    latency in ms or energy in mJ, for the ``cifar100`` or ``imagenet`` skeleton."""
    ops = check_op_ids(op_ids)
    if ops.ndim != 1:
        raise HwnasUsageError("fbnet_cost takes one architecture; use fbnet_costs for a batch")
    return float(fbnet_costs(ops[None, :], device, metric, dataset)[0])


def fbnet_costs(op_ids: "np.ndarray | Sequence[Sequence[int]]", device: str, metric: str = "latency",
                dataset: str = "cifar100") -> np.ndarray:
    """`fbnet_cost` of many architectures (array [N, 22]) at once, float64 [N]."""
    ops = check_op_ids(op_ids)
    if ops.ndim == 1:
        ops = ops[None, :]
    _, col = _column(device, metric)
    _, _, values, _ = _lut_arrays()
    fixed, layer_rows = _index_matrix(dataset)
    v = values[:, col]
    # same order of float additions as HW-NAS-Bench's fbnet_get_metrics: 0 + stem + layers + head + pool + fc
    total = np.zeros(len(ops)) + v[fixed[0]]
    for layer in range(NUM_LAYERS):
        total = total + v[layer_rows[layer, ops[:, layer]]]
    for row in fixed[1:]:
        total = total + v[row]
    return total


def cheapest(device: str, metric: str = "latency", dataset: str = "cifar100") -> tuple[np.ndarray, float]:
    """(op ids [22], cost) of the cheapest FBNet architecture on ``device``: the cost is a sum over
    layers, so the cheapest network takes the cheapest op of every layer (ms or mJ)."""
    _, col = _column(device, metric)
    _, _, values, _ = _lut_arrays()
    _, layer_rows = _index_matrix(dataset)
    ops = np.argmin(values[:, col][layer_rows], axis=1).astype(np.int64)
    return ops, float(fbnet_costs(ops[None, :], device, metric, dataset)[0])
