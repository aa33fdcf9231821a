"""The query API's request and response models.

Other services generate client types from the JSON Schema that
``ragbench schema`` prints (:func:`json_schema`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
)

from ragbench.tenancy import TENANT_ID_PATTERN, validate_tenant_id
from ragbench.types import Answer, Hit, MethodTrace

TenantId = Annotated[str, StringConstraints(pattern=TENANT_ID_PATTERN, min_length=1, max_length=63)]
#: Chunk columns a request may filter on (``ragbench.stores._filters`` builds the filter from them).
FilterColumn = Literal["doc_id", "chunk_id", "language", "title", "position"]
FilterScalar = Annotated[str, StringConstraints(max_length=1000)] | StrictBool | StrictInt | StrictFloat
FilterValue = FilterScalar | Annotated[list[FilterScalar], Field(min_length=1, max_length=100)]


class ChatTurn(BaseModel):
    """One earlier turn of a conversation, oldest first in :attr:`QueryRequest.history`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["user", "assistant"]
    content: str = Field(max_length=8000)


class QueryRequest(BaseModel):
    """A question for one tenant's documents."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=1, max_length=8000, description="The question to answer.")
    tenant: TenantId = Field(description="Tenant whose documents are searched.")
    language: str | None = Field(
        default=None, description="ISO 639-1 code of the answer language; detected from the question if absent."
    )
    k: int = Field(default=5, ge=1, le=100, description="Number of chunks to retrieve.")
    filters: dict[FilterColumn, FilterValue] | None = Field(
        default=None,
        max_length=5,
        description="Metadata filters on the retrieved chunks: a value is matched with ==, a list with IN; "
        "values are bound as literals, never pasted into SQL.",
    )
    history: list[ChatTurn] | None = Field(
        default=None,
        max_length=20,
        description="Earlier turns, oldest first. A follow-up question (short, or starting like 'and ...') is "
        "searched and answered together with the previous user question.",
    )

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str) -> str:
        return validate_tenant_id(value)

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is blank: send the text of a question")
        return value


class Source(BaseModel):
    """A retrieved chunk that the answer may cite."""

    doc_id: str
    chunk_id: str
    title: str = ""
    text: str
    score: float
    rank: int = Field(ge=0)
    cited: bool = False

    @classmethod
    def from_hit(cls, hit: Hit, *, cited: bool = False) -> Source:
        return cls(
            doc_id=hit.doc_id,
            chunk_id=hit.chunk_id,
            title=hit.title,
            text=hit.text,
            score=hit.score,
            rank=hit.rank,
            cited=cited,
        )


class StageTimings(BaseModel):
    """Milliseconds spent in each stage of answering."""

    retrieve_ms: float = Field(ge=0)
    generate_ms: float = Field(ge=0)
    total_ms: float = Field(ge=0)


class QueryResponse(BaseModel):
    """The answer to a :class:`QueryRequest`."""

    tenant: TenantId
    question: str
    answer: str
    sources: list[Source]
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    timings: StageTimings
    detected_language: str | None = None
    error: str | None = Field(default=None, description="Set when answering failed; `answer` is then empty.")
    relevance: float | None = Field(
        default=None,
        description="Highest cosine similarity between the question and a source (the dashboard's embedder).",
    )
    low_confidence: str | None = Field(
        default=None,
        description=(
            "Set, with the reason, when no source was retrieved or `relevance` is below the dashboard's "
            "min_relevance: the documents may not cover the question (docs/dashboard.md)."
        ),
    )
    trace: dict[str, Any] | None = Field(
        default=None,
        description=(
            "What the RAG method did: method, llm_calls, prompt_tokens, completion_tokens, retrieval_rounds, queries "
            "(search queries sent), sub_questions, sub_answers, steps (intermediate LLM outputs), values, notes "
            "(e.g. notes.standalone: a follow-up's standalone question)."
        ),
    )

    @classmethod
    def build(
        cls,
        request: QueryRequest,
        hits: list[Hit],
        answer: Answer,
        timings: StageTimings,
        *,
        detected_language: str | None = None,
        trace: MethodTrace | None = None,
    ) -> QueryResponse:
        cited = set(answer.citations)
        return cls(
            tenant=request.tenant,
            question=request.question,
            answer=answer.text,
            sources=[Source.from_hit(h, cited=h.doc_id in cited or h.chunk_id in cited) for h in hits],
            confidence=answer.confidence,
            timings=timings,
            detected_language=detected_language,
            error=answer.error,
            trace=asdict(trace) if trace is not None else None,
        )


def json_schema() -> dict:
    """One JSON Schema document for the query API, both models under ``$defs``.

    Example:
        >>> {"QueryRequest", "QueryResponse", "ChatTurn"} <= set(json_schema()["$defs"])
        True
    """
    from pydantic.json_schema import models_json_schema

    _, schema = models_json_schema(
        [(QueryRequest, "validation"), (QueryResponse, "serialization")],
        title="ragbench query API",
    )
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False)
