"""``opsum``: an additive per-op cost model on the **exported ONNX graph**.

The cost of a network is modelled as a constant plus, for every ONNX node, a non-negative linear
function of its work, with coefficients per op type:

    cost = b + sum_v  w[type(v)] . (1, MACs, FLOPs, input bytes, output bytes, weight bytes)_v

Each node counts in three groups with their own coefficients: every node, nodes of a network
whose output depends on its input (``output_dependent``), and live nodes (``live``: the op's
output reaches the graph output) -- so a runtime that skips dead ops and one that runs them are
both expressible. The coefficients are fitted by non-negative least squares on the **relative**
error (each row divided by its target), so every prediction is >= 0 and cheap and costly networks
weigh alike.

Analytical cost models of accelerators are of exactly this form: on HW-NAS-Bench's Eyeriss and
FPGA numbers it is exact (largest relative error ~1e-7), provided the graph keeps one node per op
the network runs (`hwnas.predictors.graphs` exports with ``merge_identical_ops=False``). It prices
any ONNX CNN, and it is the base the ``gcn`` can learn a correction on (``gcn`` option
``base=opsum``). The per-op-type linear kernels are the simplest form of nn-Meter's per-kernel
predictors.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.predictors.base import register
from hwnas.predictors.graph_model import GraphPredictor, check_graph_targets
from hwnas.predictors.onnx_graph import OP_VOCAB, OnnxGraph

QUANTITIES: tuple[str, ...] = ("macs", "flops", "in_bytes", "out_bytes", "weight_bytes")
GROUPS: tuple[str, ...] = ("all", "output_dependent", "live")


def opsum_features(g: OnnxGraph, vocab: Sequence[str] = OP_VOCAB) -> np.ndarray:
    """[ (len(vocab) + 1) * len(GROUPS) * (1 + len(QUANTITIES)) ] float64: per op type (the last
    slot is every type not in ``vocab``) and node group, the number of nodes and the sums of their
    MACs, FLOPs and bytes (raw units, not log-scaled)."""
    index = {op: i for i, op in enumerate(vocab)}
    types = np.array([index.get(str(op), len(vocab)) for op in g.op_types], dtype=np.int64)
    per_node = np.stack([np.ones(g.num_nodes)] + [g.feature(q) for q in QUANTITIES], axis=1)
    masks = (np.ones(g.num_nodes), g.feature("output_dependent"), g.feature("live"))
    out = np.zeros((len(vocab) + 1, len(GROUPS), per_node.shape[1]))
    for k, mask in enumerate(masks):
        np.add.at(out[:, k, :], types, per_node * mask[:, None])
    return out.reshape(-1)


def fit_nnls_relative(x: np.ndarray, y: np.ndarray, alpha: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(coef, scale) minimising sum(((x / scale) @ coef - y) / y)^2 + alpha |coef|^2 with coef >= 0;
    ``x`` [n, d] (include a column of ones for an intercept), ``y`` [n] > 0. Columns are scaled by
    their largest absolute value (``scale``; 1 for all-zero columns) for conditioning."""
    from scipy.optimize import nnls

    scale = np.abs(x).max(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    a = (x / scale) / y[:, None]
    b = np.ones(y.size)
    if alpha > 0:
        a = np.vstack([a, np.sqrt(alpha) * np.eye(x.shape[1])])
        b = np.concatenate([b, np.zeros(x.shape[1])])
    coef, _ = nnls(a, b, maxiter=50 * x.shape[1])
    return coef, scale


@register("opsum", aliases=("op-sum", "additive"))
class OpSumPredictor(GraphPredictor):
    description = "additive per-op linear cost on the exported ONNX graph (non-negative, relative error)"
    inputs = "ONNX graph (any CNN)"
    defaults = {"alpha": 0.0, "opset": 17}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not float(self.hparams["alpha"]) >= 0:
            raise HwnasUsageError(f"opsum alpha must be >= 0, not {self.hparams['alpha']!r}")
        self.vocab: tuple[str, ...] = OP_VOCAB

    def _design(self, graphs: Sequence[OnnxGraph]) -> np.ndarray:
        x = np.array([opsum_features(g, self.vocab) for g in graphs], dtype=np.float64)
        return np.hstack([x, np.ones((len(graphs), 1))])

    def fit_graphs(self, graphs: Sequence[OnnxGraph], targets) -> "OpSumPredictor":
        y = check_graph_targets(graphs, targets)
        self.coef, self.scale = fit_nnls_relative(self._design(graphs), y, float(self.hparams["alpha"]))
        self.fitted = True
        return self

    def predict_graphs(self, graphs: Sequence[OnnxGraph]) -> np.ndarray:
        self._check_fitted()
        if not len(graphs):
            return np.zeros(0)
        return (self._design(graphs) / self.scale) @ self.coef

    def _state(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef, "scale": self.scale, "op_vocab": np.array(self.vocab, dtype=str),
                "quantities": np.array(QUANTITIES, dtype=str), "groups": np.array(GROUPS, dtype=str)}

    def _set_state(self, arrays) -> None:
        if tuple(str(v) for v in np.asarray(arrays["quantities"])) != QUANTITIES or \
                tuple(str(v) for v in np.asarray(arrays["groups"])) != GROUPS:
            raise ValueError("saved with other per-op quantities or node groups than this hwnas computes")
        self.vocab = tuple(str(v) for v in np.asarray(arrays["op_vocab"]))
        size = (len(self.vocab) + 1) * len(GROUPS) * (1 + len(QUANTITIES)) + 1
        self.coef = np.asarray(arrays["coef"], dtype=np.float64).reshape(-1)
        self.scale = np.asarray(arrays["scale"], dtype=np.float64).reshape(-1)
        if self.coef.shape != (size,) or self.scale.shape != (size,):
            raise ValueError(f"coef/scale have shapes {self.coef.shape}/{self.scale.shape}, expected ({size},)")
