"""Can an aggregate of the shipped table's columns meet issue 20's search-regret target (median
top-1 regret <= 0.8 points) while keeping the tau targets? Exhaustive search, simulated from the
table: the score of every network is its class's aggregate (Eq. 12 against all 6,466 classes,
optionally weighted per column), the front is the non-dominated set of (score, measured latency)
among the feasible networks whose cell sees its input (what `hwnas pareto --algorithm auto` does
with the table), top-1 regret = best feasible accuracy minus the accuracy of the front's
best-scored member; devices and budgets as `bench/pareto_quality.py` (4 devices x p10-p75).

    python bench/aggregate_regret.py --subsets               # every subset of the columns
    python bench/aggregate_regret.py --subsets --leave-dataset-out  # the subset chosen on two datasets
                                                                    # (raspi4 + eyeriss), on the third
    python bench/aggregate_regret.py --weights               # coordinate search over weights 0-3
    python bench/aggregate_regret.py --weights --constrained  # keeping tau and top-5 % tau targets,
                                                              # from the 3 best subsets that keep them
    python bench/aggregate_regret.py --weights --constrained --leave-dataset-out  # fitted on two datasets,
                                                                                  # reported on the third

The weight search is fitted on raspi4 + eyeriss and reported on pixel3 + fpga too (not fitted).
Needs the ground truth (``nb201/accuracy.csv``) and the devices' measured latency.
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
from _report import emit
from _search_sim import DEVICES, front_regrets

DATASETS = ("cifar10", "cifar100", "imagenet16-120")
FIT_DEVICES = ("raspi4", "eyeriss")
TAU_TARGET = {"cifar10": 0.76, "cifar100": 0.76, "imagenet16-120": 0.75}
TOP5_TARGET = 0.15
WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
COLUMNS = ("az_expressivity", "az_progressivity", "az_trainability", "az_complexity", "naswot", "synflow",
           "synflow_log1p", "jacob_cov", "meco", "swap")
NAMED = {"az_nas + synflow_log1p + jacob_cov + meco": ("az_expressivity", "az_progressivity", "az_trainability",
                                                       "az_complexity", "synflow_log1p", "jacob_cov", "meco"),
         "az_nas + synflow_log1p + jacob_cov": ("az_expressivity", "az_progressivity", "az_trainability",
                                                "az_complexity", "synflow_log1p", "jacob_cov"),
         "VKDNW_agg's columns + LogSynflow": ("az_expressivity", "az_trainability", "az_complexity",
                                              "jacob_cov", "synflow_log1p")}


def named_scores() -> dict[str, tuple[str, ...]]:
    """The scores every run reports: hwnas pareto's NB201 default first, then NAMED."""
    from hwnas.eval import outputs_of
    from hwnas.search.run import default_proxy

    proxies = tuple(default_proxy("nb201").split(","))
    default = tuple(c for p in proxies for c in outputs_of(p))
    return {f"the default ({' + '.join(proxies)})": default,
            **{k: v for k, v in NAMED.items() if set(v) != set(default)}}


