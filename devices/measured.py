"""Measured costs: look up what was actually measured for (space, arch, device, metric).

Sources, in order of preference: HW-NAS-Bench's own pickle where the user registered it
(`hwnas data add-hwnasbench`), then the tables shipped in ``hwnas/_data`` (built by
``scripts/build_measured_tables.py``; see their JSON for the provenance of every column).
A lookup returns a `Cost` that names its source, or None where nothing was measured: the cost
service decides what to do then (predict, estimate). Nothing here predicts.

NB201 inputs: HW-NAS-Bench's columns are for the CIFAR-10 input (the registered pickle adds
CIFAR-100 and ImageNet16-120); the HELP, Eagle and nn-Meter sources do not state their input.
``dataset=None`` takes whatever input the measurement used (HW-NAS-Bench: cifar10); an explicit
dataset only matches measurements recorded for that input.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import numpy as np

from hwnas.devices import _tables
from hwnas.devices.registry import Device, get_device
from hwnas.errors import HwnasUsageError

COST_SOURCES: tuple[str, ...] = ("measured", "predicted", "estimated", "counted")
SPACES_WITH_DATA: tuple[str, ...] = ("nb201", "fbnet")


@dataclass(frozen=True)
class Cost:
    """A hardware cost with its unit and where it came from. Never a bare float."""

    value: float
    unit: str
    source: str  # measured | predicted | estimated
    device: str
    metric: str
    provenance: str
    dataset: str | None = None

    def __post_init__(self) -> None:
        if self.source not in COST_SOURCES:
            raise ValueError(f"Cost.source must be one of {COST_SOURCES}, not {self.source!r}")

    def __str__(self) -> str:
        return f"{self.value:.4g} {self.unit} ({self.source})"


@dataclass(frozen=True)
class _Column:
    values: np.ndarray  # one value per row, NaN = not measured
    dataset: str | None  # None: input not stated by the source
    label: str  # provenance string for Cost


# --- spaces and architectures -------------------------------------------------------------------
def canonical_space(space: str) -> str:
    from hwnas.spaces import SPACES

    key = str(space).strip().lower()
    if key == "fbnet":
        return "fbnet"
    try:
        name = SPACES.canonical(key)
    except HwnasUsageError:
        name = None
    if name not in SPACES_WITH_DATA:
        raise HwnasUsageError(f"no measured costs for search space {space!r}; spaces with data: "
                              f"{', '.join(SPACES_WITH_DATA)}")
    return name


def _nb201_dataset(dataset: str | None) -> str | None:
    if dataset is None:
        return None
    from hwnas.spaces import get_space

    return get_space("nb201").dataset(dataset).name


def nb201_index(arch_or_index) -> int:
    """NAS-Bench-201 index of an index, `Arch`, arch string or 6 op ids."""
    from hwnas.spaces import get_space
    from hwnas.spaces.base import Arch

    space = get_space("nb201")
    if isinstance(arch_or_index, (int, np.integer)) and not isinstance(arch_or_index, bool):
        return space.index(space.arch_at(int(arch_or_index)))
    if isinstance(arch_or_index, Arch):
        if arch_or_index.space != "nb201":
            raise HwnasUsageError(f"architecture of space {arch_or_index.space!r} given for nb201")
        return space.index(space.from_genotype(arch_or_index.genotype))
    if isinstance(arch_or_index, str):
        return space.index(space.parse(arch_or_index))
    return space.index(space.from_genotype(arch_or_index))


def _fbnet_ops(arch) -> tuple[int, ...]:
    from hwnas.devices.fbnet import check_op_ids
    from hwnas.spaces.base import Arch

    if isinstance(arch, Arch):
        if arch.space != "fbnet":
            raise HwnasUsageError(f"architecture of space {arch.space!r} given for fbnet")
        arch = arch.genotype
    if isinstance(arch, str):
        try:
            arch = [int(v) for v in arch.replace(",", " ").split()]
        except ValueError:
            raise HwnasUsageError(f"cannot read FBNet architecture {arch!r}: give 22 op ids 0..8") from None
    ops = check_op_ids(arch)
    if ops.ndim != 1:
        raise HwnasUsageError("give one FBNet architecture (22 op ids)")
    return tuple(int(v) for v in ops)


# --- the merged views (registered pickle first, then shipped) -------------------------------------
def _short_repo(url: str) -> str:
    return url.removeprefix("https://github.com/")


def _shipped_label(rec: dict) -> str:
    up = rec["upstream"]
    text = f"{rec['source_file']}[{rec['source_column']}] from {_short_repo(up['repo'])}@{up['commit'][:7]} ({up['license']})"
    origin = rec.get("origin", {})
    if origin.get("name") and origin.get("name") not in text and origin.get("name") != "HELP":
        text += f", data of {origin['name']} ({origin.get('license', '?')})"
    return f"{text}; input: {rec.get('input', 'not stated')}"


def _user_label(meta: dict, dataset: str) -> str:
    return (f"HW-NAS-Bench's {meta.get('source_name', 'pickle')} (GATECH-EIC/HW-NAS-Bench, MIT), "
            f"registered {meta.get('registered_at', '?')}, sha256 {meta.get('sha256', '?')[:12]}; input: {dataset}")


def _hw360_label(meta: dict, dataset: str) -> str:
    return (f"HW-NAS-Bench-360's {meta.get('source_name', 'dataset.parquet')} (roldebijvank/HW-NAS-Bench-360), "
            f"registered {meta.get('registered_at', '?')}, sha256 {meta.get('sha256', '?')[:12]}; input: {dataset}")


def _columns(arrays: dict[str, np.ndarray]):
    for j, (dev, metric, ds) in enumerate(zip(arrays["col_device"], arrays["col_metric"], arrays["col_dataset"])):
        yield j, str(dev), str(metric), (str(ds) or None)


def _nb201_view() -> dict[tuple[str, str], list[_Column]]:
    """(device, metric) -> columns in order of preference (registered pickle, then shipped)."""
    return _nb201_view_at(str(_tables.user_data_dir()))


@lru_cache(maxsize=4)
def _nb201_view_at(user_root: str) -> dict[tuple[str, str], list[_Column]]:
    view: dict[tuple[str, str], list[_Column]] = {}
    user = _tables.registered("nb201")
    if user is not None:
        arrays, meta = user
        for j, dev, metric, ds in _columns(arrays):
            view.setdefault((dev, metric), []).append(_Column(arrays["values"][:, j], ds, _user_label(meta, ds or "?")))
    hw360 = _tables.registered("nb201", _tables.HW360_DIR)
    if hw360 is not None:
        arrays, meta = hw360
        for j, dev, metric, ds in _columns(arrays):
            view.setdefault((dev, metric), []).append(_Column(arrays["values"][:, j], ds, _hw360_label(meta, ds or "?")))
    arrays, meta = _tables.shipped(_tables.NB201_TABLE)
    for j, dev, metric, ds in _columns(arrays):
        rec = meta["columns"][j]
        view.setdefault((dev, metric), []).append(_Column(arrays["values"][:, j], ds, _shipped_label(rec)))
    return view


@lru_cache(maxsize=1)
def _fbnet_view() -> tuple[dict[tuple[int, ...], int], np.ndarray, dict[tuple[str, str], list[_Column]]]:
    arrays, meta = _tables.shipped(_tables.FBNET_TABLE)
    ops = arrays["op_ids"]
    rows = {tuple(int(v) for v in r): i for i, r in enumerate(ops)}
    view: dict[tuple[str, str], list[_Column]] = {}
    for j, dev, metric, ds in _columns(arrays):
        view.setdefault((dev, metric), []).append(_Column(arrays["values"][:, j], ds, _shipped_label(meta["columns"][j])))
    return rows, ops, view


def _matches(column: _Column, dataset: str | None, default: str) -> bool:
    if dataset is None:
        return column.dataset in (None, default)
    return column.dataset == dataset


def _usable(columns: list[_Column], dataset: str | None, default: str) -> list[_Column]:
    """The columns that answer for ``dataset``; with ``dataset=None`` those of the ``default`` input
    (or unstated), else -- a device measured with one other input only, e.g. HW-NAS-Bench-360's
    CIFAR-100 -- those of that input."""
    chosen = [c for c in columns if _matches(c, dataset, default)]
    if chosen or dataset is not None or not columns:
        return chosen
    first = columns[0].dataset
    return [c for c in columns if c.dataset == first]


def measured_input(space: str, device: "str | Device", metric: str = "latency") -> str | None:
    """The input (dataset) that ``dataset=None`` lookups of (device, metric) return, or None where
    nothing was measured or the source does not state it."""
    dev = get_device(device)
    if canonical_space(space) != "nb201":
        return "cifar100"
    cols = [c for c in _usable(_nb201_view().get((dev.name, dev.require_metric(metric)), []), None, "cifar10")
            if np.isfinite(c.values).any()]
    return cols[0].dataset if cols else None


# --- public API -------------------------------------------------------------------------------------
def measured_cost(space: str, arch_or_index, device: "str | Device", metric: str = "latency",
                  dataset: str | None = None) -> Cost | None:
    """The measured cost of one architecture, or None where it was not measured on ``device``.

    ``space`` is ``nb201`` (arch: index, `Arch`, arch string or 6 op ids) or ``fbnet`` (22 op ids
    0..8). Unknown device or metric, or a device without that metric: a one-line usage error."""
    dev = get_device(device)
    metric = dev.require_metric(metric)
    space = canonical_space(space)
    if space == "nb201":
        index = nb201_index(arch_or_index)
        ds = _nb201_dataset(dataset)
        for col in _usable(_nb201_view().get((dev.name, metric), []), ds, "cifar10"):
            if np.isfinite(col.values[index]):
                return Cost(float(col.values[index]), dev.unit(metric), "measured", dev.name, metric, col.label,
                            col.dataset)
        return None
    from hwnas.devices import fbnet

    ops = _fbnet_ops(arch_or_index)
    ds = fbnet.canonical_dataset(dataset) if dataset is not None else None
    if dev.name in fbnet.LUT_DEVICE:
        if not dev.coverage_of("fbnet", metric):
            return None
        value = fbnet.fbnet_cost(ops, dev.name, metric, ds or "cifar100")
        label = f"{fbnet.lut_provenance()}: stem + 22 blocks + head, as HW-NAS-Bench's API sums them"
        return Cost(value, dev.unit(metric), "measured", dev.name, metric, label, ds or "cifar100")
    rows, _, view = _fbnet_view()
    row = rows.get(ops)
    if row is None:
        return None
    for col in view.get((dev.name, metric), []):
        if _matches(col, ds, "cifar100") and np.isfinite(col.values[row]):
            return Cost(float(col.values[row]), dev.unit(metric), "measured", dev.name, metric, col.label, col.dataset)
    return None


def measured_column(space: str, device: "str | Device", metric: str = "latency",
                    dataset: str | None = None) -> np.ndarray:
    """Every measured value of (device, metric) in ``space`` as float64 with NaN = not measured.

    nb201: 15,625 values in NAS-Bench-201 index order. fbnet: one value per architecture of
    `fbnet_archs()` (HELP's 5,000 sampled archs); block-LUT devices are priced by the LUT."""
    dev = get_device(device)
    metric = dev.require_metric(metric)
    space = canonical_space(space)
    if space == "nb201":
        ds = _nb201_dataset(dataset)
        out = np.full(15_625, np.nan)
        for col in _usable(_nb201_view().get((dev.name, metric), []), ds, "cifar10"):
            fill = np.isnan(out) & np.isfinite(col.values)
            out[fill] = col.values[fill]
        return out
    from hwnas.devices import fbnet

    ds = fbnet.canonical_dataset(dataset) if dataset is not None else None
    _, ops, view = _fbnet_view()
    if dev.name in fbnet.LUT_DEVICE and dev.coverage_of("fbnet", metric):
        return fbnet.fbnet_costs(ops, dev.name, metric, ds or "cifar100")
    out = np.full(len(ops), np.nan)
    for col in view.get((dev.name, metric), []):
        if _matches(col, ds, "cifar100"):
            fill = np.isnan(out) & np.isfinite(col.values)
            out[fill] = col.values[fill]
    return out


def fbnet_archs() -> np.ndarray:
    """Op ids [5000, 22] of HELP's FBNet sample: the rows of `measured_column('fbnet', ...)`."""
    return _fbnet_view()[1].astype(np.int64)


def failed_archs(space: str, device: "str | Device", metric: str = "latency") -> np.ndarray:
    """Architectures (NB201 indices) that the source marks as failed on ``device`` (e.g. Edge TPU
    compile failures, -1 upstream): not deployable there, and never a cost."""
    dev = get_device(device)
    metric = dev.require_metric(metric)
    if canonical_space(space) != "nb201":
        return np.zeros(0, dtype=np.int64)
    found: set[int] = set()
    sources = [_tables.shipped(_tables.NB201_TABLE)]
    user = _tables.registered("nb201")
    if user is not None:
        sources.append(user)
    for arrays, _ in sources:
        for row, col in zip(arrays["failed_rows"], arrays["failed_cols"]):
            if str(arrays["col_device"][col]) == dev.name and str(arrays["col_metric"][col]) == metric:
                found.add(int(row))
    return np.array(sorted(found), dtype=np.int64)


def devices_with_data(space: str, metric: str = "latency") -> list[str]:
    """Devices with at least one measured ``metric`` value in ``space`` (shipped or registered)."""
    space = canonical_space(space)
    if space == "nb201":
        keys = {dev for (dev, m), cols in _nb201_view().items()
                if m == metric and any(np.isfinite(c.values).any() for c in cols)}
    else:
        from hwnas.devices import fbnet

        _, _, view = _fbnet_view()
        keys = {dev for (dev, m) in view if m == metric}
        keys |= {d for d in fbnet.LUT_DEVICE if get_device(d).coverage_of("fbnet", metric)}
    return sorted(keys)

