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

import dataclasses
import json
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import islice
from dataclasses import dataclass, field

from ragbench.errors import DiskError, disk_problem
from ragbench.ingestion import _tables
from ragbench.ingestion.jobs import DocumentStatus, JobStatus, create_job, save_job
from ragbench.ingestion.language import detect_language, detect_languages
from ragbench.ingestion.loaders import DocumentError, Item
from ragbench.ingestion.tenants import record_detected_languages
from ragbench.memory import release_free_memory
from ragbench.tenancy import validate_tenant_id
from ragbench.types import Chunk, Document, content_hash


@dataclass
class _Work:
    seq: int
    item: Item
    status: DocumentStatus
    doc: Document | None = None
    chunks: list[Chunk] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    duplicate: bool = False
    started: float = field(default_factory=time.perf_counter)


def _concat(parts: list):
    """Stack embedder outputs; per-row extra columns (BGE-M3 sparse/ColBERT) stay row-aligned."""
    import numpy as np

    out = np.concatenate(parts)
    extras = [getattr(part, "extras", None) for part in parts]
    if all(extras):
        out = out.view(type(parts[0]))
        out.extras = {key: [v for e in extras for v in e[key]] for key in extras[0]}
    return out


def _rows(vectors, start: int, stop: int):
    """Rows ``start:stop`` of an embedder output, extras included (``None`` stays ``None``)."""
    if vectors is None:
        return None
    part = vectors[start:stop]
    extras = getattr(vectors, "extras", None)
    if extras:
        part = part.view(type(vectors))
        part.extras = {key: values[start:stop] for key, values in extras.items()}
    return part


def _version(doc: Document) -> str:
    """Hash of what a document's chunks are made from; a document keeping its id (a dataset's)
    whose text or title changed is re-ingested."""
    return content_hash(doc.title, doc.text)


def _reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, DocumentError) else f"{type(exc).__name__}: {exc}"


