"""Kernel-level training rows from **per-block** measurement tables (issue 21 item 3's second source).

A block table (HW-NAS-Bench's FBNet look-up table in `hwnas.devices.fbnet`) holds one measured
cost per block shape: ``ConvBlock_H32_W32_Cin16_Cout24_exp6_kernel5_stride1_group1``,
``Skip_...``, ``ConvNorm_...`` (stem, head), ``AvgP_...``, ``FC_...``. Each block is a few
kernels. `fbnet_block_rows` builds every block alone with the FBNet space's own modules
(`hwnas.spaces.fbnet_ops`), exports it to ONNX, and returns its graph with the block's measured
cost: a row whose kernels must sum to that cost, **without** the per-network overhead.
`hwnas.predictors.kernel.KernelPredictor.fit_graphs` takes such rows as ``block_graphs`` /
``block_targets`` beside (or instead of) whole networks.

Identity skips (stride 1, Cin == Cout) run nothing and are left out. Block graphs are cached like
network graphs (``<graph cache>/v<GRAPH_VERSION>/fbnet-blocks-dp/<key>.npz``). The TF-NAS tables
(`devices/tfnas.py`) are not turned into rows here yet.

Graphs are read by `graph_from_onnx`, whose shape inference propagates data: without it, shapes
(and so MACs, FLOPs, bytes) are lost after the first channel shuffle of an FBNet block -- 7.9 M
instead of 53 M MACs for a CIFAR-100 FBNet network.

Whole FBNet networks, fast (`fbnet_network_graphs`): each part of a network (the stem, every
(layer, op) block, the tail) is exported once and cached as ONNX; a network's ONNX model is the
chain of its parts (`fbnet_composed_onnx`) and its graph `graph_from_onnx` of that -- about 0.02 s
per network against 0.2-0.4 s for exporting it whole (bench/kernel_fbnet_help.py
``--time-graphs``). The graph is identical to `network_graph`'s and to
`hwnas.predictors.graphs.export_graph`'s (op types, features, edges, node names; `graph_from_onnx`
now infers shapes with data propagation for every model, so those two agree), hence cached where
`graphs.graph_path` puts it.
"""

from __future__ import annotations

import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from hwnas.predictors.onnx_graph import GRAPH_VERSION, OnnxGraph, graph_from_onnx

_FIELDS = re.compile(r"([A-Za-z]+)(\d+)")


def parse_block_key(key: str) -> tuple[str, dict[str, int]]:
    """(``ConvBlock`` | ``Skip`` | ``ConvNorm`` | ``AvgP`` | ``FC``, its integer fields)."""
    kind, *parts = key.split("_")
    fields = {}
    for p in parts:
        m = _FIELDS.fullmatch(p)
        if m is None:
            raise ValueError(f"block key {key!r}: cannot read {p!r}")
        fields[m.group(1)] = int(m.group(2))
    return kind, fields


def fbnet_block_module(key: str):
    """(module, input shape without the batch) of an FBNet LUT entry; None for an identity skip."""
    from torch import nn

    from hwnas.spaces.fbnet_ops import ConvBlock, ConvNorm, Skip

    kind, f = parse_block_key(key)
    if kind == "ConvBlock":
        return ConvBlock(f["Cin"], f["Cout"], f["exp"], f["kernel"], f["stride"], f["group"]), (f["Cin"], f["H"], f["W"])
    if kind == "Skip":
        if f["stride"] == 1 and f["Cin"] == f["Cout"]:
            return None
        return Skip(f["Cin"], f["Cout"], f["stride"]), (f["Cin"], f["H"], f["W"])
    if kind == "ConvNorm":
        return ConvNorm(f["Cin"], f["Cout"], f["kernel"], f["stride"]), (f["Cin"], f["H"], f["W"])
    if kind == "AvgP":
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1)), (f["Cin"], f["H"], f["W"])
    if kind == "FC":
        return nn.Linear(f["Cin"], f["Cout"]), (f["Cin"],)
    raise ValueError(f"unknown FBNet block kind {kind!r} in {key!r}")


