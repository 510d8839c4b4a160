"""Export sampled FBNet and mbv2 networks to ONNX through `hwnas.api.export` (seeded init, BatchNorm
calibrated on Gaussian inputs, onnx.checker + onnxruntime parity with PyTorch, max |diff| <= 1e-4)
and report, per (space, dataset), how many passed and the largest difference.

    python bench/space_export_parity.py --n 50 --seed 0 --out runs/space_export_parity

Settings: fbnet cifar100 (3x32x32), fbnet imagenet (3x224x224), mbv2 imagenet (3x224x224); the
networks are drawn uniformly over each space's genotypes with numpy's generator seeded by --seed.
One torch thread, one process. Writes OUT/results.jsonl (one line per network) and OUT/summary.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

SETTINGS = (("fbnet", "cifar100"), ("fbnet", "imagenet"), ("mbv2", "imagenet"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50, help="networks per (space, dataset)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/space_export_parity"))
    args = parser.parse_args()

    import numpy as np
    import torch

    from hwnas import get_space
    from hwnas.api import export

    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {"command": " ".join([os.path.basename(sys.executable), *sys.argv]), "n": args.n,
               "seed": args.seed, "torch_threads": 1, "settings": {}}
    failed = 0
    with open(args.out / "results.jsonl", "w") as log, tempfile.TemporaryDirectory(prefix="hwnas-parity-") as tmp:
        for space, dataset in SETTINGS:
            sp = get_space(space)
            archs = sp.sample(np.random.default_rng([args.seed, SETTINGS.index((space, dataset))]), args.n)
            diffs, seconds, errors = [], [], []
            for i, arch in enumerate(archs):
                start = time.perf_counter()
                rec = {"space": space, "dataset": dataset, "arch": sp.to_str(arch)}
                try:
                    result = export(arch, Path(tmp) / f"{space}-{dataset}-{i}.onnx", space=space, dataset=dataset,
                                    seed=args.seed)
                    rec.update(ok=True, max_abs_diff=result.report.max_abs_diff)
                    diffs.append(result.report.max_abs_diff)
                except Exception as exc:  # a failure is a result here
                    rec.update(ok=False, error=f"{type(exc).__name__}: {exc}")
                    errors.append(rec)
                rec["seconds"] = time.perf_counter() - start
                seconds.append(rec["seconds"])
                log.write(json.dumps(rec) + "\n")
                log.flush()
            failed += len(errors)
            shape = "x".join(map(str, sp.dataset(dataset).input_shape))
            summary["settings"][f"{space}/{dataset}"] = {
                "input": shape, "passed": len(diffs), "total": len(archs),
                "max_abs_diff_worst": max(diffs) if diffs else None,
                "max_abs_diff_median": statistics.median(diffs) if diffs else None,
                "median_s_per_network": statistics.median(seconds),
                "first_errors": [e["error"] for e in errors[:3]],
            }
            worst = f"{max(diffs):.2e}" if diffs else "n/a"
            print(f"{space:6s} {dataset:9s} {shape:10s} passed {len(diffs)}/{len(archs)}  max |diff| {worst}  "
                  f"median {statistics.median(seconds):.2f} s/network", flush=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
