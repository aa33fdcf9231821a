"""Durable, exactly-once ingestion of items into one tenant.

How a crash (even ``kill -9``) can never lose or duplicate chunks:

1. Items are loaded and chunked in batches (bounded memory). A document's id is a hash
   of its source key and text, so unchanged content has the same id.
2. A document whose id already has chunks (and was chunked the same way) is ``skipped``.
3. For the others, the ``documents`` table first records the *intent*: key -> new id, plus
   every id the key had before (``prev_doc_ids``), accumulated across interrupted runs.
4. One atomic commit of the chunk table then inserts the new chunks and deletes the old
   ids' chunks (:meth:`LanceDBStore.replace_documents`). Readers see old or new, never both.
5. Statuses (documents, job items, job counters) are written after the commit; if the
   process dies before that, the next run sees the chunks present and only fixes statuses.

A failing document is retried up to ``max_attempts`` times (input errors such as invalid
UTF-8 are permanent and fail at once); it is recorded as failed and the job goes on. A disk
error (full, read-only, not writable) is no document's fault: the job stops at once with a
:class:`~ragbench.errors.DiskError` saying where and what to do; a re-run finishes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path

from ragbench.errors import DatasetError, DiskError
from ragbench.executor import ExecutorSettings
from ragbench.ingestion._runner import Runner, Work, reason
from ragbench.ingestion.jobs import JobStatus, create_job, save_job
from ragbench.ingestion.loaders import Item
from ragbench.ingestion.tenants import record_detected_languages
from ragbench.language import detect_language
from ragbench.memory import release_free_memory
from ragbench.protocols import IngestStore
from ragbench.stores._retry import retrying
from ragbench.tenancy import validate_tenant_id


class _Pacer:
    """Sizes commits: about every ``seconds`` of work, never more than ``most`` chunks.

    Commits are where progress becomes visible (job row, dashboard, tqdm) and where a
    crash is cut off, so a slow embedder (MiniLM on a CPU) commits small batches often,
    while a fast path (lexical, GPU) commits large ones and pays the per-commit cost rarely.
    """

    def __init__(self, seconds: float, most: int, least: int = 16) -> None:
        self.seconds, self.most, self.least = seconds, most, min(least, most)
        self.target = min(most, max(self.least, 64))  # first batch: small, to measure the speed

    def batches(self, works: Iterable[Work]) -> Iterator[list[Work]]:
        """``works`` (pulled lazily) in batches of about ``target`` chunks, or ``most`` documents."""
        batch: list[Work] = []
        chunks = 0
        for work in works:
            batch.append(work)
            chunks += len(work.chunks)
            if chunks >= self.target or len(batch) >= self.most:
                yield batch
                batch, chunks = [], 0
        if batch:
            yield batch

    def update(self, chunks: int, elapsed: float) -> None:
        if chunks and elapsed > 0 and self.seconds > 0:
            self.target = max(self.least, min(self.most, int(self.seconds * chunks / elapsed)))
        elif self.seconds <= 0:
            self.target = self.most


def _batches(runner: Runner, items: Iterable[Item], pacer: _Pacer) -> Iterator[list[Work]]:
    """Prepared items in batches of about ``pacer.target`` chunks (or documents).

    Items are pulled lazily in small groups (language detection runs per group), never more
    than one group ahead of the batch being built.
    """

    def prepared() -> Iterator[Work]:
        numbered = enumerate(items)
        while pairs := list(islice(numbered, max(1, min(32, pacer.target, pacer.most)))):
            yield from runner.prepare(pairs)

    return pacer.batches(prepared())


def ingest_items(
    items: Iterable[Item],
    *,
    tenant: str,
    store: IngestStore,
    embedder,
    chunker,
    batch_size: int = 2048,
    commit_seconds: float = 5.0,
    embed_batch: int = 256,
    max_attempts: int = 3,
    total: int = 0,
    progress: bool = False,
    settings: dict | None = None,
    language: Callable[[str], str | None] | None = detect_language,
    index_stats: dict | None = None,
    executor: ExecutorSettings | None = None,
) -> JobStatus:
    """Ingest ``items`` into ``tenant`` as one recorded job; returns the finished job.

    Args:
        items: What to ingest, e.g. ``loaders.iter_path("docs/")`` (consumed lazily).
        tenant: Tenant id (validated).
        store: An :class:`~ragbench.protocols.IngestStore` (:class:`~ragbench.stores.LanceDBStore`).
        embedder: Embeds chunk contents; ``None`` for a lexical-only store.
        chunker: Callable turning documents into chunks (``configs/chunker``).
        batch_size: Most chunks (or documents) per atomic write; bounds memory.
        commit_seconds: Aim for one commit (progress update, crash cut-off) about this often;
            batches shrink for a slow embedder (never below ``embed_batch`` chunks) and grow up to
            ``batch_size`` for a fast one (0: always ``batch_size``).
        embed_batch: Texts per embedder call.
        max_attempts: Tries per document before it is recorded as failed.
        total: Expected item count, for progress (0 when unknown).
        progress: Show a tqdm bar (terminal or notebook).
        settings: Free-form settings recorded with the job.
        language: Language detector (``None`` keeps only languages given by the input).
        index_stats: Filled with the index build's timings and settings (``fts_build_s``,
            ``vector_index_build_s``, ANN recall...) when indexes are rebuilt.
        executor: Where documents are prepared (``configs/executor``): ``None`` or ``local`` here;
            ``ray`` on Ray actors (:mod:`ragbench.ingestion._ray`), the writes staying here.

    Example:
        >>> from ragbench.ingestion.loaders import iter_path
        >>> job = ingest_items(iter_path("docs/"), tenant="acme", store=store, embedder=None,
        ...                    chunker=SentenceChunker())  # doctest: +SKIP
        >>> job.status, job.failed  # doctest: +SKIP
        ('completed', 0)
    """
    if max_attempts < 1 or batch_size < 1 or commit_seconds < 0:
        raise ValueError(
            f"max_attempts and batch_size must be >= 1 and commit_seconds >= 0, got {max_attempts}, {batch_size} "
            f"and {commit_seconds}."
        )
    tenant = validate_tenant_id(tenant)
    settings = {
        "chunker": repr(chunker),
        "embedder": getattr(embedder, "model_id", None),
        "batch_size": batch_size,
        "max_attempts": max_attempts,
        **(settings or {}),
    }
    job = create_job(store, tenant, total=total, settings=settings)
    runner = Runner(
        job,
        store=store,
        embedder=embedder,
        chunker=chunker,
        max_attempts=max_attempts,
        language=language,
        embed_batch=embed_batch,
    )
    # with an embedder, never fewer chunks than one embedder call: the embedder sorts each call's
    # texts by length, and smaller pools pad more (MiniLM on CPU: 0.85 of raw speed at ~100 chunks)
    pacer = _Pacer(commit_seconds, batch_size, least=embed_batch if embedder is not None else 16)
    bar = _progress_bar(progress, total, tenant)
    start = time.perf_counter()
    try:
        _run(runner, _source(runner, items, pacer, executor), pacer, bar, start)
        _refresh_indexes(store, tenant, runner, index_stats)
    except BaseException as exc:
        _fail(store, tenant, job, runner, exc, start)
        raise
    finally:
        if bar is not None:
            bar.close()
    job.total = max(job.total, job.done)
    job.status = "failed" if job.done and job.failed == job.done else "completed"
    job.seconds, job.finished_at = time.perf_counter() - start, time.time()
    save_job(store, job)
    return job


@contextmanager
def one_actor_pool() -> Iterator[None]:
    """With ``executor=ray``, every ingestion call inside the block (e.g. each tenant of a dataset) reuses
    one pool of Ray actors, started once and released at the end (:mod:`ragbench.ingestion._ray`).

    Example:
        >>> with one_actor_pool():  # doctest: +SKIP
        ...     for tenant in tenants:
        ...         ingest_items(items[tenant], tenant=tenant, store=store, ..., executor=ray_settings)
    """
    from ragbench.ingestion._ray import pool_scope

    with pool_scope():
        yield


def _progress_bar(progress: bool, total: int, tenant: str):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total or None, desc=f"ingest {tenant}", unit="doc")


def _source(runner: Runner, items: Iterable[Item], pacer: _Pacer, executor: ExecutorSettings | None):
    """Prepared batches: from this process, or from Ray actors (``executor=ray``)."""
    if executor is not None and executor.is_ray:
        from ragbench.ingestion._ray import ray_batches

        return ray_batches(runner, items, pacer, executor)
    return _batches(runner, items, pacer)


def _run(runner: Runner, batches: Iterator[list[Work]], pacer: _Pacer, bar, start: float) -> None:
    """Commit the prepared batches: each batch is embedded while the previous one commits."""
    job = runner.job
    mark = time.perf_counter()
    for batch in batches:
        done = job.done
        runner.flush(batch)  # returns once this batch is embedded and the previous one committed
        release_free_memory()  # LanceDB's freed commit/scan buffers go back to the OS
        now = time.perf_counter()
        pacer.update(sum(len(w.chunks) for w in batch), now - mark)
        mark, job.seconds = now, now - start
        if bar is not None:
            bar.update(job.done - done)
    done = job.done
    runner.close()
    if bar is not None:
        bar.update(job.done - done)


def _refresh_indexes(store: IngestStore, tenant: str, runner: Runner, index_stats: dict | None) -> None:
    """Record the tenant's languages, then rebuild its indexes if anything was written."""
    job = runner.job
    if job.done:
        record_detected_languages(store, tenant)  # the full-text index reads text by them
    if runner.wrote:
        built = retrying(lambda: store.build_indexes(tenant))
        if index_stats is not None:
            index_stats.update(built, maintain_runs=len(runner.maintained), maintain_s=sum(runner.maintained))
    elif job.done:
        retrying(lambda: store.rebuild_text_index(tenant))  # only if the languages changed


