"""Build hwnas/_data/nb201_archs.npz: the official NAS-Bench-201 index -> genotype table.

The NAS-Bench-201 index order is the benchmark's own (not an enumeration order), so the
package ships it. Source: nb201/accuracy.csv of the data directory (see its provenance).

    python scripts/build_nb201_table.py [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

OP_NAMES = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
OUT = Path(__file__).resolve().parents[1] / "hwnas" / "_data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--data-dir", default=Path(__file__).resolve().parents[2] / "shared" / "data", type=Path)
    args = parser.parse_args()
    src = args.data_dir / "nb201" / "accuracy.csv"
    with open(src, newline="") as fh:
        rows = list(csv.DictReader(fh))
    genotypes = np.zeros((len(rows), 6), dtype=np.uint8)
    for i, row in enumerate(rows):
        assert int(row["nb201_index"]) == i, "accuracy.csv must be in index order"
        edges = row["arch_str"].strip("|").replace("|+|", "|").split("|")
        genotypes[i] = [OP_NAMES.index(e.split("~")[0]) for e in edges]
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT / "nb201_archs.npz", genotypes=genotypes)
    (OUT / "nb201_archs.json").write_text(json.dumps({
        "file": "nb201_archs.npz",
        "array": "genotypes: uint8 [15625, 6], row = NAS-Bench-201 index, column = edge "
                 "(1<-0),(2<-0),(2<-1),(3<-0),(3<-1),(3<-2), value = op id in " + ", ".join(OP_NAMES),
        "source": "nb201/accuracy.csv (NATS-Bench-tss order, verified there against HELP str_arch2idx)",
        "built_by": "scripts/build_nb201_table.py",
    }, indent=2) + "\n")
    print(f"wrote {OUT / 'nb201_archs.npz'} ({len(rows)} architectures)")


if __name__ == "__main__":
    main()
