"""Few-shot adaptation: a new device's cost over a whole search space from a few measurements.

Everything measured on the known devices (the shipped tables, `hwnas.devices.measured_column`)
is the prior knowledge; a handful of measured architectures on the new device pins it down.

Method (measured on HELP's protocol, ``bench/fewshot_help.py``; Pi 5, ``bench/fewshot_pi5.py``):

* features of every architecture: cheap arch-level features (NB201: how many skip / conv1x1 /
  conv3x3 / avg-pool ops the cell has, log FLOPs and log params; FBNet: how many blocks of each
  op) and the log-costs of the fully measured *source* devices, also as a low-rank embedding
  (first components of the PCA of the standardised source log-costs);
* eight small "views", each a ridge regression on a few of those features with its shrinkage
  chosen by exact leave-one-out on the samples. Of the log cost: op counts; op counts + log
  FLOPs/params; embedding + log FLOPs/params; op counts + 2 embedding components; op counts +
  the best single source; the best single source alone (the source chosen by its own LOO
  error). Of the cost itself (additive costs): op counts + FLOPs + params (NB201 only), and the
  "FLOPs + params line", cost = a * FLOPs + b * params + c by plain least squares (NB201 only:
  what a user would fit first);
* below 100 samples the prediction is a weighted geometric mean of all views, weight 1 / (the
  view's LOO mean squared log error), then shrunk towards the line: log prediction = (1 - lam) *
  log line + lam * weighted views, with lam in [0, 1] the value that minimises the squared log
  error of the LOO predictions (no evidence that the views beat the line: lam = 0, the line).
  Chosen on HELP's protocol over "mean of the 4 views with the lowest LOO error" (the previous
  rule), the single best view, non-negative stacking, Akaike-style weights and line-offset
  residual views. Every view is linear in (arch features, source log-costs): the adapter stores
  plain coefficients and one weight per view. From 100 samples on: one "full" view (below).

The adapter also reports its own error, estimated by refitting the whole procedure without each
sample in turn (leave-one-out; 20-fold beyond 60 samples): Spearman, MAPE and +-10 % accuracy on
the samples. Units: the target's own (ms for latency, mJ for energy); the model works on logs.

Public API: `source_matrix`, `arch_features`, `select_informative`, `fit_adapter`, `Adapter`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
import math
from typing import Any, Sequence
import warnings

import numpy as np

from hwnas.errors import HwnasUsageError

FORMAT = "hwnas-adapter"
FORMAT_VERSION = 2  # 2: raw source costs (coef_src_raw)
MIN_SAMPLES = 5
EMBED_DIM = 3  # PCA components of the source log-costs in the "embedding" view
FEW_TOP: "int | None" = None
LINE_VIEW = "line:flops+params"  # cost = a * FLOPs + b * params + c, least squares (few-shot regime)
LOO_MAX = 60  # exact leave-one-out up to this many samples, else CV_FOLDS-fold
FULL_FROM = 100  # from this many samples on, the "full" view alone (every feature, every source)
FULL_TOP = 1  # how many of those two views are averaged (geometric mean)
RAW_PENALTY = 1.0  # from FULL_FROM on, the raw view wins if its LOO error x this is lower (1: plain LOO choice)
CV_FOLDS = 20
ALPHAS = tuple(float(a) for a in np.logspace(-4, 4, 33))
NB201_ROWS = 15_625
NB201_OPS = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")  # op ids 1..4


# --- inputs -----------------------------------------------------------------------------------
def _space_name(space: str) -> str:
    from hwnas.devices.measured import canonical_space

    return canonical_space(space)


def n_archs(space: str) -> int:
    """Rows of ``space``'s measured tables: 15,625 NB201 indices, or HELP's 5,000 FBNet archs."""
    return NB201_ROWS if _space_name(space) == "nb201" else len(_fbnet_ops())


@lru_cache(maxsize=1)
def _fbnet_ops() -> np.ndarray:
    from hwnas.devices.measured import fbnet_archs

    return fbnet_archs()


@lru_cache(maxsize=16)
def _source_matrix(space: str, metric: str, exclude: tuple[str, ...], sources: "tuple[str, ...] | None"
                   ) -> tuple[tuple[str, ...], np.ndarray]:
    from hwnas.devices import devices_with_data, get_device, measured_column

    names = list(sources) if sources is not None else devices_with_data(space, metric)
    names = [get_device(n).name for n in names]
    names = list(dict.fromkeys(names))  # aliases of one device count once
    cols, kept = [], []
    for name in names:
        if name in exclude:
            continue
        col = measured_column(space, name, metric)
        if not np.all(np.isfinite(col)) or not np.all(col > 0):
            if sources is not None:
                raise HwnasUsageError(f"source device {name!r} is not measured on every {space} architecture "
                                      f"({int(np.isfinite(col).sum())} of {col.size}); leave it out")
            continue
        cols.append(np.log(col))
        kept.append(name)
    if len(kept) < 1:
        raise HwnasUsageError(f"no fully measured {metric} source devices on {space} (after excluding "
                              f"{', '.join(exclude) or 'none'})")
    out = np.column_stack(cols)
    out.setflags(write=False)
    return tuple(kept), out


def source_matrix(space: str, metric: str = "latency", exclude: Sequence[str] = (),
                  sources: "Sequence[str] | None" = None) -> tuple[list[str], np.ndarray]:
    """Log-costs of the fully measured source devices: (device names, float64 [n_archs, n_sources]).

    Natural log of the measured value in the device's unit (ms for latency, mJ for energy).
    Rows: the 15,625 NB201 indices, or the 5,000 FBNet archs of `hwnas.devices.fbnet_archs()`.
    ``sources=None`` takes every device measured on every row of ``space`` for ``metric`` (a
    device with any gap is skipped); ``exclude`` drops devices (names or aliases), e.g. the target.
    Architecture-level features are in `arch_features`."""
    from hwnas.devices import get_device

    space = _space_name(space)
    excl = tuple(sorted(get_device(e).name for e in exclude))
    src = None if sources is None else tuple(str(s) for s in sources)
    names, x = _source_matrix(space, str(metric), excl, src)
    return list(names), x


@lru_cache(maxsize=8)
def _arch_features(space: str, dataset: str) -> tuple[tuple[str, ...], np.ndarray, int]:
    if space == "nb201":
        from hwnas.spaces.nb201 import _index_tables, cost_arrays

        genotypes = np.asarray(_index_tables()[0], dtype=np.int64)
        counts = np.column_stack([(genotypes == o).sum(1) for o in range(1, 5)]).astype(np.float64)
        params, flops = cost_arrays(dataset)
        f64, p64 = flops.astype(np.float64), params.astype(np.float64)
        x = np.column_stack([counts, np.log(f64), np.log(p64), f64 / 1e6, p64 / 1e6])
        names = tuple(f"count_{op}" for op in NB201_OPS) + (
            f"log_flops_{dataset}", f"log_params_{dataset}", f"mflops_{dataset}", f"mparams_{dataset}")
        return names, x, 4
    ops = _fbnet_ops()
    counts = np.column_stack([(ops == o).sum(1) for o in range(8)]).astype(np.float64)  # skip (8) is implied
    return tuple(f"count_op{o}" for o in range(8)), counts, 8


def arch_features(space: str, dataset: "str | None" = None) -> tuple[list[str], np.ndarray]:
    """Architecture-level features: (names, float64 [n_archs, n_features]).

    NB201: counts of skip / conv1x1 / conv3x3 / avg-pool ops among the cell's 6 edges, natural log
    of FLOPs and of params, FLOPs and params in millions (NAS-Bench-201 counting convention,
    ``dataset``: cifar10 by default, the input of HW-NAS-Bench's measurements). FBNet: how many of the 22 blocks use op 0..7."""
    space = _space_name(space)
    ds = _dataset(space, dataset)
    names, x, _ = _arch_features(space, ds)
    return list(names), x


def _dataset(space: str, dataset: "str | None") -> str:
    if space == "nb201":
        from hwnas.spaces import get_space

        return get_space("nb201").dataset(dataset or "cifar10").name
    return "cifar100"


# --- the model ----------------------------------------------------------------------------------
@dataclass
class _Design:
    """Everything the views read, for one space / source set, on all rows."""

    arch: np.ndarray  # [n, a]
    n_counts: int  # the first n_counts arch columns are op counts
    src: np.ndarray  # [n, s] log-costs
    embed_w: np.ndarray  # [s, k]: embedding = src @ embed_w + embed_b
    embed_b: np.ndarray  # [k]
    onehot: np.ndarray  # [n, o]: one-hot genotype (NB201: 6 edges x 5 ops; FBNet: none, o = 0)


@lru_cache(maxsize=4)
def _onehot(space: str) -> np.ndarray:
    if space != "nb201":
        return np.zeros((n_archs(space), 0))
    from hwnas.spaces.nb201 import _index_tables

    genotypes = np.asarray(_index_tables()[0], dtype=np.int64)
    out = np.concatenate([(genotypes == o).astype(np.float64) for o in range(5)], axis=1)
    out.setflags(write=False)
    return out


def onehot_features(space: str) -> tuple[list[str], np.ndarray]:
    """One-hot genotype of every architecture: (names, float64 [n_archs, 30]) on NB201 (column
    ``op * 6 + edge``, op 0..4 = none, skip, conv1x1, conv3x3, avg-pool); FBNet: no columns."""
    space = _space_name(space)
    x = _onehot(space)
    ops = ("none",) + NB201_OPS
    names = [f"edge{e}_{ops[o]}" for o in range(5) for e in range(6)] if x.shape[1] else []
    return names, x


def _design(arch: np.ndarray, n_counts: int, src: np.ndarray, onehot: "np.ndarray | None" = None) -> _Design:
    mu, sd = src.mean(0), src.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    z = (src - mu) / sd
    # right singular vectors of the centred standardised matrix (z is centred already)
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    k = min(EMBED_DIM, vt.shape[0])
    v = vt[:k].T
    sign = np.sign(v[np.argmax(np.abs(v), axis=0), np.arange(k)])  # deterministic sign
    v = v * sign
    if onehot is None:
        onehot = np.zeros((arch.shape[0], 0))
    return _Design(arch, n_counts, src, v / sd[:, None], -(mu / sd) @ v, onehot)


def _views(d: _Design, n: int = 0) -> dict[str, tuple[str, list[tuple[str, int]]]]:
    """View name -> (scale, feature columns as (block, column) pairs); scale 'log' fits the log
    cost, 'raw' the cost itself (additive costs: a line in FLOPs and params). Blocks: 'a' arch,
    'e' embedding, 's' source, ('s', -1) = the best single source, picked per fit, 'r' a source's
    cost itself (not its log), 'o' one-hot genotype. From FULL_FROM samples (``n``) on, the
    views are "full": log cost on op counts, log FLOPs/params, every source's log cost and the
    one-hot genotype (the few-feature views underfit when samples are many); "raw:full": the
    cost itself as a line in the op counts, FLOPs, params, every source's cost and the one-hot
    genotype (latency adds up over a network, so a cost-space line extrapolates to networks
    cheaper than the samples: ``bench/subset_shift.py``); and "raw:onehot+flops+params"
    (additive cost models); `_fit_many` keeps the one with the lowest LOO error."""
    counts = [("a", j) for j in range(d.n_counts)]
    extra = [("a", j) for j in range(d.n_counts, d.arch.shape[1])]
    logx, rawx = extra[:2], extra[2:]  # NB201: log FLOPs/params, then FLOPs/params in millions
    k = d.embed_w.shape[1]
    views = {
        "counts": ("log", counts),
        "counts+flops": ("log", counts + logx),
        "embed+flops": ("log", [("e", j) for j in range(k)] + logx),
        "counts+embed2": ("log", counts + [("e", j) for j in range(min(2, k))]),
        "counts+best_source": ("log", counts + [("s", -1)]),
        "best_source": ("log", [("s", -1)]),
        LINE_VIEW: ("raw", rawx),
        "raw:counts+flops+params": ("raw", counts + rawx),
    }
    if n >= FULL_FROM:
        full = counts + logx + [("s", j) for j in range(d.src.shape[1])] + [("o", j) for j in range(d.onehot.shape[1])]
        onehot = [("o", j) for j in range(d.onehot.shape[1])]
        views = {"full": ("log", full)}
        if rawx and onehot:  # additive costs (accelerator models: Eyeriss, FPGA) are a line in these
            views["raw:full"] = ("raw", counts + rawx + [("r", j) for j in range(d.src.shape[1])] + onehot)
            views["raw:onehot+flops+params"] = ("raw", onehot + rawx)
        return views
    if not extra:  # FBNet: no FLOPs columns
        for name in ("counts+flops", LINE_VIEW, "raw:counts+flops+params"):
            views.pop(name)
    return views


def _linear_map(d: _Design, cols: list[tuple[str, int]], best: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A view's features as raw = arch @ Wa + src @ Ws + exp(src) @ Wr + onehot @ Wo + b (so that
    coefficients map back)."""
    a, s, o = d.arch.shape[1], d.src.shape[1], d.onehot.shape[1]
    wa, ws, wr, b = np.zeros((a, len(cols))), np.zeros((s, len(cols))), np.zeros((s, len(cols))), np.zeros(len(cols))
    wo = np.zeros((o, len(cols)))
    for i, (block, j) in enumerate(cols):
        if block == "a":
            wa[j, i] = 1.0
        elif block == "o":
            wo[j, i] = 1.0
        elif block == "r":
            wr[j, i] = 1.0
        elif block == "e":
            ws[:, i] = d.embed_w[:, j]
            b[i] = d.embed_b[j]
        elif j >= 0:
            ws[j, i] = 1.0
        else:
            ws[best, i] = 1.0
    return wa, ws, wr, wo, b


def _mapped(d: _Design, rows: np.ndarray, maps: tuple[np.ndarray, ...]) -> np.ndarray:
    """A view's features of samples ``rows`` from its `_linear_map` (wa, ws, wr, wo, b)."""
    wa, ws, wr, wo, b = maps
    return d.arch[rows] @ wa + d.src[rows] @ ws + np.exp(d.src[rows]) @ wr + d.onehot[rows] @ wo + b


def _best_source(src_s: np.ndarray, y: np.ndarray) -> int:
    """The source whose 1-D log-log linear fit has the lowest leave-one-out error on the samples."""
    n = len(y)
    errs = np.empty(src_s.shape[1])
    for j in range(src_s.shape[1]):
        x = np.column_stack([np.ones(n), src_s[:, j]])
        h = x @ np.linalg.pinv(x)
        res = (y - h @ y) / np.maximum(1.0 - np.diag(h), 1e-9)
        errs[j] = np.mean(res ** 2)
    return int(np.argmin(errs))


@dataclass
class _Fit:
    coef_arch: np.ndarray  # [views, a]
    coef_src: np.ndarray  # [views, s]
    coef_onehot: np.ndarray  # [views, o]
    coef_src_raw: np.ndarray  # [views, s]: on the sources' costs (exp of the log-costs)
    intercept: np.ndarray  # [views]
    raw: np.ndarray  # [views] bool: the view predicts the cost itself, not its log
    floor: float  # raw views' predictions are clipped below at this cost
    views: list[str]
    view_loo_mse: dict[str, float]
    best_source: int
    weights: "np.ndarray | None" = None  # [views]: log prediction = sum of weight x view; None: the mean


def _view_log(fit: "_Fit | Adapter", arch: np.ndarray, src: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """Each view's log-cost prediction [n, views]."""
    lin = arch @ np.asarray(fit.coef_arch).T + src @ np.asarray(fit.coef_src).T + np.asarray(fit.intercept)
    coef_o = np.asarray(fit.coef_onehot)
    if coef_o.size:
        lin = lin + onehot @ coef_o.T
    coef_r = np.asarray(fit.coef_src_raw)
    if coef_r.size and np.any(coef_r):
        lin = lin + np.exp(src) @ coef_r.T
    raw = np.asarray(fit.raw, dtype=bool)
    return np.where(raw, np.log(np.maximum(lin, fit.floor)), lin)


def _predict_log(fit: "_Fit | Adapter", arch: np.ndarray, src: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    """Log-cost prediction: the weighted sum over views of each view's log prediction (``weights``;
    absent or empty: the plain mean, as adapters saved before view weights)."""
    out = _view_log(fit, arch, src, onehot)
    w = getattr(fit, "weights", None)
    if w is None or np.asarray(w).size == 0:  # adapters saved before view weights: the plain mean
        return out.mean(axis=1)
    return out @ np.asarray(w, dtype=np.float64)


def _fit_ensemble(d: _Design, rows: np.ndarray, y: np.ndarray, view: "str | None" = None) -> _Fit:
    if len(rows) < FULL_FROM:
        return _fit_few(d, rows, y)
    return _fit_many(d, rows, y, view)


def _ridge_loo(x: np.ndarray, t: np.ndarray, alphas: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Ridge regressions of ``t`` on ``x`` with an unpenalised intercept, one per alpha: (coefficients
    on ``x`` [A, p], exact leave-one-out residuals [A, n]) from the SVD of the centred ``x``."""
    n = len(t)
    m = x.mean(0)
    xc = x - m
    tc = t - t.mean()
    u, sv, vt = np.linalg.svd(xc, full_matrices=False)
    keep = sv > 1e-10 * max(sv.max(initial=0.0), 1e-300)
    u, sv, vt = u[:, keep], sv[keep], vt[keep]
    uty = u.T @ tc
    coefs, res = [], []
    for a in alphas:
        f = sv ** 2 / (sv ** 2 + a)
        fitted = t.mean() + u @ (f * uty)
        h = 1.0 / n + (u ** 2) @ f
        res.append((t - fitted) / np.maximum(1.0 - h, 1e-9))
        coefs.append(vt.T @ (f / sv * uty))
    return np.array(coefs), np.array(res)


def _fit_few(d: _Design, rows: np.ndarray, y: np.ndarray) -> _Fit:
    """Below FULL_FROM samples: every view of `_views` with its exact leave-one-out predictions,
    combined in log space with weights 1 / (LOO mean squared log error), then shrunk towards the
    FLOPs + params line (the view "line:flops+params", plain least squares on the cost) by the
    convex weight that minimises the LOO error of the blend (0: the line alone, 1: the weighted
    views). Ridge shrinkage of each view: the alpha of ALPHAS with the lowest LOO error."""
    n = len(rows)
    best = _best_source(d.src[rows], y)
    ey = np.exp(y)
    floor = float(0.1 * ey.min())
    items = []  # (name, raw, coef_arch, coef_src, coef_onehot, intercept, LOO log predictions, coef_src_raw)
    for name, (scale, cols) in _views(d, n).items():
        wa, ws, wr, wo, b = _linear_map(d, cols, best)
        x = _mapped(d, rows, (wa, ws, wr, wo, b))
        mu, sd = x.mean(0), x.std(0)
        sd = np.where(sd > 1e-12, sd, 1.0)
        raw = scale == "raw"
        target = ey if raw else y
        alphas = (0.0,) if name == LINE_VIEW else ALPHAS  # the line: ordinary least squares
        coefs, res = _ridge_loo((x - mu) / sd, target, alphas)
        k = int(np.argmin(np.mean(res ** 2, axis=1)))
        c = coefs[k] / sd
        loo = target - res[k]
        if raw:
            loo = np.log(np.maximum(loo, floor))
        items.append((name, raw, wa @ c, ws @ c, wo @ c, float(target.mean() - mu @ c + b @ c), loo, wr @ c))
    mse = np.array([np.mean((y - it[6]) ** 2) for it in items])
    w = 1.0 / np.maximum(mse, 1e-12)
    if FEW_TOP is not None:  # only the FEW_TOP views with the lowest LOO error
        w[np.argsort(mse, kind="stable")[FEW_TOP:]] = 0.0
    w = w / w.sum()
    names = [it[0] for it in items]
    if LINE_VIEW in names:  # shrink towards the line by the LOO-optimal convex weight
        li = names.index(LINE_VIEW)
        line = items[li][6]
        delta = np.column_stack([it[6] for it in items]) @ w - line
        lam = float(np.clip(np.dot(y - line, delta) / max(float(np.dot(delta, delta)), 1e-300), 0.0, 1.0))
        w = lam * w
        w[li] += 1.0 - lam
    order = sorted(range(len(items)), key=lambda i: (-w[i], names[i]))
    order = [i for i in order if w[i] > 0]
    return _Fit(
        coef_arch=np.array([items[i][2] for i in order]), coef_src=np.array([items[i][3] for i in order]),
        coef_onehot=np.array([items[i][4] for i in order]).reshape(len(order), d.onehot.shape[1]),
        coef_src_raw=np.array([items[i][7] for i in order]).reshape(len(order), d.src.shape[1]),
        intercept=np.array([items[i][5] for i in order]), raw=np.array([items[i][1] for i in order]),
        floor=floor, views=[names[i] for i in order],
        view_loo_mse={names[i]: float(mse[i]) for i in np.argsort(mse, kind="stable")},
        best_source=best, weights=np.array([w[i] for i in order]),
    )


def _fit_many(d: _Design, rows: np.ndarray, y: np.ndarray, view: "str | None" = None) -> _Fit:
    """From FULL_FROM samples on: fit the views of `_views` (RidgeCV) on ``rows`` (log targets
    ``y``) and keep the one with the lowest leave-one-out error (squared log error; relative
    error for raw views), or the view named ``view``. A fixed view is for samples that are not
    like the architectures predicted (a biased subset), where leave-one-out error on the samples
    does not say which view extrapolates: ``bench/subset_shift.py`` measures that. With a fixed
    view every view is kept, the named one with weight 1 and the others with weight 0: they
    predict nothing but say how far the views disagree (`Adapter.view_costs`)."""
    from sklearn.linear_model import RidgeCV

    best = _best_source(d.src[rows], y)
    ey = np.exp(y)
    fits = []
    views = _views(d, len(rows))
    if view is not None and view not in views:
        raise HwnasUsageError(f"unknown adapter view {view!r} for {len(rows)} samples; use one of "
                              f"{', '.join(views)} (or none: the lowest leave-one-out error)")
    for name, (scale, cols) in views.items():
        wa, ws, wr, wo, b = _linear_map(d, cols, best)
        x = _mapped(d, rows, (wa, ws, wr, wo, b))
        m, s = x.mean(0), x.std(0)
        s = np.where(s > 1e-12, s, 1.0)
        target = ey if scale == "raw" else y
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = RidgeCV(alphas=ALPHAS, store_cv_results=True).fit((x - m) / s, target)
        sq = r.cv_results_[:, list(r.alphas).index(r.alpha_)] if r.cv_results_.ndim == 2 else r.cv_results_
        loo = float(np.mean(sq / ey ** 2)) if scale == "raw" else float(np.mean(sq))
        c = r.coef_ / s
        fits.append((loo, name, wa @ c, ws @ c, float(r.intercept_ - m @ c + b @ c), scale == "raw", wo @ c, wr @ c))
    # the view with the lowest LOO error, or the fixed view first and the others at weight 0
    fits.sort(key=lambda f: (f[1] != view, f[0] * (RAW_PENALTY if f[5] else 1.0), f[1]))
    top = fits if view is not None else fits[:FULL_TOP]
    weights = np.eye(len(top))[0] if view is not None else None
    return _Fit(
        coef_arch=np.array([f[2] for f in top]), coef_src=np.array([f[3] for f in top]),
        coef_onehot=np.array([f[6] for f in top]).reshape(len(top), d.onehot.shape[1]),
        coef_src_raw=np.array([f[7] for f in top]).reshape(len(top), d.src.shape[1]),
        intercept=np.array([f[4] for f in top]), raw=np.array([f[5] for f in top]),
        floor=float(0.1 * ey.min()), views=[f[1] for f in top], view_loo_mse={f[1]: f[0] for f in fits},
        best_source=best, weights=weights,
    )


def _cross_validated(d: _Design, rows: np.ndarray, y: np.ndarray, seed: int, view: "str | None" = None
                     ) -> tuple[np.ndarray, str]:
    """Out-of-sample log predictions of every sample by refitting the whole procedure."""
    n = len(rows)
    if n <= LOO_MAX:
        folds = [np.array([i]) for i in range(n)]
        kind = "leave-one-out"
    else:
        perm = np.random.default_rng(seed).permutation(n)
        folds = np.array_split(perm, CV_FOLDS)
        kind = f"{CV_FOLDS}-fold"
    out = np.empty(n)
    for f in folds:
        keep = np.setdiff1d(np.arange(n), f)
        fit = _fit_ensemble(d, rows[keep], y[keep], view)
        out[f] = _predict_log(fit, d.arch[rows[f]], d.src[rows[f]], d.onehot[rows[f]])
    return out, kind


# --- the adapter ----------------------------------------------------------------------------------
@dataclass
class Adapter:
    """A fitted few-shot cost model for one new device: the weighted geometric mean (``weights``,
    summing to 1; empty = equal) over its views of each view's linear prediction ``arch @ coef_arch[v] + log source costs @ coef_src[v] + source costs @ coef_src_raw[v] +
    intercept[v]`` (the log cost, or for ``raw[v]`` views the cost itself, clipped at ``floor``).
    `predict` returns the cost in ``unit`` (ms or mJ).

    ``loo`` holds the estimate of its own error on the samples (``spearman``, ``mape_pct``,
    ``acc10_pct``, ``kind``: leave-one-out or k-fold)."""

    space: str
    dataset: str
    metric: str
    unit: str
    sources: list[str]
    source_metric: str
    feature_names: list[str]
    coef_arch: np.ndarray  # [views, features]
    coef_src: np.ndarray  # [views, sources]
    intercept: np.ndarray  # [views]
    raw: np.ndarray  # [views] bool
    floor: float  # in unit
    sample_indices: np.ndarray
    sample_values: np.ndarray
    views: list[str]
    view_loo_mse: dict[str, float]
    loo: dict[str, Any]
    seed: int = 0
    device: str = ""
    coef_onehot: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [views, one-hot] or empty
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [views] or empty (= the plain mean)
    coef_src_raw: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # [views, sources] or empty
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_samples(self) -> int:
        return int(len(self.sample_indices))

    def _inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if "x" not in self._cache:
            names, arch = arch_features(self.space, self.dataset)
            if names != list(self.feature_names):
                raise HwnasUsageError(f"adapter features {self.feature_names} differ from this hwnas's "
                                      f"{names}; refit the adapter")
            _, src = source_matrix(self.space, self.source_metric, sources=self.sources)
            self._cache["x"] = (arch, src, _onehot(self.space))
        return self._cache["x"]

    def predict(self, indices: "Sequence[int] | np.ndarray | None" = None) -> np.ndarray:
        """Predicted cost (float64, in ``unit``) of the architectures at ``indices`` (NB201 index,
        or FBNet row of `hwnas.devices.fbnet_archs()`); None = every architecture."""
        arch, src, onehot = self._inputs()
        if indices is None:
            rows = np.arange(arch.shape[0])
        else:
            rows = _check_indices(indices, arch.shape[0], self.space)
        return np.exp(_predict_log(self, arch[rows], src[rows], onehot[rows]))

    def view_costs(self, indices: "Sequence[int] | np.ndarray | None" = None) -> np.ndarray:
        """Each view's predicted cost [n, views] (in ``unit``), whatever its weight in `predict`:
        where views that fit the samples equally well disagree, the prediction is extrapolating."""
        arch, src, onehot = self._inputs()
        rows = np.arange(arch.shape[0]) if indices is None else _check_indices(indices, arch.shape[0], self.space)
        return np.exp(_view_log(self, arch[rows], src[rows], onehot[rows]))

    def config(self) -> dict[str, Any]:
        """JSON-serialisable description (everything but the arrays of `to_arrays`)."""
        return {
            "format": FORMAT, "format_version": FORMAT_VERSION, "space": self.space, "dataset": self.dataset,
            "device": self.device, "metric": self.metric, "unit": self.unit, "sources": list(self.sources),
            "source_metric": self.source_metric, "feature_names": list(self.feature_names),
            "floor": float(self.floor), "n_samples": self.n_samples, "views": list(self.views),
            "view_loo_mse": {k: float(v) for k, v in self.view_loo_mse.items()},
            "loo": {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in self.loo.items()},
            "seed": int(self.seed),
            "method": (f"ridge views and the FLOPs+params line weighted by 1/LOO error (log space), shrunk "
                       f"towards the line by the LOO-optimal convex weight; from "
                       f"{FULL_FROM} samples on the one with the lowest LOO error of: ridge on every feature, source and "
                       f"the one-hot genotype (log); ridge on op counts, FLOPs, params, every source's cost and the "
                       f"one-hot genotype (cost); ridge on one-hot, FLOPs and params (cost)"),
        }

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The numeric state, for ``np.savez`` (read back with ``allow_pickle=False``)."""
        return {
            "coef_arch": np.asarray(self.coef_arch, dtype=np.float64),
            "coef_src": np.asarray(self.coef_src, dtype=np.float64),
            "intercept": np.asarray(self.intercept, dtype=np.float64),
            "coef_onehot": self._coef_onehot(),
            "coef_src_raw": self._coef_src_raw(),
            "weights": self._weights(),
            "raw": np.asarray(self.raw, dtype=np.bool_),
            "sample_indices": np.asarray(self.sample_indices, dtype=np.int64),
            "sample_values": np.asarray(self.sample_values, dtype=np.float64),
        }

    def _weights(self) -> np.ndarray:
        w = np.asarray(self.weights, dtype=np.float64).reshape(-1)
        return w if w.size else np.full(len(self.views), 1.0 / max(len(self.views), 1))

    def _coef_src_raw(self) -> np.ndarray:
        c = np.asarray(self.coef_src_raw, dtype=np.float64)
        return c if c.size else np.zeros((len(self.views), len(self.sources)))

    def _coef_onehot(self) -> np.ndarray:
        c = np.asarray(self.coef_onehot, dtype=np.float64)
        if c.size == 0:
            return np.zeros((len(self.views), _onehot(self.space).shape[1]))
        return c

    @classmethod
    def from_arrays(cls, arrays: "dict[str, np.ndarray]", config: dict[str, Any]) -> "Adapter":
        """An adapter from `to_arrays` and `config` output; a mismatch is a one-line usage error."""
        try:
            if config.get("format") != FORMAT or int(config.get("format_version", -1)) > FORMAT_VERSION:
                raise ValueError("not an adapter config this hwnas reads")
            coef_arch = np.asarray(arrays["coef_arch"], dtype=np.float64)
            coef_src = np.asarray(arrays["coef_src"], dtype=np.float64)
            intercept = np.asarray(arrays["intercept"], dtype=np.float64)
            raw = np.asarray(arrays["raw"], dtype=np.bool_)
            v = len(config["views"])
            n_onehot = _onehot(_space_name(str(config["space"]))).shape[1]
            coef_onehot = (np.asarray(arrays["coef_onehot"], dtype=np.float64) if "coef_onehot" in arrays
                           else np.zeros((v, n_onehot)))  # adapters saved before the one-hot block
            weights = (np.asarray(arrays["weights"], dtype=np.float64) if "weights" in arrays
                       else np.full(v, 1.0 / v))  # adapters saved before view weights: the plain mean
            coef_src_raw = (np.asarray(arrays["coef_src_raw"], dtype=np.float64) if "coef_src_raw" in arrays
                            else np.zeros((v, len(config["sources"]))))  # format 1: no raw-source view
            if (coef_onehot.shape != (v, n_onehot) or weights.shape != (v,)
                    or coef_src_raw.shape != (v, len(config["sources"]))):
                raise ValueError("array shapes do not match the config")
            if (coef_arch.shape != (v, len(config["feature_names"])) or coef_src.shape != (v, len(config["sources"]))
                    or intercept.shape != (v,) or raw.shape != (v,)):
                raise ValueError("array shapes do not match the config")
            return cls(
                space=str(config["space"]), dataset=str(config["dataset"]), metric=str(config["metric"]),
                unit=str(config["unit"]), sources=[str(s) for s in config["sources"]],
                source_metric=str(config["source_metric"]), feature_names=[str(f) for f in config["feature_names"]],
                coef_arch=coef_arch, coef_src=coef_src, intercept=intercept, raw=raw, floor=float(config["floor"]),
                sample_indices=np.asarray(arrays["sample_indices"], dtype=np.int64),
                sample_values=np.asarray(arrays["sample_values"], dtype=np.float64),
                views=[str(v) for v in config["views"]],
                view_loo_mse={str(k): float(v) for k, v in config["view_loo_mse"].items()},
                loo=dict(config["loo"]), seed=int(config.get("seed", 0)), device=str(config.get("device", "")),
                coef_onehot=coef_onehot, weights=weights, coef_src_raw=coef_src_raw,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise HwnasUsageError(f"cannot restore the adapter: {exc}") from None


def _check_indices(indices, n: int, space: str) -> np.ndarray:
    arr = np.asarray(indices)
    if arr.ndim != 1 or (arr.size and not np.issubdtype(arr.dtype, np.integer)):
        raise HwnasUsageError(f"give {space} architectures as a 1-D list of integer indices 0..{n - 1}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise HwnasUsageError(f"architecture index out of range for {space}: valid 0..{n - 1}")
    return arr


def _check_samples(indices, values, n: int, space: str) -> tuple[np.ndarray, np.ndarray]:
    rows = _check_indices(indices, n, space)
    y = np.asarray(values, dtype=np.float64).reshape(-1)
    if rows.size != y.size:
        raise HwnasUsageError(f"{rows.size} architectures but {y.size} measured values")
    if not np.all(np.isfinite(y)) or not np.all(y > 0):
        raise HwnasUsageError("measured values must be positive and finite (drop failed or unmeasured archs)")
    uniq, inv = np.unique(rows, return_inverse=True)
    if uniq.size < rows.size:
        lo = np.full(uniq.size, np.inf)
        hi = np.zeros(uniq.size)
        np.minimum.at(lo, inv, y)
        np.maximum.at(hi, inv, y)
        bad = np.flatnonzero(hi > lo * (1 + 1e-9))
        if bad.size:
            raise HwnasUsageError(f"architecture {int(uniq[bad[0]])} is given twice with different values "
                                  f"({lo[bad[0]]:g} and {hi[bad[0]]:g}); keep one measurement per architecture")
        y = lo
        rows = uniq
    if rows.size < MIN_SAMPLES:
        raise HwnasUsageError(f"need at least {MIN_SAMPLES} distinct measured architectures to adapt, got {rows.size}")
    return rows, y


def fit_adapter(space: str, indices: "Sequence[int] | np.ndarray", values: "Sequence[float] | np.ndarray",
                metric: str = "latency", seed: int = 0, exclude: Sequence[str] = (),
                sources: "Sequence[str] | None" = None, source_metric: str = "latency",
                dataset: "str | None" = None, device: str = "", estimate_error: bool = True,
                view: "str | None" = None) -> Adapter:
    """Fit a new device's cost from a few measured architectures.

    ``indices``: NB201 indices (or FBNet rows of `hwnas.devices.fbnet_archs()`); ``values``: their
    measured ``metric`` (latency in ms, energy in mJ), positive and finite; at least 5 distinct
    architectures (repeats of one architecture must agree). Sources: every device measured on the
    whole space (``source_metric``, latency by default), minus ``exclude``, or the list
    ``sources``. ``dataset`` picks the FLOPs/params counting input (NB201; cifar10 default).
    ``estimate_error`` refits without each sample in turn to estimate the adapter's own error
    (`Adapter.loo`). ``view`` fixes the view from FULL_FROM samples on (default: the one with the
    lowest leave-one-out error; see `_fit_many`). Deterministic: ``seed`` only orders the k-fold
    split beyond 60 samples."""
    from hwnas.devices.registry import METRIC_UNITS
    from hwnas.predictors.metrics import accuracy_within, mape, spearman

    space = _space_name(space)
    if metric not in METRIC_UNITS:
        raise HwnasUsageError(f"unknown metric {metric!r}; use one of {', '.join(METRIC_UNITS)}")
    ds = _dataset(space, dataset)
    names, arch = arch_features(space, ds)
    n_counts = _arch_features(space, ds)[2]
    src_names, src = source_matrix(space, source_metric, exclude=exclude, sources=sources)
    rows, y = _check_samples(indices, values, arch.shape[0], space)
    d = _design(arch, n_counts, src, _onehot(space))
    ly = np.log(y)
    fit = _fit_ensemble(d, rows, ly, view)
    loo: dict[str, Any] = {"kind": "not estimated"}
    if estimate_error:
        pred, kind = _cross_validated(d, rows, ly, int(seed), view)
        p = np.exp(pred)
        rho = spearman(p, y)
        loo = {"kind": kind, "spearman": None if math.isnan(rho) else rho, "mape_pct": mape(p, y),
               "acc10_pct": accuracy_within(p, y, 0.10)}
    return Adapter(
        space=space, dataset=ds, metric=metric, unit=METRIC_UNITS[metric], sources=list(src_names),
        source_metric=source_metric, feature_names=names, coef_arch=fit.coef_arch, coef_src=fit.coef_src,
        intercept=fit.intercept, coef_onehot=fit.coef_onehot, coef_src_raw=fit.coef_src_raw,
        weights=fit.weights if fit.weights is not None else np.full(len(fit.views), 1.0 / len(fit.views)), raw=fit.raw, floor=fit.floor, sample_indices=rows, sample_values=y, views=fit.views,
        view_loo_mse=fit.view_loo_mse, loo=loo, seed=int(seed), device=str(device),
    )


# --- choosing what to measure ---------------------------------------------------------------------
def candidate_pool(space: str) -> np.ndarray:
    """Architectures worth measuring: NB201 isomorphism-class representatives (6,466), FBNet all rows."""
    space = _space_name(space)
    if space == "nb201":
        from hwnas.spaces.nb201 import representative_indices

        return np.unique(representative_indices())
    return np.arange(len(_fbnet_ops()))


def select_informative(space: str, n: int, seed: int = 0, metric: str = "latency",
                       exclude: Sequence[str] = (), sources: "Sequence[str] | None" = None,
                       pool: "Sequence[int] | np.ndarray | None" = None) -> np.ndarray:
    """``n`` architectures to measure on a new device, spread over what the adapter reads.

    k-means (``n`` clusters, scikit-learn, ``seed``) on the standardised arch features and source
    embedding of the candidate pool (`candidate_pool`); from each cluster the member nearest its
    centre. ``pool`` restricts the candidates (indices; default `candidate_pool`). Returns sorted
    int64 indices (NB201 index / FBNet row), all distinct."""
    from sklearn.cluster import KMeans

    space = _space_name(space)
    if pool is None:
        pool = candidate_pool(space)
    else:
        pool = np.unique(_check_indices(pool, n_archs(space), space))
    n = int(n)
    if n < 1 or n > pool.size:
        raise HwnasUsageError(f"can select 1..{pool.size} architectures of {space}, not {n}")
    ds = _dataset(space, None)
    _, arch = arch_features(space, ds)
    _, src = source_matrix(space, metric, exclude=exclude, sources=sources)
    d = _design(arch, _arch_features(space, ds)[2], src)
    emb = src @ d.embed_w + d.embed_b
    x = np.column_stack([arch, emb])[pool]
    x = (x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        km = KMeans(n_clusters=n, n_init=3, random_state=int(seed)).fit(x)
    chosen: list[int] = []
    dist = km.transform(x)  # [pool, n] distances to the centres
    for c in range(n):
        order = np.argsort(dist[:, c], kind="stable")
        for i in order:
            if int(pool[i]) not in chosen:
                chosen.append(int(pool[i]))
                break
    return np.array(sorted(chosen), dtype=np.int64)
