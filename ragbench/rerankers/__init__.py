"""Rerankers: reorder a retriever's candidates (``rerank(queries, hits, k)``), and the retrieve-then-rerank stage.

* :class:`FlagEmbeddingReranker` - a cross-encoder through ``FlagEmbedding.FlagReranker``
  (e.g. a local bge-reranker-v2-m3 folder).
* :class:`ColbertReranker` - BGE-M3 ColBERT MaxSim between the query and each candidate.
* :class:`RerankingRetriever` - ``RerankingRetriever(retriever, reranker, candidates=50)``.

Heavy libraries are imported only when a model is first used.
"""

from ragbench.rerankers.base import Reranker, RerankingRetriever
from ragbench.rerankers.colbert import ColbertReranker
from ragbench.rerankers.cross_encoder import FlagEmbeddingReranker

__all__ = ["ColbertReranker", "FlagEmbeddingReranker", "Reranker", "RerankingRetriever"]
