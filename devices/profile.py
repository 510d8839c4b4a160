"""Live latency profiling on this machine with onnxruntime (installed as `hwnas.devices.profile`).

Each architecture is built (seeded PyTorch init, BatchNorm statistics calibrated as `hwnas export`
does), turned into its ONNX model in memory and timed with onnxruntime's CPU provider under a
fixed protocol (`docs/profiling.md`):

* batch 1, one seeded Gaussian input (float32) for every network;
* session: ``intra_op_num_threads = inter_op_num_threads = threads``, sequential execution mode,
  graph optimisation level ``ORT_ENABLE_ALL``, ``CPUExecutionProvider`` only;
* ``warmup`` untimed runs, then ``repeats`` runs each timed with `time.perf_counter_ns` around
  ``session.run`` (Python's garbage collector paused during the loop);
* ``latency_ms``: the median of the timed runs; ``latency_var_ms2``: their variance (ddof 0);
* the progress bar is redrawn between networks only (no refresh thread runs during a timing).

NAS-Bench-201 models come from the node-by-node builder `hwnas.predictors.nb201_onnx` (the
graph `export_onnx(merge_identical_ops=False)` writes, built in milliseconds instead of ~1 s)
with the seeded network's weights folded in (Conv + BatchNorm -> Conv with bias, as the
TorchScript exporter folds them), so the timed model computes what the exported file computes.
Other spaces go through `hwnas.export.export_onnx` (verification off) in a temporary folder.

Results go to a CSV (``arch, latency_ms, latency_var_ms2, arch_str``; one row appended, flushed
and fsynced per architecture) with a JSON sidecar ``<out>.json`` recording the machine, runtime
and protocol. A rerun with the same ``out`` skips the architectures already in the file and is
refused if the sidecar shows another protocol or machine (``overwrite`` replaces the file).
"""

from __future__ import annotations

import csv
import datetime
import gc
import io
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.progress import progress_bar
from hwnas.storage import probe_writable

COLUMNS: tuple[str, ...] = ("arch", "latency_ms", "latency_var_ms2", "arch_str")
DEFAULT_THREADS = 1
DEFAULT_REPEATS = 50
DEFAULT_WARMUP = 10
BATCH_SIZE = 1
# A rerun into an existing file must match on these (protocol and machine); anything else in the
# sidecar (dates, hwnas version, core count) is informative only.
PROTOCOL_KEYS: tuple[str, ...] = ("space", "dataset", "threads", "repeats", "warmup", "seed", "batch_size",
                                  "execution_mode", "graph_optimization_level")
MACHINE_KEYS: tuple[str, ...] = ("cpu_model", "onnxruntime_version")
SIDECAR_SUFFIX = ".json"  # m.csv -> m.csv.json


