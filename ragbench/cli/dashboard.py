"""``ragbench dashboard``: serve the Panel app (registered through ``ragbench.cli.PLUGINS``)."""

from __future__ import annotations

import argparse
import os
import sys

COOKIE_ENV = "RAGBENCH_DASHBOARD_COOKIE_SECRET"


def _cmd_dashboard(args: argparse.Namespace) -> int:
    if args.hash_password:
        import getpass

        from ragbench.dashboard.auth import hash_password

        password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("Password: ")
        print(hash_password(password))
        return 0
    from ragbench.dashboard.relevance import ENV_MIN_RELEVANCE, check_min_relevance
    from ragbench.dashboard.server import serve
    from ragbench.dashboard.service import parse_presets

    if args.min_relevance is not None:  # read by the service (in this process) on first use
        os.environ[ENV_MIN_RELEVANCE] = str(check_min_relevance(args.min_relevance))

    serve(
        address=args.address,
        port=args.port,
        users_file=args.users,
        cookie_secret=args.cookie_secret or os.environ.get(COOKIE_ENV) or None,
        overrides=args.overrides,
        presets=parse_presets(";".join(args.preset)) or None,
        warm=not args.no_warm,
        websocket_origins=args.allow_websocket_origin,
        session_hours=args.session_hours,
        login_limits=(args.login_limit_user, args.login_limit_client),
    )
    return 0


def register(subparsers) -> None:
    """Add the ``dashboard`` subcommand."""
    p = subparsers.add_parser(
        "dashboard",
        help="Serve the Panel app (Ask, Documents, Experiments, Monitor).",
        description=(
            "Serve the dashboard. On 127.0.0.1 it may run open; on any other address it needs --users "
            "(a users file mapping users to tenants and a role) and a cookie secret. Requests naming another "
            "Host are refused; see docs/dashboard.md for the security model."
        ),
    )
    p.add_argument("--address", default="127.0.0.1", help="Address to bind (default 127.0.0.1).")
    p.add_argument("--port", type=int, default=5006, help="Port (default 5006).")
    p.add_argument("--users", default=None, help="Users file (YAML/JSON): user -> password_hash, role, tenants.")
    p.add_argument("--cookie-secret", default=None, help=f"Secret that signs login cookies (or set {COOKIE_ENV}).")
    p.add_argument(
        "--preset",
        action="append",
        default=[],
        metavar="NAME=OV[,OV...]",
        help="Pipeline preset, e.g. fast=retriever=bm25,k=3 (repeatable; default: one per retriever config).",
    )
    p.add_argument(
        "--allow-websocket-origin",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="Host name browsers use to reach the app (repeatable; default: the address and localhost).",
    )
    p.add_argument(
        "--session-hours",
        type=float,
        default=24.0,
        help="Sign-in session lifetime for the app and the API (default 24).",
    )
    p.add_argument(
        "--login-limit-user",
        default="5/15 minutes",
        metavar="COUNT/PERIOD",
        help="Failed sign-ins allowed per user name (default '5/15 minutes'); then HTTP 429.",
    )
    p.add_argument(
        "--login-limit-client",
        default="30/15 minutes",
        metavar="COUNT/PERIOD",
        help="Failed sign-ins allowed per client address (default '30/15 minutes'); then HTTP 429.",
    )
    p.add_argument(
        "--min-relevance",
        type=float,
        default=None,
        metavar="COSINE",
        help="Mark answers whose best source is less similar to the question than this (0-1; default 0.35).",
    )
    p.add_argument("--no-warm", action="store_true", help="Do not load models before the first visitor.")
    p.add_argument(
        "--hash-password", action="store_true", help="Read a password from stdin, print its users-file hash, exit."
    )
    p.add_argument("overrides", nargs="*", help="Hydra overrides of the base config, e.g. home=/srv/ragbench.")
    p.set_defaults(func=_cmd_dashboard)
