"""How repeatable `hwnas profile` is: the spread of the per-network medians over repeated runs.

Given two or more profile CSVs of the same networks (e.g. three runs of
``hwnas profile --archs sample:200 --out runs/prof/mK.csv``), for every network measured in all
of them: spread = max / min of its latency_ms over the runs, minus 1. Prints the median, 90th and
99th percentile and maximum of the spread in %, the Spearman and Pearson (log) correlation between
each pair of runs, and each run's sidecar protocol and machine.

    python bench/profile_spread.py runs/prof/m1.csv runs/prof/m2.csv runs/prof/m3.csv
    python bench/profile_spread.py runs/prof/m*.csv --json spread.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys

import numpy as np
from scipy.stats import spearmanr

from hwnas.devices.profile import read_profile


def spread_table(paths: list[str]) -> dict:
    frames, metas = zip(*(read_profile(p) for p in paths))
    series = [f.set_index("arch")["latency_ms"] for f in frames]
    common = sorted(set.intersection(*(set(s.index) for s in series)))
    if not common:
        raise SystemExit("the files have no network in common")
    lat = np.column_stack([s.loc[common].to_numpy(dtype=float) for s in series])  # [networks, runs]
    spread = (lat.max(1) / lat.min(1) - 1.0) * 100.0
    pairs = {}
    for (i, a), (j, b) in itertools.combinations(enumerate(paths), 2):
        pairs[f"{a} vs {b}"] = {
            "spearman": float(spearmanr(lat[:, i], lat[:, j]).statistic),
            "pearson_log": float(np.corrcoef(np.log(lat[:, i]), np.log(lat[:, j]))[0, 1]),
            "median_ratio": float(np.median(lat[:, j] / lat[:, i])),
        }
    worst = int(np.argmax(spread))
    return {
        "files": list(paths),
        "networks": len(common),
        "spread_pct": {
            "median": float(np.median(spread)),
            "p90": float(np.percentile(spread, 90)),
            "p99": float(np.percentile(spread, 99)),
            "max": float(spread.max()),
            "worst_arch": int(common[worst]),
            "worst_latencies_ms": [float(v) for v in lat[worst]],
        },
        "pairs": pairs,
        "runs": [{k: m.get(k) for k in ("cpu_model", "cpu_count", "onnxruntime_version", "threads", "repeats",
                                        "warmup", "seed", "dataset", "space", "date", "last_run")} for m in metas],
        "latency_ms_median_per_run": [float(np.median(lat[:, r])) for r in range(lat.shape[1])],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="+", help="profile CSVs of `hwnas profile` (two or more)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if len(args.csv) < 2:
        parser.error("give two or more CSVs")
    res = spread_table(args.csv)
    s = res["spread_pct"]
    print(f"{res['networks']} networks in all {len(args.csv)} files")
    print(f"spread of the medians, max/min - 1: median {s['median']:.2f} %, p90 {s['p90']:.2f} %, "
          f"p99 {s['p99']:.2f} %, max {s['max']:.2f} % (arch {s['worst_arch']}: "
          + ", ".join(f"{v:.3f}" for v in s["worst_latencies_ms"]) + " ms)")
    for name, p in res["pairs"].items():
        print(f"{name}: Spearman {p['spearman']:.4f}, Pearson(log) {p['pearson_log']:.4f}, "
              f"median ratio {p['median_ratio']:.4f}")
    for path, r in zip(args.csv, res["runs"]):
        print(f"{path}: {r['cpu_model']} ({r['cpu_count']} cores), onnxruntime {r['onnxruntime_version']}, "
              f"threads {r['threads']}, repeats {r['repeats']}, warmup {r['warmup']}, {r['date']}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
