"""API keys of the query service: created and revoked with ``ragbench keys``, stored hashed.

A key is ``rbk_<id>_<secret>``: a 12-hex-digit id (not secret: ``ragbench keys list`` shows it and
``revoke`` takes it) and 256 random bits. The store (``<home>/service/keys.db``, sqlite) keeps the
id, a name, a role (``user`` or ``admin``, as in the dashboard's users file), the tenants and the
SHA-256 of the whole key -- never the key itself, which is printed once, at creation.

Why SHA-256 and not the dashboard's PBKDF2: a password is guessable, so its hash must be slow; a
key has 256 random bits, so no guessing is feasible and a slow hash would only add ~0.3 s to every
request. Verification compares digests with :func:`hmac.compare_digest`, and an unknown id, a wrong
secret, a revoked key or a malformed one all cost the same hash and comparison and get the same
answer, so a caller learns nothing about which keys exist.

Example:
    >>> import tempfile, os
    >>> store = KeyStore(os.path.join(tempfile.mkdtemp(), "keys.db"))
    >>> key, record = store.create("ci-bot", tenants=["acme-robotics"])
    >>> store.verify(key).tenants, store.revoke(record.key_id), store.verify(key)
    (('acme-robotics',), True, None)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from ragbench.dashboard.auth import ROLES, User
from ragbench.errors import ConfigError, TenantError
from ragbench.tenancy import validate_tenant_id

PREFIX = "rbk"
_KEY = re.compile(rf"^{PREFIX}_([0-9a-f]{{12}})_([A-Za-z0-9_-]{{43}})$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_DUMMY = hashlib.sha256(b"no such key").hexdigest()

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    tenants TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created REAL NOT NULL,
    revoked REAL
);
"""


@dataclass(frozen=True)
class ApiKey:
    """A stored key (without its secret)."""

    key_id: str
    name: str
    role: str
    tenants: tuple[str, ...]
    created: float
    revoked: float | None = None

    @property
    def user(self) -> User:
        """The key as a dashboard :class:`~ragbench.dashboard.auth.User`, so the same access rules apply."""
        return User(name=f"key:{self.name}", role=self.role, tenants=self.tenants)

    def to_dict(self) -> dict:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "role": self.role,
            "tenants": list(self.tenants),
            "created": self.created,
            "revoked": self.revoked,
        }


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", errors="replace")).hexdigest()


class KeyStore:
    """Create, verify, list and revoke API keys (sqlite; a new connection per call, safe across processes).

    Args:
        path: The sqlite file, ``<home>/service/keys.db``.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn, conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def create(self, name: str, *, tenants: Sequence[str] = (), role: str = "user") -> tuple[str, ApiKey]:
        """A new key for ``tenants`` (an ``admin`` key reaches every tenant); returns ``(key, record)``.

        The key is returned only here: store it where the client reads it.
        """
        if not _NAME.match(name or ""):
            raise ConfigError(
                f"Key name {name!r} is not valid: use 1-64 letters, digits, '.', '_', '@' or '-', "
                "starting with a letter or digit (e.g. 'ci-bot')."
            )
        if role not in ROLES:
            raise ConfigError(f"Role {role!r} is not valid; roles: {', '.join(ROLES)}.")
        try:
            scoped = tuple(dict.fromkeys(validate_tenant_id(t) for t in tenants))
        except TenantError as exc:
            raise ConfigError(f"Key {name!r}: {exc}") from exc
        if role == "user" and not scoped:
            raise ConfigError(f"Key {name!r} has no tenants: pass --tenant T (repeatable), or --role admin for all.")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        key = f"{PREFIX}_{key_id}_{secret}"
        record = ApiKey(key_id, name, role, scoped, time.time())
        with closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT INTO api_keys (key_id, name, role, tenants, key_hash, created) VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, name, role, json.dumps(list(scoped)), _digest(key), record.created),
            )
        return key, record

    def verify(self, key: str | None) -> ApiKey | None:
        """The live key record for a presented key, else ``None`` (same work for every failure)."""
        match = _KEY.match(key or "")
        row = None
        if match:
            with closing(self._connect()) as conn:
                row = conn.execute(
                    "SELECT key_id, name, role, tenants, key_hash, created, revoked FROM api_keys WHERE key_id = ?",
                    (match.group(1),),
                ).fetchone()
        ok = hmac.compare_digest(_digest(key or ""), row[4] if row else _DUMMY)
        if not (ok and row and row[6] is None):
            return None
        return ApiKey(row[0], row[1], row[2], tuple(json.loads(row[3])), row[5], row[6])

    def revoke(self, key_id: str) -> bool:
        """Revoke a key by id (it stops working at once, in every worker); False if no live key has that id."""
        with closing(self._connect()) as conn, conn:
            return bool(
                conn.execute(
                    "UPDATE api_keys SET revoked = ? WHERE key_id = ? AND revoked IS NULL", (time.time(), key_id)
                ).rowcount
            )

    def list(self) -> list[ApiKey]:
        """Every key, oldest first (revoked ones too, with their revocation time)."""
        with closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT key_id, name, role, tenants, created, revoked FROM api_keys ORDER BY created"
            ).fetchall()
        return [ApiKey(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], r[5]) for r in rows]

    def __len__(self) -> int:
        with closing(self._connect()) as conn:
            return conn.execute("SELECT COUNT(*) FROM api_keys WHERE revoked IS NULL").fetchone()[0]
