"""Costs of the architectures a run evaluates, for spaces too large for a whole-space table.

NAS-Bench-201's costs are whole-space arrays (`hwnas.devices.costs.cost_table`). FBNet (9^22
networks) and MobileNetV2 cannot be tabled; their costs are computed for the architectures a
search evaluates, addressed by the run's ids (`hwnas.search.catalog.ArchCatalog`), through a
`RunCostTable` that behaves like a `CostTable` (``values[ids]``, ``label``, ``cost``, ...).

Sources, per (space, device, metric):
* FBNet on HW-NAS-Bench's devices (jetson-tx2, raspi4, pixel3, eyeriss, fpga): the sum of
  HW-NAS-Bench's *measured* per-block latency / energy (`hwnas.devices.fbnet`), exactly as its API
  prices a network; labelled measured (per block).
* FBNet on HELP's devices (latency, CIFAR-100 skeleton): measured for HELP's 5,000 sampled
  networks, else predicted by an additive per-(layer, op) ridge model fitted on those 5,000
  (`fbnet_additive_model`); its hold-out accuracy (fit on 900, tested on the other 4,100) is
  quoted in the label.
* MobileNetV2 on TF-NAS's devices: TF-NAS's measured per-block look-up table
  (`hwnas.devices.tfnas`).
* ``flops`` / ``params`` of any space: counted on the network (`Space.cost`); source "counted".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

from hwnas.devices.measured import COST_SOURCES, Cost
from hwnas.errors import HwnasUsageError

SOURCE_CODES = {name: i for i, name in enumerate(COST_SOURCES)}
COUNT_METRICS = {"flops": "FLOPs", "params": "params"}  # device-independent metrics and their units

# genotypes [n, n_var] -> (values [n] float64, source codes [n] int8)
Compute = Callable[[np.ndarray], "tuple[np.ndarray, np.ndarray]"]


@dataclass
class RunCostTable:
    """(device, metric) costs of the architectures of one run, by run id; grows with the run's
    catalog. Duck-types `hwnas.devices.costs.CostTable` for the search and its reports."""

    space: str
    device: str
    metric: str
    unit: str
    provenance: dict[str, str]
    measured_input: str
    catalog: object  # hwnas.search.catalog.ArchCatalog
    compute: Compute
    minimum: float | None = None  # cost of the cheapest architecture of the space, where known
    cheapest: str | None = None  # that architecture's string
    extrapolated: None = None
    bound: None = None
    _values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))

    def _extend(self) -> None:
        n = len(self.catalog)
        have = self._values.size
        if n <= have:
            return
        genotypes = self.catalog.genotypes(range(have, n))
        values, codes = self.compute(genotypes)
        self._values = np.concatenate([self._values, np.asarray(values, dtype=np.float64)])
        self._codes = np.concatenate([self._codes, np.asarray(codes, dtype=np.int8)])

    @property
    def values(self) -> np.ndarray:
        self._extend()
        return self._values

    @property
    def source_codes(self) -> np.ndarray:
        self._extend()
        return self._codes

    def budget_values(self) -> np.ndarray:
        return self.values

    def is_extrapolated(self, index: int) -> bool:
        return False

    def source(self, index: int) -> str:
        return COST_SOURCES[int(self.source_codes[int(index)])]

    def label(self, index: int) -> str:
        return self.source(index)

    def cost(self, index: int) -> Cost:
        src = self.source(index)
        return Cost(float(self.values[int(index)]), self.unit, src, self.device, self.metric,
                    self.provenance.get(src, ""), self.measured_input)

    def counts(self) -> dict[str, int]:
        """How many of the run's architectures each source priced (the space is not enumerable)."""
        codes = self.source_codes
        out = {name: int(np.sum(codes == code)) for name, code in SOURCE_CODES.items()}
        if not out.get("counted"):
            out.pop("counted", None)
        return out


def run_cost_table(space: str, device: str | None, metric: str, dataset: str, catalog) -> RunCostTable:
    """The `RunCostTable` of (space, device, metric) for networks built for ``dataset``.
    ``device`` is ignored (may be None) for ``flops`` / ``params``. One-line usage errors for a
    pair without a source."""
    from hwnas.spaces import get_space

    sp = get_space(space)
    if metric in COUNT_METRICS:
        return _count_table(sp, metric, dataset, catalog)
    from hwnas.devices.registry import get_device

    dev = get_device(device)
    metric = dev.require_metric(metric)
    if sp.name == "fbnet":
        return _fbnet_table(dev, metric, dataset, catalog)
    if sp.name == "mbv2":
        return _mbv2_table(dev, metric, dataset, catalog)
    raise HwnasUsageError(f"no {metric} costs for space {sp.name!r} on {dev.name!r}")


