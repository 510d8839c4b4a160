"""The public Python API; the CLI is a thin layer over these functions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hwnas.counting import ModelCost
from hwnas.errors import HwnasUsageError
from hwnas.spaces import Arch, get_space

if TYPE_CHECKING:  # torch is imported only when exporting
    from hwnas.export import ExportReport


@dataclass(frozen=True)
class ArchExport:
    """An exported architecture: what it is, what it costs, and the verified file."""

    arch: Arch
    arch_str: str
    index: int | None  # the space's index, where it has one
    dataset: str
    cost: ModelCost
    report: "ExportReport"  # hwnas.export.ExportReport (torch is imported only when exporting)


def resolve_arch(space: str, arch: "str | int | Arch") -> Arch:
    """An `Arch` of ``space`` from an `Arch`, an index or the space's string forms."""
    sp = get_space(space)
    if isinstance(arch, Arch):
        if arch.space != sp.name:
            raise HwnasUsageError(f"architecture belongs to space {arch.space!r}, not {sp.name!r}")
        return sp.from_genotype(arch.genotype)
    return sp.parse(str(arch))


def export(
    arch: "str | int | Arch",
    path: "str | os.PathLike[str]",
    space: str = "nb201",
    dataset: str = "cifar100",
    seed: int = 0,
    opset: int = 17,
    verify: bool = True,
    merge_identical_ops: bool = True,
) -> ArchExport:
    """Build ``arch`` (seeded init, BatchNorm statistics calibrated on Gaussian inputs) and
    write it as a verified ONNX file with space/arch/dataset/version metadata.
    ``merge_identical_ops=False`` keeps one ONNX node per op of the network (see `export_onnx`)."""
    from hwnas import __version__

    from hwnas.export import check_opset

    check_opset(opset)  # fail before any work
    sp = get_space(space)
    a = resolve_arch(sp.name, arch)
    ds = sp.dataset(dataset)
    from hwnas.export import calibrate_batchnorm, check_output_path, export_onnx
    from hwnas.init import build_seeded

    check_output_path(path, probe=True)
    model = build_seeded(a, ds.name, seed)
    calibrate_batchnorm(model, ds.input_shape, seed=seed)
    index = sp.index(a)
    metadata = {
        "hwnas_version": __version__,
        "space": sp.name,
        "arch": sp.to_str(a),
        "genotype": ",".join(map(str, a.genotype)),
        "dataset": ds.name,
        "input_shape": "N," + ",".join(map(str, ds.input_shape)),
        "seed": str(seed),
    }
    if index is not None:
        metadata["arch_index"] = str(index)
    report = export_onnx(model, ds.input_shape, path, metadata=metadata, opset=opset, verify=verify, seed=seed,
                         merge_identical_ops=merge_identical_ops)
    return ArchExport(a, sp.to_str(a), index, ds.name, sp.cost(a, ds.name), report)


# how messages name each argument of `pareto`: Python parameters, or the CLI's flags
_CLI_FLAGS = {"shipped_scores": "--no-shipped-scores", "export_onnx": "--export-onnx", "pop_size": "--pop-size",
              "batch_size": "--batch-size", "proxy_seed": "--proxy-seed", "keep_degenerate": "--keep-degenerate",
              "reference_sample": "--reference-sample"}


def _namer(style: str):
    """``name(param)`` -> how a message names it: ``seed=`` (Python) or ``--seed`` (CLI)."""
    if style == "cli":
        return lambda p: _CLI_FLAGS.get(p, "--" + p.replace("_", "-"))
    return lambda p: f"{p}="


def _shown(name: str, value: object) -> str:
    return f"{name}{value!r}" if name.endswith("=") else f"{name} {value}"


