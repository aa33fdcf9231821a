"""BM25 retrieval through the store's native full-text index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ragbench.protocols import Store
from ragbench.types import Hit, Query


class BM25Retriever:
    """Lexical retrieval (LanceDB full-text search, BM25 scoring).

    Example:
        >>> BM25Retriever(store).retrieve([Query("vacation days", tenant="acme")], k=5)  # doctest: +SKIP
    """

    name = "bm25"

    def __init__(self, store: Store, *, filters: Mapping[str, Any] | None = None) -> None:
        self.store = store
        self.filters = dict(filters) if filters else None

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        return [self.store.search_text(q.tenant, q.text, k, filters=self.filters) for q in queries]

    def __repr__(self) -> str:
        return "BM25Retriever()"
