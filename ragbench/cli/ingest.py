"""``ragbench tenants {create,list,describe,delete}`` and ``ragbench ingest --tenant T --path P``.

Handlers import heavy libraries lazily so ``ragbench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json

OVERRIDES_HELP = "Hydra overrides, e.g. store.uri=/data/lancedb (see configs/)."


def _store(overrides):
    from ragbench.config import build, compose

    return build(compose(overrides)).store


def _create(args: argparse.Namespace) -> int:
    from ragbench.ingestion.tenants import create_tenant

    settings = dict(kv.split("=", 1) for kv in args.set or [])
    if args.default_pipeline:
        settings["default_pipeline"] = args.default_pipeline
    if args.languages:
        settings["languages"] = args.languages
    record = create_tenant(_store(args.overrides), args.tenant, settings=settings, exist_ok=args.exist_ok)
    print(json.dumps(record, indent=2, sort_keys=True))
    return 0


def _list(args: argparse.Namespace) -> int:
    from ragbench.ingestion.tenants import list_tenants

    for tenant in list_tenants(_store(args.overrides)):
        print(tenant)
    return 0


def _describe(args: argparse.Namespace) -> int:
    from ragbench.ingestion.jobs import list_jobs
    from ragbench.ingestion.tenants import describe_tenant

    store = _store(args.overrides)
    info = describe_tenant(store, args.tenant)
    info["recent_jobs"] = [
        j.model_dump(include={"job_id", "status", "done", "total", "failed", "chunks_created"})
        for j in list_jobs(store, args.tenant)[:5]
    ]
    print(json.dumps(info, indent=2, sort_keys=True, default=str))
    return 0


def _delete(args: argparse.Namespace) -> int:
    from ragbench.ingestion.tenants import delete_tenant

    if not args.yes:
        print(f"error: deleting tenant {args.tenant!r} removes all its documents; add --yes to confirm.")
        return 2
    delete_tenant(_store(args.overrides), args.tenant)
    print(f"deleted tenant {args.tenant}")
    return 0


def register(subparsers) -> None:
    """Add ``tenants`` to the ``ragbench`` command line."""
    parser = subparsers.add_parser("tenants", help="Create, list, describe or delete tenants.")
    sub = parser.add_subparsers(dest="tenants_command", required=True)
    p = sub.add_parser("create", help="Create a tenant with settings.")
    p.add_argument("tenant")
    p.add_argument("--default-pipeline", default=None, help="Overrides of the tenant's default pipeline.")
    p.add_argument(
        "--languages",
        default=None,
        metavar="CODES",
        help="The tenant's languages, ISO 639-1, e.g. hr or en,hr (default: detected from its documents); "
        "they choose its full-text analysis. With --exist-ok, changing them rebuilds the index.",
    )
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="Another setting (repeatable).")
    p.add_argument("--exist-ok", action="store_true", help="Merge settings into an existing tenant.")
    p.set_defaults(func=_create)
    p = sub.add_parser("list", help="List tenants.")
    p.set_defaults(func=_list)
    p = sub.add_parser("describe", help="Settings, documents, languages, chunks and recent jobs.")
    p.add_argument("tenant")
    p.set_defaults(func=_describe)
    p = sub.add_parser("delete", help="Delete a tenant and all its data.")
    p.add_argument("tenant")
    p.add_argument("--yes", action="store_true", help="Confirm the deletion.")
    p.set_defaults(func=_delete)
    for p in sub.choices.values():
        p.add_argument("overrides", nargs="*", help=OVERRIDES_HELP)
        _allow_intermixed(p)


def _allow_intermixed(parser: argparse.ArgumentParser) -> None:
    """Let Hydra overrides come anywhere, e.g. ``tenants create acme home=/x --default-pipeline y``."""
    original, busy = parser.parse_known_args, []

    def parse_known_args(args=None, namespace=None):
        if busy:  # parse_known_intermixed_args calls back into parse_known_args
            return original(args, namespace)
        busy.append(True)
        try:
            return parser.parse_known_intermixed_args(args, namespace)
        finally:
            busy.pop()

    parser.parse_known_args = parse_known_args


def ingest_path_command(args: argparse.Namespace) -> int:
    """``ragbench ingest --tenant T --path P``: one durable job; prints its summary and failures."""
    from ragbench.config import build, compose
    from ragbench.executor import ExecutorSettings
    from ragbench.ingestion.ingest import ingest_path
    from ragbench.ingestion.jobs import get_job
    from ragbench.tenancy import validate_tenant_id

    tenant = validate_tenant_id(args.tenant)
    parts = build(compose(args.overrides))
    job = ingest_path(
        args.path,
        tenant=tenant,
        store=parts.store,
        embedder=parts.embedder,
        chunker=parts.chunker,
        batch_size=int(parts.cfg.index_batch_size),
        commit_seconds=float(parts.cfg.index_commit_seconds),
        progress=bool(parts.cfg.progress),
        executor=ExecutorSettings.from_config(parts.cfg.get("executor")),
    )
    print(
        f"job {job.job_id} {job.status}: {job.done}/{job.total} documents, {job.completed} ingested, "
        f"{job.skipped} unchanged, {job.failed} failed, {job.chunks_created} chunks, {job.seconds:.1f}s"
    )
    for doc in get_job(parts.store, tenant, job.job_id).documents:
        if doc.status == "failed":
            print(f"  failed {doc.key}: {doc.error}")
    return 0 if job.status == "completed" else 1
