"""On-disk embedding cache: chunk embeddings keyed by (model space, chunk text hash).

A second experiment over the same corpus with the same model (id, revision and
passage length) reads the vectors back instead of re-encoding. The cache is one
LanceDB table per model namespace::

    <cache_dir>/embeddings__<namespace-slug>.lance
        key             sha256 of the chunk text (32 hex chars)
        dense           fixed_size_list<float32, dim>
        sparse_ids      list<int32>      (empty for models without sparse output)
        sparse_weights  list<float32>
        colbert         list<fixed_size_list<float32, dim>>

Why one cache for all tenants is safe: the table holds no text, no chunk or
document ids and no tenant ids - only vectors keyed by a hash of the text, and a
vector is a deterministic function of that text and the model. A caller gets a
vector back only by presenting the exact text, which it already has, so nothing of
another tenant can be read through it. What it can leak is timing (whether a text
was embedded before by anyone); if that matters, give each tenant its own
``cache_dir`` or set ``cache_dir: null``. Keys are namespaced by model id, revision
and ``passage_max_length``, so vectors of different models or settings never mix.

Example:
    >>> cache = EmbeddingCache("/tmp/rb-cache", namespace="bge-m3@5617a9f|m3")  # doctest: +SKIP
    >>> cache.get(["0f3a..."])  # doctest: +SKIP
    {}
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragbench.embedders.m3_output import M3Output
from ragbench.errors import StoreError
from ragbench.stores._columns import fixed_lists, lists, multivector_array, multivectors
from ragbench.stores._retry import retrying


class EmbeddingCache:
    """Persistent ``key -> M3Output row`` map in a LanceDB table (see the module docstring).

    Args:
        root: Folder of the cache tables (created on first write).
        namespace: Model identity the keys live under, e.g. ``"bge-m3@rev|m3|passage_max_length=512"``.
    """

    def __init__(self, root: str | Path, *, namespace: str) -> None:
        from ragbench.stores._columns import space_slug

        self.root = Path(root).expanduser().resolve()
        self.namespace = namespace
        self.table_name = f"embeddings__{space_slug(namespace)}"
        self._db = None
        self.hits = 0
        self.misses = 0

    def _table(self, create_dim: int | None = None):
        import lancedb

        if self._db is None:
            self.root.mkdir(parents=True, exist_ok=True)
            self._db = lancedb.connect(str(self.root))
        if (self.root / f"{self.table_name}.lance").is_dir():
            return self._db.open_table(self.table_name)
        if create_dim is None:
            return None
        return self._db.create_table(self.table_name, schema=_schema(create_dim), exist_ok=True)

    def __len__(self) -> int:
        table = self._table()
        return 0 if table is None else table.count_rows()

    def get(self, keys: Sequence[str]) -> dict[str, M3Output]:
        """The cached rows among ``keys`` (missing keys are simply absent)."""
        from lancedb.expr import col

        table = self._table()
        wanted = sorted(set(keys))
        if table is None or not wanted:
            self.misses += len(keys)
            return {}
        found = table.search().where(col("key").isin(wanted)).limit(None).to_arrow()

        dense = fixed_lists(found.column("dense"))
        colbert = multivectors(found.column("colbert"))
        ids = lists(found.column("sparse_ids"), np.int64)
        weights = lists(found.column("sparse_weights"), np.float32)
        out: dict[str, M3Output] = {}
        for i, key in enumerate(found.column("key").to_pylist()):
            sparse = dict(zip(ids[i].tolist(), weights[i].tolist()))
            out[key] = M3Output(dense[i : i + 1], [sparse], [colbert[i]])
        self.hits += sum(1 for k in keys if k in out)
        self.misses += sum(1 for k in keys if k not in out)
        return out

    def put(self, keys: Sequence[str], output: M3Output) -> None:
        """Store ``output`` rows under ``keys`` (existing keys are kept: same text, same vectors)."""
        if len(keys) != len(output):
            raise StoreError(f"EmbeddingCache.put got {len(keys)} keys for {len(output)} embeddings.")
        if not keys:
            return
        import pyarrow as pa

        dim = int(output.dense.shape[1])
        cols = (
            output.columns()
            if output.sparse
            else {
                "sparse_ids": [[]] * len(keys),
                "sparse_weights": [[]] * len(keys),
                "colbert": [np.zeros((0, dim), np.float32)] * len(keys),
            }
        )
        data = pa.table(
            {
                "key": pa.array(list(keys), pa.string()),
                "dense": pa.FixedSizeListArray.from_arrays(pa.array(output.dense.astype(np.float32).ravel()), dim),
                "sparse_ids": pa.array([np.asarray(x, np.int32) for x in cols["sparse_ids"]], pa.list_(pa.int32())),
                "sparse_weights": pa.array(
                    [np.asarray(x, np.float32) for x in cols["sparse_weights"]], pa.list_(pa.float32())
                ),
                "colbert": multivector_array(cols["colbert"], dim),
            },
            schema=_schema(dim),
        )
        # concurrent writers can hit commit conflicts: retried (the table reopened each time)
        retrying(lambda: self._table(create_dim=dim).merge_insert("key").when_not_matched_insert_all().execute(data))

    def __repr__(self) -> str:
        return f"EmbeddingCache(root={str(self.root)!r}, namespace={self.namespace!r})"


def _schema(dim: int):
    import pyarrow as pa

    return pa.schema(
        [
            ("key", pa.string()),
            ("dense", pa.list_(pa.float32(), dim)),
            ("sparse_ids", pa.list_(pa.int32())),
            ("sparse_weights", pa.list_(pa.float32())),
            ("colbert", pa.list_(pa.list_(pa.float32(), dim))),
        ]
    )
