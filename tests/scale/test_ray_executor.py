"""executor=ray gives what executor=local gives: the same chunks, the same metrics, the same table,
also when a Ray worker or the driver is SIGKILLed mid-run (one Ray instance per session: conftest)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf, open_dict

from ragbench.config import build, compose
from ragbench.errors import ConfigError
from ragbench.evaluation.run import run_experiment
from ragbench.executor import ExecutorSettings
from tests.conftest import FAST_GENERATOR

DEMO = ["generator=extractive", "retriever=bm25", "progress=false"]


def _chunks(parts) -> dict[str, dict[str, str]]:
    """Every tenant's chunk set: chunk id -> content hash."""
    return {t: parts.store.chunk_hashes(t) for t in parts.dataset.tenants}


def _quality(overall: dict[str, float]) -> dict[str, float]:
    """The aggregates that do not depend on timing."""
    return {k: v for k, v in overall.items() if not k.startswith(("latency.", "generate."))}


def _rows(report) -> list[tuple]:
    return [
        (r.sample.id, r.answer.text if r.answer else None, [(h.chunk_id, h.score) for h in r.hits], r.metrics)
        for r in report.results
    ]


def _assert_same(ray_result, ray_parts, local, chunks: int = 90) -> None:
    """Same chunk sets (``chunks`` in all; the demo's 90: 35 + 35 + 20 documents, one chunk each),
    per-question rows, timing-free aggregates (to 1e-9) and tenants."""
    result, parts = local
    assert _chunks(ray_parts) == _chunks(parts)
    assert sum(len(c) for c in _chunks(parts).values()) == chunks
    assert _rows(ray_result.report) == _rows(result.report)
    expected, got = _quality(result.report.overall), _quality(ray_result.report.overall)
    assert got.keys() == expected.keys() and "ndcg@10" in got
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-9, nan_ok=True), key
    assert ray_result.report.per_tenant.keys() == result.report.per_tenant.keys()


@pytest.fixture(scope="module")
def local_demo(tmp_path_factory):
    parts = build(compose([*DEMO, f"home={tmp_path_factory.mktemp('local')}"]))
    return run_experiment(parts), parts


def test_executor_config_is_checked():
    assert ExecutorSettings.from_config(compose([]).get("executor")).kind == "local"
    ray = ExecutorSettings.from_config(compose(["executor=ray"]).executor)
    assert (ray.kind, ray.address, ray.actors, ray.max_retries) == ("ray", "local", 1, 3)
    with pytest.raises(ConfigError, match=r"executor.actors=0 is not valid: it must be an integer >= 1"):
        ExecutorSettings.from_config(compose(["executor=ray", "executor.actors=0"]).executor)
    with pytest.raises(ConfigError, match=r"executor.address='http://head:8265' is not valid.*ray://<host>:<port>"):
        ExecutorSettings.from_config(compose(["executor=ray", "executor.address=http://head:8265"]).executor)
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['workers'\]"):
        ExecutorSettings.from_config({"kind": "ray", "workers": 2})
    assert ExecutorSettings.from_config({"kind": "ray", "address": "10.0.0.5:6379"}).address == "10.0.0.5:6379"


def test_demo_on_ray_matches_local(ray_cluster, local_demo, tmp_path):
    """Two actors per model: ingestion and evaluation sharded, the same chunks, rows, metrics and MLflow run."""
    ray_on = ["executor=ray", f"executor.address={ray_cluster}", "executor.actors=2", "executor.batch_size=16"]
    parts = build(compose([*DEMO, f"home={tmp_path}", *ray_on]))
    result = run_experiment(parts)
    _assert_same(result, parts, local_demo)
    import mlflow

    mlflow.set_tracking_uri(parts.tracker.tracking_uri)
    run = mlflow.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics["retrieval/ndcg_at_10"] == pytest.approx(local_demo[0].report.overall["ndcg@10"], abs=1e-9)


def test_scifact_on_ray_matches_local(ray_cluster, scifact_bm25, scifact_home, tmp_path):
    """SciFact with BM25 on Ray (one actor): the chunks (5,183 documents, one chunk each), the 210
    per-question rows and the metrics (to 1e-9) of the session's local run (`scifact_bm25`, tests/conftest.py)."""
    scifact = [FAST_GENERATOR, "progress=false", "dataset=beir_scifact", "retriever=bm25"]
    local_parts = build(compose([*scifact, f"home={scifact_home}"]))  # the local run's store (BM25 space)
    parts = build(compose([*scifact, f"home={tmp_path}", "executor=ray", f"executor.address={ray_cluster}"]))
    result = run_experiment(parts)
    _assert_same(result, parts, (scifact_bm25, local_parts), chunks=5183)
    for run in (result, scifact_bm25):
        assert sum(s.documents for s in run.index_stats) == 5183 and sum(s.failed for s in run.index_stats) == 0
    assert len(result.report.results) == 210  # the shared test split: 300 less 90 held out


