"""Few-shot adaptation to a held-out device: Raspberry Pi 5 (HW-NAS-Bench-360; LiteRT and
TorchMobile, CIFAR-100 networks, batch 1), latency (ms) and measured energy per inference (mJ).

The Pi 5 is never a source: the adapter (`hwnas.predictors.adapt.fit_adapter`) reads every NB201
device measured on all 15,625 architectures in the package (latency) plus arch features
(FLOPs/params counted for CIFAR-100). Samples: random class representatives (5 seeds) or the
adapter's own k-means choice (`select_informative`); scored on every other class representative
(``measured_as_index == nb201_index``: the 6,466 distinct measurements, minus the samples).
Baseline: what a user would try first, a least-squares line cost = a * FLOPs + b * params + c
on the same samples. Reads ``$HWNAS_DATA_DIR`` (default ../shared/data) for the Pi 5 file (it is
not shipped).

    python bench/fewshot_pi5.py                       # 10 and 20 samples, 5 seeds
    python bench/fewshot_pi5.py --samples 5,10,20,50 --seeds 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

TARGETS = (("litert", "latency", "litert_latency_ms"), ("litert", "energy", "litert_energy_mj"),
           ("torchmobile", "latency", "torchmobile_latency_ms"), ("torchmobile", "energy", "torchmobile_energy_mj"))


def load_pi5(root: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(representative indices, column -> 15,625 values) of the Pi 5 file."""
    import pandas as pd

    path = root / "pi5" / "pi5_litert_torchmobile_cifar100.csv"
    if not path.is_file():
        sys.exit(f"no Pi 5 data at {path}; set HWNAS_DATA_DIR to the data folder")
    df = pd.read_csv(path).sort_values("nb201_index")
    if not np.array_equal(df["nb201_index"].to_numpy(), np.arange(15_625)):
        sys.exit(f"{path} does not hold the 15,625 NB201 indices in order")
    reps = df.loc[df["measured_as_index"] == df["nb201_index"], "nb201_index"].to_numpy(np.int64)
    return reps, {c: df[c].to_numpy(np.float64) for _, _, c in TARGETS}


def flops_params_baseline(fp: np.ndarray, rows: np.ndarray, y: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LinearRegression

    lr = LinearRegression().fit(fp[rows], y[rows])
    return np.maximum(lr.predict(fp), 1e-9)


def main(argv: "list[str] | None" = None) -> None:
    from hwnas.predictors.adapt import fit_adapter, select_informative, source_matrix
    from hwnas.predictors.metrics import accuracy_within, spearman
    from hwnas.spaces.nb201 import cost_arrays, representative_indices

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--samples", default="10,20")
    ap.add_argument("--data", default=os.environ.get("HWNAS_DATA_DIR", "../shared/data"))
    ap.add_argument("--out", default="bench/results/fewshot_pi5.json")
    args = ap.parse_args(argv)
    n_list = [int(v) for v in args.samples.split(",")]
    t0 = time.perf_counter()
    reps, cols = load_pi5(Path(args.data))
    rep_of = representative_indices()  # hwnas's class representative; same classes as the Pi 5 file
    params, flops = cost_arrays("cifar100")
    fp = np.column_stack([flops / 1e6, params / 1e6]).astype(np.float64)
    sources, _ = source_matrix("nb201", "latency")
    pi5_class = {int(rep_of[r]): int(r) for r in reps}  # hwnas rep -> Pi 5 rep
    draws = []
    for n in n_list:
        for seed in range(args.seeds):
            draws.append(("random", n, seed, np.sort(np.random.default_rng(seed).choice(reps, n, replace=False))))
        chosen = select_informative("nb201", n, seed=0)
        draws.append(("kmeans", n, 0, np.array([pi5_class[int(rep_of[c])] for c in chosen], dtype=np.int64)))
    runs: dict = {}
    for runtime, metric, col in TARGETS:
        y = cols[col]
        for how, n, seed, rows in draws:
            test = np.setdiff1d(reps, rows)
            ad = fit_adapter("nb201", rows, y[rows], metric=metric, seed=seed, dataset="cifar100",
                             device=f"pi5-{runtime}")
            preds = {"adapter": ad.predict(test), "flops_params_linear": flops_params_baseline(fp, rows, y)[test]}
            for method, pr in preds.items():
                r = {"spearman": spearman(pr, y[test]), "acc10_pct": accuracy_within(pr, y[test], 0.10)}
                if method == "adapter":
                    r["loo"] = ad.loo
                runs.setdefault(f"{runtime} {metric}", {}).setdefault(f"{how}/{n}/{method}", []).append(r)
    table: dict = {}
    for target, rec in runs.items():
        for key, rs in rec.items():
            table.setdefault(key, {})[target] = {m: float(np.mean([r[m] for r in rs])) for m in ("spearman", "acc10_pct")}
            if "loo" in rs[0]:
                table[key][target]["loo_spearman"] = float(np.mean([r["loo"]["spearman"] for r in rs]))
    targets = list(runs)
    print(f"### Raspberry Pi 5 (never a source): Spearman / +-10 % on the {len(reps)} class representatives "
          f"minus the samples; sources: {len(sources)} NB201 devices\n")
    print("| selection / n / method | " + " | ".join(targets) + " |")
    print("|" + "---|" * (len(targets) + 1))
    for key, row in table.items():
        print(f"| {key} | " + " | ".join(f"{row[t]['spearman']:.3f} / {row[t]['acc10_pct']:.1f}" for t in targets) + " |")
    wall = round(time.perf_counter() - t0, 1)
    print(f"\nwall time {wall} s")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"command": "python bench/fewshot_pi5.py " + " ".join(argv if argv is not None else sys.argv[1:]),
                               "seeds": args.seeds, "samples": n_list, "sources": sources, "n_test_classes": int(len(reps)),
                               "python": platform.python_version(), "wall_s": wall, "summary": table, "runs": runs},
                              indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
