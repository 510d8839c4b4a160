"""Learned proxies: a model fitted on a user's small labelled set of NAS-Bench-201 networks
(``hwnas proxies fit``) that predicts test accuracy from the zero-cost feature vector
(`hwnas.proxies.learned_features`), then used like any proxy (``--proxy NAME`` in
``hwnas eval proxies`` and ``hwnas pareto``).

Models (`hwnas.proxies.learned_models`): ``forest`` -- a scikit-learn random forest (default) or
histogram gradient boosting, stored as node arrays and evaluated with numpy; ``parzc`` -- a
small ParZC network (min-max encoding, Mixer with Bayesian layers, DiffKendall loss), stored as
an npz of its weights. ParZC here reads the same 60-feature vector as the forest, NOT the paper's
node-wise zero-cost statistics (one statistic per layer and proxy, 294 numbers per NB201 network):
those would need a live pass over every network, hours on a CPU, where the feature vector is
read from the shipped class table in a second.

Storage (version-neutral, never pickles): ``$HWNAS_HOME/proxies/NAME/`` (the user data folder,
see `hwnas.devices._tables.user_data_dir`) holds ``proxy.json`` (the record: model, dataset,
labels file and hash, seed, feature names and setting, hyper-parameters, the labelled classes)
and ``model.npz`` (arrays, read with ``allow_pickle=False``). The folder is written beside and
moved into place whole.

A learned proxy's score of an architecture is its predicted accuracy (%; ParZC: a score on no
particular scale), the same for every member of an isomorphism class and whatever the run's
``--batch-size`` / ``--proxy-seed`` (its features are fixed at fit time), and it predicts the
dataset it was fitted on whatever the run's dataset. Every one of the 15,625 NB201 networks is
predicted at once (`learned_predictions`, a few ms per model), so a search or an evaluation
looks the scores up (`served_scores`, `learned_scores`) instead of building networks.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from hwnas.errors import HwnasUsageError
from hwnas.proxies.base import Proxy

PROXIES_DIR = "proxies"
MODELS = ("forest", "parzc")
MIN_LABELS = 20  # distinct isomorphism classes
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
FORMAT = "hwnas-learned-proxy"
CV_FOLDS = 5  # folds of the cross-validated Kendall tau a fit reports


@dataclass(frozen=True)
class Labels:
    """A user's labelled set: NB201 indices (as given) and their test accuracy (%), the file it
    came from and the file's SHA-256."""

    indices: np.ndarray
    accuracy: np.ndarray
    path: str
    sha256: str

    def by_class(self) -> tuple[np.ndarray, np.ndarray]:
        """(class representatives, mean accuracy of the labelled members of each), sorted."""
        from hwnas.spaces.nb201 import representative_indices

        rep = representative_indices()[self.indices]
        reps, inverse = np.unique(rep, return_inverse=True)
        acc = np.bincount(inverse, weights=self.accuracy) / np.bincount(inverse)
        return reps, acc


@dataclass(frozen=True)
class LearnedModel:
    """A fitted learned proxy: its record (``proxy.json``) and model."""

    record: dict[str, Any]
    model: Any  # TreeEnsemble | ParZC

    @property
    def name(self) -> str:
        return str(self.record["name"])

    def labelled_classes(self) -> np.ndarray:
        return np.asarray(self.record["labelled_representatives"], dtype=np.int64)

    def predict_all(self, progress: bool = False) -> np.ndarray:
        """Score of all 15,625 NB201 architectures (index order; class members share it)."""
        from hwnas.proxies.learned_features import FeatureSetting, feature_matrix
        from hwnas.spaces.nb201 import representative_indices

        fs = self.record["feature_setting"]
        setting = FeatureSetting(int(fs["seed"]), tuple(sorted((k, int(v)) for k, v in
                                                           fs["batch_size_by_dataset"].items())))
        X = feature_matrix(self.record["dataset"], setting, progress)
        rep = representative_indices()
        reps, inverse = np.unique(rep, return_inverse=True)
        return self.model.predict(X[reps])[inverse]


# ------------------------------------------------------------------------------ names ----
def proxies_root() -> Path:
    """``<user data folder>/proxies``."""
    from hwnas.devices._tables import user_data_dir

    return user_data_dir() / PROXIES_DIR


