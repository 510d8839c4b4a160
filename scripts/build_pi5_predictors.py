"""Build the Raspberry Pi 5 predictors shipped in ``hwnas/_data/predictors`` (latency and energy,
LiteRT and TorchMobile) from HW-NAS-Bench-360's measurements in the data directory
(``$HWNAS_DATA_DIR/pi5/pi5_litert_torchmobile_cifar100.csv``; the raw table is not shipped: the
upstream repository has no license file).

Protocol (the measured-energy issue's acceptance): the 6,466 isomorphism-class representatives
(``measured_as_index == nb201_index``; every other member carries its representative's value) are
the measured architectures; ``--train-size`` (900) of them drawn with
``numpy.random.default_rng(seed).choice`` (`hwnas.predictors.train.split_indices`) train, all other
representatives test. The shipped model is the ``gp`` with ``cost_features`` (one-hot genotype plus
log FLOPs and log params, log-cost target); ``flops`` and ``ridge`` are fitted on the same split as
baselines. Networks are built for CIFAR-100, the input the Pi 5 measured.

Each JSON records the test metrics (``holdout``), the baselines, the split's fingerprint, the GP's
fitted noise level (``noise_std_log``: the share of the log-cost the marginal likelihood attributes
to measurement noise) and the +-10 % accuracy that noise leaves a perfect predictor.

    python scripts/build_pi5_predictors.py                    # writes hwnas/_data/predictors/nb201_pi5-*
    python scripts/build_pi5_predictors.py --out /tmp/pi5 --summary runs/pi5_summary.json

Prints the markdown table of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

os.environ["HWNAS_HOME"] = tempfile.mkdtemp(prefix="hwnas-build-pi5-")  # never a registered parquet

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "hwnas" / "_data" / "predictors"
CSV = "pi5/pi5_litert_torchmobile_cifar100.csv"
RUNTIMES = ("litert", "torchmobile")
METRICS = (("latency", "latency_ms", "ms"), ("energy", "energy_mj", "mJ"))
PROVENANCE = ("HW-NAS-Bench-360 (roldebijvank/HW-NAS-Bench-360@a9b243e, results/dataset.parquet; no license "
              "file upstream: only this derived predictor ships), Raspberry Pi 5, NB201 CIFAR-100 networks, batch 1, "
              "one thread on core 0; energy = PMIC rail power at 100 Hz minus idle, per inference")


def noise_ceiling_acc10(noise_std_log: float) -> float:
    """% of measurements a perfect predictor is within +-10 % of, under log-normal noise of that size."""
    from scipy.stats import norm

    return float(100 * (norm.cdf(np.log(1.1) / noise_std_log) - norm.cdf(np.log(0.9) / noise_std_log)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="folder of the shipped predictors")
    ap.add_argument("--train-size", type=int, default=900)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runtimes", default=",".join(RUNTIMES))
    ap.add_argument("--metrics", default="latency,energy")
    ap.add_argument("--summary", default=None, help="also write every figure to this JSON file")
    args = ap.parse_args(argv)

    import pandas as pd
    import torch

    from hwnas import __version__
    from hwnas.data import find_data_dir
    from hwnas.predictors import get_predictor
    from hwnas.predictors.metrics import compute_metrics
    from hwnas.predictors.train import split_indices

    torch.set_num_threads(1)
    root = find_data_dir()
    if root is None or not (root / CSV).is_file():
        print(f"error: {CSV} not found in the data directory (set HWNAS_DATA_DIR)", file=sys.stderr)
        return 2
    table = pd.read_csv(root / CSV)
    reps = table.loc[table["measured_as_index"] == table["nb201_index"], "nb201_index"].to_numpy(np.int64)
    train, test = split_indices(reps, args.train_size, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, summary = [], {}
    for runtime in args.runtimes.split(","):
        device = f"pi5-{runtime}"
        for metric, suffix, unit in METRICS:
            if metric not in args.metrics.split(","):
                continue
            y = table[f"{runtime}_{suffix}"].to_numpy(np.float64)
            results = {}
            for name, model, options in (("flops", "flops", {}), ("ridge", "ridge", {}),
                                         ("gp", "gp", {"cost_features": True})):
                start = time.perf_counter()
                pred = get_predictor(model, space="nb201", dataset="cifar100", seed=args.seed, **options)
                pred.fit(train.tolist(), y[train])
                m = compute_metrics(pred.predict(test.tolist()), y[test])
                results[name] = (pred, m, time.perf_counter() - start)
            pred, m, fit_s = results["gp"]
            pred.trained_on = {"device": device, "metric": metric, "unit": unit, "space": "nb201",
                               "dataset": "cifar100", "measured_input": "cifar100",
                               "train_size": int(train.size), "split_seed": args.seed}
            with tempfile.TemporaryDirectory() as tmp:
                folder = pred.save(Path(tmp) / "p")
                config = json.loads((folder / "config.json").read_text())
                stem = out / f"nb201_{device}_{metric}"
                os.replace(folder / "weights.npz", stem.with_suffix(".npz"))
            ceiling = noise_ceiling_acc10(pred.noise_std_log)
            config.update({
                "device": device, "metric": metric, "unit": unit, "space": "nb201", "measured_input": "cifar100",
                "candidate": "gp", "candidates": {k: v[1].as_dict() for k, v in results.items()},
                "selection": "gp with cost_features: the only candidate meeting the Pi 5 acceptance on latency",
                "holdout": m.as_dict(), "holdout_size": int(test.size), "train_size": int(train.size),
                "measured_archs": int(reps.size),
                "holdout_protocol": f"train {train.size} random class representatives (seed {args.seed}), "
                                    f"test all other {test.size:,} representatives",
                "split": {"seed": args.seed, "dataset": "cifar100", "train_sha256": hashlib.sha256(
                    np.sort(train.astype("<i8")).tobytes()).hexdigest(), "pool": "class representatives"},
                "noise_std_log": round(pred.noise_std_log, 6), "noise_ceiling_acc10_pct": round(ceiling, 2),
                "provenance": [PROVENANCE], "trained_from": CSV, "hwnas_version": __version__,
                "torch_version": torch.__version__, "numpy_version": np.__version__, "torch_threads": 1,
                "command": "python scripts/build_pi5_predictors.py " + shlex.join(sys.argv[1:]),
                "notes": ["values carry over to CIFAR-10 networks (only the classifier differs), not to "
                          "ImageNet16-120 (16x16 input)"],
            })
            stem.with_suffix(".json").write_text(json.dumps(config, indent=1) + "\n")
            summary[f"{device}/{metric}"] = {k: v[1].as_dict() for k, v in results.items()} | {
                "noise_std_log": pred.noise_std_log, "noise_ceiling_acc10_pct": ceiling, "gp_fit_s": fit_s}
            rows.append(f"| {device} | {metric} ({unit}) | **{m.spearman:.4f}** | **{m.acc10_pct:.1f}** | "
                        f"{m.mape_pct:.2f} | {results['ridge'][1].spearman:.4f} / {results['ridge'][1].acc10_pct:.1f} | "
                        f"{results['flops'][1].spearman:.4f} / {results['flops'][1].acc10_pct:.1f} | "
                        f"{pred.noise_std_log:.4f} | {ceiling:.1f} |")
            print(rows[-1], flush=True)
    print("\n| device | metric | gp Spearman | gp +-10 % | gp MAPE % | ridge Spearman / +-10 % | "
          "flops Spearman / +-10 % | noise sd (log) | noise ceiling +-10 % |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if args.summary:
        Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
        Path(args.summary).write_text(json.dumps(summary, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
