"""The cost service: one cost per architecture, device and metric, and where it came from.

Preference order, per architecture: **measured** (the shipped tables or a registered HW-NAS-Bench
pickle, `hwnas.devices.measured`) > **predicted** (a pre-trained predictor shipped with the
package, `hwnas.predictors.pretrained`) > **estimated** (a model transferred from other
measurements, e.g. NB201 energy from FBNet block power, `hwnas.devices.energy`). Every value
keeps its source, so a report can say which numbers were measured.

Architectures the source marks as failed on a device (Edge TPU compile failures) get +inf: they
cannot be deployed there and no budget admits them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hwnas.devices.measured import COST_SOURCES, Cost, canonical_space, failed_archs, measured_column
from hwnas.devices.registry import get_device
from hwnas.errors import HwnasUsageError

NB201_SIZE = 15_625
SOURCE_CODES = {name: i for i, name in enumerate(COST_SOURCES)}  # measured 0, predicted 1, estimated 2
Z_BOUND = 1.959964  # one-sided 97.5 % normal quantile: budget bound = prediction x exp(Z sd_log)


@dataclass(frozen=True)
class CostTable:
    """(device, metric) cost of every architecture of a space, in the space's index order.

    ``values``: float64 in ``unit`` (+inf = fails on the device); ``source_codes``: int8 index
    into `COST_SOURCES` per architecture; ``provenance``: source name -> one-line label."""

    space: str
    device: str
    metric: str
    unit: str
    values: np.ndarray
    source_codes: np.ndarray
    provenance: dict[str, str]
    measured_input: str  # input the measured values were taken with (e.g. "cifar10")
    extrapolated: np.ndarray | None = None  # bool per arch: a non-measured value outside what was measured
    bound: np.ndarray | None = None  # per arch: upper 97.5 % bound of a prediction with stated uncertainty

    def budget_values(self) -> np.ndarray:
        """What budgets are checked against: the upper bound where a prediction states its
        uncertainty (`bound`), else the value."""
        return self.values if self.bound is None else self.bound

    def is_extrapolated(self, index: int) -> bool:
        """True where a predicted/estimated value lies outside the measured cost range or its
        architecture outside the measured architectures' op-count envelope."""
        return bool(self.extrapolated is not None and self.extrapolated[index])

    def label(self, index: int) -> str:
        """``measured``, ``predicted``, ``predicted, extrapolated``, ``estimated``, ..."""
        src = self.source(index)
        return f"{src}, extrapolated" if self.is_extrapolated(index) else src

    def source(self, index: int) -> str:
        return COST_SOURCES[int(self.source_codes[index])]

    def cost(self, index: int) -> Cost:
        src = self.source(index)
        return Cost(float(self.values[index]), self.unit, src, self.device, self.metric,
                    self.provenance.get(src, ""), self.measured_input)

    def counts(self) -> dict[str, int]:
        """How many architectures each source covers (``counted`` only where it is used)."""
        out = {name: int(np.sum(self.source_codes == code)) for name, code in SOURCE_CODES.items()}
        if not out.get("counted"):
            out.pop("counted", None)
        return out


def count_table(space: str, metric: str, dataset: str) -> CostTable:
    """FLOPs (multiply-accumulates per sample) or parameters of every NAS-Bench-201 architecture
    built for ``dataset``, as a `CostTable` with source ``counted`` (no device)."""
    from hwnas.spaces.nb201 import cost_arrays

    if canonical_space(space) != "nb201":
        raise HwnasUsageError(f"whole-space count tables exist for nb201 only, not {space!r}")
    params, flops = cost_arrays(dataset)
    values = (flops if metric == "flops" else params).astype(np.float64)
    codes = np.full(values.size, SOURCE_CODES["counted"], dtype=np.int8)
    for arr in (values, codes):
        arr.setflags(write=False)
    what = ("multiply-accumulates of conv and linear layers per sample (NAS-Bench-201 convention)"
            if metric == "flops" else "trainable parameters")
    return CostTable("nb201", "-", metric, "FLOPs" if metric == "flops" else "params", values, codes,
                     {"counted": f"counted on the built network: {what}"}, dataset)


