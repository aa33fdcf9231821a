"""Request and response models of the service's routes other than the query itself.

The query routes take and return :class:`ragbench.schema.QueryRequest` / ``QueryResponse``, the
models ``ragbench schema`` prints; these are the rest of the OpenAPI document.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ragbench.schema import TenantId


class ErrorBody(BaseModel):
    """Every refusal: what was wrong and how to fix it."""

    error: str
    detail: list[dict[str, Any]] | None = Field(default=None, description="Per-field problems of an invalid body.")


class IngestDocument(BaseModel):
    """One document to ingest (the fields of a ragbench JSONL record)."""

    model_config = ConfigDict(extra="forbid")

    id: str | int | None = Field(
        default=None,
        description="Document key within this API's uploads; re-sending the same id replaces the document.",
    )
    text: str = Field(min_length=1)
    title: str | None = None
    language: str | None = Field(default=None, description="ISO 639-1 code; detected when absent.")
    metadata: dict[str, Any] | None = None


class IngestFile(BaseModel):
    """One file to ingest (txt, md, html, pdf, docx or jsonl), base64-encoded."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255, description="File name; its extension picks the parser.")
    content_base64: str


class IngestRequest(BaseModel):
    """Documents and/or files to ingest into one tenant as one job (20 MiB at most in all)."""

    model_config = ConfigDict(extra="forbid")

    documents: list[IngestDocument] = Field(default_factory=list, max_length=10_000)
    files: list[IngestFile] = Field(default_factory=list, max_length=100)


class JobAccepted(BaseModel):
    """An ingestion job was queued: poll ``GET /v1/jobs/{job_id}``."""

    job_id: str
    tenant: TenantId
    state: str
    poll: str


class JobView(BaseModel):
    """An ingestion job: ``state`` is queued, running, finished or error; ``job`` is the ingestion job's own
    record (status, progress, per-document outcomes) once it has started."""

    job_id: str
    tenant: TenantId
    state: str
    error: str | None = None
    job: dict[str, Any] | None = None


class DocumentInfo(BaseModel):
    """One document of a tenant, as ingestion recorded it."""

    key: str
    doc_id: str
    title: str = ""
    source: str = ""
    content_type: str = ""
    size: int = 0
    language: str = ""
    chunks: int = 0
    status: str = ""
    error: str = ""
    updated_at: float = 0.0


class DocumentList(BaseModel):
    """A page of a tenant's documents (``total`` counts them all)."""

    tenant: TenantId
    total: int
    offset: int
    documents: list[DocumentInfo]


class TenantList(BaseModel):
    """The tenants this key may query."""

    principal: str
    role: str
    tenants: list[str]


class Check(BaseModel):
    """One dependency of the service."""

    service: str
    ok: bool | None = Field(description="None: not used by this configuration.")
    detail: str
    ms: float = 0.0


class Readiness(BaseModel):
    """``ready`` when every used dependency answers (the store, the model endpoint with its circuit breaker,
    MLflow, the rate-limit storage)."""

    status: Literal["ready", "unavailable"]
    checks: list[Check]
