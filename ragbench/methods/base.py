"""What every RAG method shares: its result type, per-question bookkeeping, and its steps.

A method answers a batch of queries with the parts it was built with (a retriever, a generator,
an LLM for intermediate steps) and records, per question, what it did in a
:class:`~ragbench.types.MethodTrace`: the search queries it sent, its intermediate LLM outputs,
LLM calls and tokens (the final answer included), retrieval rounds, and stage timings.

Rules every method follows:

* A failed LLM step fails its question (the answer's ``error`` names the step); the other questions go on.
* A stage's time is shared equally by the questions active in it (batch time / batch size); a
  one-time engine load is its own ``load_ms`` stage, never part of ``total_ms``.
* ``hits`` are what the retriever returned (scored by the retrieval metrics); what the generator
  saw (notes, refined text) is recorded in the trace.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from ragbench.errors import ConfigError
from ragbench.protocols import ChatLLM, Generator, Retriever
from ragbench.types import Answer, Hit, MethodTrace, Query


@dataclass
class MethodResult:
    """One question's outcome: retrieved hits, the answer, stage timings (ms) and the method's trace."""

    hits: list[Hit]
    answer: Answer | None
    timings: dict[str, float]
    trace: MethodTrace


@runtime_checkable
class Method(Protocol):
    """A RAG method: answers a batch of queries, ``k`` hits per retrieval, and says what it did."""

    name: str

    def run(self, queries: Sequence[Query], k: int) -> list[MethodResult]: ...


def is_llm(generator: Any) -> bool:
    """True if ``generator`` can also complete prompts (an LLM generator; its answers count as LLM calls)."""
    return callable(getattr(generator, "complete", None))


def resolve_llm(llm: Any, generator: Any, method: str) -> ChatLLM:
    """The LLM a method's steps call: ``llm`` if given, else the generator's own engine.

    Raises:
        ConfigError: Neither can complete prompts (e.g. the extractive generator and no ``llm``).
    """
    candidate = llm if llm is not None else generator
    if not is_llm(candidate):
        source = "method.llm" if llm is not None else "the generator"
        raise ConfigError(
            f"method={method} calls an LLM for its intermediate steps, but {source} {candidate!r} cannot complete "
            "prompts (it has no complete()). Use an LLM generator (generator=vllm, transformers or openai), or give "
            "the method its own LLM: method.llm set to a generator config such as configs/generator/vllm.yaml."
        )
    return candidate


def check_prompt_support(generator: Any, method: str) -> None:
    """Raise a :class:`ConfigError` unless ``generator.generate`` takes ``prompt=`` (another template per call)."""
    try:
        params = inspect.signature(generator.generate).parameters
    except (TypeError, ValueError, AttributeError):
        params = {}
    if "prompt" not in params:
        raise ConfigError(
            f"method={method} answers some questions with its own prompt, but {generator!r}.generate() takes no "
            "prompt= argument. Use a ragbench generator (vllm, transformers, openai, extractive)."
        )


def check_positive(method: str, **values: float) -> None:
    """Raise a :class:`ConfigError` naming every setting that is not >= 1."""
    bad = {k: v for k, v in values.items() if not isinstance(v, int) or isinstance(v, bool) or v < 1}
    if bad:
        listed = ", ".join(f"{k}={v!r}" for k, v in bad.items())
        raise ConfigError(
            f"method={method}: {listed}: each must be a whole number >= 1. Fix method.<setting> in the config."
        )


def note(tenant: str, n: int, title: str, text: str) -> Hit:
    """A source the method writes itself (earlier answers, a summary): shown to the generator like a passage."""
    return Hit(chunk_id=f"note:{n}", doc_id=f"note:{n}", tenant=tenant, text=text, score=0.0, rank=n, title=title)


@dataclass
class Batch:
    """One batch of questions going through a method: traces, answers, hits and stage timings."""

    method: str
    queries: list[Query]
    traces: list[MethodTrace] = field(init=False)
    answers: list[Answer | None] = field(init=False)
    hits: list[list[Hit]] = field(init=False)
    timings: list[dict[str, float]] = field(init=False)
    load_ms: float = 0.0

    def __post_init__(self) -> None:
        n = len(self.queries)
        self.traces = [MethodTrace(self.method) for _ in range(n)]
        self.answers, self.hits, self.timings = [None] * n, [[] for _ in range(n)], [{} for _ in range(n)]

    def active(self, items: Sequence[int] | None = None) -> list[int]:
        """The questions (of ``items``, default all) that have no answer yet (not failed, not finished)."""
        return [i for i in (range(len(self.queries)) if items is None else items) if self.answers[i] is None]

    @contextmanager
    def stage(self, name: str, items: Sequence[int]) -> Iterator[dict[str, float]]:
        """Time a stage over ``items``; set ``box["load_ms"]`` to a one-time load that happened inside it."""
        box = {"load_ms": 0.0}
        start = time.perf_counter()
        yield box
        ms = max(0.0, (time.perf_counter() - start) * 1000 - box["load_ms"])
        self.load_ms = max(self.load_ms, box["load_ms"])
        for i in items:
            self.timings[i][name] = self.timings[i].get(name, 0.0) + ms / len(items)

    def fail(self, i: int, step: str, error: str) -> None:
        self.answers[i] = Answer(text="", error=f"{step} step failed: {error}")

    def results(self) -> list[MethodResult]:
        out = []
        for hits, answer, timing, trace in zip(self.hits, self.answers, self.timings, self.traces):
            timing = {**timing, "total_ms": sum(timing.values())}
            if self.load_ms:
                timing["load_ms"] = self.load_ms
            out.append(MethodResult(hits, answer, timing, trace))
        return out


def llm_step(
    batch: Batch,
    llm: ChatLLM,
    step: str,
    items: Sequence[int],
    prompts: Sequence[list[dict]],
    *,
    max_tokens: int,
    stop: Sequence[str] = (),
) -> dict[int, str]:
    """Call the LLM once per item (stage ``<step>_ms``); the stripped texts of the calls that worked.

    A failed call fails its question (``"<step> step failed: ..."``); every call is counted in the trace.
    """
    items = list(items)
    if not items:
        return {}
    with batch.stage(f"{step}_ms", items) as box:
        outs = llm.complete(
            list(prompts), tenants=[batch.queries[i].tenant for i in items], max_tokens=max_tokens, stop=stop
        )
        box["load_ms"] = max((c.load_ms for c in outs), default=0.0)
    texts = {}
    for i, completion in zip(items, outs, strict=True):
        batch.traces[i].count(completion)
        if not completion.ok:
            batch.fail(i, step, completion.error or "unknown error")
            continue
        texts[i] = completion.text.strip()
        batch.traces[i].steps.append({"step": step, "text": texts[i]})
    return texts


def retrieve_step(
    batch: Batch,
    retriever: Retriever,
    items: Sequence[int],
    texts: Sequence[str],
    k: int,
    *,
    stage: str = "retrieve_ms",
) -> dict[int, list[Hit]]:
    """Retrieve ``k`` hits for each item with its search text (recorded as a query and a retrieval round)."""
    items = list(items)
    if not items:
        return {}
    with batch.stage(stage, items):
        lists = retriever.retrieve([replace(batch.queries[i], text=t) for i, t in zip(items, texts)], k)
    for i, text in zip(items, texts):
        batch.traces[i].retrieval_rounds += 1
        batch.traces[i].queries.append(text)
    return dict(zip(items, lists, strict=True))


def generate_step(
    batch: Batch,
    generator: Generator,
    items: Sequence[int],
    contexts: Sequence[Sequence[Hit]],
    *,
    queries: Sequence[Query] | None = None,
    prompt: Any = None,
    stage: str = "generate_ms",
) -> dict[int, Answer]:
    """Answer each item from its context (its own query unless ``queries``); LLM answers are counted as calls."""
    items = list(items)
    if not items:
        return {}
    asked = list(queries) if queries is not None else [batch.queries[i] for i in items]
    with batch.stage(stage, items) as box:
        kwargs = {"prompt": prompt} if prompt is not None else {}
        answers = generator.generate(asked, [list(c) for c in contexts], **kwargs)
        box["load_ms"] = max((a.timings.get("load_ms", 0.0) for a in answers if a is not None), default=0.0)
    if is_llm(generator):
        for i, answer in zip(items, answers):
            batch.traces[i].count(answer)
    return dict(zip(items, answers, strict=True))


def summarize(traces: Sequence[MethodTrace]) -> dict[str, float]:
    """Per-question means of a run's traces: ``method.llm_calls``, ``method.tokens``, ``method.retrieval_rounds``,
    and one ``method.<name>`` per method-specific figure (e.g. ``method.retrieved``: adaptive's retrieval rate)."""
    if not traces:
        return {}
    n = len(traces)
    out = {
        "method.llm_calls": sum(t.llm_calls for t in traces) / n,
        "method.tokens": sum(t.prompt_tokens + t.completion_tokens for t in traces) / n,
        "method.prompt_tokens": sum(t.prompt_tokens for t in traces) / n,
        "method.completion_tokens": sum(t.completion_tokens for t in traces) / n,
        "method.retrieval_rounds": sum(t.retrieval_rounds for t in traces) / n,
    }
    for key in sorted({k for t in traces for k in t.values}):
        values = [t.values[key] for t in traces if key in t.values]
        out[f"method.{key}"] = sum(values) / len(values)
    return out


def as_mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{what} must be a mapping of settings, got {type(value).__name__}: {value!r:.120}.")
    return value
