"""Tenants: create, list, describe and delete, with per-tenant settings and languages.

A tenant is a directory ``<store uri>/tenants/<tenant>/`` holding its LanceDB tables
(chunks per embedding space, ``documents``, ``jobs``, ``job_items``) and ``tenant.json``
with its settings (e.g. ``default_pipeline``, ``languages``) and ``detected_languages``.
Ids are checked by :func:`ragbench.tenancy.validate_tenant_id`.

Languages: ``settings.languages`` (set by people: ``ragbench tenants create T --languages hr``)
wins; otherwise every ingestion job records ``detected_languages``: the languages of at least
:data:`LANGUAGE_SHARE` of the tenant's documents, most frequent first. The store reads the
tenant's full-text index by them (:mod:`ragbench.stores.text_analysis`); changing a tenant's
languages rebuilds its full-text index when that changes its analysis.

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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ragbench.errors import ConfigError, DatasetError, TenantError, TenantNotFoundError, suggest
from ragbench.ingestion import _tables
from ragbench.protocols import IngestStore
from ragbench.stores.text_analysis import check_languages
from ragbench.tenancy import TENANT_RECORD, validate_tenant_id

SETTINGS_FILE = TENANT_RECORD
LANGUAGE_SHARE = 0.1  # a language counts for the tenant from this share of its documents


def _dir(store: IngestStore, tenant: str) -> Path:
    return Path(store.uri) / "tenants" / validate_tenant_id(tenant)


def list_tenants(store: IngestStore) -> list[str]:
    """Every tenant with a directory in the store (created or ingested), sorted."""
    root = Path(store.uri) / "tenants"
    return sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


def _require(store: IngestStore, tenant: str) -> Path:
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


def create_tenant(
    store: IngestStore, tenant: str, *, settings: dict[str, Any] | None = None, exist_ok: bool = False
) -> dict:
    """Create ``tenant`` with ``settings``; returns its settings record.

    Raises:
        TenantError: the id is invalid, or the tenant exists and ``exist_ok`` is false.
    """
    path = _dir(store, tenant)
    if (path / SETTINGS_FILE).is_file():
        if not exist_ok:
            raise TenantError(
                f"Tenant {tenant!r} already exists. Pick another id, or delete it first "
                f"(`ragbench tenants delete {tenant}`)."
            )
        return update_settings(store, tenant, **(settings or {}))
    path.mkdir(parents=True, exist_ok=True)
    record = {"tenant": tenant, "created_at": time.time(), "settings": _checked(settings or {})}
    _write_settings(path, record)
    store.rebuild_text_index(tenant)  # ingested before it had a record: its analysis may change
    return record


def tenant_settings_record(store: IngestStore, tenant: str) -> dict:
    """``{"tenant", "created_at", "settings"}``; a tenant made by ingestion alone has empty settings."""
    path = _require(store, tenant) / SETTINGS_FILE
    if not path.is_file():
        return {"tenant": tenant, "created_at": None, "settings": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def _checked(settings: dict[str, Any]) -> dict[str, Any]:
    out = dict(settings)
    if out.get("languages") is not None:
        try:
            out["languages"] = check_languages(out["languages"], what="The tenant's languages")
        except ConfigError as exc:
            raise TenantError(f"{exc} Set them with `ragbench tenants create T --exist-ok --languages hr`.") from exc
    return out


def update_settings(store: IngestStore, tenant: str, **settings: Any) -> dict:
    """Merge ``settings`` into the tenant's settings (e.g. ``default_pipeline="retriever=bm25"``); a
    ``None`` value removes that setting.

    ``languages=["hr"]`` (or ``"en,hr"``) sets the tenant's languages and ``languages=None`` goes back
    to the detected ones; the full-text index is rebuilt when that changes its analysis.
    """
    record = tenant_settings_record(store, tenant)
    record["settings"] = {k: v for k, v in {**record["settings"], **_checked(settings)}.items() if v is not None}
    _write_settings(_dir(store, tenant), record)
    if "languages" in settings:
        store.rebuild_text_index(tenant)
    return record


def record_detected_languages(store: IngestStore, tenant: str) -> list[str]:
    """Write the languages of at least :data:`LANGUAGE_SHARE` of the tenant's documents (most frequent
    first) to its record as ``detected_languages``; returns them. Run after every ingestion job."""
    docs = _tables.select(store.tenant_db(tenant), "documents")
    counts = Counter(d["language"] for d in docs if d["status"] in ("completed", "skipped") and d["language"])
    total = sum(counts.values())
    found = [lang for lang, n in counts.most_common() if n >= LANGUAGE_SHARE * total]
    record = tenant_settings_record(store, tenant)
    if record.get("detected_languages") != found:
        record["detected_languages"] = found
        _write_settings(_dir(store, tenant), record)
    return found


def describe_tenant(store: IngestStore, tenant: str) -> dict[str, Any]:
    """Settings plus counts: chunks per embedding-space table, documents by status and language, jobs."""
    record = tenant_settings_record(store, tenant)
    db = store.tenant_db(tenant)
    docs = _tables.select(db, "documents")
    jobs = _tables.select(db, "jobs")
    return {
        **record,
        "text_analysis": {"languages": store.languages_of(tenant), **store.text_analysis_for(tenant).as_dict()},
        "chunks": {
            name: db.open_table(name).count_rows() for name in db.list_tables().tables if name.startswith("chunks__")
        },
        "documents": sum(1 for d in docs if d["status"] in ("completed", "skipped")),
        "documents_by_status": dict(Counter(d["status"] for d in docs)),
        "languages": dict(Counter(d["language"] or "unknown" for d in docs if d["status"] in ("completed", "skipped"))),
        "jobs": len(jobs),
        "last_job": max(jobs, key=lambda j: j["created_at"])["job_id"] if jobs else None,
    }


def list_documents(store: IngestStore, tenant: str) -> list[dict[str, Any]]:
    """The tenant's documents as ingestion recorded them (key, doc_id, title, status, chunks, ...), by key."""
    _require(store, tenant)
    return sorted(_tables.select(store.tenant_db(tenant), "documents"), key=lambda d: d["key"])


