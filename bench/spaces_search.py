"""End-to-end searches of the ImageNet-scale spaces: FBNet on Jetson TX2 energy, MobileNetV2 at a
FLOPs budget on a TF-NAS device, and AZ-NAS evolution (Algorithm 1) on MobileNetV2 at 600M FLOPs.

Each run goes through `hwnas.pareto` exactly as the CLI does (same outputs: table, CSV/JSON,
plot, report, verified ONNX exports of the front) and records wall time, evaluations per second,
live proxy milliseconds per architecture, the front, and the best network's FLOPs / params /
score / cost. Scores are live AZ-NAS (no shipped table covers these spaces).

    python bench/spaces_search.py --fbnet-evals 2000 --mbv2-evals 200 --evo-steps 1000 --workers 2

Writes bench/results/spaces_search.json (and the runs under runs/spaces_search/).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def _summary(res, wall_s: float) -> dict:
    front, ev = res.front, res.evaluated
    best = front.iloc[0] if len(front) else None
    cost_cols = [c for c in front.columns if c.endswith(("_ms", "_mJ", "_FLOPs", "_params"))]
    out = {
        "command": res.run.get("command"), "settings": res.run["settings"], "evaluated": int(len(ev)),
        "front_size": int(len(front)), "wall_s": round(wall_s, 1),
        "evaluations_per_s": round(len(ev) / wall_s, 3),
        "proxy_ms_per_arch_median": res.run["scoring"].get("median_compute_ms"),
        "timings": res.run.get("timings"),
        "onnx_exports": [{"rank": e["rank"], "max_abs_diff": e["max_abs_diff"]} for e in res.run.get("onnx_exports", [])],
        "accuracy_note": res.run.get("accuracy_note"),
    }
    if best is not None:
        from hwnas.spaces import get_space

        sp = get_space(res.run["space"])
        arch = sp.parse(best["arch"])
        cost = sp.cost(arch, res.run["dataset"])
        out["best"] = {"arch": best["arch"], "score": float(best["score"]), "flops": int(cost.flops),
                       "params": int(cost.params), **{c: float(best[c]) for c in cost_cols}}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fbnet-evals", type=int, default=2000)
    ap.add_argument("--mbv2-evals", type=int, default=200)
    ap.add_argument("--evo-steps", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=64, help="AZ-NAS probe batch (64 as in the paper)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", default="fbnet,mbv2,evolution")
    ap.add_argument("--reference-sample", type=int, default=0,
                    help="hwnas pareto --reference-sample (0, the figures in docs/benchmarks.md: scores ranked "
                         "among each run's evaluations; the CLI's default 100 adds that many scored networks)")
    ap.add_argument("--out", default="bench/results/spaces_search.json")
    args = ap.parse_args()

    import hwnas

    runs = Path("runs/spaces_search")
    results: dict = {"measured_on": time.strftime("%Y-%m-%d"), "batch_size": args.batch_size,
                     "workers": args.workers}
    out_path = Path(args.out)
    if out_path.exists():
        results = json.loads(out_path.read_text()) | {k: results[k] for k in ("measured_on",)}
    jobs = {
        "fbnet": dict(space="fbnet", device="jetson-tx2", energy="100mJ", evaluations=args.fbnet_evals,
                      export_onnx=3),
        "mbv2": dict(space="mbv2", dataset="imagenet", device="xeon-gold-6130-b1", flops="600M",
                     evaluations=args.mbv2_evals, export_onnx=1),
        "evolution": dict(space="mbv2", dataset="imagenet", flops="600M", algorithm="az-evolution",
                          evaluations=args.evo_steps, pop_size=10, export_onnx=1),
    }
    for name in args.only.split(","):
        kw = jobs[name]
        t0 = time.perf_counter()
        res = hwnas.pareto(**kw, batch_size=args.batch_size, workers=args.workers, out=runs / name, overwrite=True,
                           reference_sample=args.reference_sample,
                           progress=True, command="bench/spaces_search.py " + name)
        results[name] = _summary(res, time.perf_counter() - t0)
        print(json.dumps({name: results[name]}, indent=1, default=str))
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(results, indent=1, default=lambda x: x.item() if isinstance(x, np.generic)
                                       else str(x)) + "\n")


if __name__ == "__main__":
    main()
