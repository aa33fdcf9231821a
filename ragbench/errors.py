"""The ragbench error hierarchy.

Every error says what was received, what is valid and how to fix it. Catch
:class:`RagbenchError` to handle anything raised on purpose by ragbench.
"""

from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable, Iterator


class RagbenchError(Exception):
    """Base class of every error ragbench raises on purpose."""


class ConfigError(RagbenchError, ValueError):
    """A configuration value or config group option is invalid."""


class DatasetError(RagbenchError, ValueError):
    """A dataset is missing or malformed."""


class TenantError(RagbenchError, ValueError):
    """A tenant id is invalid."""


class TenantNotFoundError(TenantError, LookupError):
    """A tenant does not exist in the store."""


class StoreError(RagbenchError):
    """The vector/text store failed or was used wrongly."""


class ModelError(RagbenchError):
    """A model could not be loaded or called."""


class GenerationError(ModelError):
    """A generator failed for an item."""


class MetricError(RagbenchError):
    """A metric could not score an item (e.g. an LLM judge timed out or returned unparsable output)."""


class MetricFailureRateError(RagbenchError):
    """Too many items of a run failed (answers, or scoring): the run's aggregate would not be trustworthy.

    ``report`` is the run's :class:`~ragbench.evaluation.evaluate.EvaluationReport`, so a caller can
    still show what was measured.
    """

    def __init__(self, message: str, *, report=None) -> None:
        super().__init__(message)
        self.report = report


class DiskError(RagbenchError):
    """Writing to disk failed in a way no retry can fix: the disk is full, or the folder is read-only
    or not writable. Build it with :meth:`from_exception`; the message says what failed, where, and
    what to do. What was committed before stays; nothing half-written is ever read back."""

    @classmethod
    def from_exception(cls, exc: BaseException, *, what: str, where: str) -> DiskError | None:
        """A :class:`DiskError` for ``exc`` (or an exception it came from), or ``None`` if it is no disk error.

        Example:
            >>> str(DiskError.from_exception(OSError(28, "No space left on device"), what="ragbench ingest",
            ...                              where="/data/home"))[:68]
            'ragbench ingest could not write to /data/home: no space left on the '
        """
        found = disk_problem(exc)
        if found is None:
            return None
        cause, fix, path = found
        return cls(
            f"{what} could not write to {path or where}: {cause}. {fix}, then run the same command again "
            "(what was committed is kept, nothing half-written is used; the re-run does the rest)."
        )


# (errnos, message fragments that only disk errors contain, the cause in words, what to do)
_DISK_PROBLEMS = (
    (
        {errno.ENOSPC, errno.EDQUOT},
        ("no space left on device", "os error 28", "database or disk is full", "disk quota exceeded", "os error 122"),
        "no space left on the disk",
        "Free space on that disk (or set home= / RAGBENCH_HOME to a folder on a bigger one)",
    ),
    (
        {errno.EROFS},
        ("read-only file system", "os error 30", "readonly database"),
        "the file system is read-only",
        "Set home= (or RAGBENCH_HOME) to a writable folder, or make this one writable",
    ),
    (
        {errno.EACCES, errno.EPERM},
        ("os error 13", "unable to open database file"),
        "permission denied",
        "Give this user write access to it, or set home= (or RAGBENCH_HOME) to a writable folder",
    ),
)


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def disk_problem(exc: BaseException) -> tuple[str, str, str | None] | None:
    """``(cause, what to do, path or None)`` if ``exc`` or an exception in its chain is a disk error
    (by errno for ``OSError``; by the texts LanceDB, SQLite and MLflow use for the others)."""
    for err in _chain(exc):
        text = str(err).lower()
        for codes, phrases, cause, fix in _DISK_PROBLEMS:
            if (isinstance(err, OSError) and err.errno in codes) or any(p in text for p in phrases):
                path = next((str(e.filename) for e in _chain(exc) if isinstance(e, OSError) and e.filename), None)
                return cause, fix, path
    return None


class MissingDependencyError(RagbenchError, ImportError):
    """An optional dependency is not installed."""


class UnknownNameError(RagbenchError, KeyError):
    """A name was looked up in a catalogue that does not hold it."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


def suggest(name: str, choices: Iterable[str], *, n: int = 3) -> str:
    """Return a ``Did you mean ...?`` hint for ``name`` among ``choices`` (or ``""``).

    Example:
        >>> suggest("bm52", ["bm25", "dense"])
        " Did you mean: 'bm25'?"
    """
    matches = difflib.get_close_matches(name, list(choices), n=n, cutoff=0.5)
    if not matches:
        return ""
    return " Did you mean: " + ", ".join(repr(m) for m in matches) + "?"


def unknown_name(kind: str, name: str, choices: Iterable[str]) -> UnknownNameError:
    """Build an :class:`UnknownNameError` listing valid names and close matches."""
    choices = sorted(choices)
    return UnknownNameError(f"Unknown {kind} {name!r}.{suggest(name, choices)} Valid {kind}s: {', '.join(choices)}.")


def require(module: str, *, extra: str | None = None, package: str | None = None):
    """Import ``module`` lazily, or raise a :class:`MissingDependencyError` with an install hint."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        hint = f"pip install 'ragbench[{extra}]'" if extra else f"pip install {package or module}"
        raise MissingDependencyError(
            f"{module!r} is needed for this component but could not be imported ({exc}). Install it with: {hint}"
        ) from exc
