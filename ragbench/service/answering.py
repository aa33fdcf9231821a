"""Answering one API request: retrieve (with the request's filters), generate, time, trace, charge tokens.

The stages are those of :meth:`ragbench.pipelines.rag.RAGPipeline.ask` -- the same retriever and
generator objects, the same follow-up rule and language detection -- run so that the event loop
never blocks (retrieval on a worker thread, generation through
:class:`~ragbench.service.generation.GenerationRunner`) and so that a stream can send the sources
before the answer. Each request is one MLflow trace (:mod:`ragbench.tracking.traces`).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from ragbench.language import detect_language
from ragbench.pipelines.conversation import conversation_question
from ragbench.retrievers.filtered import with_filters
from ragbench.schema import QueryRequest, QueryResponse, Source, StageTimings
from ragbench.tracking.traces import QueryTrace, generation_attributes, traced_retrieve
from ragbench.types import Answer, Hit, Query


@dataclass
class Prepared:
    """A request turned into the pipeline's terms."""

    request: QueryRequest
    query: Query
    retriever: Any
    detected_language: str | None


def prepare(retriever: Any, request: QueryRequest) -> Prepared:
    """The query (follow-up rule, answer language) and the retriever with the request's filters."""
    detected = detect_language(request.question)  # the ingestion detector and rule (None under 3 words)
    text = conversation_question(request.question, request.history)
    query = Query(text=text, tenant=request.tenant, language=request.language or detected)
    return Prepared(request, query, with_filters(retriever, request.filters), detected)


def _retrieve(retriever: Any, request: QueryRequest, trace: QueryTrace | None) -> tuple[Prepared, list[Hit], float]:
    prepared = prepare(retriever, request)
    t0 = time.perf_counter()
    [hits] = traced_retrieve(prepared.retriever, [prepared.query], request.k, trace)
    return prepared, hits, (time.perf_counter() - t0) * 1000


def start_trace(state: Any, request: QueryRequest, *, principal: str, request_id: str) -> QueryTrace | None:
    if state.tracer is None:
        return None
    return state.tracer.start(
        "query",
        key=request_id,
        inputs={
            "question": request.question,
            "tenant": request.tenant,
            "k": request.k,
            "filters": request.filters,
            "history_turns": len(request.history or ()),
        },
        tags={
            "tenant": request.tenant,
            "request_id": request_id,
            "principal": principal,
            "generator": repr(state.parts.generator),
        },
    )


def finish(
    state: Any,
    prepared: Prepared,
    hits: list[Hit],
    answer: Answer,
    retrieve_ms: float,
    generate_ms: float,
    trace: QueryTrace | None,
) -> QueryResponse:
    """The response; the answer's tokens are charged to the tenant and the trace is closed."""
    timings = StageTimings(retrieve_ms=retrieve_ms, generate_ms=generate_ms, total_ms=retrieve_ms + generate_ms)
    response = QueryResponse.build(
        prepared.request, hits, answer, timings, detected_language=prepared.detected_language
    )
    state.limits.charge(prepared.request.tenant, answer.completion_tokens)
    if trace is not None:
        trace.end(
            outputs={
                "answer": response.answer,
                "sources": [s.doc_id for s in response.sources],
                "timings": timings.model_dump(),
            },
            error=answer.error,
        )
    return response


async def answer_query(
    state: Any, request: QueryRequest, *, principal: str, request_id: str
) -> tuple[QueryResponse, Answer]:
    """Answer one request (``POST /v1/query``); a failed generation is an answer with ``error``."""
    trace = start_trace(state, request, principal=principal, request_id=request_id)
    try:
        prepared, hits, retrieve_ms = await run_in_threadpool(_retrieve, state.parts.retriever, request, trace)
        t0 = time.perf_counter()
        if trace is None:
            answer = await state.runner.generate(prepared.query, hits)
        else:
            with trace.span("generate", "LLM", inputs={"question": prepared.query.text}) as span:
                answer = await state.runner.generate(prepared.query, hits)
                span.set_attributes(generation_attributes(state.parts.generator, [answer]))
                span.set_outputs(answer.text if answer.ok else f"FAILED: {answer.error}")
        generate_ms = (time.perf_counter() - t0) * 1000
    except BaseException as exc:
        if trace is not None:
            trace.end(error=f"{type(exc).__name__}: {exc}")
        raise
    return finish(state, prepared, hits, answer, retrieve_ms, generate_ms, trace), answer


def event(name: str, data: Any) -> dict[str, str]:
    """One server-sent event (``event:`` name, JSON ``data:``)."""
    return {"event": name, "data": data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}


async def stream_query(state: Any, request: QueryRequest, *, principal: str, request_id: str) -> AsyncIterator[dict]:
    """The events of ``POST /v1/query/stream``: ``sources``, ``token`` (text pieces), then ``answer`` (the full
    :class:`QueryResponse`, timings included) -- or ``error`` with the reason."""
    trace = start_trace(state, request, principal=principal, request_id=request_id)
    outcome = "client disconnected before the answer"
    try:
        prepared, hits, retrieve_ms = await run_in_threadpool(_retrieve, state.parts.retriever, request, trace)
        yield event(
            "sources",
            {
                "request_id": request_id,
                "retrieve_ms": round(retrieve_ms, 3),
                "sources": [Source.from_hit(h).model_dump() for h in hits],
            },
        )
        t0 = time.perf_counter()
        answer = await _stream_generation(state, prepared, hits, trace)
        async for item in answer:
            if isinstance(item, dict):
                yield item
            else:
                final = item
        response = finish(state, prepared, hits, final, retrieve_ms, (time.perf_counter() - t0) * 1000, trace)
        trace, outcome = None, ""
        yield event("answer", response.model_dump_json())
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"
        yield event("error", {"error": f"Answering failed: {outcome}", "request_id": request_id})
    finally:
        if trace is not None:
            trace.end(error=outcome or None)


async def _stream_generation(state: Any, prepared: Prepared, hits: list[Hit], trace: QueryTrace | None):
    """An async iterator of ``token`` events, ending with the final :class:`Answer` (inside a generate span)."""

    async def pieces():
        final = None
        async for item in state.runner.stream(prepared.query, hits):
            if isinstance(item, Answer):
                final = item
            else:
                yield event("token", {"text": str(item)})
        yield final if final is not None else Answer(text="", error="the generator ended without an answer")

    if trace is None:
        return pieces()

    async def traced():
        with trace.span("generate", "LLM", inputs={"question": prepared.query.text, "stream": True}) as span:
            async for item in pieces():
                if isinstance(item, Answer):
                    span.set_attributes(generation_attributes(state.parts.generator, [item]))
                    span.set_outputs(item.text if item.ok else f"FAILED: {item.error}")
                yield item

    return traced()