def _cache_path(key: str, cache_dir: "str | os.PathLike[str] | None", opset: int) -> Path:
    from hwnas.predictors.graphs import default_cache_dir

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return root / f"v{GRAPH_VERSION}" / "fbnet-blocks-dp" / f"opset{opset}" / f"{key}.npz"


def fbnet_block_graph(key: str, cache_dir: "str | os.PathLike[str] | None" = None, opset: int = 17) -> OnnxGraph | None:
    """The ONNX graph of one FBNet LUT block (exported once, then cached); None for an identity skip."""
    import torch

    from hwnas.export import export_onnx
    from hwnas.predictors.graphs import _read, _write

    path = _cache_path(key, cache_dir, opset)
    g = _read(path) if path.is_file() else None
    if g is not None:
        return g
    built = fbnet_block_module(key)
    if built is None:
        return None
    module, shape = built
    torch.manual_seed(0)
    module.eval()
    with tempfile.TemporaryDirectory(prefix="hwnas-block-") as tmp:
        onnx_path = Path(tmp) / "block.onnx"
        export_onnx(module, shape, onnx_path, opset=opset, verify=False, merge_identical_ops=False)
        g = graph_from_onnx(onnx_path)
    _write(path, g)
    return g


def network_graph(space: str, arch, dataset: str, opset: int = 17) -> OnnxGraph:
    """The graph of one network of ``space`` exported as `hwnas.predictors.graphs.export_graph`
    does; not cached."""
    from hwnas.export import export_onnx
    from hwnas.init import build_seeded
    from hwnas.spaces import get_space

    spec = get_space(space).dataset(dataset)
    model = build_seeded(arch, spec.name, seed=0)
    with tempfile.TemporaryDirectory(prefix="hwnas-graph-") as tmp:
        path = Path(tmp) / "net.onnx"
        export_onnx(model, spec.input_shape, path, opset=opset, verify=False, merge_identical_ops=False)
        return graph_from_onnx(path)


def fbnet_block_rows(device: str, metric: str = "latency", dataset: str = "cifar100",
                     cache_dir: "str | os.PathLike[str] | None" = None,
                     keys: "Sequence[str] | None" = None) -> tuple[list[OnnxGraph], np.ndarray, list[str]]:
    """(block graphs, their measured costs on ``device``, their LUT keys): every block an FBNet
    network of ``dataset`` can contain (``keys`` to choose), identity skips left out. Blocks the table
    prices at 0 are kept (HW-NAS-Bench's fpga table does so for the stem, head conv, pool and FC):
    the model must learn that they cost nothing there."""
    from hwnas.devices.fbnet import _column, _lut_arrays, block_keys

    _, col = _column(device, metric)
    index, _, values, _ = _lut_arrays()
    if keys is None:
        fixed, layers = block_keys(dataset)
        keys = list(dict.fromkeys([*fixed, *(k for layer in layers for k in layer)]))
    graphs, costs, used = [], [], []
    for key in keys:
        if key not in index:
            continue
        cost = float(values[index[key], col])
        if not np.isfinite(cost) or cost < 0:
            continue
        g = fbnet_block_graph(key, cache_dir)
        if g is None or g.num_nodes == 0:
            continue
        graphs.append(g)
        costs.append(cost)
        used.append(key)
    return graphs, np.array(costs, dtype=np.float64), used


# --- whole FBNet networks composed from per-layer exports -----------------------------------------
# Exporting a whole FBNet network with TorchScript takes 0.25-3.6 s (hours for HELP's 5,000). Every
# network is the stem, its 22 layers (one of 9 ops each) and the tail (head conv, pool, flatten,
# fc), so each part is exported once per (dataset, opset) -- wrapped so that the exporter gives its
# ops the names they get inside the whole network -- and a network's ONNX model is the chain of its
# parts (`fbnet_composed_onnx`). `graph_from_onnx` then reads it as it reads an exported network.
# The result equals `hwnas.predictors.graphs.export_graph` / `network_graph` in op types,
# features, edges and node names (tests/test_kernel_predictor.py checks sampled networks), so
# `fbnet_network_graphs` stores it in the graph cache at `graphs.graph_path`, where the graph
# predictors (`GraphPredictor.prepare`) find it.


