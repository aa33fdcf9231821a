"""What stands in front of the dashboard: the Host/Origin rules and the sign-in rate limits.

* :class:`RequestGuard` -- every request must name this server in its ``Host`` header (a
  DNS-rebinding page names its own domain), and every state-changing or state-reading request
  that is not a GET (``POST /api/ask``, ``POST /login``, ...) must carry an ``Origin`` header
  equal to ``<scheme>://<Host>``. Browsers set ``Origin`` themselves and page scripts cannot
  forge it, so a cross-site form or ``fetch`` is refused; scripts add the header.
* :class:`LoginLimiter` -- failed sign-ins are limited per user name and per client address
  (`limits <https://limits.readthedocs.io>`_, fixed windows); over a limit the answer is
  HTTP 429 with ``Retry-After`` and no password is checked.
* :class:`Gate` -- the users, sessions, limits, guard and the password-hashing threads of one server.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ragbench.dashboard.auth import User, UserDirectory, is_local_address
from ragbench.dashboard.sessions import COOKIE, SessionStore
from ragbench.errors import ConfigError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Defaults of ``ragbench dashboard --login-limit-user / --login-limit-client`` (limits' notation).
PER_USER_LIMIT = "5/15 minutes"
PER_CLIENT_LIMIT = "30/15 minutes"


def is_local_host_header(host: str) -> bool:
    """True if an HTTP ``Host`` header names this machine's loopback (``127.0.0.1:5006``, ``[::1]:80``).

    Example:
        >>> is_local_host_header("localhost:5006"), is_local_host_header("rag.example.org")
        (True, False)
    """
    host = host.strip()
    name = (
        host[1:].split("]", 1)[0] if host.startswith("[") else host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    )
    return is_local_address(name)


class RequestGuard:
    """Refuse requests for another host name, and non-GET requests without same-origin proof.

    Args:
        hosts: ``host[:port]`` names this server answers to (Bokeh's ``--allow-websocket-origin``
            patterns); ``None`` accepts loopback names only (an open dashboard under ``panel serve``).

    Example:
        >>> guard = RequestGuard(["127.0.0.1:5006"])
        >>> guard.host_allowed("127.0.0.1:5006"), guard.host_allowed("attacker.example:5006")
        (True, False)
    """

    def __init__(self, hosts: Sequence[str] | None = None) -> None:
        self.hosts = list(hosts) if hosts is not None else None

    def host_allowed(self, host: str) -> bool:
        if not host:
            return False
        if self.hosts is None:
            return is_local_host_header(host)
        from bokeh.server.util import check_allowlist

        return check_allowlist(host, self.hosts)

    def refusal(self, request: Any) -> str | None:
        """Why ``request`` (a Tornado request) is refused, or ``None`` if it may go on."""
        host = request.headers.get("Host", "")
        names = ", ".join(self.hosts) if self.hosts is not None else "loopback names"
        if not self.host_allowed(host):
            return (
                f"Host {host!r} is not an address of this dashboard (it answers to {names}). A page that "
                "reaches it under another name (DNS rebinding) is refused; behind a proxy or on a public "
                "name, start it with --allow-websocket-origin NAME[:PORT]."
            )
        if request.method in SAFE_METHODS:
            return None
        origin = request.headers.get("Origin")
        if not origin or origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
            return (
                f"{request.method} {request.path} needs same-origin proof: an Origin header equal to "
                f"http(s)://{host}, got {origin!r}. Browsers send it on their own for this site's pages; "
                "scripts must add it (cross-site requests are refused)."
            )
        return None


class LoginLimiter:
    """Limit failed sign-ins per user name and per client address.

    Every attempt is counted before its password is checked (so a burst of parallel guesses
    is counted too); a successful one is taken back from the client's count and clears the
    user's. ``limit`` strings use the `limits` notation, e.g. ``"5/15 minutes"``.

    Example:
        >>> lim = LoginLimiter(per_user="2/hour", per_client="10/hour")
        >>> [lim.start("bob", "10.0.0.1") for _ in range(3)][-1] > 0
        True
    """

    def __init__(self, *, per_user: str = PER_USER_LIMIT, per_client: str = PER_CLIENT_LIMIT) -> None:
        from limits import parse, storage, strategies

        try:
            self.per_user, self.per_client = parse(per_user), parse(per_client)
        except ValueError as exc:
            raise ConfigError(
                f"Bad login limit ({exc}): write it as COUNT/PERIOD, e.g. '5/15 minutes' or '30/hour'."
            ) from exc
        self._storage = storage.MemoryStorage()
        self._limiter = strategies.FixedWindowRateLimiter(self._storage)

    def start(self, user: str, client: str) -> int | None:
        """Count an attempt; returns ``None`` to go on, or the seconds to wait (HTTP 429)."""
        for item, key in ((self.per_user, user), (self.per_client, client)):
            if not self._limiter.test(item, key):
                reset = self._limiter.get_window_stats(item, key).reset_time
                return max(1, math.ceil(reset - time.time()))
        self._limiter.hit(self.per_user, user)
        self._limiter.hit(self.per_client, client)
        return None

    def succeeded(self, user: str, client: str) -> None:
        """A correct password: clear the user's count and take this attempt back from the client's."""
        self._limiter.clear(self.per_user, user)
        self._storage.decr(self.per_client.key_for(client))


@dataclass
class Gate:
    """The sign-in parts of one served dashboard (see :mod:`ragbench.dashboard.login`).

    Attributes:
        users: The users file.
        sessions: Server-side sessions.
        limiter: Failed sign-in limits.
        guard: Host and Origin rules.
        pool: Threads that verify passwords, off the server's event loop.
    """

    users: UserDirectory
    sessions: SessionStore
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    guard: RequestGuard = field(default_factory=RequestGuard)
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="rb-kdf"))

    def user(self, cookie: str | bytes | None) -> User | None:
        """The user of a live session cookie who is still in the users file, else ``None``."""
        name = self.sessions.user(cookie)
        return self.users.get(name) if name else None

    def user_from_cookies(self, cookies: Any) -> User | None:
        """The same from a cookie mapping (a Panel session's request cookies)."""
        value = cookies.get(COOKIE) if cookies else None
        return self.user(getattr(value, "value", value))