def check_name(name: str) -> str:
    """A valid learned-proxy name: 1-40 lower-case letters, digits, ``.``, ``_``, ``-``, not the
    name or alias of a built-in proxy."""
    from hwnas.proxies.base import PROXIES

    key = str(name).strip().lower()
    if not NAME_RE.match(key):
        raise HwnasUsageError(f"proxy name {name!r} is not valid: use 1-40 lower-case letters, digits, '.', '_' or "
                              "'-', starting with a letter or digit (e.g. my-proxy)")
    if key in PROXIES:
        raise HwnasUsageError(f"{name!r} names the built-in proxy {PROXIES.canonical(key)!r}; choose another --name "
                              f"(e.g. my-{key})")
    return key


def learned_names() -> list[str]:
    """Names of the learned proxies in the user data folder."""
    root = proxies_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "proxy.json").is_file() and NAME_RE.match(p.name))


def is_learned(name: str) -> bool:
    key = str(name).strip().lower()
    return bool(NAME_RE.match(key)) and (proxies_root() / key / "proxy.json").is_file()


# ----------------------------------------------------------------------------- labels ----
def read_label_file(path: "str | os.PathLike[str]", columns: Sequence[str]) -> tuple[Path, list[dict[str, str]]]:
    """(the path, its rows) of the labels CSV ``path``, which must be a file with ``columns``;
    a one-line usage error otherwise."""
    from hwnas.archcsv import read_csv

    p = Path(path).expanduser()
    if not p.is_file():
        raise HwnasUsageError(f"labels file {str(p)!r} does not exist or is not a file")
    header, rows = read_csv(p, " and ".join(columns))
    if not set(columns) <= set(header):
        need = "columns " + " and ".join(columns) if len(columns) > 1 else f"a column {columns[0]}"
        raise HwnasUsageError(f"{p}: needs {need} (has: {', '.join(header) or 'nothing'})")
    return p, rows


def read_labels(path: "str | os.PathLike[str] | Sequence[str | os.PathLike[str]]", space: str = "nb201") -> Labels:
    """Read a labels CSV, or several (e.g. one per labelling round) as one set: columns ``arch``
    (NB201 index, arch string or six op ids) and ``accuracy`` (test accuracy in %, 0..100).
    One-line usage errors name the file and line of a bad row: unknown architecture, missing /
    non-finite / out-of-range accuracy, an architecture given twice (in one file or across
    files); and too few rows (fewer than `MIN_LABELS` isomorphism classes). Several files: the
    path is their paths joined by ", " and the hash the SHA-256 of their hashes in order."""
    from hwnas.archcsv import arch_values

    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths:
        raise HwnasUsageError("no labels file given; pass --labels FILE")
    seen: dict[int, str] = {}
    indices, values, resolved, hashes = [], [], [], []
    for one in paths:
        p, rows = read_label_file(one, ("arch", "accuracy"))
        for line, index, raw, value in arch_values(p, rows, space, "accuracy"):
            if not (np.isfinite(value) and 0.0 <= value <= 100.0):
                raise HwnasUsageError(f"{p}: line {line}: accuracy {raw!r} is not a finite percentage in 0..100")
            if index in seen:
                raise HwnasUsageError(f"{p}: line {line}: architecture {index} is labelled twice (also {seen[index]}); "
                                      f"give each architecture once")
            seen[index] = f"{p}: line {line}" if len(paths) > 1 else f"on line {line}"
            indices.append(index)
            values.append(value)
        resolved.append(str(p.resolve()))
        hashes.append(hashlib.sha256(p.read_bytes()).hexdigest())
    digest = hashes[0] if len(hashes) == 1 else hashlib.sha256("".join(hashes).encode()).hexdigest()
    labels = Labels(np.asarray(indices, dtype=np.int64), np.asarray(values, dtype=np.float64), ", ".join(resolved),
                    digest)
    classes = labels.by_class()[0].size if indices else 0
    if classes < MIN_LABELS:
        where = str(Path(paths[0]).expanduser()) if len(paths) == 1 else f"{len(paths)} labels files"
        raise HwnasUsageError(f"{where}: {len(indices)} labelled architectures in {classes} isomorphism classes; a "
                              f"learned proxy needs at least {MIN_LABELS} classes")
    return labels


