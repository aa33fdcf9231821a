"""Serve the dashboard: Panel's server with ragbench's sign-in, sessions and request guard.

:func:`serve` refuses a non-loopback address without a users file and a strong cookie
secret (:func:`ragbench.dashboard.auth.check_bind`), then starts Panel's Tornado server with
the app and the JSON API routes; every route sits behind the Host/Origin guard
(:mod:`ragbench.dashboard.gate`), and with a users file behind a login page with rate limits
and server-side sessions (:mod:`ragbench.dashboard.login`, :mod:`ragbench.dashboard.sessions`).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from ragbench.dashboard.auth import UserDirectory, check_bind
from ragbench.dashboard.gate import PER_CLIENT_LIMIT, PER_USER_LIMIT
from ragbench.dashboard.service import ENV_OVERRIDES, ENV_PRESETS, ENV_USERS
from ragbench.dashboard.sessions import SESSION_HOURS

APP_FILE = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
#: Largest websocket message: holds an upload at the stated limit (base64) with room to refuse
#: a larger one with a message; beyond it the browser is disconnected (and told so).
WEBSOCKET_MAX_BYTES = 64 * 2**20


def configure_environment(
    overrides: Sequence[str],
    *,
    users_file: str | None,
    presets: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Put the service settings where :func:`ragbench.dashboard.service.get_service` reads them."""
    os.environ[ENV_OVERRIDES] = shlex.join(overrides)
    if users_file:
        os.environ[ENV_USERS] = str(Path(users_file).expanduser().resolve())
    else:
        os.environ.pop(ENV_USERS, None)
    if presets:
        os.environ[ENV_PRESETS] = ";".join(f"{k}={','.join(v)}" for k, v in presets.items())


def dump_stacks_on_sigusr1() -> None:
    """``kill -USR1 <pid>`` writes every thread's stack to stderr (the server's log) and the server goes
    on: how to see where a job or a request hangs in a running server without stopping it."""
    import faulthandler
    import signal

    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)


def serve(
    *,
    address: str = "127.0.0.1",
    port: int = 5006,
    users_file: str | None = None,
    cookie_secret: str | None = None,
    overrides: Sequence[str] = (),
    presets: Mapping[str, Sequence[str]] | None = None,
    warm: bool = True,
    websocket_origins: Sequence[str] = (),
    session_hours: float = SESSION_HOURS,
    login_limits: tuple[str, str] = (PER_USER_LIMIT, PER_CLIENT_LIMIT),
) -> None:
    """Run the dashboard until interrupted.

    ``websocket_origins`` are the ``host[:port]`` names browsers use to reach the server
    (default: the bind address and localhost); requests naming any other host are refused.
    Behind a proxy or on 0.0.0.0 give the public name. ``session_hours`` is the session
    lifetime for the app and the API; ``login_limits`` the failed sign-ins allowed per user
    and per client address (e.g. ``("5/15 minutes", "30/15 minutes")``).

    Example:
        >>> serve(port=5006, overrides=["home=/tmp/rb"])  # doctest: +SKIP
    """
    check_bind(address, users_file=users_file, cookie_secret=cookie_secret)
    if users_file:
        UserDirectory.load(users_file)  # fail before building anything on a bad file
    configure_environment(overrides, users_file=users_file, presets=presets)
    from panel.io.server import get_server

    from ragbench.dashboard.api import ROUTES
    from ragbench.dashboard.gate import Gate, LoginLimiter, RequestGuard
    from ragbench.dashboard.login import SessionAuthProvider, install_guard
    from ragbench.dashboard.service import get_service
    from ragbench.dashboard.sessions import SessionStore

    svc = get_service()
    origins = list(websocket_origins) or [f"{address}:{port}", f"localhost:{port}"]
    svc.guard = RequestGuard(origins)
    kwargs: dict = {}
    if svc.users is not None:
        home = Path(str(svc.parts.cfg.home)).expanduser().resolve()
        svc.gate = Gate(
            users=svc.users,
            guard=svc.guard,
            sessions=SessionStore(
                home / "dashboard" / "sessions.db", secret=cookie_secret or "", lifetime_hours=session_hours
            ),
            limiter=LoginLimiter(per_user=login_limits[0], per_client=login_limits[1]),
        )
        kwargs = {"auth_provider": SessionAuthProvider(svc.gate), "cookie_secret": cookie_secret}
    if warm:
        svc.warm()  # load models, indexes and the language detector before the first visitor
    server = get_server(
        {"/": str(APP_FILE)},
        port=port,
        address=address,
        websocket_origin=origins,
        show=False,
        start=False,
        title="ragbench",
        extra_patterns=list(ROUTES),
        websocket_max_message_size=WEBSOCKET_MAX_BYTES,
        **kwargs,
    )
    install_guard(server._tornado, svc.guard)  # Bokeh keeps its Tornado application there; no public accessor
    print(
        f"ragbench dashboard on http://{address}:{port}/ ({'users file ' + str(users_file) if users_file else 'open, localhost only'})",
        flush=True,
    )
    dump_stacks_on_sigusr1()
    server.start()
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
