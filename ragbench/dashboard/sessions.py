"""Sign-in sessions kept on the server, so that logout and expiry are real.

A successful sign-in creates a session: a random token goes to the browser in the signed
``rb_session`` cookie (HttpOnly, SameSite=Lax) and its SHA-256 (never the token itself) is
stored in sqlite under the dashboard's home with the user, an expiry and a revocation time.
Every route -- the app page, its websocket, static files and ``/api/*`` -- resolves the user
through :meth:`SessionStore.user`, which accepts a cookie only if its signature is valid and
younger than the session lifetime **and** its session is neither expired nor revoked. Logout
revokes the session: a copied cookie stops working everywhere, and pages still open with it
are told through the callbacks registered with :meth:`SessionStore.on_revoke`.

Example:
    >>> import tempfile, os
    >>> store = SessionStore(os.path.join(tempfile.mkdtemp(), "s.db"), secret=secrets.token_hex(32))
    >>> cookie = store.create("alice")
    >>> store.user(cookie), store.revoke(cookie), store.user(cookie)
    ('alice', True, None)
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from ragbench.dashboard.auth import check_cookie_secret
from ragbench.errors import ConfigError

#: The session cookie's name (Panel's own ``user`` and ``is_guest`` cookies are never read).
COOKIE = "rb_session"
#: Default session lifetime: the same for the app and the JSON API.
SESSION_HOURS = 24.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    created REAL NOT NULL,
    expires REAL NOT NULL,
    revoked REAL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user);
"""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    """Create, resolve and revoke sign-in sessions (sqlite; a new connection per call, thread-safe).

    Args:
        path: The sqlite file (``<home>/dashboard/sessions.db``).
        secret: Signs the cookies; refused if weak (:func:`~ragbench.dashboard.auth.check_cookie_secret`).
        lifetime_hours: How long a session lasts after sign-in, on every route.
        clock: Seconds since the epoch (tests pass a fake clock).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        secret: str,
        lifetime_hours: float = SESSION_HOURS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        check_cookie_secret(secret)
        if not lifetime_hours > 0:
            raise ConfigError(f"The session lifetime must be positive, got {lifetime_hours!r} hours (e.g. 24).")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.secret = secret
        self.lifetime_s = lifetime_hours * 3600
        self.clock = clock
        self._live: dict[str, list[Callable[[], None]]] = {}
        self._lock = threading.Lock()
        with closing(self._connect()) as conn, conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def create(self, user: str) -> str:
        """Start a session for ``user``; returns the signed cookie value to send."""
        from tornado.web import create_signed_value

        token, now = secrets.token_urlsafe(32), self.clock()
        with closing(self._connect()) as conn, conn:
            conn.execute("DELETE FROM sessions WHERE expires < ?", (now - 86400,))  # keep the file small
            conn.execute(
                "INSERT INTO sessions (token_hash, user, created, expires) VALUES (?, ?, ?, ?)",
                (_hash(token), user, now, now + self.lifetime_s),
            )
        return create_signed_value(self.secret, COOKIE, token, clock=self.clock).decode()

    def _token(self, cookie: str | bytes | None) -> str | None:
        from tornado.web import decode_signed_value

        if not cookie:
            return None
        token = decode_signed_value(self.secret, COOKIE, cookie, max_age_days=self.lifetime_s / 86400, clock=self.clock)
        return token.decode() if token else None

    def user(self, cookie: str | bytes | None) -> str | None:
        """The user of a live session cookie; ``None`` if unsigned, too old, expired, revoked or unknown."""
        token = self._token(cookie)
        if token is None:
            return None
        with closing(self._connect()) as conn:
            row = conn.execute(
                "SELECT user FROM sessions WHERE token_hash = ? AND revoked IS NULL AND expires > ?",
                (_hash(token), self.clock()),
            ).fetchone()
        return row[0] if row else None

    def revoke(self, cookie: str | bytes | None) -> bool:
        """End the session of ``cookie`` (logout); True if a live session was ended."""
        token = self._token(cookie)
        if token is None:
            return False
        key = _hash(token)
        with closing(self._connect()) as conn, conn:
            ended = conn.execute(
                "UPDATE sessions SET revoked = ? WHERE token_hash = ? AND revoked IS NULL", (self.clock(), key)
            ).rowcount
        with self._lock:
            callbacks = self._live.pop(key, [])
        for callback in callbacks:
            callback()
        return bool(ended)

    def revoke_user(self, user: str) -> int:
        """End every session of ``user`` (e.g. after a password change); returns how many."""
        with closing(self._connect()) as conn, conn:
            return conn.execute(
                "UPDATE sessions SET revoked = ? WHERE user = ? AND revoked IS NULL", (self.clock(), user)
            ).rowcount

    def on_revoke(self, cookie: str | bytes | None, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when the session of ``cookie`` is revoked (an open page signs itself out).

        Returns a function that unregisters it (call it when the page's session ends).
        """
        token = self._token(cookie)
        if token is None:
            return lambda: None
        key = _hash(token)
        with self._lock:
            self._live.setdefault(key, []).append(callback)

        def forget() -> None:
            with self._lock:
                callbacks = self._live.get(key, [])
                if callback in callbacks:
                    callbacks.remove(callback)
                if not callbacks:
                    self._live.pop(key, None)

        return forget
