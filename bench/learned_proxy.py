"""Acceptance of the learned proxy (issue 20 item 3): Kendall tau on every unlabelled
NAS-Bench-201 network after fitting on 78 / 156 / 469 / 1,563 labels, per dataset and model,
mean over label draws; also top-5 % tau and nDCG@10 / nDCG@100 over the same set.

Labels are drawn as isomorphism classes: draw ``n`` class representatives (uniformly, without
replacement, ``numpy.random.default_rng(draw)``), label each with its representative's test
accuracy, fit on those rows only (`hwnas.proxies.learned.fit_model`, seed = draw). The
evaluation set is every NB201 index whose class was NOT drawn (15,625 minus all members of the
labelled classes), so labelled and evaluated networks never share a class; the model predicts a
class, and all members of a class get that prediction.

    python bench/learned_proxy.py --threads 1 --out runs/learned_proxy.json
    python bench/learned_proxy.py --models forest --forest extra_trees,random_forest,hist_gradient_boosting
    python bench/learned_proxy.py --models forest --regret   # + simulated search regret
    python bench/learned_proxy.py --models forest --cv       # + the cross-validated tau `fit` prints

``--regret`` adds what an exhaustive search with the learned score would return, simulated from its
predictions and measured latency, with the unlabelled networks as the only candidates: on raspi4,
pixel3, eyeriss and fpga at the 10th / 25th / 50th / 75th latency percentile, the front of
(predicted accuracy, measured latency) among the feasible unlabelled networks whose cell sees its
input; top-1 regret = best feasible unlabelled accuracy minus the accuracy of the front's
best-predicted member, best-of-front regret = the same minus the front's best accuracy (medians
over the 16 budgets, then the mean over draws); "labels alone" = best feasible accuracy minus the
best feasible labelled network's (no model: what the labels give by themselves). `bench/pareto_quality.py --learned-labels N` runs
the real command instead (every network a candidate).

Needs the ground truth (``nb201/accuracy.csv`` of the data folder).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _report import emit
from _search_sim import budgets, front_regrets

DATASETS = ("cifar10", "cifar100", "imagenet16-120")
LABELS = (78, 156, 469, 1563)
TARGET_1563 = {"cifar10": 0.86, "cifar100": 0.85, "imagenet16-120": 0.85}


def search_regret(dataset: str, score: np.ndarray, candidates: np.ndarray) -> tuple[float, float]:
    """(median top-1 regret, median best-of-front regret) in accuracy points of an exhaustive
    search over the ``candidates`` mask scored by ``score`` (see the module docstring)."""
    from hwnas.eval_truth import load_ground_truth

    top1, best_of_front = front_regrets(load_ground_truth(dataset), score, candidates=candidates)
    return float(np.median(top1)), float(np.median(best_of_front))


def labels_only_regret(dataset: str, labelled: np.ndarray) -> float:
    """Median over the same 16 budgets of the best feasible accuracy (all networks) minus the best
    feasible labelled one (``labelled``: the networks that were trained, the drawn class
    representatives, not their class's other members): what the labels alone give, with no model
    (accuracy points; inf where no labelled network fits a budget)."""
    from hwnas.eval_truth import load_ground_truth

    acc = load_ground_truth(dataset)
    return float(np.median([acc[ok].max() - acc[ok & labelled].max(initial=-np.inf)
                            for per_device in budgets().values() for _, ok in per_device]))


def evaluate_once(dataset: str, n_labels: int, draw: int, model: str, forest_kind: str | None,
                  regret: bool = False, cv: bool = False) -> dict:
    """Fit on ``n_labels`` drawn classes and score the unlabelled networks: tau, top-5 % tau,
    nDCG@10, nDCG@100, seconds to fit."""
    from hwnas.eval_metrics import ndcg_at_k, rank_correlations, top_fraction
    from hwnas.eval_truth import load_ground_truth
    from hwnas.proxies.learned import fit_model
    from hwnas.proxies.learned_features import feature_matrix
    from hwnas.spaces.nb201 import representative_indices

    X = feature_matrix(dataset)
    acc = load_ground_truth(dataset)
    rep = representative_indices()
    reps, inverse = np.unique(rep, return_inverse=True)
    labelled = np.sort(np.random.default_rng(draw).choice(reps, n_labels, replace=False))
    start = time.perf_counter()
    fitted, _ = fit_model(X[labelled], acc[labelled], model, seed=draw, forest_kind=forest_kind)
    fit_s = time.perf_counter() - start
    pred = fitted.predict(X[reps])[inverse]
    held = ~np.isin(rep, labelled)
    p, a = pred[held], acc[held]
    tau, _ = rank_correlations(p, a)
    top = top_fraction(a, 0.05)
    ttau, _ = rank_correlations(p[top], a[top])
    out = {"tau": tau, "top_tau": ttau, "ndcg10": ndcg_at_k(p, a, 10), "ndcg100": ndcg_at_k(p, a, 100),
           "fit_s": fit_s, "n_eval": int(held.sum())}
    if cv:  # what `hwnas proxies fit` reports from the labels alone, beside the held-out truth
        from hwnas.proxies.learned import cross_validated_tau

        out["cv_tau"] = cross_validated_tau(X[labelled], acc[labelled], model, draw, forest_kind)
    if regret:
        out["top1_regret"], out["front_regret"] = search_regret(dataset, pred, held)
        out["labels_only_regret"] = labels_only_regret(dataset, np.isin(np.arange(acc.size), labelled))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--labels", default=",".join(map(str, LABELS)), help="label counts, comma-separated")
    parser.add_argument("--draws", type=int, default=3, help="label draws per setting (seeds 0..draws-1)")
    parser.add_argument("--models", default="forest,parzc")
    parser.add_argument("--forest", default="extra_trees",
                        help="tree ensembles for --models forest, comma-separated (extra_trees, random_forest, "
                             "hist_gradient_boosting)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="also write the rows as JSON")
    parser.add_argument("--progress", action="store_true")
    parser.add_argument("--cv", action="store_true",
                        help="also the cross-validated tau on the labels that hwnas proxies fit prints")
    parser.add_argument("--regret", action="store_true",
                        help="also the simulated search regret over the unlabelled networks (module docstring)")
    args = parser.parse_args()

    import torch

    from hwnas.progress import progress_bar

    torch.set_num_threads(args.threads)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    counts = [int(v) for v in args.labels.split(",") if v.strip()]
    variants = []
    for m in (v.strip() for v in args.models.split(",") if v.strip()):
        if m == "forest":
            variants += [("forest", k.strip()) for k in args.forest.split(",") if k.strip()]
        else:
            variants.append((m, None))
    rows: list[dict] = []
    total = len(datasets) * len(counts) * len(variants) * args.draws
    with progress_bar(args.progress) as bar:
        task = bar.add_task("learned proxy", total=total, status="")
        for ds in datasets:
            for n in counts:
                for model, kind in variants:
                    runs = []
                    for draw in range(args.draws):
                        runs.append(evaluate_once(ds, n, draw, model, kind, args.regret, args.cv))
                        bar.update(task, advance=1, status=f"{ds} {n} {kind or model}")
                    row = {"dataset": ds, "labels": n, "model": kind or model, "draws": args.draws,
                           **{k: float(np.mean([r[k] for r in runs])) for k in ("tau", "top_tau", "ndcg10", "ndcg100",
                                                                                  "fit_s")},
                           **{k: float(np.mean([r[k] for r in runs])) for k in ("top1_regret", "front_regret",
                                                                            "labels_only_regret") if args.regret},
                           **({"cv_tau": float(np.mean([r["cv_tau"] for r in runs]))} if args.cv else {}),
                           "tau_std": float(np.std([r["tau"] for r in runs])),
                           "n_eval": [r["n_eval"] for r in runs]}
                    rows.append(row)
                    print(f"{ds} {n:5d} {row['model']:>22}: tau {row['tau']:.3f} (sd {row['tau_std']:.3f}) "
                          f"top-5% tau {row['top_tau']:.3f} nDCG@10 {row['ndcg10']:.3f} nDCG@100 {row['ndcg100']:.3f} "
                          f"fit {row['fit_s']:.1f} s"
                          + (f" cross-validated tau on the labels {row['cv_tau']:.3f}" if args.cv else "")
                          + (f" top-1 regret {row['top1_regret']:.2f} best-of-front {row['front_regret']:.2f}"
                             if args.regret else ""), flush=True)
    names = list(dict.fromkeys(r["model"] for r in rows))
    cell = "tau / top-5 % tau / nDCG@10" + (" / top-1 regret / best-of-front regret / labels alone" if args.regret
                                            else "")
    lines = ["| dataset | labels | " + " | ".join(f"{m}: {cell}" for m in names) + " |",
             "|---|---|" + "---|" * len(names)]
    for ds in datasets:
        for n in counts:
            cells = []
            for m in names:
                r = next((r for r in rows if r["dataset"] == ds and r["labels"] == n and r["model"] == m), None)
                cells.append("-" if r is None else f"{r['tau']:.3f} / {r['top_tau']:.3f} / {r['ndcg10']:.3f}"
                             + (f" / {r['top1_regret']:.2f} / {r['front_regret']:.2f} / {r['labels_only_regret']:.2f}"
                                if args.regret else ""))
            lines.append(f"| {ds} | {n:,} | " + " | ".join(cells) + " |")
    verdict = []
    for ds in datasets:
        for m in names:
            r = next((r for r in rows if r["dataset"] == ds and r["labels"] == 1563 and r["model"] == m), None)
            if r is not None:
                ok = r["tau"] >= TARGET_1563.get(ds, 1.0)
                verdict.append(f"{ds} {m} 1,563 labels: tau {r['tau']:.3f} (target {TARGET_1563.get(ds)}: "
                               f"{'met' if ok else 'not met'})")
        for r in (r for r in rows if r["dataset"] == ds and "top1_regret" in r):
            ok = r["top1_regret"] <= 0.8 and r["front_regret"] <= 0.5
            verdict.append(f"{ds} {r['model']} {r['labels']:,} labels: top-1 / best-of-front regret "
                           f"{r['top1_regret']:.2f} / {r['front_regret']:.2f} (target <= 0.8 / 0.5: "
                           f"{'met' if ok else 'not met'})")
    emit(lines, verdict, rows, args.out)


if __name__ == "__main__":
    main()
