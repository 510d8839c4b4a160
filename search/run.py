"""`run_search`: one hardware-aware search from a `SearchConfig` to a `ParetoResult`.

The run loop drives a pymoo algorithm by ask-and-tell: ask for a generation, evaluate it
through the `SearchState` (archive -> shipped scores -> live scoring), refresh the population's
rank-based scores, tell. It stops after ``evaluations`` distinct architectures (isomorphism
classes). Resuming replays the same seeded run against the archive, so a run killed half-way
and resumed ends exactly where an uninterrupted run ends, without rescoring anything.
The front is computed at the end over *everything* evaluated, not just the last population.
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.search.budget import Budget

DEFAULT_PROXY = "az_nas"
DEFAULT_BATCH = 64  # AZ-NAS's setting; a dataset the shipped score table holds uses its batch size
DEFAULT_EVALUATIONS = 1000
DEFAULT_POP = 50


@dataclass
class SearchConfig:
    """Everything a run depends on (``hwnas pareto`` flags)."""

    device: str
    budgets: list[Budget] = field(default_factory=list)
    space: str = "nb201"
    dataset: str = "cifar100"
    proxy: str = DEFAULT_PROXY
    evaluations: int = DEFAULT_EVALUATIONS
    seed: int = 0
    out: Path = Path("runs/pareto")
    export_onnx: int = 0
    algorithm: str = "nsga2"
    pop_size: int = DEFAULT_POP
    resume: bool = False
    workers: int = 1
    batch_size: int | None = None  # None: default_batch_size(dataset)
    proxy_seed: int = 0
    shipped_scores: bool = True
    archive: Path | None = None  # default: out/archive.sqlite
    objectives: tuple[str, ...] = ()  # cost metrics to minimise; default: budget metrics, else all
    command: str = ""


@dataclass
class ParetoResult:
    """What a run produced: the front and every evaluated architecture (pandas DataFrames, best
    score first / evaluation order), artefact paths, and the run record (`run.json`)."""

    front: Any  # pandas.DataFrame
    evaluated: Any  # pandas.DataFrame
    paths: dict[str, Path]
    run: dict[str, Any]
    config: SearchConfig

    def __repr__(self) -> str:
        return (f"ParetoResult(device={self.config.device!r}, front={len(self.front)} archs, "
                f"evaluated={len(self.evaluated)}, out={str(self.config.out)!r})")


def _resolve(config: SearchConfig):
    from hwnas.devices.costs import cost_table
    from hwnas.devices.registry import get_device
    from hwnas.eval import parse_request, version_tag
    from hwnas.search.algorithms import ALGORITHMS
    from hwnas.search.archive import ScoreSetting
    from hwnas.spaces import get_space

    space = get_space(config.space)
    if space.name != "nb201":
        raise HwnasUsageError(f"hwnas pareto searches nb201 for now (costs exist for it); got {config.space!r}")
    dataset = space.dataset(config.dataset).name
    dev = get_device(config.device)
    algorithm = ALGORITHMS.canonical(config.algorithm)
    if config.evaluations < 1:
        raise HwnasUsageError(f"--evaluations must be at least 1, got {config.evaluations}")
    if config.pop_size < 2:
        raise HwnasUsageError(f"--pop-size must be at least 2, got {config.pop_size}")
    if config.export_onnx < 0:
        raise HwnasUsageError(f"--export-onnx must be 0 or more, got {config.export_onnx}")
    if config.batch_size is not None and config.batch_size < 1:
        raise HwnasUsageError(f"--batch-size must be at least 1, got {config.batch_size}")
    seen: set[str] = set()
    for b in config.budgets:
        dev.require_metric(b.metric)
        if b.metric in seen:
            raise HwnasUsageError(f"two budgets on {b.metric}; give each metric once")
        seen.add(b.metric)
    metrics = list(config.objectives) or [b.metric for b in config.budgets] or list(dev.metric_names)
    metrics = [dev.require_metric(m) for m in metrics]
    for b in config.budgets:
        if b.metric not in metrics:
            metrics.append(b.metric)
    tables = [cost_table(space.name, dev.name, m) for m in metrics]
    for t, m in zip(tables, metrics):
        if t.unit != {"latency": "ms", "energy": "mJ"}[m]:
            raise HwnasUsageError(f"{dev.name} reports {m} in {t.unit}; budgets are in ms / mJ")
    # several proxies are always rank-aggregated (Eq. 12): "a,b" and "a+b" mean the same here
    request = parse_request(str(config.proxy).replace("+", ","))
    batch = default_batch_size(dataset) if config.batch_size is None else int(config.batch_size)
    setting = ScoreSetting(tuple(request.proxies), int(config.proxy_seed), batch, version_tag())
    return space, dataset, dev, algorithm, tables, setting


def default_batch_size(dataset: str) -> int:
    """Probe batch size when none is given: the one the shipped NB201 score table holds for
    ``dataset`` (so the table serves the run), else `DEFAULT_BATCH`."""
    from hwnas.proxies.table import table_batch_size

    return table_batch_size(dataset) or DEFAULT_BATCH


def _check_budgets_reachable(space, tables, budgets: list[Budget], members: np.ndarray) -> None:
    """A usage error naming the cheapest architecture when no architecture meets the budgets."""
    from hwnas.spaces.nb201 import representative_indices

    reps = members[np.unique(representative_indices())]
    ok = np.ones(reps.size, dtype=bool)
    by_metric = {t.metric: t for t in tables}
    for b in budgets:
        ok &= by_metric[b.metric].values[reps] <= b.limit
    if ok.any():
        return
    parts = []
    for b in budgets:
        t = by_metric[b.metric]
        v = t.values[reps]
        i = int(reps[int(np.argmin(v))])
        parts.append(f"the cheapest architecture ({i}) needs {float(v.min()):.4g} {t.unit} of {b.metric} "
                     f"({t.source(i)}) > {b.limit:g} {b.unit}")
    raise HwnasUsageError(f"no {space.name} architecture meets the budget on {tables[0].device}: " + "; ".join(parts))


def run_search(config: SearchConfig, progress: bool = False, console=None) -> ParetoResult:
    """Run the search described by ``config`` and write its artefacts to ``config.out``."""
    from hwnas.search.archive import Archive
    from hwnas.search.problem import ArchProblem, SearchState, cheapest_members
    from hwnas.search.report import build_frames, write_outputs
    from hwnas.search.scoring import ProxyScorer

    t0 = time.perf_counter()
    space, dataset, dev, algorithm, tables, setting = _resolve(config)
    members = cheapest_members(tables[0])
    _check_budgets_reachable(space, tables, config.budgets, members)
    out = Path(config.out)
    archive_path = Path(config.archive) if config.archive else out / "archive.sqlite"
    if config.resume and not archive_path.exists():
        raise HwnasUsageError(f"--resume: no archive at {archive_path} to resume from; run without --resume first")
    if out.exists() and not out.is_dir():
        raise HwnasUsageError(f"--out {out} is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {"setup_s": time.perf_counter() - t0}
    with Archive(archive_path) as archive:
        archived_before = archive.count(space.name, dataset, setting)
        with ProxyScorer(space.name, dataset, setting, archive, workers=config.workers,
                         use_shipped=config.shipped_scores) as scorer:
            state = SearchState(space, scorer, tables, list(config.budgets), members)
            t1 = time.perf_counter()
            _search(config, algorithm, state, ArchProblem(state), progress, console)
            timings["search_s"] = time.perf_counter() - t1
            stats = dict(computed=scorer.computed, from_archive=scorer.reused, from_shipped_table=scorer.shipped_used,
                         median_compute_ms=float(np.median(scorer.compute_ms)) if scorer.compute_ms else None)
    front_pos = state.front()
    front_df, evaluated_df = build_frames(state, front_pos, dataset)
    run = {
        "command": config.command or None,
        "device": dev.name, "space": space.name, "dataset": dataset, "proxy": list(setting.proxies),
        "proxy_setting": setting.tag, "algorithm": algorithm, "seed": config.seed,
        "evaluations_requested": config.evaluations, "evaluated": state.n, "pop_size": config.pop_size,
        "budgets": [{"metric": b.metric, "limit": b.limit, "unit": b.unit, "text": b.text} for b in config.budgets],
        "objectives": ["proxy score (max)"] + [f"{t.metric} [{t.unit}] (min)" for t in tables],
        "cost_sources": {t.metric: {"counts": t.counts(), "provenance": t.provenance,
                                    "measured_input": t.measured_input} for t in tables},
        "feasible_evaluated": int(state.feasible(state.order).sum()) if state.n else 0,
        "front_size": int(front_pos.size), "archived_before": archived_before, "scoring": stats,
        "versions": _versions(), "archive": str(archive_path),
    }
    t2 = time.perf_counter()
    paths = write_outputs(out, config, state, front_pos, front_df, evaluated_df, run, timings, dataset)
    timings["outputs_s"] = time.perf_counter() - t2
    timings["total_s"] = time.perf_counter() - t0
    run["timings"] = {k: round(v, 3) for k, v in timings.items()}
    from hwnas.search.report import write_json

    write_json(paths["run"], run)
    return ParetoResult(front_df, evaluated_df, paths, run, config)


def _search(config: SearchConfig, algorithm: str, state, problem, progress: bool, console) -> None:
    from hwnas.search.algorithms import ALGORITHMS, ENUMERATED

    bar = _Progress(progress, config.evaluations if algorithm not in ENUMERATED else None, console)
    with bar:
        if algorithm in ENUMERATED:
            from hwnas.spaces.nb201 import representative_indices

            reps = [int(i) for i in np.unique(representative_indices())]
            bar.total(len(reps))
            for start in range(0, len(reps), 64):
                state.add(reps[start:start + 64])
                bar.update(state)
            return
        from pymoo.core.evaluator import Evaluator

        algo = ALGORITHMS.get(algorithm)(state.space, config.pop_size, problem.n_obj, state.keys)
        algo.setup(problem, seed=int(config.seed), verbose=False)
        evaluator = Evaluator()
        while state.n < config.evaluations:
            pop = algo.ask()
            if pop is None or len(pop) == 0:
                break  # the space is exhausted
            room = config.evaluations - state.n
            if len(pop) > room:
                pop = pop[:room]
            evaluator.eval(problem, pop)
            if algo.pop is not None and len(algo.pop) > 0:  # rank-based scores moved: refresh
                F, _ = state.objectives(problem.indices(algo.pop.get("X")))
                algo.pop.set("F", F)
            F, _ = state.objectives(problem.indices(pop.get("X")))
            pop.set("F", F)
            algo.tell(infills=pop)
            bar.update(state)


class _Progress:
    """A rich progress bar: evaluations, feasible count, current front size."""

    def __init__(self, enabled: bool, total: int | None, console) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("[bold]search"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("evaluations"), TimeElapsedColumn(), TextColumn("{task.fields[status]}"),
                                 console=console or Console(stderr=True), disable=not enabled, transient=False)
        self.task = self.progress.add_task("search", total=total, status="")

    def __enter__(self) -> "_Progress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def total(self, n: int) -> None:
        self.progress.update(self.task, total=n)

    def update(self, state) -> None:
        feasible = int(state.feasible(state.order).sum())
        self.progress.update(self.task, completed=state.n,
                             status=f"feasible {feasible}  front {state.front().size}  "
                                    f"scored {state.scorer.computed}  reused {state.scorer.reused + state.scorer.shipped_used}")


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("hwnas", "torch", "pymoo", "numpy", "onnx", "onnxruntime"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out
