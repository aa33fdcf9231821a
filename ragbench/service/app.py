"""The query service's ASGI app (FastAPI): routes, refusals and the OpenAPI document.

    POST /v1/query                    QueryRequest -> QueryResponse (502: the model failed; 503: its circuit is open)
    POST /v1/query/stream             the same as server-sent events: sources, token..., answer (or error)
    GET  /v1/tenants                  the tenants this key may query
    GET  /v1/tenants/{t}/documents    a page of the tenant's documents
    POST /v1/tenants/{t}/ingest       documents and files -> 202 and a job id
    GET  /v1/jobs/{id}                an ingestion job's state and per-document outcomes
    GET  /healthz, /readyz            alive; ready (store, model endpoint and breaker, MLflow, limits)
    GET  /openapi.json                this API, from the same pydantic models ``ragbench schema`` prints

Refusals are JSON ``{"error": ...}``: 401 (no valid key), 403 (another tenant, or the guard of
:mod:`ragbench.service.access`), 404 (no such tenant or job, or a job of another tenant), 411/413
(body size), 422 (invalid input: what was sent, what is valid), 429 with ``Retry-After`` (the
tenant's rate limit, :mod:`ragbench.service.ratelimit`).

Example:
    >>> app = create_app(ServiceState.build(ServiceSettings(overrides=["generator=extractive"], open=True)))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
import uuid
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool

from ragbench.dashboard.auth import AccessDeniedError, User, require_access
from ragbench.dashboard.jobs import check_upload_size
from ragbench.errors import DatasetError, RagbenchError, TenantError, TenantNotFoundError
from ragbench.schema import QueryRequest, QueryResponse, json_schema
from ragbench.service.access import UNAUTHORIZED, GuardMiddleware, authenticate
from ragbench.service.answering import answer_query, stream_query
from ragbench.service.ingest import job_view, upload_files
from ragbench.service.models import (
    DocumentInfo,
    DocumentList,
    ErrorBody,
    IngestRequest,
    JobAccepted,
    JobView,
    Readiness,
    TenantList,
)
from ragbench.service.settings import ServiceSettings
from ragbench.service.state import ServiceState
from ragbench.tenancy import validate_tenant_id

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_TICKET = re.compile(r"^[0-9a-f]{12}$")
_bearer = HTTPBearer(auto_error=False, description="An API key from `ragbench keys create` (or send X-API-Key).")
_ERRORS = {code: {"model": ErrorBody} for code in (401, 403, 404, 422, 429)}


class ApiError(Exception):
    """A refusal with its HTTP status, message and headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _state(request: Request) -> ServiceState:
    return request.app.state.rb


def principal(request: Request, _key: Annotated[Any, Depends(_bearer)] = None) -> User:
    """The user behind the request's key (401 without a valid one)."""
    user = authenticate(_state(request).keys, request.headers)
    if user is None:
        raise ApiError(401, UNAUTHORIZED, {"WWW-Authenticate": "Bearer"})
    return user


Principal = Annotated[User, Depends(principal)]


def request_id(request: Request) -> str:
    """The client's ``X-Request-ID`` when well-formed, else a new one (echoed in the response)."""
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex


async def admitted(state: ServiceState, user: User, tenant: str, *, needs_documents: bool = False) -> str:
    """Check the tenant id (422), access (403), existence (404) and the rate limit (429), in that order."""
    from ragbench.ingestion.tenants import list_tenants

    require_access(user, validate_tenant_id(tenant))
    exists = state.parts.store.has_tenant(tenant) if needs_documents else tenant in list_tenants(state.parts.store)
    if not exists:
        raise TenantNotFoundError(
            f"Tenant {tenant!r} has no documents in this service's store. Ingest some first "
            f"(POST /v1/tenants/{tenant}/ingest)."
        )
    refusal = await run_in_threadpool(state.limits.admit, tenant)
    if refusal is not None:
        raise ApiError(429, refusal.message, {"Retry-After": str(refusal.retry_after)})
    return tenant