def _part_module(dataset: str, part: "str | tuple[int, int]"):
    """(module, input shape without the batch) of one part of an FBNet network of ``dataset``:
    ``"stem"``, ``"tail"`` or ``(layer, op)``; None for an identity skip. The wrapper holds the
    part under the attribute the whole network (`hwnas.spaces.fbnet_ops.FBNet`) holds it under, so
    that the exporter names its ops alike (``/stem/stem.0/Conv``, ``/layers.3/conv1/Conv``,
    ``/head/head.0/Conv``, ``/fc/Gemm``)."""
    from torch import nn

    from hwnas.devices.fbnet import _BLOCKS
    from hwnas.spaces.fbnet import skeleton
    from hwnas.spaces.fbnet_ops import ConvNorm, Skip, make_layer

    sk = skeleton(dataset)
    if part == "stem":
        class Stem(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.stem = ConvNorm(3, sk.stem_channels, 3, sk.stem_stride, padding=1)

            def forward(self, x):
                return self.stem(x)

        return Stem(), (3, sk.input_size, sk.input_size)
    if part == "tail":
        class Tail(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.head = ConvNorm(sk.head_in, sk.head_channels, 1, 1)
                self.avgpool = nn.AdaptiveAvgPool2d(1)
                self.fc = nn.Linear(sk.head_channels, sk.num_classes)

            def forward(self, x):  # as FBNet.forward after its layers
                return self.fc(self.avgpool(self.head(x)).flatten(1))

        return Tail(), (sk.head_in, sk.head_size, sk.head_size)
    index, op = part
    s = sk.layers[index]
    layer = make_layer(op, _BLOCKS, s.c_in, s.c_out, s.stride)
    if isinstance(layer, Skip) and layer.project is None:
        return None

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList([nn.Identity() for _ in range(index)] + [layer])

        def forward(self, x):
            return self.layers[index](x)

    return Layer(), (s.c_in, s.size, s.size)


def _part_name(part: "str | tuple[int, int]") -> str:
    return part if isinstance(part, str) else f"L{part[0]:02d}-op{part[1]}"


@lru_cache(maxsize=1024)
def _part_onnx(dataset: str, part: "str | tuple[int, int]", cache_dir: "str | None", opset: int):
    """The ONNX model (`onnx.ModelProto`) of one part, exported once and cached on disk as
    ``<graph cache>/v<GRAPH_VERSION>/fbnet-parts/<dataset>/opset<k>/<part>.onnx``; None for an
    identity skip."""
    import onnx

    from hwnas.predictors.graphs import default_cache_dir
    from hwnas.storage import atomic_write

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = root / f"v{GRAPH_VERSION}" / "fbnet-parts" / dataset / f"opset{opset}" / f"{_part_name(part)}.onnx"
    if path.is_file():
        try:
            return onnx.load_from_string(path.read_bytes())
        except Exception:  # noqa: BLE001 -- damaged: export it again
            pass
    import torch

    from hwnas.export import export_onnx

    built = _part_module(dataset, part)
    if built is None:
        return None
    module, shape = built
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = module.eval()
        with tempfile.TemporaryDirectory(prefix="hwnas-part-") as tmp:
            onnx_path = Path(tmp) / "part.onnx"
            export_onnx(module, shape, onnx_path, opset=opset, verify=False, merge_identical_ops=False)
            data = onnx_path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda fh: fh.write(data))
    return onnx.load_from_string(data)


def fbnet_composed_onnx(genotype: Sequence[int], dataset: str = "cifar100",
                        cache_dir: "str | os.PathLike[str] | None" = None, opset: int = 17):
    """The ONNX model of the FBNet network ``genotype`` (22 op ids 0..8) for ``dataset``, chained
    from its parts' exports (`_part_onnx`): each part's tensors are renamed apart (``p<k>/...``),
    its input is the previous part's output; identity skips are no part (the whole network's
    export has no op for them either). Node names are kept."""
    from onnx import helper

    from hwnas.devices.fbnet import canonical_dataset
    from hwnas.export import INPUT_NAME, OUTPUT_NAME

    ds = canonical_dataset(dataset)
    cache = str(cache_dir) if cache_dir is not None else None
    parts = ["stem", *((i, int(op)) for i, op in enumerate(genotype)), "tail"]
    models = [m for m in (_part_onnx(ds, p, cache, int(opset)) for p in parts) if m is not None]
    graph = helper.make_graph([], "fbnet", [models[0].graph.input[0]], [models[-1].graph.output[0]])
    current = INPUT_NAME
    for k, m in enumerate(models):
        out = OUTPUT_NAME if k == len(models) - 1 else f"x{k}"

        def rename(name: str, k: int = k, current: str = current, out: str = out) -> str:
            if name == INPUT_NAME:
                return current
            if name == OUTPUT_NAME:
                return out
            return f"p{k}/{name}" if name else name

        for node in m.graph.node:
            n = graph.node.add()
            n.CopyFrom(node)
            ins, outs = [rename(x) for x in n.input], [rename(x) for x in n.output]
            del n.input[:], n.output[:]
            n.input.extend(ins)
            n.output.extend(outs)
        for t in m.graph.initializer:
            graph.initializer.add().CopyFrom(t)
            graph.initializer[-1].name = rename(t.name)
        for vi in m.graph.value_info:
            graph.value_info.add().CopyFrom(vi)
            graph.value_info[-1].name = rename(vi.name)
        current = out
    return helper.make_model(graph, opset_imports=list(models[0].opset_import), ir_version=models[0].ir_version)


def fbnet_network_graph(genotype: Sequence[int], dataset: str = "cifar100",
                        cache_dir: "str | os.PathLike[str] | None" = None, opset: int = 17,
                        use_cache: bool = True) -> OnnxGraph:
    """The graph of the FBNet network ``genotype``: from the graph cache
    (`hwnas.predictors.graphs.graph_path`), else `graph_from_onnx` of `fbnet_composed_onnx`
    (about 0.05 s once the parts are exported, against 0.25-3.6 s for exporting the network),
    written to the cache. ``use_cache=False``: neither read nor written (the parts still are)."""
    from hwnas.predictors.graphs import _read, _write, graph_path
    from hwnas.spaces import Arch

    arch = Arch("fbnet", tuple(int(v) for v in genotype))
    path = graph_path("fbnet", arch, dataset, cache_dir, opset)
    if use_cache and path.is_file():
        g = _read(path)
        if g is not None:
            return g
    g = graph_from_onnx(fbnet_composed_onnx(arch.genotype, dataset, cache_dir, opset))
    if use_cache:
        _write(path, g)
    return g


def fbnet_network_graphs(genotypes, dataset: str = "cifar100", cache_dir: "str | os.PathLike[str] | None" = None,
                         opset: int = 17, progress: bool = False) -> list[OnnxGraph]:
    """`fbnet_network_graph` of every genotype ([n, 22] op ids), in order; ``progress``: a bar."""
    from hwnas.predictors.graphs import _progress

    rows = [tuple(int(v) for v in g) for g in np.asarray(genotypes).reshape(-1, 22)]
    bar = _progress(progress, len(rows), f"FBNet graphs ({dataset}, composed from parts)")
    out = []
    try:
        for g in rows:
            out.append(fbnet_network_graph(g, dataset, cache_dir, opset))
            bar.advance()
    finally:
        bar.close()
    return out
