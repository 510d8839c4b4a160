"""The `Predictor` interface (in the spirit of NASLib's ``Predictor``), the `PREDICTORS` registry and
the version-neutral file format.

A predictor maps architectures of one search space (built for one dataset, i.e. one input size)
to one cost (latency in ms, energy in mJ). ``fit(archs, targets)`` learns, ``predict(archs)``
returns a float64 array, ``evaluate(archs, targets)`` returns `Metrics`.

Saved predictor = a folder with two files, nothing executable:

* ``config.json``  -- model name, space, dataset, seed, hyper-parameters, what it was trained on,
  the array names/shapes/dtypes and the format version;
* ``weights.npz``  -- plain numpy arrays, read with ``allow_pickle=False``.

nn-Meter shipped pickled scikit-learn predictors that broke on every scikit-learn upgrade
(nn-Meter issue 131); JSON + npz reads the same with any numpy and torch.
"""

from __future__ import annotations

import abc
import json
import os
import zipfile
from pathlib import Path
from typing import Any, ClassVar, Iterable, Sequence

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.registry import Registry
from hwnas.storage import atomic_write
from hwnas.spaces import Arch, get_space
from hwnas.predictors.encoding import as_archs
from hwnas.predictors.metrics import Metrics, compute_metrics

FORMAT = "hwnas-predictor"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.npz"


