"""Proxy scores for a search: archive first, then the shipped table, then live computation.

`ProxyScorer.evaluate(indices)` returns the score columns of each architecture (its canonical
representative is what gets scored), computing only what neither the archive nor the package's
precomputed table holds, optionally across a process pool (one torch thread per worker) or as
Ray tasks (``ray``: `hwnas.search.ray_backend`; a job that fails twice there comes back as a
`FailedEvaluation`, never archived), and archiving each result as soon as it is computed (one
transaction per evaluation, so an interrupt loses at most the evaluations still running;
scores looked up in the shipped table are archived in one transaction per batch).
`objective(columns)` turns the columns of the evaluated architectures into one "larger is
better" score: the column itself for a
single-column proxy, AZ-NAS's non-linear rank aggregation (Eq. 12) otherwise. The ranks are
taken against a fixed reference population (`ProxyScorer.reference`): every class of the shipped
table for the run's dataset and proxy setting, else a fixed sample of the space scored under the
run's setting (`ProxyScorer.use_reference_sample`), so an architecture's score does not depend on
what else a run evaluated; with neither (``--reference-sample 0``), against the run's evaluated set.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.search.archive import Archive, Evaluated, ScoreSetting

ARCHIVE_BATCH = 64  # computed evaluations per archive transaction, at most
ARCHIVE_BATCH_S = 1.0  # seconds a computed evaluation may wait for its transaction, at most


@dataclass(frozen=True)
class FailedEvaluation(Evaluated):
    """An architecture whose scoring failed (``--ray``: after a retry): NaN scores and the error.
    Never archived, so a rerun tries it again; `SearchState` keeps it off the front."""

    error: str = ""


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


STATIC_PROXIES = frozenset({"params", "flops"})  # read from the space's (cached) cost, no network built


def _static_scores(space: str, ref: "int | str", dataset: str, proxies: tuple[str, ...]) -> dict[str, float]:
    """params / flops of architecture ``ref`` (an index or an arch string the space parses) from
    `Space.cost` (NB201: counted once per op multiset), the same numbers the ``params`` and
    ``flops`` proxies count on a built network."""
    from hwnas.spaces import get_space

    sp = get_space(space)
    cost = sp.cost(sp.parse(str(ref)), dataset)
    values = {"params": float(cost.params), "flops": float(cost.flops)}
    return {p: values[p] for p in proxies}


def _score_one(args: tuple[int, str, tuple[str, ...], str, int, int, str, str]
               ) -> tuple[int, dict[str, float], float]:
    """(id, scores, ms) of one architecture; ``ref`` is the text the space parses back to it."""
    from hwnas.eval import score_architecture

    index, ref, proxies, dataset, seed, batch_size, space, device = args
    start = time.perf_counter()
    if set(proxies) <= STATIC_PROXIES:
        return index, _static_scores(space, ref, dataset, proxies), (time.perf_counter() - start) * 1000.0
    scores = score_architecture(ref, proxies, dataset, seed, batch_size, space, device)
    return index, {k: float(v) for k, v in scores.items()}, (time.perf_counter() - start) * 1000.0


class ProxyScorer:
    """Scores a space's architectures (by run id, `hwnas.search.catalog.ArchCatalog`) under one
    `ScoreSetting` through an `Archive`."""

    def __init__(self, space: str, dataset: str, setting: ScoreSetting, archive: Archive,
                 workers: int = 1, use_shipped: bool = True, catalog=None, ray: "str | None" = None,
                 ray_timeout: "float | None" = None) -> None:
        from hwnas.eval import outputs_of
        from hwnas.search.catalog import ArchCatalog
        from hwnas.spaces import get_space

        self.space = get_space(space)
        self.catalog = catalog if catalog is not None else ArchCatalog(self.space)
        self.dataset = self.space.dataset(dataset).name
        self.setting = setting
        self.archive = archive
        self.workers = max(1, int(workers))
        self.columns: tuple[str, ...] = tuple(c for p in setting.proxies for c in outputs_of(p))
        self._shipped = None
        self._shipped_static: tuple[str, ...] = ()
        from hwnas.proxies.learned import is_learned, labelled_representatives, served_scores

        learned = any(is_learned(p) for p in setting.proxies)
        self._labelled: frozenset[int] = labelled_representatives(setting.proxies)
        self._served_origin = "learned" if learned else "shipped"
        if use_shipped or learned:
            # the table holds the network-built proxies, served_scores adds learned ones (hwnas proxies
            # fit: predicted for every class); params / flops come from the space's cost
            built = tuple(p for p in setting.proxies if p not in STATIC_PROXIES)
            static = tuple(p for p in setting.proxies if p in STATIC_PROXIES)
            if built:
                self._shipped = served_scores(self.space.name, self.dataset, built, setting.seed,
                                              setting.batch_size, use_shipped)
            self._shipped_static = static
        self.reference: dict[str, np.ndarray] | None = None
        self.reference_kind = "none"  # "shipped score table" | "fixed reference sample" | "none"
        self.reference_stats: dict[str, int] = {}
        if len(self.columns) > 1:
            self.reference = reference_population(self.space.name, self.dataset, setting)
            if self.reference is not None:
                self.reference_kind = "shipped score table"
        self._pool: ProcessPoolExecutor | None = None
        self.ray = ray  # --ray ADDRESS / local: jobs run as Ray tasks (search/ray_backend.py), started lazily
        self.ray_timeout = ray_timeout
        self._ray = None
        self._ray_info: dict | None = None  # the backend's record, kept when it closes
        self.failed = 0
        self.computed = 0
        self.reused = 0
        self.shipped_used = 0
        self.compute_ms: list[float] = []

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._ray is not None:
            self._ray_info = self._ray.info()
            self._ray.close()
            self._ray = None

    def backend(self) -> dict:
        """What scored the computed architectures (run.json's ``scoring.backend``)."""
        if self.ray:
            if self._ray is not None:
                return self._ray.info()
            return self._ray_info or {"kind": "ray", "address": self.ray,
                                      "note": "not started: nothing was scored live"}
        return {"kind": "processes", "workers": self.workers} if self.workers > 1 else {"kind": "serial"}

    def __enter__(self) -> "ProxyScorer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def use_reference_sample(self, size: int, on_scored=None) -> None:
        """Rank a multi-column score against a fixed sample of ``size`` architectures, drawn with
        `REFERENCE_SAMPLE_SEED` (not the run's seed) and scored under this setting, when the shipped
        table gives no reference: the score of an architecture then depends on its own columns
        only, the same in every run with this setting. The sample's scores are archived like any
        other (a rerun looks them up) but are not part of the run's evaluations; failed ones are
        left out. ``on_scored(done, total)`` is called after each batch of 16."""
        if len(self.columns) <= 1 or self.reference is not None or int(size) <= 0:
            return
        ids = reference_sample_ids(self.space, self.catalog, int(size))
        before = (self.computed, self.reused, self.shipped_used, self.failed, len(self.compute_ms))
        rows: list[Evaluated] = []
        for start in range(0, len(ids), 16):
            rows.extend(self.evaluate(ids[start:start + 16]))
            if on_scored is not None:
                on_scored(len(rows), len(ids))
        ok = [e for e in rows if not isinstance(e, FailedEvaluation)]
        if ok:  # with none scored, the run's own set stays the population
            self.reference = {c: np.array([e.scores[c] for e in ok], dtype=np.float64) for c in self.columns}
            self.reference_kind = "fixed reference sample"
        self.reference_stats = {"size": len(ok), "drawn": int(size), "distinct": len(ids),
                                "failed": len(rows) - len(ok), "computed": self.computed - before[0],
                                "from_archive": self.reused - before[1],
                                "from_shipped_table": self.shipped_used - before[2],
                                "seed": REFERENCE_SAMPLE_SEED}
        # the sample is not part of the run: its counts stay out of the run's scoring record
        self.computed, self.reused, self.shipped_used, self.failed = before[:4]
        del self.compute_ms[before[4]:]

    def served_without_computing(self, indices: Sequence[int]) -> bool:
        """True when every one of ``indices`` is in the shipped table (scoring them is a look-up:
        they need no crash safety, so they can go in one batch, one archive transaction)."""
        return self._shipped is not None and all(int(i) in self._shipped for i in indices)

    def key(self, index: int) -> str:
        return self.space.key(self.catalog.arch(int(index)))

    def evaluate(self, indices: Sequence[int]) -> list[Evaluated]:
        """Score columns of each (representative) architecture in ``indices``, in order."""
        keys = [self.key(i) for i in indices]
        found = self.archive.lookup(self.space.name, self.dataset, self.setting, keys)
        self.reused += sum(1 for k in dict.fromkeys(keys) if k in found)
        todo: dict[str, int] = {}
        for k, i in zip(keys, indices):
            if k not in found and k not in todo:
                todo[k] = int(i)
        new: dict[str, Evaluated] = {}
        if self._shipped is not None:
            shipped: dict[str, Evaluated] = {}
            for k, i in list(todo.items()):
                row = self._shipped.get(i)
                if row is not None:
                    if self._shipped_static:
                        row = {**row, **_static_scores(self.space.name, self.catalog.ref(i), self.dataset,
                                                       self._shipped_static)}
                    origin = "labelled" if i in self._labelled else self._served_origin
                    shipped[k] = Evaluated(i, row, 0.0, origin)
                    del todo[k]
            if shipped:  # table look-ups cost nothing: one transaction for all of them
                self.archive.store(self.space.name, self.dataset, self.setting, shipped)
            self.shipped_used += len(shipped)
            new.update(shipped)
        # computed evaluations are archived in batches: a transaction when ARCHIVE_BATCH results
        # are pending or a result arrives ARCHIVE_BATCH_S or more after the last write (so slow
        # evaluations are written one by one), and whatever is pending when the loop ends or
        # raises: an interrupt loses only the evaluations still running, a killed process at most
        # one batch
        pending: dict[str, Evaluated] = {}
        last_write = time.monotonic()
        try:
            for index, scores, ms, error in self._compute(list(todo.values())):
                k = self.key(index)
                if error:  # not archived (a rerun tries it again): NaN scores, kept off the front
                    new[k] = FailedEvaluation(index, {c: math.nan for c in self.columns}, ms, "failed", error)
                    self.failed += 1
                    continue
                ev = Evaluated(index, scores, ms, "computed")
                pending[k] = ev
                new[k] = ev
                self.computed += 1
                self.compute_ms.append(ms)
                if len(pending) >= ARCHIVE_BATCH or time.monotonic() - last_write >= ARCHIVE_BATCH_S:
                    self.archive.store(self.space.name, self.dataset, self.setting, pending)
                    pending, last_write = {}, time.monotonic()
        finally:
            if pending:
                self.archive.store(self.space.name, self.dataset, self.setting, pending)
        found.update(new)
        return [found[k] for k in keys]

    def _compute(self, indices: list[int]) -> Iterator[tuple[int, dict[str, float], float, str]]:
        """(id, scores, ms, error) of ``indices``, yielded as each completes (in completion order
        with a pool or Ray); error is "" except for a job that failed twice on Ray."""
        if not indices:
            return
        s = self.setting
        jobs = [(i, self.catalog.ref(i), s.proxies, self.dataset, s.seed, s.batch_size, self.space.name, s.device)
                for i in indices]
        if self.ray and not set(s.proxies) <= STATIC_PROXIES:
            if self._ray is None:
                from hwnas.search.ray_backend import DEFAULT_TIMEOUT_S, RayBackend

                self._ray = RayBackend(self.ray, DEFAULT_TIMEOUT_S if self.ray_timeout is None else self.ray_timeout)
            yield from self._ray.run(jobs, _score_one)
            return
        if self.workers == 1 or len(jobs) == 1 or set(s.proxies) <= STATIC_PROXIES:
            for j in jobs:
                yield (*_score_one(j), "")
            return
        if self._pool is None:
            import multiprocessing as mp

            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                             initializer=_worker_init)
        futures = [self._pool.submit(_score_one, j) for j in jobs]
        try:
            for fut in as_completed(futures):
                yield (*fut.result(), "")
        finally:
            for fut in futures:
                fut.cancel()


