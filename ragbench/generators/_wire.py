"""OpenAI-compatible chat answers on the wire: sending a request (status and reachability errors) and
reading the answer, a JSON body or an event stream.

Only a complete answer is an answer. A body without ``choices[0].message``, a 200 whose body is
not an event stream (an HTML error page), a stream with no ``choices`` at all, or a stream that
ends before ``data: [DONE]`` raises with the reason; what arrived is never returned as text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from ragbench.errors import GenerationError, ModelError
from ragbench.resilience import (
    EndpointUnreachableError,
    IncompleteResponseError,
    MalformedResponseError,
    TransientError,
)


class ContextLengthError(GenerationError):
    """The server refused a prompt as longer than its context."""


async def send(client, base_url: str, method: str, path: str, **kwargs):
    """One request; a server that cannot be reached is :class:`EndpointUnreachableError` (retried, and
    counted by the circuit breaker)."""
    import httpx

    try:
        return await client.request(method, path, **kwargs)
    except (
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.ReadTimeout,
        httpx.RemoteProtocolError,
        httpx.ReadError,
        httpx.WriteError,
        httpx.PoolTimeout,
    ) as exc:
        raise EndpointUnreachableError(
            f"{base_url}{path} unreachable ({type(exc).__name__}: {exc or 'no detail'}). "
            "Check that the server is running (ragbench serve-llm) and base_url is right."
        ) from exc


def check_status(resp, base_url: str, path: str, body: str) -> None:
    """Raise for a status other than 200: 429 and 5xx are transient (retried), the rest say why."""
    code = resp.status_code
    if code == 200:
        return
    detail = body[:300]
    if code == 429 or code >= 500:
        raise TransientError(f"{base_url}{path} returned HTTP {code}: {detail}")
    if code == 404:
        raise ModelError(f"{base_url}{path} returned 404 ({detail}). Check base_url (ends in /v1) and model.")
    if code == 400 and "context length" in body:
        raise ContextLengthError(f"{base_url}{path} says the prompt is too long: {detail}")
    raise GenerationError(f"{base_url}{path} refused the request with HTTP {code}: {detail}")


async def call_json(client, base_url: str, method: str, path: str, **kwargs) -> Any:
    """A request whose answer must be JSON (malformed JSON is :class:`MalformedResponseError`, not retried)."""
    resp = await send(client, base_url, method, path, **kwargs)
    body = resp.text
    check_status(resp, base_url, path, body)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise MalformedResponseError(
            f"{base_url}{path} answered with malformed JSON ({exc}): {body[:120]!r}. "
            "Is base_url an OpenAI-compatible server?"
        ) from exc


def token_logprobs(choice: Mapping) -> list[float]:
    content = (choice.get("logprobs") or {}).get("content") or []
    return [float(t["logprob"]) for t in content if t.get("logprob") is not None]


def parse_full(data: Any, url: str) -> dict:
    """``{"text", "logprobs", "ttft_ms", "prompt_tokens", "completion_tokens"}`` of a JSON answer."""
    try:
        choice = data["choices"][0]
        text = choice["message"].get("content") or ""
        usage = data.get("usage") or {}
        return {
            "text": text,
            "logprobs": token_logprobs(choice),
            "ttft_ms": None,
            "prompt_tokens": int(usage.get("prompt_tokens", 0)),
            "completion_tokens": int(usage.get("completion_tokens", 0)),
        }
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise MalformedResponseError(
            f"{url} answered JSON without choices[0].message ({type(exc).__name__}: {exc}): {str(data)[:120]!r}"
        ) from exc


def _check_complete(url: str, resp, *, done: bool, chunks: int, choices: int, text: str, other: list[str]) -> None:
    """Raise unless the stream was a whole answer (see the module doc)."""
    where = f"{url}/chat/completions"
    if not chunks and not done:
        kind = resp.headers.get("content-type") or "no content type"
        raise MalformedResponseError(
            f"{where} answered HTTP 200 with {kind}, not an event stream: {' '.join(other)[:160]!r}. "
            "Is base_url an OpenAI-compatible server (and not a proxy's error or login page)?"
        )
    if not done:
        raise IncompleteResponseError(
            f"{where}: the stream ended before 'data: [DONE]' after {chunks} chunks (partial text {text[:80]!r} "
            "discarded): the server closed the connection mid-answer. Check the server's log (crash, OOM, timeout)."
        )
    if not choices:
        raise MalformedResponseError(
            f"{where} streamed {chunks} chunks and [DONE] but no choices: there is no answer to use."
        )


async def read_stream(resp, start: float, url: str, on_delta: Callable | None = None) -> dict:
    """Read a streamed chat answer (``on_delta(text)`` gets each piece as it arrives); see :func:`parse_full`."""
    text, logprobs, usage, ttft = [], [], {}, None
    done, chunks, with_choices, other = False, 0, 0, []
    async for line in resp.aiter_lines():
        if not line.startswith("data:"):
            if line.strip() and len(other) < 3:  # SSE comments are allowed; kept to quote a non-stream body
                other.append(line.strip())
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            done = True
            break
        chunks += 1
        try:
            chunk = json.loads(payload)
            choices = chunk.get("choices") or []
            usage = chunk.get("usage") or usage
        except (ValueError, AttributeError) as exc:
            raise MalformedResponseError(f"{url} streamed a malformed chunk ({exc}): {payload[:120]!r}") from exc
        with_choices += bool(choices)
        for choice in choices:
            delta = choice.get("delta") or {}
            lps = token_logprobs(choice)
            if ttft is None and (delta.get("content") or lps):
                ttft = (time.perf_counter() - start) * 1000
            piece = delta.get("content") or ""
            text.append(piece)
            logprobs.extend(lps)
            if piece and on_delta is not None:
                on_delta(piece)
    _check_complete(url, resp, done=done, chunks=chunks, choices=with_choices, text="".join(text), other=other)
    return {
        "text": "".join(text),
        "logprobs": logprobs,
        "ttft_ms": ttft,
        "prompt_tokens": int(usage.get("prompt_tokens", 0)),
        "completion_tokens": int(usage.get("completion_tokens", len(logprobs))),
    }