class Problem:
    """Per-network log-rank columns, accuracies and budgets: everything a score is judged on."""

    def __init__(self) -> None:
        from hwnas.eval import load_ground_truth
        from hwnas.eval_metrics import top_fraction
        from hwnas.proxies.table import shipped_columns, table_batch_size, table_info
        from hwnas.search.scoring import reference_ranks
        from hwnas.spaces.nb201 import representative_indices

        info = table_info()
        rep = representative_indices()
        reps = np.unique(rep)
        position = np.searchsorted(reps, rep)
        self.logrank, self.acc, self.top = {}, {}, {}
        for ds in DATASETS:
            served, cols = shipped_columns("nb201", ds, tuple(info["proxies"]), info["seed"], table_batch_size(ds))
            assert np.array_equal(served, reps), f"the table lacks classes of {ds}"
            self.logrank[ds] = np.stack([np.log(reference_ranks(cols[c], cols[c]) / reps.size)[position]
                                         for c in COLUMNS])
            self.acc[ds] = load_ground_truth(ds)
            self.top[ds] = top_fraction(self.acc[ds])

    def score(self, ds: str, weights: np.ndarray) -> np.ndarray:
        return weights @ self.logrank[ds]

    def top1_regret(self, ds: str, score: np.ndarray, devices: "tuple[str, ...]") -> float:
        """Median over devices x budgets of the best feasible accuracy minus the accuracy of the
        best-scored front member (accuracy points)."""
        return float(np.median(front_regrets(self.acc[ds], score, devices)[0]))

    def taus(self, ds: str, score: np.ndarray) -> tuple[float, float]:
        from hwnas.eval_metrics import rank_correlations

        top = self.top[ds]
        return rank_correlations(score, self.acc[ds])[0], rank_correlations(score[top], self.acc[ds][top])[0]

    def meets_tau_targets(self, weights: np.ndarray, datasets: "tuple[str, ...]" = DATASETS) -> bool:
        for ds in datasets:
            tau, tau5 = self.taus(ds, self.score(ds, weights))
            if tau < TAU_TARGET[ds] or tau5 < TOP5_TARGET:
                return False
        return True

    def fit_objective(self, weights: np.ndarray, datasets: "tuple[str, ...]" = DATASETS) -> float:
        return float(np.mean([self.top1_regret(ds, self.score(ds, weights), FIT_DEVICES) for ds in datasets]))

    def row(self, name: str, weights: np.ndarray) -> dict:
        held_out = tuple(d for d in DEVICES if d not in FIT_DEVICES)
        r = {"score": name, "weights": dict(zip(COLUMNS, weights.tolist()))}
        for ds in DATASETS:
            s = self.score(ds, weights)
            r[ds] = dict(zip(("tau", "top5_tau"), self.taus(ds, s)))
            r[ds]["top1_regret"] = self.top1_regret(ds, s, DEVICES)
            r[ds]["top1_regret_not_fitted"] = self.top1_regret(ds, s, held_out)
            r[ds]["top1_regret_fitted"] = self.top1_regret(ds, s, FIT_DEVICES)
        return r


def coordinate_search(problem: Problem, start: np.ndarray, constrained: bool, rounds: int = 3,
                      datasets: "tuple[str, ...]" = DATASETS) -> np.ndarray:
    """Lower the median top-1 regret fitted on ``datasets`` one weight at a time (weights in
    WEIGHTS); ``constrained`` keeps the tau targets on those datasets."""
    w, best = start.copy(), problem.fit_objective(start, datasets)
    for _ in range(rounds):
        changed = False
        for j, v in itertools.product(range(len(COLUMNS)), WEIGHTS):
            trial = w.copy()
            trial[j] = v
            if v == w[j] or not trial.any():
                continue
            obj = problem.fit_objective(trial, datasets)
            if obj < best - 1e-9 and (not constrained or problem.meets_tau_targets(trial, datasets)):
                w, best, changed = trial, obj, True
        if not changed:
            break
    return w


def constrained_starts(problem: Problem, datasets: "tuple[str, ...]", n: int) -> dict[str, np.ndarray]:
    """The ``n`` equal-weight subsets that keep the tau targets on ``datasets`` with the lowest
    regret fitted on them."""
    subsets = (cols for k in range(1, len(COLUMNS) + 1) for cols in itertools.combinations(COLUMNS, k))
    keep = {" + ".join(cols): w for cols in subsets
            if problem.meets_tau_targets(w := np.array([float(c in cols) for c in COLUMNS]), datasets)}
    return dict(sorted(keep.items(), key=lambda kv: problem.fit_objective(kv[1], datasets))[:n])


