"""The dashboard's application logic, kept out of the UI: who may see what, asking, history.

One :class:`DashboardService` per server process holds the built components, the
pipeline presets, the users, the conversation store and the ingestion jobs. The
Panel views and the JSON API both call it, so access control lives in one place:
:meth:`DashboardService.ask_steps` checks the user's tenant before it retrieves.
"""

from __future__ import annotations

import os
import shlex
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragbench.dashboard.auth import LOCAL_ADMIN, User, UserDirectory, require_access
from ragbench.dashboard.history import ConversationStore, Turn
from ragbench.dashboard.relevance import DEFAULT_MIN_RELEVANCE, assess, check_min_relevance, min_relevance_from_env
from ragbench.errors import ConfigError, suggest
from ragbench.language import detect_language
from ragbench.pipelines.conversation import chat_pairs
from ragbench.schema import QueryRequest, QueryResponse, StageTimings
from ragbench.types import Answer, Hit, MethodTrace, Query

ENV_OVERRIDES = "RAGBENCH_DASHBOARD_OVERRIDES"
ENV_USERS = "RAGBENCH_DASHBOARD_USERS"
ENV_PRESETS = "RAGBENCH_DASHBOARD_PRESETS"


@dataclass
class AskEvent:
    """One step of answering, for live progress: ``stage`` is retrieved, token or answered."""

    stage: str
    hits: list[Hit] = field(default_factory=list)
    text: str = ""
    ms: float = 0.0
    response: QueryResponse | None = None


# Named variants that answer a dataset's own questions only (gold passages) cannot answer a user's question.
NOT_ASKABLE = ("oracle",)


def default_presets() -> dict[str, list[str]]:
    """``default`` (the base config as composed) then one preset per named variant of ``configs/experiment/``
    (``rag_hybrid`` shown as ``hybrid``, ``closed_book``, ...), each with the configured generator."""
    from ragbench.config import group_options

    variants = [v for v in group_options("experiment") if v not in NOT_ASKABLE]
    return {"default": [], **{v.removeprefix("rag_"): [f"experiment={v}"] for v in variants}}


def parse_presets(text: str) -> dict[str, list[str]]:
    """Parse ``"name=ov1,ov2;other=ov3"`` into ``{"name": ["ov1", "ov2"], ...}``.

    Example:
        >>> parse_presets("fast=retriever=bm25,k=3;dense=retriever=dense")
        {'fast': ['retriever=bm25', 'k=3'], 'dense': ['retriever=dense']}
    """
    out: dict[str, list[str]] = {}
    for item in filter(None, (s.strip() for s in text.split(";"))):
        name, sep, overrides = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"Preset {item!r} is not NAME=OVERRIDE[,OVERRIDE...], e.g. fast=retriever=bm25,k=3.")
        out[name.strip()] = [o.strip() for o in overrides.split(",") if o.strip()]
    return out


