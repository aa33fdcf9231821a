"""Any OpenAI-compatible chat server (a vLLM server above all): concurrent, streamed, guarded.

Each item goes through a :class:`~ragbench.resilience.Guard` (the tenant's rate-limit
slot, then retries with backoff through a circuit breaker). Whatever still fails is
returned as ``Answer(error=...)`` with its reason, and the other items go on.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from ragbench.errors import ConfigError, ModelError
from ragbench.generators._base import Sampling, build_answer, cache_salt, failed
from ragbench.generators._openai_steps import OpenAISteps, run_sync
from ragbench.generators._wire import ContextLengthError, call_json, check_status, parse_full, read_stream
from ragbench.generators.prompts import PromptTemplate, PromptTooLongError, estimate_tokens
from ragbench.resilience import (
    CircuitBreaker,
    EndpointUnreachableError,
    Guard,
    RetryPolicy,
    TenantRateLimiter,
)
from ragbench.types import Answer, Hit, Query


class OpenAIGenerator(OpenAISteps):
    """Answer through ``POST {base_url}/chat/completions`` with bounded concurrency.

    Args:
        base_url: Server URL ending in ``/v1``, e.g. ``http://127.0.0.1:8000/v1``.
        model: Served model name (default: the first one the server lists).
        api_key: Sent as a bearer token (vLLM ignores it unless started with one).
        prompt: Prompt template.
        max_model_len: Context length for the fitting rule (default: asked from the server,
            which vLLM reports in ``/v1/models``).
        tokenizer: Local tokenizer folder for exact prompt token counts (default: an estimate
            of one token per 3 bytes; when the server still refuses a prompt as too long, the
            lowest-ranked source is dropped and the request is sent again).
        concurrency: Requests in flight at once.
        stream: Stream tokens (measures time to first token).
        timeout_s: Read timeout per request; ``connect_timeout_s`` for connecting.
        temperature, top_p, max_tokens, seed, stop: Sampling settings.
        json_schema: Constrain answers to this JSON schema (``response_format``).
        retries, backoff_s: Attempts after the first, and the first backoff (doubles, with jitter).
        failure_threshold, reset_timeout_s: Circuit breaker settings (defaults 5 and 60 s).
        rate_per_s, burst, rate_limit_mode: Per-tenant rate limit (``None``: unlimited);
            ``wait`` or ``refuse`` when exceeded.
        cache_salt_secret: Mixed into each tenant's ``cache_salt``.

    Example:
        >>> gen = OpenAIGenerator("http://127.0.0.1:8000/v1", model="tiny")  # doctest: +SKIP
        >>> gen.generate([Query("Where?", "acme")], [[hit]])[0].timings  # doctest: +SKIP
        {'total_ms': 95.1, 'ttft_ms': 21.4, 'queue_ms': 0.2}
    """

    name = "openai"

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000/v1",
        *,
        model: str | None = None,
        api_key: str = "EMPTY",
        prompt: PromptTemplate | None = None,
        max_model_len: int | None = None,
        tokenizer: str | None = None,
        concurrency: int = 8,
        stream: bool = True,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 5.0,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 64,
        seed: int | None = 0,
        stop: Sequence[str] = (),
        json_schema: Mapping[str, Any] | None = None,
        retries: int = 2,
        backoff_s: float = 0.5,
        failure_threshold: int = 5,
        reset_timeout_s: float = 60.0,
        rate_per_s: float | None = None,
        burst: float = 10.0,
        rate_limit_mode: str = "wait",
        cache_salt_secret: str = "",
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url {base_url!r} is not an http(s) URL. Example: http://127.0.0.1:8000/v1")
        if concurrency < 1 or timeout_s <= 0:
            raise ConfigError(f"concurrency={concurrency}, timeout_s={timeout_s}: both must be positive.")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.prompt = prompt or PromptTemplate()
        self.max_model_len = max_model_len
        self.tokenizer_path = tokenizer
        self.concurrency = concurrency
        self.stream = stream
        self.timeout_s, self.connect_timeout_s = timeout_s, connect_timeout_s
        self.sampling = Sampling(temperature, top_p, max_tokens, seed, tuple(stop))
        self.json_schema = dict(json_schema) if json_schema else None
        self.cache_salt_secret = cache_salt_secret
        limiter = (
            TenantRateLimiter(rate_per_s=rate_per_s, burst=burst, mode=rate_limit_mode)
            if rate_per_s is not None
            else None
        )
        self.guard = Guard(
            retry=RetryPolicy(
                attempts=retries + 1, initial_s=backoff_s, max_s=8 * max(backoff_s, 0.1), jitter_s=backoff_s
            ),
            breaker=CircuitBreaker(
                failure_threshold=failure_threshold, reset_timeout_s=reset_timeout_s, name=self.base_url
            ),
            limiter=limiter,
        )
        self._tokenizer = None

    # ------------------------------------------------------------------ server facts
    def _client(self):
        import httpx

        timeout = httpx.Timeout(self.timeout_s, connect=self.connect_timeout_s)
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        headers = {"Authorization": f"Bearer {self.api_key}"}
        return httpx.AsyncClient(base_url=self.base_url, timeout=timeout, limits=limits, headers=headers)

    async def _discover(self, client) -> None:
        """Fill in ``model`` and ``max_model_len`` from ``GET /models`` when not configured."""
        if self.model and self.max_model_len:
            return
        data = await call_json(client, self.base_url, "GET", "/models")
        try:
            cards = data["data"]
            card = next(c for c in cards if not self.model or c["id"] == self.model)
        except (KeyError, TypeError, StopIteration) as exc:
            names = [c.get("id") for c in data.get("data", [])] if isinstance(data, dict) else []
            raise ModelError(
                f"Model {self.model!r} is not served at {self.base_url} (it serves {names}). "
                "Set generator.model to one of those names."
            ) from exc
        self.model = self.model or card["id"]
        self.max_model_len = self.max_model_len or int(card.get("max_model_len") or 4096)

    async def _server_facts(self, client) -> None:
        """Discover the model once (retried, through the breaker). Once known, nothing is sent and
        the breaker is not touched: only generation requests count for or against the endpoint, so
        a known model can never reset the count of failing answers (it did, once per question)."""
        if not (self.model and self.max_model_len):
            await self.guard.retry.acall(self.guard.breaker.acall, self._discover, client)

    def count_tokens(self, messages: list[dict]) -> int:
        """Prompt tokens of ``messages``: exact with a local tokenizer, else a conservative estimate."""
        if self.tokenizer_path:
            if self._tokenizer is None:
                from transformers import AutoTokenizer

                self._tokenizer = AutoTokenizer.from_pretrained(self.tokenizer_path)
            ids = self._tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            return len(ids["input_ids"] if isinstance(ids, Mapping) else ids)
        return sum(estimate_tokens(m["content"]) + 4 for m in messages) + 2

    def _body(self, messages: list[dict], tenant: str, sampling: Sampling | None = None) -> dict:
        s = sampling or self.sampling
        body = {
            "model": self.model,
            "messages": messages,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "logprobs": True,
            "stream": self.stream,
            "cache_salt": cache_salt(tenant, self.cache_salt_secret),
        }
        if s.seed is not None:
            body["seed"] = s.seed
        if s.stop:
            body["stop"] = list(s.stop)
        if self.stream:
            body["stream_options"] = {"include_usage": True}
        if self.json_schema and sampling is None:  # answers only; a method's steps are free text
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": self.json_schema},
            }
        return body

    async def _complete(
        self,
        client,
        messages: list[dict],
        tenant: str,
        on_delta: Callable | None = None,
        sampling: Sampling | None = None,
    ) -> dict:
        """One chat completion: ``{"text", "logprobs", "prompt_tokens", "completion_tokens", "ttft_ms"}``.

        ``on_delta(text)`` is called with each streamed piece of text as it arrives."""
        start = time.perf_counter()
        body = self._body(messages, tenant, sampling)
        if not self.stream:
            data = await call_json(client, self.base_url, "POST", "/chat/completions", json=body)
            return parse_full(data, self.base_url)
        async with client.stream("POST", "/chat/completions", json=body) as resp:
            if resp.status_code != 200:
                text = (await resp.aread()).decode("utf-8", errors="replace")
                check_status(resp, self.base_url, "/chat/completions", text)
            return await read_stream(resp, start, self.base_url, on_delta)

    async def _one(
        self,
        client,
        sem,
        query: Query,
        hits: Sequence[Hit],
        on_delta: Callable | None = None,
        prompt: PromptTemplate | None = None,
    ) -> Answer:
        # An answer's total_ms is its own request's time, from getting a concurrency slot on; the
        # time spent waiting for one (behind this batch's other questions) is queue_ms, apart.
        created = time.perf_counter()
        slot: list[float] = []  # when the request got its slot (set by _fit_and_complete)

        def clock() -> dict[str, float]:
            now, began = time.perf_counter(), (slot[0] if slot else created)
            return {"total_ms": (now - began) * 1000, "queue_ms": (began - created) * 1000}

        try:
            out, kept = await self._fit_and_complete(client, sem, query, hits, on_delta, prompt, slot)
        except PromptTooLongError as exc:
            return failed(f"prompt too long: {exc}")
        except Exception as exc:
            return failed(f"{type(exc).__name__}: {exc}", **clock())
        timings = clock()
        return build_answer(
            out["text"],
            kept,
            prompt_tokens=out["prompt_tokens"],
            completion_tokens=out["completion_tokens"],
            logprobs=out["logprobs"],
            ttft_ms=out["ttft_ms"],
            total_ms=timings["total_ms"],
            queue_ms=timings["queue_ms"],
        )

    async def _fit_and_complete(
        self, client, sem, query: Query, hits: Sequence[Hit], on_delta=None, prompt=None, slot: list | None = None
    ):
        """Fit the prompt with the token count at hand; if the server still finds it too long
        (an estimate was off), drop the lowest-ranked source and ask again. The first time the
        request gets its concurrency slot is appended to ``slot``."""
        budget = int(self.max_model_len) - self.sampling.max_tokens
        template = prompt or self.prompt
        messages, kept = template.fit(query, hits, count_tokens=self.count_tokens, budget=budget)
        while True:
            try:
                async with sem:
                    if slot is not None and not slot:
                        slot.append(time.perf_counter())
                    out = await self.guard.acall(
                        query.tenant, self._complete_mapped, client, messages, query.tenant, on_delta
                    )
                return out, kept
            except ContextLengthError as exc:
                if not kept:
                    raise PromptTooLongError(f"even with no sources: {exc}") from exc
                kept = kept[:-1]
                messages = template.messages(query, kept)

    async def _complete_mapped(self, client, messages, tenant, on_delta=None, sampling=None):
        import httpx

        try:
            return await self._complete(client, messages, tenant, on_delta, sampling)
        except (httpx.TransportError, httpx.TimeoutException) as exc:  # a server dying mid-stream
            raise EndpointUnreachableError(f"{self.base_url} connection lost ({type(exc).__name__}: {exc})") from exc

    async def agenerate(
        self, queries: Sequence[Query], contexts: Sequence[Sequence[Hit]], *, prompt: PromptTemplate | None = None
    ) -> list[Answer]:
        """Async :meth:`generate`."""
        queries, contexts = list(queries), list(contexts)
        if len(queries) != len(contexts):
            raise ValueError(f"{len(queries)} queries but {len(contexts)} contexts: pass one context list per query.")
        async with self._client() as client:
            try:
                await self._server_facts(client)
            except Exception as exc:
                return [failed(f"{type(exc).__name__}: {exc}") for _ in queries]
            sem = asyncio.Semaphore(self.concurrency)
            return list(
                await asyncio.gather(*(self._one(client, sem, q, h, prompt=prompt) for q, h in zip(queries, contexts)))
            )

    def warmup(self) -> None:
        """Ask the server for its model and context length now; an unreachable server is not an
        error here (each item will then fail with the reason, and the run records it)."""

        async def _go():
            async with self._client() as client:
                await self._discover(client)

        try:
            run_sync(_go())
        except Exception:
            pass

    def generate(
        self, queries: Sequence[Query], contexts: Sequence[Sequence[Hit]], *, prompt: PromptTemplate | None = None
    ) -> list[Answer]:
        """Answer every query concurrently; a failed item gets ``Answer.error`` and the rest go on.

        ``prompt`` answers with another template than the configured one (e.g. a closed-book draft)."""
        return run_sync(self.agenerate(queries, contexts, prompt=prompt))

    def stream_answer(self, query: Query, hits: Sequence[Hit]) -> Iterator[str | Answer]:
        """Yield the answer's text pieces as the server streams them, then the final :class:`Answer`.

        The final answer is authoritative: its text has citation markers removed, and if a retry
        happened mid-stream the pieces of the failed attempt were already yielded. A failure ends
        the stream with an answer whose ``error`` says why. Used by the dashboard.

        Example:
            >>> for piece in gen.stream_answer(Query("Where?", "acme"), hits): print(piece)  # doctest: +SKIP
        """
        pieces: queue.Queue = queue.Queue()
        done = object()

        async def _go() -> Answer:
            async with self._client() as client:
                try:
                    await self._server_facts(client)
                except Exception as exc:
                    return failed(f"{type(exc).__name__}: {exc}")
                return await self._one(client, asyncio.Semaphore(1), query, hits, on_delta=pieces.put)

        def target() -> None:
            try:
                pieces.put(asyncio.run(_go()))
            except BaseException as exc:
                pieces.put(failed(f"{type(exc).__name__}: {exc}"))
            finally:
                pieces.put(done)

        threading.Thread(target=target, name="ragbench-stream", daemon=True).start()
        while (item := pieces.get()) is not done:
            yield item

    def __repr__(self) -> str:
        return f"OpenAIGenerator(base_url={self.base_url!r}, model={self.model!r}, concurrency={self.concurrency})"
