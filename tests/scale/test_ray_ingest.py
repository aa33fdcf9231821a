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


def test_one_actor_pool_for_every_tenant_and_call(ray_cluster, tmp_path):
    """Inside one_actor_pool(), three tenants and the first one again: every document is prepared by the same
    actor process (one pool, started once), with the chunks of a local ingest; the pool is released at the end
    of the block (its CPUs freed), and a call outside a block releases its own."""
    from ragbench.ingestion import _ray
    from ragbench.ingestion.datasets import index_documents
    from ragbench.ingestion.ingest import one_actor_pool
    from ragbench.types import Document

    embedder = static_embedder()
    ray_store = LanceDBStore(tmp_path / "ray", space=embedder.space)
    local_store = LanceDBStore(tmp_path / "local", space=embedder.space)
    executor = ExecutorSettings(kind="ray", address=ray_cluster, batch_size=4)
    tenants = {
        t: [
            Document(id=f"{t}-{i}", tenant=t, text=f"Text {i} of tenant {t}. One more sentence here.") for i in range(6)
        ]
        for t in ("alpha", "beta", "gamma")
    }
    pids: dict[str, set[int]] = {}

    def index(tenant: str) -> None:
        _ray.ON_ROW.append(hook := lambda pid: pids.setdefault(tenant, set()).add(pid))
        try:
            stats = index_documents(
                tenants[tenant], tenant=tenant, store=ray_store, embedder=embedder, chunker=CHUNKER, executor=executor
            )
        finally:
            _ray.ON_ROW.remove(hook)
        assert stats.failed == 0

    with one_actor_pool():
        for tenant in [*tenants, "alpha"]:
            index(tenant)
        assert len(_ray._POOL) == 1
    assert len(set().union(*pids.values())) == 1 and pids.keys() == set(tenants)  # one actor served them all
    assert os.getpid() not in pids["alpha"] and _ray._POOL == []  # released at the end of the block
    index("beta")  # outside a block: a pool for this call only
    assert _ray._POOL == []
    for tenant, docs in tenants.items():
        index_documents(docs, tenant=tenant, store=local_store, embedder=embedder, chunker=CHUNKER)
        assert ray_store.chunk_hashes(tenant) == local_store.chunk_hashes(tenant) != {}