class DashboardService:
    """Everything the dashboard does, independent of the UI.

    Args:
        parts: Components built from the base config (store, embedder, tracker, ...).
        users: The users file, or ``None`` for an open localhost dashboard (everyone is a local admin).
        history: Where conversations are kept.
        presets: Pipeline presets: name -> Hydra overrides on top of the base config.
        base_overrides: The overrides ``parts`` was built from (presets add to them).
        workers: Threads answering questions and running probes.
        min_relevance: Answers whose best source is less similar to the question than this (cosine, with
            ``parts.embedder``) carry the low-confidence marker (:mod:`ragbench.dashboard.relevance`).

    Example:
        >>> svc = DashboardService.from_overrides(["home=/tmp/rb"])  # doctest: +SKIP
        >>> svc.ask(svc.user_for(None), QueryRequest(question="Who founded the company?", tenant="acme-robotics"))  # doctest: +SKIP
    """

    def __init__(
        self,
        parts: Any,
        *,
        users: UserDirectory | None,
        history: ConversationStore,
        presets: Mapping[str, Sequence[str]],
        base_overrides: Sequence[str] = (),
        workers: int = 4,
        min_relevance: float = DEFAULT_MIN_RELEVANCE,
    ) -> None:
        if not presets:
            raise ConfigError("At least one pipeline preset is needed, e.g. {'hybrid': ['retriever=hybrid']}.")
        self.parts = parts
        self.users = users
        self.history = history
        self.presets = {name: list(ov) for name, ov in presets.items()}
        self.base_overrides = list(base_overrides)
        self.min_relevance = check_min_relevance(min_relevance)
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rb-dashboard")
        self._pipelines: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._jobs = None
        #: Set by :func:`ragbench.dashboard.server.serve`: sign-in parts (users file only) and the
        #: Host/Origin guard. Without a gate, a dashboard with a users file signs nobody in.
        self.gate: Any = None
        self.guard: Any = None

    @classmethod
    def from_overrides(
        cls,
        overrides: Sequence[str] = (),
        *,
        users_file: str | None = None,
        presets: Mapping[str, Sequence[str]] | None = None,
    ) -> DashboardService:
        """Build the base components from ``compose(overrides)`` and open the history under ``home``."""
        from ragbench.config import build, compose

        parts = build(compose([*overrides, "progress=false"]))
        home = Path(str(parts.cfg.home)).expanduser().resolve()
        users = UserDirectory.load(users_file) if users_file else None
        return cls(
            parts,
            users=users,
            history=ConversationStore(home / "dashboard" / "history.db"),
            presets=presets or default_presets(),
            base_overrides=overrides,
            min_relevance=min_relevance_from_env(),
        )

    async def run_blocking(self, fn, *args):
        """Run ``fn(*args)`` on the service's threads, keeping the server's event loop free."""
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # ------------------------------------------------------------------ users
    @property
    def open_mode(self) -> bool:
        """True when no users file is configured (localhost only; everyone is a local admin)."""
        return self.users is None

    def user_for(self, name: str | None) -> User | None:
        """The :class:`User` behind a signed-in name (``None`` if unknown); the local admin in open mode."""
        return LOCAL_ADMIN if self.users is None else self.users.get(name)

    def tenants_for(self, user: User | None) -> list[str]:
        """Tenants in the store that ``user`` may see."""
        return user.visible(self.parts.store.tenants()) if user is not None else []

    # --------------------------------------------------------------- pipelines
    def pipeline(self, preset: str):
        """The RAG pipeline of a preset, built once and shared by the process."""
        if preset not in self.presets:
            raise ConfigError(
                f"Unknown preset {preset!r}.{suggest(preset, self.presets)} Presets: {', '.join(self.presets)}."
            )
        with self._lock:
            if preset not in self._pipelines:
                self._pipelines[preset] = self._build_pipeline(self.presets[preset])
            return self._pipelines[preset]

    def generators(self) -> list[Any]:
        """The generators of the presets built so far (for health probes)."""
        with self._lock:
            return [p.generator for p in self._pipelines.values()]

    def _build_pipeline(self, overrides: Sequence[str]):
        from ragbench.config import build, compose

        parts = build(compose([*self.base_overrides, *overrides, "progress=false"]), reuse=self.parts)
        if parts.embedder is None and build(parts.cfg).embedder is not None:
            raise ConfigError(
                "This preset needs an embedder but the base config builds none: use a dense or hybrid base."
            )
        return parts.pipeline

    # -------------------------------------------------------------------- ask
    def ask_steps(
        self,
        user: User | None,
        request: QueryRequest,
        *,
        preset: str | None = None,
        remember: bool = True,
    ) -> Iterator[AskEvent]:
        """Answer ``request`` for ``user`` step by step: retrieved, token(s) if streaming, answered.

        The tenant is checked against the user's access first (:class:`AccessDeniedError`). A question
        asked after earlier turns is a follow-up: the conversational module (:class:`~ragbench.methods.Condenser`)
        turns it and the conversation into a standalone question (with the preset's LLM generator; by
        concatenation with the previous question when the preset has none), which is searched; the
        generator receives the conversation too.
        """
        from ragbench.methods import Standard

        require_access(user, request.tenant)
        preset = preset or next(iter(self.presets))
        pipe = self.pipeline(preset)
        turns = self.history.turns(user.name, request.tenant, limit=5) if remember else []
        detected = detect_language(request.question)  # same detector and rule as ingestion (None: < 3 words)
        stored = tuple((t.question, t.answer) for t in turns if t.answer and not t.payload.get("error"))
        query = Query(
            text=request.question,
            tenant=request.tenant,
            language=request.language or detected,
            history=chat_pairs(request.history) if request.history else stored,  # the request's own turns win
        )
        pipe = pipe.filtered(request.filters)
        steps = _ask_standard if isinstance(pipe.method, Standard) else _ask_method
        hits, answer, timings, trace = yield from steps(pipe, query, request.k)
        response = QueryResponse.build(request, hits, answer, timings, detected_language=detected, trace=trace)
        searched = trace.notes.get("standalone", request.question)  # a follow-up's standalone question
        rel = assess(self.parts.embedder, searched, hits, min_relevance=self.min_relevance)
        response = response.model_copy(update={"relevance": rel.score, "low_confidence": rel.reason or None})
        if remember:
            self.history.append(
                Turn(
                    user=user.name,
                    tenant=request.tenant,
                    question=request.question,
                    answer=response.answer,
                    payload={
                        "preset": preset,
                        "retrieval_query": trace.notes.get("standalone", request.question),
                        "condensed": trace.notes.get("condensed", "none"),
                        "error": response.error,
                        "low_confidence": response.low_confidence,
                        "timings": timings.model_dump(),
                        "sources": [s.model_dump() for s in response.sources],
                    },
                )
            )
        yield AskEvent("answered", hits=hits, text=response.answer, ms=timings.generate_ms, response=response)

    def ask(
        self, user: User | None, request: QueryRequest, *, preset: str | None = None, remember: bool = True
    ) -> QueryResponse:
        """Answer ``request`` for ``user`` in one call (the JSON API and scripts)."""
        response = None
        for event in self.ask_steps(user, request, preset=preset, remember=remember):
            response = event.response or response
        assert response is not None  # ask_steps always ends with an answered event
        return response

    def warm(self) -> None:
        """Build every preset's pipeline and run one query through each, so first visitors wait less."""
        tenants = self.parts.store.tenants()
        for preset in self.presets:
            pipe = self.pipeline(preset)
            if tenants:
                pipe.run([Query("warm up", tenants[0])], k=1)
        try:
            from ragbench.language import detect_language

            detect_language("Loading the language detector before the first upload.")
        except ImportError:  # pragma: no cover - ingestion is part of ragbench; kept optional for slim installs
            pass

    # ------------------------------------------------------------------- jobs
    @property
    def jobs(self):
        """The ingestion job manager (created on first use)."""
        if self._jobs is None:
            from ragbench.dashboard.jobs import JobManager

            self._jobs = JobManager(self.parts)
        return self._jobs

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        if self._jobs is not None:
            self._jobs.close()


