"""Kendall tau, top-5 % tau and nDCG@10 of a score exactly as a user gets it: run `hwnas pareto
--algorithm exhaustive` (Python API, same code), read the score column of its
``all_evaluated.csv`` (one row per isomorphism class), give every one of the 15,625 NB201
networks its class's score and compare with the benchmark's test accuracy.

    python bench/user_score_tau.py
    python bench/user_score_tau.py --proxy az_trainability,az_complexity,jacob_cov,meco

Needs the ground truth (``nb201/accuracy.csv`` of the data folder).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from _report import emit

DATASETS = ("cifar10", "cifar100", "imagenet16-120")


def user_scores(proxy: "str | None", dataset: str, device: str, out: Path,
                batch_size: "int | None" = None) -> tuple[np.ndarray, dict]:
    """(score of each of the 15,625 networks, the run's run.json record) from an exhaustive run."""
    import pandas as pd

    from hwnas.api import pareto
    from hwnas.spaces.nb201 import representative_indices

    res = pareto(device=device, dataset=dataset, proxy=proxy, algorithm="exhaustive", out=out, progress=False,
                 batch_size=batch_size)
    rows = pd.read_csv(out / "all_evaluated.csv")
    by_class = dict(zip(rows["class_rep"].astype(int), rows["score"].astype(float)))
    rep = representative_indices()
    return np.array([by_class[int(r)] for r in rep]), res.run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--proxy", default=None, help="as hwnas pareto --proxy (default: its default for NB201)")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--device", default="raspi4", help="any device: the scores do not depend on it")
    ap.add_argument("--out", default=None, help="also write the table as JSON")
    args = ap.parse_args()

    from hwnas.eval import load_ground_truth
    from hwnas.eval_metrics import ndcg_at_k, rank_correlations, top_fraction

    lines = ["| dataset | batch | score | tau | top-5 % tau | nDCG@10 | classes scored live |",
             "|---|---|---|---|---|---|---|"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for ds in args.datasets.split(","):
            score, run = user_scores(args.proxy, ds, args.device, Path(tmp) / ds)
            acc = load_ground_truth(ds)
            top = top_fraction(acc)
            tau, _ = rank_correlations(score, acc)
            tau5, _ = rank_correlations(score[top], acc[top])
            row = {"dataset": ds, "proxy": ",".join(run["proxy"]), "setting": run["proxy_setting"], "tau": tau,
                   "top5_tau": tau5, "ndcg10": ndcg_at_k(score, acc), "computed": run["scoring"]["computed"]}
            rows.append(row)
            lines.append(f"| {ds} | {run['settings']['batch_size']} | {row['proxy']} | {tau:.4f} | {tau5:.3f} | {row['ndcg10']:.4f} | "
                         f"{row['computed']} |")
    emit(lines, [f"{len(rows)} exhaustive `hwnas pareto` runs on {args.device}; every network takes its class's "
                 "score from all_evaluated.csv"], rows, args.out)


if __name__ == "__main__":
    main()
