"""The RAG pipeline: retrieve, then generate, timing each stage."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ragbench.errors import ConfigError
from ragbench.language import detect_language
from ragbench.pipelines.conversation import conversation_question
from ragbench.protocols import Generator, Retriever
from ragbench.retrievers.filtered import with_filters
from ragbench.schema import QueryRequest, QueryResponse, StageTimings
from ragbench.types import Answer, Hit, Query


class RAGPipeline:
    """Retrieve ``k`` chunks per query, then answer from them.

    Args:
        retriever: Any :class:`~ragbench.protocols.Retriever`.
        generator: Any :class:`~ragbench.protocols.Generator`.
        k: Chunks retrieved per query (a request's own ``k`` overrides it in :meth:`ask`).

    Example:
        >>> pipe = RAGPipeline(retriever, generator, k=5)  # doctest: +SKIP
        >>> pipe.ask(QueryRequest(question="How many vacation days?", tenant="acme-robotics")).answer  # doctest: +SKIP
    """

    def __init__(self, retriever: Retriever, generator: Generator, *, k: int = 5) -> None:
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}.")
        self.retriever = retriever
        self.generator = generator
        self.k = k

    def run(
        self, queries: Sequence[Query], *, k: int | None = None
    ) -> list[tuple[list[Hit], Answer, dict[str, float]]]:
        """Answer a batch; per-query stage timings are the batch's time divided by its size.

        A one-time model load inside the call (an answer's ``load_ms``, e.g. a vLLM engine started on
        the first generation-cache miss) is reported as its own ``load_ms`` stage and is not counted
        in ``generate_ms`` or ``total_ms``."""
        if not queries:
            return []
        n = len(queries)
        t0 = time.perf_counter()
        contexts = self.retriever.retrieve(list(queries), k or self.k)
        t1 = time.perf_counter()
        answers = self.generator.generate(list(queries), contexts)
        t2 = time.perf_counter()
        load_ms = max((a.timings.get("load_ms", 0.0) for a in answers if a is not None), default=0.0)
        timing = {
            "retrieve_ms": (t1 - t0) * 1000 / n,
            "generate_ms": ((t2 - t1) * 1000 - load_ms) / n,
            "total_ms": ((t2 - t0) * 1000 - load_ms) / n,
        }
        if load_ms:
            timing["load_ms"] = load_ms
        return [(hits, answer, dict(timing)) for hits, answer in zip(contexts, answers, strict=True)]

    def ask(self, request: QueryRequest, *, detected_language: str | None = None) -> QueryResponse:
        """Answer one validated API request.

        ``filters`` narrow the retrieval (:func:`ragbench.retrievers.filtered.with_filters`) and a
        follow-up question in ``history`` is asked together with the previous one
        (:func:`ragbench.pipelines.conversation.conversation_question`).
        The question's language is detected (:func:`ragbench.language.detect_language`,
        ``None`` for fewer than 3 words) unless ``detected_language`` is passed; it is reported
        as ``detected_language`` and is the answer language when the request gives none.
        """
        if detected_language is None:
            detected_language = detect_language(request.question)
        text = conversation_question(request.question, request.history)
        query = Query(text=text, tenant=request.tenant, language=request.language or detected_language)
        pipeline = self
        if request.filters:
            pipeline = RAGPipeline(with_filters(self.retriever, request.filters), self.generator, k=self.k)
        [(hits, answer, timing)] = pipeline.run([query], k=request.k)
        return QueryResponse.build(
            request,
            hits,
            answer,
            StageTimings(
                retrieve_ms=timing["retrieve_ms"], generate_ms=timing["generate_ms"], total_ms=timing["total_ms"]
            ),
            detected_language=detected_language,
        )

    def __repr__(self) -> str:
        return f"RAGPipeline(retriever={self.retriever!r}, generator={self.generator!r}, k={self.k})"
