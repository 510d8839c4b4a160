"""`GraphPredictor`: the part every predictor on the **exported ONNX graph** shares.

An architecture becomes an `OnnxGraph` through `hwnas.predictors.graphs` (exported once, cached on
disk, ``workers`` processes); subclasses implement ``fit_graphs`` / ``predict_graphs`` on graphs,
so they also price any other ONNX CNN (`predict_onnx`).
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from hwnas.predictors.base import Predictor
from hwnas.predictors.onnx_graph import OnnxGraph, graph_from_onnx


class GraphPredictor(Predictor):
    """A `Predictor` whose input is the ONNX graph of each architecture (``opset`` hparam)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.workers = 1  # processes that export graphs not yet cached
        self.cache_dir: "str | os.PathLike[str] | None" = None
        self.progress = False
        self._memo: dict[tuple[int, ...], OnnxGraph] = {}

    def prepare(self, archs: Sequence) -> None:
        """Make (or read) the graphs of ``archs`` once, in ``self.workers`` processes."""
        from hwnas.predictors.graphs import graphs_for_archs

        archs = [a for a in self.archs(archs) if tuple(a.genotype) not in self._memo]
        if archs:
            graphs = graphs_for_archs(self.space, archs, self.dataset, workers=self.workers, cache_dir=self.cache_dir,
                                      progress=self.progress, opset=int(self.hparams["opset"]))
            for a, g in zip(archs, graphs):
                self._memo[tuple(a.genotype)] = g

    def graphs(self, archs) -> list[OnnxGraph]:
        self.prepare(archs)
        return [self._memo[tuple(a.genotype)] for a in self.archs(archs)]

    def _fit(self, archs, targets) -> None:
        self.fit_graphs(self.graphs(archs), targets)

    def _predict(self, archs) -> np.ndarray:
        return self.predict_graphs(self.graphs(archs))

    def fit_graphs(self, graphs: Sequence[OnnxGraph], targets) -> "GraphPredictor":
        """Fit on graphs (e.g. of any ONNX CNNs) and their positive costs."""
        raise NotImplementedError

    def predict_graphs(self, graphs: Sequence[OnnxGraph]) -> np.ndarray:
        """Predicted cost of each graph."""
        raise NotImplementedError

    def predict_onnx(self, models: Sequence) -> np.ndarray:
        """Predicted cost of ONNX models (ModelProto, bytes or paths)."""
        return self.predict_graphs([graph_from_onnx(m) for m in models])


def check_graph_targets(graphs: Sequence[OnnxGraph], targets) -> np.ndarray:
    """``targets`` as a float64 vector matching ``graphs``; usage error if not positive and finite."""
    from hwnas.errors import HwnasUsageError

    y = np.asarray(targets, dtype=np.float64).reshape(-1)
    if len(graphs) != y.size or y.size < 2:
        raise HwnasUsageError(f"need matching graphs and targets (at least 2), got {len(graphs)} and {y.size}")
    if not np.all(np.isfinite(y)) or not np.all(y > 0):
        raise HwnasUsageError("targets must be positive and finite")
    return y
