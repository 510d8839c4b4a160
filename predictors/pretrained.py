"""Pre-trained latency predictors shipped with hwnas (installed as `hwnas.predictors.pretrained`).

For every (device, metric) with at least 300 measured architectures of a space in the shipped
tables, ``scripts/build_pretrained.py`` fits a predictor on a random 90 % of the measured
architectures and keeps the other 10 % as a holdout. They live in
``hwnas/_data/predictors/<space>_<device>_<metric>.npz`` (the weights, plain numpy arrays) and
``.json`` (the predictor's config as `Predictor.save` writes it, plus the record of how it was
built: device, metric, unit, train size, holdout metrics, the measured source, hwnas version and
the command). Nothing executable; read with ``allow_pickle=False``.

    >>> from hwnas.predictors.pretrained import available_pretrained, load_pretrained
    >>> ("jetson-tx2", "latency") in available_pretrained("nb201")
    True
    >>> load_pretrained("edgegpu").predict([0, 1, 2])          # aliases work; ms

`load_pretrained` returns a shared, cached instance: predict with it, do not re-fit it.
"""

from __future__ import annotations

import difflib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from hwnas.errors import HwnasUsageError
from hwnas.predictors.base import LOAD_ERRORS, PREDICTORS, Predictor, config_model, restore

SUBDIR = "predictors"
REBUILD = "python scripts/build_pretrained.py"


def default_folder() -> Path:
    """The folder of the shipped predictors (``hwnas/_data/predictors``)."""
    from importlib import resources

    return Path(str(resources.files("hwnas._data").joinpath(SUBDIR)))


def _folder(folder: "str | os.PathLike[str] | None") -> Path:
    return default_folder() if folder is None else Path(folder)


def _space(space: str) -> str:
    from hwnas.spaces import get_space

    return get_space(space).name


def file_stem(device: str, metric: str = "latency", space: str = "nb201") -> str:
    """``<space>_<device>_<metric>``: the name of a shipped predictor's two files (no suffix)."""
    return f"{space}_{device}_{metric}"


def _scan(folder: Path, space: str) -> list[tuple[str, str]]:
    if not folder.is_dir():
        return []
    found = []
    prefix = f"{space}_"
    for path in sorted(folder.glob(f"{prefix}*.json")):
        rest = path.stem[len(prefix):]
        device, sep, metric = rest.rpartition("_")
        if sep and device and metric and path.with_suffix(".npz").is_file():
            found.append((device, metric))
    return sorted(found)


def available_pretrained(space: str = "nb201", *, folder: "str | os.PathLike[str] | None" = None
                         ) -> list[tuple[str, str]]:
    """The (device, metric) pairs with a shipped pre-trained predictor for ``space``, sorted."""
    return _scan(_folder(folder), _space(space))


