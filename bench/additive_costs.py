"""Is a device's measured NB201 cost a sum of fixed per-op prices?

For each device, an ordinary least-squares fit of the measured cost on the one-hot encoding
(6 edges x 5 ops) of every measured architecture; prints the largest absolute and relative
residual and the fitted price of each op at each edge relative to `none` (ms). A residual at
float precision means the cost ignores where an op sits and whether its output is used.

    python bench/additive_costs.py --devices eyeriss,fpga,raspi4,pixel3
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="eyeriss,fpga,raspi4,pixel3,jetson-tx2,edgetpu")
    parser.add_argument("--metric", default="latency")
    args = parser.parse_args()

    from sklearn.linear_model import LinearRegression

    from hwnas.predictors.encoding import onehot
    from hwnas.predictors.train import measured_targets
    from hwnas.spaces import get_space
    from hwnas.spaces.nb201 import OP_NAMES as ops

    space = get_space("nb201")
    for device in (d.strip() for d in args.devices.split(",") if d.strip()):
        values, _ = measured_targets("nb201", device, args.metric, "cifar10")
        idx = np.flatnonzero(np.isfinite(values))
        x = onehot("nb201", [space.arch_at(int(i)) for i in idx]).astype(np.float64)
        y = values[idx]
        fit = LinearRegression().fit(x, y)
        res = y - fit.predict(x)
        price = fit.coef_.reshape(6, len(ops))
        price = price - price[:, :1]
        print(f"{device} ({idx.size:,} archs): max |residual| {np.abs(res).max():.3g} ms, "
              f"max relative {np.abs(res / y).max():.3g}")
        print("  price vs none per edge (ms): " + ", ".join(ops[1:]))
        for edge in range(6):
            print("  edge", edge, " ".join(f"{v:+.4f}" for v in price[edge, 1:]))


if __name__ == "__main__":
    main()
