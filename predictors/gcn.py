"""``gcn``: a BRP-NAS-style graph convolutional network on the **exported ONNX graph**.

Input: `hwnas.predictors.onnx_graph.OnnxGraph` (nodes = ONNX ops; features = one-hot op type
over the vocabulary stored with the model + the standardised log-scaled shape features: MACs,
FLOPs, bytes moved, channels, spatial size, kernel, stride, groups, and the input-dependent / live
flags). Architectures are turned into graphs by `hwnas.predictors.graphs` (cached on disk); any
other ONNX CNN can be priced with `predict_onnx` / `predict_graphs`.

Network (pure torch, no torch_geometric):

* embedding: linear + ReLU;
* ``layers`` directed graph-convolution layers with residual connections,
  ``h <- h + ReLU(A_in h W_in + A_out h W_out + b)``, where ``A_in`` averages over a node's
  producers and itself and ``A_out`` over its consumers and itself (row-normalised adjacency
  with self loops, one per direction, so "ReLU before Conv" differs from "Conv before ReLU");
* readout ``additive`` (default): every node contributes ``softplus(MLP(h_v))`` and the graph's
  cost is the sum of the contributions times a learned scale -- latency is, to first order, a
  sum of per-op times, so this generalises to graphs larger than those seen in training, and a
  dead op can learn to cost nothing; ``mean`` / ``sum``: global mean / sum pooling and an MLP
  head on the standardised log-cost.

Training: AdamW with warm-up and cosine decay on the mean squared error of **log-cost**
(squared relative error), seeded init and shuffling, so a seed gives one result. ``ensemble=K``
trains K such networks (seeds seed, seed+1, ...; member 0 is the single model of that seed) and
predicts their geometric mean; ``degree_features`` adds each node's producer / consumer counts;
``operand_order=False`` leaves out the ``operand_slot`` node feature (the network then sees the
graph version 2 features, bit for bit: the choice per device is in docs/benchmarks.md).

``base``: ``opsum`` first fits the additive per-op model `hwnas.predictors.opsum` (closed form)
and trains the network on the log-ratio of the measured cost to it, from a zero correction
(pooled ``mean`` head, last layer zero-initialised): where the cost is additive per op
(Eyeriss, FPGA) the base is already exact and the network keeps it. ``auto`` (default) does so
only when the base fits the training costs to ``base_tolerance`` (RMS relative error, default
1 %), else trains the plain additive-readout network (``none``): on jetson-tx2 the opsum base
(Spearman 0.83) made the gcn worse (0.973 against 0.976 without it).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.predictors.base import register
from hwnas.predictors.graph_model import GraphPredictor, check_graph_targets
from hwnas.predictors.onnx_graph import FEATURE_NAMES, OP_VOCAB, OnnxGraph
from hwnas.predictors.torch_utils import numpy_to_state, seeded, state_to_numpy, train_loop

READOUTS = ("additive", "mean", "sum")
BASES = ("auto", "none", "opsum")


def _net(n_in: int, hidden: int, layers: int, readout: str, dropout: float):
    import torch
    from torch import nn

    class GCNNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(n_in, hidden)
            self.w_in = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers))
            self.w_out = nn.ModuleList(nn.Linear(hidden, hidden, bias=False) for _ in range(layers))
            self.drop = nn.Dropout(dropout)
            self.head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))
            self.offset = nn.Parameter(torch.zeros(1))  # log-scale of the additive readout

        def forward(self, x, a_in, a_out, batch, n_graphs: int):
            h = torch.relu(self.embed(x))
            for w_in, w_out in zip(self.w_in, self.w_out):
                msg = torch.sparse.mm(a_in, w_in(h)) + torch.sparse.mm(a_out, w_out(h))
                h = h + self.drop(torch.relu(msg))
            if readout == "additive":
                contrib = nn.functional.softplus(self.head(h).squeeze(-1))
                total = torch.zeros(n_graphs, dtype=h.dtype).index_add_(0, batch, contrib)
                return torch.log(total + 1e-12) + self.offset
            pooled = torch.zeros(n_graphs, h.shape[1], dtype=h.dtype).index_add_(0, batch, h)
            if readout == "mean":
                counts = torch.zeros(n_graphs, dtype=h.dtype).index_add_(0, batch, torch.ones_like(batch, dtype=h.dtype))
                pooled = pooled / counts.clamp(min=1).unsqueeze(-1)
            return self.head(pooled).squeeze(-1)

    return GCNNet()


def _floored_log(cost: np.ndarray, floor: float) -> np.ndarray:
    """log of a base cost floored at ``floor`` (so a zero base cost stays finite)."""
    return np.log(np.maximum(cost, floor))


def _prefix(member: int) -> str:
    """Array-name prefix of ensemble member ``member`` in weights.npz (member 0 as a single model)."""
    return "net." if member == 0 else f"net{member}."


def degree_features(g: OnnxGraph) -> np.ndarray:
    """[n, 2] float32: log1p of each node's number of producers and of consumers. The averaging
    adjacency cannot count neighbours; these can -- e.g. an ``AveragePool`` that the exporter's
    common-subexpression elimination merged from two cell edges has two consumers, and a device
    runs (and charges) both."""
    n = g.num_nodes
    indeg = np.bincount(g.edges[1], minlength=n) if g.num_edges else np.zeros(n)
    outdeg = np.bincount(g.edges[0], minlength=n) if g.num_edges else np.zeros(n)
    return np.log1p(np.stack([indeg, outdeg], axis=1)).astype(np.float32)


def _norm_adj(src: np.ndarray, dst: np.ndarray, n: int):
    """Row-normalised adjacency with self loops: row v averages over {u: u->v} and v itself."""
    import torch

    loops = np.arange(n, dtype=np.int64)
    rows = np.concatenate([dst, loops])
    cols = np.concatenate([src, loops])
    deg = np.bincount(rows, minlength=n).astype(np.float32)
    vals = 1.0 / deg[rows]
    return torch.sparse_coo_tensor(torch.as_tensor(np.stack([rows, cols])), torch.as_tensor(vals), (n, n),
                                   check_invariants=False).coalesce()


@register("gcn", aliases=("brp-gcn",))
class GCNPredictor(GraphPredictor):
    description = "BRP-NAS-style GCN on the exported ONNX graph (op type + shape features), log-cost"
    inputs = "ONNX graph (any CNN)"
    defaults = {"hidden": 96, "layers": 4, "readout": "additive", "dropout": 0.0, "epochs": 250,
                "batch_size": 32, "lr": 2e-3, "weight_decay": 1e-4, "opset": 17, "degree_features": False,
                "ensemble": 1, "base": "auto", "base_tolerance": 0.01, "operand_order": True}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.hparams["base"] not in BASES:
            raise HwnasUsageError(f"gcn base must be one of {', '.join(BASES)}, not {self.hparams['base']!r}")
        if self.hparams["readout"] not in READOUTS:
            raise HwnasUsageError(f"gcn readout must be one of {', '.join(READOUTS)}, not {self.hparams['readout']!r}")
        if not float(self.hparams["base_tolerance"]) >= 0:
            raise HwnasUsageError(f"gcn base_tolerance must be >= 0, not {self.hparams['base_tolerance']!r}")
        if int(self.hparams["ensemble"]) < 1:
            raise HwnasUsageError(f"gcn ensemble must be at least 1 (members), not {self.hparams['ensemble']}")
        self.vocab: tuple[str, ...] = OP_VOCAB
        # graph features the network reads: all, or all but operand_slot (operand_order=False)
        self.columns = np.array([name != "operand_slot" or bool(self.hparams["operand_order"])
                                 for name in FEATURE_NAMES])
        self.base_model = None  # the fitted OpSumPredictor when the network learns a correction to it

    def _encode(self, g: OnnxGraph) -> np.ndarray:
        index = {op: i for i, op in enumerate(self.vocab)}
        kinds, inverse = np.unique(g.op_types, return_inverse=True)
        ops = np.array([index.get(str(op), len(self.vocab)) for op in kinds], dtype=np.int64)[inverse.reshape(-1)]
        onehot = np.zeros((g.num_nodes, len(self.vocab) + 1), dtype=np.float32)
        onehot[np.arange(g.num_nodes), ops] = 1.0
        feats = (g.features[:, self.columns] - self.feat_mean) / self.feat_std
        parts = [onehot, feats.astype(np.float32)]
        if self.hparams["degree_features"]:
            parts.append(degree_features(g))
        return np.hstack(parts)

    def _collate(self, encoded: list[np.ndarray], graphs: list[OnnxGraph]):
        import torch

        sizes = np.array([g.num_nodes for g in graphs], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        n = int(sizes.sum())
        src = np.concatenate([g.edges[0] + o for g, o in zip(graphs, offsets)]) if graphs else np.zeros(0, np.int64)
        dst = np.concatenate([g.edges[1] + o for g, o in zip(graphs, offsets)]) if graphs else np.zeros(0, np.int64)
        x = torch.as_tensor(np.concatenate(encoded))
        batch = torch.as_tensor(np.repeat(np.arange(len(graphs)), sizes))
        return x, _norm_adj(src, dst, n), _norm_adj(dst, src, n), batch, len(graphs)

    # --- Predictor ---------------------------------------------------------------------------
    @property
    def _readout(self) -> str:
        """On a base the network predicts a log-correction, not a cost: a pooled head, not a sum."""
        return "mean" if self.base_model is not None and self.hparams["readout"] == "additive" \
            else str(self.hparams["readout"])

    def _build(self):
        import torch

        h = self.hparams
        n_in = len(self.vocab) + 1 + int(self.columns.sum()) + (2 if h["degree_features"] else 0)
        net = _net(n_in, int(h["hidden"]), int(h["layers"]), self._readout, float(h["dropout"]))
        if self.base_model is not None:  # start at the base: a zero correction
            with torch.no_grad():
                net.head[-1].weight.zero_()
                net.head[-1].bias.zero_()
        return net

    def _log_base(self, graphs: Sequence[OnnxGraph]) -> np.ndarray:
        """log of the base model's cost of each graph (0 without a base); floored at 1e-6 of the
        smallest training cost so a zero base stays finite."""
        if self.base_model is None:
            return np.zeros(len(graphs))
        return _floored_log(self.base_model.predict_graphs(graphs), self.base_floor)

    def fit_graphs(self, graphs: Sequence[OnnxGraph], targets) -> "GCNPredictor":
        """Fit on graphs (e.g. of any ONNX CNNs) and their positive costs."""
        import torch

        from hwnas.predictors.opsum import OpSumPredictor

        y = check_graph_targets(graphs, targets)
        h = self.hparams
        graphs = list(graphs)
        self.base_model, self.base_floor, self.base_fit_rms = None, 0.0, None
        logy = np.log(y)
        if h["base"] != "none":
            base = OpSumPredictor(self.space, self.dataset, self.seed).fit_graphs(graphs, y)
            base_cost = base.predict_graphs(graphs)
            self.base_fit_rms = float(np.sqrt(np.mean((base_cost / y - 1) ** 2)))
            if h["base"] == "opsum" or self.base_fit_rms <= float(h["base_tolerance"]):
                self.base_model, self.base_floor = base, 1e-6 * float(y.min())
                logy = logy - _floored_log(base_cost, self.base_floor)
        allf = np.concatenate([g.features[:, self.columns] for g in graphs]).astype(np.float64)
        self.feat_mean = allf.mean(axis=0).astype(np.float32)
        std = allf.std(axis=0)
        self.feat_std = np.where(std > 1e-6, std, 1.0).astype(np.float32)
        encoded = [self._encode(g) for g in graphs]
        additive = self._readout == "additive"
        # On a base the correction is not standardised: it starts (and on an exact base stays) at 0.
        plain = additive or self.base_model is not None
        self.y_mean, self.y_std = (0.0, 1.0) if plain else (float(logy.mean()), float(logy.std() or 1.0))
        target = torch.as_tensor(((logy - self.y_mean) / self.y_std).astype(np.float32))
        self.nets, self.history = [], []
        for member in range(int(h["ensemble"])):  # member k: seed + k for init and shuffling
            member_seed = self.seed + member
            with seeded(member_seed):
                net = self._build()
                if additive:  # start at the right scale: offset = mean log y - mean initial log-sum
                    with torch.no_grad():
                        first = list(range(min(len(graphs), 64)))
                        out = net(*self._collate([encoded[i] for i in first], [graphs[i] for i in first]))
                        net.offset.fill_(float(logy.mean() - out.mean()))
                net.train()

                def step(idx, net=net):
                    out = net(*self._collate([encoded[i] for i in idx], [graphs[i] for i in idx]))
                    return torch.nn.functional.mse_loss(out, target[idx])

                self.history.append(train_loop(net.parameters(), len(graphs), int(h["batch_size"]),
                                               int(h["epochs"]), float(h["lr"]), float(h["weight_decay"]),
                                               member_seed, step))
            net.eval()
            self.nets.append(net)
        self.fitted = True
        return self

    def predict_graphs(self, graphs: Sequence[OnnxGraph], batch_size: int = 256) -> np.ndarray:
        """Predicted cost of each graph: the geometric mean over the ensemble."""
        import torch

        self._check_fitted()
        graphs = list(graphs)
        out = np.empty(len(graphs), dtype=np.float64)
        with torch.no_grad():
            for start in range(0, len(graphs), batch_size):
                part = graphs[start:start + batch_size]
                inputs = self._collate([self._encode(g) for g in part], part)
                pred = torch.stack([net(*inputs) for net in self.nets]).double().mean(dim=0)  # geometric mean
                out[start:start + len(part)] = pred.numpy()
        return np.exp(out * self.y_std + self.y_mean + self._log_base(graphs))

    def _state(self) -> dict[str, np.ndarray]:
        members = {k: v for i, net in enumerate(self.nets) for k, v in state_to_numpy(net, _prefix(i)).items()}
        base = {}
        if self.base_model is not None:
            base = {f"base.{k}": v for k, v in self.base_model._state().items()}
            base["base_floor"] = np.array([self.base_floor])
        return {**members, **base, "feat_mean": self.feat_mean, "feat_std": self.feat_std,
                "y_norm": np.array([self.y_mean, self.y_std]), "op_vocab": np.array(self.vocab, dtype=str),
                "feature_names": np.array(FEATURE_NAMES, dtype=str)}

    def _set_state(self, arrays) -> None:
        names = tuple(str(v) for v in np.asarray(arrays["feature_names"]))
        if names != FEATURE_NAMES:
            raise ValueError(f"saved with graph features {names}, this hwnas makes {FEATURE_NAMES}")
        self.vocab = tuple(str(v) for v in np.asarray(arrays["op_vocab"]))
        self.base_model, self.base_floor = None, 0.0
        if "base_floor" in arrays:  # trained on an opsum base
            from hwnas.predictors.opsum import OpSumPredictor

            self.base_model = OpSumPredictor(self.space, self.dataset, self.seed)
            self.base_model._set_state({k[len("base."):]: v for k, v in arrays.items() if k.startswith("base.")})
            self.base_model.fitted = True
            self.base_floor = float(np.asarray(arrays["base_floor"]).reshape(-1)[0])
        self.nets = []
        for i in range(int(self.hparams["ensemble"])):
            net = self._build()
            numpy_to_state(net, arrays, _prefix(i))
            net.eval()
            self.nets.append(net)
        self.feat_mean = np.asarray(arrays["feat_mean"], dtype=np.float32).reshape(int(self.columns.sum()))
        self.feat_std = np.asarray(arrays["feat_std"], dtype=np.float32).reshape(int(self.columns.sum()))
        self.y_mean, self.y_std = (float(v) for v in np.asarray(arrays["y_norm"], dtype=np.float64))
