"""Does `hwnas pareto` on the Raspberry Pi 5 return networks that really meet an energy budget,
and how good are they? Judged on the Pi 5's *measured* energy and NAS-Bench-201's true CIFAR-100
accuracy (neither is used by the search: it sees the shipped predictors and the proxy only).

For each runtime and budget it runs the search as a user would (offline, shipped predictors,
default proxy and algorithm) and reports, over the front:

* violations: front members whose measured energy exceeds the budget;
* best-of-front regret: best true accuracy among all networks whose measured energy is within the
  budget (output depends on the input) minus the best true accuracy on the front;
* top-1 regret: the same for the front member with the best score (what a user who trains one
  network gets).

    python bench/pi5_pareto_regret.py
    python bench/pi5_pareto_regret.py --budgets litert:2,4,6 --budgets torchmobile:6,8,12
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

CSV = "pi5/pi5_litert_torchmobile_cifar100.csv"
DEFAULT = {"litert": (3.0, 4.0, 6.0), "torchmobile": (6.0, 8.0, 12.0)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--budgets", action="append", default=[], help="RUNTIME:B1,B2,... in mJ")
    ap.add_argument("--evaluations", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--algorithm", default="auto", help="as hwnas pareto --algorithm (auto: its default)")
    ap.add_argument("--out", default="bench/results/pi5_pareto_regret.json")
    args = ap.parse_args(argv)
    os.environ.setdefault("HWNAS_HOME", tempfile.mkdtemp(prefix="hwnas-pi5-regret-"))  # no registered parquet

    import pandas as pd

    import hwnas
    from hwnas.data import find_data_dir
    from hwnas.search.problem import output_ignores_input

    root = find_data_dir()
    if root is None or not (root / CSV).is_file():
        print(f"error: {CSV} not found (set HWNAS_DATA_DIR)", file=sys.stderr)
        return 2
    pi5 = pd.read_csv(root / CSV)
    acc = pd.read_csv(root / "nb201/accuracy.csv")["c100_test"].to_numpy(np.float64)
    sp = hwnas.get_space("nb201")
    live = np.array([not output_ignores_input(sp.arch_at(i).genotype) for i in range(sp.num_archs)])
    budgets = dict(DEFAULT)
    for item in args.budgets:
        rt, _, values = item.partition(":")
        budgets[rt] = tuple(float(v) for v in values.split(","))
    rows, results = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for runtime, limits in budgets.items():
            energy = pi5[f"{runtime}_energy_mj"].to_numpy(np.float64)
            for limit in limits:
                res = hwnas.pareto(f"pi5-{runtime}", energy_mj=limit, evaluations=args.evaluations, seed=args.seed,
                                   algorithm=args.algorithm,
                                   out=Path(tmp) / f"{runtime}-{limit}")
                front = res.front["arch_index"].to_numpy(np.int64)
                feasible = live & (energy <= limit)
                best = acc[feasible].max()
                violations = int((energy[front] > limit).sum())
                rec = {"runtime": runtime, "budget_mj": limit, "front": int(front.size), "violations": violations,
                       "best_feasible_acc": best, "best_of_front_regret": best - acc[front].max(),
                       "top1_regret": best - acc[front[0]], "front_measured_energy_max": float(energy[front].max())}
                results.append(rec)
                rows.append(f"| pi5-{runtime} | {limit:g} mJ | {front.size} | {violations} | "
                            f"{energy[front].max():.2f} | {rec['best_of_front_regret']:.2f} | {rec['top1_regret']:.2f} |")
                print(rows[-1], flush=True)
    print("\n| device | energy budget | front | violations (measured) | max measured energy on front (mJ) | "
          "best-of-front regret (acc. points) | top-1 regret |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
