"""Build hwnas/_data/score_quality.json: how well each NB201 score the shipped table serves agrees
with the benchmark's test accuracy where it is used, the figures `hwnas pareto` prints beside its
front (`hwnas.search.score_quality`).

Per dataset and score setting, exactly as a user gets the score (an exhaustive `hwnas pareto`
run, every network given its class's score from ``all_evaluated.csv``, as
`bench/user_score_tau.py`): Kendall tau over all 15,625 networks and over the best 5 %, and the
search regret of `bench/aggregate_regret.py` (the exhaustive search over raspi4, pixel3, eyeriss
and fpga at budgets p10-p75 of their measured latency: median top-1 and best-of-front regret, in
accuracy points). For the default, the regret with other scoring seeds comes from
``bench/results/seed_regret_*.json`` (`bench/seed_regret.py`). Probe batches the table does not
hold (16 and 32, a speed setting) were measured on the fixed 1,000-network sample only
(`bench/probe_batch_tau.py`, ``bench/results/probe_batch_tau.json``): those become sample entries
(tau and top-5 % tau within the sample, beside the same sample at batch 64).

    python scripts/build_score_quality.py

Needs the ground truth (``nb201/accuracy.csv`` and the measured latencies of the data folder).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "hwnas" / "_data" / "score_quality.json"
DATASETS = ("cifar10", "cifar100", "imagenet16-120")
# score settings measured (None: hwnas pareto's default), at the table's batch size for each dataset
PROXIES = (None, "az_nas", "az_nas,synflow_log1p,jacob_cov,meco", "jacob_cov", "meco", "swap", "naswot", "synflow",
           "synflow_log1p", "vkdnw_single")
EXTRA_BATCH = {"cifar10": 16}  # the table's further batch size: the default and AZ-NAS measured there too
SEED_RESULTS = {"cifar10": "seed_regret_cifar10.json", "cifar100": "seed_regret_cifar100.json",
                "imagenet16-120": "seed_regret_imagenet16.json"}


def other_seeds(dataset: str) -> list[dict]:
    """The default's regret with other scoring seeds, from `bench/seed_regret.py`'s JSON."""
    name = SEED_RESULTS.get(dataset)
    path = ROOT / "bench" / "results" / name if name else None
    if path is None or not path.is_file():
        return []
    rows = json.loads(path.read_text())["rows"]
    return [{"seed": int(r["score"].split()[1]), "tau": r["tau"], "top1_regret": r["top1_regret"],
             "best_of_front_regret": r["best_of_front_regret"]}
            for r in rows if r["score"].startswith("seed ") and r["score"] != "seed 0"]


def sample_entries() -> list[dict]:
    """Tau within the fixed 1,000-network sample at each probe batch of `bench/probe_batch_tau.py`."""
    path = ROOT / "bench" / "results" / "probe_batch_tau.json"
    if not path.is_file():
        return []
    from probe_batch_tau import scores

    proxies_of = scores()
    rows = json.loads(path.read_text())["rows"]
    at64 = {(r["dataset"], name): r[name]["tau"] for r in rows if r["batch"] == 64 for name in proxies_of}
    return [{"space": "nb201", "dataset": r["dataset"], "proxies": sorted(proxies_of[name]), "seed": 0,
             "batch_size": r["batch"], "population": "the fixed 1,000-network sample (hwnas.eval.fixed_sample(1000, 0))",
             "tau": r[name]["tau"], "top5_tau": r[name]["top5_tau"], "tau_at_batch_64": at64[(r["dataset"], name)]}
            for r in rows for name in proxies_of if r["batch"] != 64]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from _search_sim import DEVICES, PERCENTILES, front_regrets
    from user_score_tau import user_scores

    from hwnas.eval import load_ground_truth
    from hwnas.eval_metrics import rank_correlations, top_fraction

    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        for dataset in DATASETS:
            acc = load_ground_truth(dataset)
            top = top_fraction(acc)
            extra = [(p, EXTRA_BATCH[dataset]) for p in (None, "az_nas") if dataset in EXTRA_BATCH]
            for proxy, batch in [*((p, None) for p in PROXIES), *extra]:
                score, run = user_scores(proxy, dataset, "raspi4", Path(tmp) / f"{dataset}-{proxy}-{batch}", batch)
                if run["scoring"]["computed"]:
                    raise SystemExit(f"{proxy or 'the default'} on {dataset}: {run['scoring']['computed']} classes "
                                     "were scored live; the shipped table should hold this setting")
                top1, best_of_front = front_regrets(acc, score)
                entry = {"space": "nb201", "dataset": dataset, "proxies": sorted(run["proxy"]),
                         "default": proxy is None, "seed": run["settings"]["proxy_seed"],
                         "batch_size": run["settings"]["batch_size"],
                         "tau": rank_correlations(score, acc)[0], "top5_tau": rank_correlations(score[top], acc[top])[0],
                         "top1_regret": float(np.median(top1)), "best_of_front_regret": float(np.median(best_of_front)),
                         "searches": len(top1)}
                if proxy is None and batch is None:
                    entry["other_seeds"] = other_seeds(dataset)
                entries.append(entry)
                print(f"{dataset} {'+'.join(entry['proxies'])} batch {entry['batch_size']}: tau {entry['tau']:.3f}, top-5 % {entry['top5_tau']:.3f}, "
                      f"regret {entry['top1_regret']:.2f} / {entry['best_of_front_regret']:.2f}", flush=True)
    record = {"format": "hwnas-score-quality", "format_version": 1,
              "measured": _dt.date.today().isoformat(),
              "method": (f"Kendall tau of the score (as hwnas pareto --algorithm exhaustive writes it) with the "
                         f"benchmark's test accuracy over all 15,625 NB201 networks and over the best 5 %; search "
                         f"regret: the exhaustive search over {', '.join(DEVICES)} at budgets "
                         f"p{'/'.join(str(p) for p in PERCENTILES)} of their measured latency ({len(DEVICES) * len(PERCENTILES)} "
                         f"searches), median over them of the best feasible accuracy minus that of the best-scored "
                         f"front member (top-1) and of the best front member (best-of-front), accuracy points"),
              "command": "python scripts/build_score_quality.py", "entries": entries,
              "sample_entries": sample_entries()}
    out = Path(args.out)
    tmp_path = out.with_suffix(".json.tmp")
    tmp_path.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp_path, out)
    print(f"wrote {out} ({len(entries)} entries)")


if __name__ == "__main__":
    from hwnas.errors import HwnasUsageError

    try:
        main()
    except HwnasUsageError as exc:  # no data folder, say: one line, exit 2
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
