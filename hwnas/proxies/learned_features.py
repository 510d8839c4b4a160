"""The zero-cost feature vector of a NAS-Bench-201 architecture, the input of a learned proxy
(`hwnas.proxies.learned`).

Every feature is computed for the architecture's isomorphism-class representative
(`NB201Space.canonical`), so the members of a class share one feature row and one prediction.
Per architecture, in this order (`feature_names`):

* ``az_<component>@<dataset>``: the four AZ-NAS scores (expressivity, progressivity,
  trainability, complexity) on each of cifar10, cifar100 and imagenet16-120 (12 features),
  read from the shipped class table (`hwnas.proxies.table.shipped_scores`) at its setting
  (seed, batch size per dataset); a class the table lacks is scored live by the same code
  (`hwnas.eval.score_architecture`) at the same setting. Units: those of the AZ-NAS components.
* ``log10_params``, ``log10_flops``: log10 of parameters and FLOPs (multiply-accumulates) per
  sample of the network on the learned proxy's dataset (`NB201Space.cost`).
* ``edge<e>=<op>``: op one-hot of each of the 6 edges (30 features).
* ``count=<op>``: how many edges carry each op (5 features).
* GRAF-like path features over the 4 input->output paths of the cell (0-3, 0-1-3, 0-2-3,
  0-1-2-3): ``paths_alive`` (paths without a ``none`` edge), ``paths_conv`` (alive paths with a
  convolution), ``paths_all_conv`` (paths of convolutions only), ``min_convs_on_path`` /
  ``max_convs_on_path`` (convolutions on the alive path with the fewest / most, 0 when none is
  alive), ``max_alive_path_len`` (edges), and ``live=<op>`` (edges of each op that lie on an
  alive path, 5 features).

60 features in all. Pure numpy except for the live AZ-NAS scoring of classes the table lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from hwnas.errors import HwnasUsageError

AZ_DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "imagenet16-120")
AZ_COLUMNS: tuple[str, ...] = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity")
# the 4 input->output paths of an NB201 cell, as edge positions (edges (1<-0),(2<-0),(2<-1),(3<-0),(3<-1),(3<-2))
CELL_PATHS: tuple[tuple[int, ...], ...] = ((3,), (0, 4), (1, 5), (0, 2, 5))
NONE, SKIP, CONV1, CONV3, POOL = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class FeatureSetting:
    """Where the AZ-NAS features come from: the probe seed and batch size per dataset of the
    shipped class table (what `features_of_classes` scores live for classes it lacks)."""

    seed: int
    batch_sizes: tuple[tuple[str, int], ...]

    def batch_size(self, dataset: str) -> int:
        return dict(self.batch_sizes)[dataset]

    def as_dict(self) -> dict:
        return {"seed": self.seed, "batch_size_by_dataset": dict(self.batch_sizes)}


def feature_names() -> tuple[str, ...]:
    """Names of the feature columns, in order (see the module docstring)."""
    from hwnas.spaces.nb201 import OP_NAMES

    names = [f"{c}@{d}" for d in AZ_DATASETS for c in AZ_COLUMNS]
    names += ["log10_params", "log10_flops"]
    names += [f"edge{e}={op}" for e in range(6) for op in OP_NAMES]
    names += [f"count={op}" for op in OP_NAMES]
    names += ["paths_alive", "paths_conv", "paths_all_conv", "min_convs_on_path", "max_convs_on_path",
              "max_alive_path_len"]
    names += [f"live={op}" for op in OP_NAMES]
    return tuple(names)


def graph_features(genotype: "tuple[int, ...] | np.ndarray") -> np.ndarray:
    """The 46 cell-encoding features of one genotype (6 op ids): one-hot per edge, op counts and
    the path features of the module docstring, as float64."""
    g = [int(v) for v in genotype]
    onehot = np.zeros((6, 5))
    onehot[np.arange(6), g] = 1.0
    counts = onehot.sum(axis=0)
    alive = [p for p in CELL_PATHS if all(g[e] != NONE for e in p)]
    convs = [sum(g[e] in (CONV1, CONV3) for e in p) for p in alive]
    live_edges = sorted({e for p in alive for e in p})
    live = np.zeros(5)
    for e in live_edges:
        live[g[e]] += 1.0
    path = [len(alive), sum(c > 0 for c in convs), sum(all(g[e] in (CONV1, CONV3) for e in p) for p in CELL_PATHS),
            min(convs, default=0), max(convs, default=0), max((len(p) for p in alive), default=0)]
    return np.concatenate([onehot.reshape(-1), counts, np.asarray(path, dtype=np.float64), live])


def table_setting() -> FeatureSetting:
    """The AZ-NAS feature setting: the shipped table's seed and batch size per dataset (a usage
    error when the package ships no table holding az_nas for all three datasets)."""
    from hwnas.proxies.table import table_batch_size, table_info

    info = table_info()
    if info is None or "az_nas" not in info.get("proxies", ()):
        raise HwnasUsageError("the package ships no AZ-NAS class table, which learned proxies read their features "
                              "from; reinstall hwnas")
    sizes = []
    for d in AZ_DATASETS:
        b = table_batch_size(d)
        if b is None:
            raise HwnasUsageError(f"the shipped AZ-NAS class table has no {d} scores, which learned proxies need; "
                                  "reinstall hwnas")
        sizes.append((d, int(b)))
    return FeatureSetting(int(info["seed"]), tuple(sizes))


@lru_cache(maxsize=4)
def _az_features(setting: FeatureSetting, progress: bool) -> np.ndarray:
    """[15625, 12] AZ-NAS features of every architecture's class representative."""
    from hwnas.eval import score_architecture
    from hwnas.progress import progress_bar
    from hwnas.proxies.table import shipped_columns
    from hwnas.spaces.nb201 import representative_indices

    rep = representative_indices()
    reps = np.unique(rep)
    block = np.full((reps.size, len(AZ_DATASETS) * len(AZ_COLUMNS)), np.nan)
    for j, d in enumerate(AZ_DATASETS):
        served = shipped_columns("nb201", d, ("az_nas",), setting.seed, setting.batch_size(d))
        have = np.zeros(reps.size, dtype=bool)
        if served is not None:
            scored, cols = served
            at = np.searchsorted(reps, scored)
            block[at, 4 * j:4 * j + 4] = np.column_stack([cols[c] for c in AZ_COLUMNS])
            have[at] = True
        missing = np.flatnonzero(~have).tolist()
        if missing:  # classes the table lacks: the same scoring code, live, at the same setting
            with progress_bar(progress) as bar:
                task = bar.add_task(f"AZ-NAS features, {d}", total=len(missing), status="live")
                for i in missing:
                    s = score_architecture(int(reps[i]), ["az_nas"], d, setting.seed, setting.batch_size(d))
                    block[i, 4 * j:4 * j + 4] = [s[c] for c in AZ_COLUMNS]
                    bar.update(task, advance=1)
    position = np.searchsorted(reps, rep)
    out = block[position]
    out.setflags(write=False)
    return out