class Predictor(abc.ABC):
    """A cost predictor for architectures of one space and dataset.

    Subclasses set ``name``, ``description``, ``inputs`` and ``defaults`` (hyper-parameters with
    their default values), and implement ``_fit``, ``_predict``, ``_state`` and ``_set_state``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    inputs: ClassVar[str] = ""  # what the model reads, for `hwnas predictors list`
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, space: str = "nb201", dataset: str = "cifar10", seed: int = 0, **hparams: Any) -> None:
        unknown = sorted(set(hparams) - set(self.defaults))
        if unknown:
            raise HwnasUsageError(
                f"unknown option(s) {', '.join(unknown)} for predictor {self.name!r}; "
                f"it takes: {', '.join(sorted(self.defaults)) or 'none'}"
            )
        sp = get_space(space)
        self.space = sp.name
        self.dataset = sp.dataset(dataset).name
        self.seed = int(seed)
        self.hparams: dict[str, Any] = {**self.defaults,
                                        **{k: _coerce(self.name, k, v, self.defaults[k]) for k, v in hparams.items()}}
        self.trained_on: dict[str, Any] = {}  # e.g. device, metric, unit, train_size, split seed
        self.fitted = False

    # --- to implement ------------------------------------------------------------------------
    @abc.abstractmethod
    def _fit(self, archs: list[Arch], targets: np.ndarray) -> None:
        """Learn from ``archs`` and their positive, finite ``targets``."""

    @abc.abstractmethod
    def _predict(self, archs: list[Arch]) -> np.ndarray:
        """Predictions (any float array of length len(archs))."""

    @abc.abstractmethod
    def _state(self) -> dict[str, np.ndarray]:
        """Everything learned, as named numpy arrays."""

    @abc.abstractmethod
    def _set_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what `_state` returned (raise KeyError/ValueError on a mismatch)."""

    # --- the interface -----------------------------------------------------------------------
    def archs(self, archs: "Iterable[Arch | int | str]") -> list[Arch]:
        """``archs`` as `Arch` objects of this predictor's space."""
        return as_archs(self.space, archs)

    def fit(self, archs: "Iterable[Arch | int | str]", targets: "Sequence[float] | np.ndarray") -> "Predictor":
        """Fit on ``archs`` and their measured costs; returns self."""
        a = self.archs(archs)
        y = np.asarray(targets, dtype=np.float64).reshape(-1)
        if len(a) != y.size:
            raise HwnasUsageError(f"{len(a)} architectures but {y.size} targets")
        if y.size < 2:
            raise HwnasUsageError("need at least 2 architectures to fit a predictor")
        if not np.all(np.isfinite(y)) or not np.all(y > 0):
            raise HwnasUsageError("targets must be positive and finite (drop unmeasured or failed archs)")
        self._fit(a, y)
        self.fitted = True
        return self

    def predict(self, archs: "Iterable[Arch | int | str]") -> np.ndarray:
        """Predicted cost of every architecture (float64, in the unit of the training targets)."""
        self._check_fitted()
        a = self.archs(archs)
        if not a:
            return np.zeros(0)
        return np.asarray(self._predict(a), dtype=np.float64).reshape(-1)

    def evaluate(self, archs: "Iterable[Arch | int | str]", targets: "Sequence[float] | np.ndarray") -> Metrics:
        """`Metrics` of the predictions for ``archs`` against their measured ``targets``."""
        a = self.archs(archs)
        return compute_metrics(self.predict(a), targets)

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise HwnasUsageError(f"predictor {self.name!r} is not fitted: call fit() or load a saved one")

    # --- persistence -------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": self.name,
            "space": self.space,
            "dataset": self.dataset,
            "seed": self.seed,
            "hparams": self.hparams,
            "trained_on": self.trained_on,
        }

    def save(self, path: "str | os.PathLike[str]") -> Path:
        """Write the predictor to folder ``path`` (config.json + weights.npz); returns the folder."""
        from hwnas import __version__

        self._check_fitted()
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise HwnasUsageError(f"cannot save a predictor to {str(folder)!r}: it is a file; give a folder name")
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {k: np.ascontiguousarray(v) for k, v in self._state().items()}
        for k, v in arrays.items():
            if v.dtype == object:
                raise TypeError(f"array {k!r} has dtype object; predictors store plain numeric/str arrays")
        config = self.config()
        config["hwnas_version"] = __version__
        config["arrays"] = {k: {"shape": list(v.shape), "dtype": v.dtype.str} for k, v in arrays.items()}
        atomic_write(folder / WEIGHTS_FILE, lambda fh: np.savez(fh, **arrays), private=True)
        text = json.dumps(config, indent=2, sort_keys=True) + "\n"
        atomic_write(folder / CONFIG_FILE, lambda fh: fh.write(text.encode()), private=True)
        return folder

    @classmethod
    def load(cls, path: "str | os.PathLike[str]") -> "Predictor":
        """A predictor saved by `save`. A missing or corrupt file is a one-line `HwnasUsageError`
        that names the predictors that do exist beside it."""
        folder = Path(path)
        if folder.name == CONFIG_FILE or folder.name == WEIGHTS_FILE:
            folder = folder.parent
        if not folder.exists():
            raise HwnasUsageError(f"no predictor at {str(folder)!r}; {_what_exists(folder.parent)}")
        if not folder.is_dir():
            raise HwnasUsageError(f"{str(folder)!r} is not a predictor folder (it should hold {CONFIG_FILE} and "
                                  f"{WEIGHTS_FILE}); {_what_exists(folder.parent)}")
        for name in (CONFIG_FILE, WEIGHTS_FILE):
            if not (folder / name).is_file():
                raise HwnasUsageError(f"predictor {str(folder)!r} has no {name}; {_what_exists(folder.parent, folder)}")
        try:
            config = json.loads((folder / CONFIG_FILE).read_text())
            model = config_model(config)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise _corrupt(folder, CONFIG_FILE, exc) from None
        if model not in PREDICTORS:
            raise HwnasUsageError(f"predictor {str(folder)!r} is of unknown model {model!r} "
                                  f"(this hwnas has: {', '.join(PREDICTORS.names())})")
        klass = PREDICTORS.get(model)
        if cls is not Predictor and not issubclass(klass, cls):
            raise HwnasUsageError(f"predictor {str(folder)!r} is a {model!r} model, not {cls.name!r}")
        try:
            return restore(klass, config, folder / WEIGHTS_FILE, "config")
        except HwnasUsageError:
            raise
        except LOAD_ERRORS as exc:
            raise _corrupt(folder, WEIGHTS_FILE, exc) from None


# what reading a damaged weights file can raise (`restore`)
LOAD_ERRORS = (ValueError, KeyError, TypeError, OSError, EOFError, zipfile.BadZipFile, RuntimeError)


