"""``nn-meter``: delegate to Microsoft's nn-Meter package (optional extra) and its pre-trained
kernel predictors, where both are installed on this machine.

nn-Meter ships predictors for its own four device/runtime pairs (``cortexA76cpu_tflite21``,
``adreno640gpu_tflite21``, ``adreno630gpu_tflite21``, ``myriadvpu_openvino2019r2``). This model
exports each network to ONNX, asks nn-Meter for its latency on the predictor named by the option
``predictor``, and -- with ``calibrate`` (default) -- fits ``a * nn_meter_ms + b`` (a >= 0) to the
training targets, so that it can serve another device's measurements; ``calibrate=false`` returns
nn-Meter's milliseconds as they are (``fit`` then only records what it was given).

hwnas never downloads anything: nn-Meter fetches its predictors (pickled scikit-learn models,
tied to the scikit-learn version they were made with; nn-Meter issue 131) into ``~/.nn_meter``
the first time one is loaded, which needs network access once. Without the package, or without
the predictors in ``~/.nn_meter``, this model is a one-line usage error that says how to get them.
The saved state is the calibration only (JSON + npz); nn-Meter's own files stay where it keeps them.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.predictors.base import Predictor, register

NNMETER_HOME = Path(os.environ.get("NN_METER_HOME", "~/.nn_meter")).expanduser()
DEFAULT_PREDICTOR = "cortexA76cpu_tflite21"
INSTALL_HINT = "pip install 'hwnas[nnmeter]'"


def _download_hint(predictor: str) -> str:
    return (f"then, once, with network access: python -c \"import nn_meter; "
            f"nn_meter.load_latency_predictor('{predictor}')\" (nn-Meter downloads its predictors into "
            f"{NNMETER_HOME}; hwnas never downloads)")


def require_nn_meter(predictor: str = DEFAULT_PREDICTOR):
    """The imported ``nn_meter`` module, or a one-line `HwnasUsageError` saying how to get it
    and its predictors."""
    try:
        import nn_meter  # noqa: F401
    except Exception:  # noqa: BLE001 -- missing, or broken by its dependencies (e.g. setuptools>=81)
        raise HwnasUsageError(f"the nn-meter model needs the nn-meter package: {INSTALL_HINT}; "
                              + _download_hint(predictor)) from None
    folder = NNMETER_HOME / "data" / "predictor"
    if not folder.is_dir() or not any(folder.iterdir()):
        raise HwnasUsageError(f"nn-meter is installed but its predictors are not in {folder}; "
                              + _download_hint(predictor))
    return nn_meter


@register("nn-meter", aliases=("nnmeter", "nn_meter"))
class NnMeterPredictor(Predictor):
    description = "Microsoft nn-Meter's pre-trained kernel predictors (optional extra), linearly calibrated"
    inputs = "exported ONNX file (needs the nn-meter extra and its predictors in ~/.nn_meter)"
    defaults = {"predictor": DEFAULT_PREDICTOR, "version": "", "calibrate": True, "opset": 17}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._nn_meter = require_nn_meter(str(self.hparams["predictor"]))
        self._model = None
        self.coef = np.array([1.0, 0.0])

    def _raw(self, archs) -> np.ndarray:
        from hwnas.export import export_onnx
        from hwnas.init import build_seeded
        from hwnas.spaces import get_space

        if self._model is None:
            version = str(self.hparams["version"]) or None
            self._model = self._nn_meter.load_latency_predictor(str(self.hparams["predictor"]), version)
        spec = get_space(self.space).dataset(self.dataset)
        out = []
        with tempfile.TemporaryDirectory(prefix="hwnas-nnmeter-") as tmp:
            for a in archs:
                path = Path(tmp) / "net.onnx"
                export_onnx(build_seeded(a, spec.name, seed=0), spec.input_shape, path,
                            opset=int(self.hparams["opset"]), verify=False)
                out.append(float(self._model.predict(str(path), model_type="onnx")))
        return np.array(out)

    def _fit(self, archs, targets) -> None:
        if not self.hparams["calibrate"]:
            self.coef = np.array([1.0, 0.0])
            return
        from scipy.optimize import nnls

        x = self._raw(archs)
        a = np.stack([x, np.ones_like(x)], axis=1) / targets[:, None]  # relative error
        self.coef, _ = nnls(a, np.ones(targets.size))

    def _predict(self, archs) -> np.ndarray:
        return self.coef[0] * self._raw(archs) + self.coef[1]

    def _state(self) -> dict[str, np.ndarray]:
        return {"coef": np.asarray(self.coef, dtype=np.float64)}

    def _set_state(self, arrays) -> None:
        coef = np.asarray(arrays["coef"], dtype=np.float64).reshape(-1)
        if coef.shape != (2,):
            raise ValueError(f"coef has shape {coef.shape}, expected (2,)")
        self.coef = coef
