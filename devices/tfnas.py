"""Latency of `mbv2` networks from TF-NAS's per-block look-up tables, exactly as TF-NAS computes it.

TF-NAS (AberHu/TF-NAS, MIT; ``train_search.py`` `get_lookup_latency`, ``models/model_eval.py``
`Network.get_lookup_latency`) prices a network as

    latency_ms = lut['base'] + sum over the present blocks of lut[key][mid_channels]

with ``key = MBInvertedResBlock_<input size>_<Cin>_<squeeze width>_<Cout>_k<k>_s<s>_<act>``
(`hwnas.spaces.mbv2.lut_key`; the third number is the squeeze-excite width, 0 without SE, not a
part of the mid channels) and the inner key the block's mid-channel count, an integer looked up
as is. There is no interpolation at query time: the shipped tables are already dense over widths
1..N (the authors measured a grid of widths and filled the rest linearly, so a few tiny widths
hold slightly negative values; widths this space uses are >= 2 Cin). ``base`` is the measured
first stem + second stem + feature-mix layer + pool + classifier (1000 classes). Skipped
layers cost nothing; the sum runs in TF-NAS's order (base, then the layers), so results agree
with TF-NAS's Python loop to the last bit.

Tables (`hwnas/_data/tfnas_lut.npz`, built by ``scripts/build_mbv2_lut.py``):

* ``cpu-xeon6130-bs1``: Intel Xeon Gold 6130 @ 2.10 GHz, batch 1, MKL threads 1, PyTorch 1.1;
* ``gpu-titanrtx-bs32``: NVIDIA Titan RTX, batch 32, cuDNN 7.6.0, PyTorch 1.1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Sequence

import numpy as np

from hwnas.errors import HwnasUsageError

LUT_FILE = "tfnas_lut"  # hwnas/_data/tfnas_lut.npz + .json
LUT_ALIASES = {"cpu": "cpu-xeon6130-bs1", "xeon6130": "cpu-xeon6130-bs1", "xeon-gold-6130": "cpu-xeon6130-bs1",
               "gpu": "gpu-titanrtx-bs32", "titanrtx": "gpu-titanrtx-bs32", "titan-rtx": "gpu-titanrtx-bs32"}


@dataclass(frozen=True)
class TFNASLut:
    """One TF-NAS latency table: base latency (ms) and per-key latencies (ms) by mid channels."""

    name: str
    device: str
    batch_size: int
    base_ms: float
    keys: tuple[str, ...]
    widths: np.ndarray  # [keys] largest mid-channel count of each key (the table holds 1..widths)
    values_ms: np.ndarray  # [keys, max width]; values_ms[k, mid - 1]; NaN past widths[k]

    def entry_ms(self, key: str, mid: int) -> float:
        """``lut[key][mid]`` of TF-NAS, ms."""
        k = self.keys.index(key)
        if not 1 <= mid <= int(self.widths[k]):
            raise KeyError(f"{key} has no width {mid} (1..{int(self.widths[k])})")
        return float(self.values_ms[k, mid - 1])


@lru_cache(maxsize=1)
def _shipped() -> tuple[dict[str, np.ndarray], dict]:
    pkg = resources.files("hwnas._data")
    with pkg.joinpath(f"{LUT_FILE}.npz").open("rb") as fh, np.load(fh, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads(pkg.joinpath(f"{LUT_FILE}.json").read_text())


def lut_names() -> tuple[str, ...]:
    return tuple(str(n) for n in _shipped()[0]["lut_names"])


def canonical_lut(lut: str) -> str:
    key = str(lut).strip().lower()
    key = LUT_ALIASES.get(key, key)
    if key not in lut_names():
        raise HwnasUsageError(f"unknown TF-NAS latency table {lut!r}; use one of: {', '.join(lut_names())} "
                              f"(or {', '.join(sorted(LUT_ALIASES))})")
    return key


@lru_cache(maxsize=None)
def load_lut(lut: str) -> TFNASLut:
    """The shipped table ``lut`` (a name of `lut_names` or an alias such as ``cpu`` / ``gpu``)."""
    name = canonical_lut(lut)
    arrays, meta = _shipped()
    i = lut_names().index(name)
    info = meta["luts"][name]
    values = arrays["values_ms"][i]
    values.setflags(write=False)
    return TFNASLut(name, info["device"], int(info["batch_size"]), float(arrays["base_ms"][i]),
                    tuple(str(k) for k in arrays["keys"]), arrays["widths"].astype(np.int64), values)


def provenance() -> dict:
    """The JSON record shipped beside the tables (upstream repository, commit, license, units)."""
    return dict(_shipped()[1])


@lru_cache(maxsize=None)
def layer_table(lut: str) -> np.ndarray:
    """float64 [18 layers, 9 ops, 3 widths]: the LUT entry (ms) each (op, width) gene pair of each
    layer adds; 0 for skip."""
    from hwnas.spaces.mbv2 import LAYERS, NUM_WIDTHS, SKIP, block_choice, lut_key

    table = load_lut(lut)
    out = np.zeros((len(LAYERS), SKIP + 1, NUM_WIDTHS))
    for i, layer in enumerate(LAYERS):
        for op in range(SKIP):
            for w in range(NUM_WIDTHS):
                choice = block_choice(layer, op, w)
                out[i, op, w] = table.entry_ms(lut_key(layer, choice), choice.mid)
    out.setflags(write=False)
    return out


def check_genotypes(genotypes: "np.ndarray | Sequence[Sequence[int]]") -> np.ndarray:
    """``genotypes`` as int64 [N, 36], checked against the `mbv2` space's bounds."""
    from hwnas.spaces.base import get_space

    lo, hi = get_space("mbv2").genotype_bounds
    arr = np.asarray(genotypes)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.dtype.kind not in "iu" or arr.ndim != 2 or arr.shape[1] != len(lo):
        raise HwnasUsageError(f"mbv2 genotypes are integer arrays [N, {len(lo)}] (op, width per layer); "
                              f"got shape {np.shape(genotypes)}")
    bad = (arr < lo) | (arr > hi)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise HwnasUsageError(f"mbv2 genotype {row} has {int(arr[row, col])} at position {col}; "
                              f"allowed {int(lo[col])}..{int(hi[col])}")
    return arr.astype(np.int64)


