"""Precompute the cost tables of the default command (`hwnas pareto --device jetson-tx2 --energy
20mJ`: jetson-tx2 latency and energy) into ``hwnas/_data/cost_tables``, so a first run reads them
instead of predicting 15,625 architectures (`hwnas.devices.cost_cache`). Run after anything that
changes their inputs (a shipped predictor, the measured tables, the energy model); a table whose
key no longer matches is ignored, never wrong.

    python scripts/build_cost_tables.py
    python scripts/build_cost_tables.py --devices jetson-tx2,pi5-litert
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ["HWNAS_HOME"] = tempfile.mkdtemp(prefix="hwnas-build-costs-")  # nothing registered
os.environ["HWNAS_COST_CACHE"] = "0"  # build, do not read a cache

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "hwnas" / "_data" / "cost_tables"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", default="jetson-tx2")
    args = ap.parse_args(argv)
    from hwnas.devices import cost_cache, get_device
    from hwnas.devices.costs import _build_nb201_table

    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.npz"):
        old.unlink()
    for name in args.devices.split(","):
        dev = get_device(name)
        for metric in dev.metric_names:
            path = cost_cache.save(_build_nb201_table(dev.name, metric), folder=OUT)
            print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
