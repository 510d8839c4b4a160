"""How noisy are the measured NB201 latencies, and what does that noise let any predictor reach?

Two kinds of pairs of architectures that should measure the same:

* **dead-node pairs**: they differ only by `skip_connect` vs `none` on an edge into node 2 while
  node 2 feeds nothing (edge 3<-2 is `none`), and their output depends on the input. They
  compute the same function (a device may still run the dead op's input edge differently).
* **swap twins**: when edge 2<-1 is `none`, nodes 1 and 2 are interchangeable: genotype
  (e10, e20, none, e30, e31, e32) and (e20, e10, none, e30, e32, e31) run exactly the same ops on
  the same shapes, only listed in another order. Their ONNX graphs are isomorphic, so any
  predictor of the computation (the encoding models after canonicalisation, the gcn on the ONNX
  graph) prices both alike: what separates their measurements is measurement noise alone.

Per device it prints, for both kinds, the share of pairs whose latencies differ by more than
10 %, and for the swap twins what that noise allows:

* ``twin rho``: Spearman between the two twins' latencies; ``ceiling`` = sqrt(twin rho), the
  classical attenuation bound on the rank correlation a noise-free predictor can have with one
  noisy measurement (an estimate, not a bound: it assumes additive noise of one size on the rank
  scale, and the twin subset spans less of the range than the whole space);
* ``+-10 % bound``: a predictor that gives twins one value can be within +-10 % of both only if
  they are at most 1.1 / 0.9 = 22.2 % apart, so on the twins its +-10 % accuracy is at most
  1 - (share of pairs > 22.2 % apart) / 2 -- a hard upper bound;
* ``+-10 % oracle``: the accuracy of the geometric mean of the two measurements (an oracle that
  sees both noisy values; it is within +-10 % of both iff they are at most 1.1^2 - 1 = 21 % apart):
  a generous estimate of what a perfect predictor reaches.

    python bench/latency_noise.py
    python bench/latency_noise.py --out runs/latency_noise.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from hwnas import get_space
from hwnas.devices import measured_column

DEVICES = ("raspi4", "pixel3", "eyeriss", "fpga", "jetson-tx2", "edgetpu")


def dead_node_pairs(genotypes: dict[tuple[int, ...], int]) -> np.ndarray:
    """[n, 2] NB201 indices: skip vs none on an edge into a node 2 that feeds nothing."""
    pairs = []
    for genotype, i in genotypes.items():
        if genotype[5] != 0:  # node 2 must feed nothing
            continue
        if genotype[3] == 0 and (genotype[4] == 0 or genotype[0] == 0):
            continue  # output ignores the input: devices time such networks apart (~0.01 ms)
        for edge in (1, 2):  # the edges into node 2
            if genotype[edge] == 1:
                twin = list(genotype)
                twin[edge] = 0
                pairs.append((i, genotypes[tuple(twin)]))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def swap_twins(genotypes: dict[tuple[int, ...], int]) -> np.ndarray:
    """[n, 2] NB201 indices of distinct genotypes that differ only by swapping nodes 1 and 2
    (possible when edge 2<-1 is `none`); each unordered pair once."""
    pairs = []
    for g, i in genotypes.items():
        if g[2] != 0:
            continue
        twin = (g[1], g[0], 0, g[3], g[5], g[4])
        j = genotypes[twin]
        if j > i:
            pairs.append((i, j))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def pair_noise(lat_a: np.ndarray, lat_b: np.ndarray) -> dict:
    """Noise figures of pairs of measurements of the same computation (positive latencies, ms)."""
    from scipy.stats import spearmanr

    ratio = np.maximum(lat_a / lat_b, lat_b / lat_a)
    rho = float(spearmanr(lat_a, lat_b)[0]) if lat_a.size > 2 else float("nan")
    return {
        "pairs": int(lat_a.size),
        "differ_gt10_pct": round(100 * float(np.mean(ratio > 1.1)), 1),
        "std_log_ratio": round(float(np.std(np.log(lat_a / lat_b))), 3),
        "twin_spearman": round(rho, 4),
        "spearman_ceiling": round(float(np.sqrt(max(rho, 0.0))), 4),
        "acc10_bound_pct": round(100 * (1 - float(np.mean(ratio > 1.1 / 0.9)) / 2), 1),
        "acc10_oracle_pct": round(100 * float(np.mean(ratio <= 1.1 ** 2)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default=",".join(DEVICES))
    parser.add_argument("--out", default=None, help="also write the figures as JSON")
    args = parser.parse_args()

    space = get_space("nb201")
    genotypes = {space.arch_at(i).genotype: i for i in range(space.num_archs)}
    kinds = {"dead-node pairs": dead_node_pairs(genotypes), "swap twins": swap_twins(genotypes)}
    for kind, pairs in kinds.items():
        print(f"{len(pairs)} {kind}")
    print()
    print("| device | dead-node pairs > 10 % apart | swap twins (measured) | > 10 % apart | std log ratio "
          "| twin rho | Spearman ceiling | +-10 % bound | +-10 % oracle |")
    print("|---|---|---|---|---|---|---|---|---|")
    results = {}
    for device in [d.strip() for d in args.devices.split(",") if d.strip()]:
        lat = measured_column("nb201", device, "latency")
        row = {}
        for kind, pairs in kinds.items():
            a, b = pairs.T
            ok = np.isfinite(lat[a]) & np.isfinite(lat[b]) & (lat[a] > 0) & (lat[b] > 0)
            row[kind] = pair_noise(lat[a][ok], lat[b][ok])
        results[device] = row
        d, t = row["dead-node pairs"], row["swap twins"]
        print(f"| {device} | {d['differ_gt10_pct']:.1f} % of {d['pairs']} | {t['pairs']} | {t['differ_gt10_pct']:.1f} % "
              f"| {t['std_log_ratio']:.3f} | {t['twin_spearman']:.4f} | {t['spearman_ceiling']:.4f} "
              f"| {t['acc10_bound_pct']:.1f} % | {t['acc10_oracle_pct']:.1f} % |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"command": "python bench/latency_noise.py", "devices": results}, indent=1))


if __name__ == "__main__":
    main()
