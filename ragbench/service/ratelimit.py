"""Per-tenant rate limits of the query API, shared by every worker process through sqlite.

Two limits per tenant, counted with the `limits <https://limits.readthedocs.io>`_ library's
fixed-window strategy: **requests** (every query, stream, ingest and document listing) and
**generated tokens** (an answer's completion tokens, charged when it is done; a tenant whose
tokens are used up is refused until the window resets). Defaults come from ``ragbench serve
--requests-limit/--tokens-limit``; a tenant's own settings win::

    ragbench tenants create acme-robotics --exist-ok --set "api_requests_limit=120/minute" \
        --set "api_tokens_limit=20000/minute"

(``none`` lifts a limit.) Over a limit the API answers 429 with ``Retry-After``.

Storage: ``limits`` ships memory, Redis, Memcached, MongoDB and etcd storages, but nothing
file-based, and memory counters are per process (``ragbench serve --workers 4`` would allow 4x
the limit). :class:`SQLiteStorage` implements ``limits``' storage interface on one sqlite file
(``<home>/service/ratelimits.db``, WAL mode, one atomic ``UPSERT ... RETURNING`` per hit), so every
worker on the machine counts in the same place with no server to run. Several machines need a
shared server instead: pass ``--rate-limit-storage redis://host:6379`` (``limits``' own Redis storage).
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limits.storage import Storage

from ragbench.errors import ConfigError

REQUESTS_SETTING, TOKENS_SETTING = "api_requests_limit", "api_tokens_limit"
_UNLIMITED = ("none", "off", "unlimited", "")


class SQLiteStorage(Storage):
    """``limits`` storage in one sqlite file, for fixed-window limits shared by processes on one machine.

    URI: ``ragbench+sqlite:///abs/path/ratelimits.db``.

    Example:
        >>> import tempfile, os
        >>> from limits import parse, strategies
        >>> store = SQLiteStorage(f"ragbench+sqlite:///{os.path.join(tempfile.mkdtemp(), 'r.db')}")
        >>> limiter = strategies.FixedWindowRateLimiter(store)
        >>> [limiter.hit(parse("2/minute"), "acme") for _ in range(3)]
        [True, True, False]
    """

    STORAGE_SCHEME = ["ragbench+sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: Any) -> None:
        path = uri.split("://", 1)[1] if "://" in uri else uri
        if not path:
            raise ConfigError(
                f"Rate-limit storage URI {uri!r} names no file: use ragbench+sqlite:///abs/path/ratelimits.db"
            )
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._hits = 0
        with self._conn() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL, "
                "expires REAL NOT NULL)"
            )
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:  # one connection per thread; autocommit, so each statement is its own transaction
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add ``amount`` to ``key``'s count; a new or expired key starts a window of ``expiry`` seconds."""
        now = time.time()
        row = (
            self._conn()
            .execute(
                "INSERT INTO counters (key, value, expires) VALUES (?1, ?2, ?3) ON CONFLICT(key) DO UPDATE SET "
                "value = CASE WHEN expires <= ?4 THEN ?2 ELSE value + ?2 END, "
                "expires = CASE WHEN expires <= ?4 THEN ?3 ELSE expires END RETURNING value",
                (key, int(amount), now + expiry, now),
            )
            .fetchone()
        )
        self._hits += 1
        if self._hits % 1000 == 0:  # drop long-expired windows now and then, so the file stays small
            self._conn().execute("DELETE FROM counters WHERE expires < ?", (now - 3600,))
        return int(row[0])

    def get(self, key: str) -> int:
        row = (
            self._conn()
            .execute("SELECT value FROM counters WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = (
            self._conn()
            .execute("SELECT expires FROM counters WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._conn().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._conn().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._conn().execute("DELETE FROM counters WHERE key = ?", (key,))


@dataclass(frozen=True)
class Refusal:
    """Why a tenant's request is refused now, and when it may try again (HTTP 429)."""

    tenant: str
    limit: str
    retry_after: int

    @property
    def message(self) -> str:
        return (
            f"Tenant {self.tenant!r} is over its limit of {self.limit}; retry after {self.retry_after} s "
            "(Retry-After). Limits are per tenant: ask an admin to raise them (tenant settings "
            f"{REQUESTS_SETTING} / {TOKENS_SETTING})."
        )


def parse_limit(text: str | None, *, what: str):
    """A ``limits`` item for ``"120/minute"``-style text, or ``None`` for ``none`` (no limit)."""
    from limits import parse

    if text is None or str(text).strip().lower() in _UNLIMITED:
        return None
    try:
        return parse(str(text))
    except ValueError as exc:
        raise ConfigError(
            f"Bad {what} {text!r} ({exc}): write COUNT/PERIOD, e.g. '600/minute' or "
            "'20 per 10 seconds', or 'none' for no limit."
        ) from exc


class TenantLimits:
    """Count requests and generated tokens per tenant and refuse what is over the limits.

    Args:
        storage: A ``limits`` storage URI (``ragbench+sqlite:///...``, ``redis://...``, ``memory://``).
        requests, tokens: Default limits for tenants without their own.
        settings: ``tenant -> settings mapping`` (the tenant record's settings); read on every check,
            so a changed limit applies at once.
    """

    def __init__(
        self,
        storage: str,
        *,
        requests: str | None = "600/minute",
        tokens: str | None = "200000/minute",
        settings: Callable[[str], Mapping[str, Any]] = lambda tenant: {},
    ) -> None:
        from limits import strategies
        from limits.storage import storage_from_string

        self.defaults = {
            "requests": parse_limit(requests, what="request limit"),
            "tokens": parse_limit(tokens, what="token limit"),
        }
        self.settings = settings
        self.storage = storage_from_string(storage)
        self.limiter = strategies.FixedWindowRateLimiter(self.storage)

    def limit(self, tenant: str, kind: str):
        """The tenant's ``requests`` or ``tokens`` limit item (``None``: unlimited)."""
        setting = REQUESTS_SETTING if kind == "requests" else TOKENS_SETTING
        own = self.settings(tenant).get(setting)
        return self.defaults[kind] if own is None else parse_limit(own, what=f"{setting} of tenant {tenant!r}")

    def _refusal(self, tenant: str, kind: str, item) -> Refusal:
        reset = self.limiter.get_window_stats(item, kind, tenant).reset_time
        unit = "requests" if kind == "requests" else "generated tokens"
        return Refusal(
            tenant,
            f"{item.amount} {unit} per {item.multiples} {item.GRANULARITY.name}(s)",
            max(1, math.ceil(reset - time.time())),
        )

    def admit(self, tenant: str) -> Refusal | None:
        """Count one request; a :class:`Refusal` when the tenant is over either limit (the request is not counted
        when its tokens are used up)."""
        tokens = self.limit(tenant, "tokens")
        if tokens is not None and not self.limiter.test(tokens, "tokens", tenant):
            return self._refusal(tenant, "tokens", tokens)
        requests = self.limit(tenant, "requests")
        if requests is not None and not self.limiter.hit(requests, "requests", tenant):
            return self._refusal(tenant, "requests", requests)
        return None

    def charge(self, tenant: str, tokens: int) -> None:
        """Charge an answer's generated tokens to the tenant's token window."""
        item = self.limit(tenant, "tokens")
        if item is not None and tokens > 0:
            self.limiter.hit(item, "tokens", tenant, cost=int(tokens))

    def healthy(self) -> bool:
        return bool(self.storage.check())
