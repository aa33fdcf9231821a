"""Ingestion through the API: the dashboard's job queue, and job lookup from any worker process.

``POST /v1/tenants/{t}/ingest`` turns documents (JSONL records) and base64 files into the
``(filename, bytes)`` uploads of :class:`ragbench.dashboard.jobs.JobManager`, which runs them as
:mod:`ragbench.ingestion` jobs (per-document outcomes, exactly-once writes). The returned id is
the submission's ticket; it is also recorded in ``<home>/service/state.db`` with its tenant, so
``GET /v1/jobs/{id}`` finds the job from whichever worker process the poll reaches (the job record
itself lives in the tenant's LanceDB directory and carries the ticket in its settings).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import socket
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from ragbench._process import pid_alive
from ragbench.dashboard.auth import User
from ragbench.errors import DatasetError
from ragbench.service.models import IngestRequest, JobView

#: The JSONL file an API request's ``documents`` become (document keys: ``upload:api-documents.jsonl#<id>``).
DOCUMENTS_FILE = "api-documents.jsonl"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    ticket TEXT PRIMARY KEY, tenant TEXT NOT NULL, owner TEXT NOT NULL, pid INTEGER NOT NULL,
    host TEXT NOT NULL, created REAL NOT NULL
);
"""


def upload_files(request: IngestRequest) -> list[tuple[str, bytes]]:
    """The request as ``(filename, bytes)`` uploads; ``DatasetError`` for no content or bad base64."""
    files: list[tuple[str, bytes]] = []
    if request.documents:
        lines = (json.dumps(d.model_dump(exclude_none=True), ensure_ascii=False) for d in request.documents)
        files.append((DOCUMENTS_FILE, "\n".join(lines).encode("utf-8")))
    for f in request.files:
        try:
            files.append((Path(f.name).name, base64.b64decode(f.content_base64, validate=True)))
        except (binascii.Error, ValueError) as exc:
            raise DatasetError(
                f"File {f.name!r}: content_base64 is not valid base64 ({exc}). Send the file's bytes "
                "base64-encoded (e.g. base64.b64encode(data).decode())."
            ) from None
    if not files:
        raise DatasetError(
            "Nothing to ingest: send 'documents' (records with a 'text') and/or 'files' "
            "({'name': 'policy.pdf', 'content_base64': ...})."
        )
    return files


class Submissions:
    """Ticket -> tenant and owner of every API ingestion, shared by the worker processes (sqlite)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            conn.executescript(_SCHEMA)

    def add(self, ticket: str, tenant: str, owner: str) -> None:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn, conn:
            conn.execute(
                "INSERT INTO submissions (ticket, tenant, owner, pid, host, created) VALUES (?, ?, ?, ?, ?, ?)",
                (ticket, tenant, owner, os.getpid(), socket.gethostname(), time.time()),
            )

    def get(self, ticket: str) -> dict[str, Any] | None:
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            row = conn.execute(
                "SELECT tenant, owner, pid, host FROM submissions WHERE ticket = ?", (ticket,)
            ).fetchone()
        return dict(zip(("tenant", "owner", "pid", "host"), row)) if row else None


def _job_dict(job) -> dict[str, Any]:
    return {**job.model_dump(), "progress": job.progress}


def job_view(jobs, submissions: Submissions, store, ticket: str, user: User) -> JobView | None:
    """The submission ``ticket`` as ``user`` may see it; ``None`` when it does not exist *or* belongs to a
    tenant the user cannot see (both are a 404: existence is not revealed)."""
    from ragbench.ingestion.jobs import get_job, list_jobs

    sub = jobs.submission(ticket)
    record = submissions.get(ticket) if sub is None else {"tenant": sub.tenant}
    if record is None or not user.can_access(record["tenant"]):
        return None
    tenant = record["tenant"]
    if sub is not None:  # accepted by this process: its queue knows the state (read before the job record)
        state, error, job = jobs.progress(ticket)
        return JobView(
            job_id=ticket, tenant=tenant, state=state, error=error, job=_job_dict(job) if job is not None else None
        )
    found = [j for j in list_jobs(store, tenant) if j.settings.get("ticket") == ticket]
    if found:
        job = get_job(store, tenant, found[0].job_id)
        return JobView(
            job_id=ticket, tenant=tenant, state="finished" if job.finished else "running", job=_job_dict(job)
        )
    if record["host"] == socket.gethostname() and not pid_alive(int(record["pid"])):
        return JobView(
            job_id=ticket,
            tenant=tenant,
            state="error",
            error="The worker that accepted this job stopped before starting it; submit the documents again.",
        )
    return JobView(job_id=ticket, tenant=tenant, state="queued")
