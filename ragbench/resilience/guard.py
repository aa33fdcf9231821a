"""One call path that applies the rate limit, the circuit breaker and retries, in that order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from ragbench.resilience.breaker import CircuitBreaker
from ragbench.resilience.ratelimit import TenantRateLimiter
from ragbench.resilience.retry import RetryPolicy

T = TypeVar("T")


class Guard:
    """Wrap model calls: take a tenant's rate-limit slot once, then retry transient failures
    through the circuit breaker (an open circuit fails fast and is not retried).

    Args:
        retry: Retry policy (default: 3 attempts with backoff and jitter).
        breaker: Circuit breaker (default: 5 failures, 60 s), shared by every call of this guard.
        limiter: Per-tenant rate limiter, or ``None`` for no limit.

    Example:
        >>> guard = Guard(limiter=TenantRateLimiter(rate_per_s=100, burst=100))
        >>> guard.call("acme", lambda: 42)
        42
    """

    def __init__(
        self,
        *,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        limiter: TenantRateLimiter | None = None,
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self.limiter = limiter

    def call(self, tenant: str, fn: Callable[..., T], *args, **kwargs) -> T:
        if self.limiter is not None:
            self.limiter.acquire(tenant)
        return self.retry.call(self.breaker.call, fn, *args, **kwargs)

    async def acall(self, tenant: str, fn: Callable[..., Awaitable[T]], *args, **kwargs) -> T:
        if self.limiter is not None:
            await self.limiter.acquire_async(tenant)
        return await self.retry.acall(self.breaker.acall, fn, *args, **kwargs)

    def __repr__(self) -> str:
        return f"Guard(retry={self.retry!r}, breaker={self.breaker!r}, limiter={self.limiter!r})"
