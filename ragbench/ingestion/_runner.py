"""The ingest job's worker: load, chunk, embed and commit one batch of documents at a time.

See :mod:`ragbench.ingestion.ingest` for the exactly-once protocol it implements and the job
runner that drives it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ragbench.errors import disk_problem
from ragbench.ingestion import _tables
from ragbench.ingestion._committed import Committed, committed_keys, content_version
from ragbench.ingestion.jobs import DocumentStatus, JobStatus, save_job
from ragbench.ingestion.loaders import DocumentError, Item
from ragbench.language import detect_language, detect_languages
from ragbench.protocols import ColumnEmbedder, IngestStore
from ragbench.stores._retry import retrying
from ragbench.types import Chunk, Document, Embeddings


@dataclass
class Work:
    seq: int
    item: Item
    status: DocumentStatus
    doc: Document | None = None
    chunks: list[Chunk] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    duplicate: bool = False
    vectors: Embeddings | None = None  # embedded elsewhere (executor=ray) before the driver plans the batch
    started: float = field(default_factory=time.perf_counter)


log = logging.getLogger(__name__)


def reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, DocumentError) else f"{type(exc).__name__}: {exc}"


class Preparer:
    """The per-document work of a job: load, detect the language, chunk, embed (no store access).

    :class:`Runner` adds the planning and the writes; on Ray, actors hold a :class:`Preparer`
    (:mod:`ragbench.ingestion._ray`) and the driver's runner writes what they prepared.
    """

    def __init__(
        self,
        tenant: str,
        *,
        embedder,
        chunker,
        max_attempts: int,
        language: Callable[[str], str | None] | None,
        embed_batch: int,
    ) -> None:
        self.tenant, self.embedder, self.chunker = tenant, embedder, chunker
        self.max_attempts, self.embed_batch, self.language = max_attempts, embed_batch, language
        if language is None:
            self.detect = None
        elif language is detect_language:
            self.detect = detect_languages  # same answers, all cores
        else:
            self.detect = lambda texts: [language(t) for t in texts]

    def embed_each(self, works: list[Work]) -> None:
        """Embed every loaded document's chunks into ``work.vectors`` (one call for all, else each alone)."""
        live = [w for w in works if w.doc is not None]
        for w in live:
            w.status.attempts = max(w.status.attempts, 1)
        try:
            vectors = self._embed([c for w in live for c in w.chunks])
            offset = 0
            for w in live:
                w.vectors = vectors.rows(offset, offset + len(w.chunks)) if vectors is not None and w.chunks else None
                offset += len(w.chunks)
            return
        except Exception:
            pass
        for w in live:

            def embed(w: Work = w) -> None:
                w.vectors = self._embed(w.chunks)

            self._attempts(w, embed, first=2)

    # -------------------------------------------------------------- items
    def prepare(self, pairs: list[tuple[int, Item]]) -> list[Work]:
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

    def _attempts(self, work: Work, step: Callable[[], None], *, first: int = 1) -> bool:
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
                self._fail(work, reason(exc), attempt)
                return False
            except Exception as exc:
                if disk_problem(exc) is not None:  # the disk, not this document: stop the job
                    raise
                if attempt == self.max_attempts:
                    self._fail(work, reason(exc), attempt)
                    return False
        return False  # pragma: no cover

    def _load(self, seq: int, item: Item) -> Work:
        status = DocumentStatus(key=item.key, source=item.source, content_type=item.content_type, size=item.size)
        work = Work(seq, item, status)

        def load() -> None:
            work.doc = item.load(self.tenant, language=None)  # detected per group, see prepare

        self._attempts(work, load)
        return work

    def _chunk(self, work: Work) -> None:
        def chunk() -> None:
            work.chunks = list(self.chunker([work.doc]))

        if self._attempts(work, chunk):
            doc, status = work.doc, work.status
            status.doc_id, status.title, status.language = doc.id, doc.title, doc.language or ""
            status.chunks = len(work.chunks)

    @staticmethod
    def _fail(work: Work, reason: str, attempts: int) -> Work:
        work.status.status, work.status.error, work.status.attempts = "failed", reason, attempts
        work.doc, work.chunks = None, []
        return work

    def _embed(self, chunks: list[Chunk]) -> Embeddings | None:
        """Embed chunk contents in calls of ``embed_batch`` texts; a :class:`ColumnEmbedder` (BGE-M3)
        contributes its extra columns (sparse, ColBERT), which the store writes next to the vectors."""
        if self.embedder is None or not chunks:
            return None
        texts = [c.content for c in chunks]
        columns = isinstance(self.embedder, ColumnEmbedder)
        parts = [
            self.embedder.embed_document_columns(batch) if columns else Embeddings(self.embedder.embed_documents(batch))
            for batch in (texts[i : i + self.embed_batch] for i in range(0, len(texts), self.embed_batch))
        ]
        return parts[0] if len(parts) == 1 else Embeddings.concat(parts)


