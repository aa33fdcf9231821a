"""Evaluation runs with MLflow traces: a sampled share of the questions become traces linked to the run.

``trace_sample`` (config, default 0.1) is the share of questions traced; sampling is by question
id, so a re-run traces the same ones. Each trace carries the run id (``mlflow.sourceRun``), so the
run's page in the MLflow UI lists them in its Traces tab. See :mod:`ragbench.tracking.traces`.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ragbench.pipelines.rag import RAGPipeline
from ragbench.tracking.traces import SOURCE_RUN, QueryTrace, TracedGenerator, TracedRetriever, Tracer
from ragbench.types import Answer, Hit, Query

if TYPE_CHECKING:
    from ragbench.methods import MethodResult


class TracedPipeline:
    """A :class:`RAGPipeline` whose sampled calls to :meth:`run` are MLflow traces.

    Args:
        pipeline: The pipeline to run.
        tracer: Where traces go, and the sample rate.
        run_id: The MLflow run the traces belong to.

    Example:
        >>> traced = TracedPipeline(parts.pipeline, Tracer.from_tracker(parts.tracker, sample=0.1,  # doctest: +SKIP
        ...                         source="evaluation"), run_id=run_id)
    """

    def __init__(self, pipeline: RAGPipeline, tracer: Tracer, *, run_id: str | None = None) -> None:
        self.pipeline = pipeline
        self.tracer = tracer
        self.run_id = run_id

    def run_traced(self, queries: Sequence[Query], *, k: int | None = None) -> list[MethodResult]:
        """:meth:`RAGPipeline.run_traced`, as one MLflow trace when the batch's first question is sampled.

        Defined here, not forwarded: evaluation calls ``run_traced`` (the method's per-question record),
        and forwarding it to the wrapped pipeline would skip the MLflow trace."""
        if not queries:
            return []
        first = queries[0]
        trace = self.tracer.start(
            "query",
            key=first.id or first.text,
            inputs={"questions": [q.text for q in queries], "k": k or self.pipeline.k},
            tags={"tenant": first.tenant, "request_id": first.id or "", "generator": repr(self.pipeline.generator)},
            metadata={SOURCE_RUN: self.run_id} if self.run_id else None,
        )
        if trace is None:
            return self.pipeline.run_traced(queries, k=k)
        return _run_traced(self.pipeline, queries, k, trace)

    def run(
        self, queries: Sequence[Query], *, k: int | None = None
    ) -> list[tuple[list[Hit], Answer, dict[str, float]]]:
        """:meth:`run_traced` as ``(hits, answer, timings)`` per query."""
        return [(r.hits, r.answer, r.timings) for r in self.run_traced(queries, k=k)]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipeline, name)


def _traced_method(method: Any, trace: QueryTrace) -> Any:
    """A shallow copy of ``method`` whose own retriever and generator record spans in ``trace``."""
    method = copy.copy(method)
    if getattr(method, "retriever", None) is not None:
        method.retriever = TracedRetriever(method.retriever, trace)
    if getattr(method, "generator", None) is not None:
        method.generator = TracedGenerator(method.generator, trace)
    return method


def _run_traced(pipeline: RAGPipeline, queries: Sequence[Query], k: int | None, trace: QueryTrace):
    try:
        out = _traced_method(pipeline.method, trace).run(list(queries), k or pipeline.k)
    except BaseException as exc:
        trace.end(error=f"{type(exc).__name__}: {exc}")
        raise
    answers = [r.answer for r in out if r.answer is not None]
    trace.end(
        outputs={"answers": [a.text for a in answers]},
        error="; ".join(a.error for a in answers if not a.ok and a.error) or None,
    )
    return out


def traced(pipeline: RAGPipeline, tracker: Any, sample: float, *, run_id: str | None) -> RAGPipeline | TracedPipeline:
    """``pipeline`` wrapped to trace ``sample`` of its questions into ``tracker``'s MLflow; itself when off."""
    tracer = Tracer.from_tracker(tracker, sample=sample, source="evaluation")
    return pipeline if tracer is None else TracedPipeline(pipeline, tracer, run_id=run_id)