def _query_routes(app: FastAPI) -> None:
    @app.post(
        "/v1/query",
        response_model=QueryResponse,
        tags=["query"],
        responses={
            **_ERRORS,
            502: {"model": QueryResponse, "description": "The model failed: `error` says why (sources are kept)."},
            503: {"model": ErrorBody, "description": "The model endpoint's circuit breaker is open (Retry-After)."},
        },
    )
    async def query(body: QueryRequest, request: Request, user: Principal):
        """Answer a question from one tenant's documents."""
        state, rid = _state(request), request_id(request)
        await admitted(state, user, body.tenant, needs_documents=True)
        response, answer = await answer_query(state, body, principal=user.name, request_id=rid)
        headers = {"X-Request-ID": rid}
        if answer.ok:
            return JSONResponse(response.model_dump(mode="json"), headers=headers)
        breaker = getattr(getattr(state.parts.generator, "guard", None), "breaker", None)
        wait = breaker.retry_after_s() if breaker is not None else 0.0
        if wait > 0:
            raise ApiError(
                503,
                f"The model endpoint is unavailable (circuit breaker open): {answer.error}",
                {"Retry-After": str(max(1, round(wait))), **headers},
            )
        return JSONResponse(response.model_dump(mode="json"), status_code=502, headers=headers)

    @app.post(
        "/v1/query/stream",
        tags=["query"],
        responses={
            **_ERRORS,
            200: {
                "content": {"text/event-stream": {}},
                "description": (
                    "Server-sent events: `sources` ({sources, retrieve_ms}), `token` ({text}) as the model writes, then "
                    "`answer` (a QueryResponse with timings) or `error` ({error})."
                ),
            },
        },
    )
    async def query_stream(body: QueryRequest, request: Request, user: Principal):
        """Answer a question, streaming the sources, the tokens and the final answer."""
        from sse_starlette.sse import EventSourceResponse

        state, rid = _state(request), request_id(request)
        await admitted(state, user, body.tenant, needs_documents=True)
        return EventSourceResponse(
            stream_query(state, body, principal=user.name, request_id=rid), ping=15, headers={"X-Request-ID": rid}
        )


def _tenant_routes(app: FastAPI) -> None:
    @app.get("/v1/tenants", response_model=TenantList, tags=["tenants"], responses=_ERRORS)
    async def tenants(request: Request, user: Principal):
        """The tenants this key may query."""
        visible = await run_in_threadpool(_state(request).visible_tenants, user)
        return TenantList(principal=user.name, role=user.role, tenants=visible)

    @app.get("/v1/tenants/{tenant}/documents", response_model=DocumentList, tags=["tenants"], responses=_ERRORS)
    async def documents(
        tenant: str,
        request: Request,
        user: Principal,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ):
        """A page of the tenant's documents with their ingestion status."""
        from ragbench.ingestion.tenants import list_documents

        state = _state(request)
        await admitted(state, user, tenant)
        docs = await run_in_threadpool(list_documents, state.parts.store, tenant)
        page = [
            DocumentInfo(**{k: v for k, v in d.items() if k in DocumentInfo.model_fields})
            for d in docs[offset : offset + limit]
        ]
        return DocumentList(tenant=tenant, total=len(docs), offset=offset, documents=page)

    @app.post(
        "/v1/tenants/{tenant}/ingest",
        response_model=JobAccepted,
        status_code=202,
        tags=["ingestion"],
        responses={**_ERRORS, 400: {"model": ErrorBody}, 413: {"model": ErrorBody}},
    )
    async def ingest(tenant: str, body: IngestRequest, request: Request, user: Principal):
        """Queue documents and files for ingestion into the tenant; poll the job it returns."""
        state = _state(request)
        require_access(user, validate_tenant_id(tenant))  # a new tenant may be ingested into: no existence check
        refusal = await run_in_threadpool(state.limits.admit, tenant)
        if refusal is not None:
            raise ApiError(429, refusal.message, {"Retry-After": str(refusal.retry_after)})
        files = upload_files(body)
        try:
            check_upload_size(files)
        except DatasetError as exc:
            raise ApiError(413, str(exc)) from None
        sub = state.jobs.submit_files(tenant, files, user=user.name)
        await run_in_threadpool(state.submissions.add, sub.ticket, tenant, user.name)
        return JobAccepted(job_id=sub.ticket, tenant=tenant, state=sub.state, poll=f"/v1/jobs/{sub.ticket}")

    @app.get("/v1/jobs/{job_id}", response_model=JobView, tags=["ingestion"], responses=_ERRORS)
    async def job(job_id: str, request: Request, user: Principal):
        """An ingestion job: queued, running, finished (with per-document outcomes) or error."""
        state = _state(request)
        view = None
        if _TICKET.match(job_id):
            view = await run_in_threadpool(job_view, state.jobs, state.submissions, state.parts.store, job_id, user)
        if view is None:
            raise ApiError(404, f"No ingestion job {job_id[:40]!r} visible to {user.name!r}.")
        return view


