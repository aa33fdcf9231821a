"""Index documents into a tenant store, doing only the work that is needed.

Chunks are keyed by ``<doc_id>#<position>`` and carry a content hash: unchanged
chunks are skipped (no re-embedding), changed ones are re-embedded and replaced,
and chunks of re-ingested documents that no longer exist are deleted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from ragbench.protocols import Embedder
from ragbench.stores.lancedb import LanceDBStore
from ragbench.types import Chunk, Document, content_hash

Chunker = Callable[[Iterable[Document]], Iterator[Chunk]]


@dataclass
class IndexStats:
    """What an indexing pass did for one tenant."""

    tenant: str
    documents: int = 0
    chunks: int = 0
    embedded: int = 0
    skipped: int = 0
    deleted: int = 0
    seconds: float = 0.0
    index: dict[str, float] = field(default_factory=dict)


def _batches(items: Sequence, size: int) -> Iterator[list]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def index_documents(
    documents: Sequence[Document], *, tenant: str, store: LanceDBStore, embedder: Embedder | None,
    chunker: Chunker, batch_size: int = 256, progress: bool = False,
) -> IndexStats:
    """Chunk, embed and upsert ``documents`` of ``tenant``; returns what was done.

    Example:
        >>> index_documents(docs, tenant="acme", store=store, embedder=emb, chunker=WholeDocumentChunker())  # doctest: +SKIP
    """
    start = time.perf_counter()
    stats = IndexStats(tenant=tenant, documents=len(documents))
    chunks = list(chunker(documents))
    stats.chunks = len(chunks)
    existing = store.chunk_hashes(tenant)
    todo = [c for c in chunks if existing.get(c.id) != content_hash(c.content)]
    stats.skipped = len(chunks) - len(todo)
    doc_ids = {d.id for d in documents}
    wanted = {c.id for c in chunks}
    stale = [cid for cid in existing if cid.rsplit("#", 1)[0] in doc_ids and cid not in wanted]
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"index {tenant}", unit="chunk")
    for batch in _batches(todo, batch_size):
        vectors = embedder.embed_documents([c.content for c in batch]) if embedder is not None else None
        store.upsert(tenant, batch, vectors)
        stats.embedded += len(batch)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    store.delete_chunks(tenant, stale)
    stats.deleted = len(stale)
    if todo or stale:
        stats.index = store.build_indexes(tenant)
    stats.seconds = time.perf_counter() - start
    return stats
