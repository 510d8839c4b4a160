"""Smaller probe batches as a speed setting: what they cost in ranking quality, on all three
datasets. The class representatives of the 1,000-network sample (`hwnas.eval.fixed_sample(1000,
0)`) are scored live with the default NB201 proxies at ``--batch-size`` (per-architecture seed
from seed 0, one thread, as the shipped class table was computed); batch 64 is read from the
table itself. Kendall tau and top-5 % tau against the test accuracy over the sample's 1,000
networks (each takes its class's scores), for AZ-NAS and for the default aggregate, both the
Eq. 12 rank aggregate within the sample.

    python bench/probe_batch_tau.py --fill --batch-size 16      # resumable, one file per dataset
    python bench/probe_batch_tau.py --fill --batch-size 32      # (run both side by side: 2 cores)
    python bench/probe_batch_tau.py --out bench/results/probe_batch_tau.json
    python bench/probe_batch_tau.py --time 16 --out bench/results/probe_batch_time.json   # quiet machine

``--time N``: AZ-NAS alone and the default, live, at each of ``--batches`` on the first N sampled
classes, interleaved network by network in one process (one thread): median ms and the ratio to
batch 64.

Scores go to ``runs/probe_batch/b{B}_{dataset}.json`` (written atomically per dataset).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from _report import emit

DATASETS = ("cifar10", "cifar100", "imagenet16-120")
PROXIES = ("az_nas", "synflow_log1p", "jacob_cov", "meco")
FOLDER = Path("runs/probe_batch")


def sample_classes() -> tuple[np.ndarray, np.ndarray]:
    """(the 1,000 sampled NB201 indices, their class representatives)."""
    from hwnas.eval import fixed_sample
    from hwnas.spaces.nb201 import representative_indices

    idx = np.asarray(fixed_sample(1000, 0), dtype=np.int64)
    return idx, representative_indices()[idx]


def fill(batch: int, dataset: str) -> None:
    """Score every sampled class representative live at ``batch``; {rep: {column: value}}."""
    from hwnas.eval_scoring import score_architecture

    path = FOLDER / f"b{batch}_{dataset}.json"
    if path.exists():
        return
    _, reps = sample_classes()
    out: dict[str, dict] = {}
    start = time.perf_counter()
    for k, r in enumerate(np.unique(reps)):
        t = time.perf_counter()
        scores = score_architecture(int(r), list(PROXIES), dataset, seed=0, batch_size=batch)
        out[str(int(r))] = {**{c: float(v) for c, v in scores.items()}, "ms": (time.perf_counter() - t) * 1000}
        if k % 100 == 0:
            print(f"b{batch} {dataset}: {k} scored, {time.perf_counter() - start:.0f} s", flush=True)
    FOLDER.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    os.replace(tmp, path)


def columns_at(batch: int, dataset: str, reps: np.ndarray) -> dict[str, np.ndarray]:
    """Score columns of the sampled networks (their class's) at ``batch``: the table for 64."""
    from hwnas.eval import outputs_of

    cols = [c for p in PROXIES for c in outputs_of(p)]
    if batch == 64:
        from hwnas.proxies.table import shipped_scores

        table = shipped_scores("nb201", dataset, PROXIES, 0, 64)
        rows = [table[int(r)] for r in reps]
    else:
        stored = json.loads((FOLDER / f"b{batch}_{dataset}.json").read_text())
        rows = [stored[str(int(r))] for r in reps]
    return {c: np.array([row[c] for row in rows], dtype=np.float64) for c in cols + (["ms"] if batch != 64 else [])}


def timing(n: int, batches: list[int], out: "str | None") -> None:
    """Median ms per live call of AZ-NAS alone and of the default at each batch size, the first
    ``n`` sampled classes (CIFAR-100), settings interleaved per network; ratio to batch 64."""
    from hwnas.eval_scoring import score_architecture

    _, reps = sample_classes()
    classes = [int(r) for r in np.unique(reps)[:n]]
    settings = {"az_nas": ("az_nas",), "default": PROXIES}
    score_architecture(classes[0], list(PROXIES), "cifar100", batch_size=batches[0])  # warm-up
    ms: dict[tuple[str, int], list[float]] = {}
    for r in classes:
        for name, proxies in settings.items():
            for b in batches:
                t = time.perf_counter()
                score_architecture(r, list(proxies), "cifar100", seed=0, batch_size=b)
                ms.setdefault((name, b), []).append((time.perf_counter() - t) * 1000)
    rows, lines = [], ["| score | batch | ms per call (median) | vs batch 64 |", "|---|---|---|---|"]
    for name in settings:
        for b in batches:
            med = float(np.median(ms[(name, b)]))
            ref = float(np.median(ms[(name, 64)])) if (name, 64) in ms else float("nan")
            rows.append({"score": name, "batch": b, "ms_median": med, "ratio_to_64": med / ref})
            lines.append(f"| {name} | {b} | {med:.0f} | {med / ref:.2f} |")
    emit(lines, [f"{n} CIFAR-100 classes of the 1,000-network sample, one thread, interleaved"], rows, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fill", action="store_true", help="score the sample live at --batch-size")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--batches", default="16,32,64", help="batch sizes to report")
    ap.add_argument("--time", type=int, default=0, help="time N classes at every batch size instead")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    if args.fill:
        for ds in DATASETS:
            fill(args.batch_size, ds)
        return
    if args.time:
        timing(args.time, [int(v) for v in args.batches.split(",")], args.out)
        return
    from hwnas.eval import load_ground_truth, outputs_of
    from hwnas.eval_metrics import rank_correlations, top_fraction
    from hwnas.proxies.aggregate import nonlinear_rank_aggregate

    idx, reps = sample_classes()
    az = list(outputs_of("az_nas"))
    default = [c for p in PROXIES for c in outputs_of(p)]
    rows, lines = [], ["| dataset | batch | az_nas tau / top-5 % tau | default tau / top-5 % tau | live ms per class (median) |",
                       "|---|---|---|---|---|"]
    for ds in DATASETS:
        acc = load_ground_truth(ds)[idx]
        top = top_fraction(acc, 0.05)
        for b in (int(v) for v in args.batches.split(",")):
            cols = columns_at(b, ds, reps)
            row = {"dataset": ds, "batch": b}
            for name, members in (("az_nas", az), ("default", default)):
                s = nonlinear_rank_aggregate(cols, members)
                row[name] = {"tau": rank_correlations(s, acc)[0], "top5_tau": rank_correlations(s[top], acc[top])[0]}
            row["ms_median"] = float(np.median(cols["ms"])) if "ms" in cols else None
            rows.append(row)
            ms = "table" if row["ms_median"] is None else f"{row['ms_median']:.0f}"
            lines.append(f"| {ds} | {b} | {row['az_nas']['tau']:.3f} / {row['az_nas']['top5_tau']:.3f} | "
                         f"{row['default']['tau']:.3f} / {row['default']['top5_tau']:.3f} | {ms} |")
    emit(lines, [f"{len(idx)} networks, {np.unique(reps).size} classes; top-5 % = {int(np.size(top))} networks"], rows,
         args.out)


if __name__ == "__main__":
    main()
