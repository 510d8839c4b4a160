"""What a score costs when it is computed live (a batch size or dataset the shipped table does not
hold, `--no-shipped-scores`): milliseconds per `hwnas.eval.score_architecture` call, the
settings interleaved network by network in one process (the same networks, one thread, batch 64),
and each setting's median relative to AZ-NAS alone.

    python bench/default_live_cost.py --archs 16

Run it on a quiet machine: it is a timing.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _report import emit

SETTINGS = {
    "az_nas": ("az_nas",),
    "az_nas + synflow_log1p + jacob_cov": ("az_nas", "synflow_log1p", "jacob_cov"),
    "az_nas + synflow_log1p + jacob_cov + meco": ("az_nas", "synflow_log1p", "jacob_cov", "meco"),
    "jacob_cov + meco + swap (the NB201 default)": ("jacob_cov", "meco", "swap"),
    "az_trainability + az_complexity + jacob_cov + meco": ("az_trainability", "az_complexity", "jacob_cov", "meco"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archs", type=int, default=16, help="networks of hwnas.eval.fixed_sample(200, 0)")
    ap.add_argument("--dataset", default="cifar100")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="also write the rows as JSON")
    args = ap.parse_args()

    import torch

    from hwnas.eval import fixed_sample, score_architecture

    torch.set_num_threads(args.threads)
    archs = [int(a) for a in fixed_sample(200, 0)[:args.archs]]
    score_architecture(archs[0], ["az_nas", "synflow_log1p", "jacob_cov", "meco"], args.dataset, 0, args.batch_size)
    ms: dict[str, list[float]] = {k: [] for k in SETTINGS}
    for arch in archs:
        for name, proxies in SETTINGS.items():
            t0 = time.perf_counter()
            score_architecture(arch, list(proxies), args.dataset, 0, args.batch_size)
            ms[name].append(1000.0 * (time.perf_counter() - t0))
    base = statistics.median(ms["az_nas"])
    rows = [{"score": k, "median_ms": statistics.median(v), "ratio_to_az_nas": statistics.median(v) / base}
            for k, v in ms.items()]
    lines = ["| score | median ms per network | x AZ-NAS alone |", "|---|---|---|"]
    lines += [f"| {r['score']} | {r['median_ms']:.0f} | {r['ratio_to_az_nas']:.2f} |" for r in rows]
    emit(lines, [f"{len(archs)} NB201 networks, {args.dataset}, batch {args.batch_size}, {args.threads} thread(s), "
                 "settings interleaved per network"], rows, args.out)


if __name__ == "__main__":
    main()