REFERENCE_SAMPLE_SEED = 20_201  # the fixed reference sample's draw: the same for every run and --seed
DEFAULT_REFERENCE_SAMPLE = 100


def reference_sample_ids(space, catalog, size: int) -> list[int]:
    """Run ids of the fixed reference sample: ``size`` uniform draws from ``space`` under
    `REFERENCE_SAMPLE_SEED`, canonicalised, duplicates dropped (first occurrence kept)."""
    archs = space.sample(np.random.default_rng(REFERENCE_SAMPLE_SEED), int(size))
    return list(dict.fromkeys(catalog.id_of(a) for a in archs))


def reference_population(space: str, dataset: str, setting: ScoreSetting) -> dict[str, np.ndarray] | None:
    """The score columns of every class of the shipped table for this (dataset, proxy setting):
    the fixed population a multi-column score is ranked against, or None when the table does not
    hold this setting for every class of the space (or holds only some of its proxies, e.g.
    ``az_nas,params``)."""
    from hwnas.proxies.table import shipped_columns

    if space != "nb201":
        return None
    served = shipped_columns(space, dataset, tuple(setting.proxies), setting.seed, setting.batch_size)
    if served is None:
        return None
    from hwnas.spaces.nb201 import representative_indices

    reps, cols = served
    if reps.size < int(np.unique(representative_indices()).size):
        return None
    return {c: np.asarray(v, dtype=np.float64) for c, v in cols.items()}