def _fail(store: IngestStore, tenant: str, job: JobStatus, runner: Runner, exc: BaseException, start: float) -> None:
    """Record the job as failed; a disk error is raised as a :class:`DiskError` that says what to do."""
    try:
        runner.close()  # let the batch in flight finish its commit and statuses
    except Exception:
        pass
    job.status, job.error = "failed", reason(exc)
    job.seconds = time.perf_counter() - start
    try:
        save_job(store, job)
    except Exception:
        pass
    disk = DiskError.from_exception(
        exc, what=f"Ingesting into tenant {tenant!r}", where=str(getattr(store, "uri", "the store"))
    )
    if disk is not None:
        raise disk from exc


def ingest_path(
    path: str | Path, *, tenant: str, store: IngestStore, embedder, chunker, max_bytes: int | None = None, **options
) -> JobStatus:
    """Ingest a file or folder into ``tenant`` as one job (progress total counted up front)."""
    from ragbench.ingestion.loaders import MAX_BYTES, count_items, iter_path

    if not Path(path).expanduser().exists():  # checked before the job (and the tenant's folder) exists
        raise DatasetError(
            f"Input path {str(path)!r} does not exist; nothing was ingested and no tenant or job was created. "
            "Give an existing file or folder with --path."
        )
    limit = max_bytes or MAX_BYTES
    items = iter_path(path, max_bytes=limit)
    options.setdefault("total", count_items(path))
    options.setdefault("settings", {"path": str(path), "max_bytes": limit})
    return ingest_items(items, tenant=tenant, store=store, embedder=embedder, chunker=chunker, **options)
