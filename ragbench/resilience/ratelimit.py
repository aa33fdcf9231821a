"""Per-tenant token-bucket rate limiting: wait for a token, or refuse at once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping

from ragbench.errors import ConfigError
from ragbench.resilience.errors import RateLimitError
from ragbench.tenancy import validate_tenant_id

MODES = ("wait", "refuse")


class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` tokens per second.

    Example:
        >>> bucket = TokenBucket(rate=1.0, capacity=2)
        >>> bucket.try_take(), bucket.try_take(), bucket.try_take() > 0
        (0.0, 0.0, True)
    """

    def __init__(self, rate: float, capacity: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or capacity < 1:
            raise ConfigError(f"rate={rate}, capacity={capacity}: the rate must be > 0 and capacity >= 1.")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._tokens = float(capacity)
        self._last = clock()
        self._lock = threading.Lock()

    def try_take(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` if available and return 0; else take nothing and return the seconds to wait."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= tokens:
                self._tokens -= tokens
                return 0.0
            return (tokens - self._tokens) / self.rate

    @property
    def available(self) -> float:
        with self._lock:
            return min(self.capacity, self._tokens + (self._clock() - self._last) * self.rate)


class TenantRateLimiter:
    """One token bucket per tenant: ``rate_per_s`` requests per second with bursts up to ``burst``.

    Args:
        rate_per_s: Sustained requests per second per tenant.
        burst: Bucket capacity (requests allowed at once after a pause).
        mode: ``"wait"`` blocks until a token is free (at most ``max_wait_s``), ``"refuse"``
            raises :class:`RateLimitError` at once.
        max_wait_s: Longest wait in ``"wait"`` mode before refusing.
        overrides: Per-tenant ``{"tenant": {"rate_per_s": .., "burst": ..}}``.

    Example:
        >>> limiter = TenantRateLimiter(rate_per_s=1, burst=1, mode="refuse")
        >>> limiter.acquire("acme")
        0.0
        >>> limiter.acquire("acme")
        Traceback (most recent call last):
        ...
        ragbench.resilience.errors.RateLimitError: Tenant 'acme' exceeded its rate limit ...
    """

    def __init__(
        self,
        *,
        rate_per_s: float = 10.0,
        burst: float = 10.0,
        mode: str = "wait",
        max_wait_s: float = 30.0,
        overrides: Mapping[str, Mapping[str, float]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"Rate limiter mode {mode!r} is not valid; use one of {MODES}.")
        TokenBucket(rate_per_s, burst)  # validates
        self.rate_per_s, self.burst, self.mode, self.max_wait_s = rate_per_s, burst, mode, max_wait_s
        self.overrides = {validate_tenant_id(t): dict(v) for t, v in (overrides or {}).items()}
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self.stats: dict[str, dict[str, float]] = {}

    def bucket(self, tenant: str) -> TokenBucket:
        with self._lock:
            if tenant not in self._buckets:
                tenant = validate_tenant_id(tenant)
                o = self.overrides.get(tenant, {})
                self._buckets[tenant] = TokenBucket(
                    o.get("rate_per_s", self.rate_per_s), o.get("burst", self.burst), clock=self._clock
                )
                self.stats[tenant] = {"granted": 0, "refused": 0, "waited_s": 0.0}
            return self._buckets[tenant]

    def _refuse(self, tenant: str, wait: float) -> RateLimitError:
        self.stats[tenant]["refused"] += 1
        b = self._buckets[tenant]
        return RateLimitError(
            f"Tenant {tenant!r} exceeded its rate limit ({b.rate:g} requests/s, burst {b.capacity:g}); "
            f"next slot in {wait:.2f} s (mode={self.mode!r}, max_wait_s={self.max_wait_s:g}). "
            "Slow down, or raise rate_per_s/burst for this tenant."
        )

    def acquire(self, tenant: str, tokens: float = 1.0) -> float:
        """Take a slot for ``tenant``; returns the seconds waited. Raises :class:`RateLimitError` when refused."""
        bucket, waited = self.bucket(tenant), 0.0
        while (wait := bucket.try_take(tokens)) > 0:
            if self.mode == "refuse" or waited + wait > self.max_wait_s:
                raise self._refuse(tenant, wait)
            time.sleep(wait)
            waited += wait
        self._granted(tenant, waited)
        return waited

    async def acquire_async(self, tenant: str, tokens: float = 1.0) -> float:
        """Async :meth:`acquire` (waits with ``asyncio.sleep``)."""
        bucket, waited = self.bucket(tenant), 0.0
        while (wait := bucket.try_take(tokens)) > 0:
            if self.mode == "refuse" or waited + wait > self.max_wait_s:
                raise self._refuse(tenant, wait)
            await asyncio.sleep(wait)
            waited += wait
        self._granted(tenant, waited)
        return waited

    def _granted(self, tenant: str, waited: float) -> None:
        with self._lock:
            self.stats[tenant]["granted"] += 1
            self.stats[tenant]["waited_s"] += waited

    def __repr__(self) -> str:
        return f"TenantRateLimiter(rate_per_s={self.rate_per_s}, burst={self.burst}, mode={self.mode!r})"
