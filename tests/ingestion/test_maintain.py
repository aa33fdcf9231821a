"""Ingestion keeps its per-batch lookups indexed (``store.maintain_every_rows``): BTree indexes on the
chunk table's ``chunk_id`` and ``doc_id`` and on the ledger's ``documents.key`` / ``job_items.job_id``,
plus compaction, every so many committed rows. A real LanceDB directory, lexical store (no embedder).
What is checked: maintenance runs, builds those indexes and changes nothing in what is stored or
skipped; a failing maintenance is logged and the job still completes. (The speed it buys is measured in
bench/bench_million_chunks.py, not asserted; the kill -9 and two-process tests in
test_crash_and_concurrency.py maintain every 4 rows.)"""

from __future__ import annotations

import logging

import pytest

from ragbench.data.chunking import SentenceChunker
from ragbench.errors import ConfigError
from ragbench.ingestion import _tables
from ragbench.ingestion.ingest import ingest_path
from ragbench.stores.lancedb import LanceDBStore

CHUNKER = SentenceChunker(max_words=12, overlap=1)
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda sigma omega Zagreb Čakovec Београд".split()


def _corpus(path, n: int = 30):
    path.mkdir()
    for i in range(n):
        words = [WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(24)]
        (path / f"doc{i:02d}.txt").write_text(
            f"Document {i}. " + " ".join(words[:12]) + ". " + " ".join(words[12:]) + ".", encoding="utf-8"
        )
    return path


def _ingest(corpus, store):
    stats: dict = {}
    job = ingest_path(
        corpus,
        tenant="acme",
        store=store,
        embedder=None,
        chunker=CHUNKER,
        batch_size=4,
        commit_seconds=0,
        index_stats=stats,
    )
    return job, stats


def _chunks(store) -> dict[str, tuple[str, str]]:
    table = store.tenant_db("acme").open_table(store.table_name).to_arrow()
    return {
        cid: (doc, h)
        for cid, doc, h in zip(*(table.column(c).to_pylist() for c in ("chunk_id", "doc_id", "content_hash")))
    }


def _ledger(store) -> dict[str, tuple]:
    rows = _tables.select(store.tenant_db("acme"), "documents")
    return {r["key"]: (r["doc_id"], r["status"], r["chunks"], r["version"]) for r in rows}


def _indexes(table) -> dict[str, tuple[str, int]]:
    return {i.columns[0]: (i.index_type, i.num_unindexed_rows) for i in table.list_indices()}


def test_lookups_are_indexed_every_few_rows_and_nothing_stored_changes(tmp_path):
    corpus = _corpus(tmp_path / "corpus")
    plain = LanceDBStore(tmp_path / "plain", maintain_every_rows=0)
    kept = LanceDBStore(tmp_path / "kept", maintain_every_rows=10)
    job0, stats0 = _ingest(corpus, plain)
    job1, stats1 = _ingest(corpus, kept)
    assert (job0.completed, job1.completed) == (30, 30) and job0.chunks_created == job1.chunks_created == 90
    assert (
        stats0["maintain_runs"] == 0 and stats1["maintain_runs"] == 7
    )  # after each of the 7 batches of 4 documents (12 rows)
    assert _chunks(kept) == _chunks(plain) and _ledger(kept) == _ledger(plain)

    db = kept.tenant_db("acme")
    chunks = _indexes(db.open_table(kept.table_name))
    assert chunks["chunk_id"][0] == chunks["doc_id"][0] == "BTree"
    assert chunks["chunk_id"][1] == chunks["doc_id"][1] == 6  # the last batch (2 documents), not yet maintained
    assert _indexes(db.open_table("documents"))["key"][0] == "BTree"
    assert _indexes(db.open_table("job_items"))["job_id"][0] == "BTree"
    assert "chunk_id" not in _indexes(plain.tenant_db("acme").open_table(plain.table_name))  # 0: never

    # the lookups now go through the indexes: an unchanged corpus is skipped, one changed document replaced
    (corpus / "doc07.txt").write_text("Document seven, rewritten. Zagreb and Čakovec only.", encoding="utf-8")
    for store in (plain, kept):
        again, _ = _ingest(corpus, store)
        assert (again.completed, again.skipped, again.failed) == (1, 29, 0)
    assert _chunks(kept) == _chunks(plain) and _ledger(kept) == _ledger(plain)
    doc07 = next(row[0] for key, row in _ledger(kept).items() if key.endswith("doc07.txt"))
    assert kept.search_text("acme", "Čakovec rewritten", k=1)[0].doc_id == doc07


class _BrokenMaintenance(LanceDBStore):
    """Fault injection: maintenance fails (as a full disk would make LanceDB's compaction fail)."""

    def maintain(self, tenant: str) -> list[str]:
        raise OSError(28, "No space left on device")


def test_a_failing_maintenance_is_logged_and_the_job_completes(tmp_path, caplog):
    corpus = _corpus(tmp_path / "corpus", n=12)
    store = _BrokenMaintenance(tmp_path / "store", maintain_every_rows=10)
    with caplog.at_level(logging.WARNING, logger="ragbench.ingestion._runner"):
        job, stats = _ingest(corpus, store)
    assert (job.status, job.completed, job.chunks_created) == ("completed", 12, 36)
    assert stats["maintain_runs"] == 0
    warnings = [r.getMessage() for r in caplog.records if "maintaining the lookup indexes failed" in r.getMessage()]
    assert len(warnings) == 3 and "No space left on device" in warnings[0] and "the job goes on" in warnings[0]
    assert len(_chunks(store)) == 36


def test_maintain_every_rows_must_not_be_negative(tmp_path):
    with pytest.raises(ConfigError, match=r"maintain_every_rows must be >= 0 \(0: never\), got -1"):
        LanceDBStore(tmp_path, maintain_every_rows=-1)