def _check_int(value: object, param: str, name, minimum: int, maximum: "int | None" = None) -> int:
    import numbers

    n = name(param)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise HwnasUsageError(f"{_shown(n, value)}: give a whole number, e.g. {_shown(n, max(minimum, 1))}")
    v = int(value)
    if v < minimum:
        raise HwnasUsageError(f"{_shown(n, value)}: must be at least {minimum}")
    if maximum is not None and v > maximum:
        raise HwnasUsageError(f"{_shown(n, value)}: must be at most {maximum:,}")
    return v


def _check_bool(value: object, param: str, name) -> bool:
    if not isinstance(value, bool):
        raise HwnasUsageError(f"{_shown(name(param), value)}: give True or False")
    return value


def _check_seconds(value: object, param: str, name) -> float:
    import math
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise HwnasUsageError(f"{_shown(name(param), value)}: give a number of seconds above 0, e.g. "
                              f"{_shown(name(param), 600)}")
    return float(value)


_LISTS = {"device": "devices", "proxy": "proxies", "space": "spaces"}


def _check_text(value: object, param: str, name, optional: bool = False) -> "str | None":
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        n = name(param)
        shown = f"{n}{value!r}" if n.endswith("=") else f"{n} {value!r}"
        raise HwnasUsageError(f"{shown}: give a name" + (f" (see `hwnas {_LISTS[param]}`)" if param in _LISTS
                                                          else ""))
    return value.strip()


def _check_path(value: object, param: str, name) -> "os.PathLike[str] | None":
    from pathlib import Path

    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
        shown = f"{name(param)}{value!r}" if name(param).endswith("=") else f"{name(param)} {str(value)!r}"
        raise HwnasUsageError(f"{shown}: give a path" + (" (an empty one is not the default: leave the option out)"
                                                         if isinstance(value, str) else ""))
    if "\0" in os.fspath(value):
        raise HwnasUsageError(f"{_shown(name(param), value)}: a path cannot hold a NUL character")
    return Path(value)


def pareto(
    device: "str | None" = None,
    energy: "str | None" = None,
    latency: "str | None" = None,
    *,
    energy_mj: "float | None" = None,
    latency_ms: "float | None" = None,
    flops: "str | float | None" = None,
    params: "str | float | None" = None,
    space: str = "nb201",
    dataset: "str | None" = None,
    proxy: "str | None" = None,
    evaluations: int = 1000,
    seed: int = 0,
    out: "str | os.PathLike[str] | None" = None,
    export_onnx: int = 0,
    algorithm: str = "auto",
    pop_size: int = 50,
    resume: bool = False,
    overwrite: bool = False,
    workers: int = 1,
    ray: "str | None" = None,
    ray_timeout: float = 600.0,
    batch_size: "int | None" = None,
    proxy_seed: int = 0,
    shipped_scores: bool = True,
    keep_degenerate: bool = False,
    reference_sample: int = 100,
    archive: "str | os.PathLike[str] | None" = None,
    objectives: "tuple[str, ...]" = (),
    progress: bool = False,
    command: str = "",
    console=None,
):
    """Search ``space`` for the best networks on ``device`` under the budgets, like ``hwnas pareto``.

    Budgets: ``energy`` / ``latency`` as text with a unit (``"20mJ"``, ``"5 ms"``), or
    ``energy_mj`` / ``latency_ms`` as numbers (mJ, ms); ``flops`` (multiply-accumulates per
    sample) / ``params`` as counts (``"600M"``, ``3.5e6``), with or without a ``device`` (without
    one, the front trades the score against FLOPs / params only). Returns a `hwnas.search.run.ParetoResult`:
    ``.front`` (pandas DataFrame, best score first, with each cost, its unit and its source:
    measured / predicted / estimated, "extrapolated" where a prediction lies outside what was
    measured), ``.evaluated``, ``.paths`` (artefacts in ``out``, default ``runs/pareto-DEVICE``,
    including the archive) and ``.run`` (the run record).

    ``out`` already holding a run (run.json) is refused unless ``resume=True`` (continue it: the
    settings must be the same) or ``overwrite=True`` (replace it). Cells whose output ignores
    the input are kept off the front unless ``keep_degenerate=True``; non-finite scores always are.
    A score aggregating several proxies is ranked against the shipped score table where it holds
    the setting, else against a fixed sample of ``reference_sample`` architectures of the space
    scored once under the setting (archived, not counted as evaluations; 0: rank among the run's
    own evaluations, which makes scores depend on the run).
    ``ray="local"`` (``"local:N"``: N CPUs) or ``ray="HOST:PORT"`` scores live architectures as
    Ray tasks (``pip install 'hwnas[ray]'``; same scores as ``workers``; one that fails or runs
    past ``ray_timeout`` seconds is retried once, then recorded as failed: ``docs/distributed.md``).

    ``proxy``: one proxy or several, comma-separated and rank-aggregated; None takes the space's
    default (`hwnas.search.run.default_proxy`: ``jacob_cov,meco,swap`` on NAS-Bench-201,
    ``az_nas`` elsewhere).

    Bad arguments raise `HwnasUsageError` naming the parameter, before any work."""
    return _pareto(dict(locals()), style="python")


