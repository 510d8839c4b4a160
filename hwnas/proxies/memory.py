"""Memory settings for processes that score networks: the allocator, and the cyclic garbage
collector during a scoring call.

A scoring call allocates and frees the same few-megabyte activation and gradient buffers again
and again (one batch-64 NB201 feature map is 4 MB). glibc serves blocks of that size with fresh
``mmap`` pages and hands them back on free, so every call pays the page faults anew (about 75k
minor faults per AZ-NAS call). `keep_freed_memory` tells glibc to serve blocks below 32 MB from
its heap and to keep freed heap memory: the next network reuses the pages. Measured with
``bench/aznas_floor.py``: AZ-NAS 243 -> 205 ms per CIFAR-100 network at 2 threads (the forward +
backward floor gains about as much). The process keeps its peak heap size instead of returning
it; values are unchanged (it only changes where memory comes from).

`collection_paused` holds off Python's cyclic garbage collector during one scoring call.
Building an NB201 network creates a few thousand container objects, which triggers collections
that also walk the ~170k long-lived objects of the imported libraries: half of the 9-10 ms
build time. The call's objects are freed by reference counting as usual when it ends; cycles,
if any, wait for the next collection.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import sys
from functools import lru_cache
from typing import Iterator

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit
TRIM_THRESHOLD_BYTES = 1024 * 1024 * 1024


@lru_cache(maxsize=1)
def keep_freed_memory() -> bool:
    """Apply the setting once per process; True where it took effect (Linux with glibc), False
    elsewhere (other C libraries, macOS, Windows: nothing is changed)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector inside the block, and restore its previous state
    (enabled or not) on exit."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
