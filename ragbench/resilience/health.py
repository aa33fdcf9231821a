"""Health checks of model endpoints, with a small status model a dashboard can show."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass

from ragbench.resilience.breaker import CLOSED, CircuitBreaker

UP, DEGRADED, DOWN = "up", "degraded", "down"


@dataclass(frozen=True)
class EndpointHealth:
    """One health observation of an endpoint.

    ``status`` is ``up`` (answers, circuit closed, fast), ``degraded`` (answers but slowly,
    or its circuit is open / half-open) or ``down`` (does not answer).
    """

    name: str
    url: str
    status: str
    latency_ms: float | None
    checked_at: float
    detail: str = ""
    circuit: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _root(url: str) -> str:
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def check_endpoint(
    url: str,
    *,
    name: str = "llm",
    timeout_s: float = 2.0,
    slow_ms: float = 1000.0,
    breaker: CircuitBreaker | None = None,
) -> EndpointHealth:
    """Probe ``<root>/health`` of an OpenAI-compatible server (``url`` may end in ``/v1``).

    Example:
        >>> check_endpoint("http://127.0.0.1:9", timeout_s=0.2).status
        'down'
    """
    probe = f"{_root(url)}/health"
    start = time.perf_counter()
    circuit = breaker.state if breaker is not None else None
    try:
        with urllib.request.urlopen(probe, timeout=timeout_s) as resp:
            code = resp.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return EndpointHealth(name, url, DOWN, None, time.time(), f"unreachable: {reason}", circuit)
    latency = (time.perf_counter() - start) * 1000.0
    if code != 200:
        return EndpointHealth(name, url, DOWN, latency, time.time(), f"GET {probe} returned HTTP {code}", circuit)
    if circuit not in (None, CLOSED):
        return EndpointHealth(name, url, DEGRADED, latency, time.time(), f"circuit {circuit}", circuit)
    if latency > slow_ms:
        return EndpointHealth(name, url, DEGRADED, latency, time.time(), f"slow: {latency:.0f} ms", circuit)
    return EndpointHealth(name, url, UP, latency, time.time(), "ok", circuit)