# ---------------------------------------------------------------------------------------------
# machine
def cpu_model() -> str:
    """The CPU's name: /proc/cpuinfo 'model name' (x86) or 'Hardware'/'Model' (ARM), else
    `platform.processor()`, else 'unknown'."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            fields: dict[str, str] = {}
            for line in fh:
                key, sep, value = line.partition(":")
                if sep and key.strip() not in fields:
                    fields[key.strip()] = value.strip()
        for key in ("model name", "Hardware", "Model", "cpu model"):
            if fields.get(key):
                return fields[key]
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info(threads: int) -> dict:
    """This machine and runtime as the sidecar records them: CPU model, logical cores (and how
    many this process may use), platform, Python / onnxruntime / onnx / hwnas versions, and the
    ``threads`` the sessions are pinned to."""
    import onnxruntime as ort

    from hwnas import __version__

    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    try:
        import onnx

        onnx_version = onnx.__version__
    except ImportError:  # pragma: no cover - onnx is a dependency
        onnx_version = None
    return {
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_count_usable": usable,
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python_version": platform.python_version(),
        "onnxruntime_version": ort.__version__,
        "onnx_version": onnx_version,
        "hwnas_version": __version__,
        "threads": int(threads),
    }


def protocol(space: str, dataset: str, threads: int, repeats: int, warmup: int, seed: int) -> dict:
    """The measurement protocol as the sidecar records it (names canonical)."""
    from hwnas.spaces import get_space

    sp = get_space(space)
    return {
        "space": sp.name,
        "dataset": sp.dataset(dataset).name,
        "threads": int(threads),
        "repeats": int(repeats),
        "warmup": int(warmup),
        "seed": int(seed),
        "batch_size": BATCH_SIZE,
        "execution_mode": "ORT_SEQUENTIAL",
        "graph_optimization_level": "ORT_ENABLE_ALL",
        "providers": ["CPUExecutionProvider"],
        "timer": "time.perf_counter_ns around session.run, gc paused",
        "latency_ms": "median of the timed repeats",
        "latency_var_ms2": "variance of the timed repeats (ddof 0)",
    }


# ---------------------------------------------------------------------------------------------
# architecture specs
_SPEC_HELP = ("an index, a range A-B (inclusive), an arch string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|, "
              "sample:N or all")


def parse_arch_spec(space: str, spec: str, seed: int = 0) -> list[int]:
    """The architecture indices named by ``spec``: comma-separated items, each an index (``6111``),
    an inclusive range (``0-99``), an arch string (``|nor_conv_3x3~0|+|...|``), ``sample:N`` (the
    N architectures `hwnas.predictors.adapt.select_informative` picks under ``seed``, most
    informative for adapting the latency predictors) or ``all``. Duplicates are dropped, first
    occurrence kept. A bad item is a usage error naming its position."""
    from hwnas.spaces import get_space

    sp = get_space(space)
    text = str(spec).strip()
    if not text:
        raise HwnasUsageError(f"empty architecture spec; give {_SPEC_HELP}")
    items = text.split(",")
    n = sp.num_archs
    out: list[int] = []
    seen: set[int] = set()

    def add(values: Iterable[int]) -> None:
        for v in values:
            v = int(v)
            if v not in seen:
                seen.add(v)
                out.append(v)

    for pos, raw in enumerate(items, start=1):
        item = raw.strip()
        where = f"architecture spec item {pos} of {len(items)} ({item!r})"
        if not item:
            raise HwnasUsageError(f"{where} is empty; give {_SPEC_HELP}")
        low = item.lower()
        if low == "all":
            add(range(n))
        elif low.startswith("sample:"):
            count = low.split(":", 1)[1].strip()
            if not count.lstrip("+-").isdigit():
                raise HwnasUsageError(f"{where}: sample:N needs a whole number N >= 1")
            k = int(count)
            if k < 1:
                raise HwnasUsageError(f"{where}: sample:N needs N >= 1, not {k}")
            add(_sample(sp.name, k, seed, where))
        elif item.isdigit():
            add([_check_index(int(item), n, where)])
        elif "-" in item and all(p.strip().isdigit() for p in item.split("-", 1)):
            a, b = (int(p) for p in item.split("-", 1))
            _check_index(a, n, where)
            _check_index(b, n, where)
            if a > b:
                raise HwnasUsageError(f"{where}: range start {a} is after its end {b}; write {b}-{a}")
            add(range(a, b + 1))
        elif item.startswith("|"):
            try:
                arch = sp.from_str(item)
            except HwnasUsageError as exc:
                raise HwnasUsageError(f"{where}: {exc}") from None
            add([sp.index(arch)])
        else:
            raise HwnasUsageError(f"{where} is not {_SPEC_HELP}")
    return out


def _check_index(i: int, n: int, where: str) -> int:
    if not 0 <= i < n:
        raise HwnasUsageError(f"{where}: index {i} is out of range; use 0..{n - 1}")
    return i


def _sample(space: str, k: int, seed: int, where: str) -> list[int]:
    from hwnas.predictors.adapt import candidate_pool, select_informative

    size = candidate_pool(space).size
    if k > size:
        raise HwnasUsageError(f"{where}: sample:N can pick 1..{size} architectures of {space}, not {k}")
    return [int(v) for v in select_informative(space, k, seed=seed)]


# ---------------------------------------------------------------------------------------------
# models
def _seeded_model(space: str, index: int, dataset: str, seed: int):
    from hwnas.export import calibrate_batchnorm
    from hwnas.init import build_seeded
    from hwnas.spaces import get_space

    import torch

    sp = get_space(space)
    arch = sp.arch_at(index)
    ds = sp.dataset(dataset)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: one thread is faster, and no pool spins beside the timing
    try:
        model = build_seeded(arch, ds.name, seed)
        calibrate_batchnorm(model, ds.input_shape, seed=seed)
    finally:
        torch.set_num_threads(threads)
    return model.eval()


def _fold_nb201_weights(proto, model) -> None:
    """Put ``model``'s weights into the builder's ``proto`` (in place): each Conv gets the
    weights of its PyTorch conv with the following BatchNorm folded in (as the TorchScript
    exporter does in eval mode), the head's BatchNorm and classifier are copied."""
    import torch
    from onnx import numpy_helper

    modules = dict(model.named_modules())
    state = model.state_dict()
    new: dict[str, np.ndarray] = {}
    for init in proto.graph.initializer:
        name = init.name
        if name in state:  # lastact.0.*, classifier.*
            new[name] = state[name].detach().numpy()
            continue
        node, _, kind = name.rpartition(".")
        parts = node.strip("/").split("/")
        if parts[-1] != "Conv" or kind not in ("weight", "bias"):
            raise RuntimeError(f"unexpected initializer {name!r} in the NB201 ONNX builder")
        parent = ".".join(parts[:-2])
        position = int(parts[-2].rsplit(".", 1)[1])
        conv = modules[f"{parent}.{position}" if parent else parts[-2]]
        bn = modules.get(f"{parent}.{position + 1}")
        w = conv.weight.detach().numpy().astype(np.float64)
        b = np.zeros(w.shape[0])
        if isinstance(bn, torch.nn.BatchNorm2d):
            gamma, beta = (p.detach().numpy().astype(np.float64) for p in (bn.weight, bn.bias))
            mean, var = (t.numpy().astype(np.float64) for t in (bn.running_mean, bn.running_var))
            scale = gamma / np.sqrt(var + bn.eps)
            w = w * scale[:, None, None, None]
            b = beta - mean * scale
        new[name] = w if kind == "weight" else b
    for i, init in enumerate(proto.graph.initializer):
        value = new[init.name].astype(np.float32)
        if tuple(init.dims) != value.shape:
            raise RuntimeError(f"{init.name}: builder shape {tuple(init.dims)} != network {value.shape}")
        proto.graph.initializer[i].CopyFrom(numpy_helper.from_array(value, init.name))


