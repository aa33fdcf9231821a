"""ColBERT reranking with BGE-M3: MaxSim between the query's and each candidate's token vectors."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ragbench.errors import ConfigError
from ragbench.rerankers.base import reorder
from ragbench.stores.m3 import M3_COLUMNS, M3Search, colbert_score
from ragbench.types import Hit, Query


class ColbertReranker:
    """Rerank by the BGE-M3 ColBERT score ``mean_q max_d cos(q, d)``.

    Candidates' ColBERT vectors are read from the store when its table holds them
    (written at ingestion), otherwise the candidates' texts are encoded (through the
    embedder's cache when it has one).

    Args:
        embedder: A :class:`ragbench.embedders.bge_m3.BGEM3Embedder` (injected by the wiring).
        store: Optional store with the M3 columns (injected by the wiring).

    Example:
        >>> RerankingRetriever(bm25, ColbertReranker(emb, store), candidates=50)  # doctest: +SKIP
    """

    def __init__(self, embedder, store=None) -> None:
        if not hasattr(embedder, "encode_queries"):
            raise ConfigError(f"ColbertReranker needs the BGE-M3 embedder (embedder=bge_m3), got {embedder!r}.")
        self.embedder = embedder
        self.store = store
        self._search = M3Search(store) if store is not None else None

    def _doc_vectors(self, tenant: str, hits: Sequence[Hit]) -> list[np.ndarray]:
        search = self._search
        if search is not None and search.store.has_tenant(tenant):
            table = search.store._table(tenant)
            if all(c in table.schema.names for c in M3_COLUMNS):
                rows = search.rows(tenant, [h.chunk_id for h in hits])
                if all(h.chunk_id in rows for h in hits):
                    return [rows[h.chunk_id]["colbert"] for h in hits]
        texts = [f"{h.title}\n{h.text}" if h.title else h.text for h in hits]
        return self.embedder.encode_documents(texts).colbert

    def rerank(self, queries: Sequence[Query], hits: Sequence[Sequence[Hit]], k: int) -> list[list[Hit]]:
        if not queries:
            return []
        enc = self.embedder.encode_queries([q.text for q in queries])
        out = []
        for q, qvecs, hs in zip(queries, enc.colbert, hits):
            docs = self._doc_vectors(q.tenant, hs) if hs else []
            out.append(reorder(hs, [colbert_score(qvecs, d) for d in docs], k, key="colbert"))
        return out

    def __repr__(self) -> str:
        return f"ColbertReranker(embedder={self.embedder!r})"
