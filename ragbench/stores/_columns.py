"""The rows of a chunk table, and the Arrow columns of BGE-M3's extra outputs (sparse weights, ColBERT
multivectors), shared by the store, its M3 search and the embedding cache. A leaf: numpy, pyarrow
(lazily), ragbench.errors and ragbench.types only."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np

from ragbench.errors import StoreError
from ragbench.types import Chunk, Embeddings, Hit, content_hash

M3_COLUMNS = ("sparse_ids", "sparse_weights", "colbert")


def chunk_rows(store, tenant: str, chunks: Sequence[Chunk], vectors: np.ndarray | Embeddings | None) -> list[dict]:
    """The table rows of ``chunks`` (with their vectors and any extra columns); every chunk must be the tenant's."""
    vectors = Embeddings.of(vectors) if vectors is not None else None
    rows = []
    for i, chunk in enumerate(chunks):
        if chunk.tenant != tenant:
            raise StoreError(
                f"Chunk {chunk.id!r} belongs to tenant {chunk.tenant!r} but was written to "
                f"tenant {tenant!r}: a tenant's chunks go only to its own tables."
            )
        row = {
            "chunk_id": chunk.id,
            "doc_id": chunk.doc_id,
            "tenant": chunk.tenant,
            "title": chunk.title,
            "text": chunk.text,
            "content": chunk.content,
            "position": int(chunk.position),
            "language": chunk.language or "",
            "content_hash": content_hash(chunk.content),
            "metadata": json.dumps(chunk.metadata, sort_keys=True, default=str),
        }
        if vectors is not None:
            row["vector"] = np.asarray(vectors.dense[i], dtype=np.float32)
        rows.append(row)
    if vectors is not None and vectors.extras:  # e.g. BGE-M3 sparse + ColBERT columns
        add_extra_columns(store, tenant, rows, vectors.extras)
    return rows


def add_extra_columns(store, tenant: str, rows: list[dict], extras: Mapping[str, Sequence]) -> None:
    """Put the per-row ``extras`` into ``rows`` and create the table with typed columns if it is new.

    Raises:
        StoreError: An extra column is unknown, clashes with a base column or has the wrong length.
    """
    unknown = [name for name in extras if name not in M3_COLUMNS]
    if unknown:
        raise StoreError(f"Unknown extra column(s) {unknown}: the store accepts {', '.join(M3_COLUMNS)}.")
    for name, values in extras.items():
        if len(values) != len(rows):
            raise StoreError(f"Extra column {name!r} has {len(values)} values for {len(rows)} chunks: they must match.")
    if not rows:
        return
    for i, row in enumerate(rows):
        for name, values in extras.items():
            value = values[i]
            row[name] = value.tolist() if isinstance(value, np.ndarray) else list(value)
    if not store.has_tenant(tenant):
        _create_typed_table(store, tenant, rows)


def _create_typed_table(store, tenant: str, rows: list[dict]) -> None:
    """An empty chunk table whose ``vector``/``colbert`` columns have the vector types LanceDB searches."""
    import pyarrow as pa

    base = {k: v for k, v in rows[0].items() if k not in ("vector", *M3_COLUMNS)}
    fields = list(pa.Table.from_pylist([base]).schema)
    if "vector" in rows[0]:
        fields.append(pa.field("vector", pa.list_(pa.float32(), len(rows[0]["vector"]))))
    if "colbert" in rows[0]:
        dim = next((len(r["colbert"][0]) for r in rows if r["colbert"]), None)
        if dim is None:
            raise StoreError("Every ColBERT matrix in the first batch is empty: cannot infer the ColBERT dimension.")
        fields.append(pa.field("colbert", pa.list_(pa.list_(pa.float32(), dim))))
    fields += [pa.field("sparse_ids", pa.list_(pa.int32())), pa.field("sparse_weights", pa.list_(pa.float32()))]
    store._db(tenant).create_table(store.table_name, schema=pa.schema(fields), exist_ok=True)


def fixed_lists(column) -> np.ndarray:
    """``fixed_size_list<float32, d>`` column -> ``(n, d)`` float32 array (no Python floats)."""
    arr = column.combine_chunks()
    if len(arr) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    return np.asarray(arr.flatten(), dtype=np.float32).reshape(len(arr), arr.type.list_size)


def lists(column, dtype) -> list[np.ndarray]:
    """``list<x>`` column -> one numpy array per row."""
    arr = column.combine_chunks()
    offsets = np.asarray(arr.offsets)
    values = np.asarray(arr.flatten(), dtype=dtype)
    offsets = offsets - offsets[0]
    return [values[offsets[i] : offsets[i + 1]] for i in range(len(arr))]


def multivectors(column) -> list[np.ndarray]:
    """``list<fixed_size_list<float32, d>>`` column -> one ``(tokens, d)`` array per row."""
    arr = column.combine_chunks()
    offsets = np.asarray(arr.offsets)
    offsets = offsets - offsets[0]
    inner = arr.flatten()
    dim = inner.type.list_size
    values = np.asarray(inner.flatten(), dtype=np.float32).reshape(-1, dim)
    return [values[offsets[i] : offsets[i + 1]] for i in range(len(arr))]


def multivector_array(mats: Sequence[np.ndarray], dim: int):
    """``list<fixed_size_list<float32, dim>>`` arrow array from per-row ``(tokens, dim)`` matrices."""
    import pyarrow as pa

    lengths = np.fromiter((len(m) for m in mats), dtype=np.int32, count=len(mats))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    flat = np.concatenate([np.asarray(m, np.float32).reshape(-1, dim) for m in mats]) if mats else np.zeros((0, dim))
    values = pa.FixedSizeListArray.from_arrays(pa.array(flat.astype(np.float32).ravel()), dim)
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def hits_from_rows(tenant: str, table, score_col: str, to_score) -> list[Hit]:
    """Search results (an Arrow table) as :class:`Hit` objects, refusing any row of another tenant."""
    cols = table.column_names
    out = []
    for rank, row in enumerate(table.to_pylist()):
        if row["tenant"] != tenant:  # defence in depth: tables are per tenant already
            raise StoreError(f"Row {row['chunk_id']!r} of tenant {row['tenant']!r} found in {tenant!r}.")
        score = float(to_score(row[score_col])) if score_col in cols else 0.0
        out.append(
            Hit(
                chunk_id=row["chunk_id"],
                doc_id=row["doc_id"],
                tenant=row["tenant"],
                text=row["text"],
                score=score,
                rank=rank,
                title=row["title"],
            )
        )
    return out


def space_slug(space: str) -> str:
    """File-safe, readable name for an embedding space, with a short hash against collisions."""
    import re

    from ragbench.types import content_hash

    readable = re.sub(r"[^a-z0-9]+", "-", space.lower()).strip("-")[-40:] or "space"
    return f"{readable}-{content_hash(space, length=8)}" if space != "lexical" else "lexical"
