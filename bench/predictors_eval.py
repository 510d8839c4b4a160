"""Predictor acceptance table of the hardware-cost issue: for each device, train every model on 900
random measured NB201 architectures (seed 0) and test it on all the other measured ones;
then prediction throughput (archs/s) of each model for 10,000 architectures.

    python bench/predictors_eval.py                                  # all six devices, all models
    python bench/predictors_eval.py --models flops,ridge,mlp --devices raspi4
    python bench/predictors_eval.py --models gcn --workers 2         # graphs: built once, cached

The gcn model needs the ONNX graph of every measured architecture: the first run exports them
(``--workers`` processes; see `hwnas predictors graphs`), later runs read the cache. Its
(and opsum's) throughput is the prediction over graphs already in memory (graphs cached, export not timed);
flops' throughput uses FLOPs/params cached per op multiset; ridge and mlp include the encoding.

Prints a markdown table per device and writes everything to --out (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

DEVICES = ("raspi4", "pixel3", "eyeriss", "fpga", "jetson-tx2", "edgetpu")
MODELS = ("flops", "ridge", "mlp", "gp", "opsum", "gcn")
# The acceptance for gcn: Spearman >= 0.98 everywhere; +-10 % accuracy per device.
ACC10_TARGET = {"raspi4": 90.0, "pixel3": 90.0, "jetson-tx2": 90.0, "eyeriss": 99.0, "fpga": 99.0}
SPEARMAN_TARGET = 0.98


def _throughput(pred, n: int, seed: int) -> dict:
    from hwnas.predictors.graph_model import GraphPredictor
    from hwnas.spaces import get_space

    sp = get_space(pred.space)
    if isinstance(pred, GraphPredictor):
        # graphs already in memory: those of the archs it was trained and tested on, cycled to n
        # (exporting 10,000 graphs would time the exporter, not the model)
        memo = list(pred._memo.values())
        graphs = [memo[i % len(memo)] for i in range(min(n, sp.num_archs))]
        start = time.perf_counter()
        pred.predict_graphs(graphs)
        seconds = time.perf_counter() - start
        return {"archs": len(graphs), "seconds": round(seconds, 3), "archs_per_s": round(len(graphs) / seconds, 1),
                "timed": f"prediction over ONNX graphs already in memory ({len(memo):,} distinct, cycled)"}
    rng = np.random.default_rng(seed)
    archs = [sp.arch_at(int(i)) for i in rng.choice(sp.num_archs, size=min(n, sp.num_archs), replace=False)]
    pred.predict(archs[:10])  # warm-up (lazy imports, caches)
    start = time.perf_counter()
    pred.predict(archs)
    seconds = time.perf_counter() - start
    timed = {"flops": "linear model; FLOPs/params cached per op multiset (210 for NB201)",
             "ridge": "one-hot encoding + matrix product", "mlp": "one-hot encoding + forward pass",
             "gp": "one-hot encoding + kernel against the training archs"}
    return {"archs": len(archs), "seconds": round(seconds, 3), "archs_per_s": round(len(archs) / seconds, 1),
            "timed": timed.get(pred.name, "predict()")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default=",".join(DEVICES))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--metric", default="latency")
    parser.add_argument("--train-size", type=int, default=900)
    parser.add_argument("--test-size", type=int, default=None,
                        help="test on this many of the other measured archs (drawn with the split's generator; "
                             "default: all of them)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="processes exporting ONNX graphs (gcn)")
    parser.add_argument("--cache-dir", default=None, help="graph cache (default ~/.cache/hwnas/graphs)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for training and throughput")
    parser.add_argument("--throughput-archs", type=int, default=10_000, help="0: skip the throughput table")
    parser.add_argument("--save-dir", default=None, help="also save every fitted predictor here")
    parser.add_argument("--out", default="runs/predictors_eval/predictors_eval.json")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="MODEL:KEY=VALUE",
                        help="hyper-parameter of one model, repeatable (e.g. --set gcn:ensemble=3)")
    args = parser.parse_args()

    import torch

    from hwnas.predictors import PREDICTORS, train_predictor
    from hwnas.predictors.metrics import markdown_table

    torch.set_num_threads(args.threads)
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    models = [PREDICTORS.canonical(m) for m in args.models.split(",") if m.strip()]
    hparams: dict = {m: {} for m in models}
    for item in args.sets:
        model, _, setting = item.partition(":")
        key, sep, value = setting.partition("=")
        if not sep or model not in PREDICTORS or PREDICTORS.canonical(model) not in hparams:
            parser.error(f"--set takes MODEL:KEY=VALUE for a model in --models, not {item!r}")
        hparams[PREDICTORS.canonical(model)][key] = value
    results: dict = {"command": "python bench/predictors_eval.py " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v not in (None, False, []))
        + "".join(f" --set {item}" for item in args.sets),
        "machine": {"cpu": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                    "torch_threads": args.threads, "torch": torch.__version__},
        "devices": {}, "throughput": {}}
    first_fitted: dict = {}
    tables = []
    for device in devices:
        rows, records = [], {}
        unit = ""
        for model in models:
            start = time.perf_counter()
            r = train_predictor(device, args.metric, model, args.train_size, args.seed, baseline=False,
                                test_size=args.test_size,
                                workers=args.workers, cache_dir=args.cache_dir, progress=not args.no_progress,
                                **hparams[model])
            rec = r.summary()
            rec["wall_s"] = round(time.perf_counter() - start, 1)
            records[model] = rec
            unit = r.unit
            rows.append((model, r.metrics))
            first_fitted.setdefault(model, r.predictor)
            if args.save_dir:
                r.predictor.save(Path(args.save_dir) / f"{r.device}-{r.metric}-{model}")
            print(f"{device} {model}: Spearman {r.metrics.spearman:.4f}, +-10 % {r.metrics.acc10_pct:.1f} %, "
                  f"fit {r.fit_s:.1f} s, {rec['wall_s']} s in all", flush=True)
        verdict = _acceptance(device, records)
        results["devices"][device] = {"models": records, "acceptance": verdict}
        test_n = next(iter(records.values()))["test_size"] if records else 0
        tables.append(f"### {device} {args.metric} (train {args.train_size}, seed {args.seed}, "
                      f"test {test_n:,} held-out measured archs)\n\n" + markdown_table(rows, unit)
                      + (f"\n\ngcn acceptance: {verdict['summary']}" if verdict else ""))

    for model, pred in first_fitted.items() if args.throughput_archs > 0 else ():
        results["throughput"][model] = _throughput(pred, args.throughput_archs, args.seed)
    lines = ["| model | archs | seconds | archs/s | what is timed |", "|---|---|---|---|---|"]
    for model, t in results["throughput"].items():
        lines.append(f"| {model} | {t['archs']:,} | {t['seconds']} | {t['archs_per_s']:,} | {t['timed']} |")
    tables.append(f"### prediction throughput ({args.threads} torch thread(s), "
                  f"{results['machine']['cpu']}, {results['machine']['cpus']} CPUs)\n\n" + "\n".join(lines))
    text = "\n\n".join(tables)
    print("\n" + text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    results["markdown"] = text
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {out}")


def _acceptance(device: str, records: dict) -> dict | None:
    """The issue's gcn targets on this device, where gcn ran."""
    gcn = records.get("gcn")
    if gcn is None:
        return None
    m = gcn["metrics"]
    checks = {"spearman>=0.98": m["spearman"] >= SPEARMAN_TARGET}
    if device in ACC10_TARGET:
        checks[f"acc10>={ACC10_TARGET[device]:g}"] = m["acc10_pct"] >= ACC10_TARGET[device]
    for other in ("flops", "ridge"):
        if other in records:
            o = records[other]["metrics"]
            # higher Spearman, lower RMSE, and higher +-10 % accuracy -- or both at 100 %, which
            # nothing can exceed (ridge is exact on the per-op-additive Eyeriss / FPGA costs)
            acc10 = m["acc10_pct"] > o["acc10_pct"] or m["acc10_pct"] == o["acc10_pct"] == 100.0
            checks[f"beats {other}"] = m["spearman"] > o["spearman"] and m["rmse"] < o["rmse"] and acc10
    failed = [k for k, ok in checks.items() if not ok]
    return {"checks": checks, "summary": "all met" if not failed else "NOT met: " + ", ".join(failed)}


if __name__ == "__main__":
    main()
