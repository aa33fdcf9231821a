"""Ingestion on Ray skips unchanged documents before embedding them, as the local path does
(one Ray instance per session: conftest)."""

from __future__ import annotations

import os
from pathlib import Path

from ragbench.data.chunking import SentenceChunker
from ragbench.embedders.static import static_embedder
from ragbench.executor import ExecutorSettings
from ragbench.ingestion.ingest import ingest_path
from ragbench.stores.lancedb import LanceDBStore
from ragbench.testing.faults import CountingEmbedder, embedded_texts

CHUNKER = SentenceChunker(max_words=12, overlap=0)


def _corpus(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        (folder / f"doc{i:02d}.txt").write_text(
            f"Document {i} tells a short story about topic {i % 5} today. "
            "Its second sentence adds a few more words to it.\n"
        )
    return folder


def test_unchanged_documents_are_not_embedded_again_on_ray(ray_cluster, tmp_path):
    """Re-ingesting an unchanged folder on Ray embeds 0 texts (counted in the actors) and leaves the chunk set
    identical; after one file changes, only that file's chunks are embedded."""
    corpus, calls = _corpus(tmp_path / "docs", 12), tmp_path / "embed-calls.log"
    embedder = CountingEmbedder(static_embedder(), calls)
    store = LanceDBStore(tmp_path / "store", space=embedder.space)
    executor = ExecutorSettings(kind="ray", address=ray_cluster, batch_size=4)

    def ingest():
        return ingest_path(corpus, tenant="acme", store=store, embedder=embedder, chunker=CHUNKER, executor=executor)

    first = ingest()
    chunks = store.chunk_hashes("acme")
    assert (first.completed, first.failed, len(chunks)) == (12, 0, 24)
    assert embedded_texts(calls) == 24  # two sentences per document, each embedded once, in the actors
    assert all(int(line.split()[0]) != os.getpid() for line in calls.read_text().splitlines())

    again = ingest()
    assert (again.skipped, again.completed, again.failed) == (12, 0, 0)
    assert embedded_texts(calls) == 24  # nothing embedded this time
    assert store.chunk_hashes("acme") == chunks

    (corpus / "doc03.txt").write_text(
        "Document three was rewritten from the start this morning. Its second sentence is entirely new as well.\n"
    )
    changed = ingest()
    assert (changed.skipped, changed.completed) == (11, 1)
    assert embedded_texts(calls) == 24 + 2  # only the changed document's two chunks
    after = store.chunk_hashes("acme")
    assert len(after) == 24 and len(set(after) - set(chunks)) == 2
