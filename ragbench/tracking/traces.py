"""MLflow 3 traces of answered questions: one trace per question with retrieve, rerank and generate spans.

A trace's root span (``query``) holds the question and the answer; its children are ``retrieve``
(the retrieved chunks, as MLflow retriever documents), ``rerank`` (when the retriever is a
:class:`~ragbench.rerankers.RerankingRetriever`) and ``generate`` (model id, prompt and completion
token counts as ``mlflow.chat.tokenUsage``, so the Traces tab shows tokens). Tags: ``tenant``,
``request_id`` and ``ragbench.source`` (``service`` or ``evaluation``). Traces go to the tracker's
own backend (the home's sqlite ``mlflow.db`` by default, or an MLflow server) and its experiment.

Tracing never fails an answer: when MLflow cannot record a trace, the question is answered
untraced and one warning is logged. Sampling is deterministic by key (the request or question
id), so re-running an evaluation traces the same questions.

Example:
    >>> tracer = Tracer.from_tracker(parts.tracker, sample=1.0, source="service")  # doctest: +SKIP
    >>> trace = tracer.start("query", key="req-1", inputs={"question": "Why?"}, tags={"tenant": "acme"})  # doctest: +SKIP
    >>> hits = traced_retrieve(parts.retriever, [query], 5, trace)  # doctest: +SKIP
    >>> trace.end(outputs={"answer": "Because."})  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ragbench.errors import ConfigError
from ragbench.types import Answer, Hit, Query

log = logging.getLogger(__name__)
#: MLflow prices LLM spans through LiteLLM, which would fetch its price list from the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
#: MLflow's background exporter writes finished spans in batches of this many (its default, 5, is tuned for
#: Databricks tables): one sqlalchemy transaction per batch. With 100, a three-span trace costs about 47 ms
#: of export CPU on this machine instead of about 58 (bench/bench_trace_export.py), and the export runs in
#: bursts rather than beside every next request (docs/deploy.md: "Load"); traces still appear
#: within MLflow's 5 s batch interval, and ``Tracer.flush`` writes everything queued. An explicit setting wins.
os.environ.setdefault("MLFLOW_ASYNC_TRACE_LOGGING_MAX_SPAN_BATCH_SIZE", "100")
SOURCE_RUN = "mlflow.sourceRun"  # trace metadata that links a trace to its MLflow run (the run's Traces tab)


def is_sampled(key: str, rate: float, salt: str = "") -> bool:
    """Deterministic sampling: ``key`` is in the sample when its hash (with ``salt``) falls below ``rate``.

    Evaluation runs sample by question id without a salt, so a re-run traces the same questions. The
    service salts with a secret (:attr:`ServiceSettings.trace_salt`): its keys are request ids that a
    client may choose, and without the secret a client could pick ids that are always traced.

    Example:
        >>> is_sampled("q1", 1.0), is_sampled("q1", 0.0)
        (True, False)
    """
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    return int(hashlib.sha256((salt + key).encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF < rate


def model_id(generator: Any) -> str:
    """The generator's model (``model_id``, else ``model``), else its class name."""
    return str(getattr(generator, "model_id", None) or getattr(generator, "model", None) or type(generator).__name__)


def documents(hits: Sequence[Hit], *, chars: int = 300) -> list[dict[str, Any]]:
    """Hits as MLflow retriever documents (``page_content``, ``metadata``, ``id``), shown by the Traces tab."""
    return [
        {
            "page_content": h.text[:chars],
            "id": h.chunk_id,
            "metadata": {"doc_id": h.doc_id, "title": h.title, "score": round(h.score, 6), "rank": h.rank},
        }
        for h in hits
    ]


