"""How good is the front `hwnas pareto` returns? Judged on real accuracy and measured latency.

For NB201 on the devices with measured latency for every architecture (raspi4, pixel3, eyeriss,
fpga), budgets at the 10th / 25th / 50th / 75th percentile of that device's latency, three datasets
and three search seeds, run the search (default proxy and algorithm, <= --evaluations) and compare its front
with the truth from ``nb201/accuracy.csv`` (200-epoch test accuracy):

* regret = best true accuracy among ALL feasible architectures (measured latency <= budget, all
  15,625) minus the best true accuracy among the returned front members that are feasible on
  measured latency (accuracy points; inf if none is): "best of front", what a user who trains
  every front member gets;
* top-1 regret = the same best feasible accuracy minus the true accuracy of the front member with
  the best proxy score (the front's first row; inf if it violates the budget): what a user who
  trains one network gets;
* violations = returned front members whose measured latency exceeds the budget;
* HV ratio = hypervolume of the returned feasible front / hypervolume of the true feasible front,
  both in (true accuracy, measured latency) with reference point (0 %, budget).

All runs share one archive (``--archive``), so a proxy score is computed at most once per
(architecture, dataset). Prints a markdown table per proxy and writes every run to ``--out``.

    python bench/pareto_quality.py --proxies az_nas,params,flops --out runs/bench/pareto_quality.json
    python bench/pareto_quality.py --proxies az_nas --datasets cifar100 --algorithm nsga2
    python bench/pareto_quality.py --learned-labels 1563   # a learned proxy per dataset and seed
    python bench/pareto_quality.py --learned-labels 469 --label-selection suggest --label-rounds 2
    python bench/pareto_quality.py --learned-labels 60 --label-selection suggest-budget

With ``--learned-labels N`` the score is a learned proxy (`hwnas proxies fit`, ``--learned-model``)
fitted for each dataset and seed on N isomorphism classes drawn with
``numpy.random.default_rng(seed)`` (each labelled with its representative's accuracy, as
`bench/learned_proxy.py` draws them), saved under ``<out>/home`` (HWNAS_HOME) and searched with
``--proxy`` set to it. Every network stays a candidate, labelled ones included (what a user with
those labels runs); each row says whether its top-1 network was labelled. With
``--label-selection suggest`` the labelled classes come from `hwnas proxies suggest` instead
(``--label-rounds`` rounds of equal size, each later one ranked by the proxy fitted so far);
``suggest-budget`` asks it per run, within that run's device and latency budget.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from pathlib import Path

import numpy as np

DEVICES = ("raspi4", "pixel3", "eyeriss", "fpga")
PERCENTILES = (10, 25, 50, 75)
DATASETS = ("cifar10", "cifar100", "imagenet16-120")


def truth(dataset: str, latency: np.ndarray, budget: float, acc: np.ndarray) -> tuple[float, float]:
    """(best feasible accuracy, hypervolume of the true feasible front)."""
    from hwnas.search.front import hypervolume, non_dominated

    ok = latency <= budget
    F = np.column_stack([-acc[ok], latency[ok]])
    return float(acc[ok].max()), hypervolume(F[non_dominated(F)], np.array([0.0, budget]))


def fit_learned(name: str, dataset: str, n_labels: int, model: str, seed: int, folder: Path,
                selection: str = "random", rounds: int = 1, device: str | None = None,
                budget_ms: float | None = None) -> np.ndarray:
    """Fit learned proxy ``name`` on ``n_labels`` labelled classes; returns every NB201 index of
    the labelled classes. ``selection``: "random" draws the classes with ``default_rng(seed)``;
    "suggest" asks `hwnas.proxies.label_selection.suggest_labels` in ``rounds`` rounds of equal
    size (the first ranked by the default training-free score, each later one by the proxy
    fitted on the labels so far), as a user following `hwnas proxies suggest` would; with
    ``device`` and ``budget_ms`` only networks within that latency budget (``--device --latency``)."""
    from hwnas.search.budget import Budget
    from hwnas.eval import load_ground_truth
    from hwnas.proxies.label_selection import suggest_labels
    from hwnas.proxies.learned import fit_learned_proxy, read_labels
    from hwnas.spaces.nb201 import representative_indices

    rep = representative_indices()
    acc = load_ground_truth(dataset)
    path = folder / "labels" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)

    def fit(indices: np.ndarray) -> None:
        path.write_text("arch,accuracy\n" + "".join(f"{i},{float(acc[i])!r}\n" for i in indices))
        fit_learned_proxy(name, read_labels(path), dataset=dataset, model=model, seed=seed)

    if selection == "random":
        drawn = np.sort(np.random.default_rng(seed).choice(np.unique(rep), n_labels, replace=False))
        fit(drawn)
    else:
        budgets = [Budget("latency", budget_ms, f"{budget_ms!r}ms")] if budget_ms is not None else []
        if budgets:  # a tight budget may hold fewer classes than asked for: all of them then
            from hwnas.proxies.label_selection import sees_input, within_budgets

            reps = np.unique(rep)
            n_labels = min(n_labels, int((within_budgets(reps, dataset, device, budgets) & sees_input(reps)).sum()))
        drawn = np.zeros(0, dtype=np.int64)
        for k, size in enumerate(np.array_split(np.arange(n_labels), rounds)):
            s = suggest_labels(dataset, size.size, proxy=None if k == 0 else name, labelled=drawn.tolist(),
                               device=device, budgets=budgets)
            drawn = np.concatenate([drawn, s.arch])
            fit(drawn)
    return np.flatnonzero(np.isin(rep, drawn))


def unlabelled_tau(name: str, acc: np.ndarray, labelled_members: np.ndarray) -> float:
    """Kendall tau of learned proxy ``name`` against ``acc`` over every NB201 network outside the
    labelled classes."""
    from hwnas.eval_metrics import rank_correlations
    from hwnas.proxies.learned import learned_predictions

    held = ~np.isin(np.arange(acc.size), labelled_members)
    return float(rank_correlations(learned_predictions(name)[held], acc[held])[0])


def trained_feasible(members: "np.ndarray | None", latency: np.ndarray, budget: float) -> "np.ndarray | None":
    """The trained networks (the labelled class representatives among ``members``) that fit the
    budget on measured latency; None without labels."""
    if members is None:
        return None
    from hwnas.spaces.nb201 import representative_indices

    trained = members[representative_indices()[members] == members]
    return trained[latency[trained] <= budget]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proxies", default="az_nas,params,flops",
                    help="comma-separated; each is one --proxy (join proxies aggregated into one score with '+', "
                         "e.g. az_nas+vkdnw_single)")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--devices", default=",".join(DEVICES))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--percentiles", default=",".join(map(str, PERCENTILES)),
                    help="latency budgets, as percentiles of each device's measured latency")
    ap.add_argument("--evaluations", type=int, default=1000)
    ap.add_argument("--pop-size", type=int, default=50)
    ap.add_argument("--algorithm", default="auto", help="as hwnas pareto --algorithm (auto: its default)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--archive", default="runs/bench/pareto_archive.sqlite")
    ap.add_argument("--out", default="runs/bench/pareto_quality.json")
    ap.add_argument("--learned-labels", type=int, default=None,
                    help="score with a learned proxy fitted on this many labelled classes (per dataset and seed) "
                         "instead of --proxies")
    ap.add_argument("--learned-model", default="forest", help="forest or parzc (with --learned-labels)")
    ap.add_argument("--label-selection", default="random", choices=("random", "suggest", "suggest-budget"),
                    help="with --learned-labels: draw the labelled classes at random, take them from "
                         "hwnas proxies suggest, or from it within each run's device and budget (one fit per run)")
    ap.add_argument("--label-rounds", type=int, default=1,
                    help="with --label-selection suggest: rounds of equal size, each later one ranked by the "
                         "proxy fitted on the labels so far")
    args = ap.parse_args()

    import torch

    from hwnas.api import pareto
    from hwnas.devices.measured import measured_column
    from hwnas.eval import load_ground_truth
    from hwnas.search.front import hypervolume

    torch.set_num_threads(1)
    rows = []
    started = time.perf_counter()
    runs_dir = Path(args.out).with_suffix("")
    labelled: dict[tuple[str, int], np.ndarray] = {}
    fitted_tau: dict[tuple[str, int], float] = {}  # Kendall tau of a fitted proxy over every unlabelled network
    proxies = args.proxies.split(",")
    tag = ""
    if args.learned_labels is not None:
        os.environ["HWNAS_HOME"] = str(runs_dir / "home")
        tag = {"random": "", "suggest": f"-sg{args.label_rounds}",
               "suggest-budget": f"-sb{args.label_rounds}"}[args.label_selection]
        proxies = [f"learned-{args.learned_model}-{args.learned_labels}{tag}"]
    for proxy, dataset, device in itertools.product(proxies, args.datasets.split(","), args.devices.split(",")):
        acc = load_ground_truth(dataset)
        latency = measured_column("nb201", device, "latency")
        assert np.isfinite(latency).all(), f"{device} lacks measured latency for some architectures"
        for pct in (int(p) for p in args.percentiles.split(",")):
            budget = float(np.percentile(latency, pct))
            best, true_hv = truth(dataset, latency, budget, acc)
            for seed in (int(s) for s in args.seeds.split(",")):
                t0 = time.perf_counter()
                search_proxy = proxy.replace("+", ",")
                if args.learned_labels is not None:
                    search_proxy = f"pq-{dataset}-{args.learned_labels}-{args.learned_model}{tag}-s{seed}"
                    if args.label_selection == "suggest-budget":  # labels for this device and budget only
                        search_proxy = f"pb-{dataset[:5]}-{device}-p{pct}-{args.learned_labels}-s{seed}"
                        labelled[(dataset, seed)] = fit_learned(search_proxy, dataset, args.learned_labels,
                                                                args.learned_model, seed, runs_dir, "suggest",
                                                                args.label_rounds, device, budget)
                    elif (dataset, seed) not in labelled:
                        labelled[(dataset, seed)] = fit_learned(search_proxy, dataset, args.learned_labels,
                                                                args.learned_model, seed, runs_dir,
                                                                args.label_selection, args.label_rounds)
                        fitted_tau[(dataset, seed)] = unlabelled_tau(search_proxy, acc, labelled[(dataset, seed)])
                res = pareto(device=device, latency_ms=budget, dataset=dataset, proxy=search_proxy,
                             evaluations=args.evaluations, pop_size=args.pop_size, seed=seed,
                             algorithm=args.algorithm, workers=args.workers, archive=args.archive,
                             out=runs_dir / f"{proxy}_{dataset}_{device}_p{pct}_s{seed}")
                idx = res.front["arch_index"].to_numpy(dtype=np.int64)
                lat, a = latency[idx], acc[idx]
                ok = lat <= budget
                got = float(a[ok].max()) if ok.any() else float("nan")
                F = np.column_stack([-a[ok], lat[ok]])
                rows.append({
                    "proxy": proxy, "dataset": dataset, "device": device, "percentile": pct, "budget_ms": budget,
                    "seed": seed, "evaluated": int(res.run["evaluated"]), "front": int(idx.size),
                    "violations": int((~ok).sum()), "best_feasible_acc": best, "returned_best_acc": got,
                    "regret": best - got if ok.any() else float("inf"),
                    "top1_regret": best - float(a[0]) if idx.size and ok[0] else float("inf"),
                    "algorithm": res.run["algorithm"],
                    "top1_labelled": bool(idx.size and (dataset, seed) in labelled
                                          and np.isin(idx[0], labelled[(dataset, seed)])),
                    # what the labels give by themselves: the best trained network that fits
                    "labels_alone_regret": (best - float(acc[trained].max(initial=-np.inf)))
                    if (trained := trained_feasible(labelled.get((dataset, seed)), latency, budget)) is not None
                    else None,
                    "hv_ratio": hypervolume(F, np.array([0.0, budget])) / true_hv if true_hv > 0 else float("nan"),
                    "computed": res.run["scoring"]["computed"], "seconds": round(time.perf_counter() - t0, 2),
                })
                r = rows[-1]
                print(f"{proxy:8s} {dataset:15s} {device:8s} p{pct:<3d} s{seed} budget {budget:7.3f} ms: "
                      f"regret {r['regret']:.2f}  top-1 {r['top1_regret']:.2f}  hv {r['hv_ratio']:.3f}  front {r['front']}  "
                      f"violations {r['violations']}  scored {r['computed']}  {r['seconds']} s", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows,
                                          "fitted_proxy_tau_unlabelled": {f"{d}_s{s}": t for (d, s), t in
                                                                          fitted_tau.items()},
                                          "seconds": round(time.perf_counter() - started, 1)}, indent=2))
    report(rows)
    for dataset in dict.fromkeys(d for d, _ in fitted_tau):
        taus = [t for (d, _), t in fitted_tau.items() if d == dataset]
        print(f"{dataset}: Kendall tau of the fitted proxies over every unlabelled network: mean {np.mean(taus):.3f} "
              f"({', '.join(f'{t:.3f}' for t in taus)})")


def report(rows: list[dict]) -> None:
    """Markdown: per proxy and dataset, median regret per device x budget (over seeds), the
    median over everything, top-1 regret, HV ratio and violations."""
    proxies = list(dict.fromkeys(r["proxy"] for r in rows))
    for proxy in proxies:
        algos = ", ".join(dict.fromkeys(r.get("algorithm", "?") for r in rows if r["proxy"] == proxy))
        print(f"\n### proxy `{proxy}` ({algos}): median best-of-front regret over seeds (accuracy points) / "
              f"median HV ratio\n")
        devices = list(dict.fromkeys(r["device"] for r in rows))
        print("| dataset | budget pct | " + " | ".join(devices) + " | all (median regret) | max regret | "
              "top-1 median regret | top-1 max regret | violations |")
        print("|---|---|" + "---|" * len(devices) + "---|---|---|---|---|")
        for dataset in dict.fromkeys(r["dataset"] for r in rows):
            sel = [r for r in rows if r["proxy"] == proxy and r["dataset"] == dataset]
            for pct in dict.fromkeys(r["percentile"] for r in sel):
                cells = []
                for d in devices:
                    rs = [r for r in sel if r["device"] == d and r["percentile"] == pct]
                    if rs:
                        cells.append(f"{np.median([r['regret'] for r in rs]):.2f} / "
                                     f"{np.median([r['hv_ratio'] for r in rs]):.3f}")
                    else:
                        cells.append("-")
                rs = [r for r in sel if r["percentile"] == pct]
                print(f"| {dataset} | p{pct} | " + " | ".join(cells) +
                      f" | {np.median([r['regret'] for r in rs]):.2f} | {max(r['regret'] for r in rs):.2f} | "
                      f"{np.median([r['top1_regret'] for r in rs]):.2f} | {max(r['top1_regret'] for r in rs):.2f} | "
                      f"{sum(r['violations'] for r in rs)} |")
            hv = [r["hv_ratio"] for r in sel]
            print(f"| **{dataset}** | **all** | " + " | ".join("" for _ in devices) +
                  f" | **{np.median([r['regret'] for r in sel]):.2f}** | {max(r['regret'] for r in sel):.2f} | "
                  f"**{np.median([r['top1_regret'] for r in sel]):.2f}** | {max(r['top1_regret'] for r in sel):.2f} | "
                  f"{sum(r['violations'] for r in sel)} |")
            labelled = sum(r.get("top1_labelled", False) for r in sel)
            print(f"\n{dataset}: HV ratio {min(hv):.3f}-{max(hv):.3f} (median {np.median(hv):.3f}), "
                  f"{len(sel)} runs" + (f"; top-1 network labelled in {labelled}" if labelled else ""))
            alone = [r["labels_alone_regret"] for r in sel if r.get("labels_alone_regret") is not None]
            if alone:
                print(f"{dataset}: the labels alone (best trained network that fits): median regret "
                      f"{np.median(alone):.2f}")


if __name__ == "__main__":
    main()
