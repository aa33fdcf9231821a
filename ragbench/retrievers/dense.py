"""Dense retrieval: embed the queries in one batch, then a vector search per query."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ragbench.protocols import Embedder, Store
from ragbench.types import Hit, Query


class DenseRetriever:
    """Adapter turning an :class:`Embedder` and a :class:`Store` into a retriever.

    Example:
        >>> retriever = DenseRetriever(embedder, store)  # doctest: +SKIP
        >>> retriever.retrieve([Query("vacation days?", tenant="acme")], k=5)  # doctest: +SKIP
    """

    name = "dense"

    def __init__(self, embedder: Embedder, store: Store, *, filters: Mapping[str, Any] | None = None) -> None:
        self.embedder = embedder
        self.store = store
        self.filters = dict(filters) if filters else None

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        if not queries:
            return []
        vectors = self.embedder.embed_queries([q.text for q in queries])
        return [self.store.search_vector(q.tenant, vec, k, filters=self.filters) for q, vec in zip(queries, vectors)]

    def __repr__(self) -> str:
        return f"DenseRetriever(embedder={self.embedder!r})"
