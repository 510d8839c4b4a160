"""Tree ensembles as plain numpy arrays: scikit-learn's fitted trees (``estimator.tree_``) exported
to flat arrays and evaluated with numpy, so a saved predictor needs neither pickles nor the
scikit-learn version that trained it.

A `TreeEnsemble` is ``base + scale * sum_t tree_t(x)``: a random forest is ``base = 0``,
``scale = 1 / n_trees``; gradient boosting (squared error) is its initial constant and
``scale = learning_rate``. As in scikit-learn, a sample goes left where
``float32(x[feature]) <= threshold``, so numpy reproduces ``estimator.predict``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TREE_ARRAYS: tuple[str, ...] = ("left", "right", "feature", "threshold", "value", "roots")


@dataclass
class TreeEnsemble:
    """Trees in one flat node table: ``left``/``right`` (global node indices, -1 at leaves),
    ``feature``, ``threshold``, ``value`` per node, ``roots`` (the first node of every tree)."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    base: float
    scale: float

    @classmethod
    def from_sklearn(cls, model) -> "TreeEnsemble":
        """From a fitted ``RandomForestRegressor``, ``ExtraTreesRegressor``,
        ``GradientBoostingRegressor`` (squared error) or ``DecisionTreeRegressor``."""
        from sklearn.ensemble import GradientBoostingRegressor

        if isinstance(model, GradientBoostingRegressor):
            if getattr(model, "loss", "squared_error") != "squared_error":
                raise ValueError("only squared-error gradient boosting exports to numpy")
            trees = [e.tree_ for e in model.estimators_[:, 0]]
            base = float(np.asarray(model.init_.constant_).reshape(-1)[0])
            scale = float(model.learning_rate)
        elif hasattr(model, "estimators_"):
            trees = [e.tree_ for e in model.estimators_]
            base, scale = 0.0, 1.0 / len(trees)
        else:
            trees = [model.tree_]
            base, scale = 0.0, 1.0
        parts = {k: [] for k in TREE_ARRAYS}
        offset = 0
        for t in trees:
            left = np.asarray(t.children_left, dtype=np.int64)
            right = np.asarray(t.children_right, dtype=np.int64)
            parts["left"].append(np.where(left >= 0, left + offset, -1))
            parts["right"].append(np.where(right >= 0, right + offset, -1))
            parts["feature"].append(np.where(left >= 0, np.asarray(t.feature, dtype=np.int64), 0))
            parts["threshold"].append(np.asarray(t.threshold, dtype=np.float64))
            parts["value"].append(np.asarray(t.value, dtype=np.float64).reshape(t.node_count, -1)[:, 0])
            parts["roots"].append(np.array([offset], dtype=np.int64))
            offset += int(t.node_count)
        return cls(*(np.concatenate(parts[k]) for k in TREE_ARRAYS), base=base, scale=scale)

    @classmethod
    def constant(cls, value: float) -> "TreeEnsemble":
        """An ensemble that predicts ``value`` everywhere (no trees)."""
        empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
        return cls(empty_i, empty_i, empty_i, empty_f, empty_f, empty_i, base=float(value), scale=1.0)

    @property
    def num_trees(self) -> int:
        return int(self.roots.size)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions for the rows of ``x`` [n, features]."""
        x = np.asarray(x, dtype=np.float32).astype(np.float64)
        n = x.shape[0]
        if not self.num_trees or n == 0:
            return np.full(n, self.base)
        node = np.broadcast_to(self.roots, (n, self.num_trees)).copy()
        rows = np.broadcast_to(np.arange(n)[:, None], node.shape)
        for _ in range(self.left.size + 1):  # a tree is at most as deep as it has nodes
            inner = self.left[node] >= 0
            if not inner.any():
                break
            nd, r = node[inner], rows[inner]
            go_left = x[r, self.feature[nd]] <= self.threshold[nd]
            node[inner] = np.where(go_left, self.left[nd], self.right[nd])
        else:
            raise ValueError("tree arrays contain a cycle")
        return self.base + self.scale * self.value[node].sum(axis=1)

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        out = {f"{prefix}{k}": getattr(self, k) for k in TREE_ARRAYS}
        out[f"{prefix}base_scale"] = np.array([self.base, self.scale], dtype=np.float64)
        return out

    @classmethod
    def from_arrays(cls, arrays, prefix: str) -> "TreeEnsemble":
        base, scale = (float(v) for v in np.asarray(arrays[f"{prefix}base_scale"], dtype=np.float64).reshape(2))
        parts = {k: np.asarray(arrays[f"{prefix}{k}"]).reshape(-1) for k in TREE_ARRAYS}
        for k in ("left", "right", "feature", "roots"):
            parts[k] = parts[k].astype(np.int64)
        for k in ("threshold", "value"):
            parts[k] = parts[k].astype(np.float64)
        nodes = parts["left"].size
        if any(parts[k].size != nodes for k in ("right", "feature", "threshold", "value")):
            raise ValueError(f"tree arrays {prefix!r} have different lengths")
        for k in ("left", "right", "roots"):
            if parts[k].size and (parts[k].max() >= nodes or parts[k].min() < (0 if k == "roots" else -1)):
                raise ValueError(f"tree array {prefix}{k} points outside the node table")
        return cls(**parts, base=base, scale=scale)
