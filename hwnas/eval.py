"""Judging zero-cost proxies against real NAS-Bench-201 accuracy (``hwnas eval proxies``).

Pipeline: `fixed_sample` picks the architectures, `evaluate_proxies` scores them (resumable,
through the on-disk `ScoreCache`), `proxy_metrics` compares every score column (and every rank
aggregate) with `load_ground_truth`, over the sample and over its top 5 %.

Conventions, used throughout:

* Scores: larger = predicted better. A non-finite score (-inf, +inf is never produced, NaN) is
  ranked LAST, below every finite score, and all non-finite scores of a column tie with each
  other (`hwnas.proxies.rank_ascending`: NaN counts as -inf, ties get their average rank). The
  correlations are computed on those ranks, so they are deterministic and do not depend on the
  order of the sample.
* Accuracy: 200-epoch test accuracy in percent (``c10_test``, ``c100_test``, ``in16_test`` of
  ``nb201/accuracy.csv``; for CIFAR-100 and ImageNet16-120 the NATS "x-test" values that papers
  quote).
* Time: milliseconds of wall-clock time per architecture for one *timed call*, i.e. building the
  network, Kaiming-normal initialisation and computing the group of proxies that share that call
  (see `proxy_groups`), measured with ``time.perf_counter``. A proxy computed together with
  others in one shared pass reports the time of the whole group: that is what it cost.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.progress import progress_bar

if TYPE_CHECKING:
    from hwnas.proxies.base import Proxy
    from hwnas.proxies.probe import ProxyInput

NB201_SIZE = 15_625
ACCURACY_FILE = "nb201/accuracy.csv"
GROUND_TRUTH_COLUMNS: dict[str, str] = {
    "cifar10": "c10_test",
    "cifar100": "c100_test",
    "imagenet16-120": "in16_test",
}
DEFAULT_CACHE = Path("runs") / "cache" / "scores.sqlite"
TOP_FRACTION = 0.05
DEVICES = ("cpu", "cuda")


# --- ground truth and the sample -------------------------------------------------------------
def canonical_dataset(dataset: str, space: str = "nb201") -> str:
    """The space's own name of ``dataset`` (aliases such as ``c100`` or ``in16`` resolved)."""
    from hwnas.spaces import get_space

    return get_space(space).dataset(dataset).name


@lru_cache(maxsize=None)
def _ground_truth(dataset: str, path: str) -> np.ndarray:
    column = GROUND_TRUTH_COLUMNS[dataset]
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None or column not in reader.fieldnames or "nb201_index" not in reader.fieldnames:
                raise HwnasUsageError(f"{path} has no columns nb201_index and {column}: "
                                      f"is it NAS-Bench-201's accuracy.csv?")
            values = np.full(NB201_SIZE, np.nan)
            seen = np.zeros(NB201_SIZE, dtype=bool)
            for row in reader:
                index = int(row["nb201_index"])
                if not 0 <= index < NB201_SIZE or seen[index]:
                    raise HwnasUsageError(f"{path}: nb201_index {index} is out of range or repeated")
                seen[index] = True
                values[index] = float(row[column])
    except UnicodeDecodeError:
        raise HwnasUsageError(f"{path} is not a text (UTF-8) CSV file: is it NAS-Bench-201's accuracy.csv? "
                              f"(replace it from the data folder)") from None
    except (ValueError, TypeError, csv.Error) as exc:
        if isinstance(exc, HwnasUsageError):
            raise
        raise HwnasUsageError(f"{path} is damaged ({type(exc).__name__}: {' '.join(str(exc).split())}); "
                              f"replace it from the data folder") from None
    except OSError as exc:
        raise HwnasUsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not seen.all() or not np.all(np.isfinite(values)):
        raise HwnasUsageError(f"{path} does not hold a finite {column} for all {NB201_SIZE:,} architectures")
    values.setflags(write=False)
    return values


def load_ground_truth(dataset: str) -> np.ndarray:
    """Test accuracy (%) of all 15,625 NAS-Bench-201 architectures on ``dataset``, float64 array
    indexed by NB-201 index (a read-only array, cached per file).

    ``dataset``: ``cifar10``, ``cifar100`` or ``imagenet16-120`` (or an alias the nb201 space
    accepts), read from the ``c10_test`` / ``c100_test`` / ``in16_test`` column of
    ``nb201/accuracy.csv`` in the data directory (`hwnas.data`); a `HwnasUsageError` naming the
    fix when the file is missing."""
    from hwnas.data import data_file

    name = canonical_dataset(dataset)
    if name not in GROUND_TRUTH_COLUMNS:
        raise HwnasUsageError(f"no ground-truth accuracy for dataset {dataset!r}")
    return _ground_truth(name, str(data_file(ACCURACY_FILE)))


