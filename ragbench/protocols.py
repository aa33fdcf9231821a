"""Small, batch-first protocols that components implement.

They are ``runtime_checkable`` so wiring code and tests can check a component
with ``isinstance``. Adapters wrap what does not fit (``DenseRetriever`` turns an
:class:`Embedder` plus a :class:`Store` into a :class:`Retriever`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ragbench.types import Answer, Chunk, Embeddings, Hit, Query, QuestionResult, Sample


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised dense vectors."""

    model_id: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class ColumnEmbedder(Embedder, Protocol):
    """An embedder with more per-document outputs than a dense vector (BGE-M3: sparse and ColBERT).

    Ingestion asks it for :meth:`embed_document_columns`, whose extra columns the store writes
    next to ``vector``; everything else uses the plain :class:`Embedder` methods.
    """

    def embed_document_columns(self, texts: Sequence[str]) -> Embeddings: ...


@runtime_checkable
class Store(Protocol):
    """Per-tenant storage and search of chunks; every call names its tenant."""

    def upsert(self, tenant: str, chunks: Sequence[Chunk], vectors: np.ndarray | None = None) -> int: ...

    def search_vector(
        self, tenant: str, vector: np.ndarray, k: int, *, filters: Mapping[str, Any] | None = None
    ) -> list[Hit]: ...

    def search_text(
        self, tenant: str, text: str, k: int, *, filters: Mapping[str, Any] | None = None
    ) -> list[Hit]: ...

    def count(self, tenant: str) -> int: ...

    def tenants(self) -> list[str]: ...


@runtime_checkable
class Retriever(Protocol):
    """Returns the top-``k`` hits for each query, best first."""

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]: ...


@runtime_checkable
class Generator(Protocol):
    """Answers each query from its retrieved hits; failures come back as ``Answer.error``."""

    def generate(self, queries: Sequence[Query], contexts: Sequence[Sequence[Hit]]) -> list[Answer]: ...


@runtime_checkable
class Metric(Protocol):
    """Scores one evaluated question; returns ``{}`` when it does not apply (e.g. no gold answer)."""

    name: str
    higher_is_better: bool

    def __call__(self, sample: Sample, result: QuestionResult) -> dict[str, float]: ...
