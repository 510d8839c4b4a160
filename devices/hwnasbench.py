"""Reader for HW-NAS-Bench's own data file, ``HW-NAS-Bench-v1_0.pickle``, and its registration.

Layout (as read by HW-NAS-Bench's ``hw_nas_bench_api/hw_nas_bench_api.py``)::

    {"nasbench201": {dataset: {metric: sequence indexed by NB201 arch index, "config": [...]}},
     "fbnet":       {metric: {block signature: value}, ...}}

with dataset in ``cifar10``, ``cifar100``, ``ImageNet16-120`` and metric one of
``edgegpu_latency, edgegpu_energy, raspi4_latency, edgetpu_latency, pixel3_latency,
eyeriss_latency, eyeriss_energy, eyeriss_arithmetic_intensity, fpga_latency, fpga_energy``
(FBNet: the same less edgetpu and arithmetic intensity). Latency in ms, energy in mJ.

Unpickling runs code named by the file, so the file is read with `SafeUnpickler`, which builds
only plain containers, numbers, strings and numpy arrays/scalars, and refuses everything else.
`register_hwnasbench` copies the measurements into the user data folder (``$HWNAS_HOME`` or
``~/.local/share/hwnas``) as npz + JSON -- never re-pickled -- and from then on measured lookups
prefer them.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import hashlib
import json
import math
import pickle
import shutil
import tempfile
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path

import numpy as np

from hwnas.devices import _tables
from hwnas.devices.registry import get_device
from hwnas.errors import HwnasUsageError
from hwnas.storage import replace_folder

NB201_SPACE_KEY = "nasbench201"
FBNET_SPACE_KEY = "fbnet"
NB201_DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16-120"}
NB201_METRICS: tuple[str, ...] = (
    "edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency", "pixel3_latency",
    "eyeriss_latency", "eyeriss_energy", "eyeriss_arithmetic_intensity", "fpga_latency", "fpga_energy",
)
FBNET_METRICS: tuple[str, ...] = (
    "edgegpu_latency", "edgegpu_energy", "raspi4_latency", "pixel3_latency",
    "eyeriss_latency", "eyeriss_energy", "fpga_latency", "fpga_energy",
)
UNITS = {"latency": "ms", "energy": "mJ", "arithmetic_intensity": "as in HW-NAS-Bench (unit not documented)"}
N_NB201 = 15_625
UPSTREAM = {"name": "HW-NAS-Bench", "repo": "https://github.com/GATECH-EIC/HW-NAS-Bench",
            "file": "HW-NAS-Bench-v1_0.pickle", "license": "MIT"}


# --- a pickle reader that cannot run code -----------------------------------------------------------
def _numpy_globals() -> dict[tuple[str, str], object]:
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]

    allowed: dict[tuple[str, str], object] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):  # pickles from numpy 1.x and 2.x
        allowed[(module, "_reconstruct")] = multiarray._reconstruct
        allowed[(module, "scalar")] = multiarray.scalar
    return allowed


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """`_codecs.encode` as protocol-2 pickles use it for bytes, limited to latin-1."""
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return codecs.encode(text, "latin1")


class SafeUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, tuples, sets, numbers, strings, bytes and numpy arrays/scalars of
    plain dtypes; any other global (functions, classes, ``os.system``...) is refused."""

    _allowed: dict[tuple[str, str], object] | None = None

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        if SafeUnpickler._allowed is None:
            SafeUnpickler._allowed = {**_numpy_globals(), ("_codecs", "encode"): _latin1_encode,
                                      ("collections", "OrderedDict"): dict}
        try:
            return SafeUnpickler._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"it references {module}.{name}") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("it uses persistent ids")


def safe_load(path: "str | Path"):
    """Load a pickle with `SafeUnpickler`; a one-line usage error if it holds anything else."""
    path = Path(path)
    if not path.is_file():
        raise HwnasUsageError(f"{path} does not exist or is not a file")
    try:
        with open(path, "rb") as fh:
            obj = SafeUnpickler(fh).load()
    except pickle.UnpicklingError as exc:
        raise HwnasUsageError(
            f"refusing to load {path}: {exc}; a HW-NAS-Bench pickle holds only dicts, lists, "
            "numbers and numpy arrays"
        ) from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as exc:
        raise HwnasUsageError(f"{path} is not a readable pickle ({type(exc).__name__}: {exc})") from None
    _check_plain(obj, path)
    return obj


