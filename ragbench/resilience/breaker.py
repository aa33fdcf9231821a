"""A circuit breaker: closed -> open after N consecutive failures -> half-open probe -> closed."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ragbench.errors import ConfigError
from ragbench.resilience.errors import CircuitOpenError, TransientError

T = TypeVar("T")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Stop calling an endpoint that keeps failing, and probe it again after a pause.

    * closed: calls pass; ``failure_threshold`` consecutive failures open the circuit.
    * open: calls fail fast with :class:`CircuitOpenError` for ``reset_timeout_s``.
    * half-open: one probe call passes; success closes the circuit, failure re-opens it.

    Only exceptions in ``count`` are failures (by default transient ones: an endpoint
    that answers with bad JSON is up, and is not tripped).

    Args:
        failure_threshold: Consecutive failures that open the circuit (default 5).
        reset_timeout_s: Seconds open before a half-open probe (default 60).
        name: Shown in errors and health reports.
        clock: Monotonic clock (tests may pass their own).

    Example:
        >>> breaker = CircuitBreaker(failure_threshold=2, reset_timeout_s=60)
        >>> for _ in range(2):
        ...     try:
        ...         breaker.call(lambda: (_ for _ in ()).throw(TransientError("down")))
        ...     except TransientError:
        ...         pass
        >>> breaker.state
        'open'
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout_s: float = 60.0,
        name: str = "endpoint",
        count: tuple[type[BaseException], ...] = (TransientError,),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or reset_timeout_s < 0:
            raise ConfigError(
                f"failure_threshold={failure_threshold}, reset_timeout_s={reset_timeout_s}: "
                "the threshold must be >= 1 and the timeout >= 0."
            )
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self.name = name
        self.count = count
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self._last_error = ""
        self.stats = {"calls": 0, "failures": 0, "rejected": 0, "opened": 0}

    @property
    def state(self) -> str:
        with self._lock:
            return self._current_state()

    def _current_state(self) -> str:
        if self._state == OPEN and self._clock() - self._opened_at >= self.reset_timeout_s:
            self._state = HALF_OPEN
            self._probing = False
        return self._state

    def retry_after_s(self) -> float:
        """Seconds until a half-open probe is allowed (0 unless open)."""
        with self._lock:
            if self._current_state() != OPEN:
                return 0.0
            return max(0.0, self.reset_timeout_s - (self._clock() - self._opened_at))

    def before_call(self) -> None:
        """Raise :class:`CircuitOpenError` unless a call may go through now."""
        with self._lock:
            state = self._current_state()
            if state == CLOSED:
                self.stats["calls"] += 1
                return
            if state == HALF_OPEN and not self._probing:
                self._probing = True
                self.stats["calls"] += 1
                return
            self.stats["rejected"] += 1
            wait = max(0.0, self.reset_timeout_s - (self._clock() - self._opened_at))
            last = f" (last: {self._last_error})" if self._last_error else ""
        raise CircuitOpenError(
            f"Circuit {self.name!r} is {state}: {self._failures} consecutive failures{last}; calls are refused "
            f"for another {wait:.1f} s, then one probe is let through. Check that the endpoint is up."
        )

    def record_success(self) -> None:
        with self._lock:
            self._state, self._failures, self._probing = CLOSED, 0, False

    def record_failure(self, exc: BaseException | None = None) -> None:
        """Count one failure (``exc``, when given, is quoted by later :class:`CircuitOpenError` messages)."""
        with self._lock:
            if exc is not None:
                self._last_error = f"{type(exc).__name__}: {exc}"[:200]
            self.stats["failures"] += 1
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.failure_threshold:
                if self._state != OPEN:
                    self.stats["opened"] += 1
                self._state, self._opened_at, self._probing = OPEN, self._clock(), False

    def _settle(self, exc: BaseException | None) -> None:
        if exc is None:
            self.record_success()
        elif not isinstance(exc, Exception):  # cancelled or interrupted: no verdict on the endpoint
            with self._lock:
                self._probing = False
        elif isinstance(exc, self.count):
            self.record_failure(exc)
        else:  # the endpoint answered: it is up, though the answer was unusable
            self.record_success()

    def call(self, fn: Callable[..., T], *args, **kwargs) -> T:
        """Call ``fn`` through the breaker."""
        self.before_call()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._settle(exc)
            raise
        self._settle(None)
        return result

    async def acall(self, fn: Callable[..., Awaitable[T]], *args, **kwargs) -> T:
        """Async :meth:`call`."""
        self.before_call()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self._settle(exc)
            raise
        self._settle(None)
        return result

    def snapshot(self) -> dict:
        """JSON-friendly state for health reports and dashboards."""
        with self._lock:
            state = self._current_state()
            return {"name": self.name, "state": state, "consecutive_failures": self._failures, **self.stats}

    def __repr__(self) -> str:
        return f"CircuitBreaker(name={self.name!r}, state={self.state!r})"
