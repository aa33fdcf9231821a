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


@dataclass(frozen=True, slots=True)
class Query:
    """A question asked on behalf of one tenant."""

    text: str
    tenant: str
    id: str = ""
    language: str | None = None


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

    def to_query(self) -> Query:
        return Query(text=self.question, tenant=self.tenant, id=self.id, language=self.language)


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