def _match_exporter_pooling(proto) -> None:
    """The builder writes ``count_include_pad=0`` on the reduction shortcut's 2x2 AveragePool,
    the exporter 1; with zero pads both mean the same, and this makes the graph identical."""
    for node in proto.graph.node:
        if node.op_type != "AveragePool":
            continue
        attrs = {a.name: a for a in node.attribute}
        if "pads" in attrs and not any(attrs["pads"].ints) and "count_include_pad" in attrs:
            attrs["count_include_pad"].i = 1


def onnx_model_bytes(space: str, index: int, dataset: str, seed: int = 0) -> bytes:
    """The serialized ONNX model (opset 17, input ``input`` [N, C, H, W], output ``logits``) of
    architecture ``index`` of ``space`` with the seeded, BatchNorm-calibrated weights
    `hwnas export` gives it, built in memory."""
    from hwnas.spaces import get_space

    sp = get_space(space)
    ds = sp.dataset(dataset)
    model = _seeded_model(sp.name, index, ds.name, seed)
    if sp.name == "nb201":
        from hwnas.predictors.nb201_onnx import nb201_onnx_model

        proto = nb201_onnx_model(sp.ops(sp.arch_at(index)), ds.num_classes, ds.input_shape)
        _match_exporter_pooling(proto)
        _fold_nb201_weights(proto, model)
        return proto.SerializeToString()
    from hwnas.export import export_onnx  # pragma: no cover - nb201 is the only registered space

    with tempfile.TemporaryDirectory(prefix="hwnas-profile-") as tmp:
        path = Path(tmp) / "model.onnx"
        export_onnx(model, ds.input_shape, path, verify=False, seed=seed)
        return path.read_bytes()


