"""How noisy are the measured NB201 latencies? Pairs of architectures that compute the same
thing -- they differ only by `skip_connect` vs `none` on an edge into node 2 while node 2 feeds
nothing (edge 3<-2 is `none`), and their output depends on the input -- should measure the same. Prints, per device, the share of
such pairs whose latencies differ by more than 10 % (|a / b - 1| > 0.1, b the `none` twin).

    python bench/latency_noise.py
"""

from __future__ import annotations

import numpy as np

from hwnas import get_space
from hwnas.devices import measured_column

DEVICES = ("raspi4", "pixel3", "eyeriss", "fpga", "jetson-tx2", "edgetpu")


def main() -> None:
    space = get_space("nb201")
    index_of = {space.arch_at(i).genotype: i for i in range(space.num_archs)}
    pairs = []
    for genotype, i in index_of.items():
        if genotype[5] != 0:  # node 2 must feed nothing
            continue
        if genotype[3] == 0 and (genotype[4] == 0 or genotype[0] == 0):
            continue  # output ignores the input: devices time such networks apart (~0.01 ms)
        for edge in (1, 2):  # the edges into node 2
            if genotype[edge] == 1:
                twin = list(genotype)
                twin[edge] = 0
                pairs.append((i, index_of[tuple(twin)]))
    a, b = np.array(pairs).T
    print(f"{len(pairs)} pairs of functionally identical architectures")
    for device in DEVICES:
        lat = measured_column("nb201", device, "latency")
        ok = np.isfinite(lat[a]) & np.isfinite(lat[b])
        ratio = lat[a][ok] / lat[b][ok]
        print(f"{device:11s} pairs {ok.sum():5d}  differ > 10 %: {100 * np.mean(np.abs(ratio - 1) > 0.1):5.1f} %"
              f"  std of log ratio {np.std(np.log(ratio)):.3f}")


if __name__ == "__main__":
    main()
