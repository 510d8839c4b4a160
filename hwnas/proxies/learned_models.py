"""The two models of a learned proxy, as plain arrays (no pickles): a tree ensemble fitted with
scikit-learn and evaluated here with numpy (`TreeEnsemble`), and a small ParZC network in torch
(`ParZC`, weights in an npz).

Both map a feature matrix (`hwnas.proxies.learned_features`) to a predicted test accuracy (%),
larger = better; a learned proxy uses that prediction as its score.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

FOREST_KINDS = ("extra_trees", "random_forest", "hist_gradient_boosting")
# measured best of the three on NB201 at every label count (bench/learned_proxy.py, docs/proxies.md)
DEFAULT_FOREST = "extra_trees"


# ---------------------------------------------------------------- tree ensembles (numpy) ----
@dataclass(frozen=True)
class TreeEnsemble:
    """Every tree of a fitted ensemble as concatenated node arrays; tree t owns nodes
    ``offsets[t]:offsets[t + 1]`` and its root is ``offsets[t]``. A node is a leaf where ``left``
    is -1; else a row goes to ``left`` when ``x[feature] <= threshold`` (NaN: ``missing_left``),
    to ``right`` otherwise (global node ids). Prediction: ``baseline + combine(leaf values)``
    with ``combine`` "mean" (random forest) or "sum" (gradient boosting). ``input_dtype``: the
    dtype rows are cast to before comparing (scikit-learn's trees compare float32 inputs)."""

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    missing_left: np.ndarray
    offsets: np.ndarray
    combine: str
    baseline: float
    input_dtype: str

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"feature": self.feature, "threshold": self.threshold, "left": self.left, "right": self.right,
                "value": self.value, "missing_left": self.missing_left, "offsets": self.offsets}

    def config(self) -> dict[str, Any]:
        return {"combine": self.combine, "baseline": self.baseline, "input_dtype": self.input_dtype,
                "trees": int(self.offsets.size - 1), "nodes": int(self.feature.size)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, Any]) -> "TreeEnsemble":
        return cls(arrays["feature"].astype(np.int64), arrays["threshold"].astype(np.float64),
                   arrays["left"].astype(np.int64), arrays["right"].astype(np.int64),
                   arrays["value"].astype(np.float64), arrays["missing_left"].astype(bool),
                   arrays["offsets"].astype(np.int64), str(config["combine"]), float(config["baseline"]),
                   str(config["input_dtype"]))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted accuracy (%) of each row of ``X`` [n, features]."""
        x = np.asarray(X, dtype=np.float64).astype(self.input_dtype).astype(np.float64)
        n, trees = x.shape[0], self.offsets.size - 1
        node = np.repeat(self.offsets[:-1][None, :], n, axis=0)  # [n, trees]
        rows = np.repeat(np.arange(n)[:, None], trees, axis=1)
        active = self.left[node] >= 0
        while active.any():
            nd, rw = node[active], rows[active]
            v = x[rw, self.feature[nd]]
            go_left = np.where(np.isnan(v), self.missing_left[nd], v <= self.threshold[nd])
            node[active] = np.where(go_left, self.left[nd], self.right[nd])
            active = self.left[node] >= 0
        leaves = self.value[node]
        total = np.zeros(n)
        for t in range(trees):  # a fixed summation order: same result wherever it runs
            total += leaves[:, t]
        return self.baseline + (total / trees if self.combine == "mean" else total)


def _from_sklearn_trees(trees: list, combine: str, baseline: float) -> TreeEnsemble:
    """`TreeEnsemble` of scikit-learn ``tree_`` objects (random forest / gradient boosting)."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right", "value", "miss")}
    offsets = [0]
    for t in trees:
        base = offsets[-1]
        leaf = t.children_left < 0
        parts["feature"].append(np.where(leaf, 0, t.feature).astype(np.int64))
        parts["threshold"].append(np.where(leaf, 0.0, t.threshold).astype(np.float64))
        parts["left"].append(np.where(leaf, -1, t.children_left + base).astype(np.int64))
        parts["right"].append(np.where(leaf, -1, t.children_right + base).astype(np.int64))
        parts["value"].append(t.value.reshape(t.node_count, -1)[:, 0].astype(np.float64))
        miss = getattr(t, "missing_go_to_left", None)
        parts["miss"].append(np.zeros(t.node_count, bool) if miss is None else np.asarray(miss, bool))
        offsets.append(base + t.node_count)
    return TreeEnsemble(*(np.concatenate(parts[k]) for k in ("feature", "threshold", "left", "right", "value", "miss")),
                        np.asarray(offsets, dtype=np.int64), combine, float(baseline), "float32")


