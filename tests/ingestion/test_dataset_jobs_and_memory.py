"""One indexing path: dataset runs go through ingestion jobs; commit pacing; memory helpers."""

from __future__ import annotations

import io

import pyarrow as pa
import pytest

from ragbench.data.chunking import SentenceChunker, WholeDocumentChunker
from ragbench.errors import ConfigError
from ragbench.ingestion import _tables
from ragbench.ingestion import ingest as ingest_mod
from ragbench.ingestion.datasets import index_documents
from ragbench.ingestion.ingest import ingest_items
from ragbench.ingestion.jobs import get_job, list_jobs
from ragbench.ingestion.loaders import iter_stream
from ragbench.memory import peak_rss_mib, release_free_memory, rss_mib
from ragbench.stores.lancedb import LanceDBStore
from ragbench.types import Document


def _docs(texts: dict[str, str]) -> list[Document]:
    return [
        Document(id=i, tenant="acme", text=t, title=f"T{i}", source="demo", language="en") for i, t in texts.items()
    ]


def _chunks(store: LanceDBStore) -> dict[str, str]:
    table = store.tenant_db("acme").open_table(store.table_name).to_arrow()
    ids = table.column("chunk_id").to_pylist()
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    return dict(zip(ids, table.column("text").to_pylist()))


def test_dataset_indexing_is_a_job_that_keeps_ids_and_reingests_changed_text(tmp_path, minilm):
    store = LanceDBStore(tmp_path / "store", space=minilm.space)
    chunker = SentenceChunker(max_words=6, overlap=0)
    texts = {
        "d1": "Robots weld car frames. They are calibrated weekly.",
        "d2": "Vacation is 25 days. It expires in March.",
    }
    first = index_documents(_docs(texts), tenant="acme", store=store, embedder=minilm, chunker=chunker)
    assert (first.documents, first.chunks, first.embedded, first.skipped, first.failed) == (2, 4, 4, 0, 0)
    assert set(_chunks(store)) == {"d1#0", "d1#1", "d2#0", "d2#1"}  # the dataset's ids, which qrels use
    assert first.index["rows"] == 4.0 and "fts_build_s" in first.index
    job = get_job(store, "acme", first.job_id)
    assert job.settings["source"] == "dataset" and [d.key for d in job.documents] == ["doc:d1", "doc:d2"]
    assert [d.language for d in job.documents] == ["en", "en"]  # the dataset's language, not re-detected

    again = index_documents(_docs(texts), tenant="acme", store=store, embedder=minilm, chunker=chunker)
    assert (again.embedded, again.skipped, again.chunks) == (0, 4, 4)

    texts["d1"] = "Robots paint car doors."  # same id, new text: its chunks are replaced, d2 untouched
    changed = index_documents(_docs(texts), tenant="acme", store=store, embedder=minilm, chunker=chunker)
    assert (changed.embedded, changed.skipped, changed.chunks) == (1, 2, 3)
    assert _chunks(store) == {
        "d1#0": "Robots paint car doors.",
        "d2#0": "Vacation is 25 days.",
        "d2#1": "It expires in March.",
    }
    assert [j.job_id for j in list_jobs(store, "acme")] == [changed.job_id, again.job_id, first.job_id]


def test_a_document_without_text_fails_alone(tmp_path):
    store = LanceDBStore(tmp_path / "store")
    docs = _docs({"ok": "Some text here.", "empty": "   "})
    stats = index_documents(docs, tenant="acme", store=store, embedder=None, chunker=WholeDocumentChunker())
    assert (stats.written, stats.embedded, stats.failed) == (1, 0, 1)  # no embedder: written, not embedded
    bad = next(d for d in get_job(store, "acme", stats.job_id).documents if d.key == "doc:empty")
    assert bad.status == "failed" and "no text to ingest" in bad.error


