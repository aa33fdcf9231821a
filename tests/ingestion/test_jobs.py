"""Jobs on real parts (LanceDB on disk, packaged MiniLM): exactly-once, replacement, retries, polling."""

from __future__ import annotations

import numpy as np
import pytest

from ragbench.data.chunking import SentenceChunker, TokenChunker
from ragbench.ingestion import ingest as ingest_mod
from ragbench.ingestion.ingest import ingest_items, ingest_path
from ragbench.ingestion.jobs import JobNotFoundError, get_job, list_jobs
from ragbench.ingestion.loaders import iter_path
from ragbench.stores.lancedb import LanceDBStore
from tests.support.ingestion import FlakyEmbedder

CHUNKER = SentenceChunker(max_words=12, overlap=0)
TEXTS = {
    "robots.txt": "Robots weld car frames. Welding robots need calibration every week. Calibration takes an hour.",
    "vacation.md": "# Vacation\n\nEmployees get 25 vacation days. Unused days expire in March. Ask HR for exceptions.",
    "zagreb.txt": "Zagreb je glavni grad Hrvatske. Grad ima mnogo muzeja. Katedrala je najviša zgrada.",
}


def _corpus(root, texts=TEXTS):
    root.mkdir(exist_ok=True)
    for name, text in texts.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def _chunk_set(store, tenant):
    table = store.tenant_db(tenant).open_table(store.table_name).to_arrow()
    ids = table.column("chunk_id").to_pylist()
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    return dict(zip(ids, table.column("content_hash").to_pylist()))


def test_ingest_is_exactly_once_and_replaces_changed_documents(tmp_path, minilm):
    corpus, store = _corpus(tmp_path / "docs"), LanceDBStore(tmp_path / "store", space=minilm.space)
    first = ingest_path(corpus, tenant="acme", store=store, embedder=minilm, chunker=CHUNKER)
    assert (first.status, first.total, first.completed, first.failed) == ("completed", 3, 3, 0)
    before = _chunk_set(store, "acme")
    assert first.chunks_created == len(before) == 6
    version = store.tenant_db("acme").open_table(store.table_name).version
    again = ingest_path(corpus, tenant="acme", store=store, embedder=minilm, chunker=CHUNKER)
    assert (again.completed, again.skipped, again.chunks_created) == (0, 3, 0)
    assert store.tenant_db("acme").open_table(store.table_name).version == version  # a true no-op
    (corpus / "robots.txt").write_text("Robots paint car doors. Painting robots are cleaned daily.", encoding="utf-8")
    changed = ingest_path(corpus, tenant="acme", store=store, embedder=minilm, chunker=CHUNKER)
    assert (changed.completed, changed.skipped) == (1, 2)
    after = _chunk_set(store, "acme")
    robots = get_job(store, "acme", changed.job_id).documents[0]
    assert robots.key.endswith("robots.txt") and robots.status == "completed"
    assert {c for c in after if c.startswith(robots.doc_id)} == {f"{robots.doc_id}#0"}
    old_robot = {c for c in before if c not in after}
    assert len(old_robot) == 2 and not any(c.startswith(robots.doc_id) for c in old_robot)
    assert len(after) == 5
    hits = store.search_vector("acme", minilm.embed_queries(["who paints car doors?"])[0], k=1)
    assert hits[0].doc_id == robots.doc_id


def test_changing_the_chunker_rechunks_unchanged_documents(tmp_path):
    corpus, store = _corpus(tmp_path / "docs"), LanceDBStore(tmp_path / "store")
    ingest_path(corpus, tenant="acme", store=store, embedder=None, chunker=CHUNKER)
    tokens = TokenChunker(max_tokens=4, overlap=0)
    job = ingest_path(corpus, tenant="acme", store=store, embedder=None, chunker=tokens)
    assert job.completed == 3
    texts = store.tenant_db("acme").open_table(store.table_name).to_arrow().column("text").to_pylist()
    expected = [c.text for item in iter_path(corpus) for c in tokens([item.load("acme")])]
    assert sorted(texts) == sorted(expected) and len(texts) == 14


