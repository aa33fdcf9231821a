"""BGE-M3 retrieval modes on LanceDB: ``dense``, ``sparse``, ``colbert`` and ``all``.

Each query is encoded once (one forward pass gives all three representations):

* ``dense``: vector search on the ``vector`` column (the store's index).
* ``sparse``: lexical matching score over an inverted (CSC) view of ``sparse_ids``/``sparse_weights``.
* ``colbert``: MaxSim over the ``colbert`` column: by default (``colbert_search="rescore"``) exact
  MaxSim over the dense and sparse top ``candidates``; ``"native"`` is LanceDB's multivector
  search over the whole table (exhaustive without a multivector index: slow above a few
  thousand chunks, see ``bench/bench_retrieval.py``).
* ``all``: the BGE-M3 paper's weighted sum
  ``w_dense * s_dense + w_sparse * s_sparse + w_colbert * s_colbert`` computed exactly over a
  candidate set (union of the dense and sparse top ``candidates``); default weights 0.4/0.2/0.4.

Every hit carries its component scores in ``Hit.scores`` (``dense``, ``sparse``, ``colbert``).
The storage design is explained in :mod:`ragbench.stores.m3`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ragbench.errors import ConfigError
from ragbench.stores.m3 import M3Search, _hit, colbert_score, sparse_score
from ragbench.types import Hit, Query

MODES = ("dense", "sparse", "colbert", "all")
DEFAULT_WEIGHTS = {"dense": 0.4, "sparse": 0.2, "colbert": 0.4}


def _check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    merged = {**DEFAULT_WEIGHTS, **dict(weights or {})}
    unknown = sorted(set(merged) - set(DEFAULT_WEIGHTS))
    if unknown:
        raise ConfigError(f"Unknown M3 weight(s) {unknown}: valid keys are dense, sparse, colbert.")
    bad = {k: v for k, v in merged.items() if float(v) < 0}
    if bad or sum(merged.values()) <= 0:
        raise ConfigError(f"M3 weights must be >= 0 and not all 0, got {merged}.")
    return {k: float(v) for k, v in merged.items()}


class M3Retriever:
    """Retrieve with one BGE-M3 mode (see the module docstring).

    Args:
        embedder: A :class:`ragbench.embedders.bge_m3.BGEM3Embedder` (injected by the wiring).
        store: The :class:`ragbench.stores.LanceDBStore` holding the M3 columns (injected).
        mode: ``"dense"``, ``"sparse"``, ``"colbert"`` or ``"all"``.
        weights: For ``all``: ``{dense, sparse, colbert}`` weights (missing keys keep 0.4/0.2/0.4).
        candidates: For ``all`` (and ``colbert`` rescoring): hits taken from the dense and the sparse
            search before rescoring.
        colbert_search: For ``colbert``: ``"rescore"`` (default) or ``"native"`` (see the module docstring).
        filters: Column filters applied in every search (see :func:`ragbench.stores._filters.build_filter`).

    Example:
        >>> r = M3Retriever(embedder, store, mode="all", weights={"sparse": 0.3})  # doctest: +SKIP
        >>> r.retrieve([Query("what is rag?", tenant="acme")], k=5)[0][0].scores  # doctest: +SKIP
        {'dense': 0.71, 'sparse': 0.12, 'colbert': 0.64}
    """

    def __init__(
        self,
        embedder,
        store,
        *,
        mode: str = "all",
        weights: Mapping[str, float] | None = None,
        candidates: int = 100,
        colbert_search: str = "rescore",
        filters: Mapping[str, Any] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"Unknown M3 mode {mode!r}. Valid: {', '.join(MODES)}.")
        if not hasattr(embedder, "encode_queries"):
            raise ConfigError(
                f"M3Retriever(mode={mode!r}) needs the BGE-M3 embedder (embedder=bge_m3), got {embedder!r}: "
                "only it produces sparse and ColBERT outputs."
            )
        if colbert_search not in ("rescore", "native"):
            raise ConfigError(f"Unknown colbert_search {colbert_search!r}. Valid: rescore, native.")
        if candidates < 1:
            raise ConfigError(f"candidates must be >= 1, got {candidates}.")
        self.embedder = embedder
        self.store = store
        self.mode = mode
        self.name = f"m3_{mode}"
        self.weights = _check_weights(weights)
        self.candidates = int(candidates)
        self.colbert_search = colbert_search
        self.filters = dict(filters) if filters else None
        self.search = M3Search(store)

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        if not queries:
            return []
        enc = self.embedder.encode_queries([q.text for q in queries])
        out = []
        for i, q in enumerate(queries):
            if self.mode == "dense":
                hits = self.store.search_vector(q.tenant, enc.dense[i], k, filters=self.filters)
            elif self.mode == "sparse":
                hits = self.search.sparse(q.tenant, enc.sparse[i], k, filters=self.filters)
            elif self.mode == "colbert" and self.colbert_search == "native":
                hits = self.search.colbert(q.tenant, enc.colbert[i], k, filters=self.filters)
            else:
                weights = self.weights if self.mode == "all" else {"dense": 0.0, "sparse": 0.0, "colbert": 1.0}
                hits = self._rescore(q.tenant, enc.dense[i], enc.sparse[i], enc.colbert[i], k, weights)
            out.append(hits if hits and hits[0].scores else [_with_scores(h, self.mode) for h in hits])
        return out

    def _rescore(
        self,
        tenant: str,
        dense: np.ndarray,
        sparse: dict[int, float],
        colbert: np.ndarray,
        k: int,
        w: Mapping[str, float],
    ) -> list[Hit]:
        """Exact weighted M3 score over the union of the dense and sparse top ``candidates``."""
        depth = max(k, self.candidates)
        first = self.store.search_vector(tenant, dense, depth, filters=self.filters)
        first += self.search.sparse(tenant, sparse, depth, filters=self.filters)
        rows = self.search.rows(tenant, [h.chunk_id for h in first])
        scored = []
        for chunk_id, row in rows.items():
            parts = {
                "dense": float(np.dot(dense, row["vector"])),
                "sparse": sparse_score(sparse, row["sparse_ids"], row["sparse_weights"]),
                "colbert": colbert_score(colbert, row["colbert"]),
            }
            total = w["dense"] * parts["dense"] + w["sparse"] * parts["sparse"] + w["colbert"] * parts["colbert"]
            scored.append((total, chunk_id, row, parts))
        scored.sort(key=lambda t: (-t[0], t[1]))
        return [_hit(row, total, rank, parts) for rank, (total, _, row, parts) in enumerate(scored[:k])]

    def __repr__(self) -> str:
        extra = f", weights={self.weights}" if self.mode == "all" else ""
        extra += f", colbert_search={self.colbert_search!r}" if self.mode == "colbert" else ""
        return f"M3Retriever(mode={self.mode!r}{extra})"


def _with_scores(hit: Hit, mode: str) -> Hit:
    return Hit(
        chunk_id=hit.chunk_id,
        doc_id=hit.doc_id,
        tenant=hit.tenant,
        text=hit.text,
        score=hit.score,
        rank=hit.rank,
        title=hit.title,
        scores={mode: hit.score},
    )
