"""VKDNW against AZ-NAS on the fixed 1,000-architecture NAS-Bench-201 sample (seed 0, batch 64):
Kendall tau, Spearman rho, top-5 % tau and nDCG@10 against 200-epoch test accuracy.

Rows (every score column comes from `hwnas.eval.evaluate_proxies` through the per-dataset score
cache, so AZ-NAS, jacob_cov and FLOPs already cached are not recomputed; for CIFAR-10 the cache is
first filled from bench/results/scores_s64_cifar10.csv when it holds no AZ-NAS scores):

* ``az_nas``: AZ-NAS Eq. 12 over its four components (hwnas's default);
* ``vkdnw``: the decile entropy alone (`hwnas.proxies.vkdnw`);
* ``vkdnw_single``: the paper's single-proxy ranking, (aleph, VKDNW) lexicographically
  (= the ``vkdnw_single`` proxy, computed here from the ``vkdnw`` and ``vkdnw_dim`` columns);
* ``az_nas+vkdnw``: Eq. 12 over the four AZ-NAS columns and ``vkdnw``;
* ``az_nas+vkdnw_single``: the same with the (aleph, VKDNW) rank;
* ``VKDNW_agg``: the paper's aggregate, sum of log(rank / m) of (aleph, VKDNW), jacob_cov,
  az_expressivity, az_trainability and FLOPs (hwnas ``flops``: NAS-Bench-201 convention);
* ``VKDNW_agg (live MACs)``: the same with ``az_complexity`` in place of ``flops``.

    python bench/vkdnw_table.py --datasets cifar10,cifar100,imagenet16-120 --threads 1
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from _report import emit

DATASETS = ("cifar10", "cifar100", "imagenet16-120")
NAMES = ["az_nas", "vkdnw", "vkdnw_dim", "jacob_cov", "flops"]
SHIPPED = {"cifar10": Path("bench/results/scores_s64_cifar10.csv")}


def lexicographic_scores(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """One score ordering candidates by ``major`` then ``minor`` (dense rank of the pairs; a
    non-finite minor ranks lowest within its major group)."""
    minor = np.where(np.isfinite(minor), minor, -np.inf)
    order = np.lexsort((minor, major))
    ranks = np.empty(len(major))
    prev, r = None, 0
    for i in order:
        key = (major[i], minor[i])
        if key != prev:
            r += 1
            prev = key
        ranks[i] = r
    return ranks


def rows_for(ev) -> dict[str, np.ndarray]:
    from hwnas.proxies import AZ_NAS_COLUMNS, nonlinear_rank_aggregate

    cols = dict(ev.columns)
    cols["vkdnw_single"] = lexicographic_scores(cols["vkdnw_dim"], cols["vkdnw"])
    agg = nonlinear_rank_aggregate
    return {
        "az_nas": agg(cols, list(AZ_NAS_COLUMNS)),
        "vkdnw": cols["vkdnw"],
        "vkdnw_single": cols["vkdnw_single"],
        "az_nas+vkdnw": agg(cols, [*AZ_NAS_COLUMNS, "vkdnw"]),
        "az_nas+vkdnw_single": agg(cols, [*AZ_NAS_COLUMNS, "vkdnw_single"]),
        "VKDNW_agg": agg(cols, ["vkdnw_single", "jacob_cov", "az_expressivity", "az_trainability", "flops"]),
        "VKDNW_agg (live MACs)": agg(cols, ["vkdnw_single", "jacob_cov", "az_expressivity", "az_trainability",
                                           "az_complexity"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first", type=int, default=None, help="only the first N architectures of the sample")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cache", default="runs/cache/s64_{dataset}.sqlite")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="also write the rows as JSON")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()

    import torch

    from hwnas.eval import ScoreCache, evaluate_proxies, fixed_sample, load_ground_truth, rank_correlations
    from hwnas.eval_metrics import ndcg_at_k, top_fraction

    torch.set_num_threads(args.threads)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    sample = fixed_sample(args.sample, args.seed)[:args.first]
    table: dict[str, dict[str, dict[str, float]]] = {}
    for ds in datasets:
        cache = args.cache.format(dataset=ds)
        if ds in SHIPPED and SHIPPED[ds].exists():
            with ScoreCache(cache) as sc:
                empty = sc.count() == 0
            if empty:
                sys.path.insert(0, str(Path(__file__).parent))
                from score_cache_csv import import_csv

                import_csv(SHIPPED[ds], Path(cache))
        ev = evaluate_proxies(NAMES, ds, sample, args.seed, args.batch_size, cache, progress=not args.no_progress)
        acc = load_ground_truth(ev.dataset)[ev.indices]
        top = top_fraction(acc)
        ms = {"az_nas": float(np.median(ev.call_ms(["az_expressivity"]))),
              "vkdnw": float(np.median(ev.call_ms(["vkdnw"])))}
        for name, scores in rows_for(ev).items():
            tau, rho = rank_correlations(scores, acc)
            ttau, _ = rank_correlations(scores[top], acc[top])
            table.setdefault(name, {})[ds] = {"kendall_tau": tau, "spearman_rho": rho, "top_kendall_tau": ttau,
                                              "ndcg10": ndcg_at_k(scores, acc, 10),
                                              "non_finite": int(np.sum(~np.isfinite(scores))),
                                              "median_ms_per_arch": ms.get(name, math.nan)}
        print(f"{ds}: {len(ev.indices)} architectures, computed {ev.computed} calls, reused {ev.reused}", flush=True)

    head = "| score | " + " | ".join(f"{d} tau / rho | top-5 % tau | nDCG@10" for d in datasets) + " |"
    lines = [head, "|---|" + "---|---|---|" * len(datasets)]
    for name, per in table.items():
        cells = [f"{m['kendall_tau']:.3f} / {m['spearman_rho']:.3f} | {m['top_kendall_tau']:.3f} | {m['ndcg10']:.3f}"
                 for m in (per[d] for d in datasets)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    verdict = []
    for d in datasets:
        a, b = table["az_nas"][d], table["az_nas+vkdnw"][d]
        verdict.append(f"{d}: az_nas+vkdnw vs az_nas: tau {b['kendall_tau']:.3f} vs {a['kendall_tau']:.3f} "
                       f"({'beats' if b['kendall_tau'] > a['kendall_tau'] else 'does not beat'}), top-5 % tau "
                       f"{b['top_kendall_tau']:.3f} vs {a['top_kendall_tau']:.3f} "
                       f"({'beats' if b['top_kendall_tau'] > a['top_kendall_tau'] else 'does not beat'}); "
                       f"median ms/arch vkdnw {table['vkdnw'][d]['median_ms_per_arch']:,.0f}, "
                       f"az_nas {a['median_ms_per_arch']:,.0f}")
    emit(lines, verdict, table, args.out)


if __name__ == "__main__":
    main()