def _health_routes(app: FastAPI) -> None:
    @app.get("/healthz", tags=["health"])
    async def healthz():
        """The process answers (liveness)."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=Readiness, tags=["health"], responses={503: {"model": Readiness}})
    async def readyz(request: Request):
        """Every dependency answers (readiness): 503 with the failing checks otherwise."""
        ready = await run_in_threadpool(_state(request).readiness)
        return JSONResponse(ready.model_dump(mode="json"), status_code=200 if ready.status == "ready" else 503)


def _json_error(status: int, message: str, headers: dict[str, str] | None = None, detail: Any = None) -> JSONResponse:
    body = ErrorBody(error=message, detail=detail).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request, exc: ApiError):
        return _json_error(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request, exc: RequestValidationError):
        detail = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "input": repr(e.get("input"))[:120]}
            for e in exc.errors()[:20]
        ]
        summary = "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']} (got {d['input']})" for d in detail[:3])
        return _json_error(422, f"Invalid request: {summary}. See /openapi.json for the valid shapes.", detail=detail)

    @app.exception_handler(RagbenchError)
    async def ragbench_error(_request, exc: RagbenchError):
        status = (
            403
            if isinstance(exc, AccessDeniedError)
            else 404
            if isinstance(exc, TenantNotFoundError)
            else 422
            if isinstance(exc, TenantError)
            else 400
        )
        return _json_error(status, str(exc))


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's OpenAPI document with the query models' schemas replaced by the very JSON Schema that
    ``ragbench schema`` prints (:func:`ragbench.schema.json_schema`), so clients generated from either agree."""
    from fastapi.openapi.utils import get_openapi

    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        shared = json.dumps(json_schema()["$defs"]).replace('"#/$defs/', '"#/components/schemas/')
        doc.setdefault("components", {}).setdefault("schemas", {}).update(json.loads(shared))
        app.openapi_schema = doc
    return app.openapi_schema


def create_app(state: ServiceState) -> FastAPI:
    """The FastAPI app over ``state``'s pipeline (warmed and closed with the app's lifespan)."""
    from ragbench import __version__

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if state.settings.warm:
            await run_in_threadpool(state.warm)
        yield
        state.close()

    app = FastAPI(
        title="ragbench query API",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        description="Answers questions from one tenant's documents with a RAG pipeline built by ragbench. "
        "See docs/deploy.md.",
    )
    app.state.rb = state
    app.openapi = lambda: openapi_document(app)
    _query_routes(app)
    _tenant_routes(app)
    _health_routes(app)
    _handlers(app)
    app.add_middleware(GuardMiddleware, open_mode=state.settings.open, hosts=state.settings.allowed_hosts)
    return app


def app_from_env() -> FastAPI:
    """The app of one worker process, from the settings ``ragbench serve`` put in the environment."""
    return create_app(ServiceState.build(ServiceSettings.from_env()))


__all__ = ["ApiError", "app_from_env", "create_app"]
