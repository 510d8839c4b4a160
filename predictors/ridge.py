"""``ridge``: ridge regression on the one-hot genotype encoding (NB201: 6 edges x 5 ops = 30
inputs) -- the reference baseline of the hardware-cost issue.

Closed form on centred inputs (the intercept is not penalised). ``target="raw"`` (default) fits
the cost itself, as the reference baseline does; ``target="log"`` fits log-cost (a
multiplicative model)."""

from __future__ import annotations

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.predictors.base import Predictor, register
from hwnas.predictors.encoding import onehot


@register("ridge", aliases=("ridge-onehot",))
class RidgePredictor(Predictor):
    description = "ridge regression on the one-hot genotype encoding: the reference baseline"
    inputs = "one-hot genotype"
    defaults = {"alpha": 1.0, "target": "raw"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.hparams["target"] not in ("raw", "log"):
            raise HwnasUsageError(f"ridge target must be 'raw' or 'log', not {self.hparams['target']!r}")
        if not float(self.hparams["alpha"]) >= 0:
            raise HwnasUsageError(f"ridge alpha must be >= 0, not {self.hparams['alpha']!r}")

    def _fit(self, archs, targets) -> None:
        x = onehot(self.space, archs).astype(np.float64)
        y = np.log(targets) if self.hparams["target"] == "log" else targets
        x_mean, y_mean = x.mean(axis=0), y.mean()
        xc = x - x_mean
        gram = xc.T @ xc + float(self.hparams["alpha"]) * np.eye(x.shape[1])
        self.coef = np.linalg.solve(gram, xc.T @ (y - y_mean))
        self.intercept = float(y_mean - x_mean @ self.coef)

    def _predict(self, archs) -> np.ndarray:
        out = onehot(self.space, archs).astype(np.float64) @ self.coef + self.intercept
        return np.exp(out) if self.hparams["target"] == "log" else out

    def _state(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef, "intercept": np.array([self.intercept])}

    def _set_state(self, arrays) -> None:
        from hwnas.predictors.encoding import onehot_size

        coef = np.asarray(arrays["coef"], dtype=np.float64)
        if coef.shape != (onehot_size(self.space),):
            raise ValueError(f"coef has shape {coef.shape}, expected ({onehot_size(self.space)},)")
        self.coef = coef
        self.intercept = float(np.asarray(arrays["intercept"]).reshape(-1)[0])
