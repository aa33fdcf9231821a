"""Plain data that crosses component boundaries.

Frozen dataclasses: cheap to build, hashable where it matters, easy to turn into
dicts (``dataclasses.asdict``) for tables and JSON.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


def content_hash(*parts: str, length: int = 16) -> str:
    """Stable hex digest of ``parts`` (sha256, truncated), used for ids and caches."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:length]


@dataclass(frozen=True, slots=True)
class Document:
    """A source document owned by one tenant.

    Example:
        >>> Document(id="d1", tenant="acme", text="Hello.", title="Greeting").id
        'd1'
    """

    id: str
    tenant: str
    text: str
    title: str = ""
    source: str = ""
    language: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable piece of a document; ``position`` is its index within the document."""

    id: str
    doc_id: str
    tenant: str
    text: str
    title: str = ""
    position: int = 0
    language: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def content(self) -> str:
        """The text that is embedded and indexed: title and body."""
        return f"{self.title}\n{self.text}" if self.title else self.text


Turns = tuple[tuple[str, str], ...]  # earlier (question, answer) turns of a conversation, oldest first


@dataclass(frozen=True, slots=True)
class Query:
    """A question asked on behalf of one tenant; ``history`` holds the conversation before it, if any."""

    text: str
    tenant: str
    id: str = ""
    language: str | None = None
    history: Turns = field(default=(), hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved chunk with its score (higher is better) and 0-based rank."""

    chunk_id: str
    doc_id: str
    tenant: str
    text: str
    score: float
    rank: int = 0
    title: str = ""
    scores: dict[str, float] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class Answer:
    """A generator's output for one query.

    ``error`` is set when generation failed: such an answer is recorded as failed
    and never scored as if it were an empty answer. ``cached`` marks an answer read from
    the generation cache (its ``timings`` are those of the run that generated it).
    """

    text: str
    citations: tuple[str, ...] = ()
    confidence: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    timings: dict[str, float] = field(default_factory=dict, hash=False, compare=False)
    error: str | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class Sample:
    """One evaluation item: a question with its gold answers and graded relevant documents."""

    id: str
    question: str
    tenant: str
    answers: tuple[str, ...] = ()
    relevant: dict[str, int] = field(default_factory=dict, hash=False, compare=False)
    language: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    history: Turns = field(default=(), hash=False, compare=False)  # a follow-up's conversation (multi-turn sets)

    def to_query(self) -> Query:
        return Query(text=self.question, tenant=self.tenant, id=self.id, language=self.language, history=self.history)


@dataclass(frozen=True, slots=True)
class Completion:
    """One LLM completion of a chat prompt (a RAG method's intermediate step, e.g. a query rewrite).

    ``error`` is set when the call failed (``text`` is then empty); ``cached`` marks a completion read
    from the generation cache; ``load_ms`` is a one-time engine load that happened during the call
    (its own stage, never part of a question's latency).
    """

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    confidence: float | None = None
    ms: float = 0.0
    load_ms: float = 0.0
    error: str | None = None
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class MethodTrace:
    """What a RAG method did for one question (one part of the per-question table).

    Args:
        method: The method's name (``standard``, ``hyde``, ...).
        llm_calls: LLM calls made for the question, the final answer included (cached ones too: the
            figure is the method's cost, not this run's).
        prompt_tokens, completion_tokens: Tokens of those calls.
        retrieval_rounds: Retriever calls made for the question.
        queries: The search queries sent to the retriever, in order (rewrites, paraphrases, ...).
        sub_questions: Sub-questions (decompose) with ``sub_answers`` in the same order.
        steps: Each intermediate LLM step, in order: ``{"step": name, "text": output}``.
        values: Method-specific figures, e.g. ``retrieved`` (0/1), ``compression_ratio``, ``rounds``.
        notes: Method-specific texts, e.g. ``stopped`` (``answer`` or ``round_limit``).
    """

    method: str
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retrieval_rounds: int = 0
    queries: list[str] = field(default_factory=list)
    sub_questions: list[str] = field(default_factory=list)
    sub_answers: list[str] = field(default_factory=list)
    steps: list[dict[str, str]] = field(default_factory=list)
    values: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def count(self, item: Completion | Answer | None) -> None:
        """Add one LLM call (a completion or an LLM answer) to the tallies."""
        if item is None:
            return
        self.llm_calls += 1
        self.prompt_tokens += item.prompt_tokens
        self.completion_tokens += item.completion_tokens

    def to_row(self) -> dict[str, Any]:
        """``method.*`` columns of the per-question table."""
        row: dict[str, Any] = {
            "method": self.method,
            "method.llm_calls": self.llm_calls,
            "method.tokens": self.prompt_tokens + self.completion_tokens,
            "method.prompt_tokens": self.prompt_tokens,
            "method.completion_tokens": self.completion_tokens,
            "method.retrieval_rounds": self.retrieval_rounds,
            "method.queries": list(self.queries),
            "method.sub_questions": list(self.sub_questions),
            "method.sub_answers": list(self.sub_answers),
            "method.steps": [dict(s) for s in self.steps],
        }
        row.update({f"method.{k}": v for k, v in self.values.items()})
        row.update({f"method.{k}": v for k, v in self.notes.items()})
        return row


