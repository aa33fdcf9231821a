"""Every BGE-M3 mode end to end on the tiny model through LanceDB on disk, checked against brute force."""

import numpy as np
import pytest

from ragbench.data.chunking import WholeDocumentChunker
from ragbench.embedders.bge_m3 import BGEM3Embedder
from ragbench.errors import ConfigError, StoreError
from ragbench.ingestion.datasets import index_documents
from ragbench.retrievers.m3 import M3Retriever
from ragbench.stores import LanceDBStore
from ragbench.stores.m3 import colbert_score, sparse_score
from ragbench.types import Document, Query

TEXTS = [
    "retrieval augmented generation combines search with a language model",
    "the quick brown fox jumps over the lazy dog",
    "vector databases store dense embeddings for similarity search",
    "sparse lexical weights and colbert multi vectors are produced by bge m3",
    "tenant data must stay isolated in a multi tenant system",
    "a language model answers questions from retrieved passages",
    "the lazy dog sleeps while the fox runs",
    "similarity search over embeddings needs a vector index",
    "multi vector retrieval scores every query token",
    "isolated tenants never see each other's data",
    "search engines rank documents by lexical weights",
    "a brown dog and a quick fox",
]
QUESTIONS = ["dense vector search", "lazy fox and dog", "tenant isolation"]


@pytest.fixture(scope="module")
def m3(tiny_bge_m3, tmp_path_factory):
    root = tmp_path_factory.mktemp("m3-store")
    emb = BGEM3Embedder(tiny_bge_m3, cache_dir=str(root / "cache"), torch_threads=1)
    store = LanceDBStore(root / "db", space=emb.space)
    for tenant, texts in (("acme", TEXTS), ("harbor", TEXTS[:6])):
        docs = [Document(id=f"{tenant[0]}{i}", tenant=tenant, text=t) for i, t in enumerate(texts)]
        index_documents(docs, tenant=tenant, store=store, embedder=emb, chunker=WholeDocumentChunker())
    return emb, store


def _brute(emb, question):
    q = emb.encode_queries([question])
    d = emb.encode_documents(TEXTS)  # from the cache: the same vectors the store holds
    return {
        "dense": {f"a{i}": float(q.dense[0] @ d.dense[i]) for i in range(len(TEXTS))},
        "sparse": {f"a{i}": sparse_score(q.sparse[0], list(s), list(s.values())) for i, s in enumerate(d.sparse)},
        "colbert": {f"a{i}": colbert_score(q.colbert[0], c) for i, c in enumerate(d.colbert)},
    }


def test_store_holds_the_three_representations(m3):
    emb, store = m3
    table = store._table("acme")
    schema = table.schema
    assert str(schema.field("colbert").type) == "list<item: fixed_size_list<item: float>[64]>"
    assert {"vector", "sparse_ids", "sparse_weights"} <= set(schema.names)
    assert emb.forward_texts == len(TEXTS)  # harbor's texts came from the cache


@pytest.mark.parametrize("mode", ["dense", "sparse", "colbert"])
def test_single_modes_rank_like_brute_force(m3, mode):
    emb, store = m3
    retriever = M3Retriever(emb, store, mode=mode)
    for question in QUESTIONS:
        hits = retriever.retrieve([Query(question, tenant="acme")], k=5)[0]
        truth = _brute(emb, question)[mode]
        expected = sorted((s for s in truth.values() if mode != "sparse" or s > 0), reverse=True)[:5]
        assert [h.score for h in hits] == pytest.approx(expected, abs=1e-4)
        assert all(h.scores[mode] == pytest.approx(truth[h.doc_id], abs=1e-4) for h in hits)
        assert [h.rank for h in hits] == list(range(len(hits))) and all(h.tenant == "acme" for h in hits)


def test_native_colbert_search_matches_rescoring(m3):
    emb, store = m3
    native = M3Retriever(emb, store, mode="colbert", colbert_search="native")
    hits = native.retrieve([Query("multi vector query token", tenant="acme")], k=4)[0]
    truth = _brute(emb, "multi vector query token")["colbert"]
    assert [h.score for h in hits] == pytest.approx(sorted(truth.values(), reverse=True)[:4], abs=1e-4)


