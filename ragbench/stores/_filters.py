"""Safe LanceDB filters: built from ``lancedb.expr`` objects, never by pasting user text into SQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from ragbench.errors import ConfigError
from ragbench.schema import FilterColumn

FILTERABLE: tuple[str, ...] = get_args(FilterColumn)  # the query API's filter columns (ragbench.schema)


def build_filter(filters: Mapping[str, Any] | None):
    """Turn ``{"language": "hr", "doc_id": ["a", "b"]}`` into a LanceDB ``Expr`` (or ``None``).

    Scalars compare with ``==``; lists and tuples with ``IN``. Column names are checked
    against :data:`FILTERABLE`; values are bound as literals, so quotes in them are harmless.

    Example:
        >>> build_filter({"doc_id": "x' OR '1'='1"}).to_sql()  # doctest: +ELLIPSIS
        '...'
    """
    if not filters:
        return None
    from lancedb.expr import col, lit

    expr = None
    for key, value in filters.items():
        if key not in FILTERABLE:
            raise ConfigError(f"Cannot filter on {key!r}: filterable columns are {', '.join(FILTERABLE)}.")
        if isinstance(value, (list, tuple, set, frozenset)):
            values = list(value)
            if not values:
                raise ConfigError(f"Filter on {key!r} got an empty list: give at least one value.")
            term = col(key).isin(values)
        elif isinstance(value, (str, int, float, bool)):
            term = col(key) == lit(value)
        else:
            raise ConfigError(
                f"Filter value for {key!r} must be a str, number, bool or a list of them, got {type(value).__name__}."
            )
        expr = term if expr is None else expr & term
    return expr
