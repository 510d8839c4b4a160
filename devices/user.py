"""User devices: a device learned from the user's own measurements (`hwnas predictors adapt`).

A user device lives in the user data folder (``$HWNAS_HOME`` or ``~/.local/share/hwnas``) as
``devices/<name>/``: ``device.json`` (the record) and, per metric, ``<metric>.npz`` (the few-shot
adapter's arrays, `hwnas.predictors.adapt.Adapter.to_arrays`) plus ``<metric>.json`` (its config
and how it was made). Version-neutral files, read with ``allow_pickle=False``; never pickles.

`hwnas.devices.get_device` finds user devices after the built-in ones, `all_devices` lists them,
and the cost service (`hwnas.devices.costs`) prices them: **measured** for the architectures the
user measured, **predicted** by the adapter everywhere else.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hwnas.devices import _tables
from hwnas.devices.registry import KINDS, METRIC_UNITS, Coverage, Device
from hwnas.errors import HwnasUsageError
from hwnas.storage import atomic_write

DEVICES_DIR = "devices"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
SOURCE = "your measurements (hwnas predictors adapt)"
COLUMNS = {"latency": "latency_ms", "energy": "energy_mj"}


@dataclass(frozen=True)
class Measurements:
    """Measured costs read from a user's CSV: NB201 indices and values (ms or mJ), one per arch."""

    metric: str
    indices: np.ndarray
    values: np.ndarray
    path: str
    sha256: str


def devices_root() -> Path:
    return _tables.user_data_dir() / DEVICES_DIR


def check_name(name: str, allow_local: bool = False) -> str:
    """A valid new user-device name (lower case, digits, ``.``, ``_``, ``-``; not a built-in name;
    ``local``, this machine, only with ``allow_local``)."""
    from hwnas.devices.registry import DEVICES

    key = str(name).strip().lower()
    if not NAME_RE.match(key):
        raise HwnasUsageError(f"device name {name!r} is not valid: use 1-40 lower-case letters, digits, '.', '_' "
                              "or '-', starting with a letter or digit (e.g. my-pi)")
    try:
        builtin = DEVICES.canonical(key)
    except HwnasUsageError:
        builtin = None
    if builtin is not None and not (allow_local and builtin == "local"):
        raise HwnasUsageError(f"{name!r} names the built-in device {builtin!r}; choose another --name (e.g. my-{key})")
    return key


def read_measurements(path: "str | Path", metric: str | None = None, space: str = "nb201") -> Measurements:
    """Read a measurements CSV: column ``arch`` (NB201 index, arch string or six op ids) and
    ``latency_ms`` or ``energy_mj`` (``metric`` picks one where both exist). One-line usage errors
    name the line of a bad row: unknown architecture, non-positive or non-finite cost, or one
    architecture with two different values."""
    from hwnas.archcsv import arch_values, read_csv

    path = Path(path).expanduser()
    if not path.is_file():
        raise HwnasUsageError(f"measurements file {str(path)!r} does not exist or is not a file")
    header, rows = read_csv(path, "arch and latency_ms or energy_mj")
    if "arch" not in header:
        raise HwnasUsageError(f"{path}: no 'arch' column (has: {', '.join(header) or 'nothing'}); give columns "
                              "arch and latency_ms or energy_mj")
    present = [m for m, c in COLUMNS.items() if c in header]
    if metric is not None:
        if metric not in COLUMNS:
            raise HwnasUsageError(f"unknown metric {metric!r}; use one of: {', '.join(COLUMNS)}")
        if metric not in present:
            raise HwnasUsageError(f"{path}: no '{COLUMNS[metric]}' column for --metric {metric} "
                                  f"(has: {', '.join(header)})")
    elif len(present) != 1:
        raise HwnasUsageError(f"{path}: " + ("no latency_ms or energy_mj column" if not present else
                              "both latency_ms and energy_mj: choose one with --metric") +
                              f" (has: {', '.join(header)})")
    metric = metric or present[0]
    column = COLUMNS[metric]
    seen: dict[int, tuple[float, int]] = {}
    for line, index, raw, value in arch_values(path, rows, space, column):
        if not (np.isfinite(value) and value > 0):
            raise HwnasUsageError(f"{path}: line {line}: {column} = {raw!r} is not a positive, finite cost")
        if index in seen and seen[index][0] != value:
            raise HwnasUsageError(f"{path}: line {line}: architecture {index} has two different {column} values "
                                  f"({seen[index][0]:g} on line {seen[index][1]} and {value:g})")
        seen.setdefault(index, (value, line))
    if not seen:
        raise HwnasUsageError(f"{path} has no measurements")
    indices = np.array(sorted(seen), dtype=np.int64)
    values = np.array([seen[i][0] for i in indices], dtype=np.float64)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return Measurements(metric, indices, values, str(path.resolve()), sha)


def _folder(name: str) -> Path:
    return devices_root() / name


