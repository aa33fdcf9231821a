"""The ragbench error hierarchy.

Every error says what was received, what is valid and how to fix it. Catch
:class:`RagbenchError` to handle anything raised on purpose by ragbench.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


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

    ``report`` is the run's :class:`~ragbench.pipelines.evaluate.EvaluationReport`, so a caller can
    still show what was measured.
    """

    def __init__(self, message: str, *, report=None) -> None:
        super().__init__(message)
        self.report = report


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
    return UnknownNameError(
        f"Unknown {kind} {name!r}.{suggest(name, choices)} Valid {kind}s: {', '.join(choices)}."
    )


def require(module: str, *, extra: str | None = None, package: str | None = None):
    """Import ``module`` lazily, or raise a :class:`MissingDependencyError` with an install hint."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        hint = f"pip install 'ragbench[{extra}]'" if extra else f"pip install {package or module}"
        raise MissingDependencyError(
            f"{module!r} is needed for this component but could not be imported ({exc}). "
            f"Install it with: {hint}"
        ) from exc
