"""Per-request metadata filters: a copy of a retriever whose store searches carry the request's filters.

Retrievers that search a store take ``filters`` in their constructor (:class:`BM25Retriever`,
:class:`DenseRetriever`, :class:`~ragbench.retrievers.m3.M3Retriever`); composite ones
(:class:`HybridRetriever`, :class:`FusionRetriever`, :class:`~ragbench.rerankers.RerankingRetriever`)
hold other retrievers. :func:`with_filters` copies the whole tree with the filters added, so the
shared, configured retriever is never changed by a request. The store binds every value as a literal
(:func:`ragbench.stores._filters.build_filter`): filters are never pasted into SQL.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ragbench.errors import ConfigError


class FilterNotSupportedError(ConfigError):
    """The configured retriever cannot apply metadata filters (e.g. ``retriever=oracle``)."""


def with_filters(retriever: Any, filters: Mapping[str, Any] | None) -> Any:
    """``retriever`` itself without filters, else a copy that applies ``filters`` in every store search.

    Example:
        >>> from ragbench.retrievers import BM25Retriever
        >>> with_filters(BM25Retriever(store=None), {"language": "hr"}).filters
        {'language': 'hr'}
    """
    if not filters:
        return retriever
    return _filtered(retriever, dict(filters), retriever)


def _filtered(node: Any, filters: dict[str, Any], root: Any) -> Any:
    clone = copy.copy(node)
    if hasattr(node, "filters"):
        fixed = dict(node.filters or {})
        clash = sorted(k for k in filters if k in fixed and fixed[k] != filters[k])
        if clash:
            raise FilterNotSupportedError(
                f"The configuration already filters {clash[0]!r} to {fixed[clash[0]]!r}; a request cannot change it "
                f"(got {filters[clash[0]]!r}). Filter on another column, or drop {clash[0]!r} from the request."
            )
        clone.filters = {**fixed, **filters}
    elif isinstance(getattr(node, "retrievers", None), list):
        clone.retrievers = [_filtered(r, filters, root) for r in node.retrievers]
    elif getattr(node, "retriever", None) is not None:
        clone.retriever = _filtered(node.retriever, filters, root)
    else:
        raise FilterNotSupportedError(
            f"{root!r} cannot apply metadata filters ({type(node).__name__} does not search a store). Send the "
            "request without 'filters', or serve a pipeline with retriever=bm25, dense, hybrid or an m3 retriever."
        )
    return clone
