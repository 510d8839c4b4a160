"""Is anything architecture-level left on the HELP FBNet columns the kernel predictor misses?

Same data and split as bench/kernel_fbnet_help.py (CIFAR-100 FBNet networks, 900 training rows
drawn with ``hwnas.predictors.train.split_indices`` seed 0, the other 4,100 tested). Per column,
Spearman on the test rows of:

* ``kernel`` (default options), ``additive`` (ridge on the per-(layer, op) one-hot), ``mlp``;
* their geometric-mean blends (``kernel*additive``, ``kernel*mlp``, all three);
* ``transfer``: the few-shot adapter (`hwnas.predictors.adapt.fit_adapter`) on the 900 training
  rows with every OTHER device measured on all 5,000 networks as a source -- it reads those
  devices' measurements of the test networks, information no architecture-only model has.

If none of them moves past the kernel model, what is left is the column's own noise, not a
signal a better model of the architecture would find.

    python bench/kernel_fbnet_gap.py                         # the four columns below 0.98 without an order explanation
    python bench/kernel_fbnet_gap.py --columns 1080ti_1,titan_rtx_1

One thread; about 1 min per column (the 5,000 graphs come from the graph cache).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kernel_fbnet_help as help_bench  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_COLUMNS = "1080ti_32,gold_6226,gold_6240,silver_4114"


def main(argv: "list[str] | None" = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.environ.get("HWNAS_DATA_DIR", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--columns", default=DEFAULT_COLUMNS, help="HELP FBNet column names, comma-separated")
    ap.add_argument("--out", default=None, help="also write the results as JSON")
    args = ap.parse_args(argv)
    import torch

    from hwnas.predictors import get_predictor
    from hwnas.predictors.adapt import fit_adapter
    from hwnas.predictors.kernel_blocks import fbnet_network_graphs
    from hwnas.predictors.metrics import spearman
    from hwnas.predictors.train import split_indices
    from hwnas.spaces import Arch

    torch.set_num_threads(1)
    ops, columns = help_bench.load(args.data)
    train, test = split_indices(np.arange(len(ops)), 900, 0)
    graphs = fbnet_network_graphs(ops, "cifar100", progress=sys.stderr.isatty())
    archs = [Arch("fbnet", tuple(int(v) for v in g)) for g in ops]
    splits: dict = {}
    names = ["kernel", "additive", "mlp", "kernel*additive", "kernel*mlp", "kernel*additive*mlp", "transfer"]
    lines = ["| column | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    results = {}
    for col in [c.strip() for c in args.columns.split(",") if c.strip()]:
        if col not in columns:
            sys.exit(f"unknown column {col!r}; HELP's FBNet columns: {', '.join(columns)}")
        y, dev = columns[col], help_bench.hwnas_device(col)
        pk = help_bench.fit_kernel([graphs[i] for i in train], y[train], dev, {}, splits).predict_graphs(
            [graphs[i] for i in test])
        pa = help_bench.additive(ops[train], y[train], ops[test])
        mlp = get_predictor("mlp", space="fbnet", dataset="cifar100", seed=0)
        mlp.fit([archs[i] for i in train], y[train])
        pm = mlp.predict([archs[i] for i in test])
        pt = fit_adapter("fbnet", train, y[train], exclude=[dev], estimate_error=False).predict(test)
        preds = {"kernel": pk, "additive": pa, "mlp": pm, "kernel*additive": np.sqrt(pk * pa),
                 "kernel*mlp": np.sqrt(pk * pm), "kernel*additive*mlp": np.cbrt(pk * pa * pm), "transfer": pt}
        results[col] = {n: round(float(spearman(p, y[test])), 4) for n, p in preds.items()}
        lines.append(f"| {col} | " + " | ".join(f"{results[col][n]:.4f}" for n in names) + " |")
        print(lines[-1], flush=True)
    print("\n" + "\n".join(lines))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"command": "python bench/kernel_fbnet_gap.py " + " ".join(
            argv if argv is not None else sys.argv[1:]), "spearman": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