class QueryTrace:
    """One trace in progress: open child spans with :meth:`span`, close it with :meth:`end`."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.trace_id: str = root.trace_id

    @contextmanager
    def span(
        self, name: str, span_type: str, *, inputs: Any = None, attributes: Mapping[str, Any] | None = None
    ) -> Iterator[Any]:
        """A child span of the root; an exception inside marks it as failed and propagates."""
        import mlflow

        span = mlflow.start_span_no_context(
            name, span_type=span_type, parent_span=self.root, inputs=inputs, attributes=dict(attributes or {})
        )
        try:
            yield span
        except BaseException as exc:
            span.end(status="ERROR", attributes={"error": f"{type(exc).__name__}: {exc}"[:500]})
            raise
        span.end()

    def end(self, *, outputs: Any = None, error: str | None = None) -> None:
        """Close the root span (``ERROR`` status when ``error`` is given)."""
        try:
            if error:
                self.root.end(outputs=outputs, status="ERROR", attributes={"error": error[:500]})
            else:
                self.root.end(outputs=outputs)
        except Exception as exc:
            log.warning("could not close MLflow trace %s: %s", self.trace_id, exc)


class Tracer:
    """Start sampled MLflow traces in one experiment of one tracking backend.

    Args:
        tracking_uri: Where traces go (``sqlite:///...`` or an MLflow server URL); set process-wide,
            as MLflow's tracing requires.
        experiment_id: The experiment that holds the traces.
        sample: Share of keys traced, 0..1.
        source: The ``ragbench.source`` tag (``service`` or ``evaluation``).
    """

    def __init__(
        self, tracking_uri: str, experiment_id: str, *, sample: float = 1.0, source: str = "service", salt: str = ""
    ) -> None:
        if not 0.0 <= float(sample) <= 1.0:
            raise ConfigError(f"trace_sample must be between 0 and 1 (the share of questions traced), got {sample!r}.")
        import mlflow

        # MLflow logs an INFO line at exit whenever traces were exported asynchronously; ragbench flushes them
        # itself (flush()), and that line would end every `ragbench run`'s stderr after its own error message.
        logging.getLogger("mlflow.tracing.export.async_export_queue").setLevel(logging.WARNING)
        mlflow.set_tracking_uri(tracking_uri)
        self.tracking_uri = tracking_uri
        self.experiment_id = experiment_id
        self.sample = float(sample)
        self.source = source
        self._salt = salt  # see is_sampled
        self._warned = False

    @classmethod
    def from_tracker(cls, tracker: Any, *, sample: float, source: str, salt: str = "") -> Tracer | None:
        """A tracer writing where ``tracker`` logs runs; ``None`` for a tracker without MLflow or ``sample=0``."""
        if float(sample) <= 0.0 or not getattr(tracker, "tracking_uri", None) or not hasattr(tracker, "experiment_id"):
            return None
        return cls(tracker.tracking_uri, tracker.experiment_id(), sample=sample, source=source, salt=salt)

    def start(
        self, name: str, *, key: str, inputs: Any, tags: Mapping[str, str], metadata: Mapping[str, str] | None = None
    ) -> QueryTrace | None:
        """A new trace when ``key`` is sampled (else ``None``); ``None`` too when MLflow refuses (logged once)."""
        if not is_sampled(key, self.sample, self._salt):
            return None
        import mlflow

        try:
            root = mlflow.start_span_no_context(
                name,
                span_type="CHAIN",
                inputs=inputs,
                experiment_id=self.experiment_id,
                tags={"ragbench.source": self.source, **{k: str(v) for k, v in tags.items()}},
                metadata={k: str(v) for k, v in (metadata or {}).items()} or None,
            )
        except Exception as exc:
            if not self._warned:
                self._warned = True
                log.warning("MLflow tracing is off for now: %s: %s", type(exc).__name__, exc)
            return None
        return QueryTrace(root)

    def flush(self) -> None:
        """Write traces still queued for MLflow (its export is asynchronous)."""
        import mlflow

        try:
            mlflow.flush_trace_async_logging()
        except Exception as exc:
            log.warning("could not flush MLflow traces: %s", exc)


def traced_retrieve(retriever: Any, queries: Sequence[Query], k: int, trace: QueryTrace | None) -> list[list[Hit]]:
    """``retriever.retrieve(queries, k)`` in a ``retrieve`` span, and a ``rerank`` span for a reranking retriever."""
    if trace is None:
        return retriever.retrieve(queries, k)
    first, reranker = getattr(retriever, "retriever", None), getattr(retriever, "reranker", None)
    inputs = {"queries": [q.text for q in queries], "k": k}
    if first is None or reranker is None:
        with trace.span("retrieve", "RETRIEVER", inputs=inputs, attributes={"retriever": repr(retriever)}) as span:
            out = retriever.retrieve(queries, k)
            span.set_outputs(documents(out[0]) if len(out) == 1 else [documents(h) for h in out])
        return out
    depth = max(k, int(getattr(retriever, "candidates", k)))  # as RerankingRetriever.retrieve does
    with trace.span(
        "retrieve", "RETRIEVER", inputs={**inputs, "k": depth}, attributes={"retriever": repr(first)}
    ) as span:
        candidates = first.retrieve(queries, depth)
        span.set_outputs({"candidates": [len(h) for h in candidates]})
    with trace.span(
        "rerank", "RERANKER", inputs={**inputs, "candidates": depth}, attributes={"reranker": repr(reranker)}
    ) as span:
        out = reranker.rerank(queries, candidates, k)
        span.set_outputs(documents(out[0]) if len(out) == 1 else [documents(h) for h in out])
    return out


def generation_attributes(generator: Any, answers: Sequence[Answer | None]) -> dict[str, Any]:
    """Span attributes of a generation: model id, token usage (MLflow's key), failures."""
    from mlflow.tracing.constant import SpanAttributeKey

    done = [a for a in answers if a is not None]
    prompt = sum(a.prompt_tokens for a in done)
    completion = sum(a.completion_tokens for a in done)
    attributes: dict[str, Any] = {
        SpanAttributeKey.MODEL: model_id(generator),
        "generator": repr(generator),
        SpanAttributeKey.CHAT_USAGE: {
            "input_tokens": prompt,
            "output_tokens": completion,
            "total_tokens": prompt + completion,
        },
        "cached": sum(1 for a in done if a.cached),
        "failed": sum(1 for a in done if not a.ok),
    }
    ttft = [a.timings["ttft_ms"] for a in done if "ttft_ms" in a.timings]
    if ttft:
        attributes["ttft_ms"] = round(ttft[0], 2)
    return attributes


class TracedRetriever:
    """A retriever whose calls are spans of ``trace`` (for pipelines that call ``retrieve`` themselves)."""

    def __init__(self, retriever: Any, trace: QueryTrace) -> None:
        self.inner, self.trace = retriever, trace

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        return traced_retrieve(self.inner, queries, k, self.trace)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class TracedGenerator:
    """A generator whose ``generate`` calls are ``generate`` spans of ``trace`` with token counts."""

    def __init__(self, generator: Any, trace: QueryTrace) -> None:
        self.inner, self.trace = generator, trace

    def generate(
        self, queries: Sequence[Query], contexts: Sequence[Sequence[Hit]], *, prompt: Any = None
    ) -> list[Answer]:
        """The inner ``generate`` in a span; ``prompt`` (a method's own template, e.g. closed-book) is passed on."""
        kwargs = {"prompt": prompt} if prompt is not None else {}
        with self.trace.span("generate", "LLM", inputs={"questions": [q.text for q in queries]}) as span:
            answers = self.inner.generate(queries, contexts, **kwargs)
            span.set_attributes(generation_attributes(self.inner, answers))
            span.set_outputs([a.text if a.ok else f"FAILED: {a.error}" for a in answers])
        return answers

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
