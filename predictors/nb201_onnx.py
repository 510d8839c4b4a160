"""The ONNX model of a NAS-Bench-201 network as `hwnas.export.export_onnx` writes it
(``merge_identical_ops=False``, opset 17), built node by node with `onnx.helper` in ~40-70 ms instead
of ~0.7-1 s through the TorchScript exporter. It exists for the graph cache of the predictors
(`hwnas.predictors.graphs`): 15,625 graphs take minutes instead of hours.

What the exporter does to `hwnas.spaces.nb201_ops.TinyNetwork` in eval mode, and this builder
repeats: every Conv + BatchNorm pair becomes one Conv with a bias (the stem, every ReLU-conv-BN,
both convs of a reduction block), ``skip_connect`` edges disappear (the cell reads the tensor
itself), ``none`` edges are ``Mul`` by a ``Constant`` 0.0, the node sums are left-to-right
``Add`` chains in edge order, and the head is BatchNormalization, Relu, GlobalAveragePool,
Flatten, Gemm. Node names, node order, op types, attributes and tensor shapes are the exporter's;
weights are not (they are ones: the graph needs shapes, not values), so the model prices, it does
not predict. `tests/test_predictors.py` checks that `graph_from_onnx` gives arrays identical to
the exported file's for edge cases and random architectures on all three datasets.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwnas.spaces.nb201 import EDGE_SOURCES, OP_NAMES

OPSET = 17
IR_VERSION = 8


def nb201_onnx_model(ops: Sequence[str], num_classes: int, input_shape: tuple[int, int, int],
                     channels: int = 16, cells_per_stage: int = 5):
    """The `onnx.ModelProto` of the NB201 network with cell ``ops`` (6 op names, string edge order),
    as exported at opset 17 with input ``input`` [batch, *input_shape] and output ``logits``."""
    from onnx import TensorProto, helper, numpy_helper

    if len(ops) != len(EDGE_SOURCES) or any(op not in OP_NAMES for op in ops):
        raise ValueError(f"expected 6 NAS-Bench-201 op names from {OP_NAMES}, got {tuple(ops)}")
    nodes: list = []
    inits: list = []

    def weight(name: str, shape: tuple[int, ...]) -> str:
        inits.append(numpy_helper.from_array(np.ones(shape, dtype=np.float32), name))
        return name

    def node(op: str, name: str, inputs: list[str], **attrs) -> str:
        out = f"{name}_output_0"
        nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    def conv(name: str, x: str, c_in: int, c_out: int, k: int, stride: int, pad: int, bias: bool = True) -> str:
        ins = [x, weight(f"{name}.weight", (c_out, c_in, k, k))]
        if bias:
            ins.append(weight(f"{name}.bias", (c_out,)))
        return node("Conv", name, ins, dilations=[1, 1], group=1, kernel_shape=[k, k],
                    pads=[pad] * 4, strides=[stride, stride])

    def relu_conv(scope: str, x: str, c_in: int, c_out: int, k: int, stride: int, pad: int) -> str:
        module = scope.rsplit("/", 1)[-1]  # the Sequential's own name: /cells.0/edges.1 -> edges.1
        r = node("Relu", f"{scope}/{module}.0/Relu", [x])
        return conv(f"{scope}/{module}.1/Conv", r, c_in, c_out, k, stride, pad)

    def avg_pool(name: str, x: str, k: int, stride: int, pad: int) -> str:
        return node("AveragePool", name, [x], ceil_mode=0, count_include_pad=0, kernel_shape=[k, k],
                    pads=[pad] * 4, strides=[stride, stride])

    def edge(scope: str, op: str, x: str, c: int) -> str:
        if op == "skip_connect":
            return x
        if op == "none":
            zero = f"{scope}/Constant"
            nodes.append(helper.make_node("Constant", [], [f"{zero}_output_0"], name=zero,
                                          value=helper.make_tensor("value", TensorProto.FLOAT, [], [0.0])))
            return node("Mul", f"{scope}/Mul", [x, f"{zero}_output_0"])
        if op == "avg_pool_3x3":
            return avg_pool(f"{scope}/AveragePool", x, 3, 1, 1)
        k = 1 if op == "nor_conv_1x1" else 3
        return relu_conv(scope, x, c, c, k, 1, k // 2)

    def cell(index: int, x: str, c: int) -> str:
        states = [x]
        adds = 0
        e = 0
        for target in range(1, 4):
            total = None
            for _ in range(target):
                out = edge(f"/cells.{index}/edges.{e}", ops[e], states[EDGE_SOURCES[e]], c)
                if total is None:
                    total = out
                else:
                    total = node("Add", f"/cells.{index}/Add" + (f"_{adds}" if adds else ""), [total, out])
                    adds += 1
                e += 1
            states.append(total)
        return states[-1]

    def reduction(index: int, x: str, c_in: int, c_out: int) -> str:
        scope = f"/cells.{index}"
        short = avg_pool(f"{scope}/downsample/downsample.0/AveragePool", x, 2, 2, 0)
        short = conv(f"{scope}/downsample/downsample.1/Conv", short, c_in, c_out, 1, 1, 0, bias=False)
        a = relu_conv(f"{scope}/conv_a", x, c_in, c_out, 3, 2, 1)
        b = relu_conv(f"{scope}/conv_b", a, c_out, c_out, 3, 1, 1)
        return node("Add", f"{scope}/Add", [short, b])

    c = channels
    x = conv("/stem/stem.0/Conv", "input", input_shape[0], c, 3, 1, 1)
    index = 0
    for stage in range(3):
        if stage:
            x = reduction(index, x, c, 2 * c)
            c *= 2
            index += 1
        for _ in range(cells_per_stage):
            x = cell(index, x, c)
            index += 1
    bn = [weight(f"lastact.0.{p}", (c,)) for p in ("weight", "bias", "running_mean", "running_var")]
    x = node("BatchNormalization", "/lastact/lastact.0/BatchNormalization", [x, *bn],
             epsilon=1e-5, momentum=0.9, training_mode=0)
    x = node("Relu", "/lastact/lastact.1/Relu", [x])
    x = node("GlobalAveragePool", "/global_pooling/GlobalAveragePool", [x])
    x = node("Flatten", "/Flatten", [x], axis=1)
    nodes.append(helper.make_node("Gemm", [x, weight("classifier.weight", (num_classes, c)),
                                           weight("classifier.bias", (num_classes,))], ["logits"],
                                  name="/classifier/Gemm", alpha=1.0, beta=1.0, transB=1))
    graph = helper.make_graph(
        nodes, "main_graph",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", *input_shape])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", num_classes])],
        initializer=inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                             producer_name="hwnas")
