"""Dense, BM25 and hybrid retrieval through a real LanceDB store and the packaged MiniLM."""

import pytest

from ragbench.data.chunking import WholeDocumentChunker
from ragbench.errors import ConfigError
from ragbench.ingestion.datasets import index_documents
from ragbench.retrievers import BM25Retriever, DenseRetriever, HybridRetriever, rrf_fuse
from ragbench.stores import LanceDBStore
from ragbench.types import Document, Hit, Query

DOCS = {
    "acme": [
        "Employees receive 25 vacation days each year.",
        "Passwords rotate every 90 days.",
        "The robot arm lifts 12 kilograms.",
        "The cafeteria serves lunch at noon.",
    ],
    "harbor": ["Clinic staff receive 22 vacation days each year.", "Passwords rotate every 60 days."],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory, minilm):
    store = LanceDBStore(tmp_path_factory.mktemp("r"), space=minilm.space)
    for tenant, texts in DOCS.items():
        docs = [Document(id=f"{tenant}-{i}", tenant=tenant, text=t) for i, t in enumerate(texts)]
        stats = index_documents(docs, tenant=tenant, store=store, embedder=minilm, chunker=WholeDocumentChunker())
        assert stats.embedded == len(texts)
    return store


@pytest.mark.parametrize("kind", ["dense", "bm25", "hybrid"])
def test_each_retriever_finds_the_right_document_in_its_tenant(store, minilm, kind):
    dense, bm25 = DenseRetriever(minilm, store), BM25Retriever(store)
    retriever = {"dense": dense, "bm25": bm25, "hybrid": HybridRetriever([dense, bm25])}[kind]
    queries = [
        Query("how many vacation days", "acme"),
        Query("how many vacation days", "harbor"),
        Query("password rotation", "acme"),
    ]
    results = retriever.retrieve(queries, k=2)
    assert [r[0].doc_id for r in results] == ["acme-0", "harbor-0", "acme-1"]
    assert all(h.tenant == q.tenant for q, hits in zip(queries, results) for h in hits)
    assert all(r[0].score >= r[-1].score for r in results)


def test_reindexing_unchanged_documents_embeds_nothing(store, minilm):
    docs = [Document(id=f"acme-{i}", tenant="acme", text=t) for i, t in enumerate(DOCS["acme"])]
    before = minilm.forward_texts
    stats = index_documents(docs, tenant="acme", store=store, embedder=minilm, chunker=WholeDocumentChunker())
    assert stats.embedded == 0 and stats.skipped == 4 and minilm.forward_texts == before


def test_rrf_exact_scores():
    a = [Hit("c1", "d1", "t", "", 0.9), Hit("c2", "d2", "t", "", 0.8)]
    b = [Hit("c2", "d2", "t", "", 5.0), Hit("c3", "d3", "t", "", 4.0)]
    fused = rrf_fuse([a, b], k=3, rrf_k=60)
    assert [h.chunk_id for h in fused] == ["c2", "c1", "c3"]
    assert fused[0].score == pytest.approx(1 / 62 + 1 / 61)
    assert fused[1].score == pytest.approx(1 / 61) and fused[2].score == pytest.approx(1 / 62)
    assert [h.rank for h in fused] == [0, 1, 2]


def test_hybrid_needs_two_retrievers(store):
    with pytest.raises(ConfigError, match="at least 2 retrievers"):
        HybridRetriever([BM25Retriever(store)])
