"""``kernel``: an nn-Meter-style kernel-level latency predictor on the exported ONNX graph.

nn-Meter (Zhang et al., MobiSys 2021) splits a model into the kernels a runtime executes (after
operator fusion), predicts each kernel's latency with a per-kernel-type random forest on its
configuration, and sums. This model does the same:

1. **kernel detection** (`hwnas.predictors.kernel_split`): the ONNX graph becomes a
   ``networkx`` graph, fusion chains declared per device in ``hwnas/_data/kernel_rules/*.json``
   (conv+bn+relu, dwconv+bn+relu, add+relu, gemm, pooling, ...; BN folded into the Conv or not)
   claim its ops; each kernel gets a configuration (type, H, W, Cin, Cout, kernel, stride,
   groups, FLOPs, bytes in/out/weights, fan-in/out, liveness flags);
2. **per-kernel-type regressors** (scikit-learn random forests by default, or gradient boosting,
   or extra trees: option ``regressor``) on the kernel configuration, plus a per-device constant
   overhead: ``cost = overhead + sum_kernels f_type(config)``.

**What differs from nn-Meter, honestly:** nn-Meter trains each kernel regressor on *kernel-level
measurements* (thousands of sampled kernel configurations run one by one on the device). Here
only whole-network measurements exist (HW-NAS-Bench, HELP, ...), so the per-kernel targets are
*inferred*:

a. an additive fit with one non-negative latency per distinct (kernel type, configuration) and
   an intercept, by NNLS on the relative error of the network totals (option ``init=config``,
   default; small ridge ``alpha``). NAS-Bench-201 networks reuse a few hundred distinct kernel
   configurations, so this is well posed there. With more than ``max_configs`` distinct
   configurations (or ``init=linear``) it is instead a per-type linear model in (count, FLOPs,
   activation bytes, weight bytes), separately for live and dead kernels, as ``opsum`` fits per
   ONNX op, and each network's latency minus the intercept is split over its kernels in
   proportion to their linear estimates. Either way: the initial per-kernel targets.
   Default (``two_level``): the per-configuration fit in two levels -- one non-negative value
   per distinct full configuration, shrunk (ridge ``context_alpha``) towards one non-negative
   base value per distinct configuration *without* the graph-context features (fan-in/out,
   consumers of its inputs, operand slot), by bounded least squares; each type then has a base
   regressor (base values, on the configuration without context) and a context regressor (the
   deviation of the full value from its base, on the full configuration). A test configuration
   never seen in training gets its own base value plus a neighbour's deviation instead of a
   neighbour's whole value (NB201, 900 train / 2,000 test archs, vs one level: eyeriss +-10 %
   99.6 -> 100 %, raspi4 Spearman 0.9489 -> 0.9500, jetson-tx2 0.9759 -> 0.9760);
b. each type's regressor is fitted to those targets on the kernels' configurations (rows with
   identical configurations merged, weights 1/latency^2 so that the fit is on relative error;
   no bootstrap by default: scikit-learn draws weighted bootstrap samples in proportion to the
   weights, which the rows of near-zero-latency networks would dominate). On configurations seen
   in training the trees return the step-a values; the trees matter for unseen ones;
c. optionally (``rounds``, default 0; not with ``two_level``) back-fitting rounds: for each type in turn, a network's
   target for its kernels of that type is its latency minus the overhead and the other
   kernels' current predictions, split over them in proportion to their current predictions;
   the type's regressor is refitted; the overhead is re-estimated (weighted mean residual).
   After the linear init they made NB201 raspi4 worse (train +-10 % fell from 56 % to 43 % over
   three rounds); after the per-configuration fit they have nothing to correct on configurations
   seen in training. Hence off by default.

The model is therefore additive in kernels: it cannot represent effects between kernels beyond
what a kernel's own configuration records (fan-in/out, the consumers of the tensors it reads,
liveness). The split of a network's latency among its kernels is not identifiable beyond what
the additive structure implies: the per-kernel values are a decomposition that sums right, not
measured kernel latencies. A kernel type never seen in training is priced by a regressor fitted
on all kernels (type-agnostic); `last_unseen` counts such kernels in the latest prediction.

Saved as JSON + npz: every tree exported from scikit-learn's ``tree_`` arrays
(`hwnas.predictors.kernel_trees`) and evaluated with numpy; the fusion rules' text is stored with
the weights, so a loaded model splits graphs as it did in training. No pickles.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.predictors.base import register
from hwnas.predictors.graph_model import GraphPredictor, check_graph_targets
from hwnas.predictors.kernel_split import (KERNEL_FEATURES, KernelRules, KernelSplit, load_rules, parse_rules,
                                           rules_for_device, split_kernels)
from hwnas.predictors.kernel_trees import TreeEnsemble
from hwnas.predictors.onnx_graph import OnnxGraph

REGRESSORS = ("rf", "gbr", "extra")
ANY = "__any__"  # the type-agnostic regressor for kernel types not seen in training
CTX = "|context"  # suffix of a type's context regressor (option two_level)
_LINEAR = ("count", "flops", "act_bytes", "weight_bytes")
_PREDICT_CHUNK = 1000
# kernel features that describe the kernel's place in its graph: they differ between a block
# measured alone and the same block inside a network (option context=false drops them)
CONTEXT_FEATURES = ("fan_in", "fan_out", "in_fan_out", "operand_slot")  # graphs split and priced at a time (bounds memory)


def _nnls_relative(design: np.ndarray, y: np.ndarray, scale_y: np.ndarray, alpha: float = 0.0) -> np.ndarray:
    """Non-negative coefficients minimising sum(((design @ c) - y) / scale_y)^2 + alpha |c'|^2 (c'
    the coefficients of the max-abs-scaled columns); ``scale_y`` = y except where y is 0 (a block
    that costs nothing in its table)."""
    from scipy.optimize import nnls

    scale = np.abs(design).max(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    a = (design / scale) / scale_y[:, None]
    b = y / scale_y
    if alpha > 0:
        a = np.vstack([a, np.sqrt(alpha) * np.eye(design.shape[1])])
        b = np.concatenate([b, np.zeros(design.shape[1])])
    coef, _ = nnls(a, b, maxiter=50 * design.shape[1])
    return coef / scale


@register("kernel", aliases=("nn-meter-style", "kernels"))
class KernelPredictor(GraphPredictor):
    description = ("nn-Meter-style: ONNX graph split into fused kernels (rules per device), a tree "
                   "regressor per kernel type, summed plus an overhead")
    inputs = "ONNX graph (any CNN), split into kernels"
    defaults = {"rules": "auto", "rules_device": "", "regressor": "rf", "n_estimators": 50, "max_depth": 0,
                "min_samples_leaf": 1, "max_features": 0.5, "bootstrap": False, "learning_rate": 0.1, "init": "config",
                "context": True, "two_level": True, "context_alpha": 1e-2, "max_configs": 4000, "alpha": 1e-4,
                "rounds": 0, "opset": 17}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        h = self.hparams
        if h["regressor"] not in REGRESSORS:
            raise HwnasUsageError(f"kernel regressor must be one of {', '.join(REGRESSORS)}, not {h['regressor']!r}")
        if h["init"] not in ("config", "linear"):
            raise HwnasUsageError(f"kernel init must be 'config' or 'linear', not {h['init']!r}")
        if h["n_estimators"] < 1 or h["rounds"] < 0 or h["min_samples_leaf"] < 1 or h["max_depth"] < 0 \
                or not 0 < h["max_features"] <= 1 or not h["learning_rate"] > 0:
            raise HwnasUsageError("kernel options: n_estimators >= 1, rounds >= 0, min_samples_leaf >= 1, "
                                  "max_depth >= 0 (0: unlimited), 0 < max_features <= 1, learning_rate > 0")
        self.rules: KernelRules = (rules_for_device(h["rules_device"] or None) if h["rules"] == "auto"
                                   else load_rules(str(h["rules"])))
        self.type_names: tuple[str, ...] = ()
        self.models: dict[str, TreeEnsemble] = {}
        self.overhead = 0.0
        self.history: list[dict[str, float]] = []
        self.last_unseen = 0
        self._yw = np.zeros(0)

    # --- kernels ------------------------------------------------------------------------------------
    def split(self, g: OnnxGraph) -> KernelSplit:
        """The kernels of one graph under this predictor's fusion rules."""
        return split_kernels(g, self.rules)

    def split_onnx(self, model) -> KernelSplit:
        """The kernels of an ONNX model (ModelProto, bytes or path)."""
        from hwnas.predictors.onnx_graph import graph_from_onnx

        return self.split(graph_from_onnx(model))

    def _stack(self, splits: Sequence[KernelSplit]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        net = np.concatenate([np.full(s.num_kernels, i, dtype=np.int64) for i, s in enumerate(splits)] or
                             [np.zeros(0, dtype=np.int64)])
        types = np.concatenate([s.types for s in splits] or [np.zeros(0, dtype=str)]).astype(str)
        x = np.vstack([s.features for s in splits] or [np.zeros((0, len(KERNEL_FEATURES)))])
        if not self.hparams["context"]:  # a kernel described by itself alone, not by its neighbours
            x = x.copy()
            x[:, [KERNEL_FEATURES.index(f) for f in CONTEXT_FEATURES]] = 0.0
        return net, types, x

    # --- fitting --------------------------------------------------------------------------------------
    def _regressor(self):
        from sklearn.ensemble import ExtraTreesRegressor, GradientBoostingRegressor, RandomForestRegressor

        h = self.hparams
        depth = int(h["max_depth"]) or None
        common = dict(n_estimators=int(h["n_estimators"]), max_depth=depth, min_samples_leaf=int(h["min_samples_leaf"]),
                      max_features=float(h["max_features"]), random_state=self.seed)
        if h["regressor"] == "gbr":
            return GradientBoostingRegressor(learning_rate=float(h["learning_rate"]), subsample=1.0, **common)
        if h["regressor"] == "extra":
            return ExtraTreesRegressor(n_jobs=1, bootstrap=bool(h["bootstrap"]), **common)
        return RandomForestRegressor(n_jobs=1, bootstrap=bool(h["bootstrap"]), **common)

    def _fit_one(self, x: np.ndarray, target: np.ndarray, weight: np.ndarray) -> TreeEnsemble:
        """A regressor on kernel rows, rows with identical configurations merged (weighted mean target)."""
        uniq, inv = np.unique(x, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        w = np.bincount(inv, weights=weight, minlength=len(uniq))
        t = np.bincount(inv, weights=weight * target, minlength=len(uniq)) / w
        if len(uniq) == 1:
            return TreeEnsemble.constant(float(t[0]))
        model = self._regressor()
        model.fit(uniq, t, sample_weight=w / w.mean())
        return TreeEnsemble.from_sklearn(model)

    def _additive_init(self, net, tid, x, y, nt, has_over) -> tuple[np.ndarray, float]:
        """Per-kernel linear estimates and the intercept of the NNLS additive fit (step a)."""
        col = {n: KERNEL_FEATURES.index(n) for n in KERNEL_FEATURES}
        phi = np.stack([np.ones(len(x)), x[:, col["flops"]], x[:, col["in_bytes"]] + x[:, col["out_bytes"]],
                        x[:, col["weight_bytes"]]], axis=1)
        dead = (x[:, col["live"]] < 0.5).astype(np.int64)
        width = len(_LINEAR)
        first = (tid * 2 + dead) * width  # column block of each kernel: (type, live/dead)
        design = np.zeros((y.size, nt * 2 * width + 1))
        for j in range(width):
            np.add.at(design, (net, first + j), phi[:, j])
        design[:, -1] = has_over
        w = _nnls_relative(design, y, self._yw)
        per_kernel = sum(phi[:, j] * w[first + j] for j in range(width))
        return per_kernel, float(w[-1])

    def _config_init(self, net, tid, x, y, has_over) -> tuple[np.ndarray, float] | None:
        """Per-kernel values and overhead of the additive fit with one non-negative value per
        distinct (type, configuration) (NNLS on the relative error, ridge ``alpha``); None where
        there are more than ``max_configs`` distinct configurations."""
        keys = np.hstack([tid[:, None].astype(np.float64), x])
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.reshape(-1)
        if len(uniq) > int(self.hparams["max_configs"]):
            return None
        design = np.zeros((y.size, len(uniq) + 1))
        np.add.at(design, (net, inv), 1.0)
        design[:, -1] = has_over
        w = _nnls_relative(design, y, self._yw, float(self.hparams["alpha"]))
        return w[inv], float(w[-1])

    @staticmethod
    def _without_context(x: np.ndarray) -> np.ndarray:
        x = x.copy()
        x[:, [KERNEL_FEATURES.index(f) for f in CONTEXT_FEATURES]] = 0.0
        return x

    def _two_level_init(self, net, tid, x, y, has_over):
        """(base values, context deviations, overhead): one non-negative value per distinct full
        (type, configuration), fitted to the networks (relative error), shrunk (``context_alpha``)
        towards one non-negative base value per distinct configuration without the context
        features; the deviation of a full value from its base has either sign, their sum is
        >= 0. None beyond ``max_configs``."""
        from scipy.optimize import lsq_linear

        t = tid[:, None].astype(np.float64)
        ub, inv_b = np.unique(np.hstack([t, self._without_context(x)]), axis=0, return_inverse=True)
        uf, inv_f = np.unique(np.hstack([t, x]), axis=0, return_inverse=True)
        inv_b, inv_f = inv_b.reshape(-1), inv_f.reshape(-1)
        nb, nf = len(ub), len(uf)
        if nb + nf > int(self.hparams["max_configs"]):
            return None
        # variables: base values b (nb), full-configuration values v (nf), overhead; all >= 0.
        # The networks see only v; ridge rows shrink each v towards the b of its configuration
        # without context (context_alpha) and b towards 0 (alpha), columns scaled by the most
        # kernels of that configuration in one network.
        counts = np.zeros((y.size, nf))
        np.add.at(counts, (net, inv_f), 1.0)
        scale_f = np.maximum(counts.max(axis=0), 1.0)
        base_of = np.zeros(nf, dtype=np.int64)
        base_of[inv_f] = inv_b
        scale_b = np.maximum(np.bincount(base_of, weights=scale_f, minlength=nb), 1.0)
        data = np.hstack([np.zeros((y.size, nb)), counts, has_over[:, None]]) / self._yw[:, None]
        ctx = np.zeros((nf, nb + nf + 1))
        ctx[np.arange(nf), nb + np.arange(nf)] = 1.0
        ctx[np.arange(nf), base_of] = -1.0
        ctx *= np.sqrt(float(self.hparams["context_alpha"])) * scale_f[:, None]
        ridge = np.zeros((nb, nb + nf + 1))
        ridge[np.arange(nb), np.arange(nb)] = np.sqrt(float(self.hparams["alpha"])) * scale_b
        a = np.vstack([data, ctx, ridge])
        b = np.concatenate([y / self._yw, np.zeros(nf + nb)])
        sol = lsq_linear(a, b, bounds=(0.0, np.inf), method="trf", lsmr_tol="auto")
        w = sol.x
        w = np.concatenate([w[:nb], w[nb:nb + nf] - w[:nb][base_of], w[-1:]])  # v -> deviation from its base
        return w[:nb][inv_b], w[nb:nb + nf][inv_f], float(w[-1])

    @staticmethod
    def _distribute(values: np.ndarray, net: np.ndarray, residual: np.ndarray, n: int) -> np.ndarray:
        """Split ``residual`` [networks] over kernels (``net`` gives each kernel's network) in
        proportion to ``values`` (equal shares where a network's values sum to 0)."""
        values = np.maximum(values, 0.0)
        total = np.bincount(net, weights=values, minlength=n)
        count = np.bincount(net, minlength=n).astype(np.float64)
        share = np.where(total[net] > 0, values / np.where(total[net] > 0, total[net], 1.0), 1.0 / np.maximum(count[net], 1))
        return share * residual[net]

    def fit_graphs(self, graphs: Sequence[OnnxGraph], targets, block_graphs: Sequence[OnnxGraph] = (),
                   block_targets=()) -> "KernelPredictor":
        """Fit on whole networks (``graphs``, ``targets``: overhead + sum of kernels) and, optionally,
        on measured blocks (``block_graphs``, ``block_targets``: sum of kernels, no overhead; see
        `hwnas.predictors.kernel_blocks`). Either may be empty, not both."""
        graphs, block_graphs = list(graphs), list(block_graphs)
        y_net = check_graph_targets(graphs, targets) if graphs else np.zeros(0)
        y_block = np.asarray(block_targets, dtype=np.float64).reshape(-1)
        if len(block_graphs) != y_block.size or not np.all(np.isfinite(y_block)) or np.any(y_block < 0) or \
                (y_block.size and not np.any(y_block > 0)):
            raise HwnasUsageError("block targets: one per block graph, finite, >= 0, not all 0")
        if not graphs and not block_graphs:
            raise HwnasUsageError("kernel predictor: nothing to fit (no networks, no blocks)")
        y = np.concatenate([y_net, y_block])
        has_over = np.concatenate([np.ones(y_net.size), np.zeros(y_block.size)])
        n = y.size
        net, types, x = self._stack([self.split(g) for g in [*graphs, *block_graphs]])
        names = tuple(sorted(set(types.tolist())))
        tid = np.searchsorted(np.array(names), types)
        # relative error; a block that costs 0 in its table is weighed like one a tenth of the cheapest
        self._yw = np.maximum(y, 0.1 * y[y > 0].min())
        weight = 1.0 / self._yw[net] ** 2
        # (a) additive fit -> initial per-kernel targets
        two = None
        if self.hparams["init"] == "config" and self.hparams["two_level"] and self.hparams["context"]:
            two = self._two_level_init(net, tid, x, y, has_over)
        init = None
        if two is None and self.hparams["init"] == "config":
            init = self._config_init(net, tid, x, y, has_over)
        self.init_used = "two-level" if two is not None else "config" if init is not None else "linear"
        if two is not None:
            return self._fit_two_level(names, net, tid, x, y, has_over, weight, *two)
        if init is not None:
            target, overhead = init
        else:
            linear, overhead = self._additive_init(net, tid, x, y, len(names), has_over)
            overhead = max(overhead, 0.0)
            target = self._distribute(linear, net, np.maximum(y - overhead * has_over, 0.0), n)
        # (b) one regressor per kernel type
        models: dict[str, TreeEnsemble] = {}
        pred = np.zeros(len(x))
        for k, name in enumerate(names):
            m = tid == k
            models[name] = self._fit_one(x[m], target[m], weight[m])
            pred[m] = models[name].predict(x[m])
        history = [self._record(0, self._yw, y, net, pred, overhead, has_over)]
        # (c) back-fitting rounds
        w = 1.0 / self._yw ** 2
        for r in range(int(self.hparams["rounds"])):
            for k, name in enumerate(names):
                m = tid == k
                others = np.bincount(net, weights=pred, minlength=n) - np.bincount(net[m], weights=pred[m], minlength=n)
                residual = np.maximum(y - overhead * has_over - others, 0.0)
                t = self._distribute(pred[m] + 1e-12, net[m], residual, n)
                models[name] = self._fit_one(x[m], t, weight[m])
                pred[m] = models[name].predict(x[m])
            total = np.bincount(net, weights=pred, minlength=n)
            if has_over.any():
                overhead = max(float(np.sum((w * (y - total))[has_over > 0]) / np.sum(w[has_over > 0])), 0.0)
            history.append(self._record(r + 1, self._yw, y, net, pred, overhead, has_over))
        # the type-agnostic regressor for kernel types not seen in training
        models[ANY] = self._fit_one(x, pred, weight)
        self.type_names, self.models, self.overhead, self.history = names, models, overhead, history
        self.fitted = True
        return self

    def _fit_two_level(self, names, net, tid, x, y, has_over, weight, base, dev, overhead) -> "KernelPredictor":
        """Per type a base regressor on the configuration without context and a context regressor
        on the full configuration, fitted to the two parts of `_two_level_init` (no rounds)."""
        xb = self._without_context(x)
        models: dict[str, TreeEnsemble] = {}
        pred = np.zeros(len(x))
        for k, name in enumerate(names):
            m = tid == k
            models[name] = self._fit_one(xb[m], base[m], weight[m])
            models[name + CTX] = self._fit_one(x[m], dev[m], weight[m])
            pred[m] = np.maximum(models[name].predict(xb[m]) + models[name + CTX].predict(x[m]), 0.0)
        models[ANY] = self._fit_one(x, pred, weight)
        self.type_names, self.models, self.overhead = names, models, max(overhead, 0.0)
        self.history = [self._record(0, self._yw, y, net, pred, self.overhead, has_over)]
        self.fitted = True
        return self

    @staticmethod
    def _record(round_: int, yw, y, net, pred, overhead, has_over) -> dict[str, float]:
        fit = overhead * has_over + np.bincount(net, weights=pred, minlength=y.size)
        rel = (fit - y) / yw
        out = {"round": round_, "overhead": round(overhead, 6)}
        for label, m in (("", has_over > 0), ("blocks_", has_over == 0)):
            if m.any():
                out[f"train_{label}rel_rmse"] = float(np.sqrt(np.mean(rel[m] ** 2)))
                out[f"train_{label}acc10_pct"] = float(100.0 * np.mean(np.abs(rel[m]) <= 0.10))
        return out

    # --- prediction -----------------------------------------------------------------------------------
    def kernel_predictions(self, splits: Sequence[KernelSplit]) -> list[np.ndarray]:
        """Each graph's per-kernel predictions (in the order of its `KernelSplit`)."""
        self._check_fitted()
        net, types, x = self._stack(splits)
        pred = np.zeros(len(x))
        unseen = 0
        for name in np.unique(types):
            m = types == name
            model = self.models.get(str(name))
            if model is None:
                pred[m] = self.models[ANY].predict(x[m])
                unseen += int(m.sum())
            elif str(name) + CTX in self.models:
                both = model.predict(self._without_context(x[m])) + self.models[str(name) + CTX].predict(x[m])
                pred[m] = np.maximum(both, 0.0)  # a neighbour's deviation must not make a kernel negative
            else:
                pred[m] = model.predict(x[m])
        self.last_unseen = unseen
        bounds = np.cumsum([0] + [s.num_kernels for s in splits])
        return [pred[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def predict_graphs(self, graphs: Sequence[OnnxGraph]) -> np.ndarray:
        self._check_fitted()
        out = np.zeros(len(graphs))
        unseen = 0
        for start in range(0, len(graphs), _PREDICT_CHUNK):
            chunk = graphs[start:start + _PREDICT_CHUNK]
            per_kernel = self.kernel_predictions([self.split(g) for g in chunk])
            unseen += self.last_unseen
            out[start:start + len(chunk)] = [self.overhead + float(p.sum()) for p in per_kernel]
        self.last_unseen = unseen
        return out

    # --- persistence ----------------------------------------------------------------------------------
    def _state(self) -> dict[str, np.ndarray]:
        keys = list(self.models)
        state: dict[str, Any] = {
            "type_names": np.array(self.type_names, dtype=str),
            "model_names": np.array(keys, dtype=str),
            "overhead": np.array([self.overhead], dtype=np.float64),
            "kernel_features": np.array(KERNEL_FEATURES, dtype=str),
            "rules_text": np.array(self.rules.text, dtype=str),
        }
        for i, name in enumerate(keys):
            state.update(self.models[name].arrays(f"m{i}_"))
        return state

    def _set_state(self, arrays) -> None:
        if tuple(str(v) for v in np.asarray(arrays["kernel_features"]).reshape(-1)) != KERNEL_FEATURES:
            raise ValueError("saved with other kernel features than this hwnas computes")
        self.rules = parse_rules(str(np.asarray(arrays["rules_text"]).reshape(-1)[0]), "saved kernel rules")
        self.type_names = tuple(str(v) for v in np.asarray(arrays["type_names"]).reshape(-1))
        self.overhead = float(np.asarray(arrays["overhead"], dtype=np.float64).reshape(-1)[0])
        keys = [str(v) for v in np.asarray(arrays["model_names"]).reshape(-1)]
        self.models = {name: TreeEnsemble.from_arrays(arrays, f"m{i}_") for i, name in enumerate(keys)}
        missing = [t for t in (*self.type_names, ANY) if t not in self.models]
        if missing:
            raise ValueError(f"no regressor for kernel type(s) {missing}")
