"""Ingestion from the dashboard: uploaded files or a server folder, run as
:mod:`ragbench.ingestion` jobs on a background thread.

The job itself (per-document statuses, retries, exactly-once writes, progress) is
:func:`ragbench.ingestion.ingest.ingest_items` / :func:`~ragbench.ingestion.ingest.ingest_path`;
its records live in the tenant's own LanceDB directory. This module only queues
submissions (one at a time: one writer per store) and finds each submission's job
again by a ticket recorded in the job's settings, so the UI can poll it while it runs.

Uploads: at most :data:`MAX_UPLOAD_BYTES` per upload (all files together). Every accepted
upload gets a job with one outcome per file (or per JSONL record): a file that cannot be
read -- invalid UTF-8, JSON nested too deeply, a record whose fields have the wrong types --
is recorded as failed with its reason and the other files go on.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragbench.errors import DatasetError
from ragbench.tenancy import validate_tenant_id

#: Largest upload (all files of one submission together), stated in the Documents tab.
MAX_UPLOAD_BYTES = 20 * 2**20


@dataclass
class Submission:
    """A queued or running ingestion request; ``job_id`` is set once its job is recorded."""

    ticket: str
    tenant: str
    user: str
    source: str
    files: list[str] = field(default_factory=list)
    state: str = "queued"  # queued | running | finished | error
    job_id: str | None = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    #: Keys of earlier documents that this upload replaced by file name (see :meth:`JobManager.submit_files`).
    replaced: list[str] = field(default_factory=list)


def _file_name(source: str) -> str:
    """The file name of a document's source: ``upload:a.md`` and ``/srv/docs/a.md`` both give ``a.md``."""
    return Path(source.removeprefix("upload:")).name


def _read_error(key: str, exc: BaseException, read: int) -> str:
    after = f" after {read} record(s)" if read else ""
    if isinstance(exc, RecursionError):
        why = "a JSON value is nested too deeply to parse"
    elif isinstance(exc, UnicodeDecodeError):
        why = f"invalid UTF-8 ({exc.reason}, byte {exc.object[exc.start : exc.start + 4]!r})"
    else:
        why = f"{type(exc).__name__}: {exc}"
    return (
        f"{key}: could not be read{after}: {why}; the rest of this file was not ingested. "
        "Fix the file (UTF-8 text, one JSON object per line for .jsonl) and upload it again."
    )


def _checked(item):
    """``item`` whose reader also checks the parsed fields' types, so a bad record fails alone
    instead of failing the job's write (e.g. ``"language": 5`` in a JSONL record)."""
    from ragbench.ingestion.loaders import DocumentError

    read = item.reader

    def reader():
        parsed = read()
        wrong = [
            f"{name} must be {want}, got {type(value).__name__} {value!r:.40}"
            for name, value, ok, want in (
                ("text", parsed.text, isinstance(parsed.text, str), "a string"),
                ("title", parsed.title, isinstance(parsed.title, str), "a string"),
                (
                    "language",
                    parsed.language,
                    parsed.language is None or isinstance(parsed.language, str),
                    "a language code string such as 'en'",
                ),
                ("metadata", parsed.metadata, isinstance(parsed.metadata, dict), "an object"),
            )
            if not ok
        ]
        if wrong:
            raise DocumentError(f"{item.key}: {'; '.join(wrong)}. Fix the record and upload it again.")
        return parsed

    return dataclasses.replace(item, reader=reader)


def _file_items(name: str, data: bytes) -> list:
    from ragbench.ingestion.loaders import CONTENT_TYPES, Item, iter_stream

    key = f"upload:{Path(name).name}"
    ctype = CONTENT_TYPES.get(Path(name).suffix.lower(), "application/octet-stream")
    items = []
    try:
        for item in iter_stream(io.BytesIO(data), name=key, content_type=ctype):
            items.append(_checked(item))
    except Exception as exc:
        from ragbench.ingestion.loaders import DocumentError

        message = _read_error(key, exc, len(items))

        def fail():
            raise DocumentError(message)

        items.append(Item(key=f"{key}#unreadable", source=key, content_type=ctype, size=len(data), reader=fail))
    return items


