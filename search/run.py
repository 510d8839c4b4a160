"""`run_search`: one hardware-aware search from a `SearchConfig` to a `ParetoResult`.

The run loop drives a pymoo algorithm by ask-and-tell: ask for a generation, evaluate it
through the `SearchState` (archive -> shipped scores -> live scoring), refresh the population's
rank-based scores, tell. It stops after ``evaluations`` distinct architectures (isomorphism
classes). Resuming replays the same seeded run against the archive, so a run killed half-way
and resumed ends exactly where an uninterrupted run ends, without rescoring anything.
The front is computed at the end over *everything* evaluated, not just the last population.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.search.budget import Budget
from hwnas.search.scoring import DEFAULT_REFERENCE_SAMPLE

DEFAULT_PROXY = "az_nas"  # spaces without accuracy ground truth to choose an aggregate on (FBNet, MobileNetV2)
# NB201: jacob_cov + MeCo + SWAP, all served by the shipped class table: Kendall tau 0.78 / 0.78 / 0.76 over all
# 15,625 networks, top-5 % tau 0.15 / 0.26 / 0.29, and the lowest search regret of the 1,023 equal-weight aggregates
# of the table's columns that keep those, chosen alike with any one dataset left out (docs/benchmarks.md,
# "Aggregates over the whole space")
DEFAULT_PROXY_BY_SPACE = {"nb201": "jacob_cov,meco,swap"}
DEFAULT_BATCH = 64  # AZ-NAS's setting; a dataset the shipped score table holds uses its batch size
DEFAULT_EVALUATIONS = 1000
DEFAULT_POP = 50
AUTO = "auto"  # exhaustive when every class's score is looked up (shipped table / static proxy), else nsga2


def default_proxy(space: str) -> str:
    """The proxy setting ``hwnas pareto`` uses on ``space`` when none is given."""
    return DEFAULT_PROXY_BY_SPACE.get(space, DEFAULT_PROXY)


@dataclass
class SearchConfig:
    """Everything a run depends on (``hwnas pareto`` flags)."""

    device: str
    budgets: list[Budget] = field(default_factory=list)
    space: str = "nb201"
    dataset: str = "cifar100"
    proxy: str | None = None  # None: default_proxy(space)
    evaluations: int = DEFAULT_EVALUATIONS
    seed: int = 0
    out: Path = Path("runs/pareto")
    export_onnx: int = 0
    algorithm: str = AUTO
    pop_size: int = DEFAULT_POP
    resume: bool = False
    workers: int = 1
    ray: str | None = None  # --ray ADDRESS / local[:N]: score on Ray (search/ray_backend.py) instead of processes
    ray_timeout: float | None = None  # --ray-timeout: seconds per architecture (None: ray_backend.DEFAULT_TIMEOUT_S)
    batch_size: int | None = None  # None: default_batch_size(dataset)
    proxy_seed: int = 0
    shipped_scores: bool = True
    archive: Path | None = None  # default: out/archive.sqlite
    objectives: tuple[str, ...] = ()  # cost metrics to minimise; default: budget metrics, else all
    command: str = ""
    overwrite: bool = False  # replace a run already in ``out`` (else refused unless ``resume``)
    keep_degenerate: bool = False  # let cells whose output ignores the input onto the front
    # a multi-column score without a shipped table ranks against a fixed sample of this many (0: the run's set)
    reference_sample: int = DEFAULT_REFERENCE_SAMPLE
    style: str = "cli"  # how messages name arguments: "cli" (--out) or "python" (out=)

    def name(self, param: str) -> str:
        """How a message names ``param``: ``--out`` for the CLI, ``out=`` for the Python API."""
        if self.style == "python":
            return f"{param}="
        return "--" + param.replace("_", "-")

    def settings(self) -> dict[str, Any]:
        """What the run's results depend on (compared by ``resume``); canonical names are filled
        in by `run_search`."""
        return {"device": self.device, "space": self.space, "dataset": self.dataset, "proxy": self.proxy,
                "algorithm": self.algorithm, "seed": self.seed, "evaluations": self.evaluations,
                "pop_size": self.pop_size, "budgets": sorted(str(b) for b in self.budgets),
                "export_onnx": self.export_onnx, "shipped_scores": self.shipped_scores,
                "keep_degenerate": self.keep_degenerate, "reference_sample": self.reference_sample}


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
    from hwnas.devices.registry import get_device
    from hwnas.eval import parse_request, version_tag
    from hwnas.search.algorithms import ALGORITHMS
    from hwnas.search.archive import ScoreSetting
    from hwnas.search.budget import COUNT_METRICS
    from hwnas.search.catalog import ArchCatalog
    from hwnas.spaces import get_space

    space = get_space(config.space)
    if space.name not in SEARCHABLE_SPACES:
        raise HwnasUsageError(f"hwnas pareto searches {', '.join(SEARCHABLE_SPACES)} (spaces with costs); "
                              f"got {config.space!r}")
    dataset = space.dataset(config.dataset).name
    dev = get_device(config.device) if config.device else None
    auto = str(config.algorithm).strip().lower() == AUTO
    algorithm = AUTO if auto else ALGORITHMS.canonical(config.algorithm)
    if config.evaluations < 1:
        raise HwnasUsageError(f"{config.name('evaluations')} must be at least 1, got {config.evaluations}")
    if config.pop_size < 2:
        raise HwnasUsageError(f"{config.name('pop_size')} must be at least 2, got {config.pop_size}")
    if config.export_onnx < 0:
        raise HwnasUsageError(f"{config.name('export_onnx')} must be 0 or more, got {config.export_onnx}")
    if config.batch_size is not None and config.batch_size < 1:
        raise HwnasUsageError(f"{config.name('batch_size')} must be at least 1, got {config.batch_size}")
    seen: set[str] = set()
    for b in config.budgets:
        if b.metric not in COUNT_METRICS:
            if dev is None:
                raise HwnasUsageError(f"a {b.metric} budget needs a device: add {config.name('device')}")
            dev.require_metric(b.metric)
        if b.metric in seen:
            raise HwnasUsageError(f"two budgets on {b.metric}; give each metric once")
        seen.add(b.metric)
    if dev is None and not config.budgets and not config.objectives:
        raise HwnasUsageError(f"give {config.name('device')} (a target device), or a {config.name('flops')} / "
                              f"{config.name('params')} budget to search without one")
    # objectives: the device's budgeted metrics, else all its metrics; FLOPs / params budgets add theirs
    device_budgets = [b.metric for b in config.budgets if b.metric not in COUNT_METRICS]
    metrics = list(config.objectives) or device_budgets or (list(dev.metric_names) if dev is not None else [])
    metrics = [m if m in COUNT_METRICS else _device(dev, config).require_metric(m) for m in metrics]
    for b in config.budgets:
        if b.metric not in metrics:
            metrics.append(b.metric)
    catalog = ArchCatalog(space)
    tables = [_cost_source(space, dev, m, dataset, catalog) for m in metrics]
    for t, m in zip(tables, metrics):
        if m not in COUNT_METRICS and t.unit != {"latency": "ms", "energy": "mJ"}[m]:
            raise HwnasUsageError(f"{dev.name} reports {m} in {t.unit}; budgets are in ms / mJ")
    # several proxies are always rank-aggregated (Eq. 12): "a,b" and "a+b" mean the same here
    proxy = config.proxy if config.proxy is not None else default_proxy(space.name)
    request = parse_request(str(proxy).replace("+", ","))
    batch = default_batch_size(dataset) if config.batch_size is None else int(config.batch_size)
    from hwnas.proxies.learned import fit_hashes

    setting = ScoreSetting(tuple(request.proxies), int(config.proxy_seed), batch, version_tag(),
                           fitted=fit_hashes(request.proxies))
    if auto:
        algorithm = auto_algorithm(space.name, dataset, setting, config.shipped_scores)
    from hwnas.search.algorithms import ENUMERATED

    if algorithm in ENUMERATED and not space.indexed:
        raise HwnasUsageError(f"{config.name('algorithm')} {algorithm}: {space.name} has {space.num_archs:.3g} "
                              f"architectures, too many to enumerate; use nsga2 (or another search algorithm)")
    return space, dataset, dev, algorithm, tables, setting, catalog


SEARCHABLE_SPACES = ("nb201", "fbnet", "mbv2")
# spaces with no accuracy ground truth anywhere (HW-NAS-Bench issue 5): outputs say so
ACCURACY_NOTE = {
    "fbnet": "no accuracy ground truth exists for FBNet (HW-NAS-Bench issue 5): the score is a zero-cost proxy "
             "estimate of accuracy only, never measured accuracy",
    "mbv2": "no accuracy ground truth exists for this MobileNetV2 space: the score is a zero-cost proxy "
            "estimate of accuracy only, never measured accuracy",
}


def _device(dev, config: SearchConfig):
    if dev is None:
        raise HwnasUsageError(f"latency and energy objectives need a device: add {config.name('device')}")
    return dev


def _cost_source(space, dev, metric: str, dataset: str, catalog):
    """The cost table of one objective: whole-space for NB201, per evaluated architecture else."""
    if space.indexed:
        from hwnas.devices.costs import metric_table

        return metric_table(space.name, dev.name if dev is not None else None, metric, dataset)
    from hwnas.devices.space_costs import run_cost_table

    return run_cost_table(space.name, dev.name if dev is not None else None, metric, dataset, catalog)


def auto_algorithm(space: str, dataset: str, setting, shipped_scores: bool = True) -> str:
    """What ``--algorithm auto`` runs: ``exhaustive`` (every class, no search) when the shipped
    score table holds the run's dataset and proxy setting for every class of the space (params /
    flops beside a tabled proxy are read from the cost tables): every score is then looked up, and
    so is every hardware cost, so scoring all 6,466 classes takes about a second and leaves no
    search error. Else ``nsga2``: scores are computed live (or the proxy is params / flops alone),
    and ``--evaluations`` bounds the work."""
    from hwnas.proxies.learned import is_learned, served_scores
    from hwnas.search.scoring import STATIC_PROXIES
    from hwnas.spaces.nb201 import representative_indices

    built = tuple(p for p in setting.proxies if p not in STATIC_PROXIES)
    learned = any(is_learned(p) for p in built)
    if not built or not (shipped_scores or learned) or space != "nb201":
        return "nsga2"
    # a learned proxy (hwnas proxies fit) is predicted for every class: a look-up like the table
    table = served_scores(space, dataset, built, setting.seed, setting.batch_size, shipped_scores)
    if table is None or len(table) < int(np.unique(representative_indices()).size):
        return "nsga2"
    return "exhaustive"


def default_batch_size(dataset: str) -> int:
    """Probe batch size when none is given: the one the shipped NB201 score table holds for
    ``dataset`` (so the table serves the run), else `DEFAULT_BATCH`."""
    from hwnas.proxies.table import table_batch_size

    return table_batch_size(dataset) or DEFAULT_BATCH


def _check_budgets_reachable(space, tables, budgets: list[Budget], members: "np.ndarray | None") -> None:
    """A usage error naming the cheapest architecture when no architecture meets the budgets
    (NB201: checked on every class; other spaces: on each budget alone, where the table knows
    its cheapest architecture)."""
    by_metric = {t.metric: t for t in tables}
    if not space.indexed:
        parts = []
        for b in budgets:
            t = by_metric[b.metric]
            low = getattr(t, "minimum", None)
            if low is not None and low > b.limit:
                parts.append(f"the cheapest architecture ({t.cheapest}) needs {low:.4g} {t.unit} of {b.metric} "
                             f"> {b.limit:g} {b.unit}")
        if parts:
            raise HwnasUsageError(f"no {space.name} architecture meets the budget on {tables[0].device}: "
                                  + "; ".join(parts))
        return
    from hwnas.spaces.nb201 import representative_indices

    reps = members[np.unique(representative_indices())]
    ok = np.ones(reps.size, dtype=bool)
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
                     f"({t.label(i)}) > {b.limit:g} {b.unit}")
    where = f" on {tables[0].device}" if tables[0].device != "-" else ""
    raise HwnasUsageError(f"no {space.name} architecture meets the budget{where}: " + "; ".join(parts))


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_writable_folder(path: Path, what: str) -> None:
    """A usage error, before any work, when folder ``path`` cannot be created or written: a file
    in its way, a read-only or virtual file system (/proc), no permission. Creates nothing."""
    from hwnas.storage import probe_writable

    if path.exists():
        if not path.is_dir():
            raise HwnasUsageError(f"{what} {str(path)!r} is a file; give a folder")
        probe_writable(path, f"{what} {str(path)!r}")
        return
    base = _nearest_existing(path)
    if not base.is_dir():
        raise HwnasUsageError(f"cannot create {what} {str(path)!r}: {str(base)!r} is a file, not a folder")
    probe_writable(base, f"{what} {str(path)!r}")


def check_writable_file(path: Path, what: str) -> None:
    """A usage error when file ``path`` cannot be created or written (see `check_writable_folder`)."""
    from hwnas.storage import probe_writable

    if path.is_dir():
        raise HwnasUsageError(f"{what} {str(path)!r} is a folder; give a file")
    base = _nearest_existing(path.parent if str(path.parent) else Path("."))
    if not base.is_dir():
        raise HwnasUsageError(f"cannot create {what} {str(path)!r}: {str(base)!r} is a file, not a folder")
    probe_writable(base, f"{what} {str(path)!r}")


def _settings_of(run: dict) -> dict[str, Any]:
    """The settings a run record holds (older records: what their fields say)."""
    if isinstance(run.get("settings"), dict):
        return run["settings"]
    out: dict[str, Any] = {}
    for key, field_ in (("device", "device"), ("space", "space"), ("dataset", "dataset"), ("algorithm", "algorithm"),
                        ("seed", "seed"), ("evaluations", "evaluations_requested"), ("pop_size", "pop_size")):
        if field_ in run:
            out[key] = run[field_]
    if "proxy" in run:
        out["proxy"] = "+".join(run["proxy"]) if isinstance(run["proxy"], list) else run["proxy"]
    if isinstance(run.get("budgets"), list):
        out["budgets"] = sorted(f"{b['metric']} <= {b['limit']:g} {b['unit']}" for b in run["budgets"])
    return out


def _fmt_setting(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]" if value else "none"
    return str(value)


def _check_existing_run(config: SearchConfig, out: Path, archive_path: Path, settings: dict[str, Any]) -> None:
    """Refuse to overwrite a run in ``out`` silently, and to resume one with other settings."""
    run_json = out / "run.json"
    if config.resume:
        if not run_json.exists() and not archive_path.exists():
            raise HwnasUsageError(f"{config.name('resume').rstrip('=')}: no run in {out} (no run.json, no archive "
                                  f"at {archive_path}) to resume from; run without it first")
        if run_json.exists():
            try:
                old = _settings_of(json.loads(run_json.read_text()))
            except (OSError, ValueError, AttributeError, TypeError, KeyError) as exc:
                raise HwnasUsageError(f"cannot resume from {run_json}: it is not a run record ({exc}); "
                                      f"use another {config.name('out').rstrip('=')}") from None
            differ = [k for k in settings if k in old and old[k] != settings[k]]
            if len(differ) > 1 and "proxy_setting" in differ:
                differ.remove("proxy_setting")  # it follows from the others (dataset -> batch size, ...)
            diffs = [f"{k.replace('_', '-') if config.style == 'cli' else k}: {_fmt_setting(old[k])} vs "
                     f"{_fmt_setting(settings[k])}" for k in differ]
            if differ == ["learned_fits"]:
                before = old["learned_fits"] if isinstance(old["learned_fits"], dict) else {}
                refit = ", ".join(repr(n) for n, h in settings["learned_fits"].items() if before.get(n) != h)
                swap = ("overwrite=True instead of resume=True" if config.style == "python"
                        else "--overwrite instead of --resume")
                raise HwnasUsageError(f"{out} holds a run scored by an earlier fit of learned proxy {refit} (refitted "
                                      f"since); rerun with {swap} to replace it, or use another {config.name('out')}")
            if diffs:
                raise HwnasUsageError(f"{out} holds a run with other settings ({'; '.join(diffs)}); rerun with the "
                                      f"same settings, or use another {config.name('out')}")
    elif run_json.exists() and not config.overwrite:
        if config.style == "python":
            raise HwnasUsageError(f"{out} already holds a run (run.json); pass resume=True to continue it, "
                                  f"overwrite=True to replace it, or another out=")
        raise HwnasUsageError(f"{out} already holds a run (run.json); add --resume to continue it, --overwrite to "
                              f"replace it, or use another --out")


def class_count(space) -> int:
    """Distinct architectures (isomorphism classes) of ``space``."""
    if space.name != "nb201":
        return int(space.num_archs)
    from hwnas.spaces.nb201 import representative_indices

    return int(np.unique(representative_indices()).size)


def run_search(config: SearchConfig, progress: bool = False, console=None) -> ParetoResult:
    """Run the search described by ``config`` and write its artefacts to ``config.out``.

    Every check on the arguments and paths happens before any scoring. ``config.out`` holding a
    run (run.json) is refused unless ``resume`` (same settings required) or ``overwrite``."""
    from hwnas.search.archive import Archive
    from hwnas.search.problem import ArchProblem, SearchState, cheapest_members
    from hwnas.search.html_report import write_html_report
    from hwnas.search.report import build_frames, score_description, score_reference, write_json, write_outputs
    from hwnas.search.algorithms import ENUMERATED
    from hwnas.search.score_quality import score_quality
    from hwnas.search.scoring import ProxyScorer

    t0 = time.perf_counter()
    if not str(config.out).strip():
        raise HwnasUsageError(f"{config.name('out')} is empty; give a folder or leave the option out")
    out = Path(config.out)
    archive_path = Path(config.archive) if config.archive else out / "archive.sqlite"
    check_writable_folder(out, config.name("out").rstrip("="))
    if config.archive:
        check_writable_file(archive_path, config.name("archive").rstrip("="))
    space, dataset, dev, algorithm, tables, setting, catalog = _resolve(config)
    if config.ray:  # ray installed, the address reachable: checked before any work
        from hwnas.search.ray_backend import check_ray

        check_ray(config.ray, config.name("ray"))
    settings = config.settings() | {"device": dev.name if dev is not None else None, "space": space.name, "dataset": dataset,
                                    "proxy": "+".join(setting.proxies), "batch_size": setting.batch_size,
                                    "proxy_seed": setting.seed, "proxy_setting": setting.tag,
                                    "learned_fits": dict(setting.fitted),
                                    "algorithm": algorithm, "objectives": [t.metric for t in tables]}
    _check_existing_run(config, out, archive_path, settings)
    members = cheapest_members(tables[0]) if space.name == "nb201" else None
    _check_budgets_reachable(space, tables, config.budgets, members)
    info_tables = _reference_tables(space, dev, tables) if space.indexed and dev is not None else []
    n_classes = class_count(space)
    target = min(config.evaluations, n_classes)
    out.mkdir(parents=True, exist_ok=True)
    requested = str(config.algorithm).strip().lower()
    run: dict[str, Any] = {"status": "running", "command": config.command or None, "settings": settings,
                           "device": settings["device"], "space": space.name, "dataset": dataset,
                           "proxy": list(setting.proxies), "proxy_setting": setting.tag, "algorithm": algorithm,
                           "seed": config.seed, "evaluations_requested": config.evaluations,
                           "pop_size": config.pop_size, "archive": str(archive_path),
                           "budgets": [{"metric": b.metric, "limit": b.limit, "unit": b.unit, "text": b.text}
                                       for b in config.budgets]}
    archive = Archive(archive_path)  # a file that is not an archive fails here, before run.json is touched
    write_json(out / "run.json", run)  # a killed run leaves its settings for --resume to check
    timings: dict[str, float] = {"setup_s": time.perf_counter() - t0}
    with archive:
        archived_before = archive.count(space.name, dataset, setting)
        with ProxyScorer(space.name, dataset, setting, archive, workers=config.workers,
                         use_shipped=config.shipped_scores, catalog=catalog, ray=config.ray,
                         ray_timeout=config.ray_timeout) as scorer:
            state = SearchState(space, scorer, tables, list(config.budgets), members,
                                keep_degenerate=config.keep_degenerate, reference_costs=info_tables)
            t1 = time.perf_counter()
            if algorithm not in ENUMERATED:  # exhaustive runs rank among every class: already a fixed population
                _score_reference_sample(scorer, config.reference_sample, progress, console)
                timings["reference_sample_s"] = time.perf_counter() - t1
            t1 = time.perf_counter()
            _search(config, algorithm, state, ArchProblem(state), progress, console, target)
            timings["search_s"] = time.perf_counter() - t1
            stats = dict(computed=scorer.computed, from_archive=scorer.reused, from_shipped_table=scorer.shipped_used,
                         median_compute_ms=float(np.median(scorer.compute_ms)) if scorer.compute_ms else None,
                         failed=scorer.failed)
        stats["backend"] = scorer.backend()  # after the scorer closed: Ray's final retry / failure counts
    front_pos = state.front()
    front_df, evaluated_df = build_frames(state, front_pos, dataset)
    note = _evaluations_note(config, algorithm, state.n, n_classes, space.name)
    excluded = state.excluded_counts()
    run = {
        "status": "complete",
        "command": config.command or None, "settings": settings,
        "device": settings["device"], "space": space.name, "dataset": dataset, "proxy": list(setting.proxies),
        "proxy_setting": setting.tag, "algorithm": algorithm,
        "algorithm_requested": AUTO if requested == AUTO else algorithm, "seed": config.seed,
        "evaluations_requested": config.evaluations, "evaluated": state.n, "pop_size": config.pop_size,
        "budgets": [{"metric": b.metric, "limit": b.limit, "unit": b.unit, "text": b.text} for b in config.budgets],
        "objectives": ["proxy score (max)"] + [f"{t.metric} [{t.unit}] (min)" for t in tables],
        "accuracy_note": ACCURACY_NOTE.get(space.name),
        "score_quality": score_quality(space.name, dataset, setting),
        "cost_sources": {t.metric: {"counts": t.counts(), "provenance": t.provenance,
                                    "measured_input": t.measured_input} for t in tables},
        "feasible_evaluated": int(state.feasible(state.order).sum()) if state.n else 0,
        "front_size": int(front_pos.size), "archived_before": archived_before, "scoring": stats,
        "score_reference": score_reference(state),
        "versions": _versions(), "archive": str(archive_path),
        "excluded_evaluated": excluded,
        "reference_costs": {t.metric: {"counts": t.counts(), "provenance": t.provenance,
                                       "note": "shown for reference, not an objective"} for t in info_tables},
    }
    if note:
        run["evaluations_note"] = note
    if requested == AUTO:
        run["algorithm_note"] = (
            f"auto chose exhaustive: the shipped score table (or a learned proxy) covers {dataset} for this "
            f"proxy setting, so all {state.n:,} classes were scored by look-up ({config.name('evaluations').rstrip('=')} does not limit it; "
            f"ask for {'algorithm=' if config.style == 'python' else '--algorithm '}nsga2 to search instead)"
            if algorithm == "exhaustive" else
            f"auto chose {algorithm}: the shipped score table does not hold this dataset / proxy setting (or is not "
            f"used, or the proxy is params / flops alone), so the search evaluates up to "
            f"{config.name('evaluations').rstrip('=')} {config.evaluations:,} classes")
    t2 = time.perf_counter()
    paths = write_outputs(out, config, state, front_pos, front_df, evaluated_df, run, timings, dataset)
    paths["archive"] = archive_path
    timings["outputs_s"] = time.perf_counter() - t2
    timings["total_s"] = time.perf_counter() - t0
    run["timings"] = {k: round(v, 3) for k, v in timings.items()}
    write_json(paths["run"], run)
    paths["report_html"] = write_html_report(out, front_df, run, paths["pareto_png"], score_description(state),
                                             list(state.columns))
    return ParetoResult(front_df, evaluated_df, paths, run, config)


def _reference_tables(space, dev, tables) -> list:
    """Costs shown beside the objectives, never optimised: the device's latency when the run
    minimises energy but not latency (an energy estimate rests on it)."""
    from hwnas.devices.costs import cost_table

    metrics = [t.metric for t in tables]
    if "energy" in metrics and "latency" not in metrics and "latency" in dev.metric_names:
        try:
            return [cost_table(space.name, dev.name, "latency")]
        except HwnasUsageError:
            return []
    return []


def _evaluations_note(config: SearchConfig, algorithm: str, evaluated: int, n_classes: int, space: str) -> str | None:
    """Why a run evaluated fewer architectures than asked for, or None."""
    from hwnas.search.algorithms import ENUMERATED

    if algorithm in ENUMERATED or evaluated >= config.evaluations:
        return None
    flag = config.name("evaluations")
    asked = f"{flag}{config.evaluations}" if flag.endswith("=") else f"{flag} {config.evaluations:,}"
    every = "algorithm='exhaustive'" if config.style == "python" else "--algorithm exhaustive"
    if config.evaluations > n_classes:
        return (f"{asked} is more than the {n_classes:,} isomorphism classes of {space}; "
                f"{evaluated:,} distinct classes were evaluated" + ("" if evaluated == n_classes else
                                                                   " before the algorithm stopped finding new ones")
                + f"; {every} evaluates all {n_classes:,}")
    return f"{asked}: the algorithm stopped finding new architectures after {evaluated:,}; {every} evaluates all"


def _search(config: SearchConfig, algorithm: str, state, problem, progress: bool, console,
            target: int | None = None) -> None:
    from hwnas.search.algorithms import ALGORITHMS, ENUMERATED, EVOLUTION

    target = config.evaluations if target is None else target
    bar = _Progress(progress, target if algorithm not in ENUMERATED else None, console)
    with bar:
        if algorithm in EVOLUTION:
            from hwnas.search.evolution import run_evolution

            run_evolution(state, config.seed, config.pop_size, target, on_step=lambda: bar.update(state))
            return
        if algorithm in ENUMERATED:
            from hwnas.spaces.nb201 import representative_indices

            reps = [int(i) for i in np.unique(representative_indices())]
            bar.total(len(reps))
            # looked-up scores (shipped table, static proxies) need no crash safety: one batch, one
            # archive transaction; computed ones go in steps of 64 (archived as `ProxyScorer` batches them)
            step = len(reps) if state.scorer.served_without_computing(reps) else 64
            for start in range(0, len(reps), step):
                state.add(reps[start:start + step])
                bar.update(state)
            return
        from pymoo.core.evaluator import Evaluator

        algo = ALGORITHMS.get(algorithm)(state.space, config.pop_size, problem.n_obj, state.keys)
        algo.setup(problem, seed=int(config.seed), verbose=False)
        evaluator = Evaluator()
        while state.n < target:
            pop = algo.ask()
            if pop is None or len(pop) == 0:
                break  # the algorithm finds nothing new (the space is nearly exhausted)
            room = target - state.n
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


def _score_reference_sample(scorer, size: int, progress: bool, console) -> None:
    """`ProxyScorer.use_reference_sample` with a progress bar when it computes anything."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("[bold]reference sample"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console or Console(stderr=True), disable=not progress, transient=True)
    with bar:
        task = bar.add_task("reference", total=None)
        scorer.use_reference_sample(size, lambda done, total: bar.update(task, completed=done, total=total))


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
        if self.progress.disable:  # the status line computes the front: not when nobody sees it
            return
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
