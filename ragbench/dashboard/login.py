"""Sign-in for the served dashboard: Tornado handlers, the Bokeh auth provider, the request guard.

* ``POST /login`` counts the attempt (:class:`~ragbench.dashboard.gate.LoginLimiter`; 429 with
  ``Retry-After`` over a limit), verifies the password on the gate's threads (never on the
  event loop), and on success starts a server-side session (:mod:`ragbench.dashboard.sessions`).
* ``GET|POST /logout`` revokes the session and clears the cookie.
* :class:`SessionAuthProvider` resolves the user of every page, websocket and static request
  from the session cookie only; Panel's ``user``/``is_guest`` cookies play no part.
* :func:`install_guard` puts :class:`~ragbench.dashboard.gate.RequestGuard` in front of every
  route of the server (pages, websocket, static files, login, ``/api/*``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bokeh.server.auth_provider import AuthProvider
from tornado.routing import Matcher, Rule
from tornado.web import RequestHandler

from ragbench.dashboard.gate import Gate, RequestGuard
from ragbench.dashboard.sessions import COOKIE

LOGIN_TEMPLATE = Path(__file__).resolve().parent / "templates" / "login.html"
LOGIN_URL, LOGOUT_URL = "/login", "/logout"


def _render_login(handler: RequestHandler, message: str, *, notice: str = "") -> None:
    from jinja2 import Template

    template = Template(LOGIN_TEMPLATE.read_text(encoding="utf-8"), autoescape=True)
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.finish(template.render(login_endpoint=LOGIN_URL, errormessage=message, notice=notice))


def _next_url(handler: RequestHandler) -> str:
    target = handler.get_argument("next", "/")
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


class LoginHandler(RequestHandler):
    """The login page and form: rate-limited, hashed off the event loop, session on success."""

    def initialize(self, gate: Gate) -> None:
        self.gate = gate

    def check_xsrf_cookie(self) -> None:  # same-origin proof is the guard's Origin rule
        return None

    def get(self) -> None:
        _render_login(self, self.get_argument("error", ""))

    async def post(self) -> None:
        name = self.get_argument("username", "")
        password = self.get_argument("password", "")
        client = self.request.remote_ip or "unknown"
        wait = self.gate.limiter.start(name, client)
        if wait is not None:
            self.set_status(429)
            self.set_header("Retry-After", str(wait))
            return _render_login(
                self,
                f"Too many failed sign-ins for this user or from this address: try again in "
                f"{wait} s. (Limits: {self.gate.limiter.per_user} per user, "
                f"{self.gate.limiter.per_client} per address.)",
            )
        loop = asyncio.get_running_loop()
        user = await loop.run_in_executor(self.gate.pool, self.gate.users.authenticate, name, password)
        if user is None:
            self.set_status(401)
            return _render_login(self, "Invalid username or password!")
        self.gate.limiter.succeeded(name, client)
        self.set_cookie(
            COOKIE,
            self.gate.sessions.create(user.name),
            expires_days=self.gate.sessions.lifetime_s / 86400,
            httponly=True,
            samesite="Lax",
            secure=self.request.protocol == "https",
            path="/",
        )
        self.redirect(_next_url(self))


class LogoutHandler(RequestHandler):
    """Revoke the session (the cookie stops working on every route) and clear the cookie."""

    def initialize(self, gate: Gate) -> None:
        self.gate = gate

    def check_xsrf_cookie(self) -> None:  # the guard's Origin rule covers POST
        return None

    def _logout(self) -> None:
        self.gate.sessions.revoke(self.get_cookie(COOKIE))
        self.clear_cookie(COOKIE, path="/")
        _render_login(self, "", notice="You are signed out.")

    def get(self) -> None:
        self._logout()

    def post(self) -> None:
        self._logout()


class SessionAuthProvider(AuthProvider):
    """Bokeh auth provider: the user comes from the ``rb_session`` cookie only, on every page,
    websocket and static-file request (Panel's ``user``/``is_guest`` cookies are never read)."""

    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        super().__init__()

    def _current_user(self, handler: RequestHandler) -> str | None:
        user = self.gate.user(handler.get_cookie(COOKIE))
        return user.name if user is not None else None

    @property
    def get_user(self):
        return self._current_user

    @property
    def login_url(self) -> str:
        return LOGIN_URL

    @property
    def login_handler(self):
        return LoginHandler

    @property
    def logout_url(self) -> str:
        return LOGOUT_URL

    @property
    def logout_handler(self):
        return LogoutHandler

    @property
    def endpoints(self):
        return [(LOGIN_URL, LoginHandler, {"gate": self.gate}), (LOGOUT_URL, LogoutHandler, {"gate": self.gate})]


class _Refused(Matcher):
    def __init__(self, guard: RequestGuard) -> None:
        self.guard = guard

    def match(self, request: Any) -> dict | None:
        return {"path_args": [], "path_kwargs": {}} if self.guard.refusal(request) else None


class RefusedHandler(RequestHandler):
    """Answers 403 with the guard's reason, whatever the method or route."""

    def initialize(self, guard: RequestGuard) -> None:
        self.guard = guard

    def check_xsrf_cookie(self) -> None:
        return None

    def prepare(self) -> None:
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish((self.guard.refusal(self.request) or "Refused.") + "\n")


def install_guard(app: Any, guard: RequestGuard) -> None:
    """Put ``guard`` before every route of the Tornado application ``app`` (first routing rule)."""
    app.default_router.rules.insert(0, Rule(_Refused(guard), RefusedHandler, {"guard": guard}))