@dataclass(slots=True)
class QuestionResult:
    """Everything recorded for one evaluated question (one row of the per-question table)."""

    sample: Sample
    hits: list[Hit]
    answer: Answer | None
    metrics: dict[str, float] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    metric_errors: dict[str, str] = field(default_factory=dict)  # metric -> why it could not be scored
    detected_language: str | None = None  # of the question, by ragbench.language (None: too short)
    trace: MethodTrace | None = None  # what the RAG method did (rewrites, sub-questions, LLM calls, tokens)

    @property
    def language(self) -> str | None:
        """The question's language: the dataset's, else the detected one."""
        return self.sample.language or self.detected_language

    @property
    def ranked_doc_ids(self) -> list[str]:
        """Retrieved document ids in rank order, each document once (its best chunk)."""
        seen: dict[str, None] = {}
        for hit in self.hits:
            seen.setdefault(hit.doc_id, None)
        return list(seen)

    def to_row(self) -> dict[str, Any]:
        """Flatten into a JSON-friendly row for the per-question table."""
        answer = self.answer
        return {
            "question_id": self.sample.id,
            "tenant": self.sample.tenant,
            "language": self.sample.language,
            "detected_language": self.detected_language,
            "question": self.sample.question,
            "retrieved_ids": self.ranked_doc_ids,
            "retrieved_scores": [round(h.score, 6) for h in self.hits],
            "retrieved_chunk_ids": [h.chunk_id for h in self.hits],
            "answer": answer.text if answer else None,
            "citations": list(answer.citations) if answer else [],
            "confidence": answer.confidence if answer else None,
            "error": answer.error if answer else None,
            "cached": answer.cached if answer else False,
            "gold_answers": list(self.sample.answers),
            "gold_ids": sorted(self.sample.relevant),
            **{f"metric.{k}": v for k, v in self.metrics.items()},
            "metric_errors": dict(self.metric_errors),
            **{f"time_ms.{k}": v for k, v in self.timings_ms.items()},
            **(self.trace.to_row() if self.trace is not None else {}),
        }


@dataclass(frozen=True)
class Embeddings:
    """Document embeddings on their way from an embedder to a store: dense vectors plus named
    per-row extra columns (BGE-M3: ``sparse_ids``, ``sparse_weights``, ``colbert``).

    Example:
        >>> import numpy as np
        >>> e = Embeddings(np.ones((2, 3), np.float32), {"sparse_ids": [[1], [2, 3]]})
        >>> len(e), e.rows(1, 2).extras
        (2, {'sparse_ids': [[2, 3]]})
    """

    dense: np.ndarray
    extras: Mapping[str, Sequence[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, values in self.extras.items():
            if len(values) != len(self.dense):
                raise ValueError(f"Extra column {name!r} has {len(values)} rows for {len(self.dense)} vectors.")

    def __len__(self) -> int:
        return len(self.dense)

    def rows(self, start: int, stop: int) -> Embeddings:
        """Rows ``start:stop``, extra columns included."""
        return Embeddings(self.dense[start:stop], {k: list(v[start:stop]) for k, v in self.extras.items()})

    @classmethod
    def concat(cls, parts: Sequence[Embeddings]) -> Embeddings:
        """Stack batches row-aligned; every part must carry the same extra columns."""
        import numpy as np

        names = set(parts[0].extras) if parts else set()
        if any(set(p.extras) != names for p in parts):
            raise ValueError("Cannot stack embeddings with different extra columns.")
        return cls(
            np.concatenate([p.dense for p in parts]), {n: [v for p in parts for v in p.extras[n]] for n in names}
        )

    @classmethod
    def of(cls, vectors: np.ndarray | Embeddings) -> Embeddings:
        """``vectors`` as :class:`Embeddings` (plain dense arrays get no extra columns)."""
        return vectors if isinstance(vectors, Embeddings) else cls(vectors)