def _check_plain(obj, path: Path, depth: int = 0) -> None:
    """Numpy object arrays could smuggle in anything the unpickler let through; allow only plain data."""
    if depth > 20:
        raise HwnasUsageError(f"refusing to load {path}: nested too deeply for a HW-NAS-Bench pickle")
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biufc":
            raise HwnasUsageError(f"refusing to load {path}: numpy array of dtype {obj.dtype} (numbers only)")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _check_plain(k, path, depth + 1)
            _check_plain(v, path, depth + 1)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            _check_plain(v, path, depth + 1)
    elif isinstance(obj, np.generic):
        if obj.dtype.kind not in "biufcSU":
            raise HwnasUsageError(f"refusing to load {path}: numpy scalar of dtype {obj.dtype}")
    elif not isinstance(obj, (str, bytes, int, float, bool, type(None))):
        raise HwnasUsageError(f"refusing to load {path}: it holds a {type(obj).__name__}")


# --- the layout ---------------------------------------------------------------------------------------
@dataclass
class HWNASBenchData:
    """What a HW-NAS-Bench pickle holds, as float64 arrays (NaN = no value)."""

    nb201: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # our dataset name -> metric -> [archs]
    nb201_failed: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # negative upstream values
    fbnet_lut: dict[str, dict[str, float]] = field(default_factory=dict)  # metric -> block -> value
    ignored: list[str] = field(default_factory=list)

    @property
    def n_archs(self) -> int:
        return max((len(a) for m in self.nb201.values() for a in m.values()), default=0)


def _as_vector(values, where: str) -> np.ndarray:
    if isinstance(values, dict):
        raise HwnasUsageError(f"unexpected HW-NAS-Bench layout: {where} is a dict, expected a list per arch index")
    try:
        arr = np.array([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        raise HwnasUsageError(f"unexpected HW-NAS-Bench layout: {where} is not a list of numbers") from None
    if len(arr) == 0 or len(arr) > N_NB201:
        raise HwnasUsageError(f"unexpected HW-NAS-Bench layout: {where} has {len(arr)} values (1..{N_NB201})")
    return arr


def read_hwnasbench(path: "str | Path") -> HWNASBenchData:
    """Read ``HW-NAS-Bench-v1_0.pickle`` (safely) into `HWNASBenchData`; layout errors are one line."""
    obj = safe_load(path)
    if not isinstance(obj, dict) or not ({NB201_SPACE_KEY, FBNET_SPACE_KEY} & set(obj)):
        keys = sorted(map(str, obj)) if isinstance(obj, dict) else type(obj).__name__
        raise HwnasUsageError(f"{path} is not a HW-NAS-Bench pickle: expected a dict with "
                              f"'{NB201_SPACE_KEY}' and 'fbnet', found {keys}")
    data = HWNASBenchData()
    data.ignored += [f"top-level {k!r}" for k in obj if k not in (NB201_SPACE_KEY, FBNET_SPACE_KEY)]
    nb = obj.get(NB201_SPACE_KEY, {})
    if not isinstance(nb, dict):
        raise HwnasUsageError(f"unexpected HW-NAS-Bench layout: '{NB201_SPACE_KEY}' is not a dict")
    for ds, metrics in nb.items():
        if ds not in NB201_DATASETS:
            data.ignored.append(f"{NB201_SPACE_KEY}/{ds!r}")
            continue
        if not isinstance(metrics, dict):
            raise HwnasUsageError(f"unexpected HW-NAS-Bench layout: {NB201_SPACE_KEY}/{ds} is not a dict")
        ours = NB201_DATASETS[ds]
        for metric, values in metrics.items():
            if metric not in NB201_METRICS:
                data.ignored.append(f"{NB201_SPACE_KEY}/{ds}/{metric}")
                continue
            arr = _as_vector(values, f"{NB201_SPACE_KEY}/{ds}/{metric}")
            failed = arr < 0  # e.g. -1 where a network failed to compile (Edge TPU)
            data.nb201.setdefault(ours, {})[metric] = np.where(failed, np.nan, arr)
            if failed.any():
                data.nb201_failed.setdefault(ours, {})[metric] = np.flatnonzero(failed)
        lengths = {len(a) for a in data.nb201.get(ours, {}).values()}
        if len(lengths) > 1:
            raise HwnasUsageError(f"unexpected HW-NAS-Bench layout: metrics of {ds} have different lengths {sorted(lengths)}")
    fb = obj.get(FBNET_SPACE_KEY, {})
    if not isinstance(fb, dict):
        raise HwnasUsageError(f"unexpected HW-NAS-Bench layout: '{FBNET_SPACE_KEY}' is not a dict")
    for metric, table in fb.items():
        if metric not in FBNET_METRICS:
            data.ignored.append(f"fbnet/{metric}")
            continue
        if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, Real) for k, v in table.items()):
            raise HwnasUsageError(f"unexpected HW-NAS-Bench layout: fbnet/{metric} is not a dict of block -> number")
        data.fbnet_lut[metric] = {k: float(v) for k, v in table.items()}
    if not data.nb201 and not data.fbnet_lut:
        raise HwnasUsageError(f"{path} holds no HW-NAS-Bench metrics (expected e.g. "
                              f"{NB201_SPACE_KEY}/cifar10/raspi4_latency)")
    return data