def metric_table(space: str, device: str | None, metric: str, dataset: str) -> CostTable:
    """The whole-space table of one objective or budget: `count_table` for FLOPs / params (no
    device needed), else ``device``'s `cost_table` (a one-line usage error without a device)."""
    from hwnas.search.budget import COUNT_METRICS

    if metric in COUNT_METRICS:
        return count_table(space, metric, dataset)
    if device is None:
        raise HwnasUsageError(f"a {metric} budget needs a device: add --device")
    return cost_table(space, device, metric)


def cost_table(space: str, device: str, metric: str = "latency") -> CostTable:
    """Every architecture's (device, metric) cost, measured where possible (see module doc).

    A one-line usage error for an unknown device or metric, a device without that metric, or a
    space/device pair with neither measurements, a shipped predictor nor an estimate."""
    dev = get_device(device)
    metric = dev.require_metric(metric)
    space = canonical_space(space)
    if space != "nb201":
        raise HwnasUsageError(f"whole-space cost tables exist for nb201 only, not {space!r}")
    return _nb201_table(dev.name, metric)


@lru_cache(maxsize=64)
def _nb201_table(device: str, metric: str) -> CostTable:
    """The table from the disk cache (`hwnas.devices.cost_cache`) or built and cached."""
    from hwnas.devices import cost_cache

    cached = cost_cache.load(device, metric)
    if cached is not None:
        return cached
    table = _build_nb201_table(device, metric)
    cost_cache.save(table)
    return table


def _build_nb201_table(device: str, metric: str) -> CostTable:
    dev = get_device(device)
    unit = dev.unit(metric)
    from hwnas.devices.user import is_user_device

    if is_user_device(dev.name):
        return _user_table(dev, metric)
    values = measured_column("nb201", device, metric)
    bound = None
    codes = np.full(NB201_SIZE, SOURCE_CODES["measured"], dtype=np.int8)
    provenance: dict[str, str] = {}
    measured = np.isfinite(values)
    if measured.any():
        provenance["measured"] = _measured_label(device, metric)
    missing = ~measured
    if missing.any():
        from hwnas.predictors.pretrained import available_pretrained

        idx = np.flatnonzero(missing)
        if (dev.name, metric) in available_pretrained("nb201"):
            # class-level devices: one value per isomorphism class, predicted at its lowest index (as measured)
            first = class_first_index()[idx] if dev.class_level else idx
            rows, member_row = np.unique(first, return_inverse=True)
            pred, sd, provenance["predicted"] = _predict_shipped(dev.name, metric, rows)
            values[idx] = pred[member_row]
            if sd is not None:
                bound = values.copy()
                bound[idx] = values[idx] * np.exp(Z_BOUND * sd[member_row])
            codes[idx] = SOURCE_CODES["predicted"]
        elif metric == "energy":
            from hwnas.devices import energy

            if dev.name not in energy.ENERGY_DEVICES:
                raise HwnasUsageError(
                    f"no nb201 energy for {dev.name!r}: nothing was measured and no estimate exists; "
                    f"devices with nb201 energy: {', '.join(_energy_devices())}"
                )
            latency = _nb201_table(device, "latency")
            values[idx] = energy.estimate_energy_mj("nb201", idx, latency.values[idx], dev.name)
            if latency.bound is not None:  # the estimate at the latency's upper bound
                bound = values.copy()
                bound[idx] = energy.estimate_energy_mj("nb201", idx, latency.bound[idx], dev.name)
            codes[idx] = SOURCE_CODES["estimated"]
            provenance["estimated"] = energy.energy_provenance(dev.name)
        else:
            have = sorted({d for d, m in available_pretrained("nb201") if m == metric})
            raise HwnasUsageError(
                f"{dev.name!r} {metric} was measured for {int(measured.sum()):,} of {NB201_SIZE:,} nb201 "
                f"archs and no pre-trained predictor covers the rest; fully measured or predicted devices: "
                f"{', '.join(sorted(set(have) | set(_fully_measured(metric))))}"
            )
    failed = failed_archs("nb201", dev.name, metric)
    values[failed] = np.inf
    codes[failed] = SOURCE_CODES["measured"]
    extrapolated = extrapolation_mask(values, codes)
    if bound is not None:
        bound[failed] = np.inf
    for arr in (values, codes, extrapolated) + ((bound,) if bound is not None else ()):
        arr.setflags(write=False)
    from hwnas.devices.measured import measured_input

    source_input = measured_input("nb201", dev.name, metric) or _coverage_input(dev, metric)
    return CostTable("nb201", dev.name, metric, unit, values, codes, provenance, source_input, extrapolated, bound)


