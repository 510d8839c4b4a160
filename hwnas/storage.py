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


def replace_folder(staged: Path, final: Path) -> None:
    """Put the fully written folder ``staged`` in place of ``final`` (same file system): readers
    see the old folder or the new one, never a mix; the old one is removed afterwards."""
    import shutil

    old = None
    if final.exists():
        old = final.parent / f".{final.name}-old-{os.getpid()}"
        os.replace(final, old)
    os.replace(staged, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def probe_writable(folder: Path, what: str) -> None:
    """Create and remove a temporary file in ``folder``: a usage error naming ``what`` when that
    fails (permissions, a read-only or virtual file system such as /proc)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".hwnas-probe.", dir=folder)
    except OSError as exc:
        raise HwnasUsageError(f"cannot write {what}: {exc.strerror or exc} in {str(folder)!r}") from None
    os.close(fd)
    os.unlink(tmp)


def check_output_path(path: "str | os.PathLike[str]", probe: bool = False) -> Path:
    """``path`` as a Path whose folder exists and is writable; a usage error otherwise.
    ``probe``: also create and remove a file there (``os.access`` says yes to root everywhere)."""
    if not os.fspath(path).strip():
        raise HwnasUsageError("output path is empty; give a file name such as net.onnx")
    out = Path(path)
    folder = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise HwnasUsageError(f"output path {str(out)!r} is a directory; give a file name such as net.onnx")
    if folder.exists() and not folder.is_dir():
        raise HwnasUsageError(f"cannot write {str(out)!r}: {str(folder)!r} is a file, not a folder")
    if not folder.is_dir():
        raise HwnasUsageError(f"cannot write {str(out)!r}: folder {str(folder)!r} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise HwnasUsageError(f"cannot write {str(out)!r}: folder {str(folder)!r} is not writable")
    if probe:
        probe_writable(folder, repr(str(out)))
    return out
