"""Index a dataset's documents into a tenant store: an ingestion job over in-memory documents.

There is one indexing path in ragbench: :func:`ragbench.ingestion.ingest.ingest_items`.
This wrapper feeds it a dataset's already-parsed documents (keeping their ids, which the
qrels refer to) and summarises the job as :class:`IndexStats`. So ``ragbench run`` gets
the same guarantees as ``ragbench ingest``: unchanged documents are skipped (no
re-embedding), a changed one's chunks are replaced atomically, an interrupted run
finishes on the next one, and the job with per-document statuses is recorded for the
dashboard. Documents without a language get the detected one, as files do, so the tenant's
record gets its languages and its full-text index reads them (see ``ragbench.ingestion.tenants``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from ragbench.protocols import Embedder, IngestStore
from ragbench.types import Chunk, Document

Chunker = Callable[[Iterable[Document]], Iterator[Chunk]]


@dataclass
class IndexStats:
    """What an indexing pass did for one tenant.

    ``written`` counts chunks written (new or changed documents), ``embedded`` those of them that were
    embedded (0 for a lexical-only run: BM25 indexes text, it embeds nothing), ``skipped`` chunks of
    unchanged documents, ``failed`` documents that could not be ingested.
    """

    tenant: str
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    skipped: int = 0
    written: int = 0
    failed: int = 0
    seconds: float = 0.0
    job_id: str = ""
    index: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: what was written, embedded, skipped and failed, e.g. for the CLI."""
        what = f"{self.embedded} embedded" if self.embedded or not self.written else "full-text only, none embedded"
        return (
            f"{self.tenant}: {self.documents} documents, {self.chunks} chunks "
            f"({self.written} indexed, {what}; {self.skipped} unchanged; {self.failed} failed documents) "
            f"in {self.seconds:.1f}s"
        )


def index_documents(
    documents: Sequence[Document],
    *,
    tenant: str,
    store: IngestStore,
    embedder: Embedder | None,
    chunker: Chunker,
    batch_size: int = 2048,
    commit_seconds: float = 5.0,
    progress: bool = False,
    executor=None,
) -> IndexStats:
    """Chunk, embed and write ``documents`` of ``tenant`` as one ingestion job; returns what was done.

    Example:
        >>> index_documents(docs, tenant="acme", store=store, embedder=emb, chunker=WholeDocumentChunker())  # doctest: +SKIP
    """
    from ragbench.ingestion.ingest import ingest_items
    from ragbench.ingestion.jobs import get_job
    from ragbench.ingestion.loaders import Item
    from ragbench.language import detect_language

    start = time.perf_counter()
    index: dict[str, float] = {}
    job = ingest_items(
        (Item.from_document(d) for d in documents),
        tenant=tenant,
        store=store,
        embedder=embedder,
        chunker=chunker,
        batch_size=batch_size,
        commit_seconds=commit_seconds,
        total=len(documents),
        progress=progress,
        language=detect_language,
        settings={"source": "dataset"},
        index_stats=index,
        executor=executor,
    )
    statuses = get_job(store, tenant, job.job_id).documents
    return IndexStats(
        tenant=tenant,
        documents=len(documents),
        chunks=sum(d.chunks for d in statuses if d.status != "failed"),
        written=(written := sum(d.chunks for d in statuses if d.status == "completed")),
        embedded=written if embedder is not None else 0,
        skipped=sum(d.chunks for d in statuses if d.status == "skipped"),
        failed=job.failed,
        seconds=time.perf_counter() - start,
        job_id=job.job_id,
        index=index,
    )