def _coverage_input(dev, metric: str) -> str:
    """The input the device's NB201 numbers were taken with, as its registry record states it
    (``CIFAR-100 input; ...``); CIFAR-10, HW-NAS-Bench's input, where it says nothing."""
    details = [c.detail for c in dev.coverage_of("nb201", metric)]
    return "cifar100" if any(d.startswith("CIFAR-100") for d in details) else "cifar10"


@lru_cache(maxsize=1)
def nb201_op_counts() -> np.ndarray:
    """[15625, 5] int: how many of a cell's six edges carry each NB201 op (none, skip, 1x1, 3x3, pool)."""
    from hwnas.spaces.nb201 import _index_tables

    genotypes = _index_tables()[0]
    counts = np.stack([(genotypes == op).sum(1) for op in range(5)], axis=1)
    counts.setflags(write=False)
    return counts


def extrapolation_mask(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Bool per NB201 arch: a value that is not measured and lies outside the measured values' range,
    or whose cell has an op count outside the envelope (per op min..max) of the measured cells.
    All False where nothing or everything is measured."""
    measured = (codes == SOURCE_CODES["measured"]) & np.isfinite(values)
    out = np.zeros(values.shape, dtype=bool)
    if not measured.any() or measured.all():
        return out
    lo, hi = values[measured].min(), values[measured].max()
    counts = nb201_op_counts()
    cmin, cmax = counts[measured].min(0), counts[measured].max(0)
    outside = ((counts < cmin) | (counts > cmax)).any(1)
    out = ~measured & np.isfinite(values) & ((values < lo) | (values > hi) | outside)
    return out


@lru_cache(maxsize=1)
def class_first_index() -> np.ndarray:
    """For every NB201 index, the lowest index of its isomorphism class: the network HW-NAS-Bench-360
    measured for the class (its ``rep_arch_idx``)."""
    from hwnas.spaces.nb201 import representative_indices

    reps = representative_indices()
    first = np.full(reps.max() + 1, NB201_SIZE, dtype=np.int64)
    np.minimum.at(first, reps, np.arange(reps.size))
    out = first[reps]
    out.setflags(write=False)
    return out


def _user_table(dev, metric: str) -> CostTable:
    """A user device: measured where the user measured, the few-shot adapter's prediction elsewhere;
    extrapolated = predicted outside the measured values' range (the sources cover every arch)."""
    from hwnas.devices.user import load_adapter

    adapter, record = load_adapter(dev.name, metric)
    values = adapter.predict(np.arange(NB201_SIZE)).astype(np.float64)
    codes = np.full(NB201_SIZE, SOURCE_CODES["predicted"], dtype=np.int8)
    idx = np.asarray(adapter.sample_indices, dtype=np.int64)
    values[idx] = np.asarray(adapter.sample_values, dtype=np.float64)
    codes[idx] = SOURCE_CODES["measured"]
    loo = record.get("loo", {})
    provenance = {"measured": f"your measurements {record.get('measurements', '?')} (sha256 "
                              f"{str(record.get('measurements_sha256', '?'))[:12]})",
                  "predicted": f"few-shot adapter from {record['n_measurements']} of your measurements and "
                               f"{len(adapter.sources)} fully measured devices; leave-one-out Spearman "
                               f"{loo.get('spearman', float('nan')):.3f}, within +-10 % "
                               f"{loo.get('acc10_pct', float('nan')):.1f} % (on your samples)"}
    lo, hi = values[idx].min(), values[idx].max()
    extrapolated = (codes == SOURCE_CODES["predicted"]) & ((values < lo) | (values > hi))
    for arr in (values, codes, extrapolated):
        arr.setflags(write=False)
    return CostTable("nb201", dev.name, metric, dev.unit(metric), values, codes, provenance,
                     str(record.get("dataset", "cifar100")), extrapolated)


def _predict_shipped(device: str, metric: str, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Predictions of the shipped pre-trained predictor for NB201 indices ``idx``, their log-scale
    standard deviation, and its label. The sd is the model's own where it states one (gp); else,
    for a subset-only device, the one that puts the upper 97.5 % bound at the largest of the
    model's views (they disagree where it extrapolates) x exp(q), q the 97.5th percentile of
    log(measured / largest view) measured for the same model outside the subset
    (``subset_shift.budget_bound_views_q975`` of its JSON, `bench/subset_shift.py`), or without
    views at the prediction x exp(q) (``budget_bound_q975``); else None."""
    from hwnas.predictors.pretrained import load_pretrained, pretrained_info
    from hwnas.spaces import get_space

    sp = get_space("nb201")
    predictor = load_pretrained(device, metric, "nb201")
    info = pretrained_info(device, metric, "nb201")
    archs = [sp.arch_at(int(i)) for i in idx]
    values = predictor.predict(archs)
    sd = predictor.predict_log_sd(archs) if hasattr(predictor, "predict_log_sd") else None
    label = _predicted_label(info)

    def median_margin(sd: np.ndarray) -> str:
        return f"median +{100 * (np.exp(Z_BOUND * np.median(sd)) - 1):.1f} %"

    if sd is not None:
        return values, sd, label + (f"; budgets are checked against each prediction's upper 97.5 % bound "
                                    f"({median_margin(sd)})")
    shift = info.get("subset_shift") or {}
    views = shift.get("budget_bound_views_q975")
    bound = shift.get("budget_bound_q975")
    if views and hasattr(predictor, "view_costs"):
        view_costs = predictor.view_costs(archs)
        upper = view_costs.max(axis=1) * np.exp(float(views["log_ratio"]))
        sd = np.maximum(np.log(upper / values), 0.0) / Z_BOUND
        label += (f"; budgets are checked against the largest of the model's {view_costs.shape[1]} "
                  f"views x {np.exp(float(views['log_ratio'])):.3f} (97.5 % of measured values are below it outside "
                  f"the subset over the same {views['devices']} devices; {median_margin(sd)} over the prediction, "
                  f"more where the views disagree)")
    elif bound:
        sd = np.full(values.shape, max(float(bound["log_ratio"]), 0.0) / Z_BOUND)
        label += (f"; budgets are checked against prediction x {np.exp(float(bound['log_ratio'])):.3f}, the "
                  f"97.5th percentile of measured / predicted outside the subset over the same "
                  f"{bound['devices']} devices")
    return values, sd, label


def _energy_devices() -> list[str]:
    """Devices whose NB201 energy is measured, predicted or estimated."""
    from hwnas.devices import energy
    from hwnas.predictors.pretrained import available_pretrained

    have = {d for d, m in available_pretrained("nb201") if m == "energy"} | set(energy.ENERGY_DEVICES)
    return sorted(have | set(_fully_measured("energy")))


def _measured_label(device: str, metric: str) -> str:
    from hwnas.devices.measured import _nb201_view

    labels = [c.label for c in _nb201_view().get((device, metric), [])]
    return "; ".join(dict.fromkeys(labels))


def _predicted_label(info: dict) -> str:
    """How a shipped predictor was trained and how well it is known *where it is used*: for a
    device measured on a subset only, the subset-shift figure of its model (trained on the
    subset, tested on the architectures the subset leaves out), else its holdout figure."""
    model = info.get("model", "predictor")
    shift = info.get("subset_shift") or {}
    if shift:
        return (f"pre-trained {model} shipped with hwnas (trained on {info.get('train_size', '?'):,} of the "
                f"{info.get('measured_archs', '?'):,} measured archs); where it is used, outside the measured "
                f"subset: Spearman {shift['spearman']:.3f}, within +-10 % {shift['acc10_pct']:.1f} % (cheapest "
                f"30 %: {shift['cheap30_acc10_pct']:.1f} %), measured for the same model on {shift['devices']} "
                f"fully measured devices (bench/subset_shift.py"
                + (f", every source closer than Spearman {shift.get('max_source_spearman')} to the target left out, "
                   f"as no source is close to this device: its closest reaches {shift['best_source_spearman']:.2f} "
                   f"on its subset" if "no-twin" in str(shift.get("protocol")) else "")
                + f"); inside the subset: holdout Spearman {info.get('holdout', {}).get('spearman', float('nan')):.3f}")
    metrics = info.get("holdout") or {}
    rho = metrics.get("spearman")
    acc = metrics.get("acc10_pct")
    extra = f"; holdout Spearman {rho:.3f}" if isinstance(rho, (int, float)) else ""
    extra += f", within +-10 % {acc:.1f} %" if isinstance(acc, (int, float)) else ""
    return f"pre-trained {model} shipped with hwnas (trained on {info.get('train_size', '?'):,} measured archs{extra})"


def _fully_measured(metric: str) -> list[str]:
    from hwnas.devices.measured import devices_with_data

    return [d for d in devices_with_data("nb201", metric)
            if np.isfinite(measured_column("nb201", d, metric)).all()]


def predict_cost(space: str, archs, device: str, metric: str = "latency"):
    """The (``device``, ``metric``) cost of ``archs`` as a pandas DataFrame with columns
    ``arch_index, arch, value, unit, source, support, upper`` (source: measured / predicted /
    estimated; support: ``in_range``, or ``extrapolated`` where a predicted value lies outside the
    measured values' range or its cell outside the measured cells' op-count envelope; upper: what
    a budget is checked against, the upper 97.5 % bound where the prediction states one, else
    the value).

    ``archs``: ``"all"``, an architecture spec (``"0-99,6111,sample:20"``, see `hwnas profile`), or an
    iterable of indices, arch strings or `Arch`. Unknown device, metric or architecture: a
    one-line `HwnasUsageError`."""
    import pandas as pd

    from hwnas.devices.measured import nb201_index
    from hwnas.spaces import get_space

    sp = get_space(space)
    table = cost_table(sp.name, device, metric)  # nb201 only: a usage error for other spaces
    if isinstance(archs, str):
        from hwnas.devices.profile import parse_arch_spec

        indices = parse_arch_spec(sp.name, archs)
    else:
        indices = [nb201_index(a) for a in archs]
    idx = np.asarray(indices, dtype=np.int64)
    ext = table.extrapolated[idx] if table.extrapolated is not None else np.zeros(idx.size, dtype=bool)
    return pd.DataFrame({
        "arch_index": idx,
        "arch": [sp.to_str(sp.arch_at(int(i))) for i in idx],
        "value": table.values[idx],
        "unit": table.unit,
        "source": [COST_SOURCES[int(c)] for c in table.source_codes[idx]],
        "support": np.where(ext, "extrapolated", "in_range"),
        "upper": table.budget_values()[idx],
    })
