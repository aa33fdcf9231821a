"""Retrieval metrics from graded qrels, computed as trec_eval does.

Each takes the ranked document ids of one question and its qrels
(``{doc_id: grade}``); a document counts as relevant when its grade is > 0.
nDCG uses linear gains (``grade / log2(rank + 1)``), as trec_eval's ``ndcg_cut``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def _relevant(qrels: Mapping[str, int]) -> set[str]:
    return {d for d, g in qrels.items() if g > 0}


def recall_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents found in the top ``k``.

    Example:
        >>> recall_at_k(["a", "x", "b"], {"a": 1, "b": 1, "c": 1}, k=2)
        0.3333333333333333
    """
    rel = _relevant(qrels)
    return len(rel.intersection(ranked[:k])) / len(rel) if rel else 0.0


def precision_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Relevant documents in the top ``k`` divided by ``k`` (trec_eval ``P_k``)."""
    return len(_relevant(qrels).intersection(ranked[:k])) / k


def mrr_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant document within the top ``k`` (0 if none).

    Example:
        >>> mrr_at_k(["x", "a"], {"a": 1}, k=10)
        0.5
    """
    rel = _relevant(qrels)
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc in rel:
            return 1.0 / rank
    return 0.0


def hit_rate_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """1.0 if any relevant document is in the top ``k``, else 0.0."""
    return 1.0 if _relevant(qrels).intersection(ranked[:k]) else 0.0


def ndcg_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Normalised discounted cumulative gain at ``k`` with linear gains.

    Example:
        >>> round(ndcg_at_k(["x", "a"], {"a": 1}, k=10), 6)
        0.63093
    """
    dcg = sum(max(qrels.get(doc, 0), 0) / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], start=1))
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def average_precision_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Average precision over the top ``k`` (trec_eval ``map_cut_k``)."""
    rel = _relevant(qrels)
    if not rel:
        return 0.0
    found, total = 0, 0.0
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc in rel:
            found += 1
            total += found / rank
    return total / len(rel)