class Runner(Preparer):
    """Processes batches of one job; holds the parts, never the whole config."""

    def __init__(
        self,
        job: JobStatus,
        *,
        store: IngestStore,
        embedder,
        chunker,
        max_attempts: int,
        language: Callable[[str], str | None] | None,
        embed_batch: int,
    ) -> None:
        super().__init__(
            job.tenant,
            embedder=embedder,
            chunker=chunker,
            max_attempts=max_attempts,
            language=language,
            embed_batch=embed_batch,
        )
        self.job, self.store = job, store
        self.fingerprint = repr(chunker)
        self.db = store.tenant_db(job.tenant)
        self.wrote = False
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"ingest-{job.tenant}")
        self.pending: Future | None = None
        self.inflight: set[str] = set()  # keys of the batch being committed
        self.prepared = False  # True: documents arrive embedded (executor=ray, ragbench.ingestion._ray)
        self.unmaintained = 0  # chunk rows committed since the tables' lookups were last maintained
        self.maintained: list[float] = []  # seconds of each maintenance (index_stats: maintain_runs, maintain_s)

    # -------------------------------------------------------------- one batch
    def flush(self, batch: list[Work]) -> None:
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

    def _plan(self, batch: list[Work], old: dict) -> list[Work]:
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
            committed = Committed.of(old.get(w.item.key, {}), present, self.fingerprint)
            if committed is not None and committed.covers(w.doc):
                w.status.status = "skipped"
                continue
            w.drop = sorted(prevs[w.item.key] | {w.doc.id})  # recorded as the intent
            w.delete = [d for d in w.drop if d in present]  # what the commit must actually remove
            todo.append(w)
        return todo

    def committed(self, items: list[Item]) -> dict[str, Committed]:
        """What is committed for ``items``' keys, before they are loaded (:func:`committed_keys`)."""
        return committed_keys(self.db, self.store, self.tenant, self.fingerprint, items)

    def _mark_duplicates(self, batch: list[Work], old: dict) -> None:
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

    def _vectors(self, todo: list[Work]) -> list[tuple[list[Work], object]]:
        """Embed the batch in one go; if that fails, each document alone with retries.

        Returns groups of (documents, their vectors) to commit; documents whose embedding
        failed on every attempt are recorded as failed and left out. Documents embedded by Ray
        actors (``prepared``) bring their vectors.
        """
        if self.prepared:  # a document an actor left unembedded (it was unchanged then) is embedded here
            missing = [w for w in todo if w.vectors is None and w.chunks and self.embedder is not None]
            if missing:
                self.embed_each(missing)
                todo = [w for w in todo if w.doc is not None]
            parts = [w.vectors for w in todo if w.vectors is not None]
            return [(todo, (parts[0] if len(parts) == 1 else Embeddings.concat(parts)) if parts else None)]
        try:
            vectors = self._embed([c for w in todo for c in w.chunks])
            for w in todo:
                w.status.attempts = max(w.status.attempts, 1)
            return [(todo, vectors)]
        except Exception:
            pass
        groups = []
        for w in todo:
            self._attempts(w, lambda w=w: groups.append(([w], self._embed(w.chunks))), first=2)
        return groups

    # -------------------------------------------------------------- writer thread
    def _write_batch(self, batch: list[Work], old: dict, groups: list) -> None:
        """Intents, then the atomic chunk commit(s), then statuses: the crash-safe order."""
        todo = [w for works, _ in groups for w in works]
        if todo:
            intents = [self._doc_row(w, old, "processing") for w in todo]
            _tables.upsert(self.db, "documents", intents)
            old.update((r["key"], r) for r in intents)
            for works, vectors in groups:
                self._commit(works, vectors)
        self._record(batch, old)
        every = self.store.maintain_every_rows
        if every and self.unmaintained >= every:
            self._maintain()

    def _maintain(self) -> None:
        """Rebuild the lookup indexes of the tables this job reads per batch (:meth:`LanceDBStore.maintain`,
        :func:`_tables.maintain`), so the lookups do not grow with them. A failure here costs speed,
        never data (the rows are committed already): it is logged and the job goes on."""
        self.unmaintained = 0
        start = time.perf_counter()
        try:
            self.store.maintain(self.job.tenant)
            for name in _tables.LOOKUPS:
                _tables.maintain(self.db, name)
        except Exception as exc:
            log.warning(
                "ingest %s: maintaining the lookup indexes failed (%s); the job goes on, its per-batch lookups "
                "read the whole table until the next try",
                self.job.tenant,
                reason(exc),
            )
            return
        self.maintained.append(time.perf_counter() - start)

    def _store(self, works: list[Work], vectors) -> None:
        chunks = [c for w in works for c in w.chunks]
        drop = sorted({d for w in works for d in w.delete})
        retrying(lambda: self.store.replace_documents(self.job.tenant, chunks, vectors, drop_doc_ids=drop))
        self.wrote = True
        self.unmaintained += len(chunks)
        for w in works:
            w.status.status = "completed"

    def _commit(self, works: list[Work], vectors) -> None:
        try:
            self._store(works, vectors)
            return
        except Exception as exc:
            if disk_problem(exc) is not None:
                raise
        offset = 0
        for w in works:
            part = vectors.rows(offset, offset + len(w.chunks)) if vectors is not None else None
            offset += len(w.chunks)
            self._attempts(w, lambda w=w, part=part: self._store([w], part), first=2)

    # -------------------------------------------------------------- bookkeeping
    def _doc_row(self, w: Work, old: dict, state: str) -> dict:
        row = dict(old.get(w.item.key, {}))
        s = w.status
        row.update(
            key=w.item.key,
            title=s.title,
            source=s.source,
            content_type=s.content_type,
            size=s.size,
            language=s.language,
            chunks=s.chunks,
            status=state,
            error=s.error,
            job_id=self.job.job_id,
            updated_at=time.time(),
        )
        if w.doc is not None and state != "failed":
            row["doc_id"] = w.doc.id
            row["chunker"] = self.fingerprint
            row["version"] = content_version(w.doc)
            row["prev_doc_ids"] = json.dumps(w.drop) if state == "processing" else ""
        return row

    def _record(self, batch: list[Work], old: dict) -> None:
        now = time.perf_counter()
        rows, items = [], []
        for w in batch:
            s = w.status
            s.seconds = now - w.started
            rows.append(self._doc_row(w, old, s.status))
            items.append(
                {**s.model_dump(), "item_id": f"{self.job.job_id}/{w.seq}", "job_id": self.job.job_id, "seq": w.seq}
            )
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
