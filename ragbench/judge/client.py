"""The LLM judge: an OpenAI-compatible server (a vLLM server by default), configured like a generator.

Every call is cached on (judge model, prompt, settings) in a :class:`JudgeCache`, so a re-run
costs nothing and gives the same numbers. Output is constrained to the expected JSON schema
(``response_format: json_schema``, which vLLM enforces) where the server supports it.
Failures raise :class:`JudgeError` with the reason (timeout, connection, HTTP status,
unparsable output); the metric layer records them per item instead of averaging them in.

Calls have the generator's resilience (:mod:`ragbench.resilience`): transient failures
(connection, timeout, HTTP 5xx/429) are retried with exponential backoff, and a circuit breaker
opens after ``failure_threshold`` consecutive ones, so a dead judge fails every later item at once
(``circuit open: ... (last: <reason>)``) instead of each waiting its full timeout.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ragbench.errors import ConfigError, MetricError
from ragbench.resilience import CircuitBreaker, CircuitOpenError, Guard, RetryPolicy, TransientError

RESPONSE_FORMATS = ("json_schema", "json_object", "none")
_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


class JudgeError(MetricError):
    """One judge call failed; the message is the per-item failure reason."""


class Judge:
    """A judge model behind an OpenAI-compatible ``/v1/chat/completions``.

    Args:
        base_url: Server URL ending in ``/v1`` (e.g. ``ragbench serve-llm``'s).
        model: Served model name; ``None`` asks the server (``/v1/models``) for its first model.
        api_key: Sent as the bearer token (vLLM ignores it unless started with one).
        temperature, max_tokens, seed: Sampling settings (part of the cache key).
        timeout_s: Seconds before a call counts as a timeout failure.
        response_format: ``json_schema`` (constrained decoding), ``json_object`` or ``none``.
        cache_dir: Folder of the call cache (``None``: no cache).
        samples: Judge each item this many times (seeds ``seed + i``) to measure judge variance.
        max_retries: Retries of a transient failure (connection, timeout, HTTP 5xx/429) before the
            item fails; ``backoff_s`` is the first wait (doubles, with jitter).
        failure_threshold, reset_timeout_s: Circuit breaker: consecutive transient failures that open
            it, and seconds before one probe call is let through (defaults 5 and 60 s).
        max_string_chars: Bound every JSON string the judge may write (``maxLength``) and every list
            to ``max_list_items``; keeps a weak judge from rambling until ``max_tokens`` (None: no bound).
        max_list_items: List bound used with ``max_string_chars``.
        max_integer: With ``max_string_chars``, bound integers to ``[0, max_integer]`` (ragas' verdicts are 0/1).

    Example:
        >>> judge = Judge("http://127.0.0.1:8000/v1", cache_dir=".ragbench/judge")  # doctest: +SKIP
        >>> judge.complete("Reply with JSON {\\"ok\\": true}", {"type": "object"})  # doctest: +SKIP
        '{"ok": true}'
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8000/v1",
        *,
        model: str | None = None,
        api_key: str = "EMPTY",
        temperature: float = 0.0,
        max_tokens: int = 512,
        seed: int = 0,
        timeout_s: float = 60.0,
        response_format: str = "json_schema",
        cache_dir: str | Path | None = None,
        samples: int = 1,
        max_retries: int = 2,
        max_string_chars: int | None = None,
        max_list_items: int = 8,
        max_integer: int = 1,
        backoff_s: float = 0.5,
        failure_threshold: int = 5,
        reset_timeout_s: float = 60.0,
    ) -> None:
        if response_format not in RESPONSE_FORMATS:
            raise ConfigError(f"response_format {response_format!r} is not one of {', '.join(RESPONSE_FORMATS)}.")
        if samples < 1 or max_tokens < 1 or timeout_s <= 0:
            raise ConfigError(
                f"samples ({samples}) and max_tokens ({max_tokens}) must be >= 1 and timeout_s ({timeout_s}) > 0."
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.settings = {
            "temperature": temperature,
            "max_tokens": max_tokens,
            "seed": seed,
            "response_format": response_format,
        }
        self.timeout_s = timeout_s
        self.samples = samples
        self.max_retries = max_retries
        self.max_string_chars = max_string_chars
        self.max_list_items = max_list_items
        self.max_integer = max_integer
        self.cache_dir = cache_dir
        self.guard = Guard(
            retry=RetryPolicy(
                attempts=max_retries + 1, initial_s=backoff_s, max_s=8 * max(backoff_s, 0.1), jitter_s=backoff_s
            ),
            breaker=CircuitBreaker(
                failure_threshold=failure_threshold, reset_timeout_s=reset_timeout_s, name=f"judge {self.base_url}"
            ),
        )
        self._cache = None
        self._client = None
        self.calls = 0  # requests actually sent to the server

    @property
    def cache(self):
        if self._cache is None and self.cache_dir:
            from ragbench.judge.cache import JudgeCache

            self._cache = JudgeCache(self.cache_dir)
        return self._cache

    @property
    def client(self):
        if self._client is None:
            from openai import OpenAI

            # retries are the guard's (counted by the breaker), not the client's
            self._client = OpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout_s, max_retries=0)
        return self._client

    def _guarded(self, request, *, chat: bool = True):
        """``request()`` through retries and the breaker; every failure becomes a :class:`JudgeError`.
        ``calls`` counts the chat requests sent (each attempt), not model discovery."""

        def attempt():
            self.calls += chat
            try:
                return request()
            except Exception as exc:
                if _transient(exc):
                    raise TransientError(_reason(exc)) from exc
                raise

        try:
            return self.guard.call("judge", attempt)
        except CircuitOpenError as exc:
            raise JudgeError(f"circuit open: {exc}") from exc
        except TransientError as exc:
            raise JudgeError(str(exc)) from exc
        except Exception as exc:
            raise JudgeError(_reason(exc)) from exc

    def model_name(self) -> str:
        """The served model name (asked from the server once when not configured)."""
        if self.model is None:
            try:
                self.model = self._guarded(lambda: self.client.models.list().data[0].id, chat=False)
            except JudgeError as exc:
                raise JudgeError(f"judge server {self.base_url} did not list its models: {exc}") from exc
        return self.model

    def complete(
        self, prompt: str, schema: dict[str, Any] | None = None, *, sample: int = 0, occurrence: int = 0
    ) -> str:
        """The judge's raw answer to ``prompt`` (cached); ``schema`` constrains the JSON it may write."""
        from ragbench.judge.cache import cache_key

        model = self.model_name()
        if schema is not None and self.max_string_chars:
            schema = _bounded(schema, self.max_string_chars, self.max_list_items, self.max_integer)
        settings = {
            **self.settings,
            "seed": self.settings["seed"] + sample,
            "schema": schema,
            "sample": sample,
            "occurrence": occurrence,
        }
        key = cache_key(model, prompt, settings)
        cache = self.cache
        if cache is not None and (hit := cache.get(key)) is not None:
            return hit
        text = self._call(model, prompt, schema, seed=settings["seed"] + occurrence)
        if cache is not None:
            cache.put(key, text, model=model)
        return text

    def _response_format(self, schema: dict[str, Any] | None) -> dict | None:
        kind = self.settings["response_format"]
        if kind == "json_schema" and schema is not None:
            return {
                "type": "json_schema",
                "json_schema": {"name": str(schema.get("title") or "output"), "schema": schema},
            }
        return {"type": "json_object"} if kind != "none" else None

    def _call(self, model: str, prompt: str, schema: dict[str, Any] | None, *, seed: int) -> str:
        kwargs: dict[str, Any] = {
            "temperature": self.settings["temperature"],
            "max_tokens": self.settings["max_tokens"],
            "seed": seed,
        }
        fmt = self._response_format(schema)
        if fmt is not None:
            kwargs["response_format"] = fmt
        messages = [{"role": "user", "content": prompt}]
        text = self._guarded(
            lambda: (
                self.client.chat.completions.create(model=model, messages=messages, **kwargs).choices[0].message.content
            )
        )
        if not text:
            raise JudgeError("judge returned an empty answer")
        return text

    def __repr__(self) -> str:
        return f"Judge(base_url={self.base_url!r}, model={self.model!r}, samples={self.samples})"


def _bounded(schema, max_chars: int, max_items: int, max_int: int):
    """A copy of a JSON schema with ``maxLength`` on strings, ``maxItems`` on arrays, a range on integers."""
    if isinstance(schema, list):
        return [_bounded(s, max_chars, max_items, max_int) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _bounded(v, max_chars, max_items, max_int) for k, v in schema.items()}
    if out.get("type") == "integer":
        out.setdefault("minimum", 0)
        out.setdefault("maximum", max_int)
    if out.get("type") == "string":
        out.setdefault("maxLength", max_chars)
    if out.get("type") == "array":
        out.setdefault("maxItems", max_items)
    return out


def _transient(exc: Exception) -> bool:
    """A failure worth retrying (and counting against the endpoint): connection, timeout, HTTP 5xx/429."""
    from openai import APIConnectionError  # also APITimeoutError

    status = getattr(exc, "status_code", None)
    return isinstance(exc, APIConnectionError) or (isinstance(status, int) and (status == 429 or status >= 500))


def _reason(exc: Exception) -> str:
    """A short failure reason: ``timeout``, ``connection``, ``http 400`` or ``invalid response``, with detail."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    detail = str(exc).replace("\n", " ")[:200]
    if "Timeout" in name:
        return f"timeout: {detail}"
    if "Connection" in name:
        return f"connection failed: {detail}"
    if status is not None:
        return f"http {status}: {detail}"
    return f"invalid response ({name}): {detail}"


def parse_json(text: str, model_cls):
    """Validate the judge's text as ``model_cls`` (pydantic); code fences are tolerated.

    Raises:
        JudgeError: The text is not JSON of the expected shape (the reason names the problem).
    """
    from pydantic import ValidationError

    match = _FENCE.match(text)
    body = match.group(1) if match else text
    try:
        return model_cls.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "output"
        raise JudgeError(
            f"unparsable judge output for {model_cls.__name__} ({where}: {first['msg']}): {body[:120]!r}"
        ) from exc
    except json.JSONDecodeError as exc:  # pragma: no cover - pydantic wraps these
        raise JudgeError(f"unparsable judge output: {exc}") from exc
