"""How often a search finds the network an exhaustive run ranks first, at a fixed number of
evaluations: AZ-NAS evolution (Algorithm 1) vs NSGA-II vs random search on NB201 under a FLOPs
budget, AZ-NAS scores from the shipped class table (so only the search differs).

    python bench/evolution_quality.py --flops 50M --evaluations 300 --seeds 5

Prints, per algorithm, how many seeds found the exhaustive run's best-scored network and the
top-1 regret (CIFAR-100 test accuracy of the best network within budget minus that of the
front's best-scored member) per seed. Ground truth is read here only, never by the search.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--flops", default="50M")
    ap.add_argument("--dataset", default="cifar100")
    ap.add_argument("--evaluations", type=int, default=300)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()

    import hwnas
    from hwnas.eval_truth import load_ground_truth

    acc = load_ground_truth(args.dataset)
    tmp = Path(tempfile.mkdtemp(prefix="evo_quality_"))
    ex = hwnas.pareto(flops=args.flops, dataset=args.dataset, algorithm="exhaustive", out=tmp / "exhaustive")
    feasible = ex.evaluated[ex.evaluated["feasible"]]
    best_true = float(max(acc[int(i)] for i in feasible["arch_index"]))
    top = int(ex.front.iloc[0]["arch_index"])
    print(f"exhaustive: best-scored network {top}, top-1 regret {best_true - acc[top]:.2f}")
    for algo, pop in (("az-evolution", 10), ("nsga2", 50), ("random", 50)):
        found, regrets = 0, []
        for seed in range(args.seeds):
            r = hwnas.pareto(flops=args.flops, dataset=args.dataset, algorithm=algo, evaluations=args.evaluations,
                             pop_size=pop, seed=seed, out=tmp / f"{algo}-{seed}")
            first = int(r.front.iloc[0]["arch_index"])
            found += first == top
            regrets.append(best_true - float(acc[first]))
        print(f"{algo:13s} found the exhaustive best {found}/{args.seeds}; top-1 regret per seed "
              f"{np.round(regrets, 2).tolist()} (median {np.median(regrets):.2f})")


if __name__ == "__main__":
    main()
