"""Build hwnas/_data/nb201_scores.npz (+ .json) from a score cache filled by
scripts/score_nb201_classes.py: the proxy columns of every NB201 isomorphism-class
representative, per dataset, for one setting (proxies, seed, batch size; ``--dataset-batch``
gives a dataset another batch size, ``--extra-batch`` stores a dataset at a further batch size
too, as ``<dataset>@<batch>/<column>``). Datasets may be partial; ``<dataset>/present`` marks the
representatives that were scored.

    python scripts/build_score_table.py --cache runs/cache/scores.sqlite --cache runs/cache/s64_cifar100.sqlite \
        --dataset-batch cifar100=64
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np

from hwnas import __version__
from hwnas.eval import CacheKey, ScoreCache, outputs_of, version_tag
from hwnas.proxies.table import array_prefix
from hwnas.spaces.nb201 import representative_indices

OUT = Path(__file__).resolve().parents[1] / "hwnas" / "_data" / "nb201_scores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", action="append", default=[],
                    help="score cache(s) to read, first hit wins (repeatable; default runs/cache/scores.sqlite)")
    ap.add_argument("--proxies", default="az_nas")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--datasets", default="cifar10,cifar100,imagenet16-120")
    ap.add_argument("--dataset-batch", action="append", default=[], metavar="DATASET=BATCH",
                    help="this dataset's scores use another probe batch size (repeatable)")
    ap.add_argument("--extra-batch", action="append", default=[], metavar="DATASET=BATCH",
                    help="also store this dataset's columns at this probe batch size (repeatable); a search "
                         "uses them when asked for that batch size")
    ap.add_argument("--from-shipped", action="store_true",
                    help="start from the columns the package's current table holds (its proxies, per dataset), "
                         "then read the caches: adds a proxy's columns without rescoring the others")
    args = ap.parse_args()
    import torch

    proxies = tuple(p.strip() for p in args.proxies.split(","))
    columns = [c for p in proxies for c in outputs_of(p)]
    reps = np.unique(representative_indices())
    batch_of = {ds: args.batch_size for ds in args.datasets.split(",")}
    for item in args.dataset_batch:
        ds, bs = item.split("=")
        batch_of[ds.strip()] = int(bs)
    extra_of: dict[str, list[int]] = {}
    for item in args.extra_batch:
        ds, bs = item.split("=")
        if int(bs) != batch_of.get(ds.strip()):
            extra_of.setdefault(ds.strip(), []).append(int(bs))
    arrays: dict[str, np.ndarray] = {"representatives": reps}
    counts, ms = {}, {}
    caches = [ScoreCache(c) for c in (args.cache or ["runs/cache/scores.sqlite"])]
    try:
        for ds in args.datasets.split(","):
            for batch in (batch_of[ds], *extra_of.get(ds, [])):
                prefix = array_prefix(ds, batch, batch_of[ds])
                key = CacheKey("nb201", ds, args.seed, batch, version_tag(), "cpu")
                found = _shipped_entries(ds, args.seed, batch, reps) if args.from_shipped else {}
                for cache in reversed(caches):  # earlier caches override later ones
                    found.update(cache.lookup(key, reps.tolist(), columns))
                present = np.array([all((int(r), c) in found for c in columns) for r in reps])
                for c in columns:
                    arrays[f"{prefix}/{c}"] = np.array([found[(int(r), c)].value if p else np.nan
                                                        for r, p in zip(reps, present)], dtype=np.float64)
                arrays[f"{prefix}/present"] = present
                counts[prefix] = int(present.sum())
                times = [found[(int(r), columns[0])].ms for r, p in zip(reps, present) if p]
                ms[prefix] = round(float(np.median(times)), 1) if times else None
                print(f"{prefix} (batch {batch}): {counts[prefix]} of {reps.size} representatives")
    finally:
        for cache in caches:
            cache.close()
    datasets = [d for d in args.datasets.split(",") if counts[d]]
    np.savez_compressed(OUT.with_suffix(".npz"), **arrays)
    OUT.with_suffix(".json").write_text(json.dumps({
        "what": "proxy score columns of every NB201 isomorphism-class representative (hwnas.eval.score_architecture, "
                "per-architecture seed arch_seed(seed, arch), Kaiming-normal init, Gaussian probe batch, CPU)",
        "proxies": list(proxies), "columns": columns, "seed": args.seed, "batch_size": args.batch_size,
        "batch_size_by_dataset": {d: batch_of[d] for d in datasets},
        "extra_batch_sizes_by_dataset": {d: [b for b in extra_of[d] if counts[f"{d}@{b}"]]
                                         for d in datasets if d in extra_of},
        "datasets": datasets, "representatives_scored": counts,
        "median_ms_per_arch_1_thread": ms, "hwnas_version": __version__, "torch_version": torch.__version__,
        "machine": platform.processor() or platform.machine(),
        "command": "python scripts/score_nb201_classes.py --dataset D [--batch-size B] --shard i/2 (x2 per "
                   "dataset); python scripts/build_score_table.py " + " ".join(
                       [f"--proxies {args.proxies}", f"--batch-size {args.batch_size}"]
                       + (["--from-shipped"] if args.from_shipped else [])
                       + [f"--cache {c}" for c in args.cache] + [f"--dataset-batch {d}" for d in args.dataset_batch]
                       + [f"--extra-batch {d}" for d in args.extra_batch]),
    }, indent=2) + "\n")
    print(f"wrote {OUT.with_suffix('.npz')} ({OUT.with_suffix('.npz').stat().st_size / 1e6:.2f} MB)")


def _shipped_entries(dataset: str, seed: int, batch: int, reps: np.ndarray) -> dict:
    """{(representative, column): entry with .value and .ms} from the package's current table,
    for the proxies it holds at this setting (empty if it holds none)."""
    from types import SimpleNamespace

    from hwnas.proxies.table import shipped_scores, table_batch_size, table_info

    info = table_info()
    table = shipped_scores("nb201", dataset, tuple(info["proxies"]), seed, batch) if info else None
    if not table:
        return {}
    prefix = array_prefix(dataset, batch, table_batch_size(dataset))
    ms = (info.get("median_ms_per_arch_1_thread") or {}).get(prefix) or 0.0
    return {(int(r), c): SimpleNamespace(value=v, ms=ms) for r in reps if int(r) in table
            for c, v in table[int(r)].items()}


if __name__ == "__main__":
    main()
