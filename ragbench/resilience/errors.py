"""Errors raised by the resilience layer (all are :class:`~ragbench.errors.ModelError`)."""

from __future__ import annotations

from ragbench.errors import ModelError


class TransientError(ModelError):
    """A call failed in a way that may succeed if retried (connection refused, timeout, HTTP 5xx/429)."""


class EndpointUnreachableError(TransientError):
    """The endpoint could not be reached (refused, timed out, DNS)."""


class IncompleteResponseError(TransientError):
    """The endpoint's answer ended early (a stream closed before ``data: [DONE]``): the server may
    have died mid-answer, so it is retried; what arrived is never used as an answer."""


class MalformedResponseError(ModelError):
    """The endpoint answered with something that is not the expected JSON; retrying will not help."""


class CircuitOpenError(ModelError):
    """The circuit breaker is open: the call was refused without touching the endpoint."""


class RateLimitError(ModelError):
    """A tenant exceeded its request rate and the limiter is set to refuse (or the wait was too long)."""
