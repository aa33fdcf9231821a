"""Retries of LanceDB writes that lost a commit race to another writer (tenacity; a leaf module).

Two processes, or the ingestion writer thread and a reader, can commit to one table at once; LanceDB
then refuses the later commit. Such a write is retried with jittered exponential backoff. A disk
error (full, read-only, not writable) is never retried: a full disk stays full.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ragbench.errors import disk_problem

T = TypeVar("T")
_CONFLICT_WORDS = ("conflict", "commit", "retry", "concurrent", "already exists", "was not found")


def is_commit_conflict(exc: BaseException) -> bool:
    """True for LanceDB's commit-race errors (lance raises several types; the message tells them apart)."""
    if disk_problem(exc) is not None or not isinstance(exc, Exception):
        return False
    text = str(exc).lower()
    return any(word in text for word in _CONFLICT_WORDS)


def retrying(fn: Callable[[], T], *, attempts: int = 12, base_s: float = 0.05) -> T:
    """Call ``fn``; on a commit conflict back off (jittered, exponential, capped at ``32 * base_s``) and retry."""
    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

    for attempt in Retrying(
        retry=retry_if_exception(is_commit_conflict),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=base_s, max=32 * base_s),
        reraise=True,
    ):
        with attempt:
            return fn()
    raise AssertionError("unreachable")  # pragma: no cover
