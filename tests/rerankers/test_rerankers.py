"""Rerankers on tiny real models: FlagReranker cross-encoder, BGE-M3 ColBERT, retrieve-then-rerank."""

import numpy as np
import pytest

from ragbench.data.chunking import WholeDocumentChunker
from ragbench.embedders.bge_m3 import BGEM3Embedder
from ragbench.errors import ConfigError, ModelError
from ragbench.ingestion.datasets import index_documents
from ragbench.rerankers import ColbertReranker, FlagEmbeddingReranker, Reranker, RerankingRetriever
from ragbench.retrievers.m3 import M3Retriever
from ragbench.stores import LanceDBStore
from ragbench.stores.m3 import colbert_score
from ragbench.types import Document, Query

TEXTS = [
    "vector databases store dense embeddings for similarity search",
    "the quick brown fox jumps over the lazy dog",
    "tenant data must stay isolated in a multi tenant system",
    "sparse lexical weights and colbert multi vectors",
    "a language model answers questions from retrieved passages",
    "similarity search over embeddings needs a vector index",
]


@pytest.fixture(scope="module")
def parts(tiny_bge_m3, tmp_path_factory):
    root = tmp_path_factory.mktemp("rerank")
    emb = BGEM3Embedder(tiny_bge_m3, torch_threads=1)
    store = LanceDBStore(root / "db", space=emb.space)
    docs = [Document(id=f"d{i}", tenant="acme", text=t) for i, t in enumerate(TEXTS)]
    index_documents(docs, tenant="acme", store=store, embedder=emb, chunker=WholeDocumentChunker())
    return emb, store


def test_cross_encoder_scores_are_flagrerankers_and_order_the_hits(parts, tiny_reranker):
    from FlagEmbedding import FlagReranker

    emb, store = parts
    question = "vector similarity search"
    first = M3Retriever(emb, store, mode="dense").retrieve([Query(question, tenant="acme")], k=6)
    reranker = FlagEmbeddingReranker(tiny_reranker)
    assert isinstance(reranker, Reranker)
    reranked = reranker.rerank([Query(question, tenant="acme")], first, k=4)[0]
    ref = FlagReranker(tiny_reranker, use_fp16=False, devices="cpu")
    expected = {h.doc_id: float(s) for h, s in zip(first[0], ref.compute_score([(question, h.text) for h in first[0]]))}
    assert len(reranked) == 4 and reranker.pairs_scored == 6
    assert [h.score for h in reranked] == pytest.approx(sorted(expected.values(), reverse=True)[:4], abs=1e-5)
    for h in reranked:
        assert h.scores["cross_encoder"] == pytest.approx(expected[h.doc_id], abs=1e-5)
        assert h.scores["retriever"] == pytest.approx(next(x.score for x in first[0] if x.doc_id == h.doc_id))


def test_colbert_reranker_from_store_equals_from_encoding(parts):
    emb, store = parts
    question = "isolated tenant data"
    first = M3Retriever(emb, store, mode="sparse").retrieve([Query(question, tenant="acme")], k=6)
    from_store = ColbertReranker(emb, store).rerank([Query(question, tenant="acme")], first, k=3)[0]
    before = emb.forward_texts
    encoded = ColbertReranker(emb).rerank([Query(question, tenant="acme")], first, k=3)[0]
    assert emb.forward_texts > before + 1  # without a store it encodes the candidates
    q = emb.encode_queries([question]).colbert[0]
    d = emb.encode_documents(TEXTS).colbert
    truth = sorted(((colbert_score(q, d[int(h.doc_id[1:])]), h.doc_id) for h in first[0]), reverse=True)[:3]
    assert [h.doc_id for h in from_store] == [doc for _, doc in truth] == [h.doc_id for h in encoded]
    assert [h.score for h in from_store] == pytest.approx([s for s, _ in truth], abs=1e-4)


def test_reranking_retriever_fetches_candidates_then_keeps_k(parts):
    emb, store = parts

    class Spy:
        def __init__(self, inner):
            self.inner, self.asked = inner, []

        def retrieve(self, queries, k):
            self.asked.append(k)
            return self.inner.retrieve(queries, k)

    spy = Spy(M3Retriever(emb, store, mode="dense"))
    retriever = RerankingRetriever(spy, ColbertReranker(emb, store), candidates=5)
    hits = retriever.retrieve([Query("brown fox", tenant="acme"), Query("language model", tenant="acme")], k=2)
    assert spy.asked == [5] and [len(h) for h in hits] == [2, 2]
    assert all(h[0].score >= h[1].score for h in hits)
    assert np.isfinite([x.scores["colbert"] for h in hits for x in h]).all()


def test_reranker_errors(tmp_path, parts):
    with pytest.raises(ModelError, match="Reranker model folder .* does not exist"):
        FlagEmbeddingReranker(str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="candidates must be >= 1"):
        RerankingRetriever(M3Retriever(*parts, mode="dense"), ColbertReranker(parts[0]), candidates=0)
