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

Block graphs are read with shape inference **with data propagation** (`graph_with_shapes`): without
it, shapes (and so MACs, FLOPs, bytes) are lost after the first channel shuffle. The network graphs
that `hwnas.predictors.graphs` caches are read without it (a limitation of `onnx_graph` for FBNet);
`network_graph` exports one network with it.
"""

from __future__ import annotations

import os
import re
import tempfile
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
        g = graph_with_shapes(onnx_path)
    _write(path, g)
    return g


def graph_with_shapes(model) -> OnnxGraph:
    """`graph_from_onnx` after shape inference **with data propagation**: the channel shuffle of
    FBNet's grouped blocks reshapes to a shape computed by Shape/Gather/Div ops, which plain
    ``onnx.shape_inference`` cannot follow, so every op after the first shuffle of a network gets
    no shapes (and no MACs, FLOPs or bytes) -- 7.9 M instead of 53 M MACs for a CIFAR-100 FBNet
    network. With ``data_prop=True`` the shapes are known throughout."""
    return graph_from_onnx(model)  # which infers shapes with data propagation


def network_graph(space: str, arch, dataset: str, opset: int = 17) -> OnnxGraph:
    """The graph of one network of ``space`` exported as `hwnas.predictors.graphs.export_graph`
    does, but with shapes inferred with data propagation (`graph_with_shapes`); not cached."""
    from hwnas.export import export_onnx
    from hwnas.init import build_seeded
    from hwnas.spaces import get_space

    spec = get_space(space).dataset(dataset)
    model = build_seeded(arch, spec.name, seed=0)
    with tempfile.TemporaryDirectory(prefix="hwnas-graph-") as tmp:
        path = Path(tmp) / "net.onnx"
        export_onnx(model, spec.input_shape, path, opset=opset, verify=False, merge_identical_ops=False)
        return graph_with_shapes(path)


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