def test_failing_document_is_retried_three_times_then_recorded(tmp_path, minilm):
    corpus, store = _corpus(tmp_path / "docs"), LanceDBStore(tmp_path / "store", space=minilm.space)
    flaky = FlakyEmbedder(minilm, fail_on_text="Zagreb")
    job = ingest_path(corpus, tenant="acme", store=store, embedder=flaky, chunker=CHUNKER, batch_size=100)
    docs = {d.key.rsplit("/", 1)[-1]: d for d in get_job(store, "acme", job.job_id).documents}
    assert docs["zagreb.txt"].status == "failed" and docs["zagreb.txt"].attempts == 3
    assert "injected embedder failure" in docs["zagreb.txt"].error
    assert docs["robots.txt"].status == docs["vacation.md"].status == "completed"
    assert (job.completed, job.failed, store.count("acme")) == (2, 1, 4)
    transient = FlakyEmbedder(minilm, fail_calls={1, 2})  # the batch call and the first retry fail
    job = ingest_path(corpus, tenant="acme", store=store, embedder=transient, chunker=CHUNKER, batch_size=100)
    zagreb = next(d for d in get_job(store, "acme", job.job_id).documents if d.key.endswith("zagreb.txt"))
    assert (zagreb.status, zagreb.attempts, zagreb.language) == ("completed", 3, "hr")
    assert store.count("acme") == 6


def test_jobs_can_be_polled_and_listed(tmp_path, monkeypatch):
    corpus, store = _corpus(tmp_path / "docs"), LanceDBStore(tmp_path / "store")
    seen = []
    real_flush = ingest_mod.Runner.flush

    def spy(self, batch):  # poll the job from "outside" between batches, as the dashboard does
        seen.append(get_job(store, "acme", self.job.job_id).model_copy())
        return real_flush(self, batch)

    monkeypatch.setattr(ingest_mod.Runner, "flush", spy)
    job = ingest_items(
        iter_path(corpus), tenant="acme", store=store, embedder=None, chunker=CHUNKER, total=3, batch_size=1
    )
    # before batch i is flushed, batches < i-1 are recorded; batch i-1 may still be in its commit
    assert [(s.status, s.total) for s in seen] == [("running", 3)] * 3
    assert all(i - 1 <= s.done <= i for i, s in enumerate(seen)), [s.done for s in seen]
    assert [s.done for s in seen] == sorted(s.done for s in seen) and seen[2].done >= 1
    assert all(s.progress == pytest.approx(s.done / 3) for s in seen)
    final = get_job(store, "acme", job.job_id)
    assert (final.status, final.progress, final.done) == ("completed", 1.0, 3)
    assert [d.status for d in final.documents] == ["completed"] * 3
    assert all(d.seconds > 0 and d.chunks >= 1 for d in final.documents)
    assert final.settings["chunker"] == repr(CHUNKER)
    second = ingest_path(corpus, tenant="acme", store=store, embedder=None, chunker=CHUNKER)
    assert [j.job_id for j in list_jobs(store, "acme")] == [second.job_id, job.job_id]
    with pytest.raises(JobNotFoundError, match="No ingestion job 'nope'.*Recent jobs"):
        get_job(store, "acme", "nope")


def test_a_dead_running_job_reads_as_interrupted(tmp_path):
    from ragbench.ingestion.jobs import create_job, save_job

    store = LanceDBStore(tmp_path / "store")
    job = create_job(store, "acme", total=5)
    job.pid = 2**22 + 12345  # no such process
    save_job(store, job)
    assert get_job(store, "acme", job.job_id).status == "interrupted"


def test_streaming_memory_is_bounded_by_batches(tmp_path):
    """Items are pulled lazily: the generator is never more than one batch ahead of the writes."""
    store = LanceDBStore(tmp_path / "store")
    pulled, written = [], []
    real_flush = ingest_mod.Runner.flush

    def spy(self, batch):
        written.append(len(pulled))
        return real_flush(self, batch)

    def items():
        import io

        from ragbench.ingestion.loaders import iter_stream

        for i in range(40):
            pulled.append(i)
            yield from iter_stream(io.BytesIO(f"Document number {i}. It is short.".encode()), name=f"s{i}")

    ingest_mod.Runner.flush = spy
    try:
        job = ingest_items(items(), tenant="acme", store=store, embedder=None, chunker=CHUNKER, batch_size=8)
    finally:
        ingest_mod.Runner.flush = real_flush
    assert written == [8, 16, 24, 32, 40] and job.completed == 40 and store.count("acme") == 40
    assert np.all(np.diff(written) == 8)