@lru_cache(maxsize=4)
def feature_matrix(dataset: str, setting: FeatureSetting | None = None, progress: bool = False) -> np.ndarray:
    """[15625, 60] float64 features of every NAS-Bench-201 architecture (row = index; members of a
    class share their representative's row) for a learned proxy of ``dataset`` (which sets the
    params / FLOPs columns). ``setting``: the AZ-NAS feature setting, default `table_setting`.
    Non-finite AZ-NAS scores (degenerate cells) become the column's finite minimum: "worst".
    Read-only, cached."""
    from hwnas.spaces.nb201 import _index_tables, cost_arrays, representative_indices

    setting = setting or table_setting()
    az = np.array(_az_features(setting, progress))
    for c in range(az.shape[1]):
        col = az[:, c]
        bad = ~np.isfinite(col)
        if bad.any():
            col[bad] = np.min(col[~bad]) if (~bad).any() else 0.0
    params, flops = cost_arrays(dataset)
    rep = representative_indices()
    genotypes, _ = _index_tables()
    cost = np.stack([np.log10(np.maximum(params[rep], 1)), np.log10(np.maximum(flops[rep], 1))], axis=1)
    reps, inverse = np.unique(rep, return_inverse=True)
    graph = np.stack([graph_features(genotypes[r]) for r in reps])[inverse]
    out = np.concatenate([az, cost, graph], axis=1)
    assert out.shape[1] == len(feature_names())
    out.setflags(write=False)
    return out
