"""Foundation acceptance figures for the NAS-Bench-201 space, measured against the data:

* index -> string -> genotype -> index round trips for all 15,625 architectures;
* isomorphism classes of `Arch.key()` and agreement with `unique_str` of nb201/accuracy.csv;
* worst relative error of params and FLOPs against nb201/proxies_naslib_partial.csv.

    python bench/nb201_checks.py          (HWNAS_DATA_DIR or ../shared/data)
"""

from __future__ import annotations

import csv
import json
import time

from hwnas import get_space
from hwnas.data import data_file

DATASET_OF = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16-120"}


def main() -> None:
    space = get_space("nb201")
    start = time.perf_counter()
    round_trips = sum(
        space.index(space.from_genotype(space.from_str(space.to_str(space.arch_at(i))).genotype)) == i
        for i in range(space.num_archs)
    )
    with open(data_file("nb201/accuracy.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    keys = [space.key(space.arch_at(int(r["nb201_index"]))) for r in rows]
    agree = sum(k == r["unique_str"] for k, r in zip(keys, rows))
    with open(data_file("nb201/proxies_naslib_partial.csv"), newline="") as fh:
        listed = list(csv.DictReader(fh))
    worst_params = worst_flops = 0.0
    for r in listed:
        cost = space.cost(space.from_str(r["arch_str"]), DATASET_OF[r["dataset"]])
        worst_params = max(worst_params, abs(cost.params_m / float(r["params"]) - 1))
        worst_flops = max(worst_flops, abs(cost.mflops / float(r["flops"]) - 1))
    print(json.dumps({
        "round_trips_ok": round_trips, "architectures": space.num_archs,
        "isomorphism_classes": len(set(keys)), "unique_str_classes": len({r["unique_str"] for r in rows}),
        "key_equals_unique_str": agree,
        "naslib_rows_checked": len(listed),
        "worst_params_rel_error": worst_params, "worst_flops_rel_error": worst_flops,
        "seconds": round(time.perf_counter() - start, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
