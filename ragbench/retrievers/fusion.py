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
        fused.append(
            Hit(
                chunk_id=hit.chunk_id,
                doc_id=hit.doc_id,
                tenant=hit.tenant,
                text=hit.text,
                score=scores[chunk_id],
                rank=rank,
                title=hit.title,
                scores=parts[chunk_id],
            )
        )
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
        return [rrf_fuse([lists[i] for lists in per_retriever], k, rrf_k=self.rrf_k) for i in range(len(queries))]

    def __repr__(self) -> str:
        return f"HybridRetriever(retrievers={self.retrievers!r}, rrf_k={self.rrf_k})"


def weighted_fuse(
    rankings: Sequence[Sequence[Hit]], k: int, *, weights: Sequence[float] | None = None, normalize: str = "minmax"
) -> list[Hit]:
    """Fuse ranked hit lists by a weighted sum of their (normalised) scores.

    ``normalize="minmax"`` maps each list's scores to [0, 1] first (scores of different
    retrievers are not on one scale); ``"none"`` sums raw scores. A chunk missing from a
    list gets 0 from it. Ties are broken by chunk id.

    Example:
        >>> a = [Hit("c1", "d1", "t", "", 2.0), Hit("c2", "d2", "t", "", 1.0)]
        >>> b = [Hit("c2", "d2", "t", "", 0.9), Hit("c1", "d1", "t", "", 0.1)]
        >>> [(h.chunk_id, round(h.score, 2)) for h in weighted_fuse([a, b], k=2, weights=[0.3, 0.7])]
        [('c2', 0.7), ('c1', 0.3)]
    """
    if normalize not in ("minmax", "none"):
        raise ConfigError(f"Unknown normalize {normalize!r}. Valid: minmax, none.")
    weights = list(weights) if weights is not None else [1.0] * len(rankings)
    if len(weights) != len(rankings):
        raise ConfigError(f"Got {len(weights)} weights for {len(rankings)} rankings: give one weight per retriever.")
    scores: dict[str, float] = {}
    first: dict[str, Hit] = {}
    parts: dict[str, dict[str, float]] = {}
    for i, (ranking, weight) in enumerate(zip(rankings, weights)):
        values = [h.score for h in ranking]
        lo, hi = (min(values), max(values)) if values else (0.0, 0.0)
        for hit in ranking:
            value = hit.score if normalize == "none" else ((hit.score - lo) / (hi - lo) if hi > lo else 1.0)
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + weight * value
            first.setdefault(hit.chunk_id, hit)
            parts.setdefault(hit.chunk_id, {})[f"r{i}"] = hit.score
    order = sorted(scores, key=lambda c: (-scores[c], c))[:k]
    return [
        Hit(
            chunk_id=c,
            doc_id=first[c].doc_id,
            tenant=first[c].tenant,
            text=first[c].text,
            score=scores[c],
            rank=rank,
            title=first[c].title,
            scores=parts[c],
        )
        for rank, c in enumerate(order)
    ]


class FusionRetriever:
    """Run several retrievers and fuse their rankings with RRF or a weighted score sum.

    Args:
        retrievers: The retrievers to fuse.
        method: ``"rrf"`` or ``"weighted"``.
        weights: For ``weighted``: one weight per retriever (default all 1).
        normalize: For ``weighted``: ``"minmax"`` (default) or ``"none"``.
        candidates: Hits taken from each retriever before fusing (at least ``k``).
        rrf_k: The RRF constant.

    Example:
        >>> FusionRetriever([dense, bm25], method="weighted", weights=[0.7, 0.3])  # doctest: +SKIP
    """

    def __init__(
        self,
        retrievers: Sequence[Retriever],
        *,
        method: str = "rrf",
        weights: Sequence[float] | None = None,
        normalize: str = "minmax",
        candidates: int = 50,
        rrf_k: int = 60,
    ) -> None:
        if method not in ("rrf", "weighted"):
            raise ConfigError(f"Unknown fusion method {method!r}. Valid: rrf, weighted.")
        if len(retrievers) < 2:
            raise ConfigError(f"FusionRetriever needs at least 2 retrievers to fuse, got {len(retrievers)}.")
        if weights is not None and len(weights) != len(retrievers):
            raise ConfigError(f"Got {len(weights)} weights for {len(retrievers)} retrievers: give one per retriever.")
        if candidates < 1 or rrf_k < 1:
            raise ConfigError(f"rrf_k and candidates must be >= 1, got rrf_k={rrf_k}, candidates={candidates}.")
        self.retrievers = list(retrievers)
        self.method = method
        self.weights = [float(w) for w in weights] if weights is not None else None
        self.normalize = normalize
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.name = f"fusion_{method}"

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        depth = max(k, self.candidates)
        per = [r.retrieve(queries, depth) for r in self.retrievers]
        lists = [[ranking[i] for ranking in per] for i in range(len(queries))]
        if self.method == "rrf":
            return [rrf_fuse(rankings, k, rrf_k=self.rrf_k) for rankings in lists]
        return [weighted_fuse(rankings, k, weights=self.weights, normalize=self.normalize) for rankings in lists]

    def __repr__(self) -> str:
        return f"FusionRetriever(method={self.method!r}, retrievers={self.retrievers!r}, weights={self.weights})"
