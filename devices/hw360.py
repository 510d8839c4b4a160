"""Reader for HW-NAS-Bench-360's ``results/dataset.parquet`` and its registration.

Layout (upstream ``scripts/utils/build_dataset.py``, long form, one row per
(arch_idx, device, framework, task))::

    arch_idx  rep_arch_idx  device  framework  task  lat_ms_median  lat_ms_var  energy_mj  accuracy  status

``arch_idx`` is the NAS-Bench-201 index (0..15624), ``rep_arch_idx`` the isomorphism-class
representative whose measurement the row carries, ``device`` ``pi5`` or ``pixel``, ``framework``
``litert``, ``onnx`` or ``torchmobile``, ``task`` ``cifar100`` (NB201 networks, 3x32x32 input,
batch 1), ``ninapro`` or ``darcy`` (NAS-Bench-360 tasks). Latency in ms (median of the timed
runs; variance in ms^2), energy in mJ per inference, measured on the device's power rails.

The upstream repository has no license file, so hwnas ships no raw values from it (only
predictors trained on them); `register_hw360` copies a user's own copy into the user data folder
(``$HWNAS_HOME`` or ``~/.local/share/hwnas``, folder ``hw360``) as npz + JSON, and from then on
the measured lookups (`hwnas.devices.measured`) return those values as *measured*.
Reading needs pyarrow (``pip install 'hwnas[hw360]'``).
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from hwnas.devices import _tables
from hwnas.errors import HwnasUsageError
from hwnas.storage import replace_folder

N_NB201 = 15_625
REQUIRED = ("arch_idx", "device", "framework", "task", "lat_ms_median", "energy_mj")
OPTIONAL = ("rep_arch_idx", "lat_ms_var", "status", "accuracy")
DEVICE_NAMES = {  # (upstream device, framework) -> hwnas device
    ("pi5", "litert"): "pi5-litert", ("pi5", "torchmobile"): "pi5-torchmobile", ("pi5", "onnx"): "pi5-onnx",
    ("pixel", "litert"): "hw360-pixel-litert", ("pixel", "onnx"): "hw360-pixel-onnx",
    ("pixel", "torchmobile"): "hw360-pixel-torchmobile",
}
TASK_DATASETS = {"cifar100": "cifar100", "ninapro": "ninapro", "darcy": "darcy"}  # NB201-usable: cifar100
METRICS = (("lat_ms_median", "latency"), ("energy_mj", "energy"))
UPSTREAM = {"name": "HW-NAS-Bench-360", "repo": "https://github.com/roldebijvank/HW-NAS-Bench-360",
            "file": "results/dataset.parquet", "license": "none stated upstream (no LICENSE file)"}


def _read_frame(path: Path):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise HwnasUsageError("reading a parquet file needs pyarrow: pip install 'hwnas[hw360]'") from None
    try:
        import pyarrow as pa

        schema = pq.read_schema(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise HwnasUsageError(f"{path} is not a readable parquet file ({str(exc).splitlines()[0][:120]}); "
                              f"give HW-NAS-Bench-360's results/dataset.parquet") from None
    missing = [c for c in REQUIRED if c not in schema.names]
    if missing:
        raise HwnasUsageError(f"{path} is not HW-NAS-Bench-360's dataset.parquet: it lacks column(s) "
                              f"{', '.join(missing)} (has: {', '.join(schema.names[:12])})")
    try:
        table = pq.read_table(path, columns=[c for c in (*REQUIRED, *OPTIONAL) if c in schema.names])
        return table.to_pandas()
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise HwnasUsageError(f"{path} could not be read ({str(exc).splitlines()[0][:120]}); "
                              "the file may be truncated: download it again") from None


def _numeric(frame, column: str, path: Path) -> np.ndarray:
    import pandas as pd

    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = frame[column].notna().to_numpy() & np.isnan(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise HwnasUsageError(f"{path}: row {row}: {column} is not a number ({frame[column].iloc[row]!r})")
    return values


def read_hw360(path: "str | Path") -> dict:
    """Validated content of a HW-NAS-Bench-360 parquet: ``{"columns": [(device, metric, dataset,
    values[15625] float64 NaN = not measured)], "ignored": [...], "rows": n, "status": {..}}``.

    One-line usage errors for a missing, non-parquet or foreign file, an ``arch_idx`` outside
    0..15624, a negative or infinite cost, or one architecture with two different values."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise HwnasUsageError(f"{path} does not exist or is not a file; give HW-NAS-Bench-360's results/dataset.parquet")
    frame = _read_frame(path)
    if len(frame) == 0:
        raise HwnasUsageError(f"{path} has no rows")
    arch = _numeric(frame, "arch_idx", path)
    bad = ~np.isfinite(arch) | (arch != np.round(arch)) | (arch < 0) | (arch >= N_NB201)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise HwnasUsageError(f"{path}: row {row}: arch_idx {frame['arch_idx'].iloc[row]!r} is not a "
                              f"NAS-Bench-201 index 0..{N_NB201 - 1}")
    arch = arch.astype(np.int64)
    values = {col: _numeric(frame, col, path) for col, _ in METRICS}
    for col, _ in METRICS:
        v = values[col]
        bad = np.isinf(v) | (v < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise HwnasUsageError(f"{path}: row {row}: {col} = {v[row]!r} is not a cost (finite, >= 0)")
        values[col] = np.where(v > 0, v, np.nan)  # 0 = not measured upstream
    keys = frame[["device", "framework", "task"]].astype(str)
    columns, ignored = [], []
    for (device, framework, task), rows in keys.groupby(["device", "framework", "task"]).indices.items():
        name = DEVICE_NAMES.get((device, framework))
        dataset = TASK_DATASETS.get(task)
        if name is None or dataset is None:
            ignored.append(f"{device}/{framework}/{task} ({len(rows):,} rows: unknown device, runtime or task)")
            continue
        idx = arch[rows]
        for col, metric in METRICS:
            v = values[col][rows]
            full = np.full(N_NB201, np.nan)
            order = np.argsort(idx, kind="stable")
            si, sv = idx[order], v[order]
            same = si[1:] == si[:-1]
            clash = same & np.isfinite(sv[1:]) & np.isfinite(sv[:-1]) & (sv[1:] != sv[:-1])
            if clash.any():
                k = int(np.flatnonzero(clash)[0])
                raise HwnasUsageError(f"{path}: arch_idx {int(si[k])} has two different {col} values for "
                                      f"{device}/{framework}/{task} ({sv[k]!r} and {sv[k + 1]!r})")
            ok = np.isfinite(v)
            full[idx[ok]] = v[ok]
            if np.isfinite(full).any():
                columns.append((name, metric, dataset, full))
    if not columns:
        raise HwnasUsageError(f"{path} holds no usable HW-NAS-Bench-360 measurements (devices pi5/pixel, "
                              f"runtimes litert/onnx/torchmobile, tasks cifar100/ninapro/darcy)")
    status = frame["status"].astype(str).value_counts().to_dict() if "status" in frame else {}
    return {"columns": columns, "ignored": ignored, "rows": int(len(frame)),
            "status": {str(k): int(v) for k, v in status.items()}}


def register_hw360(path: "str | Path") -> dict:
    """Copy the measurements of a HW-NAS-Bench-360 parquet into the user data folder (npz + JSON,
    replacing an earlier registration atomically) and make measured lookups return them.
    Returns the provenance record written."""
    from hwnas.devices.hwnasbench import _sha256

    path = Path(path).expanduser().resolve()
    data = read_hw360(path)
    root = _tables.user_data_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".hw360-", dir=root))
    except OSError as exc:
        raise HwnasUsageError(f"cannot write the user data folder {root} ({exc.strerror}); set HWNAS_HOME "
                              "to a writable folder") from None
    try:
        cols = data["columns"]
        meta = {
            "source_name": path.name, "source_path": str(path), "sha256": _sha256(path),
            "bytes": path.stat().st_size, "rows": data["rows"], "status": data["status"],
            "registered_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "upstream": UPSTREAM, "ignored": data["ignored"],
            "stored_as": "npz (allow_pickle=False) + this JSON",
            "nb201": {"columns": [{"device": d, "metric": m, "dataset": ds, "archs": int(np.isfinite(v).sum()),
                                   "unit": "ms" if m == "latency" else "mJ", "batch_size": 1}
                                  for d, m, ds, v in cols],
                      "layout": "values float64 [15625, columns], row = NB201 index, NaN = no value"},
        }
        np.savez_compressed(
            tmp / "nb201.npz", values=np.stack([c[3] for c in cols], axis=1),
            col_device=np.array([c[0] for c in cols]), col_metric=np.array([c[1] for c in cols]),
            col_dataset=np.array([c[2] for c in cols]), failed_rows=np.zeros(0, dtype=np.int64),
            failed_cols=np.zeros(0, dtype=np.int64))
        (tmp / "provenance.json").write_text(json.dumps(meta, indent=1) + "\n")
        replace_folder(tmp, root / _tables.HW360_DIR)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _tables.clear_cache()
    return meta


def registered_hw360() -> dict | None:
    """The provenance record of the registered HW-NAS-Bench-360 data, or None."""
    path = _tables.user_data_dir() / _tables.HW360_DIR / "provenance.json"
    return json.loads(path.read_text()) if path.is_file() else None
