"""BGE-M3 storage and search on the tenant's LanceDB chunk table.

Design (chosen so that every mode is a few milliseconds at 20k+ chunks, see ``bench/bench_retrieval.py``):

* **Dense** vectors stay in the table's ``vector`` column with the store's vector
  index (IVF_PQ / HNSW above a row threshold, exact below): :meth:`LanceDBStore.search_vector`.
* **ColBERT** vectors go in a ``colbert`` multivector column
  (``list<fixed_size_list<float32, dim>>``) in the same row. By default ``m3_colbert`` rescores
  a candidate set with exact MaxSim (below), reading the candidates' token vectors from the
  column. :meth:`M3Search.colbert` is LanceDB's native MaxSim search on the column
  (``distance = n_query_tokens - sum_q max_d cos(q, d)``, turned back into BGE-M3's score
  ``mean_q max_d cos(q, d)``); without a multivector index it scans every token vector, which
  takes seconds per query at 20k chunks, so it is an option, not the default.
* **Sparse** lexical weights go in two list columns, ``sparse_ids`` (int32 token ids)
  and ``sparse_weights`` (float32). LanceDB has no sparse-vector index, so
  :class:`M3Search` reads the two columns once per table version into a column-major
  (CSC) matrix in memory; a query is then one sparse dot product over the posting
  lists of its tokens, an inverted-index lookup (milliseconds at 20k+ chunks). The
  matrix is rebuilt when the table's version changes.
* **m3_all** (the paper's weighted sum) scores a candidate set: the union of the dense
  and sparse top ``candidates``; the candidates' rows are read with their three
  representations and each score is computed exactly. Rescoring a candidate set keeps
  the cost independent of the corpus size beyond the two first-stage searches.

The columns are written by :func:`ragbench.stores._columns.add_extra_columns`, which the store
calls when the :class:`ragbench.types.Embeddings` it gets carry ``extras`` (BGE-M3's
``embed_document_columns``). Every search goes through the tenant's own table, so tenant isolation is the
store's (one directory per tenant); filters use :func:`ragbench.stores._filters.build_filter`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ragbench.errors import StoreError
from ragbench.stores._columns import M3_COLUMNS, fixed_lists, lists, multivectors
from ragbench.stores._filters import build_filter
from ragbench.stores.lancedb import LanceDBStore
from ragbench.types import Hit

_HIT_COLUMNS = ["chunk_id", "doc_id", "tenant", "title", "text"]


# ----------------------------------------------------------------------------- scoring
def sparse_score(query: Mapping[int, float], ids: Sequence[int], weights: Sequence[float]) -> float:
    """BGE-M3 lexical matching score: sum of ``q_w * d_w`` over shared tokens.

    Example:
        >>> sparse_score({1: 0.5, 2: 1.0}, [2, 3], [0.4, 0.9])
        0.4
    """
    return float(sum(query.get(int(t), 0.0) * float(w) for t, w in zip(ids, weights)))


def colbert_score(query: np.ndarray, doc: np.ndarray) -> float:
    """BGE-M3 ColBERT score: mean over query tokens of the best cosine with a document token.

    Example:
        >>> colbert_score(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32)[:1])
        0.5
    """
    if len(query) == 0 or len(doc) == 0:
        return 0.0
    return float((query @ np.asarray(doc, dtype=np.float32).T).max(axis=1).mean())


def _hit(row: Mapping[str, Any], score: float, rank: int, scores: dict[str, float] | None = None) -> Hit:
    return Hit(
        chunk_id=row["chunk_id"],
        doc_id=row["doc_id"],
        tenant=row["tenant"],
        text=row["text"],
        score=float(score),
        rank=rank,
        title=row["title"],
        scores=scores or {},
    )


# ----------------------------------------------------------------------------- search
class M3Search:
    """Sparse, ColBERT and candidate-row access on a :class:`LanceDBStore` holding BGE-M3 columns.

    Example:
        >>> search = M3Search(store)  # doctest: +SKIP
        >>> search.sparse("acme", {1234: 0.3}, k=5)  # doctest: +SKIP
    """

    def __init__(self, store: LanceDBStore) -> None:
        self.store = store
        self._sparse: dict[str, tuple[int, Any]] = {}

    def table(self, tenant: str):
        table = self.store._table(tenant)
        missing = [c for c in M3_COLUMNS if c not in table.schema.names]
        if missing:
            raise StoreError(
                f"Tenant {tenant!r}'s table in {self.store.uri} (space {self.store.space!r}) has no {missing} "
                "column(s): it was not indexed with the BGE-M3 embedder. Re-ingest with embedder=bge_m3 "
                "(ragbench ingest embedder=bge_m3 embedder.model=/path/to/bge-m3)."
            )
        return table

    def _allowed(self, table, filters: Mapping[str, Any] | None) -> set[str] | None:
        expr = build_filter(filters)
        if expr is None:
            return None
        rows = table.search().where(expr).select(["chunk_id"]).limit(None).to_arrow()
        return set(rows.column("chunk_id").to_pylist())

    def colbert(self, tenant: str, query: np.ndarray, k: int, *, filters: Mapping[str, Any] | None = None) -> list[Hit]:
        """Top-``k`` chunks by MaxSim (LanceDB multivector search); score = mean best cosine per query token."""
        table = self.table(tenant)
        q = np.asarray(query, dtype=np.float32)
        search = table.search(q, vector_column_name="colbert").distance_type("cosine")
        search = search.select([*_HIT_COLUMNS, "_distance"]).limit(k)
        expr = build_filter(filters)
        if expr is not None:
            search = search.where(expr, prefilter=True)
        n = len(q)
        return [_hit(r, (n - r["_distance"]) / n, i) for i, r in enumerate(search.to_arrow().to_pylist())]

    def _sparse_matrix(self, tenant: str, table):
        """``(chunk ids, doc ids, titles, texts, CSC matrix)`` of the table's version, built once per version."""
        version = table.version
        cached = self._sparse.get(tenant)
        if cached and cached[0] == version:
            return cached[1]
        from scipy.sparse import csr_matrix

        data = table.to_arrow().select(["chunk_id", "doc_id", "title", "text", "sparse_ids", "sparse_weights"])
        ids = data.column("sparse_ids").combine_chunks()
        weights = data.column("sparse_weights").combine_chunks()
        indptr = np.asarray(ids.offsets, dtype=np.int64)
        indptr = indptr - indptr[0]
        cols = np.asarray(ids.flatten(), dtype=np.int64)
        vals = np.asarray(weights.flatten(), dtype=np.float32)
        width = int(cols.max()) + 1 if len(cols) else 1
        matrix = csr_matrix((vals, cols, indptr), shape=(data.num_rows, width)).tocsc()
        meta = {name: data.column(name).to_pylist() for name in ("chunk_id", "doc_id", "title", "text")}
        built = (meta, matrix)
        self._sparse[tenant] = (version, built)
        return built

    def sparse(
        self, tenant: str, query: Mapping[int, float], k: int, *, filters: Mapping[str, Any] | None = None
    ) -> list[Hit]:
        """Top-``k`` chunks by lexical matching score (only chunks sharing a token with the query)."""
        table = self.table(tenant)
        meta, matrix = self._sparse_matrix(tenant, table)
        tokens = [t for t in query if 0 <= t < matrix.shape[1]]
        if not tokens:
            return []
        weights = np.asarray([query[t] for t in tokens], dtype=np.float32)
        scores = np.asarray(matrix[:, tokens] @ weights).ravel()
        allowed = self._allowed(table, filters)
        if allowed is not None:
            scores[[i for i, c in enumerate(meta["chunk_id"]) if c not in allowed]] = 0.0
        nonzero = np.flatnonzero(scores > 0)
        top = nonzero[np.argsort(-scores[nonzero], kind="stable")[:k]]
        rows = (
            {
                "chunk_id": meta["chunk_id"][i],
                "doc_id": meta["doc_id"][i],
                "tenant": tenant,
                "title": meta["title"][i],
                "text": meta["text"][i],
            }
            for i in top
        )
        return [_hit(r, scores[i], rank) for rank, (r, i) in enumerate(zip(rows, top))]

    def rows(self, tenant: str, chunk_ids: Sequence[str]) -> dict[str, dict]:
        """``{chunk_id: row}`` with ``vector``, ``colbert`` (numpy) and ``sparse_ids``/``sparse_weights``."""
        if not chunk_ids:
            return {}
        table = self.table(tenant)
        cols = [*_HIT_COLUMNS, "vector", *M3_COLUMNS]
        expr = build_filter({"chunk_id": list(dict.fromkeys(chunk_ids))})
        found = table.search().where(expr).select(cols).limit(None).to_arrow()
        meta = {name: found.column(name).to_pylist() for name in _HIT_COLUMNS}
        dense = fixed_lists(found.column("vector"))
        colbert = multivectors(found.column("colbert"))
        sparse_ids = lists(found.column("sparse_ids"), np.int64)
        sparse_weights = lists(found.column("sparse_weights"), np.float32)
        out = {}
        for i, chunk_id in enumerate(meta["chunk_id"]):
            if meta["tenant"][i] != tenant:  # defence in depth, as in LanceDBStore._hits
                raise StoreError(f"Row {chunk_id!r} of tenant {meta['tenant'][i]!r} found in {tenant!r}.")
            out[chunk_id] = {
                **{name: meta[name][i] for name in _HIT_COLUMNS},
                "vector": dense[i],
                "colbert": colbert[i],
                "sparse_ids": sparse_ids[i],
                "sparse_weights": sparse_weights[i],
            }
        return out

    def __repr__(self) -> str:
        return f"M3Search(store={self.store!r})"
