"""Retries with exponential backoff and jitter, built on ``tenacity``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from ragbench.errors import ConfigError
from ragbench.resilience.errors import TransientError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Retry transient failures: ``attempts`` tries, waits ``initial_s * 2**n`` (capped) plus jitter.

    Only exceptions in ``retry_on`` are retried; anything else (a malformed response,
    an open circuit, a refused rate limit) is raised at once.

    Example:
        >>> policy = RetryPolicy(attempts=3, initial_s=0.0, jitter_s=0.0)
        >>> calls = []
        >>> def flaky():
        ...     calls.append(1)
        ...     if len(calls) < 3:
        ...         raise TransientError("try again")
        ...     return "ok"
        >>> policy.call(flaky), len(calls)
        ('ok', 3)
    """

    attempts: int = 3
    initial_s: float = 0.5
    max_s: float = 8.0
    jitter_s: float = 0.5
    retry_on: tuple[type[BaseException], ...] = field(default=(TransientError,))

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.initial_s < 0 or self.max_s < 0 or self.jitter_s < 0:
            raise ConfigError(
                f"RetryPolicy(attempts={self.attempts}, initial_s={self.initial_s}, max_s={self.max_s}, "
                f"jitter_s={self.jitter_s}): attempts must be >= 1 and the waits >= 0."
            )

    def _kwargs(self) -> dict:
        from tenacity import retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

        return {
            "stop": stop_after_attempt(self.attempts),
            "wait": wait_exponential_jitter(initial=self.initial_s, max=self.max_s, jitter=self.jitter_s),
            "retry": retry_if_exception_type(self.retry_on),
            "reraise": True,
        }

    def call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Call ``fn(*args, **kwargs)``, retrying transient failures; re-raises the last error."""
        from tenacity import Retrying

        for attempt in Retrying(**self._kwargs()):
            with attempt:
                return fn(*args, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover

    async def acall(self, fn: Callable[..., Awaitable[T]], *args, **kwargs) -> T:
        """Async :meth:`call`."""
        from tenacity import AsyncRetrying

        async for attempt in AsyncRetrying(**self._kwargs()):
            with attempt:
                return await fn(*args, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover
