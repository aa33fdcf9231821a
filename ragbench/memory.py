"""Process memory helpers: peak RSS, and handing freed native memory back to the OS.

LanceDB (Rust, many threads) frees its scan and commit buffers, but glibc keeps the
freed pages in per-thread arenas, so a long ingestion's RSS creeps up with every commit
although nothing is live. :func:`release_free_memory` asks glibc to return them
(``malloc_trim``); it is called after each ingestion commit and is a no-op elsewhere.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim  # glibc only; musl has no malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> bool:
    """Return freed heap pages to the OS (glibc ``malloc_trim(0)``); False where unsupported."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


def _status_mib(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def rss_mib() -> float | None:
    """This process's resident memory now, in MiB (``None`` where /proc is missing)."""
    return _status_mib("VmRSS")


def peak_rss_mib() -> float | None:
    """This process's peak resident memory (VmHWM), in MiB.

    ``resource.getrusage().ru_maxrss`` is not used: on Linux it survives ``exec``, so a
    child started from a large parent reports the parent's peak.
    """
    return _status_mib("VmHWM")