def test_killed_workers_change_nothing(ray_cluster, local_demo, tmp_path):
    """A worker SIGKILLed in its first ingestion batch and one in its first evaluation batch are restarted
    and their batches redone: the chunks, per-question rows and metrics (to 1e-9) are exactly the local run's."""
    cfg = compose([*DEMO, f"home={tmp_path}", "executor=ray", f"executor.address={ray_cluster}"])
    ingest_marker, eval_marker = tmp_path / "ingest-killed", tmp_path / "eval-killed"
    with open_dict(cfg):
        for group, wrapper, marker in (
            ("chunker", "KillOnceChunker", ingest_marker),
            ("generator", "KillOnceGenerator", eval_marker),
        ):
            cfg[group] = {
                "_target_": f"ragbench.testing.faults.{wrapper}",
                "inner": OmegaConf.to_container(cfg[group]),
                "marker": str(marker),
                "driver_pid": os.getpid(),
            }
    parts = build(cfg)
    result = run_experiment(parts)
    for marker in (ingest_marker, eval_marker):  # each kill happened, in a worker, not in this process
        assert marker.exists() and int(marker.read_text()) != os.getpid()
    _assert_same(result, parts, local_demo)
    assert sum(s.failed for s in result.index_stats) == 0


def _write_corpus(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        (folder / f"doc{i:03d}.txt").write_text(f"Document {i} of the corpus. It tells about topic {i % 7}.\n")


def _ingest_cmd(home: Path, corpus: Path, *overrides: str) -> list[str]:
    args = ["ingest", "--tenant", "acme", "--path", str(corpus), f"home={home}", "progress=false", "retriever=bm25"]
    return [sys.executable, "-m", "ragbench.cli", *args, "index_commit_seconds=0", "index_batch_size=4", *overrides]


def test_driver_killed_mid_ingest_rerun_gives_exact_chunks(ray_cluster, tmp_path):
    """`ragbench ingest ... executor=ray` SIGKILLed after its first commits, then run again: exactly the
    chunks of an uninterrupted local ingest, every document completed once."""
    from ragbench.ingestion.jobs import list_jobs

    corpus = tmp_path / "corpus"
    _write_corpus(corpus, 240)  # enough that the job is still running when the kill lands, on a loaded machine
    local_home, ray_home = tmp_path / "local", tmp_path / "ray"
    subprocess.run(_ingest_cmd(local_home, corpus), check=True, capture_output=True, timeout=300)
    on_ray = ["executor=ray", f"executor.address={ray_cluster}", "executor.batch_size=4"]
    proc = subprocess.Popen(_ingest_cmd(ray_home, corpus, *on_ray), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    store = build(compose([f"home={ray_home}", "retriever=bm25"])).store
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        jobs = list_jobs(store, "acme") if store.has_tenant("acme") else []
        if jobs and jobs[0].done >= 8:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the ingest finished before it could be killed: {proc.stdout.read()!r}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    killed = list_jobs(store, "acme")[0]
    assert killed.status == "interrupted" and 8 <= killed.done < 240
    rerun = subprocess.run(_ingest_cmd(ray_home, corpus, *on_ray), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    local_store = build(compose([f"home={local_home}", "retriever=bm25"])).store
    assert store.chunk_hashes("acme") == local_store.chunk_hashes("acme")
    assert len(store.chunk_hashes("acme")) == 240
    job = list_jobs(store, "acme")[0]
    assert (job.status, job.failed, job.done) == ("completed", 0, 240)
    assert job.skipped >= killed.completed  # what the killed run committed was not written again


def test_ray_ingestion_reads_the_input_a_window_at_a_time(ray_cluster, tmp_path, monkeypatch):
    """The driver reads what is committed for a window of items just before sending them, never the whole
    input at once: with a window of 16, at most two windows are read ahead of what has come back. The job
    ends as a local one does (a key repeated 150 items later fails as a duplicate in both)."""
    import json

    from ragbench.data.chunking import SentenceChunker
    from ragbench.ingestion import _ray
    from ragbench.ingestion.ingest import ingest_items
    from ragbench.ingestion.loaders import iter_jsonl
    from ragbench.stores.lancedb import LanceDBStore

    monkeypatch.setattr(_ray, "WINDOW_ITEMS", 16)
    read = [0]

    def lines():
        for i in range(200):
            read[0] += 1
            key = "d3" if i == 153 else f"d{i}"
            yield json.dumps({"id": key, "text": f"Document {i}. It tells about topic {i % 7}."}) + "\n"

    ahead: list[int] = []
    returned = [0]

    def on_row(pid: int) -> None:
        returned[0] += 1
        ahead.append(read[0] - returned[0])

    jobs = {}
    for name in ("local", "ray"):
        executor = ExecutorSettings(kind="ray", address=ray_cluster, batch_size=2) if name == "ray" else None
        read[0] = 0
        monkeypatch.setattr(_ray, "ON_ROW", [on_row] if name == "ray" else [])
        jobs[name] = ingest_items(
            iter_jsonl(lines(), source="s"),
            tenant="acme",
            store=LanceDBStore(tmp_path / name),
            embedder=None,
            chunker=SentenceChunker(max_words=12),
            batch_size=8,
            commit_seconds=0,
            language=None,
            executor=executor,
        )
    assert len(ahead) == 200 and max(ahead) <= 2 * 16, max(ahead)  # the whole input would be 199 ahead
    counts = {name: (j.done, j.completed, j.skipped, j.failed, j.chunks_created) for name, j in jobs.items()}
    assert counts["ray"] == counts["local"] and counts["local"][:4] == (200, 199, 0, 1)
    stores = [LanceDBStore(tmp_path / name) for name in ("local", "ray")]
    assert stores[0].chunk_hashes("acme") == stores[1].chunk_hashes("acme")
