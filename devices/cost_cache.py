"""A disk cache of derived cost tables (`hwnas.devices.costs.CostTable`), so a rerun does not
predict 15,625 architectures again.

A table is stored as ``nb201_<device>_<metric>_<key>.npz`` (plain arrays, ``allow_pickle=False``;
the provenance as a JSON string), where ``key`` is a digest of everything the table is derived
from: the hwnas version, the device and metric, and the content of every input file -- the
shipped measured table, the device's shipped predictor, the energy model's tables, a registered
HW-NAS-Bench pickle or HW-NAS-Bench-360 parquet, the user device's files. Change any of them and
the key changes; a stale file is simply never read again.

Where: ``$HWNAS_CACHE_DIR/costs``, else ``$XDG_CACHE_HOME/hwnas/costs``, else
``~/.cache/hwnas/costs``; ``HWNAS_COST_CACHE=0`` turns the cache off. The package also ships the
default command's tables precomputed in ``hwnas/_data/cost_tables`` (read first, never written),
so even a first run skips the prediction. Deleting the cache folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from hwnas.devices import _tables

ENV_OFF = "HWNAS_COST_CACHE"
SHIPPED_DIR = "cost_tables"
FORMAT = 1


def cache_dir() -> Path:
    explicit = os.environ.get("HWNAS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser() / "costs"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "hwnas" / "costs"


def enabled() -> bool:
    return os.environ.get(ENV_OFF, "1").strip().lower() not in ("0", "no", "off", "false")


@lru_cache(maxsize=256)
def _digest_file(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _file_digest(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return "absent"
    return _digest_file(str(path), st.st_size, st.st_mtime_ns)


def _inputs(device: str, metric: str) -> list[tuple[str, Path]]:
    """(name independent of where hwnas and the user folder live, path) of every input file."""
    data = Path(str(resources.files("hwnas._data")))
    files = [data / "nb201_measured.npz", data / "nb201_measured.json", data / "nb201_archs.npz"]
    for m in {metric, "latency"}:  # an energy estimate rests on the latency table
        for suffix in (".json", ".npz"):
            files.append(data / "predictors" / f"nb201_{device}_{m}{suffix}")
    if metric == "energy":
        files += [data / "fbnet_lut.npz", data / "energy_validation.json"]
    named = [(f"hwnas/_data/{p.relative_to(data)}", p) for p in files]
    user = _tables.user_data_dir()
    rel = [f"{_tables.HWNASBENCH_DIR}/provenance.json", f"{_tables.HW360_DIR}/provenance.json"]
    rel += [f"devices/{device}/{m}.{ext}" for m in ("latency", "energy") for ext in ("json", "npz")]
    return named + [(f"user:{r}", user / r) for r in rel]


def table_key(device: str, metric: str) -> str:
    """Digest of everything the (device, metric) NB201 table is derived from."""
    from hwnas import __version__

    parts = {"format": FORMAT, "version": __version__, "device": device, "metric": metric,
             "files": {name: _file_digest(p) for name, p in _inputs(device, metric)}}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def _name(device: str, metric: str, key: str) -> str:
    return f"nb201_{device}_{metric}_{key}.npz"


def load(device: str, metric: str):
    """The cached `CostTable`, or None (not cached, cache off, or unreadable)."""
    if not enabled():
        return None
    key = table_key(device, metric)
    name = _name(device, metric, key)
    shipped = Path(str(resources.files("hwnas._data"))) / SHIPPED_DIR / name
    for path in (shipped, cache_dir() / name):
        if path.is_file():
            try:
                return _read(path)
            except (OSError, ValueError, KeyError):
                continue
    return None


def _read(path: Path):
    from hwnas.devices.costs import CostTable

    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    out = {}
    for k in ("values", "source_codes", "extrapolated", "bound"):
        if k in arrays:
            arr = np.array(arrays[k])
            arr.setflags(write=False)
            out[k] = arr
    return CostTable(meta["space"], meta["device"], meta["metric"], meta["unit"], out["values"],
                     out["source_codes"], meta["provenance"], meta["measured_input"], out.get("extrapolated"),
                     out.get("bound"))


def save(table, folder: Path | None = None) -> Path | None:
    """Write ``table`` to the cache (or ``folder``); None where the cache is off or not writable."""
    from hwnas.storage import atomic_write

    if folder is None and not enabled():
        return None
    target = folder if folder is not None else cache_dir()
    arrays = {"values": np.asarray(table.values), "source_codes": np.asarray(table.source_codes)}
    if table.extrapolated is not None:
        arrays["extrapolated"] = np.asarray(table.extrapolated)
    if table.bound is not None:
        arrays["bound"] = np.asarray(table.bound)
    arrays["meta"] = np.array(json.dumps({"space": table.space, "device": table.device, "metric": table.metric,
                                          "unit": table.unit, "provenance": table.provenance,
                                          "measured_input": table.measured_input}))
    try:
        target.mkdir(parents=True, exist_ok=True)
        path = target / _name(table.device, table.metric, table_key(table.device, table.metric))
        return atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))
    except OSError:
        return None  # a cache that cannot be written is no error
