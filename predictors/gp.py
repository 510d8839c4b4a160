"""``gp``: Gaussian-process regression on the one-hot genotype encoding.

Kernel: ``signal**2 * exp(-0.5 * sum_d ((x_d - x'_d) / lengthscale_d)**2) + noise**2 * [x == x']``,
an RBF with one lengthscale per one-hot input (ARD), so the model learns which edge/op choices
move the cost and how they interact (``cost_features``: two more inputs, log FLOPs and log params
standardised on the training architectures; the Raspberry Pi 5 predictors use them); the target is the standardised **log-cost** (relative
error, as in `mlp`). The lengthscales, signal and noise maximise the log marginal likelihood
(L-BFGS-B from a fixed start, so a fit is a function of the data), on at most ``max_train``
training architectures (a seeded random subset when there are more: the exact GP costs
O(n^3) time and O(n^2) memory). Prediction is the posterior mean.

On jetson-tx2 (train 900, seed 0, test the other 1,099) the GP reaches Spearman 0.984, where the
mlp gets 0.977: with ~1,000 noisy measurements a smooth kernel prior beats a trained network
(``docs/benchmarks.md``). The saved model holds the training encodings and the dual weights.
"""

from __future__ import annotations

import warnings

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.predictors.base import Predictor, register
from hwnas.predictors.encoding import onehot, onehot_size

_LOG_BOUNDS = {"lengthscale": (np.log(0.05), np.log(1e4)), "signal": (np.log(1e-2), np.log(1e2)),
               "noise": (np.log(1e-3), np.log(1.0))}
_JITTER = 1e-8  # added to the kernel's diagonal with the noise, so the Cholesky factor exists


