"""The zero-cost proxy results table of issue 4: every proxy on the fixed 1,000-architecture
NAS-Bench-201 sample (seed 0), CIFAR-10, CIFAR-100 and ImageNet16-120, batch 64.

For each dataset it runs `hwnas.eval.evaluate_proxies` with every registered proxy (scores come
from the per-dataset SQLite cache; missing ones are computed, so the same command both fills and
reads the cache) and prints one markdown table: Kendall tau and Spearman rho against the
200-epoch test accuracy over the sample and over its top 5 %, the median ms per architecture,
and, per dataset, the single proxies whose tau reaches that of ``az_nas``. xi-GSNR's published
tau (paper 002, Table 2, all 15,625 architectures) is printed beside ours.

    python bench/proxies_table.py --threads 1 --out runs/proxies_table.json

To fill the caches faster, run ``hwnas eval proxies`` for subsets of proxies side by side with
the same ``--cache`` file first (see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse

from _report import emit

DATASETS = ("cifar10", "cifar100", "imagenet16-120")
# Kendall tau of xi-GSNR over all 15,625 NB201 architectures as published (paper 002, Table 2).
XI_GSNR_PAPER = {"cifar10": 0.661, "cifar100": 0.658, "imagenet16-120": 0.608}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first", type=int, default=None,
                        help="only the first N architectures of the sample (a random subset of it, "
                             "for a table while the caches are still filling)")
    parser.add_argument("--fill-chunk", type=int, default=None,
                        help="score in chunks of N architectures, az_nas in its own timed call first, "
                             "so an interrupted run leaves a complete prefix of the sample")
    parser.add_argument("--shard", default=None,
                        help="i/k with --fill-chunk: fill only every k-th chunk starting at chunk i and print no "
                             "table (one process per core; run again without --shard for the table)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cache", default="runs/cache/s64_{dataset}.sqlite",
                        help="score cache per dataset ({dataset} is replaced)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None, help="also write the rows as JSON")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()

    import torch

    from hwnas.eval import evaluate_proxies, fixed_sample, proxy_metrics
    from hwnas.proxies import PROXIES

    shard, shards = (int(v) for v in args.shard.split("/")) if args.shard else (0, 1)
    if args.shard and not (args.fill_chunk and 0 <= shard < shards):
        parser.error("--shard i/k needs --fill-chunk and 0 <= i < k")
    if args.threads:
        torch.set_num_threads(args.threads)
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    singles = [n for n in PROXIES.names() if not n.startswith("az_")]
    names = ["az_nas", *singles]
    sample = fixed_sample(args.sample, args.seed)[:args.first]  # sorted indices, as evaluate_proxies takes them
    rows: dict[str, dict[str, dict]] = {}
    for ds in datasets:
        cache = args.cache.format(dataset=ds)
        if args.fill_chunk:
            for start in range(0, len(sample), args.fill_chunk):
                if (start // args.fill_chunk) % shards != shard:
                    continue
                part = sample[start:start + args.fill_chunk]
                for request in (["az_nas"], names):
                    evaluate_proxies(request, ds, part, args.seed, args.batch_size, cache, progress=False)
                print(f"{ds}: architectures {start + 1}..{start + len(part)} of the sample scored"
                      + (f" (shard {shard}/{shards})" if args.shard else ""), flush=True)
            if args.shard:
                continue
        ev = evaluate_proxies(names, ds, sample, args.seed, args.batch_size, cache,
                              progress=not args.no_progress)
        for m in proxy_metrics(ev):
            rows.setdefault(m.name, {})[ds] = m.as_dict()

    if args.shard:
        return
    head = "| proxy | " + " | ".join(f"{d} tau / rho | top-5 % tau | ms/arch" for d in datasets) + " |"
    lines = [head, "|---|" + "---|---|---|" * len(datasets)]
    for name, per in rows.items():
        cells = []
        for d in datasets:
            m = per[d]
            cells.append(f"{m['kendall_tau']:.3f} / {m['spearman_rho']:.3f} | {m['top_kendall_tau']:.3f} | "
                         f"{m['median_ms_per_arch']:,.0f}")
        label = f"**{name}**" if name == "az_nas" else ("  " + name if name.startswith("az_") else name)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    verdict = []
    for d in datasets:
        az = rows["az_nas"][d]["kendall_tau"]
        rivals = [n for n in singles if rows[n][d]["kendall_tau"] >= az]
        best = max(singles, key=lambda n: rows[n][d]["kendall_tau"])
        verdict.append(f"{d}: az_nas tau {az:.3f}; best single proxy {best} {rows[best][d]['kendall_tau']:.3f}; "
                       f"az_nas beats every single proxy: {'yes' if not rivals else 'no (' + ', '.join(rivals) + ')'}")
        if "xi_gsnr" in rows:
            verdict.append(f"{d}: xi_gsnr tau {rows['xi_gsnr'][d]['kendall_tau']:.3f} "
                           f"(paper, all 15,625: {XI_GSNR_PAPER.get(d, float('nan')):.3f})")
    emit(lines, verdict, rows, args.out)


if __name__ == "__main__":
    main()
