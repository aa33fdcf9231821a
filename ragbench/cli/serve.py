"""``ragbench serve`` (the query API) and ``ragbench keys`` (its API keys), registered through ``ragbench.cli.PLUGINS``."""

from __future__ import annotations

import argparse
import json

OVERRIDES_HELP = "Hydra overrides of the served pipeline, e.g. home=/srv/rb generator=openai (see configs/)."


def _key_store(overrides):
    from ragbench.config import compose
    from ragbench.service.keys import KeyStore
    from ragbench.service.settings import service_dir

    return KeyStore(service_dir(compose(list(overrides)).home) / "keys.db")


def _cmd_serve(args: argparse.Namespace) -> int:
    import sys

    from ragbench.service.access import check_serve_bind
    from ragbench.service.settings import ServiceSettings

    check_serve_bind(args.host, open_mode=args.open)
    settings = ServiceSettings(
        overrides=args.overrides,
        open=args.open,
        host=args.host,
        port=args.port,
        allowed_hosts=args.allowed_host,
        requests_limit=args.requests_limit,
        tokens_limit=args.tokens_limit,
        rate_limit_storage=args.rate_limit_storage,
        trace_sample=args.trace_sample,
        max_batch=args.max_batch,
        warm=not args.no_warm,
    )
    if args.open:
        mode = "open (no keys), this machine only"
    else:
        live = len(_key_store(args.overrides))
        mode = f"API keys ({live} live)"
        if not live:
            print(
                "warning: no API keys yet, so every request gets 401: create one with "
                "`ragbench keys create --name NAME --tenant T` (same home=...).",
                file=sys.stderr,
            )
    settings.to_env()
    import uvicorn

    print(
        f"ragbench query API on http://{args.host}:{args.port}/ ({mode}; {args.workers} worker(s)); "
        f"OpenAPI at /openapi.json",
        flush=True,
    )
    uvicorn.run(
        "ragbench.service.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        log_level="info",
        timeout_graceful_shutdown=10,
        # uvicorn's default of 5 s kills a worker whose ping thread waits behind torch's import on a busy machine
        timeout_worker_healthcheck=120,
    )
    return 0


def _cmd_keys_create(args: argparse.Namespace) -> int:
    key, record = _key_store(args.overrides).create(args.name, tenants=args.tenant, role=args.role)
    if args.json:
        print(json.dumps({"key": key, **record.to_dict()}))
    else:
        scope = "every tenant" if record.role == "admin" else ", ".join(record.tenants)
        print(
            f"{key}\n\nkey id {record.key_id} ({record.name}, {record.role}: {scope}). This is the only time the key "
            "is shown: store it now. Clients send it as 'Authorization: Bearer <key>'."
        )
    return 0


def _cmd_keys_list(args: argparse.Namespace) -> int:
    keys = _key_store(args.overrides).list()
    if args.json:
        print(json.dumps([k.to_dict() for k in keys], indent=2))
        return 0
    for k in keys:
        state = "revoked" if k.revoked else "live"
        print(f"{k.key_id}  {state:7}  {k.role:5}  {k.name}  {', '.join(k.tenants) or '(all tenants)'}")
    if not keys:
        print("no keys: create one with `ragbench keys create --name NAME --tenant T`")
    return 0


def _cmd_keys_revoke(args: argparse.Namespace) -> int:
    if _key_store(args.overrides).revoke(args.key_id):
        print(f"revoked {args.key_id}: it is refused (401) from now on, by every worker")
        return 0
    print(f"error: no live key with id {args.key_id!r} (see `ragbench keys list`)")
    return 2


def _add_serve(subparsers) -> None:
    p = subparsers.add_parser(
        "serve",
        help="Serve the query API over HTTP (FastAPI + uvicorn): query, stream, ingest, health, OpenAPI.",
        description="Serve the configured pipeline as an HTTP API. Every request needs an API key "
        "(`ragbench keys create`) unless --open, which is allowed on a loopback address only. "
        "See docs/deploy.md.",
    )
    p.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1).")
    p.add_argument("--port", type=int, default=8080, help="Port (default 8080).")
    p.add_argument("--workers", type=int, default=1, help="Worker processes (each builds the pipeline; default 1).")
    p.add_argument("--open", action="store_true", help="No API keys: answer local clients as an admin (loopback only).")
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST[:PORT]",
        help="Host header names to answer (repeatable; default: loopback names when --open, any with keys).",
    )
    p.add_argument(
        "--requests-limit",
        default="600/minute",
        metavar="COUNT/PERIOD",
        help="Requests per tenant (default 600/minute; tenant setting api_requests_limit wins; 'none': off).",
    )
    p.add_argument(
        "--tokens-limit",
        default="200000/minute",
        metavar="COUNT/PERIOD",
        help="Generated tokens per tenant (default 200000/minute; tenant setting api_tokens_limit wins).",
    )
    p.add_argument(
        "--rate-limit-storage",
        default=None,
        metavar="URI",
        help="limits storage shared by the workers (default: sqlite under <home>/service; e.g. redis://...).",
    )
    p.add_argument(
        "--trace-sample",
        type=float,
        default=0.1,
        help="Share of queries recorded as MLflow traces, chosen by request id (default 0.1; 1 traces every query, "
        "at about 45 ms of export CPU each: docs/deploy.md).",
    )
    p.add_argument("--max-batch", type=int, default=32, help="Most questions an in-process model answers at once.")
    p.add_argument("--no-warm", action="store_true", help="Do not load models before the first request.")
    p.add_argument("--access-log", action="store_true", help="Log every request (uvicorn's access log).")
    p.add_argument("overrides", nargs="*", help=OVERRIDES_HELP)
    p.set_defaults(func=_cmd_serve)


def _add_keys(subparsers) -> None:
    parser = subparsers.add_parser("keys", help="Create, list or revoke the query API's keys (stored hashed).")
    sub = parser.add_subparsers(dest="keys_command", required=True)
    p = sub.add_parser("create", help="Create a key for some tenants (printed once).")
    p.add_argument("--name", required=True, help="Who or what uses the key, e.g. ci-bot.")
    p.add_argument("--tenant", action="append", default=[], help="A tenant the key may query (repeatable).")
    p.add_argument("--role", default="user", choices=("user", "admin"), help="admin: every tenant (default user).")
    p.add_argument("--json", action="store_true", help="Print the key and its record as JSON.")
    p.set_defaults(func=_cmd_keys_create)
    p = sub.add_parser("list", help="List keys (ids, names, roles, tenants; never the keys).")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_keys_list)
    p = sub.add_parser("revoke", help="Revoke a key by id: refused (401) at once.")
    p.add_argument("key_id")
    p.set_defaults(func=_cmd_keys_revoke)
    for p in sub.choices.values():
        p.add_argument("overrides", nargs="*", help="Hydra overrides choosing the home, e.g. home=/srv/rb.")


def register(subparsers) -> None:
    """Add the ``serve`` and ``keys`` subcommands."""
    _add_serve(subparsers)
    _add_keys(subparsers)