def upload_items(files: Sequence[tuple[str, bytes]]) -> list:
    """:class:`~ragbench.ingestion.loaders.Item` s for uploaded ``(filename, bytes)`` pairs; never raises.

    The content type comes from the file extension; an unsupported one, or a file that cannot
    be read, yields an item that fails with a clear reason when the job runs (the other files go on).
    """
    return [item for name, data in files for item in _file_items(name, data)]


def check_upload_size(files: Sequence[tuple[str, bytes]]) -> None:
    """Refuse an upload over :data:`MAX_UPLOAD_BYTES` with the sizes and the limit."""
    total = sum(len(data) for _, data in files)
    if total > MAX_UPLOAD_BYTES:
        sizes = ", ".join(f"{Path(n).name} {len(d) / 2**20:.1f} MiB" for n, d in files)
        raise DatasetError(
            f"Upload refused: {total / 2**20:.1f} MiB ({sizes}) is over the {MAX_UPLOAD_BYTES / 2**20:.0f} MiB limit "
            "per upload. Upload fewer or smaller files, or ask an admin to ingest a server folder."
        )


class JobManager:
    """Queue ingestion jobs for the dashboard and run them on one background thread.

    Args:
        parts: Built components whose store and embedder the documents go into.
        chunker: Chunker for dashboard ingests (default: sentences packed into 200-word chunks).
        batch_size: Chunks per atomic write; small, so per-document statuses update while a job runs.

    Example:
        >>> sub = manager.submit_files("acme-robotics", [("policy.txt", b"Staff get 25 days.")], user="alice")  # doctest: +SKIP
        >>> manager.job(sub.ticket).status  # doctest: +SKIP
        'completed'
    """

    def __init__(self, parts: Any, *, chunker: Any = None, batch_size: int = 8) -> None:
        from ragbench.data.chunking import SentenceChunker

        self.parts = parts
        self.chunker = chunker or SentenceChunker(max_words=200, overlap=1)
        self.batch_size = batch_size
        self._subs: dict[str, Submission] = {}
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rb-ingest")

    def submit_files(self, tenant: str, files: Sequence[tuple[str, bytes]], *, user: str) -> Submission:
        """Queue uploaded ``(filename, bytes)`` pairs for ``tenant`` (the caller checks access).

        Raises:
            DatasetError: no files, or more than :data:`MAX_UPLOAD_BYTES` together.
        """
        validate_tenant_id(tenant)
        if not files:
            raise DatasetError("No files to ingest: choose one or more files first.")
        check_upload_size(files)
        sub = Submission(uuid.uuid4().hex[:12], tenant, user, "upload", [n for n, _ in files])
        files = list(files)  # parsed on the job's thread, not the caller's (the UI's event loop)

        def run(opts: dict):
            job = self._run_items(upload_items(files), tenant, opts)
            sub.replaced = self._replace_by_name(tenant, [n for n, _ in files], job)
            return job

        return self._submit(sub, run)

    def _replace_by_name(self, tenant: str, names: Sequence[str], job) -> list[str]:
        """After an upload: delete the tenant's other documents from a file of the same name, for each
        file whose documents all ingested (none failed). Returns the deleted keys.

        The upload's own key (``upload:<name>``) was replaced in place by the job; what is left are the
        records of an earlier upload of the same JSONL file that the new file no longer has, and a
        document ingested from a server folder (key: its path) under the same file name -- but only
        when exactly one path has that name (two folders' ``README.md`` stay, as either may be meant).
        """
        from ragbench.ingestion.jobs import get_job
        from ragbench.ingestion.tenants import delete_documents, list_documents

        new = get_job(self.parts.store, tenant, job.job_id).documents
        existing = list_documents(self.parts.store, tenant)
        stale: list[str] = []
        for name in {Path(n).name for n in names}:
            mine = [d for d in new if d.source == f"upload:{name}"]
            if not mine or any(d.status == "failed" for d in mine):
                continue  # a failed re-upload keeps the earlier version
            keys = {d.key for d in mine}
            same = [d for d in existing if _file_name(d["source"]) == name and d["key"] not in keys]
            paths = {d["source"] for d in same if not d["source"].startswith("upload:")}
            stale += [d["key"] for d in same if d["source"].startswith("upload:") or len(paths) == 1]
        if stale:
            delete_documents(self.parts.store, tenant, stale)
        return sorted(stale)

    def delete_documents(self, tenant: str, keys: Sequence[str]) -> dict[str, int]:
        """Delete ``tenant``'s documents by key (the caller checks access), queued behind running jobs:
        one writer per store. Returns ``{"documents": n, "chunks": m}``."""
        from ragbench.ingestion.tenants import delete_documents

        validate_tenant_id(tenant)
        if not keys:
            raise DatasetError("No documents to delete: pick one or more rows of the document list first.")
        return self._executor.submit(delete_documents, self.parts.store, tenant, list(keys)).result()

    def documents(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's documents (key, title, status, chunks, language, size, source), by key; [] for a new tenant."""
        from ragbench.ingestion.tenants import list_documents

        validate_tenant_id(tenant)
        if not self.parts.store.has_tenant(tenant):
            return []
        return list_documents(self.parts.store, tenant)

    def submit_folder(self, tenant: str, folder: str | Path, *, user: str) -> Submission:
        """Queue every file under a server ``folder`` for ``tenant`` (admins only; the caller checks)."""
        from ragbench.ingestion.ingest import ingest_path

        validate_tenant_id(tenant)
        root = Path(folder).expanduser().resolve()
        if not root.is_dir():
            raise DatasetError(f"Folder {str(root)!r} does not exist on the server: give an existing folder path.")
        sub = Submission(uuid.uuid4().hex[:12], tenant, user, str(root))

        def run(opts: dict):
            opts["settings"]["path"] = str(root)
            return ingest_path(
                root, tenant=tenant, store=self.parts.store, embedder=self.parts.embedder, chunker=self.chunker, **opts
            )

        return self._submit(sub, run)

    def _run_items(self, items: list, tenant: str, opts: dict):
        from ragbench.ingestion.ingest import ingest_items

        return ingest_items(
            items,
            tenant=tenant,
            store=self.parts.store,
            embedder=self.parts.embedder,
            chunker=self.chunker,
            total=len(items),
            **opts,
        )

    def _submit(self, sub: Submission, run) -> Submission:
        with self._lock:
            self._subs[sub.ticket] = sub

        def work() -> None:
            sub.state = "running"
            opts = {
                "batch_size": self.batch_size,
                "settings": {"ticket": sub.ticket, "user": sub.user, "source": sub.source},
            }
            # what a reader needs is set before the state that tells it to look (see progress)
            try:
                sub.job_id = run(opts).job_id
                sub.state = "finished"
            except Exception as exc:
                sub.error = f"{type(exc).__name__}: {exc}"
                sub.state = "error"

        self._executor.submit(work)
        return sub

    def submission(self, ticket: str) -> Submission | None:
        return self._subs.get(ticket)

    def progress(self, ticket: str) -> tuple[str, str | None, Any] | None:
        """``(state, error, job)`` of submission ``ticket`` (``None`` if unknown), read in that order.

        The state is read before the job record: a job can finish while its record is read, and read the
        other way round a poller saw "finished" with no job record yet, stopped, and never showed the
        result. Read this way, "finished" always comes with its job (set before the state)."""
        sub = self._subs.get(ticket)
        if sub is None:
            return None
        state, error = sub.state, sub.error
        return state, error, self.job(ticket)

    def job(self, ticket: str):
        """The :class:`~ragbench.ingestion.jobs.JobStatus` (with documents) of a submission, or ``None`` while queued."""
        from ragbench.ingestion.jobs import get_job, list_jobs

        sub = self._subs.get(ticket)
        if sub is None:
            return None
        if sub.job_id is None:
            if sub.state == "queued":
                return None
            found = [j for j in list_jobs(self.parts.store, sub.tenant) if j.settings.get("ticket") == ticket]
            if not found:
                return None
            sub.job_id = found[0].job_id
        return get_job(self.parts.store, sub.tenant, sub.job_id)

    def list(self, tenants: Sequence[str]) -> list:
        """Recorded jobs of ``tenants`` (from every process, newest first), without per-document detail."""
        from ragbench.ingestion.jobs import list_jobs

        jobs = [j for t in tenants for j in list_jobs(self.parts.store, t)]
        return sorted(jobs, key=lambda j: j.created_at, reverse=True)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