def condense(pipe: Any, query: Query):
    """A follow-up's standalone question (:class:`~ragbench.methods.conversational.Condensed`): LLM condensing
    with the pipeline's LLM generator, else the previous question plus the follow-up; a failed LLM call falls
    back to the concatenation (``how="concat_after_error"``), so the user still gets an answer."""
    from ragbench.methods import Condenser
    from ragbench.methods.base import is_llm
    from ragbench.methods.conversational import Condensed

    if not query.history:
        return Condensed(query.text, "none")
    llm = pipe.generator if is_llm(pipe.generator) else None
    [out] = Condenser(llm, mode="llm" if llm is not None else "concat").condense([query])
    if out.completion is not None and not out.completion.ok:
        return Condensed(Condenser.concat(query), "concat_after_error", out.completion)
    return out


def _ask_standard(pipe: Any, query: Query, k: int) -> Iterator[AskEvent]:
    """Standard RAG, stage by stage (the answer streams when the generator can): condense, retrieve, generate."""
    from dataclasses import replace

    from ragbench.methods.base import is_llm

    t0 = time.perf_counter()
    condensed = condense(pipe, query)
    standalone = replace(query, text=condensed.question)
    t1 = time.perf_counter()
    [hits] = pipe.retriever.retrieve([standalone], k)
    t2 = time.perf_counter()
    yield AskEvent("retrieved", hits=hits, text=condensed.question, ms=(t2 - t1) * 1000)
    # A concatenation is a search text, not a question: the follow-up itself (with its history) is answered.
    asked = query if condensed.how.startswith("concat") else standalone
    answer = yield from _generate(pipe.generator, asked, hits)
    t3 = time.perf_counter()
    trace = MethodTrace(
        "conversational" if query.history else "standard",
        retrieval_rounds=1,
        queries=[condensed.question],
        notes={"standalone": condensed.question, "condensed": condensed.how},
    )
    trace.count(condensed.completion)
    if is_llm(pipe.generator):
        trace.count(answer)
    timings = StageTimings(
        retrieve_ms=(t2 - t1) * 1000, generate_ms=(t3 - t2 + t1 - t0) * 1000, total_ms=(t3 - t0) * 1000
    )
    return hits, answer, timings, trace


