"""Tenants: create, list, describe and delete, with per-tenant settings.

A tenant is a directory ``<store uri>/tenants/<tenant>/`` holding its LanceDB tables
(chunks per embedding space, ``documents``, ``jobs``, ``job_items``) and ``tenant.json``
with its settings (e.g. ``default_pipeline``). Ids are checked by
:func:`ragbench.tenancy.validate_tenant_id`.

Example:
    >>> create_tenant(store, "acme", settings={"default_pipeline": "retriever=hybrid"})  # doctest: +SKIP
    >>> describe_tenant(store, "acme")["documents"]  # doctest: +SKIP
    0
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ragbench.errors import TenantError, TenantNotFoundError, suggest
from ragbench.ingestion import _tables
from ragbench.tenancy import validate_tenant_id

SETTINGS_FILE = "tenant.json"


def _dir(store, tenant: str) -> Path:
    return Path(store.uri) / "tenants" / validate_tenant_id(tenant)


def list_tenants(store) -> list[str]:
    """Every tenant with a directory in the store (created or ingested), sorted."""
    root = Path(store.uri) / "tenants"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _require(store, tenant: str) -> Path:
    path = _dir(store, tenant)
    if not path.is_dir():
        known = list_tenants(store)
        raise TenantNotFoundError(
            f"Tenant {tenant!r} does not exist in {store.uri}.{suggest(tenant, known)} "
            f"Known tenants: {', '.join(known) or 'none'}. Create it with `ragbench tenants create {tenant}`."
        )
    return path


def _write_settings(path: Path, data: dict[str, Any]) -> None:
    tmp = path / f".{SETTINGS_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path / SETTINGS_FILE)  # atomic: readers never see half a file


def create_tenant(store, tenant: str, *, settings: dict[str, Any] | None = None, exist_ok: bool = False) -> dict:
    """Create ``tenant`` with ``settings``; returns its settings record.

    Raises:
        TenantError: the id is invalid, or the tenant exists and ``exist_ok`` is false.
    """
    path = _dir(store, tenant)
    if (path / SETTINGS_FILE).is_file():
        if not exist_ok:
            raise TenantError(f"Tenant {tenant!r} already exists. Pick another id, or delete it first "
                              f"(`ragbench tenants delete {tenant}`).")
        return update_settings(store, tenant, **(settings or {}))
    path.mkdir(parents=True, exist_ok=True)
    record = {"tenant": tenant, "created_at": time.time(), "settings": dict(settings or {})}
    _write_settings(path, record)
    return record


def tenant_settings_record(store, tenant: str) -> dict:
    """``{"tenant", "created_at", "settings"}``; a tenant made by ingestion alone has empty settings."""
    path = _require(store, tenant) / SETTINGS_FILE
    if not path.is_file():
        return {"tenant": tenant, "created_at": None, "settings": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def update_settings(store, tenant: str, **settings: Any) -> dict:
    """Merge ``settings`` into the tenant's settings (e.g. ``default_pipeline="retriever=bm25"``)."""
    record = tenant_settings_record(store, tenant)
    record["settings"] = {**record["settings"], **settings}
    _write_settings(_dir(store, tenant), record)
    return record


def describe_tenant(store, tenant: str) -> dict[str, Any]:
    """Settings plus counts: chunks per embedding-space table, documents by status and language, jobs."""
    record = tenant_settings_record(store, tenant)
    db = store.tenant_db(tenant)
    docs = _tables.select(db, "documents")
    jobs = _tables.select(db, "jobs")
    return {
        **record,
        "chunks": {name: db.open_table(name).count_rows() for name in db.list_tables().tables
                   if name.startswith("chunks__")},
        "documents": sum(1 for d in docs if d["status"] in ("completed", "skipped")),
        "documents_by_status": dict(Counter(d["status"] for d in docs)),
        "languages": dict(Counter(d["language"] or "unknown" for d in docs if d["status"] in ("completed", "skipped"))),
        "jobs": len(jobs),
        "last_job": max(jobs, key=lambda j: j["created_at"])["job_id"] if jobs else None,
    }


def delete_tenant(store, tenant: str) -> None:
    """Delete the tenant and all its tables and settings."""
    _require(store, tenant)
    store.delete_tenant(tenant)
