"""R1: ingestion killed with SIGKILL at 20 random points, then re-run, ends with exactly the
expected chunks. R6: two processes ingesting into one tenant at once lose and duplicate nothing.

Both use real processes (``tests.support.ingest_worker``) on a real LanceDB directory, and maintain
the lookup indexes every few rows (``store.maintain_every_rows``; every 50,000 by default), so kills also land
in an index rebuild, and the two concurrent processes rebuild the same tables' indexes.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragbench.data.chunking import SentenceChunker
from ragbench.ingestion import _tables
from ragbench.ingestion.ingest import ingest_path
from ragbench.ingestion.jobs import get_job, list_jobs
from ragbench.ingestion.loaders import iter_path
from ragbench.stores.lancedb import LanceDBStore
from ragbench.types import content_hash

CHUNKER = SentenceChunker(max_words=12, overlap=1)  # the worker's chunker
MAINTAIN_EVERY_ROWS = 4
WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda sigma omega".split()


def _write_doc(path, rng: random.Random, version: int) -> None:
    sentences = [
        f"{' '.join(rng.sample(WORDS, 5)).capitalize()} in version {version}." for _ in range(rng.randint(2, 5))
    ]
    path.write_text(" ".join(sentences), encoding="utf-8")


def _expected(corpus) -> dict[str, str]:
    return {c.id: content_hash(c.content) for item in iter_path(corpus) for c in CHUNKER([item.load("acme")])}


def _actual(store) -> dict[str, str]:
    if not store.has_tenant("acme"):
        return {}
    table = store.tenant_db("acme").open_table(store.table_name).to_arrow()
    ids = table.column("chunk_id").to_pylist()
    assert len(ids) == len(set(ids)), "duplicated chunks"
    return dict(zip(ids, table.column("content_hash").to_pylist()))


def _indexed(store) -> set[str]:
    """The columns with an index in the tenant's chunk table and ledger (maintenance ran)."""
    db = store.tenant_db("acme")
    tables = [store.table_name, "documents", "job_items"]
    return {f"{name}.{c}" for name in tables for i in db.open_table(name).list_indices() for c in i.columns}


def _spawn(store_dir, path, batch_size: int = 2) -> subprocess.Popen:
    cmd = [
        sys.executable,
        "-m",
        "tests.support.ingest_worker",
        str(store_dir),
        "acme",
        str(path),
        "--batch-size",
        str(batch_size),
        "--maintain-every-rows",
        str(MAINTAIN_EVERY_ROWS),
        "--wait-go",
    ]
    root = Path(__file__).resolve().parents[2]  # the worker is test support: run it from the checkout
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return proc


def _ready(proc: subprocess.Popen) -> None:
    line = proc.stdout.readline()
    assert line.strip() == "READY", f"worker failed to start: {line!r}"


@pytest.mark.slow
def test_kill_9_at_20_random_points_then_rerun_gives_exactly_the_expected_chunks(tmp_path):
    seed = int(os.environ.get("RAGBENCH_CRASH_SEED", "1234"))
    rng = random.Random(seed)
    corpus, store_dir = tmp_path / "corpus", tmp_path / "store"
    corpus.mkdir()
    for i in range(12):
        _write_doc(corpus / f"doc{i:02d}.txt", rng, 0)
    store = LanceDBStore(store_dir, maintain_every_rows=MAINTAIN_EVERY_ROWS)
    mid_job = 0
    nxt = _spawn(store_dir, corpus)
    for cycle in range(1, 21):
        for name in rng.sample(sorted(os.listdir(corpus)), 6):  # half the corpus changes each cycle
            _write_doc(corpus / name, rng, cycle)
        proc, nxt = nxt, None
        _ready(proc)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        time.sleep(rng.uniform(0.02, 0.7))
        if proc.poll() is None:
            mid_job += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if cycle < 20:
            nxt = _spawn(store_dir, corpus)  # starts while this cycle re-runs
        for name in rng.sample(sorted(os.listdir(corpus)), 6):  # edits between the crash and the re-run
            _write_doc(corpus / name, rng, 100 + cycle)
        rerun = ingest_path(corpus, tenant="acme", store=store, embedder=None, chunker=CHUNKER, batch_size=2)
        assert rerun.status == "completed" and rerun.failed == 0, f"cycle {cycle} (seed {seed})"
        assert _actual(store) == _expected(corpus), f"cycle {cycle} (seed {seed}): chunk set differs"
        docs = _tables.select(store.tenant_db("acme"), "documents")
        assert len(docs) == 12 and {d["status"] for d in docs} <= {"completed", "skipped"}
        assert all(not d["prev_doc_ids"] for d in docs)
    assert mid_job >= 10, f"only {mid_job} of 20 kills landed inside a job (seed {seed})"
    states = [j.status for j in list_jobs(store, "acme")]
    # 20 re-runs complete; a killed worker that had already finished (or finished between the
    # liveness check and the kill) completed too; every other killed job reads as interrupted.
    assert set(states) <= {"completed", "interrupted"}
    assert 20 + (20 - mid_job) <= states.count("completed") <= 40
    assert states.count("interrupted") <= mid_job
    hits = store.search_text("acme", "alpha", k=3)
    assert hits and all(h.tenant == "acme" for h in hits)
    lookups = {f"{store.table_name}.chunk_id", f"{store.table_name}.doc_id", "documents.key", "job_items.job_id"}
    assert lookups <= _indexed(store)


def test_two_processes_ingesting_into_one_tenant_at_once(tmp_path):
    rng = random.Random(7)
    corpus, store_dir = tmp_path / "corpus", tmp_path / "store"
    (corpus / "a").mkdir(parents=True)
    (corpus / "b").mkdir()
    for i in range(10):
        _write_doc(corpus / "a" / f"a{i}.txt", rng, 0)
        _write_doc(corpus / "b" / f"b{i}.txt", rng, 0)
    procs = [_spawn(store_dir, corpus), _spawn(store_dir, corpus / "b")]  # b is ingested by both
    for proc in procs:
        _ready(proc)
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    store = LanceDBStore(store_dir, maintain_every_rows=MAINTAIN_EVERY_ROWS)
    assert _actual(store) == _expected(corpus)  # every document present, nothing duplicated
    job_ids = [out.split()[1] for out in outputs]
    jobs = [get_job(store, "acme", job_id) for job_id in job_ids]
    assert [j.status for j in jobs] == ["completed", "completed"] and [j.done for j in jobs] == [20, 10]
    assert all(d.status in ("completed", "skipped") for j in jobs for d in j.documents)
    docs = _tables.select(store.tenant_db("acme"), "documents")
    assert len(docs) == 20 and {d["status"] for d in docs} <= {"completed", "skipped"}
    assert {f"{store.table_name}.doc_id", "documents.key"} <= _indexed(store)  # both processes maintained them
    again = ingest_path(corpus, tenant="acme", store=store, embedder=None, chunker=CHUNKER)
    assert (again.skipped, again.completed) == (20, 0)
