"""Fault injection for the Ray tests: a part that SIGKILLs the worker process holding it, once.

The marker file makes it once per test: the first call creates it (atomically) and kills its own
process; the restarted worker finds the marker and goes on. Never in the driver (``driver_pid``).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


def kill_once(marker: str | Path, *, driver_pid: int) -> None:
    """SIGKILL this process unless it is the driver or ``marker`` exists (then write our pid into it)."""
    if os.getpid() == driver_pid:
        return
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)


class KillOnceChunker:
    """A chunker that kills its worker on its first call; otherwise (and in ``repr``) the inner chunker."""

    def __init__(self, inner, marker: str | Path, driver_pid: int) -> None:
        self.inner, self.marker, self.driver_pid = inner, str(marker), driver_pid

    def __call__(self, docs):
        kill_once(self.marker, driver_pid=self.driver_pid)
        return self.inner(docs)

    def __repr__(self) -> str:  # the job's chunker fingerprint: the same as the inner chunker's
        return repr(self.inner)


class KillOnceGenerator:
    """A generator that kills its worker on its first ``generate``; otherwise the inner generator."""

    def __init__(self, inner, marker: str, driver_pid: int) -> None:
        self.inner, self.marker, self.driver_pid = inner, str(marker), driver_pid

    def generate(self, queries, contexts, **kwargs):
        kill_once(self.marker, driver_pid=self.driver_pid)
        return self.inner.generate(queries, contexts, **kwargs)

    def __getattr__(self, name: str):
        if name == "inner":  # not yet set (unpickling)
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return repr(self.inner)
