"""Serve the dashboard: Panel's server with ragbench's users file behind its login page.

:func:`serve` refuses a non-loopback address without a users file and a cookie
secret (:func:`ragbench.dashboard.auth.check_bind`), then starts Panel's Tornado
server with the app, the JSON API routes and, with a users file, a login page that
checks ragbench's password hashes.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from ragbench.dashboard.auth import UserDirectory, check_bind
from ragbench.dashboard.service import ENV_OVERRIDES, ENV_PRESETS, ENV_USERS

APP_FILE = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
LOGIN_TEMPLATE = Path(__file__).resolve().parent / "templates" / "login.html"


def auth_provider(users: UserDirectory):
    """A Panel basic-auth provider whose login page checks ``users`` (hashed passwords)."""
    from panel.auth import BasicAuthProvider, BasicLoginHandler

    class RagbenchLoginHandler(BasicLoginHandler):
        def _validate(self, username: str, password: str) -> bool:
            return users.authenticate(username, password) is not None

    class RagbenchAuthProvider(BasicAuthProvider):
        @property
        def login_handler(self):
            RagbenchLoginHandler._login_endpoint = self._login_endpoint
            RagbenchLoginHandler._login_template = self._login_template
            return RagbenchLoginHandler

    return RagbenchAuthProvider(login_template=str(LOGIN_TEMPLATE))


def configure_environment(
    overrides: Sequence[str], *, users_file: str | None, presets: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Put the service settings where :func:`ragbench.dashboard.service.get_service` reads them."""
    os.environ[ENV_OVERRIDES] = shlex.join(overrides)
    if users_file:
        os.environ[ENV_USERS] = str(Path(users_file).expanduser().resolve())
    else:
        os.environ.pop(ENV_USERS, None)
    if presets:
        os.environ[ENV_PRESETS] = ";".join(f"{k}={','.join(v)}" for k, v in presets.items())


def serve(
    *, address: str = "127.0.0.1", port: int = 5006, users_file: str | None = None, cookie_secret: str | None = None,
    overrides: Sequence[str] = (), presets: Mapping[str, Sequence[str]] | None = None, warm: bool = True,
    websocket_origins: Sequence[str] = (),
) -> None:
    """Run the dashboard until interrupted.

    ``websocket_origins`` are the ``host[:port]`` names browsers use to reach the server
    (default: the bind address and localhost); behind a proxy or on 0.0.0.0 give the public name.

    Example:
        >>> serve(port=5006, overrides=["home=/tmp/rb"])  # doctest: +SKIP
    """
    check_bind(address, users_file=users_file, cookie_secret=cookie_secret)
    users = UserDirectory.load(users_file) if users_file else None  # fail before starting on a bad file
    configure_environment(overrides, users_file=users_file, presets=presets)
    from panel.io.server import get_server

    from ragbench.dashboard.api import ROUTES
    from ragbench.dashboard.service import get_service

    if warm:
        get_service().warm()  # load models, indexes and the language detector before the first visitor
    kwargs = {"auth_provider": auth_provider(users), "cookie_secret": cookie_secret} if users else {}
    origins = list(websocket_origins) or [f"{address}:{port}", f"localhost:{port}"]
    server = get_server(
        {"/": str(APP_FILE)}, port=port, address=address, websocket_origin=origins, show=False, start=False,
        title="ragbench", extra_patterns=list(ROUTES), **kwargs,
    )
    print(f"ragbench dashboard on http://{address}:{port}/ ({'users file ' + str(users_file) if users else 'open, localhost only'})",
          flush=True)
    server.start()
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
