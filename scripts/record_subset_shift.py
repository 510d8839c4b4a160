"""Write into each shipped predictor of a subset-only device (measured on the 1,999-architecture
subset: Jetson TX2, Edge TPU, Eagle and nn-Meter devices) how its recipe does where it is used:
``"subset_shift"``, the subset-shift figures of the same model (``bench/subset_shift.py``: trained
on the subset of fully measured devices, tested on the 13,626 architectures the subset leaves
out; mean over the devices it was run on). The cost service's label then quotes that figure
instead of the holdout measured inside the subset.

    python scripts/record_subset_shift.py                       # reads bench/results/subset_shift.json
    python scripts/record_subset_shift.py --results other.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "hwnas" / "_data" / "predictors"
SUBSET = 1_999  # latency_oneproxy_1999_18dev_ms.csv


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", default=str(ROOT / "bench" / "results" / "subset_shift.json"))
    args = ap.parse_args(argv)
    import numpy as np

    from hwnas.devices.measured import measured_column

    results = json.loads(Path(args.results).read_text())
    summary = results["summary"]
    for path in sorted(FOLDER.glob("nb201_*_latency.json")):
        info = json.loads(path.read_text())
        device, model = info["device"], info["model"]
        measured = int(np.isfinite(measured_column("nb201", device, "latency")).sum())
        if measured == 0 or measured > SUBSET:
            continue  # (nearly) fully measured, or the Pi 5 (trained on all its classes)
        rec = summary.get(model)
        if rec is None:
            print(f"{device}: no subset-shift figure for model {model!r} in {args.results}; left as it is")
            info.pop("subset_shift", None)
        else:
            info["subset_shift"] = {
                "model": model, "devices": rec["devices"], "spearman": rec["spearman"], "acc10_pct": rec["acc10_pct"],
                "cheap30_spearman": rec["cheap30_spearman"], "cheap30_acc10_pct": rec["cheap30_acc10_pct"],
                "protocol": "the same model trained on the 1,999-arch subset of fully measured devices, tested on "
                            "the other 13,626 (mean over devices); cheap30 = the cheapest 30 % of those",
                "source": "bench/subset_shift.py (" + Path(args.results).name + ")",
            }
            for key in ("budget_bound_q975", "budget_bound_views_q975"):  # budget margins (hwnas.devices.costs)
                if key in rec:
                    info["subset_shift"][key] = rec[key]
            print(f"{device} ({model}): subset shift Spearman {rec['spearman']:.3f}, +-10 % {rec['acc10_pct']:.1f} "
                  f"(mean over {rec['devices']} devices)")
        path.write_text(json.dumps(info, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