class _Runner:
    """Processes batches of one job; holds the parts, never the whole config."""

    def __init__(self, job: JobStatus, *, store, embedder, chunker, max_attempts: int,
                 language: Callable[[str], str | None] | None, embed_batch: int) -> None:
        self.job, self.store, self.embedder, self.chunker = job, store, embedder, chunker
        self.max_attempts, self.embed_batch = max_attempts, embed_batch
        if language is None:
            self.detect = None
        elif language is detect_language:
            self.detect = detect_languages  # same answers, all cores
        else:
            self.detect = lambda texts: [language(t) for t in texts]
        self.fingerprint = repr(chunker)
        self.db = store.tenant_db(job.tenant)
        self.wrote = False
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ingest-{job.tenant}")
        self.pending: Future | None = None
        self.inflight: set[str] = set()  # keys of the batch being committed

    # -------------------------------------------------------------- items
    def prepare(self, pairs: list[tuple[int, Item]]) -> list[_Work]:
        """Load, detect the language of (all at once, on every core) and chunk some items."""
        works = [self._load(seq, item) for seq, item in pairs]
        undetected = [w for w in works if w.doc is not None and not w.doc.language]
        if undetected and self.detect is not None:
            for w, code in zip(undetected, self.detect([w.doc.text for w in undetected])):
                if code:
                    w.doc = dataclasses.replace(w.doc, language=code)
        for w in works:
            if w.doc is not None:
                self._chunk(w)
        return works

    def _attempts(self, work: _Work, step: Callable[[], None], *, first: int = 1) -> bool:
        """Run ``step`` for attempts ``first..max_attempts``; on final failure record it and return False.

        ``first=2`` retries a document alone after its batch-wide attempt failed.
        """
        if first > self.max_attempts:
            self._fail(work, f"failed on its only attempt (max_attempts={self.max_attempts})", self.max_attempts)
            return False
        for attempt in range(first, self.max_attempts + 1):
            work.status.attempts = max(work.status.attempts, attempt)
            try:
                step()
                return True
            except DocumentError as exc:  # bad input: retrying cannot help
                self._fail(work, _reason(exc), attempt)
                return False
            except Exception as exc:  # noqa: BLE001 - recorded, retried, then failed
                if disk_problem(exc) is not None:  # the disk, not this document: stop the job
                    raise
                if attempt == self.max_attempts:
                    self._fail(work, _reason(exc), attempt)
                    return False
        return False  # pragma: no cover

    def _load(self, seq: int, item: Item) -> _Work:
        status = DocumentStatus(key=item.key, source=item.source, content_type=item.content_type, size=item.size)
        work = _Work(seq, item, status)

        def load() -> None:
            work.doc = item.load(self.job.tenant, language=None)  # detected per group, see prepare

        self._attempts(work, load)
        return work

    def _chunk(self, work: _Work) -> None:
        def chunk() -> None:
            work.chunks = list(self.chunker([work.doc]))

        if self._attempts(work, chunk):
            doc, status = work.doc, work.status
            status.doc_id, status.title, status.language = doc.id, doc.title, doc.language or ""
            status.chunks = len(work.chunks)

    @staticmethod
    def _fail(work: _Work, reason: str, attempts: int) -> _Work:
        work.status.status, work.status.error, work.status.attempts = "failed", reason, attempts
        work.doc, work.chunks = None, []
        return work

    # -------------------------------------------------------------- one batch
    def flush(self, batch: list[_Work]) -> None:
        """Plan and embed ``batch`` here, then hand its commit to the writer thread.

        The writer commits batch N (intents, chunks, statuses) while this thread loads,
        detects, chunks and embeds batch N+1: at most one batch is in flight.
        """
        keys = [w.item.key for w in batch]
        old = {r["key"]: r for r in _tables.select(self.db, "documents", "key", keys)}
        self._mark_duplicates(batch, old)
        todo = self._plan(batch, old)
        groups = self._vectors(todo) if todo else []
        self.wait()  # the previous batch's commit
        self.inflight = set(keys)
        self.pending = self._writer.submit(self._write_batch, batch, old, groups)

    def wait(self) -> None:
        """Wait for the batch in flight (re-raising its error); afterwards its statuses are recorded."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            try:
                pending.result()
            finally:
                self.inflight = set()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._writer.shutdown(wait=True)

    def _plan(self, batch: list[_Work], old: dict) -> list[_Work]:
        """Which documents need writing (the others are unchanged: ``skipped``), and what they replace."""
        live = [w for w in batch if w.doc is not None]
        prevs = {}
        for w in live:
            row = old.get(w.item.key, {})
            prevs[w.item.key] = (set(json.loads(row.get("prev_doc_ids") or "[]")) | {row.get("doc_id") or ""}) - {""}
        asked = {w.doc.id for w in live} | {d for ids in prevs.values() for d in ids}
        present = self.store.chunk_doc_ids(self.job.tenant, sorted(asked))
        todo = []
        for w in live:
            row = old.get(w.item.key, {})
            same_chunking = row.get("chunker") in (None, self.fingerprint)
            same_text = row.get("version") in (None, "", _version(w.doc))  # "": recorded before versions
            if w.doc.id in present and same_chunking and same_text and not row.get("prev_doc_ids"):
                w.status.status = "skipped"
                continue
            w.drop = sorted(prevs[w.item.key] | {w.doc.id})  # recorded as the intent
            w.delete = [d for d in w.drop if d in present]  # what the commit must actually remove
            todo.append(w)
        return todo

    def _mark_duplicates(self, batch: list[_Work], old: dict) -> None:
        """Fail later occurrences of a key already seen in this job: in this batch, in the batch
        being committed, or recorded in the ledger by this job (no ever-growing set is kept)."""
        here: set[str] = set()
        for w in batch:
            key = w.item.key
            earlier = key in here or key in self.inflight or old.get(key, {}).get("job_id") == self.job.job_id
            here.add(key)
            if earlier:  # recorded as failed, but never overwrites the first occurrence's ledger row
                w.duplicate = True
                self._fail(w, f"{key}: duplicate source key in this job; the first occurrence was kept.", 1)

    def _embed(self, chunks: list[Chunk]):
        if self.embedder is None or not chunks:
            return None
        texts = [c.content for c in chunks]
        parts = [self.embedder.embed_documents(texts[i:i + self.embed_batch])
                 for i in range(0, len(texts), self.embed_batch)]
        return parts[0] if len(parts) == 1 else _concat(parts)

    def _vectors(self, todo: list[_Work]) -> list[tuple[list[_Work], object]]:
        """Embed the batch in one go; if that fails, each document alone with retries.

        Returns groups of (documents, their vectors) to commit; documents whose embedding
        failed on every attempt are recorded as failed and left out.
        """
        try:
            vectors = self._embed([c for w in todo for c in w.chunks])
            for w in todo:
                w.status.attempts = max(w.status.attempts, 1)
            return [(todo, vectors)]
        except Exception:  # noqa: BLE001 - fall back to one document at a time, with retries
            pass
        groups = []
        for w in todo:
            self._attempts(w, lambda w=w: groups.append(([w], self._embed(w.chunks))), first=2)
        return groups

    # -------------------------------------------------------------- writer thread
    def _write_batch(self, batch: list[_Work], old: dict, groups: list) -> None:
        """Intents, then the atomic chunk commit(s), then statuses: the crash-safe order."""
        todo = [w for works, _ in groups for w in works]
        if todo:
            intents = [self._doc_row(w, old, "processing") for w in todo]
            _tables.upsert(self.db, "documents", intents)
            old.update((r["key"], r) for r in intents)
            for works, vectors in groups:
                self._commit(works, vectors)
        self._record(batch, old)

    def _store(self, works: list[_Work], vectors) -> None:
        chunks = [c for w in works for c in w.chunks]
        drop = sorted({d for w in works for d in w.delete})
        _tables.retrying(lambda: self.store.replace_documents(self.job.tenant, chunks, vectors, drop_doc_ids=drop))
        self.wrote = True
        for w in works:
            w.status.status = "completed"

    def _commit(self, works: list[_Work], vectors) -> None:
        try:
            self._store(works, vectors)
            return
        except Exception as exc:  # noqa: BLE001 - fall back to one document at a time, with retries
            if disk_problem(exc) is not None:
                raise
        offset = 0
        for w in works:
            part = _rows(vectors, offset, offset + len(w.chunks))
            offset += len(w.chunks)
            self._attempts(w, lambda w=w, part=part: self._store([w], part), first=2)

    # -------------------------------------------------------------- bookkeeping
    def _doc_row(self, w: _Work, old: dict, state: str) -> dict:
        row = dict(old.get(w.item.key, {}))
        s = w.status
        row.update(key=w.item.key, title=s.title, source=s.source, content_type=s.content_type, size=s.size,
                   language=s.language, chunks=s.chunks, status=state, error=s.error, job_id=self.job.job_id,
                   updated_at=time.time())
        if w.doc is not None and state != "failed":
            row["doc_id"] = w.doc.id
            row["chunker"] = self.fingerprint
            row["version"] = _version(w.doc)
            row["prev_doc_ids"] = json.dumps(w.drop) if state == "processing" else ""
        return row

    def _record(self, batch: list[_Work], old: dict) -> None:
        now = time.perf_counter()
        rows, items = [], []
        for w in batch:
            s = w.status
            s.seconds = now - w.started
            rows.append(self._doc_row(w, old, s.status))
            items.append({**s.model_dump(), "item_id": f"{self.job.job_id}/{w.seq}", "job_id": self.job.job_id,
                          "seq": w.seq})
            self.job.done += 1
            if s.status == "failed":
                self.job.failed += 1
            elif s.status == "skipped":
                self.job.skipped += 1
            else:
                self.job.completed += 1
                self.job.chunks_created += s.chunks
        _tables.upsert(self.db, "documents", [r for r, w in zip(rows, batch) if not w.duplicate])
        _tables.append(self.db, "job_items", items)  # item ids are new: no merge needed
        save_job(self.store, self.job)


class _Pacer:
    """Sizes commits: about every ``seconds`` of work, never more than ``most`` chunks.

    Commits are where progress becomes visible (job row, dashboard, tqdm) and where a
    crash is cut off, so a slow embedder (MiniLM on a CPU) commits small batches often,
    while a fast path (lexical, GPU) commits large ones and pays the per-commit cost rarely.
    """

    def __init__(self, seconds: float, most: int, least: int = 16) -> None:
        self.seconds, self.most, self.least = seconds, most, min(least, most)
        self.target = min(most, max(self.least, 64))  # first batch: small, to measure the speed

    def update(self, chunks: int, elapsed: float) -> None:
        if chunks and elapsed > 0 and self.seconds > 0:
            self.target = max(self.least, min(self.most, int(self.seconds * chunks / elapsed)))
        elif self.seconds <= 0:
            self.target = self.most


def _batches(runner: _Runner, items: Iterable[Item], pacer: _Pacer) -> Iterator[list[_Work]]:
    """Prepared items in batches of about ``pacer.target`` chunks (or documents).

    Items are pulled lazily in small groups (language detection runs per group), never more
    than one group ahead of the batch being built.
    """
    batch: list[_Work] = []
    chunks = 0
    numbered = enumerate(items)
    while pairs := list(islice(numbered, max(1, min(32, pacer.target, pacer.most)))):
        for work in runner.prepare(pairs):
            batch.append(work)
            chunks += len(work.chunks)
            if chunks >= pacer.target or len(batch) >= pacer.most:
                yield batch
                batch, chunks = [], 0
    if batch:
        yield batch


def ingest_items(
    items: Iterable[Item], *, tenant: str, store, embedder, chunker, batch_size: int = 2048,
    commit_seconds: float = 5.0, embed_batch: int = 256, max_attempts: int = 3, total: int = 0, progress: bool = False,
    settings: dict | None = None, language: Callable[[str], str | None] | None = detect_language,
    index_stats: dict | None = None,
) -> JobStatus:
    """Ingest ``items`` into ``tenant`` as one recorded job; returns the finished job.

    Args:
        items: What to ingest, e.g. ``loaders.iter_path("docs/")`` (consumed lazily).
        tenant: Tenant id (validated).
        store: A :class:`~ragbench.stores.LanceDBStore`.
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
    settings = {"chunker": repr(chunker), "embedder": getattr(embedder, "model_id", None),
                "batch_size": batch_size, "max_attempts": max_attempts, **(settings or {})}
    job = create_job(store, tenant, total=total, settings=settings)
    runner = _Runner(job, store=store, embedder=embedder, chunker=chunker, max_attempts=max_attempts,
                     language=language, embed_batch=embed_batch)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total or None, desc=f"ingest {tenant}", unit="doc")
    start = time.perf_counter()
    try:
        # with an embedder, never fewer chunks than one embedder call: the embedder sorts each call's
        # texts by length, and smaller pools pad more (MiniLM on CPU: 0.85 of raw speed at ~100 chunks)
        pacer = _Pacer(commit_seconds, batch_size, least=embed_batch if embedder is not None else 16)
        mark = time.perf_counter()
        for batch in _batches(runner, items, pacer):
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
        if job.done:
            record_detected_languages(store, tenant)  # the full-text index reads text by them
        if runner.wrote:
            built = _tables.retrying(lambda: store.build_indexes(tenant))
            if index_stats is not None:
                index_stats.update(built)
        elif job.done:
            _tables.retrying(lambda: store.rebuild_text_index(tenant))  # only if the languages changed
    except BaseException as exc:
        try:
            runner.close()  # let the batch in flight finish its commit and statuses
        except Exception:  # noqa: BLE001 - the first error is the one to report
            pass
        job.status, job.error = "failed", _reason(exc)
        job.seconds = time.perf_counter() - start
        try:
            save_job(store, job)
        except Exception:  # noqa: BLE001 - e.g. the disk is full: the row stays 'running', read as interrupted
            pass
        disk = DiskError.from_exception(exc, what=f"Ingesting into tenant {tenant!r}",
                                        where=str(getattr(store, "uri", "the store")))
        if disk is not None:
            raise disk from exc
        raise
    finally:
        if bar is not None:
            bar.close()
    job.total = max(job.total, job.done)
    job.status = "failed" if job.done and job.failed == job.done else "completed"
    job.seconds, job.finished_at = time.perf_counter() - start, time.time()
    save_job(store, job)
    return job