def _kernel(xa, xb, theta):
    """ARD RBF kernel matrix [len(xa), len(xb)] (float64 torch tensors); ``theta`` = [log
    lengthscales (d), log signal, log noise] (the noise is not part of it)."""
    import torch

    d = xa.shape[1]
    a = xa / torch.exp(theta[:d])
    b = a if xb is xa else xb / torch.exp(theta[:d])
    sq = torch.clamp((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T, min=0.0)
    return torch.exp(2 * theta[d]) * torch.exp(-0.5 * sq)


def _train_cholesky(x, theta):
    """Lower Cholesky factor of the training covariance: kernel + (noise**2 + jitter) I."""
    import torch

    k = _kernel(x, x, theta)
    return torch.linalg.cholesky(k + (torch.exp(2 * theta[-1]) + _JITTER) * torch.eye(len(x), dtype=k.dtype))


def negative_log_marginal_likelihood(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(NLL, gradient wrt theta) of a zero-mean GP with the ARD RBF kernel plus white noise;
    ``theta`` = [log lengthscales (d), log signal, log noise]. Pure function (for L-BFGS-B)."""
    import torch

    t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
    yt = torch.as_tensor(y, dtype=torch.float64)
    chol = _train_cholesky(torch.as_tensor(x, dtype=torch.float64), t)
    alpha = torch.cholesky_solve(yt[:, None], chol)[:, 0]
    nll = 0.5 * yt @ alpha + torch.log(torch.diagonal(chol)).sum() + 0.5 * len(y) * np.log(2 * np.pi)
    nll.backward()
    return float(nll.detach()), t.grad.numpy().copy()


@register("gp", aliases=("gaussian-process",))
class GPPredictor(Predictor):
    description = "Gaussian process on the one-hot encoding (ARD RBF kernel, log-cost, max. marginal likelihood)"
    inputs = "one-hot genotype"
    defaults = {"max_train": 2000, "max_iter": 200, "lengthscale": 3.0, "noise": 0.1, "cost_features": False}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if int(self.hparams["max_train"]) < 2:
            raise HwnasUsageError(f"gp max_train must be at least 2, not {self.hparams['max_train']}")
        for key in ("lengthscale", "noise"):
            if not float(self.hparams[key]) > 0:
                raise HwnasUsageError(f"gp {key} must be > 0, not {self.hparams[key]!r}")

    def _fit(self, archs, targets) -> None:
        from scipy.optimize import minimize

        x = self._inputs(archs, fit=True)
        logy = np.log(targets)
        limit = int(self.hparams["max_train"])
        if len(x) > limit:  # the exact GP is cubic in n: a seeded subset
            warnings.warn(f"gp: fitting on a random {limit:,} of the {len(x):,} training architectures "
                          f"(max_train; raise it with --set max_train=N, cost grows as N^3)", stacklevel=3)
            keep = np.sort(np.random.default_rng(self.seed).choice(len(x), size=limit, replace=False))
            x, logy = x[keep], logy[keep]
        self.y_mean, self.y_std = float(logy.mean()), float(logy.std() or 1.0)
        y = (logy - self.y_mean) / self.y_std
        d = x.shape[1]
        start = np.concatenate([np.full(d, np.log(float(self.hparams["lengthscale"]))), [0.0],
                                [np.log(float(self.hparams["noise"]))]])
        bounds = [_LOG_BOUNDS["lengthscale"]] * d + [_LOG_BOUNDS["signal"], _LOG_BOUNDS["noise"]]
        res = minimize(negative_log_marginal_likelihood, start, args=(x, y), jac=True, method="L-BFGS-B",
                       bounds=bounds, options={"maxiter": int(self.hparams["max_iter"])})
        self.theta = np.asarray(res.x, dtype=np.float64)
        self.fit_nll, self.fit_iterations = float(res.fun), int(res.nit)
        self.x_train = x
        self._solve(y)

    def _inputs(self, archs, fit: bool = False) -> np.ndarray:
        """One-hot genotype, plus (``cost_features``) log FLOPs and log params standardised with
        the training architectures' mean and standard deviation."""
        x = onehot(self.space, archs).astype(np.float64)
        if not self.hparams["cost_features"]:
            return x
        from hwnas.predictors.encoding import flops_params

        logc = np.log(np.maximum(flops_params(self.space, archs, self.dataset), 1e-12))
        if fit:
            self.feat_norm = np.stack([logc.mean(0), logc.std(0) + 1e-12])
        return np.hstack([x, (logc - self.feat_norm[0]) / self.feat_norm[1]])

    def _solve(self, y: np.ndarray) -> None:
        import torch

        x, theta = torch.as_tensor(self.x_train), torch.as_tensor(self.theta)
        chol = _train_cholesky(x, theta)
        self.dual = torch.cholesky_solve(torch.as_tensor(y, dtype=torch.float64)[:, None], chol)[:, 0].numpy()

    @property
    def lengthscales(self) -> np.ndarray:
        """Fitted ARD lengthscale of each input (small = that choice matters)."""
        return np.exp(self.theta[:-2])

    @property
    def noise_std_log(self) -> float:
        """The fitted white-noise standard deviation on the log-cost scale (0.05 = about 5 %): what
        the marginal likelihood attributes to measurement noise rather than to the architecture."""
        return float(np.exp(self.theta[-1]) * self.y_std)

    def _predict(self, archs) -> np.ndarray:
        import torch

        x = torch.as_tensor(self._inputs(archs), dtype=torch.float64)
        train, theta, dual = torch.as_tensor(self.x_train), torch.as_tensor(self.theta), torch.as_tensor(self.dual)
        out = np.empty(len(x))
        for s in range(0, len(x), 1024):  # [chunk, n_train] kernel blocks (a few MB each)
            out[s:s + 1024] = (_kernel(x[s:s + 1024], train, theta) @ dual).numpy()
        return np.exp(out * self.y_std + self.y_mean)

    def predict_log_sd(self, archs) -> np.ndarray:
        """Posterior standard deviation of each architecture's log-cost (the latent function, without
        the measurement noise): how well the mean prediction is known there (0.05 = about 5 %)."""
        import torch

        self._check_fitted()
        x = torch.as_tensor(self._inputs(self.archs(archs)), dtype=torch.float64)
        train, theta = torch.as_tensor(self.x_train), torch.as_tensor(self.theta)
        chol = _train_cholesky(train, theta)
        signal2 = torch.exp(2 * theta[-2])
        out = np.empty(len(x))
        for s in range(0, len(x), 1024):
            k = _kernel(x[s:s + 1024], train, theta)
            v = torch.cholesky_solve(k.T.contiguous(), chol)
            out[s:s + 1024] = torch.clamp(signal2 - (k * v.T).sum(1), min=0.0).sqrt().numpy()
        return out * self.y_std

    def _state(self) -> dict[str, np.ndarray]:
        state = {"x_train": self.x_train.astype(np.uint8), "dual": self.dual, "theta": self.theta,
                 "y_norm": np.array([self.y_mean, self.y_std])}
        if self.hparams["cost_features"]:
            state["x_train"] = self.x_train
            state["feat_norm"] = self.feat_norm
        return state

    def _set_state(self, arrays) -> None:
        x = np.asarray(arrays["x_train"], dtype=np.float64)
        d = onehot_size(self.space) + (2 if self.hparams["cost_features"] else 0)
        if self.hparams["cost_features"]:
            self.feat_norm = np.asarray(arrays["feat_norm"], dtype=np.float64).reshape(2, 2)
        if x.ndim != 2 or x.shape[1] != d:
            raise ValueError(f"x_train has shape {x.shape}, expected (n, {d})")
        theta = np.asarray(arrays["theta"], dtype=np.float64)
        dual = np.asarray(arrays["dual"], dtype=np.float64)
        if theta.shape != (d + 2,) or dual.shape != (len(x),):
            raise ValueError(f"theta / dual have shapes {theta.shape} / {dual.shape}, expected ({d + 2},) / ({len(x)},)")
        self.x_train, self.theta, self.dual = x, theta, dual
        self.y_mean, self.y_std = (float(v) for v in np.asarray(arrays["y_norm"], dtype=np.float64))