def test_all_combines_the_three_scores_with_the_configured_weights(m3):
    emb, store = m3
    for weights in ({}, {"dense": 0.1, "sparse": 0.7, "colbert": 0.2}):
        retriever = M3Retriever(emb, store, mode="all", weights=weights, candidates=len(TEXTS))
        w = {"dense": 0.4, "sparse": 0.2, "colbert": 0.4, **weights}
        for question in QUESTIONS:
            truth = _brute(emb, question)
            hits = retriever.retrieve([Query(question, tenant="acme")], k=len(TEXTS))[0]
            total = {d: sum(w[m] * truth[m][d] for m in w) for d in truth["dense"]}
            assert [h.doc_id for h in hits] == sorted(total, key=lambda d: (-total[d], f"{d}#0"))
            for h in hits:
                assert h.score == pytest.approx(total[h.doc_id], abs=1e-4)
                assert h.scores == pytest.approx({m: truth[m][h.doc_id] for m in w}, abs=1e-4)


def test_modes_stay_in_their_tenant_and_respect_filters(m3):
    emb, store = m3
    for mode in ("dense", "sparse", "colbert", "all"):
        retriever = M3Retriever(emb, store, mode=mode, filters={"doc_id": ["h1", "h2", "h3"]})
        hits = retriever.retrieve([Query("the lazy dog and vector search", tenant="harbor")], k=10)[0]
        assert hits and {h.doc_id for h in hits} <= {"h1", "h2", "h3"}, mode
        assert all(h.tenant == "harbor" for h in hits)


def test_clear_errors_for_wrong_embedder_mode_or_table(m3, minilm, tmp_path):
    emb, store = m3
    with pytest.raises(ConfigError, match="needs the BGE-M3 embedder"):
        M3Retriever(minilm, store, mode="all")
    with pytest.raises(ConfigError, match="Unknown M3 mode 'hybrid'"):
        M3Retriever(emb, store, mode="hybrid")
    with pytest.raises(ConfigError, match="Unknown M3 weight"):
        M3Retriever(emb, store, weights={"lexical": 1.0})
    plain = LanceDBStore(tmp_path / "plain", space=emb.space)
    from ragbench.types import Chunk

    plain.upsert("acme", [Chunk(id="x#0", doc_id="x", tenant="acme", text="hi")], np.ones((1, 64), np.float32) / 8)
    with pytest.raises(StoreError, match="Re-ingest with embedder=bge_m3"):
        M3Retriever(emb, plain, mode="sparse").retrieve([Query("hi", tenant="acme")], k=1)


def test_job_ingestion_writes_the_m3_columns_across_embedding_batches(m3, tmp_path):
    """The durable ingestion path (ragbench.ingestion) embeds in several batches and concatenates them."""
    from ragbench.data.chunking import SentenceChunker
    from ragbench.ingestion.ingest import ingest_path

    emb, _ = m3
    folder = tmp_path / "docs"
    folder.mkdir()
    for i, text in enumerate(TEXTS[:5]):
        (folder / f"doc{i}.txt").write_text(f"{text}. {TEXTS[i + 5]}.", encoding="utf-8")
    store = LanceDBStore(tmp_path / "db", space=emb.space)
    job = ingest_path(
        folder,
        tenant="jobs",
        store=store,
        embedder=emb,
        chunker=SentenceChunker(max_words=12, overlap=0),
        embed_batch=3,
    )
    assert job.status == "completed" and store.count("jobs") >= 10
    table = store._table("jobs").to_arrow()
    contents = table.column("content").to_pylist()
    fresh = emb.encode_documents(contents)  # each row's columns must be its own chunk's (row-aligned)
    for i, row in enumerate(table.select(["sparse_ids", "sparse_weights", "colbert", "vector"]).to_pylist()):
        assert dict(zip(row["sparse_ids"], row["sparse_weights"])) == pytest.approx(fresh.sparse[i], abs=1e-5)
        np.testing.assert_allclose(np.asarray(row["colbert"]), fresh.colbert[i], atol=1e-5)
        np.testing.assert_allclose(row["vector"], fresh.dense[i], atol=1e-5)
    hits = M3Retriever(emb, store, mode="all").retrieve([Query("tenant data isolated", tenant="jobs")], k=3)[0]
    assert len(hits) == 3 and all(h.tenant == "jobs" for h in hits)