# -------------------------------------------------------------------------------- fit ----
def fit_model(X: np.ndarray, y: np.ndarray, model: str, seed: int, forest_kind: str | None = None,
              progress: bool = False) -> tuple[Any, dict[str, Any]]:
    """Fit ``model`` ("forest" or "parzc") on feature rows ``X`` and accuracies ``y`` (%).
    Returns (model object, its JSON-able config)."""
    from hwnas.proxies.learned_models import DEFAULT_FOREST, fit_forest, fit_parzc

    if model == "forest":
        ens, info = fit_forest(X, y, seed, forest_kind or DEFAULT_FOREST)
        return ens, {**info, **ens.config()}
    if model == "parzc":
        net = fit_parzc(X, y, seed, progress=progress)
        return net, net.config.as_dict()
    raise HwnasUsageError(f"unknown model {model!r}; use one of: {', '.join(MODELS)}")


def fit_learned_proxy(name: str, labels: Labels, dataset: str = "cifar100", model: str = "forest", seed: int = 0,
                      space: str = "nb201", forest_kind: str | None = None, progress: bool = False) -> LearnedModel:
    """Fit learned proxy ``name`` on ``labels`` (accuracy on ``dataset``), save it under
    `proxies_root` (replacing one of that name) and return it. Trained on the labelled
    isomorphism classes only (members of one class: their mean accuracy)."""
    from hwnas import __version__
    from hwnas.eval_truth import check_seed
    from hwnas.proxies.learned_features import feature_matrix, feature_names, table_setting
    from hwnas.spaces import get_space

    name = check_name(name)
    sp = get_space(space)
    if sp.name != "nb201":
        raise HwnasUsageError(f"learned proxies exist for nb201 only (its feature table ships), not {space!r}")
    ds = sp.dataset(dataset).name
    seed = check_seed(seed, "--seed")
    if model not in MODELS:
        raise HwnasUsageError(f"unknown model {model!r}; use one of: {', '.join(MODELS)}")
    setting = table_setting()
    X = feature_matrix(ds, setting, progress)
    reps, y = labels.by_class()
    fitted, config = fit_model(X[reps], y, model, seed, forest_kind, progress)
    train_pred = fitted.predict(X[reps])
    from scipy import stats

    cv_tau = cross_validated_tau(X[reps], y, model, seed, forest_kind, progress=progress)

    record = {"format": FORMAT, "format_version": 1, "name": name, "model": model, "space": sp.name, "dataset": ds,
              "n_labels": int(labels.indices.size), "n_classes": int(reps.size), "labels": labels.path,
              "labels_sha256": labels.sha256, "seed": seed, "features": list(feature_names()),
              "feature_setting": setting.as_dict(), "estimator": config,
              "train_kendall_tau": float(stats.kendalltau(train_pred, y).statistic) if reps.size > 1 else None,
              "cv_kendall_tau": cv_tau, "cv_folds": CV_FOLDS,
              "labelled_representatives": [int(r) for r in reps], "hwnas_version": __version__,
              "created": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    _save(name, record, fitted.to_arrays())
    return LearnedModel(record, fitted)


def cross_validated_tau(X: np.ndarray, y: np.ndarray, model: str, seed: int, forest_kind: str | None = None,
                        folds: int = 0, progress: bool = False) -> float:
    """Kendall tau between the labels ``y`` and out-of-fold predictions: ``folds`` (default
    `CV_FOLDS`) shuffled folds under ``seed``, each predicted by the model fitted on the others.
    What the fitted proxy's ranking is worth on networks it was not trained on, from the labels
    alone (a labelled set that is not a uniform sample describes its own kind of network)."""
    from scipy import stats
    from sklearn.model_selection import KFold

    from hwnas.progress import progress_bar

    oof = np.empty(y.size, dtype=np.float64)
    splits = list(KFold(folds or CV_FOLDS, shuffle=True, random_state=seed).split(X))
    with progress_bar(progress) as bar:
        task = bar.add_task("cross-validating", total=len(splits), status="")
        for train, test in splits:
            fold_model, _ = fit_model(X[train], y[train], model, seed, forest_kind)
            oof[test] = fold_model.predict(X[test])
            bar.update(task, advance=1)
    return float(stats.kendalltau(oof, y).statistic)


def _save(name: str, record: dict[str, Any], arrays: dict[str, np.ndarray]) -> Path:
    from hwnas.storage import replace_folder

    root = proxies_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    except OSError as exc:
        raise HwnasUsageError(f"cannot write the user data folder {root} ({exc.strerror or exc}); set HWNAS_HOME to a "
                              "writable folder") from None
    np.savez(staged / "model.npz", **arrays)
    (staged / "proxy.json").write_text(json.dumps(record, indent=1) + "\n")
    os.chmod(staged, 0o777 & ~_umask())
    final = root / name
    replace_folder(staged, final)
    return final


def _umask() -> int:
    from hwnas.storage import current_umask

    return current_umask()


# ------------------------------------------------------------------------------- load ----
def load_learned(name: str) -> LearnedModel:
    """The learned proxy ``name`` from the user data folder; one-line usage errors where it is
    missing or damaged, or where the shipped feature table changed since it was fitted."""
    key = str(name).strip().lower()
    folder = proxies_root() / key
    if not (folder / "proxy.json").is_file():
        known = learned_names()
        raise HwnasUsageError(f"no learned proxy {name!r} in {proxies_root()} (have: {', '.join(known) or 'none'}); "
                              "fit one with 'hwnas proxies fit'")
    stamp = tuple(os.stat(folder / f).st_mtime_ns if (folder / f).exists() else 0 for f in ("proxy.json", "model.npz"))
    return _load(str(folder), stamp)


def fit_hashes(proxies: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """(name, hash) of every learned proxy among ``proxies``, the hash the first 12 hex digits of
    SHA-256 over its record as loaded (``proxy.json``: the labels file's hash, seed, model
    settings, feature setting, version and time of the fit, which determine the model: fits are
    deterministic). A score setting carries them so that archived scores of an earlier fit under
    the same name are never served for a refitted proxy."""
    out = []
    for p in proxies:
        if is_learned(p):
            m = load_learned(p)
            out.append((m.name, hashlib.sha256(json.dumps(m.record, sort_keys=True).encode()).hexdigest()[:12]))
    return tuple(out)


def labelled_representatives(proxies: Sequence[str]) -> frozenset[int]:
    """The labelled classes (their representatives) of every learned proxy among ``proxies``."""
    return frozenset(int(r) for p in proxies if is_learned(p) for r in load_learned(p).labelled_classes())


@lru_cache(maxsize=16)
def _load(folder: str, stamp: tuple[int, ...]) -> LearnedModel:
    from hwnas.proxies.learned_features import table_setting
    from hwnas.proxies.learned_models import ParZC, ParZCConfig, TreeEnsemble

    path = Path(folder)
    try:
        record = json.loads((path / "proxy.json").read_text())
        with np.load(path / "model.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        if record.get("format") != FORMAT:
            raise ValueError("not a learned-proxy record")
        if record["model"] == "forest":
            model: Any = TreeEnsemble.from_arrays(arrays, record["estimator"])
        else:
            model = ParZC(ParZCConfig.from_dict(record["estimator"]), arrays)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HwnasUsageError(f"learned proxy {path.name!r} ({path}) is damaged ({type(exc).__name__}); fit it again "
                              f"with 'hwnas proxies fit --name {path.name} ...'") from None
    if record["feature_setting"] != table_setting().as_dict():
        raise HwnasUsageError(f"learned proxy {path.name!r} was fitted on features of another AZ-NAS table setting "
                              f"({record['feature_setting']}); fit it again with 'hwnas proxies fit'")
    return LearnedModel(record, model)


@lru_cache(maxsize=16)
def _predictions(folder: str, stamp: tuple[int, ...]) -> np.ndarray:
    out = _load(folder, stamp).predict_all()
    out.setflags(write=False)
    return out


def learned_predictions(name: str) -> np.ndarray:
    """Scores of all 15,625 NB201 architectures under learned proxy ``name`` (cached per file
    version; read-only)."""
    load_learned(name)  # the errors, and the cache key below
    folder = proxies_root() / str(name).strip().lower()
    stamp = tuple(os.stat(folder / f).st_mtime_ns for f in ("proxy.json", "model.npz"))
    return _predictions(str(folder), stamp)


def learned_scores(name: str, indices: Sequence[int]) -> np.ndarray:
    """Scores of NB201 ``indices`` under learned proxy ``name`` (float64, in order)."""
    return np.asarray(learned_predictions(name)[np.asarray(indices, dtype=np.int64)], dtype=np.float64)


def labelled_members(names: Sequence[str]) -> np.ndarray:
    """Every NB201 index whose isomorphism class was labelled for any of the learned proxies
    ``names``: what an evaluation leaves out so that it stays disjoint from the labelled set."""
    from hwnas.spaces.nb201 import representative_indices

    classes = np.unique(np.concatenate([load_learned(n).labelled_classes() for n in names] or [np.zeros(0, int)]))
    return np.flatnonzero(np.isin(representative_indices(), classes))


# ---------------------------------------------------------------------- as a proxy ----
class LearnedProxy(Proxy):
    """A learned proxy seen through the `Proxy` interface, so that ``--proxies`` parsing, score
    columns and listings accept it (`learned_proxy`). It is scored by architecture from its
    feature table (`served_scores`, `learned_scores`), not from a network pass: `compute` is a
    usage error."""

    name: ClassVar[str] = "learned"
    description: ClassVar[str] = "a proxy fitted with 'hwnas proxies fit' (predicted test accuracy, %)"
    cost: ClassVar[str] = "free"  # type: ignore[assignment]

    def __init__(self, name: str, record: dict[str, Any]) -> None:
        self.name = name  # type: ignore[misc]
        self.description = (f"learned ({record['model']}, {record['n_classes']} labelled classes, "  # type: ignore[misc]
                            f"{record['dataset']}): predicted test accuracy (%)")
        self.record = record

    def compute(self, ctx) -> dict[str, float]:
        raise HwnasUsageError(f"learned proxy {self.name!r} is scored per NB201 architecture from its features, not on "
                              "a built network; combine it only with proxies the shipped score table serves (the "
                              "default --batch-size and --proxy-seed)")


def learned_proxy(name: str) -> LearnedProxy | None:
    """The learned proxy ``name`` as a `Proxy`, or None when the user data folder has none of that
    name (a damaged one is a usage error)."""
    if not is_learned(name):
        return None
    model = load_learned(name)
    return LearnedProxy(model.name, model.record)


def served_scores(space: str, dataset: str, proxies: tuple[str, ...], seed: int, batch_size: int,
                  use_shipped: bool = True) -> dict[int, dict[str, float]] | None:
    """{NB201 class representative: {column: score}} that a search looks up instead of scoring:
    `hwnas.proxies.table.shipped_scores` (when ``use_shipped``) extended by every learned proxy
    among ``proxies`` (predicted for every class). None when there is nothing to look up; a
    usage error when a learned proxy is combined with a proxy that would need live scoring."""
    from hwnas.proxies.table import shipped_scores

    learned = [p for p in proxies if is_learned(p)]
    others = tuple(p for p in proxies if p not in learned)
    base = shipped_scores(space, dataset, others, seed, batch_size) if (use_shipped and others) else None
    if not learned:
        return base
    if space != "nb201":
        raise HwnasUsageError(f"learned proxies score nb201 architectures only, not {space!r}")
    if others and base is None:
        raise HwnasUsageError(f"learned proxy {learned[0]!r} combines only with proxies the shipped score table serves "
                              f"(az_nas at the default --batch-size and --proxy-seed, shipped scores on); "
                              f"{', '.join(others)} would be scored live")
    from hwnas.spaces.nb201 import representative_indices

    reps = np.unique(representative_indices())
    preds = {p: learned_predictions(p) for p in learned}
    out: dict[int, dict[str, float]] = {}
    for r in reps:
        row = dict(base[int(r)]) if base is not None else {}
        if others and base is not None and int(r) not in base:
            continue
        row.update({p: float(v[r]) for p, v in preds.items()})
        out[int(r)] = row
    return out