def subsets_chosen_out_of_dataset(problem: Problem, subset_rows: list[dict]) -> list[str]:
    """Per held-out dataset: the equal-weight subset that keeps the tau and top-5 % tau targets on
    the other two datasets with the lowest mean top-1 regret there (fitted devices only), and its
    figures on the held-out dataset (all devices)."""
    lines = []
    for held in DATASETS:
        fit = tuple(d for d in DATASETS if d != held)
        keep = [r for r in subset_rows
                if all(r[d]["tau"] >= TAU_TARGET[d] and r[d]["top5_tau"] >= TOP5_TARGET for d in fit)]
        if not keep:
            lines.append(f"held out {held}: no subset keeps the targets on {' + '.join(fit)}")
            continue
        best = min(keep, key=lambda r: np.mean([r[d]["top1_regret_fitted"] for d in fit]))
        h = best[held]
        lines.append(f"held out {held}: chosen on {' + '.join(fit)}: {best['score']}; on {held} tau {h['tau']:.3f}, "
                     f"top-5 % tau {h['top5_tau']:.3f}, top-1 regret {h['top1_regret']:.2f}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subsets", action="store_true", help="every subset of the columns, equal weights")
    ap.add_argument("--weights", action="store_true", help="coordinate search over per-column weights")
    ap.add_argument("--constrained", action="store_true", help="keep the tau and top-5 %% tau targets")
    ap.add_argument("--starts", type=int, default=3,
                    help="with --constrained: start from this many subsets that meet the targets (lowest fitted "
                         "regret first)")
    ap.add_argument("--leave-dataset-out", action="store_true",
                    help="with --weights: fit on two datasets, report the third as held out (once per dataset); "
                         "with --subsets: choose the subset on two datasets, report it on the third")
    ap.add_argument("--out", default=None, help="also write the rows as JSON")
    args = ap.parse_args()
    problem = Problem()
    rows = []
    unit = {name: np.array([float(c in cols) for c in COLUMNS]) for name, cols in named_scores().items()}
    rows += [problem.row(name, w) for name, w in unit.items()]
    chosen: list[str] = []
    if args.subsets:
        subset_rows = []
        for k in range(1, len(COLUMNS) + 1):
            for cols in itertools.combinations(COLUMNS, k):
                w = np.array([float(c in cols) for c in COLUMNS])
                subset_rows.append(problem.row(" + ".join(cols), w))
        rows += subset_rows
        if args.leave_dataset_out:
            chosen = subsets_chosen_out_of_dataset(problem, subset_rows)
    if args.weights:
        fits = ([tuple(d for d in DATASETS if d != held) for held in DATASETS] if args.leave_dataset_out
                else [DATASETS])
        for fit in fits:
            starts = constrained_starts(problem, fit, args.starts) if args.constrained else dict(unit)
            tag = f" [fitted on {' + '.join(fit)}]" if args.leave_dataset_out else ""
            for name, w in starts.items():
                found = coordinate_search(problem, w, args.constrained, datasets=fit)
                label = ", ".join(f"{c} x{v:g}" for c, v in zip(COLUMNS, found) if v)
                row = problem.row(f"weighted from {name}{' (targets kept)' if args.constrained else ''}{tag}: "
                                  f"{label}", found)
                row["fitted_datasets"] = list(fit)
                rows.append(row)
    header = " | ".join(f"{ds}: tau / top-5 % tau / top-1 regret (not fitted)" for ds in DATASETS)
    lines = [f"| score | {header} |",
             "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['score']} | " + " | ".join(
            f"{r[ds]['tau']:.3f} / {r[ds]['top5_tau']:.3f} / {r[ds]['top1_regret']:.2f} "
            f"({r[ds]['top1_regret_not_fitted']:.2f})" for ds in DATASETS) + " |")
    distinct = list({tuple(r["weights"].values()): r for r in reversed(rows)}.values())  # named rows repeat subsets
    meets = [r["score"] for r in distinct
             if all(r[ds]["tau"] >= TAU_TARGET[ds] and r[ds]["top5_tau"] >= TOP5_TARGET for ds in DATASETS)]
    low = [r for r in distinct if all(r[ds]["top1_regret"] <= 0.8 for ds in DATASETS)]
    emit(lines, [f"{len(distinct)} distinct scores; {len(meets)} meet the tau and top-5 % tau targets; "
                 f"{len(low)} have median top-1 regret <= 0.8 on all three datasets",
                 "lowest worst-dataset top-1 regret among those meeting the tau targets: "
                 + (min((max(r[ds]["top1_regret"] for ds in DATASETS), r["score"]) for r in rows
                        if r["score"] in meets)[1] if meets else "none"), *chosen], rows, args.out)


if __name__ == "__main__":
    main()
