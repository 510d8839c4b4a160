"""What archiving a computed evaluation costs a search's driver: `Archive.store` of 2,000 AZ-NAS
evaluations one per transaction (how the scorer wrote them before batching) against batches of
`hwnas.search.scoring.ARCHIVE_BATCH`, in one run on fresh archives (SQLite, WAL).

    python bench/archive_writes.py --out bench/results/archive_writes.json
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from _report import emit_record


def store_ms(n: int, batch: int) -> float:
    """Milliseconds per evaluation of storing ``n`` evaluations in transactions of ``batch``."""
    from hwnas.search.archive import Archive, Evaluated, ScoreSetting

    cols = ["az_expressivity", "az_progressivity", "az_trainability", "az_complexity"]
    setting = ScoreSetting(("az_nas",), 0, 64, "0.2")
    with tempfile.TemporaryDirectory() as folder:
        archive = Archive(os.path.join(folder, "a.sqlite"))
        items = [(f"k{i}", Evaluated(i, dict.fromkeys(cols, 0.5), 800.0, "computed")) for i in range(n)]
        start = time.perf_counter()
        for s in range(0, n, batch):
            archive.store("nb201", "cifar100", setting, dict(items[s:s + batch]))
        elapsed = time.perf_counter() - start
        archive.close()
    return elapsed / n * 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--evaluations", type=int, default=2000)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    from hwnas.search.scoring import ARCHIVE_BATCH

    single = store_ms(args.evaluations, 1)
    batched = store_ms(args.evaluations, ARCHIVE_BATCH)
    emit_record({"command": f"python bench/archive_writes.py --evaluations {args.evaluations}",
                 "measured_on": time.strftime("%Y-%m-%d"), "evaluations": args.evaluations,
                 "batch": ARCHIVE_BATCH, "ms_per_evaluation_one_per_transaction": round(single, 3),
                 "ms_per_evaluation_batched": round(batched, 4), "ratio": round(single / batched, 1),
                 "results_per_s_batched": round(1000.0 / batched)}, args.out)


if __name__ == "__main__":
    main()