def reference_ranks(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Ascending rank (1..m) of each of ``values`` among the ``m`` reference values: a value the
    reference holds gets its rank there (ties: the average rank of the group, as
    `rank_ascending`); one it does not hold ranks halfway between its neighbours (at least 0.5,
    at most m). NaN counts as -inf (worst), as in `rank_ascending`."""
    ref = np.sort(np.where(np.isnan(reference), -np.inf, np.asarray(reference, dtype=np.float64)))
    v = np.asarray(values, dtype=np.float64)
    v = np.where(np.isnan(v), -np.inf, v)
    lo = np.searchsorted(ref, v, side="left")
    hi = np.searchsorted(ref, v, side="right")
    ranks = lo + (hi - lo + 1) / 2.0
    return np.clip(ranks, 0.5, float(ref.size))


def objective(columns: dict[str, np.ndarray], names: Sequence[str],
              reference: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """One larger-is-better score per architecture from its score ``columns``: the column itself
    when there is one, otherwise the non-linear rank aggregate (AZ-NAS Eq. 12), sum of
    log(rank / m): ranked against the fixed ``reference`` population when given (the score of an
    architecture then depends on its own columns only), else among the given architectures (it
    then depends on which architectures are compared). Non-finite scores rank last."""
    from hwnas.proxies.aggregate import nonlinear_rank_aggregate

    if len(names) == 1:
        v = np.asarray(columns[names[0]], dtype=np.float64)
        return np.where(np.isfinite(v), v, -np.inf)
    if reference is None:
        return nonlinear_rank_aggregate(columns, list(names))
    out = np.zeros(np.asarray(columns[names[0]]).size, dtype=np.float64)
    for c in names:
        ref = reference[c]
        out += np.log(reference_ranks(np.asarray(columns[c], dtype=np.float64), ref) / ref.size)
    return out


def check_workers(workers: int) -> int:
    if int(workers) < 1:
        raise HwnasUsageError(f"--workers must be at least 1, got {workers}")
    return int(workers)
