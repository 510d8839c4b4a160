"""The on-disk proxy score cache of ``hwnas eval proxies`` (`ScoreCache`, SQLite) and its key
(`CacheKey`, with `version_tag`)."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from hwnas.errors import HwnasUsageError

DEFAULT_CACHE = Path("runs") / "cache" / "scores.sqlite"


def version_tag() -> str:
    """``major.minor`` of the installed hwnas: part of every cache key, so that a new minor
    version (which may change a proxy's definition) never reuses old scores."""
    from hwnas import __version__

    parts = __version__.split(".")
    return ".".join(parts[:2])


@dataclass(frozen=True)
class CacheKey:
    """Everything but the architecture and the score column that a cached score depends on."""

    space: str
    dataset: str
    seed: int
    batch_size: int
    version: str
    device: str = "cpu"


@dataclass(frozen=True)
class CachedScore:
    """One cached score: ``value`` (NaN for NaN), ``ms`` of the timed call that produced it,
    ``call`` (id shared by every score of that call) and ``group`` (the proxies computed in it)."""

    value: float
    ms: float
    call: str
    group: str


_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    space TEXT NOT NULL,
    arch INTEGER NOT NULL,
    dataset TEXT NOT NULL,
    proxy TEXT NOT NULL,
    seed INTEGER NOT NULL,
    batch_size INTEGER NOT NULL,
    version TEXT NOT NULL,
    device TEXT NOT NULL,
    value REAL,
    ms REAL NOT NULL,
    call TEXT NOT NULL,
    grp TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (space, dataset, seed, batch_size, version, device, proxy, arch)
)
"""


def _check_cache_path(path: Path) -> None:
    """A usage error, creating nothing, when the cache file ``path`` cannot be created: a folder
    at its place, a file where a parent folder should be, a read-only or virtual file system."""
    import tempfile

    if path.is_dir():
        raise HwnasUsageError(f"cannot use {path} as a score cache: it is a folder; pass a file path to --cache")
    base = path.parent.absolute()
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise HwnasUsageError(f"cannot use {path} as a score cache: {base} is a file, not a folder; "
                              f"pass another --cache path")
    if path.exists():
        return  # open_sqlite judges the file itself
    try:
        fd, tmp = tempfile.mkstemp(prefix=".hwnas-probe.", dir=base)
    except OSError as exc:
        raise HwnasUsageError(f"cannot use {path} as a score cache: {exc.strerror or exc} in {base}; "
                              f"pass another --cache path") from None
    os.close(fd)
    os.unlink(tmp)


class ScoreCache:
    """Proxy scores on disk (SQLite, standard library), one row per (space, arch index, dataset,
    score column, seed, batch size, hwnas major.minor, device).

    ``proxy`` in the key is the score column (``az_nas`` stores its four columns
    ``az_expressivity`` ... ``az_complexity``). The device is part of the key because CPU and
    CUDA kernels round differently. NaN is stored as NULL; +-inf as SQLite's infinities. Each
    `store` call is one transaction, so a killed run keeps every architecture it finished.
    Several processes may share one file (WAL journal, 60 s busy timeout).

    ``path``: a file (parent folders are created) or ``":memory:"`` for a throw-away cache.
    A cached score is trusted as long as its key matches: after changing a proxy's definition
    without a version bump, recompute it (``recompute=`` of `evaluate_proxies`, ``--recompute``)
    or use another cache file.
    """

    def __init__(self, path: "str | os.PathLike[str]" = DEFAULT_CACHE) -> None:
        from hwnas.storage import open_sqlite

        self.path = str(path)
        if self.path != ":memory:":
            _check_cache_path(Path(self.path))
        try:
            self._db = open_sqlite(self.path, _SCHEMA, "as a score cache; pass another --cache path")
        except OSError as exc:
            raise HwnasUsageError(f"cannot use {self.path} as a score cache ({exc.strerror or exc}); "
                                  f"pass another --cache path") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ScoreCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lookup(self, key: CacheKey, archs: Iterable[int], columns: Iterable[str]) -> dict[tuple[int, str], CachedScore]:
        """Cached scores of ``archs`` x ``columns`` under ``key``: {(arch, column): CachedScore};
        pairs that are not cached are absent."""
        archs, columns = {int(a) for a in archs}, set(columns)
        rows = self._db.execute(
            "SELECT arch, proxy, value, ms, call, grp FROM scores WHERE space=? AND dataset=? AND seed=? "
            "AND batch_size=? AND version=? AND device=?",
            (key.space, key.dataset, key.seed, key.batch_size, key.version, key.device),
        )
        out: dict[tuple[int, str], CachedScore] = {}
        for arch, proxy, value, ms, call, grp in rows:
            if arch in archs and proxy in columns:
                out[(arch, proxy)] = CachedScore(math.nan if value is None else float(value), float(ms), call, grp)
        return out

    def store(self, key: CacheKey, arch: int, scores: Mapping[str, CachedScore]) -> None:
        """Write (or overwrite) the scores of one architecture in one transaction."""
        now = time.time()
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (key.space, int(arch), key.dataset, column, key.seed, key.batch_size, key.version, key.device,
                     None if math.isnan(s.value) else float(s.value), float(s.ms), s.call, s.group, now)
                    for column, s in scores.items()
                ],
            )

    def count(self) -> int:
        """Number of cached scores (all keys)."""
        return int(self._db.execute("SELECT COUNT(*) FROM scores").fetchone()[0])
