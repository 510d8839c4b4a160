"""Any ONNX model -> a graph for the GCN predictor: nodes are ONNX ops, edges go from the op that
produces a tensor to each op that consumes it.

Node features (`FEATURE_NAMES`, all ``log1p``-scaled except the three flags), from the shapes
that ``onnx.shape_inference`` infers (symbolic dimensions such as the batch count as
``batch_size``, default 1):

* ``macs``       -- multiply-accumulates: Conv = output elements x C_in/groups x kernel area,
  ConvTranspose = input elements x C_out/groups x kernel area, Gemm/MatMul = output elements x K;
* ``flops``      -- 2 x macs + element operations (pooling: output elements x kernel area;
  global pooling / reductions: input elements; BatchNormalization: 2 per element; other ops:
  1 per output element);
* ``in_bytes``, ``out_bytes``, ``weight_bytes`` -- activation bytes read and written, and bytes of
  constant inputs (weights);
* ``in_channels``, ``out_channels``, ``in_spatial``, ``out_spatial`` (H x W), ``kernel`` (area),
  ``stride`` (largest), ``groups``;
* ``operand_slot`` -- the input position at which the op's output is read: 0 for a chain, 1 for the
  second operand of an ``Add`` (the largest over its consumers). The edges do not record operand
  order, and it matters: a runtime evaluates a sum's operands in that order (PyTorch eager runs
  the branches of a NAS-Bench-201 node in edge order). On HW-NAS-Bench's jetson-tx2, a cell whose
  two branches into one node read the same tensor (a ``skip_connect`` before them) costs about 14 %
  more with a ``none`` branch before a convolution than after it (mean log-ratio 0.13-0.135 over
  54 such pairs of otherwise identical graphs); raspi4, pixel3, edgetpu and eyeriss show no such
  effect (``bench/operand_order.py``, ``docs/benchmarks.md``).
* ``input_dependent`` -- 1 if the op's inputs depend on the graph input;
* ``live``       -- 1 if the op's output depends on the graph input *and* reaches a graph output.
  Multiplying by a constant zero (and a Conv/Gemm/MatMul with all-zero weights and bias) cuts the
  dependence. An optimising runtime removes dead ops: NAS-Bench-201 cells whose input never
  reaches their output (``none`` edges) run in ~0.01 ms on HW-NAS-Bench's raspi4 and pixel3.
* ``output_dependent`` -- a graph-level flag copied to every node: 1 if any graph output depends
  on the graph input. The same runtimes still execute dead ops inside a network whose output
  does depend on its input (a conv feeding only ``none`` edges costs time on all four
  HW-NAS-Bench devices), so a node needs both flags to know whether it costs.

Ops computed from constants only (``Constant``, ``Identity`` of an initializer, ...) are folded
away: they are parameters, not work. The op type becomes a one-hot vector over `OP_VOCAB` (plus
"other") in the model, not here, so cached graphs outlive a vocabulary change.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

GRAPH_VERSION = 4  # bump when features or the export change: cached graphs are keyed by it
# (4: shapes inferred with data propagation; FBNet graphs cached before lost them after a channel shuffle)
# 2: NB201 graphs exported with merge_identical_ops=False (one node per op of the network)
# 3: the operand_slot feature

FEATURE_NAMES: tuple[str, ...] = (
    "macs", "flops", "in_bytes", "out_bytes", "weight_bytes", "in_channels", "out_channels",
    "in_spatial", "out_spatial", "kernel", "stride", "groups", "operand_slot", "input_dependent", "live",
    "output_dependent",
)
FLAG_FEATURES: tuple[str, ...] = ("input_dependent", "live", "output_dependent")

# Common ONNX ops of CNNs; anything else is "other".
OP_VOCAB: tuple[str, ...] = (
    "Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "InstanceNormalization",
    "LayerNormalization", "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish",
    "Tanh", "Softmax", "Add", "Sub", "Mul", "Div", "Concat", "Split", "Slice", "AveragePool", "MaxPool",
    "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "Flatten", "Reshape", "Transpose", "Squeeze",
    "Unsqueeze", "Pad", "Resize", "Identity", "Shape", "Gather",
)

_POOLS = {"AveragePool", "MaxPool", "LpPool"}
_GLOBAL_REDUCTIONS = {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "ReduceMean", "ReduceSum",
                      "ReduceMax", "ReduceMin", "ReduceL2"}


@dataclass(frozen=True)
class OnnxGraph:
    """One ONNX model as a graph: ``op_types`` [n] (str), ``features`` [n, len(FEATURE_NAMES)]
    float32, ``edges`` [2, E] int64 (producer row 0, consumer row 1), ``names`` [n] (node names)."""

    op_types: np.ndarray
    features: np.ndarray
    edges: np.ndarray
    names: np.ndarray

    @property
    def num_nodes(self) -> int:
        return int(self.op_types.size)

    @property
    def num_edges(self) -> int:
        return int(self.edges.shape[1])

    def feature(self, name: str) -> np.ndarray:
        """Column ``name`` of the features, undone from log1p for the size features."""
        col = self.features[:, FEATURE_NAMES.index(name)].astype(np.float64)
        return col if name in FLAG_FEATURES else np.expm1(col)

    def differing_fields(self, other: "OnnxGraph") -> list[str]:
        """Names of the arrays (op types, features, edges, node names) that are not identical in
        ``other``; empty for the same graph."""
        return [f for f in ("op_types", "features", "edges", "names")
                if not np.array_equal(getattr(self, f), getattr(other, f))]

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"op_types": self.op_types, "features": self.features, "edges": self.edges, "names": self.names,
                "version": np.array([GRAPH_VERSION])}

    @classmethod
    def from_arrays(cls, arrays: "dict[str, np.ndarray] | Any") -> "OnnxGraph":
        version = int(np.asarray(arrays["version"]).reshape(-1)[0])
        if version != GRAPH_VERSION:
            raise ValueError(f"graph version {version}, this hwnas writes {GRAPH_VERSION}")
        g = cls(np.asarray(arrays["op_types"]).astype(str), np.asarray(arrays["features"], dtype=np.float32),
                np.asarray(arrays["edges"], dtype=np.int64).reshape(2, -1), np.asarray(arrays["names"]).astype(str))
        if g.features.shape != (g.num_nodes, len(FEATURE_NAMES)):
            raise ValueError(f"features have shape {g.features.shape}, expected ({g.num_nodes}, {len(FEATURE_NAMES)})")
        if g.num_edges and (g.edges.min() < 0 or g.edges.max() >= g.num_nodes):
            raise ValueError("edge index out of range")
        return g


def _load(model: Any):
    import onnx

    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, (bytes, bytearray)):
        return onnx.load_from_string(bytes(model))
    if isinstance(model, (str, os.PathLike)):
        return onnx.load(str(Path(model)))
    raise TypeError(f"expected an onnx.ModelProto, bytes or a path, not {type(model).__name__}")


def _itemsize(elem_type: int) -> int:
    from onnx import helper

    try:
        return int(np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)).itemsize)
    except Exception:  # noqa: BLE001 -- unknown/undefined element type: assume float32
        return 4


def _all_zero(array: np.ndarray) -> bool:
    return array.size > 0 and array.dtype.kind in "fiub" and not np.any(array)


def _attr(node, name: str, default: Any = None) -> Any:
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def graph_from_onnx(model: Any, batch_size: int = 1) -> OnnxGraph:
    """The graph of an ONNX model (`onnx.ModelProto`, serialized bytes or a file path)."""
    import onnx
    from onnx import numpy_helper

    proto = _load(model)
    try:
        # data propagation follows shapes computed at run time (FBNet's channel shuffle reshapes
        # through Shape/Gather/Div): without it every op after the first shuffle had no shape.
        # (Graph version 4 on: FBNet graphs cached before lost their shapes and are not read.)
        proto = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    except Exception:  # noqa: BLE001 -- shapes stay unknown (features 0) rather than failing
        pass
    g = proto.graph

    shapes: dict[str, tuple[tuple[int, ...], int]] = {}

    def dims(tensor_type) -> tuple[int, ...]:
        out = []
        for d in tensor_type.shape.dim:
            out.append(int(d.dim_value) if d.HasField("dim_value") and d.dim_value > 0 else int(batch_size))
        return tuple(out)

    for vi in [*g.input, *g.value_info, *g.output]:
        tt = vi.type.tensor_type
        if tt.HasField("shape"):
            shapes[vi.name] = (dims(tt), tt.elem_type)
    values: dict[str, np.ndarray] = {}
    for t in g.initializer:
        shapes[t.name] = (tuple(int(d) for d in t.dims), t.data_type)
        values[t.name] = numpy_helper.to_array(t)

    const = set(values)
    zero = {name for name, v in values.items() if _all_zero(v)}
    compute = []
    for node in g.node:
        ins = [x for x in node.input if x]
        if node.op_type == "Constant" or not ins or all(x in const for x in ins):
            const.update(o for o in node.output if o)
            if node.op_type == "Constant":
                t = _attr(node, "value")
                if t is not None and node.output:
                    arr = numpy_helper.to_array(t)
                    values[node.output[0]] = arr
                    shapes.setdefault(node.output[0], (tuple(arr.shape), t.data_type))
                    if _all_zero(arr):
                        zero.add(node.output[0])
                else:
                    for key in ("value_float", "value_int"):
                        v = _attr(node, key)
                        if v is not None and v == 0:
                            zero.add(node.output[0])
            elif node.op_type == "Identity" and ins[0] in zero:
                zero.add(node.output[0])
            continue
        compute.append(node)

    graph_inputs = [i.name for i in g.input if i.name not in const]
    dependent = set(graph_inputs)
    uses_input = []
    out_dependent = []
    for node in compute:
        ins = [x for x in node.input if x]
        uses = any(x in dependent for x in ins)
        killed = _annihilates(node, zero)
        if killed:
            zero.update(o for o in node.output if o)
        elif uses:
            dependent.update(o for o in node.output if o)
        uses_input.append(uses)
        out_dependent.append(uses and not killed)

    influential = {o.name for o in g.output}
    live = [False] * len(compute)
    for i in range(len(compute) - 1, -1, -1):
        node = compute[i]
        if out_dependent[i] and any(o in influential for o in node.output):
            live[i] = True
            influential.update(x for x in node.input if x in dependent)

    producer = {}
    for i, node in enumerate(compute):
        for o in node.output:
            if o:
                producer[o] = i
    edge_set = set()
    slot = [0] * len(compute)
    for j, node in enumerate(compute):
        for position, x in enumerate(node.input):
            i = producer.get(x)
            if i is not None and i != j:
                edge_set.add((i, j))
                slot[i] = max(slot[i], position)
    edges = np.array(sorted(edge_set), dtype=np.int64).reshape(-1, 2).T.copy()

    output_dependent = float(any(o.name in dependent for o in g.output))
    feats = np.zeros((len(compute), len(FEATURE_NAMES)), dtype=np.float64)
    for i, node in enumerate(compute):
        raw = _node_features(node, shapes, const)
        raw["operand_slot"] = float(slot[i])
        raw["input_dependent"] = float(uses_input[i])
        raw["live"] = float(live[i])
        raw["output_dependent"] = output_dependent
        feats[i] = [raw[k] if k in FLAG_FEATURES else math.log1p(max(raw[k], 0.0)) for k in FEATURE_NAMES]
    return OnnxGraph(
        op_types=np.array([n.op_type for n in compute], dtype=str).reshape(-1),
        features=feats.astype(np.float32),
        edges=edges,
        names=np.array([n.name or f"{n.op_type}_{i}" for i, n in enumerate(compute)], dtype=str).reshape(-1),
    )


def _annihilates(node, zero: set[str]) -> bool:
    """Does ``node`` output a constant zero whatever its data input (multiply by zero, zero weights)?"""
    ins = list(node.input)
    if node.op_type == "Mul":
        return any(x in zero for x in ins if x)
    if node.op_type in ("Conv", "ConvTranspose", "MatMul", "Gemm"):
        if node.op_type == "Gemm" and _attr(node, "beta", 1.0) != 0 and len(ins) > 2 and ins[2] and ins[2] not in zero:
            return False
        if node.op_type in ("Conv", "ConvTranspose") and len(ins) > 2 and ins[2] and ins[2] not in zero:
            return False
        return any(x in zero for x in ins[:2] if x)
    return False


def _numel(shape: tuple[int, ...] | None) -> float:
    return float(np.prod(shape, dtype=np.float64)) if shape is not None else 0.0


def _channels_spatial(shape: tuple[int, ...] | None) -> tuple[float, float]:
    if not shape:
        return 0.0, 0.0
    if len(shape) >= 3:
        return float(shape[1]), _numel(shape[2:])
    if len(shape) == 2:
        return float(shape[1]), 1.0
    return _numel(shape), 1.0


def _node_features(node, shapes, const) -> dict[str, float]:
    def shape(name: str) -> tuple[int, ...] | None:
        s = shapes.get(name)
        return s[0] if s else None

    def nbytes(name: str) -> float:
        s = shapes.get(name)
        return _numel(s[0]) * _itemsize(s[1]) if s else 0.0

    ins = [x for x in node.input if x]
    data = [x for x in ins if x not in const]
    weights = [x for x in ins if x in const]
    outs = [o for o in node.output if o]
    in_shape = shape(data[0]) if data else None
    out_shape = shape(outs[0]) if outs else None
    out_elems = _numel(out_shape)
    op = node.op_type

    macs = elem = 0.0
    kernel, stride, groups = 1.0, 1.0, float(_attr(node, "group", 1) or 1)
    strides = _attr(node, "strides")
    if strides:
        stride = float(max(strides))
    if op in ("Conv", "ConvTranspose") and len(ins) > 1:
        w = shape(ins[1])
        if w is not None and len(w) >= 2:
            kernel = _numel(w[2:]) if len(w) > 2 else 1.0
            if op == "Conv":
                macs = out_elems * w[1] * kernel
            else:
                macs = _numel(in_shape) * w[1] * kernel
    elif op == "Gemm" and len(ins) > 1:
        a = shape(ins[0])
        if a is not None and len(a) == 2:
            k = a[0] if _attr(node, "transA", 0) else a[1]
            macs = out_elems * k
    elif op == "MatMul" and len(ins) > 1:
        a = shape(ins[0])
        if a:
            macs = out_elems * a[-1]
    elif op in _POOLS:
        ks = _attr(node, "kernel_shape") or []
        kernel = float(np.prod(ks)) if ks else 1.0
        elem = out_elems * kernel
    elif op in _GLOBAL_REDUCTIONS:
        elem = _numel(in_shape)
    elif op == "BatchNormalization":
        elem = 2.0 * out_elems
    else:
        elem = out_elems
    in_c, in_s = _channels_spatial(in_shape)
    out_c, out_s = _channels_spatial(out_shape)
    return {
        "macs": macs,
        "flops": 2.0 * macs + elem,
        "in_bytes": sum(nbytes(x) for x in data),
        "out_bytes": sum(nbytes(o) for o in outs),
        "weight_bytes": sum(nbytes(x) for x in weights),
        "in_channels": in_c,
        "out_channels": out_c,
        "in_spatial": in_s,
        "out_spatial": out_s,
        "kernel": kernel,
        "stride": stride,
        "groups": groups,
    }
