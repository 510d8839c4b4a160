"""Export every NAS-Bench-201 network to ONNX and verify each one (onnx.checker + onnxruntime
parity with PyTorch, max abs diff <= 1e-4). Reports failures (must be 0) and seconds per network.

    python bench/export_all.py --dataset cifar100 --workers 2 --out runs/export_all

Resumable: results go line by line to OUT/results.jsonl, and a rerun skips indices already
there. ``--limit N`` exports only the first N indices (a quick check).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _export_one(job: tuple[int, str, int]) -> dict:
    from hwnas import api

    index, dataset, seed = job
    with tempfile.TemporaryDirectory(prefix="hwnas-export-") as tmp:
        start = time.perf_counter()
        try:
            result = api.export(index, Path(tmp) / f"{index}.onnx", dataset=dataset, seed=seed)
            return {"index": index, "ok": True, "seconds": time.perf_counter() - start,
                    "max_abs_diff": result.report.max_abs_diff,
                    "bytes": os.path.getsize(result.report.path)}
        except Exception as exc:  # a failure is a result here, reported below
            return {"index": index, "ok": False, "seconds": time.perf_counter() - start,
                    "error": f"{type(exc).__name__}: {exc}"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="cifar100")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="only the first N indices")
    parser.add_argument("--out", type=Path, default=Path("runs/export_all"))
    args = parser.parse_args()

    from hwnas.spaces import get_space

    n = get_space("nb201").num_archs if args.limit is None else args.limit
    args.out.mkdir(parents=True, exist_ok=True)
    results_path = args.out / f"results_{args.dataset}.jsonl"
    done: dict[int, dict] = {}
    if results_path.exists():
        for line in results_path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                done[rec["index"]] = rec
    todo = [(i, args.dataset, args.seed) for i in range(n) if i not in done]
    print(f"{len(done)} already done, {len(todo)} to export with {args.workers} worker(s)", flush=True)

    wall = time.perf_counter()
    with open(results_path, "a") as log, ProcessPoolExecutor(args.workers, initializer=_init_worker) as pool:
        for k, rec in enumerate(pool.map(_export_one, todo, chunksize=4), start=1):
            done[rec["index"]] = rec
            log.write(json.dumps(rec) + "\n")
            log.flush()
            if not rec["ok"]:
                print(f"FAIL {rec['index']}: {rec['error']}", flush=True)
            if k % 250 == 0 or k == len(todo):
                rate = (time.perf_counter() - wall) / k
                print(f"{k}/{len(todo)} exported, {rate:.3f} s wall per network, "
                      f"eta {rate * (len(todo) - k) / 60:.1f} min", flush=True)
    wall = time.perf_counter() - wall

    records = [done[i] for i in range(n) if i in done]
    failures = [r for r in records if not r["ok"]]
    seconds = [r["seconds"] for r in records]
    diffs = [r["max_abs_diff"] for r in records if r["ok"]]
    summary = {
        "dataset": args.dataset, "networks": len(records), "failures": len(failures),
        "failed_indices": [r["index"] for r in failures][:50],
        "median_s_per_network_per_worker": statistics.median(seconds),
        "mean_s_per_network_per_worker": statistics.fmean(seconds),
        "workers": args.workers,
        "wall_s_this_run": wall, "wall_s_per_network_this_run": wall / max(1, len(todo)),
        "max_abs_diff_worst": max(diffs) if diffs else None,
        "max_abs_diff_median": statistics.median(diffs) if diffs else None,
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
    }
    (args.out / f"summary_{args.dataset}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