def delete_documents(store: IngestStore, tenant: str, keys: Sequence[str]) -> dict[str, int]:
    """Delete documents of ``tenant`` by their keys (as :func:`list_documents` shows them): their chunks in
    every embedding space (including ids left by an interrupted replacement), then their records.

    Chunks go first, so a crash in between leaves a record without chunks, which a second call removes.
    Only the tenant's own folder is opened.

    Returns:
        ``{"documents": records removed, "chunks": chunks removed}``.

    Raises:
        DatasetError: a key that the tenant does not hold (nothing is deleted then).

    Example:
        >>> delete_documents(store, "acme", ["upload:policy.md"])  # doctest: +SKIP
        {'documents': 1, 'chunks': 3}
    """
    _require(store, tenant)
    db = store.tenant_db(tenant)
    rows = _tables.select(db, "documents", "key", list(keys))
    missing = sorted(set(keys) - {r["key"] for r in rows})
    if missing:
        raise DatasetError(
            f"Tenant {tenant!r} has no document with key(s) {', '.join(map(repr, missing[:10]))}; nothing was "
            "deleted. Use the keys that `list_documents` (the dashboard's Documents tab) shows."
        )
    doc_ids = {r["doc_id"] for r in rows if r["doc_id"]}
    for r in rows:
        doc_ids |= set(json.loads(r.get("prev_doc_ids") or "[]"))
    chunks = store.delete_documents(tenant, sorted(doc_ids))
    _tables.delete(db, "documents", "key", [r["key"] for r in rows])
    return {"documents": len(rows), "chunks": chunks}


def delete_tenant(store: IngestStore, tenant: str) -> None:
    """Delete the tenant and all its tables and settings."""
    _require(store, tenant)
    store.delete_tenant(tenant)