def _pareto(args: dict, style: str = "python"):
    """`pareto` with ``args``; ``style`` "cli" names arguments by their flags in messages. A
    CLI budget may come as a tuple (a repeatable option), which must hold at most one item."""
    from pathlib import Path

    from hwnas.devices.registry import get_device
    from hwnas.search.budget import budget_from_number, parse_budget
    from hwnas.search.run import SearchConfig, run_search

    name = _namer(style)
    a = dict(args)
    budgets = []
    for metric, number_param in (("latency", "latency_ms"), ("energy", "energy_mj")):
        text, number = a.get(metric), a.get(number_param)
        if isinstance(text, (tuple, list)):
            if len(text) > 1:
                raise HwnasUsageError(f"{name(metric)} given {len(text)} times ({', '.join(map(str, text))}); "
                                      f"give each budget once")
            text = text[0] if text else None
        if text is not None and number is not None:
            raise HwnasUsageError(f"give the {metric} budget once: {name(metric)} or {name(number_param)}, not both")
        if text is not None:
            budgets.append(parse_budget(text, metric, name(metric)))
        elif number is not None:
            budgets.append(budget_from_number(number, metric, name(number_param)))
    for metric in ("flops", "params"):
        value = a.get(metric)
        if isinstance(value, (tuple, list)):
            if len(value) > 1:
                raise HwnasUsageError(f"{name(metric)} given {len(value)} times ({', '.join(map(str, value))}); "
                                      f"give each budget once")
            value = value[0] if value else None
        if value is None:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = repr(float(value))
        budgets.append(parse_budget(value, metric, name(metric)))
    device = _check_text(a["device"], "device", name, optional=True)
    for p in ("space", "algorithm"):
        a[p] = _check_text(a[p], p, name)
    a["proxy"] = _check_text(a["proxy"], "proxy", name, optional=True)  # None: the space's default
    a["dataset"] = _check_text(a["dataset"], "dataset", name, optional=True)
    if a["dataset"] is None:  # the space's default: cifar100 where it has it (mbv2: imagenet)
        from hwnas.spaces import get_space

        a["dataset"] = get_space(a["space"]).default_dataset
    evaluations = _check_int(a["evaluations"], "evaluations", name, 1, 10**9)
    seed = _check_int(a["seed"], "seed", name, 0, 2**32 - 1)
    proxy_seed = _check_int(a["proxy_seed"], "proxy_seed", name, 0, 2**32 - 1)
    export_k = _check_int(a["export_onnx"], "export_onnx", name, 0, 10**6)
    pop_size = _check_int(a["pop_size"], "pop_size", name, 2, 10**6)
    workers = _check_int(a["workers"], "workers", name, 1, 1024)
    ray = _check_text(a.get("ray"), "ray", name, optional=True)
    ray_timeout = _check_seconds(a.get("ray_timeout", 600.0), "ray_timeout", name)
    if ray is not None and workers > 1:
        raise HwnasUsageError(f"give {name('ray')} or {name('workers')} above 1, not both: with Ray the "
                              f"cluster's CPUs do the work")
    batch_size = None if a["batch_size"] is None else _check_int(a["batch_size"], "batch_size", name, 1, 4096)
    reference_sample = _check_int(a["reference_sample"], "reference_sample", name, 0, 10**6)
    for p in ("resume", "overwrite", "shipped_scores", "keep_degenerate", "progress"):
        _check_bool(a[p], p, name)
    if a["resume"] and a["overwrite"]:
        both = ("resume=True or overwrite=True" if style == "python" else "--resume or --overwrite")
        raise HwnasUsageError(f"give {both}, not both: resume continues the run in the folder, overwrite replaces it")
    out = _check_path(a["out"], "out", name)
    archive = _check_path(a["archive"], "archive", name)
    objectives = a["objectives"]
    if isinstance(objectives, str) or not all(isinstance(o, str) for o in objectives):
        raise HwnasUsageError(f"{_shown(name('objectives'), objectives)}: give a tuple of metric names, "
                              f"e.g. ('latency',)")
    dev = get_device(device) if device is not None else None
    local = dev is not None and dev.name == "local"
    if local:  # this machine: profile an informative sample (cached), adapt, then search
        from hwnas.devices.local import prepare_local
        from hwnas.spaces import get_space

        if get_space(a["space"]).name != "nb201":
            raise HwnasUsageError(f"{name('device')}=local profiles nb201 networks only, not {a['space']!r}")
        dev = get_device(prepare_local(get_space("nb201").dataset(a["dataset"]).name, progress=a["progress"],
                                       console=a["console"]))
    default_out = Path("runs") / (f"pareto-{dev.name}" if dev is not None else f"pareto-{a['space']}")
    config = SearchConfig(
        device=dev.name if dev is not None else None, budgets=budgets, space=a["space"], dataset=a["dataset"],
        proxy=a["proxy"], evaluations=evaluations, seed=seed, out=out if out is not None else default_out,
        export_onnx=export_k, algorithm=a["algorithm"], pop_size=pop_size, resume=a["resume"],
        overwrite=a["overwrite"], workers=workers, ray=ray, ray_timeout=ray_timeout, batch_size=batch_size,
        proxy_seed=proxy_seed,
        shipped_scores=a["shipped_scores"], keep_degenerate=a["keep_degenerate"], archive=archive,
        objectives=tuple(objectives), command=a["command"], style=style, reference_sample=reference_sample,
    )
    result = run_search(config, progress=a["progress"], console=a["console"])
    if local and len(result.front) and "latency_ms" in result.front:
        _check_local_front(result, a["progress"])
    return result


def _check_local_front(result, progress: bool, limit: int = 30) -> None:
    """Time the (first ``limit``) front members live on this machine and record measured beside
    predicted latency: ``front_measured.csv`` and ``run.json``'s ``local_check``."""
    from hwnas.devices.local import check_front, summary
    from hwnas.search.report import write_json
    from hwnas.storage import atomic_write

    front = result.front.head(limit)
    frame = check_front(front["arch_index"].tolist(), front["latency_ms"].tolist(), result.run["dataset"],
                        progress=progress)
    path = result.config.out / "front_measured.csv"
    text = frame.to_csv(index=False, float_format="%.6g")
    atomic_write(path, lambda fh: fh.write(text.encode()))
    result.paths["front_measured"] = path
    result.run["local_check"] = {**summary(frame), "file": str(path),
                                 "protocol": "onnxruntime on this machine, batch 1, as hwnas profile"}
    write_json(result.paths["run"], result.run)