def config_model(config: Any) -> str:
    """The model name of a saved predictor's config; ValueError if it is not a config this
    hwnas reads (wrong format, newer format version), KeyError without a model."""
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} config")
    if int(config.get("format_version", -1)) > FORMAT_VERSION:
        raise ValueError(f"format version {config['format_version']} is newer than this hwnas reads "
                         f"({FORMAT_VERSION}); upgrade hwnas")
    return str(config["model"])


def restore(klass: "type[Predictor]", config: dict, weights: Path, config_name: str) -> "Predictor":
    """A fitted ``klass`` from ``config`` and its weights file (npz). Arrays are checked against
    the shapes ``config`` records (``config_name`` names it in the message); a damaged file
    raises one of `LOAD_ERRORS`."""
    with np.load(weights, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    for k, spec in config.get("arrays", {}).items():
        if k not in arrays:
            raise ValueError(f"array {k!r} is missing")
        if list(arrays[k].shape) != list(spec["shape"]):
            raise ValueError(f"array {k!r} has shape {list(arrays[k].shape)}, {config_name} says {spec['shape']}")
    pred = klass(space=config["space"], dataset=config["dataset"], seed=config.get("seed", 0),
                 **config.get("hparams", {}))
    pred.trained_on = dict(config.get("trained_on", {}))
    pred._set_state(arrays)
    pred.fitted = True
    return pred


def _coerce(model: str, key: str, value: Any, default: Any) -> Any:
    """``value`` as the type of the hyper-parameter's default (so "100" from the CLI is 100)."""
    kind = type(default)
    try:
        if kind is bool:
            if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
                return value.lower() in ("true", "1")
            if isinstance(value, (bool, int)):
                return bool(value)
            raise ValueError
        if kind is int:
            f = float(value)
            if f != int(f):
                raise ValueError
            return int(f)
        if kind is float:
            return float(value)
        return kind(value)
    except (TypeError, ValueError, OverflowError):
        raise HwnasUsageError(f"{model} option {key}={value!r} is not a valid {kind.__name__} "
                              f"(default {default!r})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def saved_predictors(folder: "str | os.PathLike[str]") -> list[Path]:
    """Predictor folders (holding config.json and weights.npz) directly inside ``folder``."""
    root = Path(folder)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / CONFIG_FILE).is_file()
                  and (p / WEIGHTS_FILE).is_file())


def _what_exists(folder: Path, exclude: Path | None = None) -> str:
    found = [p.name for p in saved_predictors(folder) if exclude is None or p.resolve() != exclude.resolve()]
    where = str(folder) if str(folder) else "."
    if found:
        shown = ", ".join(found[:10]) + (f" (+{len(found) - 10} more)" if len(found) > 10 else "")
        return f"predictors in {where!r}: {shown}"
    return (f"no saved predictors in {where!r}; train one with "
            "'hwnas predictors train --device DEVICE --model MODEL --out DIR'")


def _corrupt(folder: Path, file: str, exc: BaseException) -> HwnasUsageError:
    return HwnasUsageError(f"predictor {str(folder)!r} is corrupt ({file}: {_first_line(exc)}); re-train or "
                           f"re-copy it; {_what_exists(folder.parent, folder)}")


PREDICTORS: Registry[type[Predictor]] = Registry("predictor model")


def register(name: str, aliases: tuple[str, ...] = ()):
    """Class decorator: register a `Predictor` subclass under ``name`` (sets ``cls.name``)."""

    def deco(klass: type[Predictor]) -> type[Predictor]:
        klass.name = name
        return PREDICTORS.register(name, aliases)(klass)

    return deco


def get_predictor(model: str, **kwargs: Any) -> Predictor:
    """A fresh, unfitted predictor of registered model ``model`` (unknown names: usage error)."""
    return PREDICTORS.get(model)(**kwargs)


def load_predictor(path: "str | os.PathLike[str]") -> Predictor:
    """Load any saved predictor (see `Predictor.load`)."""
    return Predictor.load(path)
