"""``flops``: the baseline every report shows -- cost = a * FLOPs + b * params + c.

Least squares on the raw target (ms or mJ) with FLOPs and params in millions from
`Space.cost` (NAS-Bench-201 counting convention, see `hwnas.counting`)."""

from __future__ import annotations

import numpy as np

from hwnas.predictors.base import Predictor, register
from hwnas.predictors.encoding import flops_params


@register("flops", aliases=("flops-linear", "linear"))
class FlopsPredictor(Predictor):
    description = "linear model on FLOPs and params (least squares): the baseline"
    inputs = "FLOPs, params (hwnas.counting)"
    defaults: dict = {}

    def _features(self, archs) -> np.ndarray:
        x = flops_params(self.space, archs, self.dataset)
        return np.hstack([x, np.ones((len(x), 1))])

    def _fit(self, archs, targets) -> None:
        x = self._features(archs)
        self.coef, *_ = np.linalg.lstsq(x, targets, rcond=None)

    def _predict(self, archs) -> np.ndarray:
        return self._features(archs) @ self.coef

    def _state(self) -> dict[str, np.ndarray]:
        return {"coef": np.asarray(self.coef, dtype=np.float64)}

    def _set_state(self, arrays) -> None:
        coef = np.asarray(arrays["coef"], dtype=np.float64)
        if coef.shape != (3,):
            raise ValueError(f"coef has shape {coef.shape}, expected (3,)")
        self.coef = coef
