"""Who may call the query API: API keys, the dashboard's tenant rules, and the Host/Origin guard.

* **Keys** (default): every request but ``/healthz``, ``/readyz`` and ``/openapi.json`` carries
  ``Authorization: Bearer rbk_...`` (or ``X-API-Key``). A missing, unknown, malformed or revoked
  key is a 401 with one message for all (:class:`~ragbench.service.keys.KeyStore`). A key acts as
  the dashboard :class:`~ragbench.dashboard.auth.User` with its role and tenants, and
  :func:`~ragbench.dashboard.auth.require_access` decides: another tenant is a 403, a job of
  another tenant a 404 -- the dashboard's rules, from the dashboard's code.
* **Open** (``ragbench serve --open``, loopback addresses only): no keys, every local client is the
  dashboard's local admin; like an open dashboard, only loopback clients are answered, the ``Host``
  header must be a loopback name (DNS rebinding), and a request that is not GET/HEAD/OPTIONS must
  not carry a foreign ``Origin`` (cross-site ``fetch`` from a page).
* ``--allowed-host NAME`` restricts ``Host`` in either mode (:class:`~ragbench.dashboard.gate.RequestGuard`).

JSON bodies must be sent as ``application/json`` (FastAPI refuses other types, so a cross-site
form cannot post one), with a ``Content-Length`` within the route's limit (411/413 otherwise).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import urlsplit

from ragbench.dashboard.auth import LOCAL_ADMIN, User, check_bind, is_local_address
from ragbench.errors import ConfigError
from ragbench.service.settings import MAX_BODY_BYTES, MAX_INGEST_BODY_BYTES

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
UNAUTHORIZED = (
    "Missing, invalid or revoked API key. Send 'Authorization: Bearer <key>' with a key from "
    "`ragbench keys create` (an admin creates it for your tenants)."
)


def check_serve_bind(host: str, *, open_mode: bool) -> None:
    """Refuse ``--open`` on anything but a loopback address (the dashboard's rule for its open mode)."""
    if not open_mode:
        return
    try:
        check_bind(host, users_file=None, cookie_secret=None)
    except ConfigError:
        raise ConfigError(
            f"Refusing to serve the query API on {host!r} without API keys (--open): anyone who can reach that "
            "address could read every tenant's documents. Bind to 127.0.0.1 for local use, or drop --open and "
            "give each client a key (`ragbench keys create --name NAME --tenant T`)."
        ) from None


def presented_key(headers) -> str | None:
    """The API key of a request: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""
    auth = headers.get("authorization") or ""
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return headers.get("x-api-key") or None


def authenticate(keys, headers) -> User | None:
    """The user a request acts as: the local admin when open (``keys is None``), else its key's user or ``None``."""
    if keys is None:
        return LOCAL_ADMIN
    record = keys.verify(presented_key(headers))
    return record.user if record is not None else None


class GuardMiddleware:
    """ASGI middleware: Host, client address, Origin and body-size rules, before any route runs.

    Args:
        app: The ASGI app.
        open_mode: Apply the open-mode rules (loopback clients and Host names, no foreign Origin).
        hosts: Allowed ``Host`` names (``host[:port]`` patterns); empty: loopback names when open, any when keyed.
    """

    def __init__(self, app, *, open_mode: bool, hosts: Sequence[str] = ()) -> None:
        from ragbench.dashboard.gate import RequestGuard

        self.app = app
        self.open_mode = open_mode
        self.guard = RequestGuard(list(hosts)) if hosts else (RequestGuard(None) if open_mode else None)
        self.hosts = list(hosts)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from starlette.datastructures import Headers

        headers = Headers(scope=scope)
        status, message = self.refusal(scope, headers)
        if status:
            body = json.dumps({"error": message}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

    def refusal(self, scope, headers) -> tuple[int, str]:
        """``(status, reason)`` for a refused request, ``(0, "")`` to go on."""
        host, method, path = headers.get("host", ""), scope["method"], scope["path"]
        client = (scope.get("client") or ("", 0))[0]
        if self.open_mode and not is_local_address(client):
            return 403, (
                f"This query API runs without keys (--open) and answers only this machine; {client!r} is not "
                "a loopback address. Start it with API keys to serve other machines."
            )
        if self.guard is not None and not self.guard.host_allowed(host):
            names = ", ".join(self.hosts) or "loopback names"
            return 403, (
                f"Host {host!r} is not a name of this API (it answers to {names}). A page that reaches it under "
                "another name (DNS rebinding) is refused; behind a proxy, start it with --allowed-host NAME."
            )
        origin = headers.get("origin")
        if (
            self.open_mode
            and method not in SAFE_METHODS
            and origin is not None
            and (origin == "null" or urlsplit(origin).netloc.lower() != host.lower())
        ):
            return 403, (
                f"{method} {path} from origin {origin!r} is refused: cross-site requests cannot use a keyless "
                "API. Scripts send no Origin header (or their own http://HOST:PORT)."
            )
        if method in ("POST", "PUT", "PATCH"):
            return self._size_refusal(path, headers.get("content-length"))
        return 0, ""

    @staticmethod
    def _size_refusal(path: str, length: str | None) -> tuple[int, str]:
        limit = MAX_INGEST_BODY_BYTES if path.endswith("/ingest") else MAX_BODY_BYTES
        if length is None or not length.isdigit():
            return 411, f"{path} needs a Content-Length header (bodies are at most {limit} bytes)."
        if int(length) > limit:
            return 413, (
                f"Body of {length} bytes is over the {limit}-byte limit of {path}. "
                + (
                    "Split the documents into several ingest requests."
                    if limit == MAX_INGEST_BODY_BYTES
                    else "Send a shorter question and history."
                )
            )
        return 0, ""