def _split_metric(key: str) -> tuple[str, str]:
    dev, metric = key.split("_", 1)
    return get_device(dev).name, metric


# --- registration -----------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def register_hwnasbench(path: "str | Path") -> dict:
    """Copy the measurements of a HW-NAS-Bench pickle into the user data folder (npz + JSON) and
    make measured lookups prefer them. Returns the provenance record written."""
    path = Path(path).expanduser().resolve()
    data = read_hwnasbench(path)
    root = _tables.user_data_dir()
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".hwnasbench-", dir=root))
    try:
        columns: list[dict] = []
        meta: dict = {
            "source_name": path.name, "source_path": str(path), "sha256": _sha256(path),
            "bytes": path.stat().st_size,
            "registered_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "upstream": UPSTREAM, "read_with": "hwnas.devices.hwnasbench.SafeUnpickler (no code run)",
            "stored_as": "npz (allow_pickle=False) + this JSON; never re-pickled", "ignored": data.ignored,
        }
        if data.nb201:
            values, cols, failed = [], [], []
            for ds, metrics in data.nb201.items():
                for key, arr in metrics.items():
                    device, metric = _split_metric(key)
                    full = np.full(N_NB201, np.nan)
                    full[: len(arr)] = arr
                    for row in data.nb201_failed.get(ds, {}).get(key, []):
                        failed.append((int(row), len(values)))
                    values.append(full)
                    cols.append((device, metric, ds))
                    columns.append({"device": device, "metric": metric, "dataset": ds, "pickle_key":
                                    f"{NB201_SPACE_KEY}/{[k for k, v in NB201_DATASETS.items() if v == ds][0]}/{key}",
                                    "unit": UNITS.get(metric, "?"), "archs": int(np.isfinite(full).sum()),
                                    "batch_size": 1})
            fr = np.array(failed, dtype=np.int64).reshape(-1, 2)
            np.savez_compressed(
                tmp / "nb201.npz", values=np.stack(values, axis=1), col_device=np.array([c[0] for c in cols]),
                col_metric=np.array([c[1] for c in cols]), col_dataset=np.array([c[2] for c in cols]),
                failed_rows=fr[:, 0].copy(), failed_cols=fr[:, 1].copy())
            meta["nb201"] = {"datasets": sorted(data.nb201), "archs_in_file": data.n_archs, "columns": columns,
                             "layout": "values float64 [15625, columns], row = NB201 index, NaN = no value"}
        if data.fbnet_lut:
            metrics = sorted(data.fbnet_lut)
            keys = sorted(set().union(*(data.fbnet_lut[m] for m in metrics)))
            lut = np.array([[data.fbnet_lut[m].get(k, math.nan) for m in metrics] for k in keys])
            np.savez_compressed(tmp / "fbnet_lut.npz", lut_keys=np.array(keys), lut_metrics=np.array(metrics),
                                lut_values=lut)
            meta["fbnet"] = {"metrics": metrics, "blocks": len(keys),
                             "units": {m: UNITS[m.split("_", 1)[1]] for m in metrics}}
        (tmp / "provenance.json").write_text(json.dumps(meta, indent=1) + "\n")
        replace_folder(tmp, root / _tables.HWNASBENCH_DIR)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _tables.clear_cache()
    return meta


def registered_hwnasbench() -> dict | None:
    """The provenance record of the registered HW-NAS-Bench data, or None."""
    path = _tables.user_data_dir() / _tables.HWNASBENCH_DIR / "provenance.json"
    return json.loads(path.read_text()) if path.is_file() else None
