"""An exhaustive NB201 search simulated from per-network scores, as `bench/pareto_quality.py`
judges the real one: the devices with measured latency for every network, budgets at the 10th /
25th / 50th / 75th latency percentile, and per budget the front of (score, measured latency)
among the feasible candidates whose cell sees its input (what `hwnas pareto --algorithm auto`
returns from a look-up table). Used by `bench/aggregate_regret.py` and `bench/learned_proxy.py`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

DEVICES = ("raspi4", "pixel3", "eyeriss", "fpga")
PERCENTILES = (10, 25, 50, 75)


@lru_cache(maxsize=1)
def sees_input() -> np.ndarray:
    """[15625] bool: the cell's output depends on its input (the others never reach a front)."""
    from hwnas.proxies.label_selection import sees_input as cells_seeing_input
    from hwnas.spaces.nb201 import NB201Space

    return cells_seeing_input(np.arange(NB201Space().num_archs))


@lru_cache(maxsize=1)
def budgets() -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """{device: [(measured latency in ms [15625], feasible mask) per percentile in PERCENTILES]}."""
    from hwnas.devices.measured import measured_column

    out = {}
    for d in DEVICES:
        lat = measured_column("nb201", d, "latency")
        out[d] = [(lat, lat <= np.percentile(lat, p)) for p in PERCENTILES]
    return out


def front_regrets(acc: np.ndarray, score: np.ndarray, devices: "tuple[str, ...]" = DEVICES,
                  candidates: "np.ndarray | None" = None) -> tuple[list[float], list[float]]:
    """Per device x budget (accuracy points): top-1 regret, the best feasible candidate's accuracy
    minus that of the front's best-scored member, and best-of-front regret, the same minus the
    front's best accuracy. ``candidates``: a mask of the networks the search may return (default:
    all); networks with a non-finite score never reach the front."""
    from hwnas.search.front import non_dominated

    top1, best_of_front = [], []
    for d in devices:
        for lat, feasible in budgets()[d]:
            ok = feasible if candidates is None else feasible & candidates
            cand = np.flatnonzero(ok & sees_input() & np.isfinite(score))
            front = cand[non_dominated(np.column_stack([-score[cand], lat[cand]]))]
            best = acc[ok].max()
            top1.append(best - acc[front[np.argmax(score[front])]])
            best_of_front.append(best - acc[front].max())
    return top1, best_of_front
