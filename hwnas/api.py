"""The public Python API; the CLI is a thin layer over these functions."""

from __future__ import annotations

import os
from dataclasses import dataclass

from hwnas.counting import ModelCost
from hwnas.errors import HwnasUsageError
from hwnas.export import ExportReport, calibrate_batchnorm, check_output_path, export_onnx
from hwnas.init import build_seeded
from hwnas.spaces import Arch, get_space


@dataclass(frozen=True)
class ArchExport:
    """An exported architecture: what it is, what it costs, and the verified file."""

    arch: Arch
    arch_str: str
    index: int | None  # the space's index, where it has one
    dataset: str
    cost: ModelCost
    report: ExportReport


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

    sp = get_space(space)
    a = resolve_arch(sp.name, arch)
    ds = sp.dataset(dataset)
    check_output_path(path)  # fail before any work
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


def pareto(
    device: str,
    energy: "str | None" = None,
    latency: "str | None" = None,
    *,
    energy_mj: "float | None" = None,
    latency_ms: "float | None" = None,
    space: str = "nb201",
    dataset: str = "cifar100",
    proxy: str = "az_nas",
    evaluations: int = 1000,
    seed: int = 0,
    out: "str | os.PathLike[str] | None" = None,
    export_onnx: int = 0,
    algorithm: str = "nsga2",
    pop_size: int = 50,
    resume: bool = False,
    workers: int = 1,
    batch_size: "int | None" = None,
    proxy_seed: int = 0,
    shipped_scores: bool = True,
    archive: "str | os.PathLike[str] | None" = None,
    objectives: "tuple[str, ...]" = (),
    progress: bool = False,
    command: str = "",
    console=None,
):
    """Search ``space`` for the best networks on ``device`` under the budgets, like ``hwnas pareto``.

    Budgets: ``energy`` / ``latency`` as text with a unit (``"20mJ"``, ``"5 ms"``), or
    ``energy_mj`` / ``latency_ms`` as numbers (mJ, ms). Returns a `hwnas.search.run.ParetoResult`:
    ``.front`` (pandas DataFrame, best score first, with each cost, its unit and its source:
    measured / predicted / estimated), ``.evaluated``, ``.paths`` (artefacts in ``out``, default
    ``runs/pareto-DEVICE``) and ``.run`` (the run record)."""
    from pathlib import Path

    from hwnas.devices.registry import get_device
    from hwnas.search.budget import Budget, parse_budget
    from hwnas.search.run import SearchConfig, run_search
    from hwnas.search.scoring import check_workers

    budgets = []
    for metric, text, number in (("latency", latency, latency_ms), ("energy", energy, energy_mj)):
        if text is not None and number is not None:
            raise HwnasUsageError(f"give the {metric} budget once: as text or as a number, not both")
        if text is not None:
            budgets.append(parse_budget(text, metric))
        elif number is not None:
            budgets.append(parse_budget(f"{float(number)!r}{'ms' if metric == 'latency' else 'mJ'}", metric))
    dev = get_device(device)
    config = SearchConfig(
        device=dev.name, budgets=budgets, space=space, dataset=dataset, proxy=proxy, evaluations=int(evaluations),
        seed=int(seed), out=Path(out) if out is not None else Path("runs") / f"pareto-{dev.name}",
        export_onnx=int(export_onnx), algorithm=algorithm, pop_size=int(pop_size), resume=bool(resume),
        workers=check_workers(workers), batch_size=None if batch_size is None else int(batch_size), proxy_seed=int(proxy_seed),
        shipped_scores=bool(shipped_scores), archive=Path(archive) if archive else None,
        objectives=tuple(objectives), command=command,
    )
    return run_search(config, progress=progress, console=console)
