"""The on-disk evaluation archive (SQLite, standard library).

One row per (space, dataset, proxy setting, canonical architecture): the proxy score columns of
that architecture and how long they took. A search writes computed evaluations in batches (at
most 64 per transaction; a batch is written when a result arrives a second or more after the
last write, and what is pending when a generation ends or the run is interrupted:
`hwnas.search.scoring.ARCHIVE_BATCH`), so a killed run keeps all but at most its last batch, and
a rerun or ``--resume`` never scores an architecture twice. The archive does not hold hardware costs: they
come from the cost tables, which are cheap and device-specific.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from dataclasses import dataclass
from typing import Iterable, Mapping

from hwnas.errors import HwnasUsageError
from hwnas.storage import open_sqlite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS evaluations (
    space TEXT NOT NULL, dataset TEXT NOT NULL, setting TEXT NOT NULL, key TEXT NOT NULL,
    arch INTEGER NOT NULL, scores TEXT NOT NULL, ms REAL NOT NULL, origin TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (space, dataset, setting, key)
)
"""


_COLUMNS = ["space", "dataset", "setting", "key", "arch", "scores", "ms", "origin", "created"]


@dataclass(frozen=True)
class ScoreSetting:
    """Everything a proxy score depends on besides the architecture."""

    proxies: tuple[str, ...]  # canonical proxy names
    seed: int
    batch_size: int
    version: str  # hwnas major.minor
    device: str = "cpu"
    fitted: tuple[tuple[str, str], ...] = ()  # learned proxies' (name, hash): `hwnas.proxies.learned.fit_hashes`

    @property
    def tag(self) -> str:
        tag = f"{'+'.join(self.proxies)}|seed={self.seed}|bs={self.batch_size}|v={self.version}|{self.device}"
        return f"{tag}|fitted={','.join(f'{n}:{h}' for n, h in self.fitted)}" if self.fitted else tag


@dataclass(frozen=True)
class Evaluated:
    """One archived evaluation: ``scores`` column -> value (NaN allowed), ``ms`` of the call,
    ``origin`` = "computed", "shipped" (the precomputed table of the package), "learned" (a
    learned proxy's prediction) or "labelled" (a class of a learned proxy's labelled set)."""

    arch: int
    scores: dict[str, float]
    ms: float
    origin: str


def _dump(scores: Mapping[str, float]) -> str:
    return json.dumps({k: (None if math.isnan(v) else v if math.isfinite(v) else ("inf" if v > 0 else "-inf"))
                       for k, v in scores.items()}, sort_keys=True)


def _load(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for k, v in json.loads(text).items():
        out[k] = math.nan if v is None else float(v)
    return out


class Archive:
    """Evaluations on disk at ``path`` (``":memory:"`` for a throw-away archive)."""

    def __init__(self, path: "str | os.PathLike[str]") -> None:
        self.path = str(path)
        use = "as a search archive; delete it or pass another --out"
        try:
            self._db = open_sqlite(self.path, _SCHEMA, use)
        except OSError as exc:
            raise HwnasUsageError(f"cannot use {self.path} as a search archive ({exc.strerror or exc}); "
                                  f"pass another --out or --archive") from None
        try:
            columns = [row[1] for row in self._db.execute("PRAGMA table_info(evaluations)")]
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise HwnasUsageError(f"cannot use {self.path} {use.split(';')[0]} ({exc});{use.split(';')[1]}") from None
        if columns != _COLUMNS:
            self._db.close()
            raise HwnasUsageError(f"{self.path} holds an 'evaluations' table that is not an hwnas search archive "
                                  f"(columns {', '.join(columns)}); delete it or pass another --out")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Archive":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lookup(self, space: str, dataset: str, setting: ScoreSetting, keys: Iterable[str]) -> dict[str, Evaluated]:
        """Archived evaluations among ``keys``: {key: Evaluated}."""
        wanted = set(keys)
        rows = self._db.execute(
            "SELECT key, arch, scores, ms, origin FROM evaluations WHERE space=? AND dataset=? AND setting=?",
            (space, dataset, setting.tag))
        out: dict[str, Evaluated] = {}
        try:
            for k, a, s, ms, o in rows:
                if k in wanted:
                    out[k] = Evaluated(int(a), _load(s), float(ms), o)
        except (ValueError, TypeError, AttributeError, sqlite3.DatabaseError) as exc:
            raise HwnasUsageError(f"{self.path}: a damaged evaluation row ({type(exc).__name__}: {exc}); "
                                  f"delete the archive or pass another --out") from None
        return out

    def store(self, space: str, dataset: str, setting: ScoreSetting, items: Mapping[str, Evaluated]) -> None:
        """Write evaluations {key: Evaluated} in one transaction."""
        now = time.time()
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO evaluations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(space, dataset, setting.tag, k, e.arch, _dump(e.scores), e.ms, e.origin, now)
                 for k, e in items.items()])

    def count(self, space: str | None = None, dataset: str | None = None, setting: ScoreSetting | None = None) -> int:
        sql, args = "SELECT COUNT(*) FROM evaluations WHERE 1=1", []
        for col, val in (("space", space), ("dataset", dataset), ("setting", setting.tag if setting else None)):
            if val is not None:
                sql += f" AND {col}=?"
                args.append(val)
        return int(self._db.execute(sql, args).fetchone()[0])
