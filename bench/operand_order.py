"""Does the order of a sum's operands change a device's measured NB201 latency?

After ``skip_connect`` on edge 1<-0, node 1 is node 0's tensor, so swapping the ops of edges
2<-0 and 2<-1 (or 3<-0 and 3<-1) gives a network with the same ops and edges: only the order of
the ``Add``'s operands differs. For every such measured pair this prints the mean log-ratio of
the latencies, per (first op, second op), with its standard error.

    python bench/operand_order.py --devices jetson-tx2,raspi4,pixel3,edgetpu,eyeriss

(why graph version 3 has the ``operand_slot`` node feature; docs/benchmarks.md)
"""

from __future__ import annotations

import argparse
import collections

import numpy as np

SWAPPABLE = ((1, 2), (3, 4))  # edge pairs that both read node 0 once edge 0 is skip_connect


def swap_log_ratios(ops_to_index: dict, values: np.ndarray) -> dict[tuple[str, str], list[float]]:
    """{(op on the first edge, op on the second): [log(latency / latency of the swap), ...]}."""
    out = collections.defaultdict(list)
    for a, b in SWAPPABLE:
        for ops, i in ops_to_index.items():
            if ops[0] != "skip_connect" or ops[a] == ops[b] or not np.isfinite(values[i]):
                continue
            swapped = list(ops)
            swapped[a], swapped[b] = swapped[b], swapped[a]
            j = ops_to_index[tuple(swapped)]
            if np.isfinite(values[j]):
                out[(ops[a], ops[b])].append(float(np.log(values[i] / values[j])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="jetson-tx2,raspi4,pixel3,edgetpu,eyeriss")
    args = parser.parse_args()

    from hwnas.predictors.train import measured_targets
    from hwnas.spaces import get_space

    sp = get_space("nb201")
    ops_to_index = {sp.ops(sp.arch_at(i)): i for i in range(sp.num_archs)}
    for device in args.devices.split(","):
        values, _ = measured_targets(sp.name, device, "latency", "cifar10")
        print(f"{device}: first op, second op, pairs, mean log-ratio (first / swapped), s.e.")
        for (first, second), ratios in sorted(swap_log_ratios(ops_to_index, values).items()):
            if first < second:  # each pair once: the swapped order is the negated log-ratio
                r = np.array(ratios)
                print(f"  {first:>13} {second:>13} {len(r):5d} {r.mean():+.3f} {r.std() / np.sqrt(len(r)):.3f}")


if __name__ == "__main__":
    main()
