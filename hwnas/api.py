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
) -> ArchExport:
    """Build ``arch`` (seeded init, BatchNorm statistics calibrated on Gaussian inputs) and
    write it as a verified ONNX file with space/arch/dataset/version metadata."""
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
    report = export_onnx(model, ds.input_shape, path, metadata=metadata, opset=opset, verify=verify, seed=seed)
    return ArchExport(a, sp.to_str(a), index, ds.name, sp.cost(a, ds.name), report)
