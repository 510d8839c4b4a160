"""``transfer``: a device's cost from its samples *and* every fully measured device.

Wraps the few-shot adapter (`hwnas.predictors.adapt`): the prediction of an architecture reads its
op counts, log FLOPs/params, one-hot genotype and the log-costs of the source devices (every
device of the package measured on all of the space's architectures, the same metric's latency
tables). With few samples it is the adapter's LOO-chosen mean of small ridge views; from
`hwnas.predictors.adapt.FULL_FROM` samples on it is one ridge on all of them (log cost). Because
the sources are measured everywhere, it extrapolates where the training set is biased: e.g. the
1,999-architecture NB201 subset of Jetson TX2 / Edge TPU / Eagle / nn-Meter devices leaves out
the cheapest ~30 % of the space (``bench/subset_shift.py``).

Hyper-parameters:

* ``exclude``: source devices left out (names or aliases, comma-separated string or list), e.g.
  the target itself when it is fully measured. Besides, `_fit` drops any source whose values on
  the training architectures equal the targets (that is the target itself: a predictor trained
  on raspi4 never reads raspi4's own column);
* ``source_metric``: the sources' metric (latency);
* ``view``: ``auto`` (the adapter's view with the lowest leave-one-out error) or a view of
  `hwnas.predictors.adapt._views` fixed from 100 samples on, e.g. ``raw:full`` for a biased
  training subset, where the subset-shift protocol picks it (``bench/subset_shift.py``).

The saved state is the adapter's arrays (`Adapter.to_arrays`) plus its config as plain arrays:
the source names (a str array) and the sample indices; no pickles, no object arrays.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.predictors.base import Predictor, register


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


@register("transfer")
class TransferPredictor(Predictor):
    description = "ridge on arch features + log-costs of every fully measured device (few-shot adapter)"
    inputs = "op counts, FLOPs/params, one-hot genotype, measured costs of the fully measured devices"
    defaults = {"exclude": "", "source_metric": "latency", "view": "auto"}

    def __init__(self, *args, **kwargs) -> None:
        if "exclude" in kwargs and not isinstance(kwargs["exclude"], str):
            kwargs["exclude"] = ",".join(_names(kwargs["exclude"]))
        super().__init__(*args, **kwargs)
        from hwnas.devices import get_device

        self.hparams["exclude"] = ",".join(get_device(n).name for n in _names(self.hparams["exclude"]))
        self.adapter = None

    def _indices(self, archs) -> np.ndarray:
        sp = self.space
        if sp != "nb201":
            raise HwnasUsageError(f"the transfer predictor needs a space with fully measured devices (nb201), not {sp!r}")
        from hwnas.spaces import get_space

        space = get_space(sp)
        return np.array([space.index(a) for a in archs], dtype=np.int64)

    def _sources(self, rows: np.ndarray, targets: np.ndarray) -> list[str]:
        """Every fully measured device minus ``exclude`` and minus any whose values on ``rows``
        equal ``targets`` (the target device itself)."""
        from hwnas.predictors.adapt import source_matrix

        names, src = source_matrix(self.space, self.hparams["source_metric"], exclude=_names(self.hparams["exclude"]))
        ly = np.log(targets)
        same = np.all(np.abs(src[rows] - ly[:, None]) <= 1e-9 * np.maximum(1.0, np.abs(ly[:, None])), axis=0)
        kept = [n for n, s in zip(names, same) if not s]
        if not kept:
            raise HwnasUsageError("no source device left for the transfer predictor (all excluded)")
        return kept

    def _fit(self, archs, targets) -> None:
        from hwnas.predictors.adapt import fit_adapter

        rows = self._indices(archs)
        metric = str(self.trained_on.get("metric", "latency")) if self.trained_on else "latency"
        self.adapter = fit_adapter(self.space, rows, targets, metric=metric if metric in ("latency", "energy")
                                   else "latency", seed=self.seed, sources=self._sources(rows, targets),
                                   source_metric=self.hparams["source_metric"], dataset=self.dataset,
                                   estimate_error=False,
                                   view=None if self.hparams["view"] in ("", "auto") else str(self.hparams["view"]))

    def _predict(self, archs) -> np.ndarray:
        return self.adapter.predict(self._indices(archs))

    def _state(self) -> dict[str, np.ndarray]:
        arrays = dict(self.adapter.to_arrays())
        config = self.adapter.config()
        arrays["adapter_config"] = np.array([json.dumps(config, sort_keys=True)])  # a plain str array [1]
        return arrays

    def _set_state(self, arrays) -> None:
        from hwnas.predictors.adapt import Adapter

        if "adapter_config" not in arrays:
            raise KeyError("adapter_config")
        config = json.loads(str(np.asarray(arrays["adapter_config"]).reshape(-1)[0]))
        self.adapter = Adapter.from_arrays({k: v for k, v in arrays.items() if k != "adapter_config"}, config)

    def view_costs(self, archs) -> np.ndarray:
        """Each adapter view's predicted cost [n, views]; with a fixed ``view`` the others are
        kept at weight 0 to show how far the views disagree (`hwnas.predictors.adapt.Adapter.view_costs`)."""
        self._check_fitted()
        return self.adapter.view_costs(self._indices(self.archs(archs)))

    @property
    def sources(self) -> list[str]:
        """The source devices of the fitted model."""
        return list(self.adapter.sources) if self.adapter is not None else []
