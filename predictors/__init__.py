"""Latency and energy predictors (installed as `hwnas.predictors`).

* `base`      -- the `Predictor` interface (``fit / predict / save / load / evaluate``), the
  `PREDICTORS` registry and the file format (config.json + weights.npz, no pickles);
* `metrics`   -- RMSE, MAPE, +-5 % / +-10 % accuracy (nn-Meter), Spearman, Kendall -> `Metrics`;
* models, one file each: `flops` (linear on FLOPs and params, the baseline), `ridge` (one-hot
  genotype, the reference baseline), `mlp` (BRP-NAS-style MLP on the encoding), `gcn`
  (BRP-NAS-style graph network on the exported ONNX graph), `opsum` (additive per-op linear cost
  on the ONNX graph; exact on analytical accelerator models), `gp` (Gaussian process on the
  encoding, ARD RBF kernel);
* `graph_model` -- `GraphPredictor`, what the models on the ONNX graph share;
* `onnx_graph` -- any ONNX model -> graph arrays (op types, log-scaled shape features, edges);
* `graphs`     -- ONNX graphs of a space's architectures, cached on disk, built in parallel;
* `train`      -- `train_predictor(device, metric, model, ...)`: the issue's train/test protocol.
"""

from hwnas.predictors import flops, gcn, gp, mlp, opsum, ridge, transfer  # noqa: F401  (imported so that they register)
from hwnas.predictors import kernel, nnmeter  # noqa: F401  (kernel-level models: kernel, nn-meter)
from hwnas.predictors.base import PREDICTORS, Predictor, get_predictor, load_predictor, register, saved_predictors
from hwnas.predictors.metrics import Metrics, compute_metrics
from hwnas.predictors.train import TrainResult, train_predictor

__all__ = [
    "PREDICTORS", "Metrics", "Predictor", "TrainResult", "compute_metrics", "get_predictor", "load_predictor",
    "register", "saved_predictors", "train_predictor",
]
