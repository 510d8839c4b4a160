"""Time of one AZ-NAS score (ms per architecture) on this machine, in the setting of the official
code's reference figure (`../shared/notes/az-nas-reference.md`: 416 ms median at batch 64, 2 torch
threads, CIFAR-100 networks, 200 random archs ``numpy.random.default_rng(0).choice(15625, 200)``).

    python bench/aznas_speed.py                          # 24 archs, 2 threads, 1 process
    python bench/aznas_speed.py --threads 1 --workers 2  # two processes of one thread each

With ``--workers W`` the archs are split over W processes of ``--threads`` torch threads each,
started together; the figure then is wall time / archs (throughput), next to each process's own
median. Every score is the whole call `hwnas.eval.score_architecture(index, ["az_nas"], dataset,
batch_size=B)`: build, Kaiming-normal init, probe batch, the shared pass, the block backward
passes, the eigen-decompositions and the live-layer complexity count. One warm-up call per process
is not timed. Prints a JSON record; --out writes it too.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import time

import numpy as np
from _report import emit_record


def _time_archs(args: tuple[list[int], str, int, int]) -> list[float]:
    indices, dataset, batch, threads = args
    import torch

    torch.set_num_threads(threads)
    from hwnas.eval import score_architecture

    score_architecture(indices[0], ["az_nas"], dataset, batch_size=batch)  # warm-up
    times = []
    for i in indices:
        start = time.perf_counter()
        score_architecture(i, ["az_nas"], dataset, batch_size=batch)
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archs", type=int, default=24, help="first N of the 200-arch reference sample")
    parser.add_argument("--dataset", default="cifar100")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="torch threads per process")
    parser.add_argument("--workers", type=int, default=1, help="processes, started together")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    sample = np.random.default_rng(0).choice(15625, 200, replace=False)[: args.archs]
    indices = [int(i) for i in sample]
    shards = [(indices[w :: args.workers], args.dataset, args.batch_size, args.threads) for w in range(args.workers)]
    start = time.perf_counter()
    if args.workers == 1:
        per_worker = [_time_archs(shards[0])]
    else:
        with mp.get_context("spawn").Pool(args.workers) as pool:
            per_worker = pool.map(_time_archs, shards)
    wall = time.perf_counter() - start
    every = np.concatenate([np.asarray(t) for t in per_worker])
    record = {
        "command": "python bench/aznas_speed.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None),
        "machine": {"cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
        "archs": len(indices), "dataset": args.dataset, "batch_size": args.batch_size,
        "threads_per_process": args.threads, "workers": args.workers,
        "median_ms_per_call": round(float(np.median(every)), 1),
        "p90_ms_per_call": round(float(np.percentile(every, 90)), 1),
        "per_worker_median_ms": [round(float(np.median(t)), 1) for t in per_worker],
        # includes process start-up and each process's warm-up call when workers > 1
        "wall_ms_per_arch": round(wall * 1000.0 / len(indices), 1),
    }
    emit_record(record, args.out)


if __name__ == "__main__":
    main()