def _ask_method(pipe: Any, query: Query, k: int) -> Iterator[AskEvent]:
    """Any other RAG method in one call (its follow-ups condensed by :meth:`RAGPipeline.conversational`)."""
    method = pipe.conversational() if query.history else pipe.method
    [result] = method.run([query], k)
    t = result.timings
    retrieve_ms = sum(v for stage, v in t.items() if "retrieve" in stage)
    yield AskEvent("retrieved", hits=result.hits, text=result.trace.notes.get("standalone", query.text), ms=retrieve_ms)
    total = t.get("total_ms", 0.0)
    timings = StageTimings(retrieve_ms=retrieve_ms, generate_ms=max(0.0, total - retrieve_ms), total_ms=total)
    return result.hits, result.answer, timings, result.trace


def _generate(generator: Any, query: Query, hits: list[Hit]) -> Iterator[AskEvent]:
    """Run the generator; one with ``stream_answer(query, hits)`` (text deltas, optionally a final
    :class:`Answer`) has its deltas yielded as ``token`` events for the UI."""
    stream: Callable | None = getattr(generator, "stream_answer", None)
    if not callable(stream):
        [answer] = generator.generate([query], [hits])
        return answer
    parts: list[str] = []
    final: Answer | None = None
    for item in stream(query, hits):
        if isinstance(item, Answer):
            final = item
            continue
        parts.append(str(item))
        yield AskEvent("token", text="".join(parts))
    return final or Answer(text="".join(parts))


# ------------------------------------------------------------ process singleton
_SERVICE: DashboardService | None = None
_SERVICE_LOCK = threading.Lock()


def get_service() -> DashboardService:
    """The process's service, configured from the environment on first use.

    ``RAGBENCH_DASHBOARD_OVERRIDES`` (Hydra overrides, shell-quoted), ``RAGBENCH_DASHBOARD_USERS``
    (users file; unset means an open localhost dashboard) and ``RAGBENCH_DASHBOARD_PRESETS``
    (``name=ov1,ov2;name2=ov3``). ``ragbench dashboard`` sets them from its options.
    """
    global _SERVICE
    with _SERVICE_LOCK:
        if _SERVICE is None:
            presets = parse_presets(os.environ.get(ENV_PRESETS, "")) or None
            _SERVICE = DashboardService.from_overrides(
                shlex.split(os.environ.get(ENV_OVERRIDES, "")),
                users_file=os.environ.get(ENV_USERS) or None,
                presets=presets,
            )
        return _SERVICE
