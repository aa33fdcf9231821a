"""The reranker protocol and the retrieve-then-rerank stage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ragbench.errors import ConfigError
from ragbench.protocols import Retriever
from ragbench.types import Hit, Query


@runtime_checkable
class Reranker(Protocol):
    """Reorders each query's hits, best first, and keeps the top ``k``."""

    def rerank(self, queries: Sequence[Query], hits: Sequence[Sequence[Hit]], k: int) -> list[list[Hit]]: ...


def reorder(hits: Sequence[Hit], scores: Sequence[float], k: int, *, key: str) -> list[Hit]:
    """New hits ordered by ``scores`` (ties: earlier rank first); the first-stage score is kept in ``scores``.

    Example:
        >>> hs = [Hit("a", "d", "t", "", 1.0), Hit("b", "d", "t", "", 0.5)]
        >>> [(h.chunk_id, h.scores) for h in reorder(hs, [0.1, 0.9], 2, key="ce")]
        [('b', {'retriever': 0.5, 'ce': 0.9}), ('a', {'retriever': 1.0, 'ce': 0.1})]
    """
    if len(scores) != len(hits):
        raise ConfigError(f"Reranker returned {len(scores)} scores for {len(hits)} hits.")
    order = sorted(range(len(hits)), key=lambda i: (-float(scores[i]), i))[:k]
    return [
        Hit(
            chunk_id=hits[i].chunk_id,
            doc_id=hits[i].doc_id,
            tenant=hits[i].tenant,
            text=hits[i].text,
            score=float(scores[i]),
            rank=rank,
            title=hits[i].title,
            scores={**hits[i].scores, "retriever": hits[i].score, key: float(scores[i])},
        )
        for rank, i in enumerate(order)
    ]


class RerankingRetriever:
    """Retrieve ``candidates`` hits with ``retriever``, rerank them and keep the top ``k``.

    Args:
        retriever: The first stage.
        reranker: Anything with ``rerank(queries, hits, k)``.
        candidates: Hits retrieved per query before reranking (the first stage's own k).

    Example:
        >>> r = RerankingRetriever(M3Retriever(emb, store, mode="dense"), ColbertReranker(emb), candidates=50)  # doctest: +SKIP
        >>> r.retrieve([Query("what is rag?", tenant="acme")], k=5)  # doctest: +SKIP
    """

    def __init__(self, retriever: Retriever, reranker: Reranker, *, candidates: int = 50) -> None:
        if candidates < 1:
            raise ConfigError(f"candidates must be >= 1, got {candidates}.")
        if not isinstance(reranker, Reranker):
            raise ConfigError(f"reranker must have rerank(queries, hits, k), got {reranker!r}.")
        self.retriever = retriever
        self.reranker = reranker
        self.candidates = int(candidates)
        self.name = "rerank"

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        if not queries:
            return []
        first = self.retriever.retrieve(queries, max(k, self.candidates))
        return self.reranker.rerank(queries, first, k)

    def __repr__(self) -> str:
        return f"RerankingRetriever({self.retriever!r}, {self.reranker!r}, candidates={self.candidates})"
