"""Ingestion jobs: create, run and poll them.

A job ingests a stream of :class:`~ragbench.ingestion.loaders.Item` into one tenant and
records, in the tenant's own LanceDB directory, its status, progress (documents done /
total), chunks created, processing time and one status per document (``pending``,
``processing``, ``completed``, ``skipped`` -- unchanged since the last ingest -- or
``failed`` with the reason). The dashboard polls :func:`get_job` / :func:`list_jobs`.

Example:
    >>> job = ingest_path("docs/", tenant="acme", store=store, embedder=emb, chunker=chunker)  # doctest: +SKIP
    >>> get_job(store, "acme", job.job_id).progress  # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from ragbench._process import pid_alive
from ragbench.errors import RagbenchError
from ragbench.ingestion import _tables
from ragbench.protocols import IngestStore
from ragbench.tenancy import validate_tenant_id

JobState = Literal["pending", "running", "completed", "failed", "interrupted"]
DocState = Literal["pending", "processing", "completed", "skipped", "failed"]


class JobNotFoundError(RagbenchError, LookupError):
    """No job with that id in the tenant."""


class DocumentStatus(BaseModel):
    """One document of a job."""

    key: str = Field(description="Source identity: a path, or path#record-id.")
    doc_id: str = ""
    title: str = ""
    source: str = ""
    content_type: str = ""
    size: int = 0
    language: str = ""
    status: DocState = "pending"
    attempts: int = 0
    error: str = ""
    chunks: int = 0
    seconds: float = 0.0


class JobStatus(BaseModel):
    """A job's state; ``documents`` is filled by :func:`get_job` (empty in :func:`list_jobs`)."""

    job_id: str
    tenant: str
    status: JobState
    total: int = 0
    done: int = 0
    completed: int = 0
    skipped: int = 0
    failed: int = 0
    chunks_created: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float = 0.0
    seconds: float = 0.0
    pid: int = 0
    host: str = ""
    error: str = ""
    settings: dict[str, Any] = Field(default_factory=dict)
    documents: list[DocumentStatus] = Field(default_factory=list)

    @property
    def progress(self) -> float:
        """Fraction of documents done (0..1); 1.0 for a finished job."""
        if self.status in ("completed", "failed"):
            return 1.0
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def finished(self) -> bool:
        return self.status in ("completed", "failed", "interrupted")


def _status(row: dict) -> JobStatus:
    row = dict(row)
    row["settings"] = json.loads(row.get("settings") or "{}")
    job = JobStatus(**row)
    if job.status == "running" and job.host == socket.gethostname() and not pid_alive(job.pid):
        job.status = "interrupted"  # its process died (e.g. kill -9); re-run the ingest to finish
    return job


def create_job(store: IngestStore, tenant: str, *, total: int = 0, settings: dict | None = None) -> JobStatus:
    """Record a new ``running`` job for ``tenant`` and return it."""
    now = time.time()
    job = JobStatus(
        job_id=f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now))}-{uuid.uuid4().hex[:8]}",
        tenant=validate_tenant_id(tenant),
        status="running",
        total=total,
        created_at=now,
        updated_at=now,
        pid=os.getpid(),
        host=socket.gethostname(),
        settings=settings or {},
    )
    save_job(store, job)
    return job


def save_job(store: IngestStore, job: JobStatus) -> None:
    """Write ``job``'s counters and state (not its documents) in one commit."""
    job.updated_at = time.time()
    row = job.model_dump(exclude={"documents"})
    row["settings"] = json.dumps(row["settings"], sort_keys=True, default=str)
    _tables.upsert(store.tenant_db(job.tenant), "jobs", [row])


def get_job(store: IngestStore, tenant: str, job_id: str) -> JobStatus:
    """The job with its per-document statuses (in input order).

    Raises:
        JobNotFoundError: ``job_id`` is not a job of ``tenant``.
    """
    db = store.tenant_db(validate_tenant_id(tenant))
    rows = _tables.select(db, "jobs", "job_id", [job_id])
    if not rows:
        known = [j.job_id for j in list_jobs(store, tenant)][:5]
        raise JobNotFoundError(
            f"No ingestion job {job_id!r} for tenant {tenant!r}. Recent jobs: {', '.join(known) or 'none'}. "
            "List them with `ragbench tenants describe` or ragbench.ingestion.jobs.list_jobs()."
        )
    job = _status(rows[0])
    items = sorted(_tables.select(db, "job_items", "job_id", [job_id]), key=lambda r: r["seq"])
    job.documents = [DocumentStatus(**{k: v for k, v in r.items() if k in DocumentStatus.model_fields}) for r in items]
    return job


def list_jobs(store: IngestStore, tenant: str) -> list[JobStatus]:
    """The tenant's jobs, newest first, without per-document detail."""
    db = store.tenant_db(validate_tenant_id(tenant))
    return sorted((_status(r) for r in _tables.select(db, "jobs")), key=lambda j: j.created_at, reverse=True)