def _count_table(sp, metric: str, dataset: str, catalog) -> RunCostTable:
    from hwnas.spaces.base import Arch

    def compute(genotypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vals = []
        for g in genotypes:
            c = sp.cost(Arch(sp.name, tuple(int(v) for v in g)), dataset)
            vals.append(float(c.flops if metric == "flops" else c.params))
        return np.array(vals), np.full(len(vals), SOURCE_CODES["counted"], dtype=np.int8)

    what = ("multiply-accumulates of conv and linear layers per sample (hwnas.counting)" if metric == "flops"
            else "trainable parameters")
    return RunCostTable(sp.name, "-", metric, COUNT_METRICS[metric], {"counted": f"counted on the built network: {what}"},
                        dataset, catalog, compute)


def _fbnet_table(dev, metric: str, dataset: str, catalog) -> RunCostTable:
    from hwnas.devices import fbnet
    from hwnas.spaces import get_space

    ds = fbnet.canonical_dataset(dataset)
    unit = dev.unit(metric)
    sp = get_space("fbnet")
    if dev.name in fbnet.LUT_DEVICE and dev.coverage_of("fbnet", metric):
        def compute(genotypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return (fbnet.fbnet_costs(genotypes, dev.name, metric, ds),
                    np.full(len(genotypes), SOURCE_CODES["measured"], dtype=np.int8))

        ops, low = fbnet.cheapest(dev.name, metric, ds)
        label = (f"{fbnet.lut_provenance()}: HW-NAS-Bench's measured per-block {metric}, summed over stem + 22 blocks "
                 f"+ head as its API sums them ({ds} skeleton)")
        return RunCostTable("fbnet", dev.name, metric, unit, {"measured": label}, ds, catalog, compute,
                            minimum=low, cheapest=sp.to_str(sp.from_genotype(ops)))
    if not dev.coverage_of("fbnet", metric):
        from hwnas.devices.measured import devices_with_data

        raise HwnasUsageError(f"no FBNet {metric} for {dev.name!r}; devices with FBNet {metric}: "
                              f"{', '.join(devices_with_data('fbnet', metric))}")
    if ds != "cifar100":
        raise HwnasUsageError(f"{dev.name!r} measured FBNet networks with the CIFAR-100 skeleton only (HELP); "
                              f"use --dataset cifar100, or a device with HW-NAS-Bench's block table for imagenet "
                              f"({', '.join(fbnet.LUT_DEVICE)})")
    model = fbnet_additive_model(dev.name, metric)
    from hwnas.devices.measured import measured_cost

    def compute(genotypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = model.predict(genotypes)
        codes = np.full(len(genotypes), SOURCE_CODES["predicted"], dtype=np.int8)
        for i, g in enumerate(genotypes):
            c = measured_cost("fbnet", [int(v) for v in g], dev.name, metric, ds)
            if c is not None:
                values[i], codes[i] = c.value, SOURCE_CODES["measured"]
        return values, codes

    low_ops = np.argmin(model.layer_costs, axis=1)
    low = float(model.predict(low_ops[None, :])[0])
    provenance = {"measured": f"HELP's FBNet measurement of this network on {dev.name} (CIFAR-100 skeleton)",
                  "predicted": model.label}
    return RunCostTable("fbnet", dev.name, metric, unit, provenance, ds, catalog, compute,
                        minimum=low, cheapest=sp.to_str(sp.from_genotype(low_ops)))


@dataclass(frozen=True)
class AdditiveModel:
    """cost = intercept + sum over layers of a per-(layer, op) term, in the device's unit."""

    intercept: float
    layer_costs: np.ndarray  # [22, 9]
    label: str

    def predict(self, genotypes: np.ndarray) -> np.ndarray:
        g = np.asarray(genotypes, dtype=np.int64)
        return self.intercept + self.layer_costs[np.arange(g.shape[1])[None, :], g].sum(axis=1)


def _one_hot(ops: np.ndarray) -> np.ndarray:
    n, layers = ops.shape
    X = np.zeros((n, layers * 9))
    X[np.arange(n)[:, None], np.arange(layers)[None, :] * 9 + ops] = 1.0
    return X


def _fit_additive(ops: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    from sklearn.linear_model import Ridge

    reg = Ridge(alpha=1e-3).fit(_one_hot(ops), y)
    return float(reg.intercept_), reg.coef_.reshape(ops.shape[1], 9)


@lru_cache(maxsize=64)
def fbnet_additive_model(device: str, metric: str = "latency") -> AdditiveModel:
    """The additive per-(layer, op) model of a HELP device's FBNet latency, fitted (ridge) on all
    measured networks; the label quotes its accuracy fitted on 900 and tested on the other
    measured networks (Spearman, % within +-10 %)."""
    from scipy.stats import spearmanr

    from hwnas.devices.measured import fbnet_archs, measured_column

    ops = fbnet_archs()
    y = measured_column("fbnet", device, metric)
    ok = np.isfinite(y)
    ops, y = ops[ok], y[ok]
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(y))
    train, test = perm[:900], perm[900:]
    b, w = _fit_additive(ops[train], y[train])
    pred = b + w[np.arange(ops.shape[1])[None, :], ops[test]].sum(axis=1)
    rho = float(spearmanr(pred, y[test])[0])
    within = float(np.mean(np.abs(pred / y[test] - 1) <= 0.10) * 100)
    b, w = _fit_additive(ops, y)
    label = (f"predicted: additive per-(layer, op) ridge model fitted on HELP's {len(y):,} measured FBNet networks on "
             f"{device}; fitted on 900 of them it predicts the other {len(test):,} with Spearman {rho:.3f}, "
             f"{within:.0f} % within +-10 %")
    return AdditiveModel(b, w, label)


def _mbv2_table(dev, metric: str, dataset: str, catalog) -> RunCostTable:
    from hwnas.devices import tfnas

    return tfnas.run_cost_table(dev, metric, dataset, catalog)
