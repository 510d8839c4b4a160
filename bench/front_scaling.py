"""What the Pareto front costs a long search's driver: `hwnas.search.front.non_dominated` on random
points (2 and 3 objectives, 10^4 to 10^6 rows), and the real per-generation status update of
`hwnas pareto` (feasible count + `SearchState.front()`, what the progress bar shows each
generation) in an FBNet search with the static `params` proxy, so that 10^5 evaluations take a
minute.

    python bench/front_scaling.py                       # 10^5 evaluations, population 2,000
    python bench/front_scaling.py --evaluations 20000 --pop-size 1000 --out bench/results/front_scaling.json

The update is timed on every generation whether or not a progress bar is shown (the command
skips it with -q or without a terminal). Prints a JSON record.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from _report import emit_record


def sort_seconds(rows: int, objectives: int, seed: int = 1) -> float:
    """Seconds of one `non_dominated` call on ``rows`` uniform random points."""
    from hwnas.search.front import non_dominated

    F = np.random.default_rng(seed).random((rows, objectives))
    start = time.perf_counter()
    non_dominated(F)
    return time.perf_counter() - start


def previous_seconds(rows: int, objectives: int, seed: int = 1) -> float:
    """Seconds of the general path `non_dominated` had before it went blockwise (each row
    compared with every earlier kept row, the kept set rebuilt per row): the baseline."""
    F = np.random.default_rng(seed).random((rows, objectives))
    start = time.perf_counter()
    keep = np.ones(rows, dtype=bool)
    order = np.lexsort(F.T[::-1])
    Fs = F[order]
    for pos in range(rows):
        earlier = Fs[:pos][keep[order[:pos]]]
        if earlier.size and np.any(np.all(earlier <= Fs[pos], axis=1) & np.any(earlier < Fs[pos], axis=1)):
            keep[order[pos]] = False
    return time.perf_counter() - start


def update_seconds(evaluations: int, pop_size: int) -> tuple[list[tuple[int, float]], float]:
    """([(evaluated so far, seconds of that generation's status update)], run seconds) of an
    FBNet search on raspi4 at 50 ms with the params proxy."""
    import hwnas.search.run as run
    from hwnas.api import pareto

    times: list[tuple[int, float]] = []
    original = run._Progress.update

    def timed(self, state) -> None:  # what the status line computes, shown or not
        start = time.perf_counter()
        int(state.feasible(state.order).sum())
        state.front()
        times.append((state.n, time.perf_counter() - start))

    run._Progress.update = timed
    try:
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            pareto(device="raspi4", latency_ms=50.0, space="fbnet", proxy="params", evaluations=evaluations,
                   pop_size=pop_size, seed=0, out=folder, overwrite=True)
            total = time.perf_counter() - start
    finally:
        run._Progress.update = original
    return times, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--evaluations", type=int, default=100_000)
    ap.add_argument("--pop-size", type=int, default=2000)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    sorts = {f"{m}_objectives": {f"{n:.0e}": round(sort_seconds(n, m), 4) for n in (10**4, 10**5, 10**6)}
             for m in (2, 3)}
    baseline = {f"{n:.0e}": {"before_s": round(previous_seconds(n, 3), 4), "now_s": round(sort_seconds(n, 3), 4)}
                for n in (10**4, 3 * 10**4)}
    times, total = update_seconds(args.evaluations, args.pop_size)
    record = {
        "command": f"python bench/front_scaling.py --evaluations {args.evaluations} --pop-size {args.pop_size}",
        "measured_on": time.strftime("%Y-%m-%d"),
        "non_dominated_seconds": sorts,
        "three_objectives_vs_previous_path": baseline,
        "search": {"evaluations": args.evaluations, "pop_size": args.pop_size, "run_seconds": round(total, 1),
                   "generations": len(times),
                   "update_seconds_at": {str(n): round(t, 4) for n, t in (times[0], times[len(times) // 2], times[-1])},
                   "update_seconds_total": round(sum(t for _, t in times), 2)},
    }
    emit_record(record, args.out)


if __name__ == "__main__":
    main()