def adapt_device(name: str, measurements: Measurements, kind: str = "CPU", description: str = "",
                 seed: int = 0, space: str = "nb201", dataset: str = "cifar100", allow_local: bool = False) -> dict:
    """Learn (or re-learn) ``metric`` of user device ``name`` from ``measurements`` with the few-shot
    adapter, save it, and return the record written (``<metric>.json``)."""
    from hwnas import __version__
    from hwnas.predictors.adapt import fit_adapter

    name = check_name(name, allow_local)
    if kind not in KINDS:
        raise HwnasUsageError(f"unknown device kind {kind!r}; use one of: {', '.join(KINDS)}")
    adapter = fit_adapter(space, measurements.indices, measurements.values, metric=measurements.metric, seed=seed,
                          dataset=dataset, device=name)
    folder = _folder(name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HwnasUsageError(f"cannot write the user data folder {folder} ({exc.strerror}); set HWNAS_HOME to "
                              "a writable folder") from None
    arrays = adapter.to_arrays()
    record = {"format": "hwnas-user-device", "format_version": 1, "device": name, "metric": measurements.metric,
              "unit": METRIC_UNITS[measurements.metric], "space": space, "dataset": dataset,
              "n_measurements": int(measurements.indices.size), "measurements": measurements.path,
              "measurements_sha256": measurements.sha256, "seed": seed, "hwnas_version": __version__,
              "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "loo": adapter.loo, "adapter": adapter.config()}
    atomic_write(folder / f"{measurements.metric}.npz", lambda fh: np.savez(fh, **arrays))
    text = json.dumps(record, indent=1, default=float) + "\n"
    atomic_write(folder / f"{measurements.metric}.json", lambda fh: fh.write(text.encode()))
    info = _device_json(name)
    info.update({"name": name, "kind": kind, "description": description or info.get("description")
                 or f"user device {name}", "space": space, "dataset": dataset})
    dtext = json.dumps(info, indent=1) + "\n"
    atomic_write(folder / "device.json", lambda fh: fh.write(dtext.encode()))
    clear_cache()
    return record


def _device_json(name: str) -> dict:
    path = _folder(name) / "device.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (ValueError, OSError, UnicodeDecodeError):
        return {}


def _records(name: str) -> dict[str, dict]:
    out = {}
    for metric in METRIC_UNITS:
        path = _folder(name) / f"{metric}.json"
        if path.is_file() and path.with_suffix(".npz").is_file():
            try:
                out[metric] = json.loads(path.read_text())
            except (ValueError, OSError, UnicodeDecodeError):
                continue
    return out


def _to_device(name: str) -> Device | None:
    info, records = _device_json(name), _records(name)
    if not records:
        return None
    metrics = tuple((m, METRIC_UNITS[m]) for m in METRIC_UNITS if m in records)
    coverage = tuple(Coverage("nb201", m, int(r["n_measurements"]),
                              f"{r.get('dataset', 'cifar100')} input; adapted from {r['n_measurements']} measurements "
                              f"({Path(str(r.get('measurements', '?'))).name}); leave-one-out Spearman "
                              f"{_fmt(r.get('loo', {}).get('spearman'))}") for m, r in records.items())
    kind = info.get("kind", "CPU")
    return Device(name, (), kind if kind in KINDS else "CPU", str(info.get("description", f"user device {name}")),
                  metrics, 1, SOURCE, coverage,
                  "predicted by a few-shot adapter from your measurements: see its leave-one-out error")


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "n/a"


_CACHE: dict[str, "dict[str, Device]"] = {}


def user_devices() -> dict[str, Device]:
    """Every user device in the user data folder, by name."""
    root = devices_root()
    key = str(root)
    if key not in _CACHE:
        found = {}
        if root.is_dir():
            for folder in sorted(p for p in root.iterdir() if p.is_dir()):
                dev = _to_device(folder.name)
                if dev is not None:
                    found[dev.name] = dev
        _CACHE[key] = found
    return _CACHE[key]


def clear_cache() -> None:
    _CACHE.clear()
    from hwnas.devices import costs

    costs._nb201_table.cache_clear()
    load_adapter.cache_clear()


def is_user_device(name: str) -> bool:
    return name in user_devices()


@lru_cache(maxsize=32)
def load_adapter(name: str, metric: str):
    """(Adapter, record) of ``metric`` of user device ``name``; a one-line error where it is damaged."""
    from hwnas.predictors.adapt import Adapter

    folder = _folder(name)
    try:
        record = json.loads((folder / f"{metric}.json").read_text())
        with np.load(folder / f"{metric}.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return Adapter.from_arrays(arrays, record["adapter"]), record
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HwnasUsageError(f"user device {name!r} ({folder}) is damaged ({type(exc).__name__}); adapt it again "
                              f"with 'hwnas predictors adapt --measurements FILE --name {name}'") from None


def remove_device(name: str) -> None:
    """Delete user device ``name`` (its folder)."""
    if name not in user_devices():
        raise HwnasUsageError(f"no user device {name!r}")
    shutil.rmtree(_folder(name))
    clear_cache()