def make_session(model: bytes, threads: int = DEFAULT_THREADS):
    """An onnxruntime CPU session under the profiling protocol."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads)
    options.inter_op_num_threads = int(threads)
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def time_session(session, x: np.ndarray, repeats: int = DEFAULT_REPEATS,
                 warmup: int = DEFAULT_WARMUP) -> np.ndarray:
    """``warmup`` untimed runs, then the durations (ns, int64) of ``repeats`` timed runs."""
    feed = {session.get_inputs()[0].name: x}
    names = [session.get_outputs()[0].name]
    for _ in range(warmup):
        session.run(names, feed)
    times = np.empty(repeats, dtype=np.int64)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeats):
            start = time.perf_counter_ns()
            session.run(names, feed)
            times[r] = time.perf_counter_ns() - start
    finally:
        if was_enabled:
            gc.enable()
    return times


def profile_input(space: str, dataset: str, seed: int = 0) -> np.ndarray:
    """The batch-1 input every network is timed on: standard normal, float32, from ``seed``."""
    from hwnas.spaces import get_space

    shape = get_space(space).dataset(dataset).input_shape
    return np.random.default_rng(seed).standard_normal((BATCH_SIZE, *shape)).astype(np.float32)


def summarize(times_ns: np.ndarray) -> tuple[float, float]:
    """(median in ms, variance in ms^2, ddof 0) of durations in ns."""
    ms = np.asarray(times_ns, dtype=np.float64) / 1e6
    return float(np.median(ms)), float(np.var(ms))


# ---------------------------------------------------------------------------------------------
# the output file
def sidecar_path(out: "str | os.PathLike[str]") -> Path:
    """The JSON sidecar of a profile CSV: ``m.csv`` -> ``m.csv.json``."""
    out = Path(out)
    return out.with_name(out.name + SIDECAR_SUFFIX)


def check_out_path(out: "str | os.PathLike[str]") -> Path:
    """``out`` as a Path that can be written (missing folders are created later); a usage error
    for an empty path, a directory, a path through a file, or a folder that cannot be written."""
    if not os.fspath(out).strip():
        raise HwnasUsageError("output path is empty; give a CSV file name such as latency.csv")
    path = Path(out)
    if path.is_dir():
        raise HwnasUsageError(f"output path {str(path)!r} is a directory; give a CSV file name such as "
                              f"{str(path / 'latency.csv')!r}")
    folder = path.parent if str(path.parent) else Path(".")
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise HwnasUsageError(f"cannot write {str(path)!r}: {str(existing)!r} is a file, not a folder")
    probe_writable(existing, repr(str(path)))
    for p in (path, sidecar_path(path)):
        if p.exists() and not os.access(p, os.W_OK):
            raise HwnasUsageError(f"cannot write {str(p)!r}: the file is not writable")
    return path


def _read_rows(path: Path) -> list[list[str]]:
    """The data rows of a profile CSV (header checked); a last line cut short by a kill is dropped."""
    raw = path.read_bytes()
    if raw and not raw.endswith(b"\n"):
        raw = raw[: raw.rfind(b"\n") + 1]
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    if not rows:
        return []
    if tuple(rows[0]) != COLUMNS:
        raise HwnasUsageError(f"{str(path)!r} is not a profile CSV (header {','.join(rows[0])!r}, expected "
                              f"{','.join(COLUMNS)!r}); use another --out or --overwrite to replace it")
    return [r for r in rows[1:] if len(r) == len(COLUMNS) and r[0].isdigit()]


def check_resume(out: "str | os.PathLike[str]", settings: dict, overwrite: bool = False) -> set[int]:
    """The architectures already in ``out`` (empty for a new file or with ``overwrite``); a usage
    error when ``out`` exists but its sidecar is missing or records another protocol or machine
    (the keys of `PROTOCOL_KEYS` and `MACHINE_KEYS` in ``settings``)."""
    path = check_out_path(out)
    if overwrite or not path.exists():
        return set()
    side = sidecar_path(path)
    fix = "use another --out, or --overwrite (overwrite=True) to replace it"
    try:
        recorded = json.loads(side.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HwnasUsageError(f"{str(path)!r} exists without its sidecar {str(side)!r}, so its protocol is "
                              f"unknown; {fix}") from None
    except (OSError, ValueError) as exc:
        raise HwnasUsageError(f"cannot read the sidecar {str(side)!r} ({exc}); {fix}") from None
    differ = [k for k in (*PROTOCOL_KEYS, *MACHINE_KEYS) if recorded.get(k) != settings.get(k)]
    if differ:
        was = ", ".join(f"{k}={recorded.get(k)!r}" for k in differ)
        now = ", ".join(f"{k}={settings.get(k)!r}" for k in differ)
        raise HwnasUsageError(f"{str(path)!r} was profiled with {was}, this run has {now}; {fix}")
    return {int(r[0]) for r in _read_rows(path)}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):  # pragma: no cover - not POSIX
        return None


def _write_sidecar(path: Path, settings: dict, previous: dict | None, finished: bool = False) -> None:
    """``date``: when the file was started; ``last_run`` / ``load_average``: the latest run's
    start and the 1/5/15-minute load then (other work on the machine inflates latencies);
    ``finished`` and ``load_average_end`` once that run completed."""
    from hwnas.storage import atomic_write

    record = dict(settings)
    record["date"] = (previous or {}).get("date", _now())
    record["last_run"] = (previous or {}).get("last_run", _now()) if finished else _now()
    record["load_average"] = (previous or {}).get("load_average") if finished else _load_average()
    if finished:
        record["finished"] = _now()
        record["load_average_end"] = _load_average()
    record["columns"] = list(COLUMNS)
    record["csv"] = path.name
    data = (json.dumps(record, indent=2) + "\n").encode()
    atomic_write(sidecar_path(path), lambda fh: fh.write(data))


def _format_row(index: int, median: float, var: float, arch_str: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([index, f"{median:.6f}", f"{var:.6g}", arch_str])
    return buf.getvalue()


def _progress(enabled: bool):
    # no refresh thread wanting the GIL while a network is timed
    return progress_bar(enabled, auto_refresh=False)


def _check_int(value: object, name: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise HwnasUsageError(f"{name}={value!r} must be a whole number")
    v = int(value)
    if v < minimum or (maximum is not None and v > maximum):
        bound = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise HwnasUsageError(f"{name}={v} must be {bound}")
    return v


def profile_archs(space: str, dataset: str, indices: "Sequence[int] | np.ndarray",
                  threads: int = DEFAULT_THREADS, repeats: int = DEFAULT_REPEATS, warmup: int = DEFAULT_WARMUP,
                  seed: int = 0, progress: bool = False, out: "str | os.PathLike[str] | None" = None,
                  overwrite: bool = False):
    """Time architectures ``indices`` of ``space`` (built for ``dataset``) with onnxruntime on this
    machine (protocol in the module docstring) and return a DataFrame with `COLUMNS`, one row per
    index in the given order (duplicates dropped).

    ``out``: a CSV that gets one row per architecture as it is timed (flushed and fsynced) and a
    sidecar ``out + '.json'`` (machine, runtime, protocol, date). An existing ``out`` is resumed:
    its rows are kept byte for byte and only the missing architectures are timed; it is refused
    (`HwnasUsageError`) when its sidecar shows another protocol or machine, unless ``overwrite``
    (start the file afresh). ``progress``: a rich progress bar with ETA on stderr."""
    import pandas as pd

    from hwnas.spaces import get_space

    threads = _check_int(threads, "threads", 1)
    repeats = _check_int(repeats, "repeats", 1)
    warmup = _check_int(warmup, "warmup", 0)
    seed = _check_int(seed, "seed", 0, 2**32 - 1)
    sp = get_space(space)
    ds = sp.dataset(dataset)
    todo_all: list[int] = []
    for i in np.asarray(indices).ravel().tolist():
        todo_all.append(_check_int(i, "architecture index", 0, sp.num_archs - 1))
    todo_all = list(dict.fromkeys(todo_all))
    settings = {**protocol(sp.name, ds.name, threads, repeats, warmup, seed), **machine_info(threads)}
    done_rows: dict[int, list[str]] = {}
    path = None
    if out is not None:
        path = check_out_path(out)
        done = check_resume(path, settings, overwrite=overwrite)
        previous = None
        if done or (path.exists() and not overwrite):
            done_rows = {int(r[0]): r for r in _read_rows(path)}
            try:
                previous = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                previous = None
        path.parent.mkdir(parents=True, exist_ok=True)
        _start_file(path, fresh=overwrite or not path.exists())
        _write_sidecar(path, settings, previous)
        previous = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    todo = [i for i in todo_all if i not in done_rows]
    results: dict[int, tuple[float, float, str]] = {}
    x = profile_input(sp.name, ds.name, seed)
    fh = open(path, "a", encoding="utf-8", newline="") if path is not None else None
    try:
        if fh is not None:
            _lock(fh, path)
        with _progress(progress) as bar:
            task = bar.add_task(f"profile {sp.name}/{ds.name}", total=len(todo),
                                status=f"{len(done_rows)} already in {path.name}" if done_rows else "")
            for index in todo:
                session = make_session(onnx_model_bytes(sp.name, index, ds.name, seed), threads)
                median, var = summarize(time_session(session, x, repeats, warmup))
                del session
                arch_str = sp.to_str(sp.arch_at(index))
                results[index] = (median, var, arch_str)
                if fh is not None:
                    fh.write(_format_row(index, median, var, arch_str))
                    fh.flush()
                    os.fsync(fh.fileno())
                bar.update(task, advance=1, status=f"{index}: {median:.3f} ms")
                bar.refresh()
    finally:
        if fh is not None:
            fh.close()
    if path is not None:
        _write_sidecar(path, settings, previous, finished=True)
    rows = []
    for index in todo_all:
        if index in results:
            median, var, arch_str = results[index]
        else:
            r = done_rows[index]
            median, var, arch_str = float(r[1]), float(r[2]), r[3]
        rows.append((index, median, var, arch_str))
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["arch"] = frame["arch"].astype(np.int64)
    return frame


def _start_file(path: Path, fresh: bool) -> None:
    """A new CSV with just the header (atomically) when ``fresh``; else cut a last line that a
    kill left unfinished, so appended rows start on a line of their own."""
    from hwnas.storage import atomic_write

    header = _format_row_header()
    if fresh or path.stat().st_size == 0:
        atomic_write(path, lambda fh: fh.write(header.encode()))
        return
    raw = path.read_bytes()
    if not raw.endswith(b"\n"):
        with open(path, "r+b") as fh:
            fh.truncate(raw.rfind(b"\n") + 1)


def _format_row_header() -> str:
    return ",".join(COLUMNS) + "\n"


def _lock(fh, path: Path) -> None:
    """An exclusive advisory lock on the open CSV: two processes never append to one file."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise HwnasUsageError(f"{str(path)!r} is being written by another hwnas profile; wait for it or "
                              "use another --out") from None


def read_profile(path: "str | os.PathLike[str]"):
    """A profile CSV as a DataFrame (`COLUMNS`) and its sidecar as a dict (empty if missing)."""
    import pandas as pd

    path = Path(path)
    frame = pd.DataFrame(_read_rows(path), columns=list(COLUMNS))
    frame = frame.astype({"arch": np.int64, "latency_ms": float, "latency_var_ms2": float})
    try:
        meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    return frame, meta
