"""Files on disk, written safely: atomic replacement and SQLite stores that several processes
may share. Standard library only."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from hwnas.errors import HwnasUsageError


def current_umask() -> int:
    """The process umask (read without changing it for longer than the call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: "str | os.PathLike[str]", write: Callable[[BinaryIO], object], private: bool = False) -> Path:
    """Write ``path`` through ``write(binary file)`` into a temporary file beside it, then rename
    it into place: readers see the old file or the whole new one, never a part. The file gets
    the usual mode (0666 minus the umask), or stays 0600 with ``private``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        if not private:
            os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def open_sqlite(path: "str | os.PathLike[str]", schema: str, use: str) -> sqlite3.Connection:
    """A connection to the SQLite file ``path`` (parent folders created; ``":memory:"`` for a
    throw-away store) with ``schema`` applied, a WAL journal and a 60 s busy timeout so that
    several processes can share it. A file that is not a database is a one-line usage error
    ending in ``use`` (e.g. "as a score cache; pass another --cache path")."""
    path = str(path)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        db = sqlite3.connect(path, timeout=60.0)
        if path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
        db.execute(schema)
        db.commit()
    except sqlite3.DatabaseError as exc:
        head, _, fix = use.partition(";")
        raise HwnasUsageError(f"cannot use {path} {head.strip()} ({exc});{fix}") from exc
    return db
