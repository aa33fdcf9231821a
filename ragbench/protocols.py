"""Small, batch-first protocols that components implement.

They are ``runtime_checkable`` so wiring code and tests can check a component
with ``isinstance``. Adapters wrap what does not fit (``DenseRetriever`` turns an
:class:`Embedder` plus a :class:`Store` into a :class:`Retriever`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ragbench.types import Answer, Chunk, Completion, Embeddings, Hit, Query, QuestionResult, Sample


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

    def search_text(self, tenant: str, text: str, k: int, *, filters: Mapping[str, Any] | None = None) -> list[Hit]: ...

    def count(self, tenant: str) -> int: ...

    def tenants(self) -> list[str]: ...


@runtime_checkable
class IngestStore(Store, Protocol):
    """What durable ingestion needs of a store beyond :class:`Store`: the tenant's bookkeeping database,
    an atomic replace of documents' chunks, and index maintenance (:class:`ragbench.stores.LanceDBStore`)."""

    uri: str
    maintain_every_rows: int  # ingestion calls maintain() after this many chunk rows (0: never)

    def tenant_db(self, tenant: str) -> Any: ...

    def has_tenant(self, tenant: str) -> bool: ...

    def delete_tenant(self, tenant: str) -> None: ...

    def replace_documents(
        self,
        tenant: str,
        chunks: Sequence[Chunk],
        vectors: np.ndarray | Embeddings | None = None,
        *,
        drop_doc_ids: Sequence[str] = (),
    ) -> int: ...

    def chunk_doc_ids(self, tenant: str, doc_ids: Sequence[str]) -> set[str]: ...

    def maintain(self, tenant: str) -> list[str]: ...

    def delete_documents(self, tenant: str, doc_ids: Sequence[str]) -> int: ...

    def build_indexes(self, tenant: str) -> dict[str, float]: ...

    def rebuild_text_index(self, tenant: str) -> bool: ...

    def languages_of(self, tenant: str) -> list[str]: ...

    def text_analysis_for(self, tenant: str) -> Any: ...


@runtime_checkable
class Tracker(Protocol):
    """Where runs are logged (:class:`ragbench.tracking.MLflowTracker`, or :class:`NullTracker` for none)."""

    run_id: str | None
    tracking_uri: str | None

    def start_run(
        self,
        *,
        run_name: str | None = None,
        tags: Mapping[str, str] | None = None,
        run_id: str | None = None,
        parent_run_id: str | None = None,
    ) -> AbstractContextManager[str | None]: ...

    def log_config(self, config: Mapping[str, Any]) -> None: ...

    def log_metrics(self, metrics: Mapping[str, float]) -> None: ...

    def log_params(self, params: Mapping[str, Any]) -> None: ...

    def set_tags(self, tags: Mapping[str, Any]) -> None: ...

    def log_series(self, series: Mapping[str, Sequence[tuple[int, float, float]]]) -> None: ...

    def log_table(self, rows: list[dict], name: str) -> None: ...

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None: ...

    def log_input(self, frame: Any, *, name: str, context: str = "evaluation") -> str | None: ...

    def log_figure(self, figure: Any, artifact_file: str) -> None: ...

    def mark_killed(self, run_id: str, *, reason: str = "") -> bool: ...


@runtime_checkable
class Retriever(Protocol):
    """Returns the top-``k`` hits for each query, best first."""

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]: ...


@runtime_checkable
class Generator(Protocol):
    """Answers each query from its retrieved hits; failures come back as ``Answer.error``."""

    def generate(self, queries: Sequence[Query], contexts: Sequence[Sequence[Hit]]) -> list[Answer]: ...


@runtime_checkable
class ChatLLM(Protocol):
    """Completes chat prompts: what a RAG method's intermediate steps (rewrite, decompose, ...) call.

    The LLM generators implement it on their own engine (one engine serves a method's steps and its
    answers). One :class:`~ragbench.types.Completion` comes back per prompt; a failed call is a
    completion with ``error`` set, never an exception, and the other prompts go on.
    """

    def complete(
        self,
        prompts: Sequence[Sequence[Mapping[str, str]]],
        *,
        tenants: Sequence[str],
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> list[Completion]: ...


@runtime_checkable
class Metric(Protocol):
    """Scores one evaluated question; returns ``{}`` when it does not apply (e.g. no gold answer)."""

    name: str
    higher_is_better: bool

    def __call__(self, sample: Sample, result: QuestionResult) -> dict[str, float]: ...