def fixed_sample(n: int, seed: int) -> list[int]:
    """``n`` distinct NAS-Bench-201 indices, sorted: ``numpy.random.default_rng(seed).choice(
    15625, n, replace=False)`` -- the sample of the AZ-NAS reference figures."""
    if not 1 <= int(n) <= NB201_SIZE:
        raise HwnasUsageError(f"sample size must be in 1..{NB201_SIZE}, got {n}")
    check_seed(seed)
    chosen = np.random.default_rng(int(seed)).choice(NB201_SIZE, int(n), replace=False)
    return sorted(int(i) for i in chosen)


def check_seed(seed: object, name: str = "seed") -> int:
    """``seed`` as an int in 0..2**32-1 (what numpy's generators take); a usage error otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**32:
        raise HwnasUsageError(f"{name} must be a whole number from 0 to {2**32 - 1}, got {seed!r}")
    return int(seed)


def version_tag() -> str:
    """``major.minor`` of the installed hwnas: part of every cache key, so that a new minor
    version (which may change a proxy's definition) never reuses old scores."""
    from hwnas import __version__

    parts = __version__.split(".")
    return ".".join(parts[:2])


# --- the score cache ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CacheKey:
    """Everything but the architecture and the score column that a cached score depends on."""

    space: str
    dataset: str
    seed: int
    batch_size: int
    version: str
    device: str = "cpu"


@dataclass(frozen=True)
class CachedScore:
    """One cached score: ``value`` (NaN for NaN), ``ms`` of the timed call that produced it,
    ``call`` (id shared by every score of that call) and ``group`` (the proxies computed in it)."""

    value: float
    ms: float
    call: str
    group: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    space TEXT NOT NULL,
    arch INTEGER NOT NULL,
    dataset TEXT NOT NULL,
    proxy TEXT NOT NULL,
    seed INTEGER NOT NULL,
    batch_size INTEGER NOT NULL,
    version TEXT NOT NULL,
    device TEXT NOT NULL,
    value REAL,
    ms REAL NOT NULL,
    call TEXT NOT NULL,
    grp TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (space, dataset, seed, batch_size, version, device, proxy, arch)
)
"""


def _check_cache_path(path: Path) -> None:
    """A usage error, creating nothing, when the cache file ``path`` cannot be created: a folder
    at its place, a file where a parent folder should be, a read-only or virtual file system."""
    import tempfile

    if path.is_dir():
        raise HwnasUsageError(f"cannot use {path} as a score cache: it is a folder; pass a file path to --cache")
    base = path.parent.absolute()
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise HwnasUsageError(f"cannot use {path} as a score cache: {base} is a file, not a folder; "
                              f"pass another --cache path")
    if path.exists():
        return  # open_sqlite judges the file itself
    try:
        fd, tmp = tempfile.mkstemp(prefix=".hwnas-probe.", dir=base)
    except OSError as exc:
        raise HwnasUsageError(f"cannot use {path} as a score cache: {exc.strerror or exc} in {base}; "
                              f"pass another --cache path") from None
    os.close(fd)
    os.unlink(tmp)


class ScoreCache:
    """Proxy scores on disk (SQLite, standard library), one row per (space, arch index, dataset,
    score column, seed, batch size, hwnas major.minor, device).

    ``proxy`` in the key is the score column (``az_nas`` stores its four columns
    ``az_expressivity`` ... ``az_complexity``). The device is part of the key because CPU and
    CUDA kernels round differently. NaN is stored as NULL; +-inf as SQLite's infinities. Each
    `store` call is one transaction, so a killed run keeps every architecture it finished.
    Several processes may share one file (WAL journal, 60 s busy timeout).

    ``path``: a file (parent folders are created) or ``":memory:"`` for a throw-away cache.
    A cached score is trusted as long as its key matches: after changing a proxy's definition
    without a version bump, recompute it (``recompute=`` of `evaluate_proxies`, ``--recompute``)
    or use another cache file.
    """

    def __init__(self, path: "str | os.PathLike[str]" = DEFAULT_CACHE) -> None:
        from hwnas.storage import open_sqlite

        self.path = str(path)
        if self.path != ":memory:":
            _check_cache_path(Path(self.path))
        try:
            self._db = open_sqlite(self.path, _SCHEMA, "as a score cache; pass another --cache path")
        except OSError as exc:
            raise HwnasUsageError(f"cannot use {self.path} as a score cache ({exc.strerror or exc}); "
                                  f"pass another --cache path") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ScoreCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lookup(self, key: CacheKey, archs: Iterable[int], columns: Iterable[str]) -> dict[tuple[int, str], CachedScore]:
        """Cached scores of ``archs`` x ``columns`` under ``key``: {(arch, column): CachedScore};
        pairs that are not cached are absent."""
        archs, columns = {int(a) for a in archs}, set(columns)
        rows = self._db.execute(
            "SELECT arch, proxy, value, ms, call, grp FROM scores WHERE space=? AND dataset=? AND seed=? "
            "AND batch_size=? AND version=? AND device=?",
            (key.space, key.dataset, key.seed, key.batch_size, key.version, key.device),
        )
        out: dict[tuple[int, str], CachedScore] = {}
        for arch, proxy, value, ms, call, grp in rows:
            if arch in archs and proxy in columns:
                out[(arch, proxy)] = CachedScore(math.nan if value is None else float(value), float(ms), call, grp)
        return out

    def store(self, key: CacheKey, arch: int, scores: Mapping[str, CachedScore]) -> None:
        """Write (or overwrite) the scores of one architecture in one transaction."""
        now = time.time()
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (key.space, int(arch), key.dataset, column, key.seed, key.batch_size, key.version, key.device,
                     None if math.isnan(s.value) else float(s.value), float(s.ms), s.call, s.group, now)
                    for column, s in scores.items()
                ],
            )

    def count(self) -> int:
        """Number of cached scores (all keys)."""
        return int(self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])


# --- what to compute -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """Parsed ``--proxies``: single proxies (canonical names, in order) and rank aggregates
    (label, member proxy names). `proxies` is every proxy that must be scored."""

    singles: tuple[str, ...]
    aggregates: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def proxies(self) -> tuple[str, ...]:
        names = list(self.singles)
        for _, members in self.aggregates:
            names += [m for m in members if m not in names]
        return tuple(dict.fromkeys(names))


def parse_request(names: "str | Sequence[str]", aggregates: Sequence[str] = ()) -> Request:
    """``names``: proxy names or aliases (a list, or one comma-separated string); an item
    ``a+b+...`` asks for the Eq. 12 rank aggregate of those proxies. ``aggregates``: more such
    items (the ``--aggregate`` option). Unknown names raise `HwnasUsageError` with close
    matches."""
    from hwnas.proxies import get_proxy

    items = [names] if isinstance(names, str) else list(names)
    parts = [p.strip() for item in items for p in str(item).split(",") if p.strip()]
    for spec in aggregates:
        parts += [p.strip() for p in str(spec).split(",") if p.strip()]
    if not parts:
        raise HwnasUsageError("no proxies given: name at least one (see `hwnas proxies`)")
    singles: list[str] = []
    aggs: list[tuple[str, tuple[str, ...]]] = []
    for part in parts:
        if "+" in part:
            members = tuple(dict.fromkeys(get_proxy(m).name for m in part.split("+") if m.strip()))
            if len(members) < 2:
                raise HwnasUsageError(f"aggregate {part!r} needs at least two different proxies")
            label = "+".join(members)
            if label not in [a for a, _ in aggs]:
                aggs.append((label, members))
        else:
            name = get_proxy(part).name
            if name not in singles:
                singles.append(name)
    return Request(tuple(singles), tuple(aggs))


def proxy_groups(names: Sequence[str], separate: bool = False) -> list[tuple[str, ...]]:
    """How ``names`` are computed, one timed call per group and architecture: every proxy that
    reads the shared pass (``needs`` non-empty: naswot, grad_norm, snip, fisher, jacob_cov, zico
    and the AZ-NAS scores) in ONE group, every other proxy alone. ``separate=True``: each proxy
    alone (honest per-proxy times, at the price of repeating the shared forward pass)."""
    from hwnas.proxies import get_proxy

    proxies = [get_proxy(n) for n in dict.fromkeys(names)]
    if separate:
        return [(p.name,) for p in proxies]
    shared = tuple(p.name for p in proxies if p.needs)
    return ([shared] if shared else []) + [(p.name,) for p in proxies if not p.needs]


def outputs_of(name: str) -> tuple[str, ...]:
    """Score columns of proxy ``name`` (``az_nas``: its four components)."""
    from hwnas.proxies import get_proxy

    return get_proxy(name).outputs


# --- scoring ---------------------------------------------------------------------------------------
def _check_device(device: str) -> str:
    import torch

    device = str(device).strip().lower()
    if device not in DEVICES:
        raise HwnasUsageError(f"unknown device {device!r}; use one of {', '.join(DEVICES)}")
    if device == "cuda" and not torch.cuda.is_available():
        raise HwnasUsageError(
            f"--device cuda: CUDA is not available (torch {torch.__version__}, "
            f"built with CUDA {torch.version.cuda or 'none'}, no usable GPU); use --device cpu"
        )
    return device


def score_architecture(
    index: int,
    names: Sequence[str],
    dataset: str,
    seed: int = 0,
    batch_size: int = 64,
    space: str = "nb201",
    device: str = "cpu",
    probe: "ProxyInput | None" = None,
) -> dict[str, float]:
    """Scores of proxies ``names`` for NB-201 architecture ``index`` on ``dataset``: the network
    from ``get_space(space).build``, Kaiming-normal initialisation and probe batch under the
    per-architecture seed ``hwnas.init.arch_seed(seed, arch)``, all via
    `hwnas.proxies.score_all` on ``device``. Returns {score column: value}."""
    from hwnas.init import arch_seed
    from hwnas.proxies import score_all
    from hwnas.spaces import get_space

    sp = get_space(space)
    arch = sp.parse(str(index))
    spec = sp.dataset(dataset)
    return score_all(lambda: sp.build(arch, spec.name), list(names), spec.input_shape, spec.num_classes,
                     seed=arch_seed(seed, arch), batch_size=batch_size, device=device, probe=probe)


@dataclass
class Evaluation:
    """Scores of one sample on one dataset. Arrays are aligned with ``indices`` (sorted NB-201
    indices). ``columns``: score column -> scores; ``ms`` / ``calls`` / ``groups``: per column and
    architecture, the time (ms), id and proxy group of the timed call that produced the score
    (possibly in an earlier run: the cache keeps them). ``computed``: timed calls run now;
    ``reused``: (architecture, proxy) pairs served from the cache."""

    space: str
    dataset: str
    seed: int
    batch_size: int
    device: str
    indices: np.ndarray
    request: Request
    columns: dict[str, np.ndarray]
    ms: dict[str, np.ndarray]
    calls: dict[str, list[str]]
    groups: dict[str, list[str]]
    computed: int = 0
    reused: int = 0
    timed_groups: list[tuple[str, ...]] = field(default_factory=list)

    def call_ms(self, columns: Sequence[str]) -> np.ndarray:
        """Per architecture: the summed time (ms) of the distinct timed calls that produced
        ``columns`` -- the cost of that set of scores."""
        out = np.zeros(len(self.indices))
        for i in range(len(self.indices)):
            seen: dict[str, float] = {}
            for c in columns:
                seen[self.calls[c][i]] = float(self.ms[c][i])
            out[i] = sum(seen.values())
        return out


def _progress(enabled: bool):
    return progress_bar(enabled)


def evaluate_proxies(
    names: "str | Sequence[str]",
    dataset: str,
    sample: "int | Sequence[int]",
    seed: int = 0,
    batch_size: int = 64,
    cache: "ScoreCache | str | os.PathLike[str] | None" = None,
    progress: bool = True,
    *,
    space: str = "nb201",
    device: str = "cpu",
    separate: bool = False,
    aggregates: Sequence[str] = (),
    recompute: Sequence[str] = (),
    inputs: "str | os.PathLike[str] | None" = None,
) -> Evaluation:
    """Score every architecture of the sample with the requested proxies, reusing the cache.

    ``names``: proxies (list or comma-separated; ``a+b`` items request rank aggregates, see
    `parse_request`). ``sample``: a size n (then ``fixed_sample(n, seed)``) or explicit NB-201
    indices. ``seed``: sample seed and scoring seed; each architecture is scored under
    ``arch_seed(seed, arch)``, so its scores do not depend on the sample or its order.
    ``batch_size``: probe batch size. ``cache``: a `ScoreCache`, a path, or None (in memory only).
    Missing (architecture, proxy) scores are computed in timed calls (`proxy_groups`), and each
    architecture's new scores are committed as soon as it is done: an interrupted run resumes
    where it stopped. ``recompute``: proxies whose cached scores are ignored and overwritten.
    ``inputs``: an ``.npz`` probe set (`hwnas.proxies.load_probe_inputs`) used instead of Gaussian
    batches; its content hash joins the cache key. ``progress``: a rich progress bar on stderr.
    ``device``: "cpu" or "cuda" (a usage error when CUDA is not available)."""
    from hwnas.spaces import get_space

    if get_space(space).name != "nb201":
        raise HwnasUsageError(f"proxy evaluation needs ground-truth accuracy, which exists only for nb201, not {space!r}")
    space = "nb201"
    device = _check_device(device)
    check_seed(seed)
    if int(batch_size) < 1:
        raise HwnasUsageError(f"batch size must be at least 1, got {batch_size}")
    request = parse_request(names, aggregates)
    ds = canonical_dataset(dataset, space)
    if isinstance(sample, (int, np.integer)):
        indices = fixed_sample(int(sample), seed)
    else:
        indices = sorted({int(i) for i in sample})
        if not indices or indices[0] < 0 or indices[-1] >= NB201_SIZE:
            raise HwnasUsageError(f"sample indices must be NAS-Bench-201 indices 0..{NB201_SIZE - 1}")
    redo = {n for n in parse_request(list(recompute)).proxies} if recompute else set()

    own_cache = not isinstance(cache, ScoreCache)
    store = ScoreCache(":memory:" if cache is None else cache) if own_cache else cache
    assert isinstance(store, ScoreCache)
    probe, version = None, version_tag()
    if inputs is not None:
        import hashlib

        from hwnas.proxies import load_probe_inputs

        spec = get_space(space).dataset(ds)
        probe = load_probe_inputs(inputs, spec.input_shape, spec.num_classes)
        digest = hashlib.sha256(probe.inputs.numpy().tobytes() + probe.labels.numpy().tobytes()).hexdigest()[:16]
        version = f"{version}+inputs:{digest}"
    key = CacheKey(space, ds, int(seed), int(batch_size), version, device)
    proxies = list(request.proxies)
    columns = {p: outputs_of(p) for p in proxies}
    all_columns = [c for p in proxies for c in columns[p]]
    try:
        cached = store.lookup(key, indices, all_columns)
        found: dict[tuple[int, str], CachedScore] = dict(cached)
        computed = reused = 0
        timed_groups: list[tuple[str, ...]] = []
        with _progress(progress) as bar:
            task = bar.add_task(f"{ds} x {len(proxies)} proxies", total=len(indices), status="")
            for arch in indices:
                missing = [p for p in proxies
                           if p in redo or any((arch, c) not in found for c in columns[p])]
                reused += len(proxies) - len(missing)
                new: dict[str, CachedScore] = {}
                for group in proxy_groups(missing, separate):
                    start = time.perf_counter()
                    scores = score_architecture(arch, group, ds, seed, batch_size, space, device, probe)
                    if device == "cuda":
                        import torch

                        torch.cuda.synchronize()
                    ms = (time.perf_counter() - start) * 1000.0
                    call, label = uuid.uuid4().hex, "+".join(group)
                    for p in group:
                        for c in columns[p]:
                            new[c] = CachedScore(float(scores[c]), ms, call, label)
                    computed += 1
                    if group not in timed_groups:
                        timed_groups.append(group)
                if new:
                    store.store(key, arch, new)
                    found.update({(arch, c): s for c, s in new.items()})
                bar.update(task, advance=1, status=f"computed {computed} calls, reused {reused}")
    finally:
        if own_cache:
            store.close()

    n = len(indices)
    out_cols = {c: np.array([found[(a, c)].value for a in indices], dtype=np.float64) for c in all_columns}
    out_ms = {c: np.array([found[(a, c)].ms for a in indices], dtype=np.float64) for c in all_columns}
    out_calls = {c: [found[(a, c)].call for a in indices] for c in all_columns}
    out_groups = {c: [found[(a, c)].group for a in indices] for c in all_columns}
    assert all(len(v) == n for v in out_cols.values())
    return Evaluation(space, ds, int(seed), int(batch_size), device, np.asarray(indices, dtype=np.int64), request,
                      out_cols, out_ms, out_calls, out_groups, computed, reused, timed_groups)


# --- metrics -------------------------------------------------------------------------------------------
def rank_correlations(scores: "np.ndarray | Sequence[float]", accuracy: "np.ndarray | Sequence[float]") -> tuple[float, float]:
    """(Kendall tau-b, Spearman rho) between ``scores`` and ``accuracy`` (scipy.stats).

    Non-finite scores are ranked last (below every finite score, tied with each other), ties get
    their average rank: the scores are replaced by `rank_ascending` ranks first, which changes
    neither coefficient for finite scores. NaN when fewer than two architectures or when either
    side is constant."""
    from scipy import stats

    from hwnas.proxies import rank_ascending

    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    a = np.asarray(accuracy, dtype=np.float64).reshape(-1)
    if s.size != a.size:
        raise ValueError(f"scores ({s.size}) and accuracy ({a.size}) differ in length")
    if s.size < 2:
        return math.nan, math.nan
    r = rank_ascending(s)
    if np.all(r == r[0]) or np.all(a == a[0]):
        return math.nan, math.nan
    tau = float(stats.kendalltau(r, a).statistic)
    rho = float(stats.spearmanr(r, a).statistic)
    return tau, rho


def top_fraction(accuracy: "np.ndarray | Sequence[float]", fraction: float = TOP_FRACTION) -> np.ndarray:
    """Positions (ascending) of the best ``fraction`` of the sample by ground-truth accuracy: the
    survey's constrained setting (Sec. 4.1.2), taken within the sample. Size
    max(2, ceil(fraction * n)); ties at the boundary go to the earlier position (the smaller NB-201
    index in a sorted sample), so the subset is deterministic."""
    a = np.asarray(accuracy, dtype=np.float64).reshape(-1)
    if not 0.0 < fraction <= 1.0:
        raise HwnasUsageError(f"top fraction must be in (0, 1], got {fraction}")
    k = min(a.size, max(2, math.ceil(fraction * a.size - 1e-9)))
    order = np.argsort(-a, kind="stable")
    return np.sort(order[:k])


@dataclass(frozen=True)
class ProxyMetrics:
    """One row of the results table. ``kind``: "proxy", "component" (one score of a multi-score
    proxy such as az_nas) or "aggregate" (Eq. 12 over ``columns``). Correlations against test
    accuracy over the n sampled architectures and over the top ``n_top`` of them; ``median_ms``:
    median over architectures of the ms of the timed calls that produced ``columns``;
    ``non_finite``: architectures whose score is -inf/NaN (an aggregate has none: it ranks)."""

    name: str
    kind: str
    columns: tuple[str, ...]
    kendall: float
    spearman: float
    top_kendall: float
    top_spearman: float
    median_ms: float
    n: int
    n_top: int
    non_finite: int
    timed_groups: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "proxy": self.name, "kind": self.kind, "columns": list(self.columns), "kendall_tau": self.kendall,
            "spearman_rho": self.spearman, "top_kendall_tau": self.top_kendall, "top_spearman_rho": self.top_spearman,
            "median_ms_per_arch": self.median_ms, "n": self.n, "n_top": self.n_top, "non_finite": self.non_finite,
            "timed_groups": list(self.timed_groups),
        }


def rows_of(request: Request) -> list[tuple[str, str, tuple[str, ...]]]:
    """(row name, kind, score columns) of every table row for ``request``: each single proxy (a
    multi-score proxy gives its aggregate row, then one row per component), then the aggregates."""
    rows: list[tuple[str, str, tuple[str, ...]]] = []
    for name in request.singles:
        outs = outputs_of(name)
        if len(outs) == 1:
            rows.append((name, "proxy", outs))
        else:
            rows.append((name, "aggregate", outs))
            rows += [(c, "component", (c,)) for c in outs]
    for label, members in request.aggregates:
        cols = tuple(dict.fromkeys(c for m in members for c in outputs_of(m)))
        rows.append((label, "aggregate", cols))
    return rows


def row_scores(evaluation: Evaluation, columns: Sequence[str]) -> np.ndarray:
    """One column's scores, or the AZ-NAS Eq. 12 non-linear rank aggregate of several columns
    over the sample (`hwnas.proxies.nonlinear_rank_aggregate`; non-finite scores rank last)."""
    from hwnas.proxies import nonlinear_rank_aggregate

    if len(columns) == 1:
        return evaluation.columns[columns[0]]
    return nonlinear_rank_aggregate({c: evaluation.columns[c] for c in columns}, list(columns))


def proxy_metrics(
    evaluation: Evaluation, accuracy: "np.ndarray | None" = None, fraction: float = TOP_FRACTION
) -> list[ProxyMetrics]:
    """The results table of ``evaluation``: Kendall tau and Spearman rho (`rank_correlations`)
    against ground-truth test accuracy (%) over the whole sample and over its top ``fraction``
    by accuracy (`top_fraction`: the survey's constrained setting, the top 5 % *of the sample*),
    the median ms per architecture, and n. ``accuracy``: accuracy of the sampled architectures in
    sample order; default `load_ground_truth` of the evaluation's dataset. Aggregates (``az_nas``
    and ``a+b`` requests) are ranked over the whole sample, then restricted to the top subset."""
    if accuracy is None:
        accuracy = load_ground_truth(evaluation.dataset)[evaluation.indices]
    acc = np.asarray(accuracy, dtype=np.float64).reshape(-1)
    if acc.size != len(evaluation.indices):
        raise ValueError(f"accuracy has {acc.size} entries for {len(evaluation.indices)} architectures")
    top = top_fraction(acc, fraction)
    out = []
    for name, kind, cols in rows_of(evaluation.request):
        scores = row_scores(evaluation, cols)
        tau, rho = rank_correlations(scores, acc)
        ttau, trho = rank_correlations(scores[top], acc[top])
        non_finite = int(np.sum(~np.isfinite(scores)))
        groups = tuple(dict.fromkeys(g for c in cols for g in evaluation.groups[c]))
        out.append(ProxyMetrics(name, kind, tuple(cols), tau, rho, ttau, trho,
                                float(np.median(evaluation.call_ms(cols))), int(acc.size), int(top.size),
                                non_finite, groups))
    return out


# --- output -------------------------------------------------------------------------------------------
def _jsonable(x: float) -> "float | str | None":
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def write_results(path: "str | os.PathLike[str]", results: Sequence[tuple[Evaluation, list[ProxyMetrics]]],
                  config: Mapping[str, Any]) -> Path:
    """Write the tables to ``path``: ``.csv`` (one row per dataset and table row) or ``.json``
    (config, and per dataset the table, the sample indices, accuracy and every score column;
    non-finite numbers as the strings "nan", "inf", "-inf")."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise HwnasUsageError(f"--out must end in .csv or .json, got {p.name!r}")
    p.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        fields = ["dataset", "proxy", "kind", "kendall_tau", "spearman_rho", "top_kendall_tau", "top_spearman_rho",
                  "median_ms_per_arch", "n", "n_top", "non_finite", "columns", "timed_groups"]
        with open(p, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            for ev, rows in results:
                for m in rows:
                    d = m.as_dict()
                    d["columns"] = "+".join(d["columns"])
                    d["timed_groups"] = "; ".join(d["timed_groups"])
                    w.writerow({"dataset": ev.dataset, **d})
        return p
    doc: dict[str, Any] = {"config": dict(config), "datasets": {}}
    for ev, rows in results:
        acc = None
        try:
            acc = [float(v) for v in load_ground_truth(ev.dataset)[ev.indices]]
        except HwnasUsageError:
            pass
        doc["datasets"][ev.dataset] = {
            "metrics": [{k: (_jsonable(v) if isinstance(v, float) else v) for k, v in m.as_dict().items()} for m in rows],
            "indices": [int(i) for i in ev.indices],
            "test_accuracy": acc,
            "scores": {c: [_jsonable(v) for v in vals] for c, vals in ev.columns.items()},
            "ms": {c: [float(v) for v in vals] for c, vals in ev.ms.items()},
            "computed_calls": ev.computed,
            "reused": ev.reused,
        }
    with open(p, "w") as fh:
        json.dump(doc, fh, indent=1)
    return p