def tfnas_latency_ms(genotypes: "np.ndarray | Sequence[Sequence[int]]", lut: str) -> np.ndarray:
    """TF-NAS's look-up latency (ms, float64 [N]) of `mbv2` genotypes [N, 36] on table ``lut``:
    base + each present block's entry at its mid-channel count, summed in TF-NAS's order."""
    g = check_genotypes(genotypes)
    table = layer_table(lut)
    total = np.full(len(g), load_lut(lut).base_ms)
    for layer in range(table.shape[0]):
        total = total + table[layer, g[:, 2 * layer], g[:, 2 * layer + 1]]
    return total


# the LUT of each registered device (hwnas.devices.registry): device name -> LUT name
DEVICE_LUT = {"xeon-gold-6130-b1": "cpu-xeon6130-bs1", "titan-rtx-b32": "gpu-titanrtx-bs32"}


def run_cost_table(dev, metric: str, dataset: str, catalog):
    """The `hwnas.devices.space_costs.RunCostTable` of the mbv2 networks a run evaluates on
    ``dev`` (a `Device` with a TF-NAS LUT): TF-NAS's measured per-block latency, summed (ms)."""
    from hwnas.devices.space_costs import SOURCE_CODES, RunCostTable
    from hwnas.errors import HwnasUsageError
    from hwnas.spaces import get_space

    if dev.name not in DEVICE_LUT or metric != "latency":
        raise HwnasUsageError(f"no mbv2 {metric} for {dev.name!r}; mbv2 latency exists for: {', '.join(DEVICE_LUT)}")
    lut = DEVICE_LUT[dev.name]
    sp = get_space("mbv2")
    ds = sp.dataset(dataset).name

    def compute(genotypes: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
        return (tfnas_latency_ms(genotypes, lut),
                np.full(len(genotypes), SOURCE_CODES["measured"], dtype=np.int8))

    table = layer_table(lut)
    lo, hi = sp.genotype_bounds
    cheapest = np.zeros(len(lo), dtype=np.int64)
    for layer in range(table.shape[0]):  # additive: the cheapest network takes each layer's cheapest allowed pair
        ops = table[layer, : int(hi[2 * layer]) + 1, : int(hi[2 * layer + 1]) + 1]
        cheapest[2 * layer], cheapest[2 * layer + 1] = np.unravel_index(int(np.argmin(ops)), ops.shape)
    low = float(tfnas_latency_ms(cheapest[None, :], lut)[0])
    label = (f"TF-NAS's measured per-block latency LUT ({lut}; AberHu/TF-NAS, MIT), summed over the network's "
             f"blocks plus its fixed stem/head as TF-NAS prices a network")
    return RunCostTable("mbv2", dev.name, "latency", "ms", {"measured": label}, ds, catalog, compute,
                        minimum=low, cheapest=sp.to_str(sp.from_genotype(cheapest)))
