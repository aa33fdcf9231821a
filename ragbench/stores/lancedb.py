"""LanceDB store: one database directory per tenant.

Layout under ``uri``::

    tenants/<tenant>/chunks__<space>.lance    chunks with text, metadata and vectors

``<space>`` names the embedding space (model id and revision) so chunks embedded
by different models never mix; a lexical-only store uses the space ``lexical``.
A tenant's data lives only in its own directory, so a query for tenant A cannot
read tenant B's rows whatever its filters say. Filters are built with
``lancedb.expr`` (see :mod:`ragbench.stores._filters`), never from SQL text.

Indexes: a native full-text (BM25) index on ``content`` (title and text), and a
vector index once a table reaches ``index_min_rows`` rows (below that, exact
search is faster than building an index). The full-text index reads text by the
tenant's languages (:mod:`ragbench.stores.text_analysis`): from its record
(``tenant.json``: ``settings.languages``, else ``detected_languages``) when
``text_analysis="auto"``. An index built with another analysis is rebuilt before use.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragbench.errors import ConfigError, StoreError, TenantNotFoundError, suggest
from ragbench.stores._columns import chunk_rows, hits_from_rows, space_slug
from ragbench.stores._connections import TenantConnections, explain_open_files, remember
from ragbench.stores._filters import build_filter
from ragbench.stores._maintain import maintain
from ragbench.stores._retry import retrying
from ragbench.stores._writes import atomic_replace
from ragbench.stores.text_analysis import TextAnalysis, analysis_for, check_languages
from ragbench.tenancy import TENANT_RECORD, record_languages, validate_tenant_id
from ragbench.types import Chunk, Embeddings, Hit

#: Most tenants whose full-text index check the store remembers (an int each; 65,536 is a few MB).
FTS_MARKS = 65_536
#: The chunk columns ingestion looks rows up by, once per batch: BTree-indexed by :meth:`LanceDBStore.maintain`.
LOOKUP_COLUMNS = ("chunk_id", "doc_id")


class LanceDBStore:
    """Per-tenant chunk tables on disk with vector and full-text search.

    Args:
        uri: Root directory of the store.
        space: Embedding space of the vectors it holds (set by the wiring from the embedder).
        vector_index: ``"auto"`` (IVF_PQ from ``index_min_rows`` rows), ``"none"``,
            ``"ivf_pq"`` or ``"ivf_hnsw_sq"``.
        index_min_rows: Row count from which ``"auto"`` builds a vector index.
        text_analysis: How the full-text index reads text: ``"auto"`` (per tenant, from the
            languages in its record; see :mod:`ragbench.stores.text_analysis`) or ISO 639-1
            code(s) that every tenant is read as (``"en"``: English stemming for all, as before).
        default_language: The language of a tenant whose record names none (``"auto"`` only).
        index_params: Vector index parameters, e.g. ``{num_partitions: 64, num_sub_vectors: 16}``
            for IVF_PQ or ``{m: 16, ef_construction: 150}`` for HNSW (see
            :mod:`ragbench.stores.index_quality`).
        search_params: Vector search parameters: ``nprobes``, ``refine_factor``, ``ef``.
        recall_sample: After building indexes, measure ANN recall@10 against exact search
            on this many of the table's vectors (0 disables).
        index_cache_mib: Memory LanceDB may keep for opened indexes (all tenants of this store).
        metadata_cache_mib: Memory LanceDB may keep for table manifests and file metadata.
            Both caches are bounded so memory stays flat however many commits a long
            ingestion makes (LanceDB's defaults are sized for servers: GiBs).
        max_open_tenants: Most tenant connections kept open (least recently used dropped first, and
            reopened on the next call), so a process touching thousands of tenants stays bounded.
        maintain_every_rows: An ingestion job calls :meth:`maintain` (BTree indexes on the lookup
            keys, rebuilt to cover every row) after every this many chunk rows it commits, so its
            per-batch lookups stay flat as the table grows (0: never; at 1M chunks every 50,000
            keeps a job's throughput flat for 11 s of rebuilds in all: docs/scale.md).

    Example:
        >>> store = LanceDBStore("/tmp/rb-store")  # doctest: +SKIP
        >>> store.search_text("acme", "vacation days", k=3)  # doctest: +SKIP
    """

    def __init__(
        self,
        uri: str | Path,
        *,
        space: str = "lexical",
        vector_index: str = "auto",
        index_min_rows: int = 100_000,
        text_analysis: str = "auto",
        default_language: str = "en",
        index_params: Mapping[str, Any] | None = None,
        search_params: Mapping[str, Any] | None = None,
        recall_sample: int = 0,
        index_cache_mib: int = 512,
        metadata_cache_mib: int = 64,
        max_open_tenants: int = 256,
        maintain_every_rows: int = 50_000,
    ) -> None:
        from ragbench.stores.index_quality import check_search_params, check_vector_index

        self.uri = Path(uri).expanduser().resolve()
        self.space = space
        self.table_name = f"chunks__{space_slug(space)}"
        self.vector_index = check_vector_index(vector_index)
        self.index_min_rows = index_min_rows
        self.text_analysis = (
            "auto"
            if text_analysis == "auto"
            else ",".join(check_languages(text_analysis, what="store.text_analysis (or 'auto')"))
        )
        self.default_language = check_languages([default_language], what="store.default_language")[0]
        # tenant -> table version whose full-text index was checked; outlives connection eviction (a check
        # per reopen made text search on a random one of 1,000 tenants 1.4x one tenant's; docs/scale.md)
        self._fts_ready: dict[str, int] = {}
        self.index_params = dict(index_params or {})
        self.search_params = check_search_params(search_params)
        self.recall_sample = int(recall_sample)
        if index_cache_mib < 0 or metadata_cache_mib < 0:
            got = f"got {index_cache_mib} and {metadata_cache_mib}."
            raise ConfigError(f"index_cache_mib and metadata_cache_mib must be >= 0 MiB, {got}")
        self.cache_mib = {"index": int(index_cache_mib), "metadata": int(metadata_cache_mib)}
        if maintain_every_rows < 0:
            raise ConfigError(f"store.maintain_every_rows must be >= 0 (0: never), got {maintain_every_rows}.")
        self.maintain_every_rows = int(maintain_every_rows)
        self._dbs = TenantConnections(max_open=max_open_tenants, cache_mib=self.cache_mib)

    # ----------------------------------------------------------------- tenants
    def _tenant_dir(self, tenant: str) -> Path:
        return self.uri / "tenants" / validate_tenant_id(tenant)

    def _db(self, tenant: str):
        return self._dbs.get(tenant, self._tenant_dir(tenant))

    def open_tenants(self) -> list[str]:
        """Tenants whose connection this store holds open now (at most ``max_open_tenants``)."""
        return self._dbs.tenants()

    def tenant_db(self, tenant: str):
        """The tenant's own LanceDB connection (``uri/tenants/<tenant>/``), for its other tables."""
        return self._db(validate_tenant_id(tenant))

    def has_tenant(self, tenant: str) -> bool:
        """True if ``tenant`` has a chunk table in this store's space."""
        return (self._tenant_dir(tenant) / f"{self.table_name}.lance").is_dir()

    def tenants(self) -> list[str]:
        """Tenants with a chunk table in this store's space, sorted."""
        return sorted(p.parent.name for p in (self.uri / "tenants").glob(f"*/{self.table_name}.lance"))

    def delete_tenant(self, tenant: str) -> None:
        """Remove every table of ``tenant`` (all spaces)."""
        path = self._tenant_dir(tenant)
        self._dbs.pop(tenant)
        self._fts_ready.pop(tenant, None)
        if path.exists():
            shutil.rmtree(path)

    def spaces_by_tenant(self) -> dict[str, list[str]]:
        """Every tenant with chunks in any embedding space, with those spaces' table slugs, sorted."""
        spaces: dict[str, list[str]] = {}
        for t in sorted((self.uri / "tenants").glob("*/chunks__*.lance")):
            spaces.setdefault(t.parent.name, []).append(t.stem.removeprefix("chunks__"))
        return spaces

    def _table(self, tenant: str):
        if not self.has_tenant(tenant):
            spaces, here = self.spaces_by_tenant(), ""
            known = ", ".join(f"{t} ({', '.join(s)})" for t, s in spaces.items()) or "none"
            if tenant in spaces:
                here = f" It has chunks only in {', '.join(spaces[tenant])}."
            raise TenantNotFoundError(
                f"Tenant {tenant!r} has no documents in the store at {self.uri} in space {self.space!r} (the "
                f"embedder's).{here}{suggest(tenant, list(spaces))} Known tenants (spaces): {known}. Ingest its "
                "documents with this embedder first (ragbench ingest), or query with the embedder of its space."
            )
        return self._db(tenant).open_table(self.table_name)

    # ------------------------------------------------------------------ writes
    @explain_open_files
    def upsert(self, tenant: str, chunks: Sequence[Chunk], vectors: np.ndarray | Embeddings | None = None) -> int:
        """Insert or replace ``chunks`` (by ``chunk_id``) in one atomic commit; returns the count."""
        validate_tenant_id(tenant)
        if not chunks:
            return 0
        if vectors is not None and len(vectors) != len(chunks):
            raise StoreError(f"Got {len(chunks)} chunks but {len(vectors)} vectors: they must match.")
        rows = chunk_rows(self, tenant, chunks, vectors)
        db = self._db(tenant)
        existing = self._existing_table(tenant)
        if existing is None:  # absent, or the folder of a create that failed (e.g. disk full): create it
            db.create_table(self.table_name, data=rows, exist_ok=True)
        else:
            (existing.merge_insert("chunk_id").when_matched_update_all().when_not_matched_insert_all().execute(rows))
        self._fts_ready.pop(tenant, None)
        return len(rows)

    def delete_chunks(self, tenant: str, chunk_ids: Sequence[str]) -> None:
        """Delete chunks by id (no-op for ids that do not exist)."""
        if chunk_ids and self.has_tenant(tenant):
            expr = build_filter({"chunk_id": list(chunk_ids)})
            self._table(tenant).delete(expr)
            self._fts_ready.pop(tenant, None)

    def delete_documents(self, tenant: str, doc_ids: Sequence[str]) -> int:
        """Delete every chunk of ``doc_ids`` from the tenant's tables in every embedding space; returns
        how many chunks were removed (0 for ids without chunks). Other tenants' folders are never opened."""
        validate_tenant_id(tenant)
        if not doc_ids:
            return 0
        expr, removed = build_filter({"doc_id": list(doc_ids)}), 0
        for table in self._chunk_tables(tenant):
            before = table.count_rows()
            retrying(lambda table=table: table.delete(expr))
            removed += before - table.count_rows()
        self._fts_ready.pop(tenant, None)
        return removed

    def replace_documents(
        self,
        tenant: str,
        chunks: Sequence[Chunk],
        vectors: np.ndarray | Embeddings | None = None,
        *,
        drop_doc_ids: Sequence[str] = (),
    ) -> int:
        """Upsert ``chunks`` and delete every chunk of ``drop_doc_ids`` in ONE atomic commit.

        A reader (or a process killed mid-call) sees either the old chunks or the new ones,
        never a mix. Creating the table races safely with another process creating it.
        """
        validate_tenant_id(tenant)
        rows = chunk_rows(self, tenant, chunks, vectors) if chunks else []
        written = atomic_replace(
            self._db(tenant), self.table_name, lambda: self._existing_table(tenant), rows, drop_doc_ids
        )
        self._fts_ready.pop(tenant, None)
        return written

    def _existing_table(self, tenant: str):
        """The tenant's chunk table, or ``None`` if it does not exist yet -- including while another
        writer (thread or process) is creating it: its directory appears before its first version."""
        if not self.has_tenant(tenant):
            return None
        try:
            return self._db(tenant).open_table(self.table_name)
        except ValueError as exc:
            if "not found" in str(exc).lower():
                return None
            raise

    def chunk_doc_ids(self, tenant: str, doc_ids: Sequence[str]) -> set[str]:
        """The subset of ``doc_ids`` that has chunks in the tenant's table."""
        table = self._existing_table(tenant) if doc_ids else None
        if table is None:
            return set()
        found = table.search().where(build_filter({"doc_id": list(doc_ids)})).select(["doc_id"])
        return set(found.limit(None).to_arrow().column("doc_id").to_pylist())

    def maintain(self, tenant: str) -> list[str]:
        """Keep ingestion's per-batch lookups on the tenant's chunks (``doc_id IN``, the merge on
        ``chunk_id``) from growing with the table: BTree indexes on both, rebuilt when rows were added
        (:func:`ragbench.stores._maintain.maintain`). Returns the columns indexed for the first time."""
        table = self._existing_table(tenant)
        if table is None:
            return []
        created = maintain(table, LOOKUP_COLUMNS)
        self._fts_ready.pop(tenant, None)
        return created

    def chunk_hashes(self, tenant: str) -> dict[str, str]:
        """``{chunk_id: content_hash}`` of every chunk the tenant holds ({} for a new tenant)."""
        if not self.has_tenant(tenant):
            return {}
        tbl = self._table(tenant).to_arrow().select(["chunk_id", "content_hash"])
        return dict(zip(tbl.column("chunk_id").to_pylist(), tbl.column("content_hash").to_pylist()))

    def count(self, tenant: str) -> int:
        return self._table(tenant).count_rows() if self.has_tenant(tenant) else 0

    # ----------------------------------------------------------------- indexes
    @explain_open_files
    def build_indexes(self, tenant: str) -> dict[str, float]:
        """(Re)build the full-text index and, above the threshold, the vector index.

        Returns timings and settings to log with a run: ``fts_build_s``,
        ``vector_index_build_s`` (0 when none is built) and ``rows``.
        """
        table = self._table(tenant)
        rows = table.count_rows()
        stats = {"rows": float(rows), "fts_build_s": self._build_fts(tenant, table), "vector_index_build_s": 0.0}
        from ragbench.stores.index_quality import ann_recall, build_vector_index

        kind = (
            self.vector_index if self.vector_index != "auto" else ("ivf_pq" if rows >= self.index_min_rows else "none")
        )
        stats.update(build_vector_index(table, kind, self.index_params))
        if self.recall_sample:
            stats.update(ann_recall(table, k=10, sample=self.recall_sample, search_params=self.search_params))
        return stats

    def languages_of(self, tenant: str) -> list[str]:
        """The languages the tenant's text is read as: forced by ``text_analysis``, else its record's
        (``settings.languages``, else ``detected_languages``), else ``[default_language]``."""
        if self.text_analysis != "auto":
            return self.text_analysis.split(",")
        path = self._tenant_dir(tenant) / TENANT_RECORD
        record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        return record_languages(record) or [self.default_language]

    def text_analysis_for(self, tenant: str) -> TextAnalysis:
        """The full-text analysis of ``tenant`` (:func:`~ragbench.stores.text_analysis.analysis_for` of its languages)."""
        return analysis_for(self.languages_of(tenant))

    def _build_fts(self, tenant: str, table) -> float:
        start = time.perf_counter()
        table.create_index("content", config=self.text_analysis_for(tenant).fts_config(), replace=True)
        self._fts_ready.pop(tenant, None)  # the next search checks the new version once
        return time.perf_counter() - start

    def rebuild_text_index(self, tenant: str) -> bool:
        """Rebuild the full-text index of each of the tenant's chunk tables (every embedding space) whose
        analysis changed; True if one was rebuilt."""
        self._fts_ready.pop(tenant, None)
        stale = [t for t in self._chunk_tables(tenant) if not self._fts_current(tenant, t)]
        for table in stale:
            self._build_fts(tenant, table)
        return bool(stale)

    def _chunk_tables(self, tenant: str) -> list:
        """The tenant's chunk tables in every embedding space (tables still being created are skipped)."""
        if not self._tenant_dir(tenant).is_dir():
            return []
        db, out = self._db(tenant), []
        for name in db.list_tables().tables:
            if name.startswith("chunks__"):
                try:
                    out.append(db.open_table(name))
                except ValueError:  # another writer is creating it right now
                    continue
        return out

    def _fts_current(self, tenant: str, table) -> bool:
        wanted = self.text_analysis_for(tenant)
        return any(
            idx.columns == ["content"] and wanted.matches(idx.index_details or {}) for idx in table.list_indices()
        )

    def _ensure_fts(self, tenant: str, table):
        """The table to search, its full-text index built if missing or built with another analysis
        (checked once per table version, so a rebuild or a write by another process is noticed)."""
        if self._fts_ready.get(tenant) == table.version:
            return table
        if not any(idx.columns == ["content"] for idx in table.list_indices()):
            self.build_indexes(tenant)
            table = self._table(tenant)
        elif not self._fts_current(tenant, table):  # built with another analysis (languages changed)
            self._build_fts(tenant, table)
            table = self._table(tenant)
        remember(self._fts_ready, tenant, table.version, most=FTS_MARKS)
        return table

    # ------------------------------------------------------------------ search
    _COLUMNS = ["chunk_id", "doc_id", "tenant", "title", "text"]

    @explain_open_files
    def search_vector(
        self, tenant: str, vector: np.ndarray, k: int, *, filters: Mapping[str, Any] | None = None
    ) -> list[Hit]:
        """Top-``k`` chunks by cosine similarity (score = 1 - cosine distance)."""
        table = self._table(tenant)
        query = table.search(np.asarray(vector, dtype=np.float32), vector_column_name="vector")
        query = query.distance_type("cosine").select([*self._COLUMNS, "_distance"]).limit(k)
        if self.search_params:
            from ragbench.stores.index_quality import apply_search_params

            query = apply_search_params(query, self.search_params)
        expr = build_filter(filters)
        if expr is not None:
            query = query.where(expr, prefilter=True)
        return hits_from_rows(tenant, query.to_arrow(), "_distance", lambda d: 1.0 - d)

    @explain_open_files
    def search_text(self, tenant: str, text: str, k: int, *, filters: Mapping[str, Any] | None = None) -> list[Hit]:
        """Top-``k`` chunks by BM25 over title and text (LanceDB native full-text index)."""
        table = self._ensure_fts(tenant, self._table(tenant))
        query = table.search(text, query_type="fts", fts_columns="content")
        query = query.select([*self._COLUMNS, "_score"]).limit(k)
        expr = build_filter(filters)
        if expr is not None:
            query = query.where(expr, prefilter=True)
        return hits_from_rows(tenant, query.to_arrow(), "_score", float)

    def __repr__(self) -> str:
        return f"LanceDBStore(uri={str(self.uri)!r}, space={self.space!r})"
