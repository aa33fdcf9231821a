"""The store's per-tenant LanceDB connections: opened on first use, at most ``max_open`` kept.

A store serving many tenants (a service, a sweep over 1,000 tenant databases) would otherwise
keep one connection per tenant it ever touched for the life of the process. The least recently
used one is dropped when the limit is reached; a later call for that tenant reconnects (cheap:
a connection is a path plus the shared, bounded :class:`lancedb.Session` caches).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ragbench.errors import ConfigError, StoreError

log = logging.getLogger(__name__)
#: Upper bound when the hard limit is "unlimited" (the kernel's default ``nr_open``).
_NOFILE_CEILING = 1 << 20
_nofile_checked = False


def raise_open_files_limit() -> tuple[int, int]:
    """Raise this process's soft limit on open files to its hard limit, once; returns ``(soft, hard)``.

    Each tenant a process touches keeps its full-text index files open in LanceDB's shared index
    cache (bounded by the cache's bytes, not by a count), so a service or sweep over a thousand
    tenants needs more than the common default soft limit of 1,024. Raising the soft limit up to the
    hard one needs no privilege; servers such as Ray and Elasticsearch do the same at start.
    """
    global _nofile_checked
    try:
        import resource
    except ImportError:  # not on POSIX
        return (-1, -1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if _nofile_checked:
        return soft, hard
    _nofile_checked = True
    want = _NOFILE_CEILING if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            log.info("open files: soft limit raised from %d to %d (the hard limit)", soft, want)
            soft = want
        except (ValueError, OSError) as exc:
            log.warning("open files: could not raise the soft limit %d to %d: %s", soft, want, exc)
    return soft, hard


def remember(marks: dict, key: str, value: Any, *, most: int) -> None:
    """``marks[key] = value`` as the most recent entry; the oldest are dropped beyond ``most``. Safe
    when threads share ``marks`` (one may drop an entry another is about to drop)."""
    marks.pop(key, None)
    marks[key] = value
    while len(marks) > most:
        with contextlib.suppress(RuntimeError, StopIteration):  # changed by another thread meanwhile
            marks.pop(next(iter(marks)), None)


def explain_open_files(method):
    """Turn LanceDB's "Too many open files" (os error 24) in a store method into a
    :class:`~ragbench.errors.StoreError` that says what the limit is and how to raise it."""

    @functools.wraps(method)
    def wrapper(self, tenant, *args, **kwargs):
        try:
            return method(self, tenant, *args, **kwargs)
        except (OSError, RuntimeError, ValueError) as exc:
            if "Too many open files" not in str(exc) and getattr(exc, "errno", None) != errno.EMFILE:
                raise
            soft, hard = raise_open_files_limit()
            raise StoreError(
                f"Tenant {tenant!r}: the process ran out of open files (limit {soft}, hard limit {hard}). "
                "Each tenant touched keeps its full-text index files open in LanceDB's index cache. Raise the "
                "hard limit (`ulimit -Hn`, systemd LimitNOFILE=, a container's nofile ulimit) or lower "
                "store.index_cache_mib."
            ) from exc

    return wrapper


class TenantConnections:
    """A bounded LRU of LanceDB connections, one per tenant directory, sharing one session.

    Args:
        max_open: Most connections kept open (>= 1).
        cache_mib: ``{"index": MiB, "metadata": MiB}`` for the shared :class:`lancedb.Session`.
        on_evict: Called with a tenant whose connection was dropped (the store forgets what it
            cached about that tenant).

    Example:
        >>> conns = TenantConnections(max_open=2, cache_mib={"index": 8, "metadata": 8})
        >>> len(conns)
        0
    """

    def __init__(
        self, *, max_open: int, cache_mib: dict[str, int], on_evict: Callable[[str], None] | None = None
    ) -> None:
        if int(max_open) < 1:
            raise ConfigError(
                f"max_open_tenants must be >= 1, got {max_open!r}: it is how many tenant connections the "
                "store keeps open (e.g. 256)."
            )
        self.max_open, self.cache_mib, self.on_evict = int(max_open), dict(cache_mib), on_evict
        raise_open_files_limit()  # one open file per tenant touched (see the function)
        self._open: OrderedDict[str, Any] = OrderedDict()
        self._session = None
        self._lock = threading.Lock()  # the ingest writer thread and service threads share the store

    def get(self, tenant: str, path: Path):
        """The connection of ``tenant`` (at ``path``, created if missing), now the most recently used."""
        with self._lock:
            if tenant in self._open:
                self._open.move_to_end(tenant)
                return self._open[tenant]
            import lancedb

            path.mkdir(parents=True, exist_ok=True)
            if self._session is None:  # one bounded cache shared by all tenants' connections
                self._session = lancedb.Session(
                    index_cache_size_bytes=self.cache_mib["index"] << 20,
                    metadata_cache_size_bytes=self.cache_mib["metadata"] << 20,
                )
            conn = self._open[tenant] = lancedb.connect(str(path), session=self._session)
            evicted = [self._open.popitem(last=False)[0] for _ in range(len(self._open) - self.max_open)]
        for name in evicted:
            if self.on_evict is not None:
                self.on_evict(name)
        return conn

    def pop(self, tenant: str) -> None:
        """Forget ``tenant``'s connection (e.g. its directory was deleted)."""
        with self._lock:
            self._open.pop(tenant, None)

    def tenants(self) -> list[str]:
        """Tenants with an open connection, least recently used first."""
        with self._lock:
            return list(self._open)

    def __len__(self) -> int:
        return len(self._open)