def _from_hist_gradient_boosting(est) -> TreeEnsemble:
    """`TreeEnsemble` of a fitted `HistGradientBoostingRegressor` (its predictor node arrays;
    leaf values already carry the learning rate)."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right", "value", "miss")}
    offsets = [0]
    for (pred,) in est._predictors:
        nodes = pred.nodes
        base = offsets[-1]
        leaf = nodes["is_leaf"].astype(bool)
        parts["feature"].append(np.where(leaf, 0, nodes["feature_idx"]).astype(np.int64))
        parts["threshold"].append(np.where(leaf, 0.0, nodes["num_threshold"]).astype(np.float64))
        parts["left"].append(np.where(leaf, -1, nodes["left"].astype(np.int64) + base))
        parts["right"].append(np.where(leaf, -1, nodes["right"].astype(np.int64) + base))
        parts["value"].append(np.where(leaf, nodes["value"], 0.0).astype(np.float64))
        parts["miss"].append(nodes["missing_go_to_left"].astype(bool))
        offsets.append(base + nodes.size)
    baseline = float(np.asarray(est._baseline_prediction).reshape(-1)[0])
    return TreeEnsemble(*(np.concatenate(parts[k]) for k in ("feature", "threshold", "left", "right", "value", "miss")),
                        np.asarray(offsets, dtype=np.int64), "sum", baseline, "float64")


def fit_forest(X: np.ndarray, y: np.ndarray, seed: int, kind: str = DEFAULT_FOREST) -> tuple[TreeEnsemble, dict]:
    """Fit a scikit-learn tree ensemble on features ``X`` [n, f] and accuracies ``y`` (%) and
    return it as a `TreeEnsemble` with its hyper-parameters. ``kind``: ``extra_trees`` (default:
    300 extremely randomised trees, half the features per split), ``random_forest`` (300 trees,
    a third of the features per split), both single-threaded with ``random_state=seed``, or
    ``hist_gradient_boosting`` (300 iterations, learning rate 0.05, ``random_state=seed``).
    Deterministic for a given seed."""
    if kind == "extra_trees":
        from sklearn.ensemble import ExtraTreesRegressor

        params = {"n_estimators": 300, "max_features": 0.5, "min_samples_leaf": 1, "bootstrap": False}
        est = ExtraTreesRegressor(**params, random_state=int(seed), n_jobs=1).fit(X, y)
        model = _from_sklearn_trees([e.tree_ for e in est.estimators_], "mean", 0.0)
    elif kind == "random_forest":
        from sklearn.ensemble import RandomForestRegressor

        params = {"n_estimators": 300, "max_features": 0.33, "min_samples_leaf": 1, "bootstrap": True}
        est = RandomForestRegressor(**params, random_state=int(seed), n_jobs=1).fit(X, y)
        model = _from_sklearn_trees([e.tree_ for e in est.estimators_], "mean", 0.0)
    elif kind == "hist_gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingRegressor

        params = {"max_iter": 300, "learning_rate": 0.05, "early_stopping": False}
        est = HistGradientBoostingRegressor(**params, random_state=int(seed)).fit(X, y)
        model = _from_hist_gradient_boosting(est)
    else:
        raise ValueError(f"unknown forest kind {kind!r}; use one of {FOREST_KINDS}")
    return model, {"kind": kind, "sklearn_params": params}


# ------------------------------------------------------------------------- ParZC (torch) ----
@dataclass(frozen=True)
class ParZCConfig:
    """Hyper-parameters of the small ParZC network (`ParZC`) and of its training.

    ``segments`` x ``segment_len``: the projected width split into S segments of length L
    (paper Sec. 3.3); ``blocks``: mixer blocks; ``alpha``: DiffKendall's sigmoid slope (paper:
    0.5) on predictions and on accuracies in percentage points; ``kl_weight``: weight of the
    Bayesian layers' KL term to an N(0, 1) prior (per training row); training: Adam
    (``lr``, ``weight_decay``), mini-batches of ``batch_size``, ``epochs`` passes but at most
    ``max_steps`` steps."""

    n_features: int
    segments: int = 8
    segment_len: int = 32
    blocks: int = 2
    dropout: float = 0.1
    alpha: float = 0.5
    kl_weight: float = 1e-3
    lr: float = 1e-3
    weight_decay: float = 1e-3
    batch_size: int = 64
    epochs: int = 200
    max_steps: int = 3000
    lower: tuple[float, ...] = field(default_factory=tuple)  # min-max encoding: training minimum per feature
    upper: tuple[float, ...] = field(default_factory=tuple)  # and maximum

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["lower"], d["upper"] = list(self.lower), list(self.upper)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ParZCConfig":
        d = dict(d)
        d["lower"], d["upper"] = tuple(float(v) for v in d["lower"]), tuple(float(v) for v in d["upper"])
        return cls(**d)


def min_max_encode(X: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """ParZC's min-max encoding (paper Sec. 3.2) per feature with the training rows' minimum and
    maximum (a constant feature encodes as 0); values outside the training range are clipped to
    [-1, 2] so an unusual architecture cannot blow the network up."""
    span = np.where(upper > lower, upper - lower, 1.0)
    return np.clip((np.asarray(X, dtype=np.float64) - lower) / span, -1.0, 2.0)


def _build_parzc(cfg: ParZCConfig):
    import torch
    import torch.nn.functional as F
    from torch import nn

    class BayesLinear(nn.Module):
        """y = x W^T + b with W = mu + softplus(rho) * eps (reparameterisation, paper Sec. 3.3);
        eps ~ N(0, I) while training, 0 in eval mode (the posterior mean: deterministic)."""

        def __init__(self, n_in: int, n_out: int) -> None:
            super().__init__()
            self.mu = nn.Parameter(torch.empty(n_out, n_in).uniform_(-1 / math.sqrt(n_in), 1 / math.sqrt(n_in)))
            self.rho = nn.Parameter(torch.full((n_out, n_in), -5.0))
            self.bias = nn.Parameter(torch.zeros(n_out))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            w = self.mu
            if self.training:
                w = w + F.softplus(self.rho) * torch.randn_like(self.mu)
            return F.linear(x, w, self.bias)

        def kl(self) -> torch.Tensor:
            sigma = F.softplus(self.rho)
            return 0.5 * torch.sum(sigma**2 + self.mu**2 - 1.0 - 2.0 * torch.log(sigma))

    class MixerBlock(nn.Module):
        """Segment mixing (LayerNorm, FFN across the S segments, residual), then a Linear-ReLU-
        Dropout FFN within each segment (residual)."""

        def __init__(self, s: int, l: int, p: float) -> None:
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(l), nn.LayerNorm(l)
            self.seg = nn.Sequential(nn.Linear(s, 2 * s), nn.ReLU(), nn.Dropout(p), nn.Linear(2 * s, s))
            self.tok = nn.Sequential(nn.Linear(l, 2 * l), nn.ReLU(), nn.Dropout(p), nn.Linear(2 * l, l))

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, S, L]
            x = x + self.seg(self.norm1(x).transpose(1, 2)).transpose(1, 2)
            return x + self.tok(self.norm2(x))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(cfg.n_features, cfg.segments * cfg.segment_len)
            self.bayes_in = BayesLinear(cfg.segment_len, cfg.segment_len)
            self.blocks = nn.ModuleList(MixerBlock(cfg.segments, cfg.segment_len, cfg.dropout)
                                        for _ in range(cfg.blocks))
            self.bayes_out = BayesLinear(cfg.segments, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.proj(x).view(-1, cfg.segments, cfg.segment_len)
            h = self.bayes_in(h)
            for b in self.blocks:
                h = b(h)
            return self.bayes_out(h.mean(dim=2)).squeeze(-1)  # pool over L, then the Bayesian head

        def kl(self) -> torch.Tensor:
            return self.bayes_in.kl() + self.bayes_out.kl()

    return Net()


def diff_kendall(pred, target, alpha: float):
    """DiffKendall (paper Sec. 3.4): the mean over pairs i < j of
    sigma_a(pred_i - pred_j) * sigma_a(target_i - target_j), sigma_a(d) = sigmoid(a d) -
    sigmoid(-a d); a differentiable Kendall tau (maximise it: the loss is its negative)."""
    import torch

    dp = pred[:, None] - pred[None, :]
    dt = target[:, None] - target[None, :]
    sp = torch.sigmoid(alpha * dp) - torch.sigmoid(-alpha * dp)
    st = torch.sigmoid(alpha * dt) - torch.sigmoid(-alpha * dt)
    n = pred.shape[0]
    iu = torch.triu_indices(n, n, offset=1)
    return (sp * st)[iu[0], iu[1]].mean()


@dataclass
class ParZC:
    """A fitted ParZC network: its config and weights (name -> float32 array)."""

    config: ParZCConfig
    weights: dict[str, np.ndarray]

    def to_arrays(self) -> dict[str, np.ndarray]:
        return dict(self.weights)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Score of each row of ``X`` (features, not encoded): the network's output with the
        posterior-mean weights (eval mode: no sampling, no dropout), larger = better. Trained on
        ranks (DiffKendall), so the score is an accuracy on no particular scale."""
        import torch

        net = _build_parzc(self.config)
        net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in self.weights.items()})
        net.eval()
        x = min_max_encode(X, np.asarray(self.config.lower), np.asarray(self.config.upper))
        out = []
        with torch.no_grad():
            for i in range(0, x.shape[0], 4096):
                out.append(net(torch.from_numpy(x[i:i + 4096].astype(np.float32))).double().numpy())
        return np.concatenate(out) if out else np.zeros(0)


