"""ONNX graphs of a space's architectures, made once and cached on disk.

`graph_for_arch(space, arch, dataset)` exports the network with `hwnas.export.export_onnx` (seeded
init, one node per op, not verified; `export_graph`) into a temporary file (NB201: writes the
identical model with `hwnas.predictors.nb201_onnx`, about 15x faster), extracts its graph with
`hwnas.predictors.onnx_graph.graph_from_onnx`, and stores the arrays as
``<cache>/v<GRAPH_VERSION>/<space>/<dataset>/opset<k>/<genotype>.npz`` (written atomically).
`graphs_for_archs` does many, in a process pool with a progress bar.

Cache folder: ``$HWNAS_CACHE_DIR/graphs``, else ``$XDG_CACHE_HOME/hwnas/graphs``, else
``~/.cache/hwnas/graphs``. Deleting it is always safe.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from hwnas.storage import atomic_write
from hwnas.predictors.nb201_onnx import OPSET as NB201_BUILDER_OPSET, nb201_onnx_model
from hwnas.predictors.onnx_graph import GRAPH_VERSION, OnnxGraph, graph_from_onnx
from hwnas.spaces import Arch, get_space

CACHE_ENV = "HWNAS_CACHE_DIR"
DEFAULT_OPSET = 17


def default_cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser() / "graphs"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "hwnas" / "graphs"


def graph_path(space: str, arch: Arch, dataset: str, cache_dir: "str | os.PathLike[str] | None" = None,
               opset: int = DEFAULT_OPSET) -> Path:
    """Where the graph of (space, genotype, dataset, opset) is cached."""
    sp = get_space(space)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    name = "-".join(str(v) for v in arch.genotype) + ".npz"
    return root / f"v{GRAPH_VERSION}" / sp.name / sp.dataset(dataset).name / f"opset{opset}" / name


def export_graph(space: str, arch: Arch, dataset: str, opset: int = DEFAULT_OPSET, via: str = "auto") -> OnnxGraph:
    """Export ``arch`` (no cache) and extract its graph. The export keeps one node per op of the
    network (``merge_identical_ops=False``): a device charges each of two ``avg_pool_3x3`` edges
    on one tensor, which the exporter's common-subexpression elimination would merge into one.
    The weights are the seeded initial ones, BatchNorm statistics are not calibrated (they change
    values, not the graph) and the file is not verified: this is the graph, not a deliverable.

    ``via``: ``"torch"`` runs the TorchScript exporter (~0.7 s per NB201 network); ``"builder"``
    writes the same NB201 model node by node (`hwnas.predictors.nb201_onnx`, ~40-70 ms; NB201 at
    opset 17 only); ``"auto"`` (default) takes the builder where it applies. Both give identical
    graphs (checked in the tests)."""
    if via not in ("auto", "torch", "builder"):
        raise ValueError(f"via must be 'auto', 'torch' or 'builder', not {via!r}")
    sp = get_space(space)
    spec = sp.dataset(dataset)
    can_build = sp.name == "nb201" and opset == NB201_BUILDER_OPSET
    if via == "builder" and not can_build:
        raise ValueError(f"the graph builder covers nb201 at opset {NB201_BUILDER_OPSET} only, not {sp.name} at opset {opset}")
    if via != "torch" and can_build:
        return graph_from_onnx(nb201_onnx_model(sp.ops(arch), spec.num_classes, spec.input_shape))

    from hwnas.export import export_onnx
    from hwnas.init import build_seeded

    model = build_seeded(arch, spec.name, seed=0)
    with tempfile.TemporaryDirectory(prefix="hwnas-graph-") as tmp:
        path = Path(tmp) / "net.onnx"
        export_onnx(model, spec.input_shape, path, opset=opset, verify=False, merge_identical_ops=False)
        return graph_from_onnx(path)


def _read(path: Path) -> OnnxGraph | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            return OnnxGraph.from_arrays({k: z[k] for k in z.files})
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # missing, stale or damaged: make it again


def _write(path: Path, graph: OnnxGraph) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: np.savez(fh, **graph.to_arrays()), private=True)


def graph_for_arch(space: str, arch: Arch, dataset: str = "cifar10",
                   cache_dir: "str | os.PathLike[str] | None" = None, opset: int = DEFAULT_OPSET) -> OnnxGraph:
    """The ONNX graph of ``arch`` built for ``dataset``, from the cache or exported once."""
    path = graph_path(space, arch, dataset, cache_dir, opset)
    graph = _read(path) if path.is_file() else None
    if graph is None:
        graph = export_graph(space, arch, dataset, opset)
        _write(path, graph)
    return graph


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def _build(job: tuple[str, tuple[int, ...], str, str | None, int]) -> dict[str, np.ndarray]:
    space, genotype, dataset, cache_dir, opset = job
    return graph_for_arch(space, Arch(space, genotype), dataset, cache_dir, opset).to_arrays()


def graphs_for_archs(space: str, archs: Sequence[Arch], dataset: str = "cifar10", workers: int = 1,
                     cache_dir: "str | os.PathLike[str] | None" = None, progress: bool = False,
                     opset: int = DEFAULT_OPSET) -> list[OnnxGraph]:
    """Graphs of all ``archs`` (same order). Cached graphs are read; the others are exported by
    ``workers`` processes (1: in this process). ``progress`` shows a progress bar."""
    sp = get_space(space)
    ds = sp.dataset(dataset).name
    cache = str(cache_dir) if cache_dir is not None else None
    out: list[OnnxGraph | None] = [None] * len(archs)
    todo: dict[tuple[int, ...], list[int]] = {}
    for i, a in enumerate(archs):
        path = graph_path(sp.name, a, ds, cache, opset)
        g = _read(path) if path.is_file() else None
        if g is None:
            todo.setdefault(tuple(a.genotype), []).append(i)
        else:
            out[i] = g
    if todo:
        jobs = [(sp.name, genotype, ds, cache, opset) for genotype in todo]
        bar = _progress(progress, len(jobs), f"ONNX graphs ({sp.name}, {ds}, {workers} worker(s))")
        pool = None
        try:
            if workers <= 1:
                results = map(_build, jobs)
            else:
                import multiprocessing as mp
                from concurrent.futures import ProcessPoolExecutor

                pool = ProcessPoolExecutor(max_workers=int(workers), mp_context=mp.get_context("spawn"),
                                           initializer=_worker_init)
                results = pool.map(_build, jobs, chunksize=max(1, min(16, len(jobs) // (4 * int(workers)))))
            for job, arrays in zip(jobs, results):
                g = OnnxGraph.from_arrays(arrays)
                for i in todo[job[1]]:
                    out[i] = g
                bar.advance()
        finally:
            bar.close()
            if pool is not None:
                pool.shutdown(cancel_futures=True)
    return out  # type: ignore[return-value]


class _progress:
    """A rich progress bar (or nothing)."""

    def __init__(self, show: bool, total: int, label: str) -> None:
        self._bar = None
        if show:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(label, total=total)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
