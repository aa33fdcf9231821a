"""Resilience for model calls: retries (tenacity), a circuit breaker, per-tenant rate limits, health.

Everything here is light (no heavy imports) and thread-safe. :class:`Guard` combines
the three call-path pieces; :func:`check_endpoint` reports an endpoint's health.
"""

from ragbench.resilience.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from ragbench.resilience.errors import (
    CircuitOpenError,
    EndpointUnreachableError,
    IncompleteResponseError,
    MalformedResponseError,
    RateLimitError,
    TransientError,
)
from ragbench.resilience.guard import Guard
from ragbench.resilience.health import DEGRADED, DOWN, UP, EndpointHealth, check_endpoint
from ragbench.resilience.ratelimit import TenantRateLimiter, TokenBucket
from ragbench.resilience.retry import RetryPolicy

__all__ = [
    "CLOSED",
    "HALF_OPEN",
    "OPEN",
    "UP",
    "DEGRADED",
    "DOWN",
    "CircuitBreaker",
    "CircuitOpenError",
    "EndpointHealth",
    "EndpointUnreachableError",
    "Guard",
    "IncompleteResponseError",
    "MalformedResponseError",
    "RateLimitError",
    "RetryPolicy",
    "TenantRateLimiter",
    "TokenBucket",
    "TransientError",
    "check_endpoint",
]
