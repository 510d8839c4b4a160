"""What Kendall tau does a score need for the search-regret targets? Scores made from the
benchmark's own accuracy plus independent noise, at several noise levels, judged like
`bench/aggregate_regret.py` (the exhaustive search simulated over 4 devices x budgets p10-p75,
`bench/_search_sim.py`): Kendall tau over all 15,625 networks and over the best 5 %, median top-1 and best-of-front
regret (accuracy points), over many noise draws, beside the shipped default score.

    python bench/regret_vs_tau.py --out bench/results/regret_vs_tau.json

A noisy-oracle score of class k is z_k + sigma * e_k: z_k is the normal score of the class's
mean test accuracy rank (Phi^-1((rank - 1/2) / 6,466)), e_k ~ N(0, 1) drawn per class from
``numpy.random.default_rng(draw)``; every network of a class gets its class's score, as with the
shipped table. Its errors are independent of everything; a proxy's are not (they follow
network size, for one), so this is a yardstick, not a model of any proxy: it says what regret
a score with a given tau and unstructured errors leaves, and how much it varies from one draw
of errors to the next.

The verdict lines add where the default's errors lie: the share of networks whose cell joins its
input to its output by an identity edge (``skip_connect`` on edge 0 -> 3, a residual cell) among
the best 5 % by accuracy and among the best 5 % by the score.
"""

from __future__ import annotations

import argparse

import numpy as np
from _report import emit
from _search_sim import front_regrets

DATASETS = ("cifar10", "cifar100", "imagenet16-120")
SIGMAS = (0.0, 0.25, 0.3, 0.35, 0.4, 0.5, 0.7, 1.0)


def class_mean(values: np.ndarray, position: np.ndarray, classes: int) -> np.ndarray:
    """Mean of ``values`` [networks] over the networks of each class (``position``: class of each)."""
    return np.bincount(position, weights=values, minlength=classes) / np.bincount(position, minlength=classes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--draws", type=int, default=20, help="noise draws per level")
    ap.add_argument("--sigmas", default=",".join(str(s) for s in SIGMAS))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from scipy.stats import norm

    from hwnas.eval import load_ground_truth
    from hwnas.eval_metrics import rank_correlations, top_fraction
    from hwnas.proxies.table import shipped_columns
    from hwnas.search.scoring import reference_ranks
    from hwnas.spaces.nb201 import representative_indices

    rep = representative_indices()
    reps = np.unique(rep)
    position = np.searchsorted(reps, rep)
    default = ("jacob_cov", "meco", "swap")
    from hwnas.spaces.nb201 import EDGE_SOURCES, OP_NAMES, NB201Space

    space = NB201Space()
    edge_to_output = [e for e, src in enumerate(EDGE_SOURCES) if src == 0][-1]  # edge 0 -> 3
    residual = np.array([space.arch_at(i).genotype[edge_to_output] == OP_NAMES.index("skip_connect")
                         for i in range(space.num_archs)])
    verdict = ["targets: median top-1 regret <= 0.8, best-of-front <= 0.5 (accuracy points)"]
    rows, lines = [], ["| dataset | score | tau | top-5 % tau | top-1 regret: median of draws (10-90 %) | best-of-front (10-90 %) "
                       "| draws meeting top-1 <= 0.8 / best-of-front <= 0.5 |", "|---|---|---|---|---|---|---|"]
    for dataset in args.datasets.split(","):
        acc = load_ground_truth(dataset)
        top = top_fraction(acc)
        mean_acc = class_mean(acc, position, reps.size)
        z = norm.ppf((reference_ranks(mean_acc, mean_acc) - 0.5) / reps.size)
        _, table = shipped_columns("nb201", dataset, default, 0, 64)
        shipped = sum(np.log(reference_ranks(table[c], table[c]) / reps.size) for c in default)[position]
        settings = [("the default (shipped table)", None, [shipped])]
        by_score = np.argsort(-shipped, kind="stable")[: top.size]
        verdict.append(f"{dataset}: residual cells are {residual[top].mean():.0%} of the best 5 % by accuracy, "
                       f"{residual[by_score].mean():.0%} of the best 5 % by the default score")
        for sigma in (float(s) for s in args.sigmas.split(",")):
            draws = [(z + sigma * np.random.default_rng(d).standard_normal(reps.size))[position] for d in range(args.draws)]
            settings.append((f"noisy oracle, sigma {sigma:g}", sigma, draws[:1] if sigma == 0 else draws))
        for name, sigma, scores in settings:
            taus, top_taus, top1s, bofs = [], [], [], []
            for score in scores:
                top1, bof = front_regrets(acc, score)
                taus.append(rank_correlations(score, acc)[0])
                top_taus.append(rank_correlations(score[top], acc[top])[0])
                top1s.append(float(np.median(top1)))
                bofs.append(float(np.median(bof)))
            t1, bf = np.array(top1s), np.array(bofs)
            r = {"dataset": dataset, "score": name, "sigma": sigma, "draws": len(scores), "tau": float(np.mean(taus)), "top5_tau": float(np.mean(top_taus)),
                 "top1_regret": top1s, "best_of_front_regret": bofs,
                 "top1_met": int((t1 <= 0.8).sum()), "best_of_front_met": int((bf <= 0.5).sum())}
            rows.append(r)
            q = lambda a: f"{np.median(a):.2f} ({np.quantile(a, 0.1):.2f}-{np.quantile(a, 0.9):.2f})"
            lines.append(f"| {dataset} | {name} | {r['tau']:.3f} | {r['top5_tau']:.3f} | {q(t1)} | {q(bf)} | "
                         f"{r['top1_met']} / {r['best_of_front_met']} of {len(scores)} |")
            print(lines[-1], flush=True)
    emit(lines, verdict, rows, args.out)


if __name__ == "__main__":
    main()