def test_duplicate_key_in_a_later_commit_fails_without_touching_the_first(tmp_path):
    store = LanceDBStore(tmp_path / "store")
    items = [
        *iter_stream(io.BytesIO(b"First version. It is kept."), name="same"),
        *iter_stream(io.BytesIO(b"Other document."), name="other"),
        *iter_stream(io.BytesIO(b"Second version with the same key."), name="same"),
    ]
    job = ingest_items(items, tenant="acme", store=store, embedder=None, chunker=WholeDocumentChunker(), batch_size=1)
    docs = get_job(store, "acme", job.job_id).documents
    assert [d.status for d in docs] == ["completed", "completed", "failed"]
    assert "duplicate source key" in docs[2].error
    assert (job.completed, job.failed) == (2, 1)
    assert sorted(_chunks(store).values()) == ["First version. It is kept.", "Other document."]
    ledger = store.tenant_db("acme").open_table("documents").to_arrow().to_pylist()
    same = next(r for r in ledger if r["key"] == docs[0].key)
    assert same["status"] == "completed" and same["doc_id"] == docs[0].doc_id


def test_ledger_written_by_an_older_version_gains_new_columns(tmp_path):
    store = LanceDBStore(tmp_path / "store")
    old_schema = pa.schema([f for f in _tables._schemas()["documents"] if f.name != "version"])
    store.tenant_db("acme").create_table("documents", schema=old_schema)
    job = ingest_items(
        iter_stream(io.BytesIO(b"Hello there."), name="a"),
        tenant="acme",
        store=store,
        embedder=None,
        chunker=WholeDocumentChunker(),
    )
    assert job.completed == 1
    row = store.tenant_db("acme").open_table("documents").to_arrow().to_pylist()[0]
    assert row["status"] == "completed" and len(row["version"]) == 16


def test_pacer_aims_at_commit_seconds_within_bounds():
    pacer = ingest_mod._Pacer(5.0, 2048)
    assert pacer.target == 64  # small first batch, to measure the speed
    pacer.update(64, 0.5)  # 128 chunks/s -> 640 chunks in 5 s
    assert pacer.target == 640
    pacer.update(100, 10.0)  # 10 chunks/s (a CPU embedder) -> 50
    assert pacer.target == 50
    pacer.update(10_000, 0.01)  # very fast -> capped at batch_size
    assert pacer.target == 2048
    pacer.update(1, 100.0)  # very slow -> never below 16
    assert pacer.target == 16
    embedding = ingest_mod._Pacer(5.0, 2048, least=256)  # never below one embedder call
    assert embedding.target == 256
    embedding.update(100, 10.0)
    assert embedding.target == 256
    embedding.update(10_000, 1.0)
    assert embedding.target == 2048
    assert ingest_mod._Pacer(5.0, 8, least=256).target == 8  # batch_size caps everything
    fixed = ingest_mod._Pacer(0.0, 300)
    fixed.update(10, 1.0)
    assert fixed.target == 300


def test_commits_follow_the_pacer(tmp_path, monkeypatch):
    sizes = []
    real_flush = ingest_mod.Runner.flush

    def spy(self, batch):
        sizes.append(len(batch))
        return real_flush(self, batch)

    monkeypatch.setattr(ingest_mod.Runner, "flush", spy)
    items = [it for i in range(100) for it in iter_stream(io.BytesIO(f"Doc {i}.".encode()), name=f"s{i}")]
    job = ingest_items(
        items,
        tenant="acme",
        store=LanceDBStore(tmp_path / "s"),
        embedder=None,
        chunker=WholeDocumentChunker(),
        batch_size=30,
        commit_seconds=0,
    )
    assert sizes == [30, 30, 30, 10] and job.completed == 100  # commit_seconds=0: always batch_size
    with pytest.raises(ValueError, match="commit_seconds >= 0"):
        ingest_items(
            items,
            tenant="acme",
            store=LanceDBStore(tmp_path / "s"),
            embedder=None,
            chunker=WholeDocumentChunker(),
            commit_seconds=-1,
        )


def test_memory_helpers_read_this_process():
    now, peak = rss_mib(), peak_rss_mib()
    assert now is not None and peak is not None and 10 < now <= peak
    assert release_free_memory() is True  # glibc Linux (this machine and CI)


def test_store_cache_sizes_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="must be >= 0 MiB, got -1 and 64"):
        LanceDBStore(tmp_path, index_cache_mib=-1)
    store = LanceDBStore(tmp_path, index_cache_mib=8, metadata_cache_mib=4)
    store.tenant_db("acme")
    assert store._dbs._session is not None and store.cache_mib == {"index": 8, "metadata": 4}
