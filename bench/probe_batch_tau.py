"""Smaller probe batches as a speed setting: what they cost in ranking quality, on all three
datasets. The class representatives of the 1,000-network sample (`hwnas.eval.fixed_sample(1000,
0)`) are scored live with every proxy of the reported scores at ``--batch-size`` (per-architecture
seed from seed 0, one thread, as the shipped class table was computed); batch 64 is read from the
table itself. Kendall tau and top-5 % tau against the test accuracy over the sample's 1,000
networks (each takes its class's scores), for AZ-NAS, the previous NB201 default and the default
aggregate, each the Eq. 12 rank aggregate within the sample. A stored file lacking a proxy gets
just that proxy's columns added (its ``ms`` stays that of the first fill).

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
PREVIOUS_DEFAULT = ("az_nas", "synflow_log1p", "jacob_cov", "meco")
PROXIES = ("az_nas", "synflow_log1p", "jacob_cov", "meco", "swap")  # every proxy the reported scores read


def scores() -> dict[str, tuple[str, ...]]:
    """Reported score -> its proxies: AZ-NAS, the previous default, hwnas pareto's NB201 default."""
    from hwnas.search.run import default_proxy

    return {"az_nas": ("az_nas",), "previous default": PREVIOUS_DEFAULT,
            "default": tuple(default_proxy("nb201").split(","))}
FOLDER = Path("runs/probe_batch")


def sample_classes() -> tuple[np.ndarray, np.ndarray]:
    """(the 1,000 sampled NB201 indices, their class representatives)."""
    from hwnas.eval import fixed_sample
    from hwnas.spaces.nb201 import representative_indices

    idx = np.asarray(fixed_sample(1000, 0), dtype=np.int64)
    return idx, representative_indices()[idx]


def fill(batch: int, dataset: str) -> None:
    """Score every sampled class representative live at ``batch``; {rep: {column: value}}. Only
    the proxies a stored file lacks are scored."""
    from hwnas.eval import outputs_of
    from hwnas.eval_scoring import score_architecture

    path = FOLDER / f"b{batch}_{dataset}.json"
    out: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}
    _, reps = sample_classes()
    start = time.perf_counter()
    for k, r in enumerate(np.unique(reps)):
        row = out.setdefault(str(int(r)), {})
        missing = [p for p in PROXIES if any(c not in row for c in outputs_of(p))]
        if not missing:
            continue
        t = time.perf_counter()
        scored = score_architecture(int(r), missing, dataset, seed=0, batch_size=batch)
        row.update({c: float(v) for c, v in scored.items()})
        row.setdefault("ms", (time.perf_counter() - t) * 1000)
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
    settings = scores()
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
    named = {name: [c for p in proxies for c in outputs_of(p)] for name, proxies in scores().items()}
    rows, lines = [], ["| dataset | batch | " + " | ".join(f"{n} tau / top-5 % tau" for n in named)
                       + " | live ms per class, first fill (median) |", "|---|---|" + "---|" * (len(named) + 1)]
    for ds in DATASETS:
        acc = load_ground_truth(ds)[idx]
        top = top_fraction(acc, 0.05)
        for b in (int(v) for v in args.batches.split(",")):
            cols = columns_at(b, ds, reps)
            row = {"dataset": ds, "batch": b}
            for name, members in named.items():
                s = nonlinear_rank_aggregate(cols, members)
                row[name] = {"tau": rank_correlations(s, acc)[0], "top5_tau": rank_correlations(s[top], acc[top])[0]}
            row["ms_median"] = float(np.median(cols["ms"])) if "ms" in cols else None
            rows.append(row)
            ms = "table" if row["ms_median"] is None else f"{row['ms_median']:.0f}"
            lines.append(f"| {ds} | {b} | " + " | ".join(f"{row[n]['tau']:.3f} / {row[n]['top5_tau']:.3f}" for n in named)
                         + f" | {ms} |")
    emit(lines, [f"{len(idx)} networks, {np.unique(reps).size} classes; top-5 % = {int(np.size(top))} networks"], rows,
         args.out)


if __name__ == "__main__":
    main()