def _what_exists(space: str, folder: Path, metric: str | None = None, near: str | None = None) -> str:
    """What is shipped, in one short clause (at most 10 device names; close matches to ``near`` first)."""
    have = _scan(folder, space)
    if not have:
        return (f"no pre-trained {space} predictors in {str(folder)!r}; train one with "
                "'hwnas predictors train --device DEVICE --model mlp --out DIR'")
    listing = "see `hwnas predictors list`" if folder == default_folder() else f"in {str(folder)!r}"
    names = [d for d, m in have if m == metric]
    if names:
        close = difflib.get_close_matches(str(near or "").lower(), names, n=3, cutoff=0.5) if near else []
        ordered = close + [d for d in names if d not in close]
        more = f" (+{len(names) - 10} more: {listing})" if len(names) > 10 else ""
        return f"pre-trained {space} {metric} predictors exist for: {', '.join(ordered[:10])}{more}"
    counts: dict[str, int] = {}
    for _, m in have:
        counts[m] = counts.get(m, 0) + 1
    return (f"pre-trained {space} predictors exist for "
            f"{', '.join(f'{m} ({n} devices)' for m, n in sorted(counts.items()))}: {listing}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _resolve(device: str, metric: str, space: str, folder: Path) -> tuple[str, str, str, Path]:
    """(space, device, metric, path stem) of an existing pre-trained predictor; usage errors otherwise."""
    from hwnas.devices.registry import canonical_metric, get_device

    sp = _space(space)
    try:
        metric = canonical_metric(metric)
    except HwnasUsageError as exc:
        raise HwnasUsageError(f"{exc}; {_what_exists(sp, folder)}") from None
    try:
        dev = get_device(device).name
    except HwnasUsageError as exc:
        raise HwnasUsageError(f"{str(exc).splitlines()[0]}; {_what_exists(sp, folder, metric, device)}") from None
    stem = folder / file_stem(dev, metric, sp)
    if not stem.with_suffix(".json").is_file() and not stem.with_suffix(".npz").is_file():
        raise HwnasUsageError(f"no pre-trained {sp} {metric} predictor for device {dev!r}; "
                              f"{_what_exists(sp, folder, metric)}")
    return sp, dev, metric, stem


def _corrupt(stem: Path, file: str, exc: BaseException, space: str, metric: str) -> HwnasUsageError:
    return HwnasUsageError(f"pre-trained predictor {str(stem)!r} is corrupt or incomplete ({file}: "
                           f"{_first_line(exc)}); reinstall hwnas or rebuild it with '{REBUILD}'; "
                           f"{_what_exists(space, stem.parent, metric)}")


def _read_json(stem: Path, space: str, metric: str) -> dict[str, Any]:
    path = stem.with_suffix(".json")
    try:
        config = json.loads(path.read_text())
        config_model(config)
    except (ValueError, KeyError, TypeError, OSError, UnicodeDecodeError) as exc:
        raise _corrupt(stem, path.name, exc, space, metric) from None
    return config


@lru_cache(maxsize=None)
def _load(stem_text: str, space: str, metric: str) -> Predictor:
    stem = Path(stem_text)
    config = _read_json(stem, space, metric)
    model = str(config["model"])
    if model not in PREDICTORS:
        raise HwnasUsageError(f"pre-trained predictor {stem_text!r} is of unknown model {model!r} "
                              f"(this hwnas has: {', '.join(PREDICTORS.names())}); upgrade hwnas")
    klass = PREDICTORS.get(model)
    npz = stem.with_suffix(".npz")
    try:
        return restore(klass, config, npz, "the JSON")
    except HwnasUsageError:
        raise
    except LOAD_ERRORS as exc:
        raise _corrupt(stem, npz.name, exc, space, metric) from None


def load_pretrained(device: str, metric: str = "latency", space: str = "nb201", *,
                    folder: "str | os.PathLike[str] | None" = None) -> Predictor:
    """The shipped pre-trained predictor of (``device``, ``metric``) for ``space`` (cached; do not re-fit).

    ``device`` may be any name or alias of `hwnas devices`. An unknown device or metric, a device
    without a shipped predictor, or a missing or corrupt file: a one-line `HwnasUsageError` that
    names the predictors that exist. ``folder`` reads another folder of the same layout."""
    root = _folder(folder)
    sp, _, metric, stem = _resolve(device, metric, space, root)
    return _load(str(stem), sp, metric)


def pretrained_info(device: str, metric: str = "latency", space: str = "nb201", *,
                    folder: "str | os.PathLike[str] | None" = None) -> dict[str, Any]:
    """The JSON record of a shipped predictor: its config (model, hparams, arrays) and how it was
    built (device, metric, unit, train_size, holdout metrics, provenance, hwnas_version, command)."""
    root = _folder(folder)
    sp, _, metric, stem = _resolve(device, metric, space, root)
    return _read_json(stem, sp, metric)


def clear_cache() -> None:
    """Forget the loaded predictors (after rebuilding the files)."""
    _load.cache_clear()
