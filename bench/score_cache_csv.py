"""Copy proxy scores between a score cache (SQLite, `hwnas.eval.ScoreCache`) and a CSV file, so
that a long fill survives a fresh checkout: `runs/` is not versioned, `bench/results/` is.

    python bench/score_cache_csv.py export runs/cache/s64_cifar10.sqlite bench/results/scores_s64_cifar10.csv
    python bench/score_cache_csv.py import bench/results/scores_s64_cifar10.csv runs/cache/s64_cifar10.sqlite

Every column of the cache is kept (value, ms of the timed call, call id, proxy group, time
stamp), so tables made from an imported cache equal those of the original. Import keeps rows
that are already in the cache (INSERT OR IGNORE); export writes atomically, sorted by key.
"""

from __future__ import annotations

import argparse
import csv
import io
import sqlite3
from pathlib import Path

COLUMNS = ("space", "arch", "dataset", "proxy", "seed", "batch_size", "version", "device", "value", "ms", "call",
           "grp", "created")


def export_csv(cache: Path, out: Path) -> int:
    from hwnas.storage import atomic_write

    db = sqlite3.connect(str(cache))
    try:
        rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM scores ORDER BY space, dataset, seed, batch_size, "
                          "version, device, arch, proxy").fetchall()
    finally:
        db.close()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row])
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda fh: fh.write(buf.getvalue().encode()))
    return len(rows)


def import_csv(source: Path, cache: Path) -> int:
    from hwnas.eval import ScoreCache

    ScoreCache(cache).close()  # creates the file and its schema
    with open(source, newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise SystemExit(f"{source}: expected the columns {', '.join(COLUMNS)}")
        rows = [
            (r["space"], int(r["arch"]), r["dataset"], r["proxy"], int(r["seed"]), int(r["batch_size"]), r["version"],
             r["device"], None if r["value"] == "" else float(r["value"]), float(r["ms"]), r["call"], r["grp"],
             float(r["created"]))
            for r in reader
        ]
    db = sqlite3.connect(str(cache), timeout=60)
    try:
        with db:
            before = db.total_changes
            db.executemany(f"INSERT OR IGNORE INTO scores ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
                           rows)
            return db.total_changes - before
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("direction", choices=("export", "import"))
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args()
    if not args.source.is_file():
        raise SystemExit(f"{args.source}: no such file")
    if args.direction == "export":
        print(f"{export_csv(args.source, args.target):,} scores written to {args.target}")
    else:
        print(f"{import_csv(args.source, args.target):,} new scores added to {args.target}")


if __name__ == "__main__":
    main()
