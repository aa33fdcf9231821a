"""Fault injection for the Ray tests: a part that SIGKILLs the worker process holding it, once; and an
embedder that counts its calls across processes (CountingEmbedder).

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


class _Wrapper:
    """Delegates every attribute it does not define (and ``repr``) to ``self.inner``, also across pickling."""

    inner: object

    def __getattr__(self, name: str):
        if name == "inner":  # not yet set (unpickling)
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return repr(self.inner)


class KillOnceGenerator(_Wrapper):
    """A generator that kills its worker on its first ``generate``; otherwise the inner generator."""

    def __init__(self, inner, marker: str, driver_pid: int) -> None:
        self.inner, self.marker, self.driver_pid = inner, str(marker), driver_pid

    def generate(self, queries, contexts, **kwargs):
        kill_once(self.marker, driver_pid=self.driver_pid)
        return self.inner.generate(queries, contexts, **kwargs)


class CountingEmbedder(_Wrapper):
    """An embedder that appends ``<pid> <texts>`` to ``log`` for each ``embed_documents`` call, in whatever
    process it runs (Ray actors included); otherwise (and in ``repr``) the inner embedder.

    Example:
        >>> emb = CountingEmbedder(static_embedder(), "/tmp/calls.log")  # doctest: +SKIP
        >>> embedded_texts("/tmp/calls.log")  # doctest: +SKIP
        0
    """

    def __init__(self, inner, log: str | Path) -> None:
        self.inner, self.log = inner, str(log)

    def embed_documents(self, texts):
        with open(self.log, "a", encoding="utf-8") as fh:  # one short O_APPEND write per call
            fh.write(f"{os.getpid()} {len(texts)}\n")
        return self.inner.embed_documents(texts)


def embedded_texts(log: str | Path) -> int:
    """How many texts the :class:`CountingEmbedder` writing ``log`` embedded (0 if it never ran)."""
    path = Path(log)
    return sum(int(line.split()[1]) for line in path.read_text().splitlines()) if path.exists() else 0
