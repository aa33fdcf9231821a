"""A tenant's documents from the dashboard, on a real LanceDB store: re-uploading a file replaces
the document of that file name (chunks counted through the store), and deleting documents
removes their chunks from that tenant only."""

from __future__ import annotations

import json
import time

import pytest

from ragbench.errors import DatasetError


def _words(topic: str, n: int) -> bytes:
    """``n`` distinct sentences about ``topic`` (8 words each; 200-word chunks)."""
    return " ".join(f"The {topic} rule number {i} applies on floor {i % 7}." for i in range(n)).encode()


@pytest.fixture
def jobs(tmp_path):
    from ragbench.config import build, compose
    from ragbench.dashboard.jobs import JobManager

    parts = build(compose([f"home={tmp_path / 'home'}", "progress=false", "generator=extractive", "retriever=bm25"]))
    manager = JobManager(parts)
    yield manager
    manager.close()


def _wait(manager, sub):
    deadline = time.monotonic() + 300
    while sub.state in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sub.state == "finished", sub.error
    return manager.job(sub.ticket)


def _keys(manager, tenant):
    return [d["key"] for d in manager.documents(tenant)]


def test_reupload_replaces_the_document_of_the_same_file_name(jobs, tmp_path):
    store = jobs.parts.store
    _wait(jobs, jobs.submit_files("acme", [("policy.md", _words("parking", 60))], user="alice"))
    assert store.count("acme") == 3  # 480 words: three 200-word chunks
    # the same name again, new content: replaced in place, no duplicate chunks
    job = _wait(jobs, jobs.submit_files("acme", [("policy.md", _words("badge", 30))], user="alice"))
    assert job.completed == 1 and store.count("acme") == 2 and _keys(jobs, "acme") == ["upload:policy.md"]
    [hit] = store.search_text("acme", "badge rule", k=1)
    assert "badge" in hit.text and not any("parking" in h.text for h in store.search_text("acme", "parking rule", k=5))
    # a JSONL file uploaded again with fewer records: the records it no longer has go
    records = [{"id": i, "text": f"Canteen fact {i}: lunch is served at {11 + i} o'clock."} for i in range(3)]
    jsonl = "\n".join(json.dumps(r) for r in records).encode()
    _wait(jobs, jobs.submit_files("acme", [("faq.jsonl", jsonl)], user="alice"))
    assert store.count("acme") == 5
    sub = jobs.submit_files("acme", [("faq.jsonl", jsonl.splitlines()[0])], user="alice")
    _wait(jobs, sub)
    assert sub.replaced == ["upload:faq.jsonl#1", "upload:faq.jsonl#2"] and store.count("acme") == 3
    assert _keys(jobs, "acme") == ["upload:faq.jsonl#0", "upload:policy.md"]
    # a re-upload that cannot be read keeps the earlier version
    sub = jobs.submit_files("acme", [("faq.jsonl", b'{"id": 0, "text": 5}')], user="alice")
    _wait(jobs, sub)
    assert sub.replaced == [] and store.count("acme") == 3


def test_upload_replaces_a_server_folder_document_of_the_same_file_name(jobs, tmp_path):
    store = jobs.parts.store
    folder = tmp_path / "handbook"
    (folder / "hr").mkdir(parents=True)
    (folder / "hr" / "leave.md").write_bytes(_words("leave", 30))
    (folder / "travel.md").write_bytes(_words("travel", 20))
    _wait(jobs, jobs.submit_folder("acme", folder, user="root"))
    assert store.count("acme") == 3  # leave.md 240 words: 2 chunks; travel.md 1
    sub = jobs.submit_files("acme", [("leave.md", _words("holiday", 10))], user="alice")
    _wait(jobs, sub)
    assert sub.replaced == [str(folder / "hr" / "leave.md")]  # before: both versions were kept and searched
    assert store.count("acme") == 2 and not any("leave" in h.text for h in store.search_text("acme", "leave rule", k=5))
    assert _keys(jobs, "acme") == [str(folder / "travel.md"), "upload:leave.md"]


def test_delete_removes_a_documents_chunks_from_its_tenant_only(jobs):
    store = jobs.parts.store
    for tenant in ("acme", "harbor"):
        _wait(
            jobs, jobs.submit_files(tenant, [("a.md", _words("alpha", 30)), ("b.md", _words("beta", 10))], user="root")
        )
    assert store.count("acme") == store.count("harbor") == 3
    assert jobs.delete_documents("acme", ["upload:a.md"]) == {"documents": 1, "chunks": 2}
    assert store.count("acme") == 1 and _keys(jobs, "acme") == ["upload:b.md"]
    assert not any("alpha" in h.text for h in store.search_text("acme", "alpha rule", k=5))
    # the other tenant's document of the same name is untouched
    assert store.count("harbor") == 3 and _keys(jobs, "harbor") == ["upload:a.md", "upload:b.md"]
    assert "alpha" in store.search_text("harbor", "alpha rule", k=1)[0].text
    with pytest.raises(DatasetError, match=r"no document with key\(s\) 'upload:a.md'; nothing was deleted"):
        jobs.delete_documents("acme", ["upload:a.md", "upload:b.md"])
    assert store.count("acme") == 1
    with pytest.raises(DatasetError, match="pick one or more rows"):
        jobs.delete_documents("acme", [])


def test_a_job_that_finishes_while_it_is_read_is_never_reported_finished_without_its_record(jobs, monkeypatch):
    """What made a browser upload wait forever in CI: the Documents tab's poller read the job record
    (none yet: queued), the job finished meanwhile, then it read the state ("finished"), showed
    "finished…" without the result and stopped polling. ``progress`` reads the state first."""
    import threading

    gate = threading.Event()
    jobs._executor.submit(gate.wait)  # hold the queue: the upload below stays queued until the gate opens
    sub = jobs.submit_files("acme", [("menu.md", b"# Menu\n\nRye bread on Tuesdays.\n")], user="alice")
    read = jobs.job

    def job_finishing_meanwhile(ticket):
        before = read(ticket)  # read while queued: no job record yet
        gate.set()  # ... and the job runs to the end before this read returns
        deadline = time.monotonic() + 300
        while sub.state != "finished" and time.monotonic() < deadline:
            time.sleep(0.05)
        return before

    monkeypatch.setattr(jobs, "job", job_finishing_meanwhile)
    state, error, job = jobs.progress(sub.ticket)
    assert (state, error, job) == ("queued", None, None)  # not "finished" without its record
    monkeypatch.setattr(jobs, "job", read)
    state, error, job = jobs.progress(sub.ticket)  # the next poll sees it finished, with the record
    assert state == "finished" and job is not None and job.finished and job.completed == 1
