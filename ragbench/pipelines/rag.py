"""The RAG pipeline: a method (standard RAG by default) over a retriever and a generator, timing each stage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ragbench.errors import ConfigError
from ragbench.language import detect_language
from ragbench.pipelines.conversation import chat_pairs
from ragbench.protocols import Generator, Retriever
from ragbench.retrievers.filtered import with_filters
from ragbench.schema import QueryRequest, QueryResponse, StageTimings
from ragbench.types import Answer, Hit, Query, Turns

if TYPE_CHECKING:
    from ragbench.methods import Method, MethodResult


class RAGPipeline:
    """Answer queries with a RAG method: by default retrieve ``k`` chunks per query, then answer from them.

    Args:
        retriever: Any :class:`~ragbench.protocols.Retriever`.
        generator: Any :class:`~ragbench.protocols.Generator`.
        k: Chunks retrieved per query (a request's own ``k`` overrides it in :meth:`ask`).
        method: A :class:`~ragbench.methods.Method` built on ``retriever`` and ``generator`` (the ``method``
            config group; ``None``: :class:`~ragbench.methods.Standard`).

    Example:
        >>> pipe = RAGPipeline(retriever, generator, k=5)  # doctest: +SKIP
        >>> pipe.ask(QueryRequest(question="How many vacation days?", tenant="acme-robotics")).answer  # doctest: +SKIP
    """

    def __init__(self, retriever: Retriever, generator: Generator, *, k: int = 5, method: Method | None = None) -> None:
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}.")
        from ragbench.methods import Standard

        self.retriever = retriever
        self.generator = generator
        self.k = k
        self.method = method if method is not None else Standard(retriever, generator)

    def run_traced(self, queries: Sequence[Query], *, k: int | None = None) -> list[MethodResult]:
        """Answer a batch with the method: hits, answer, stage timings and trace per query.

        Stage timings are each stage's batch time divided by the queries in it; a one-time model load
        inside the call (e.g. a vLLM engine started on the first generation-cache miss) is its own
        ``load_ms`` stage and is not counted in any other stage or in ``total_ms``."""
        if not queries:
            return []
        return self.method.run(list(queries), k or self.k)

    def run(
        self, queries: Sequence[Query], *, k: int | None = None
    ) -> list[tuple[list[Hit], Answer, dict[str, float]]]:
        """Answer a batch: ``(hits, answer, timings)`` per query (see :meth:`run_traced`)."""
        return [(r.hits, r.answer, r.timings) for r in self.run_traced(queries, k=k)]

    def filtered(self, filters: Mapping[str, Any] | None) -> RAGPipeline:
        """This pipeline, or one whose retriever applies ``filters`` in every store search (a request's filters).

        Raises:
            ConfigError: Filters with a method other than standard RAG (its own retrieval steps would not see them).
        """
        from ragbench.methods import Standard

        if not filters:
            return self
        if not isinstance(self.method, Standard):
            raise ConfigError(
                f"Request filters work with method=standard; this pipeline runs {type(self.method).__name__}. "
                "Send the request without filters, or use a pipeline with method=standard."
            )
        return RAGPipeline(with_filters(self.retriever, filters), self.generator, k=self.k)

    def conversational(self):
        """The method for follow-ups: this one if it condenses conversations, else it wrapped in
        :class:`~ragbench.methods.Conversational` (LLM condensing with an LLM generator, else concatenation)."""
        from ragbench.methods import Conversational
        from ragbench.methods.base import is_llm

        if isinstance(self.method, Conversational):
            return self.method
        mode = "llm" if is_llm(self.generator) else "concat"
        return Conversational(self.retriever, self.generator, inner=self.method, mode=mode)

    def ask(self, request: QueryRequest, *, detected_language: str | None = None, history: Turns = ()) -> QueryResponse:
        """Answer one validated API request; ``history`` (earlier ``(question, answer)`` turns) makes it a follow-up.

        ``filters`` narrow the retrieval (:func:`ragbench.retrievers.filtered.with_filters`) and a
        request's own ``history`` (chat turns) is used when ``history`` is not given.
        The question's language is detected (:func:`ragbench.language.detect_language`,
        ``None`` for fewer than 3 words) unless ``detected_language`` is passed; it is reported
        as ``detected_language`` and is the answer language when the request gives none. A follow-up
        is condensed into a standalone question first (:meth:`conversational`).
        """
        if detected_language is None:
            detected_language = detect_language(request.question)
        turns = tuple((str(q), str(a)) for q, a in history) or chat_pairs(request.history)
        query = Query(
            text=request.question,
            tenant=request.tenant,
            language=request.language or detected_language,
            history=turns,
        )
        pipeline = self.filtered(request.filters)
        method = pipeline.conversational() if query.history else pipeline.method
        [result] = method.run([query], request.k or self.k)
        t = result.timings
        total = t.get("total_ms", 0.0)
        retrieve_ms = sum(v for s, v in t.items() if "retrieve" in s)  # the method's LLM steps count as generation
        return QueryResponse.build(
            request,
            result.hits,
            result.answer,
            StageTimings(retrieve_ms=retrieve_ms, generate_ms=max(0.0, total - retrieve_ms), total_ms=total),
            detected_language=detected_language,
            trace=result.trace,
        )

    def __repr__(self) -> str:
        return f"RAGPipeline(method={self.method.name}, retriever={self.retriever!r}, generator={self.generator!r}, k={self.k})"
