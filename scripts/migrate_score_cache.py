"""Carry a score cache over from an older hwnas minor version to the installed one.

A new minor version changes the cache key, so every score would be recomputed. This copies
the rows of the old version whose definition did not change and recomputes the columns that
did (cheap ones only), so hours of proxy scores survive an upgrade. Rows already present under
the new version are kept. Probe-input keys (``0.1+inputs:<sha>``) move along with their suffix.

    python scripts/migrate_score_cache.py runs/cache/*.sqlite --from 0.1

Changes by version:
  0.2  az_complexity counts only the layers the output depends on (`hwnas.proxies.az_nas`).
"""

from __future__ import annotations

import argparse
import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Callable

from hwnas.eval import version_tag


@lru_cache(maxsize=None)
def az_complexity(space: str, arch: int, dataset: str) -> float:
    """The installed ``az_complexity`` proxy's score of architecture ``arch`` on ``dataset``
    (it does not depend on the seed or the probe batch)."""
    from hwnas.eval import score_architecture

    return float(score_architecture(arch, ["az_complexity"], dataset, space=space)["az_complexity"])


# new minor version -> {score column: recompute(space, arch, dataset)}
RECOMPUTED: dict[str, dict[str, Callable[[str, int, str], float]]] = {
    "0.2": {"az_complexity": az_complexity},
}


def migrate(path: str, old: str, new: str) -> tuple[int, int]:
    """Copy ``old``-version rows of the cache at ``path`` to ``new``; returns (copied, recomputed)."""
    steps = [v for v in RECOMPUTED if _key(old) < _key(v) <= _key(new)]
    redo: dict[str, Callable[[str, int, str], float]] = {}
    for v in steps:
        redo.update(RECOMPUTED[v])
    db = sqlite3.connect(path, timeout=60)
    rows = db.execute("SELECT * FROM scores WHERE version = ? OR version LIKE ?", (old, old + "+%")).fetchall()
    cols = [d[0] for d in db.execute("SELECT * FROM scores LIMIT 0").description]
    at = {c: i for i, c in enumerate(cols)}
    out, recomputed = [], 0
    for row in rows:
        row = list(row)
        row[at["version"]] = new + row[at["version"]][len(old):]
        if row[at["proxy"]] in redo:
            row[at["value"]] = redo[row[at["proxy"]]](row[at["space"]], int(row[at["arch"]]), row[at["dataset"]])
            recomputed += 1
        out.append(row)
    with db:
        db.executemany(f"INSERT OR IGNORE INTO scores VALUES ({', '.join('?' * len(cols))})", out)
    db.close()
    return len(out), recomputed


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("caches", nargs="+", help="score cache files (SQLite)")
    ap.add_argument("--from", dest="old", required=True, help="the old major.minor, e.g. 0.1")
    args = ap.parse_args()
    new = version_tag()
    if _key(args.old) >= _key(new):
        raise SystemExit(f"error: --from {args.old} is not older than the installed hwnas {new}")
    missing = [p for p in args.caches if not Path(p).is_file()]
    if missing:
        raise SystemExit(f"error: no such score cache: {', '.join(missing)}")
    for path in args.caches:
        copied, recomputed = migrate(path, args.old, new)
        print(f"{path}: {copied} scores {args.old} -> {new}, {recomputed} recomputed")


if __name__ == "__main__":
    main()
