"""Hybrid retrieval: fuse the rankings of several retrievers with Reciprocal Rank Fusion.

RRF (Cormack et al., 2009) scores a chunk by ``sum_r 1 / (rrf_k + rank_r)`` over the
retrievers that returned it (``rank_r`` starting at 1); it needs no score calibration.
"""

from __future__ import annotations

from collections.abc import Sequence

from ragbench.errors import ConfigError
from ragbench.protocols import Retriever
from ragbench.types import Hit, Query


def rrf_fuse(rankings: Sequence[Sequence[Hit]], k: int, *, rrf_k: int = 60) -> list[Hit]:
    """Fuse ranked hit lists with RRF; ties are broken by best single rank, then chunk id.

    Example:
        >>> a = [Hit("c1", "d1", "t", "", 1.0), Hit("c2", "d2", "t", "", 0.5)]
        >>> b = [Hit("c2", "d2", "t", "", 9.0)]
        >>> [h.chunk_id for h in rrf_fuse([a, b], k=2)]
        ['c2', 'c1']
    """
    scores: dict[str, float] = {}
    best_rank: dict[str, int] = {}
    first: dict[str, Hit] = {}
    parts: dict[str, dict[str, float]] = {}
    for i, ranking in enumerate(rankings):
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + 1.0 / (rrf_k + rank)
            best_rank[hit.chunk_id] = min(best_rank.get(hit.chunk_id, rank), rank)
            first.setdefault(hit.chunk_id, hit)
            parts.setdefault(hit.chunk_id, {})[f"r{i}"] = hit.score
    order = sorted(scores, key=lambda c: (-scores[c], best_rank[c], c))[:k]
    fused = []
    for rank, chunk_id in enumerate(order):
        hit = first[chunk_id]
        fused.append(Hit(
            chunk_id=hit.chunk_id, doc_id=hit.doc_id, tenant=hit.tenant, text=hit.text,
            score=scores[chunk_id], rank=rank, title=hit.title, scores=parts[chunk_id],
        ))
    return fused


class HybridRetriever:
    """Run several retrievers and fuse their rankings with RRF.

    Args:
        retrievers: The retrievers to fuse (e.g. dense and BM25).
        candidates: How many hits to take from each retriever before fusing (at least ``k``).
        rrf_k: The RRF constant (60 in the original paper).
    """

    name = "hybrid"

    def __init__(self, retrievers: Sequence[Retriever], *, candidates: int = 50, rrf_k: int = 60) -> None:
        if len(retrievers) < 2:
            raise ConfigError(f"HybridRetriever needs at least 2 retrievers to fuse, got {len(retrievers)}.")
        if rrf_k < 1 or candidates < 1:
            raise ConfigError(f"rrf_k and candidates must be >= 1, got rrf_k={rrf_k}, candidates={candidates}.")
        self.retrievers = list(retrievers)
        self.candidates = candidates
        self.rrf_k = rrf_k

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        depth = max(k, self.candidates)
        per_retriever = [r.retrieve(queries, depth) for r in self.retrievers]
        return [
            rrf_fuse([lists[i] for lists in per_retriever], k, rrf_k=self.rrf_k) for i in range(len(queries))
        ]

    def __repr__(self) -> str:
        return f"HybridRetriever(retrievers={self.retrievers!r}, rrf_k={self.rrf_k})"
