"""Vector index settings and quality: which index to build, and its ANN recall@k against exact search.

:func:`vector_index_config` turns the store's config (``vector_index`` kind plus
``index_params``) into a LanceDB index config; :func:`ann_recall` measures how many
of the exact top-``k`` neighbours the indexed search returns, on a sample of the
table's own vectors used as queries (a proxy for real queries that needs nothing
but the table; each query's own row is one of its ``k`` exact neighbours, so the
figure counts the other ``k - 1`` too). Both are used by
:meth:`ragbench.stores.lancedb.LanceDBStore.build_indexes`, whose returned dict is
logged to MLflow with the run (``index.<tenant>.*``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from ragbench.errors import ConfigError

INDEX_KINDS = {"ivf_pq": "IvfPq", "ivf_hnsw_sq": "HnswSq"}  # the kinds LanceDBStore.vector_index accepts
SEARCH_PARAMS = ("nprobes", "refine_factor", "ef")


def vector_index_config(kind: str, params: Mapping[str, Any] | None = None):
    """LanceDB index config for ``kind`` with ``params`` (e.g. ``num_partitions``, ``num_sub_vectors``, ``m``).

    Example:
        >>> vector_index_config("ivf_pq", {"num_partitions": 8}).num_partitions
        8
    """
    import lancedb.index as lindex

    if kind not in INDEX_KINDS:
        raise ConfigError(f"Unknown vector index kind {kind!r}. Valid: {', '.join(INDEX_KINDS)}.")
    cls = getattr(lindex, INDEX_KINDS[kind])
    params = {"distance_type": "cosine", **dict(params or {})}
    try:
        return cls(**params)
    except TypeError as exc:
        import inspect

        accepted = [p for p in inspect.signature(cls).parameters if p != "self"]
        raise ConfigError(
            f"store.index_params {dict(params)} do not fit a {kind} index ({exc}). Accepted: {', '.join(accepted)}."
        ) from exc


def check_search_params(params: Mapping[str, Any] | None) -> dict[str, int]:
    """Validate ``search_params`` (``nprobes``, ``refine_factor``, ``ef``): positive ints."""
    out = {}
    for key, value in dict(params or {}).items():
        if key not in SEARCH_PARAMS:
            raise ConfigError(f"Unknown search param {key!r}. Valid: {', '.join(SEARCH_PARAMS)}.")
        if value is None:
            continue
        if int(value) < 1:
            raise ConfigError(f"search param {key} must be >= 1, got {value}.")
        out[key] = int(value)
    return out


def apply_search_params(query, params: Mapping[str, int]):
    """Set ``nprobes`` / ``refine_factor`` / ``ef`` on a LanceDB vector query."""
    for key, value in params.items():
        query = getattr(query, key)(value)
    return query


def ann_recall(
    table,
    *,
    k: int = 10,
    sample: int = 50,
    column: str = "vector",
    search_params: Mapping[str, int] | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """Recall@``k`` of the indexed search against exact search on ``sample`` of the table's vectors.

    Returns ``{"ann_recall@k": r, "ann_recall_queries": n, "ann_query_ms": t, "exact_query_ms": t}``
    (``{}`` when the table has no ``column`` or no rows).
    """
    rows = table.count_rows()
    if column not in table.schema.names or rows == 0 or sample < 1:
        return {}
    rng = np.random.default_rng(seed)
    picks = sorted(rng.choice(rows, size=min(sample, rows), replace=False).tolist())
    vectors = table.search().select([column]).limit(None).to_arrow().take(picks).column(column).to_pylist()
    found = ann_ms = exact_ms = 0.0
    for vec in vectors:
        q = np.asarray(vec, dtype=np.float32)
        base = table.search(q, vector_column_name=column).distance_type("cosine").select(["chunk_id"]).limit(k)
        start = time.perf_counter()
        approx = set(apply_search_params(base, search_params or {}).to_arrow().column("chunk_id").to_pylist())
        ann_ms += time.perf_counter() - start
        start = time.perf_counter()
        exact = set(base.bypass_vector_index().to_arrow().column("chunk_id").to_pylist())
        exact_ms += time.perf_counter() - start
        found += len(approx & exact) / max(len(exact), 1)
    n = len(vectors)
    return {
        f"ann_recall@{k}": found / n,
        "ann_recall_queries": float(n),
        "ann_query_ms": 1000 * ann_ms / n,
        "exact_query_ms": 1000 * exact_ms / n,
    }


def build_vector_index(table, kind: str, params: dict | None = None) -> dict[str, float]:
    """Build the ``kind`` vector index (``none``: no index) on ``table``'s ``vector`` column, if it has one.

    Returns ``vector_index_build_s`` and ``vector_indexed`` (0/1) for the run's log.
    """
    import time

    if kind == "none" or "vector" not in table.schema.names:
        return {"vector_index_build_s": 0.0, "vector_indexed": 0.0}
    start = time.perf_counter()
    table.create_index("vector", config=vector_index_config(kind, params), replace=True)
    return {"vector_index_build_s": time.perf_counter() - start, "vector_indexed": 1.0}


VECTOR_INDEXES = ("auto", "none", "ivf_pq", "ivf_hnsw_sq")


def check_vector_index(kind: str) -> str:
    """``kind`` if it is a vector index the store builds, else a :class:`ConfigError` with close matches."""
    from ragbench.errors import ConfigError, suggest

    if kind not in VECTOR_INDEXES:
        raise ConfigError(
            f"Unknown vector_index {kind!r}.{suggest(kind, VECTOR_INDEXES)} Valid: {', '.join(VECTOR_INDEXES)}."
        )
    return kind
