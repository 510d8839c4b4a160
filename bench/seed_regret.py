"""How much of a training-free score's search regret is its random seed? The NB201 default
(jacob_cov + MeCo + SWAP) scored on every class with other seeds (each seed draws other initial
weights and another probe batch), judged like `bench/aggregate_regret.py`: the exhaustive
search simulated over 4 devices x budgets p10-p75 (`bench/_search_sim.py`), Kendall tau over all
15,625 networks and over the top 5 %, median top-1 and best-of-front regret (accuracy points).
Seed 0 is the shipped class table; other seeds come from score caches written by

    python scripts/score_nb201_classes.py --dataset imagenet16-120 --proxies jacob_cov,meco,swap \\
        --seed 1 --batch-size 64 --cache runs/cache/ms_in_1.sqlite      # (and --seed 2, ...)
    python bench/seed_regret.py --dataset imagenet16-120 --cache 1=runs/cache/ms_in_1.sqlite \\
        --cache 2=runs/cache/ms_in_2.sqlite --out bench/results/seed_regret_imagenet16.json
    python bench/seed_regret.py --dataset cifar100 --cache 1=runs/cache/ms_c100_1_0.sqlite \\
        --cache 1=runs/cache/ms_c100_1_1.sqlite --out bench/results/seed_regret_cifar100.json
        # (one seed scored in two shards: --shard 0/2 and 1/2, one cache each)
    python bench/seed_regret.py --dataset cifar10 --cache 1=runs/cache/ms_c10_1_0.sqlite \\
        --cache 1=runs/cache/ms_c10_1_1.sqlite --out bench/results/seed_regret_cifar10.json

Rows: each seed alone, the sum of the per-seed log-rank aggregates, and the aggregate of the
per-seed mean values (averaging seeds as a noise-reduction setting).
"""

from __future__ import annotations

import argparse

import numpy as np
from _report import emit
from _search_sim import front_regrets

COLUMNS = ("jacob_cov", "meco", "swap")


def cached_columns(paths: "list[str]", seed: int, dataset: str, batch: int, reps: np.ndarray) -> dict[str, np.ndarray]:
    """{column: value per class representative} from score caches (shards of one seed), read
    with `hwnas.eval_cache.ScoreCache` under this hwnas version's key."""
    from hwnas.eval_cache import CacheKey, ScoreCache, version_tag

    key = CacheKey("nb201", dataset, seed, batch, version_tag())
    found = {}
    for path in paths:
        with ScoreCache(path) as cache:
            found.update(cache.lookup(key, reps, COLUMNS))
    out = {c: np.array([found[(int(r), c)].value if (int(r), c) in found else np.nan for r in reps]) for c in COLUMNS}
    for column, values in out.items():
        if np.isnan(values).any():
            raise SystemExit(f"{', '.join(paths)}: {int(np.isnan(values).sum())} classes lack {column} at seed "
                             f"{seed}; finish scripts/score_nb201_classes.py first")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="imagenet16-120")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--cache", action="append", default=[], metavar="SEED=PATH",
                    help="a score cache of this seed (repeatable; a seed's shards are merged)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from hwnas.eval import load_ground_truth
    from hwnas.eval_metrics import rank_correlations, top_fraction
    from hwnas.proxies.table import shipped_columns
    from hwnas.search.scoring import reference_ranks
    from hwnas.spaces.nb201 import representative_indices

    rep = representative_indices()
    reps = np.unique(rep)
    position = np.searchsorted(reps, rep)
    served, table = shipped_columns("nb201", args.dataset, COLUMNS, 0, args.batch_size)
    assert np.array_equal(served, reps), "the shipped table lacks classes"
    paths: dict[int, list[str]] = {}
    for item in args.cache:
        seed, path = item.split("=", 1)
        paths.setdefault(int(seed), []).append(path)
    by_seed = {0: table, **{s: cached_columns(p, s, args.dataset, args.batch_size, reps) for s, p in paths.items()}}

    def logrank(values: np.ndarray) -> np.ndarray:
        return np.log(reference_ranks(values, values) / reps.size)[position]

    acc = load_ground_truth(args.dataset)
    top = top_fraction(acc)
    seeds = sorted(by_seed)
    scores = {f"seed {s}": sum(logrank(by_seed[s][c]) for c in COLUMNS) for s in seeds}
    if len(seeds) > 1:
        scores[f"sum of seeds {seeds} log-rank aggregates"] = sum(scores[f"seed {s}"] for s in seeds)
        scores[f"aggregate of the mean over seeds {seeds}"] = sum(
            logrank(np.mean([by_seed[s][c] for s in seeds], axis=0)) for c in COLUMNS)
    rows, lines = [], ["| score | tau | top-5 % tau | top-1 regret | best-of-front regret |", "|---|---|---|---|---|"]
    for name, score in scores.items():
        top1, best_of_front = front_regrets(acc, score)
        r = {"score": name, "tau": rank_correlations(score, acc)[0],
             "top5_tau": rank_correlations(score[top], acc[top])[0],
             "top1_regret": float(np.median(top1)), "best_of_front_regret": float(np.median(best_of_front))}
        rows.append(r)
        lines.append(f"| {name} | {r['tau']:.3f} | {r['top5_tau']:.3f} | {r['top1_regret']:.2f} | "
                     f"{r['best_of_front_regret']:.2f} |")
    pairs = [f"{c}: seed 0 vs seed {s} tau {rank_correlations(by_seed[0][c], by_seed[s][c])[0]:.3f}"
             for s in seeds[1:] for c in COLUMNS]
    emit(lines, [f"{args.dataset}, batch {args.batch_size}, seeds {seeds}", *pairs], rows, args.out)


if __name__ == "__main__":
    main()