def fit_parzc(X: np.ndarray, y: np.ndarray, seed: int, progress: bool = False, **overrides: Any) -> ParZC:
    """Train `ParZC` on features ``X`` [n, f] and accuracies ``y`` (%) with the DiffKendall loss
    (minus the approximate tau, plus ``kl_weight`` x the Bayesian layers' KL per row), Adam.
    Deterministic for a given seed on one machine and thread count: the torch RNG is forked and
    seeded, mini-batches come from ``numpy.random.default_rng(seed)``."""
    import torch

    from hwnas.progress import progress_bar

    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    cfg = ParZCConfig(n_features=X.shape[1], lower=tuple(X.min(axis=0)), upper=tuple(X.max(axis=0)), **overrides)
    x = torch.from_numpy(min_max_encode(X, np.asarray(cfg.lower), np.asarray(cfg.upper)).astype(np.float32))
    t = torch.from_numpy(y.astype(np.float32))
    n = x.shape[0]
    bs = min(cfg.batch_size, n)
    per_epoch = max(1, math.ceil(n / bs))
    steps = min(cfg.max_steps, cfg.epochs * per_epoch)
    rng = np.random.default_rng(int(seed))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        net = _build_parzc(cfg)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        net.train()
        step = 0
        with progress_bar(progress) as bar:
            task = bar.add_task("ParZC training", total=steps, status="")
            while step < steps:
                order = rng.permutation(n)
                for i in range(0, n, bs):
                    idx = torch.from_numpy(order[i:i + bs])
                    if idx.numel() < 2:
                        continue
                    tau = diff_kendall(net(x[idx]), t[idx], cfg.alpha)
                    loss = -tau + cfg.kl_weight * net.kl() / n
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    step += 1
                    bar.update(task, advance=1, status=f"soft tau {float(tau.detach()):.3f}")
                    if step >= steps:
                        break
    weights = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    return ParZC(cfg, weights)
