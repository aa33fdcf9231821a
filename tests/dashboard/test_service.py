"""The dashboard service on real parts: LanceDB with the demo tenants, MiniLM, MLflow sqlite,
ragbench.ingestion jobs. Access control is checked here, below the UI."""

from __future__ import annotations

import time

import pytest

from ragbench.dashboard.auth import AccessDeniedError
from ragbench.errors import ConfigError
from ragbench.schema import QueryRequest
from ragbench.types import Query

FOUNDERS = "Who founded the company?"


@pytest.fixture(scope="module")
def svc(dashboard_home, users_file):
    from ragbench.dashboard.service import DashboardService

    service = DashboardService.from_overrides(
        [f"home={dashboard_home}", "generator=extractive"], users_file=str(users_file)
    )
    yield service
    service.close()


def test_tenants_follow_the_users_file(svc):
    assert svc.tenants_for(svc.user_for("alice")) == ["acme-robotics"]
    assert svc.tenants_for(svc.user_for("hank")) == ["harbor-health"]
    assert svc.tenants_for(svc.user_for("root")) == ["acme-robotics", "harbor-health", "lastavica-logistika"]
    assert svc.user_for("mallory") is None and svc.tenants_for(None) == []
    assert not svc.open_mode


def test_ask_answers_from_the_users_tenant_only(svc):
    # A fresh conversation: earlier tests in the session talked as alice and hank, and a short question in a
    # conversation is a follow-up searched together with the previous one.
    svc.history.clear("alice", "acme-robotics")
    svc.history.clear("hank", "harbor-health")
    alice = svc.user_for("alice")
    response = svc.ask(alice, QueryRequest(question=FOUNDERS, tenant="acme-robotics"))
    assert "Margit Olessen" in response.answer
    assert response.sources and all(s.doc_id.startswith("acme-") for s in response.sources)
    assert any(s.cited for s in response.sources)
    assert response.timings.total_ms >= response.timings.retrieve_ms > 0 and response.detected_language == "en"
    hank = svc.user_for("hank")
    harbor = svc.ask(hank, QueryRequest(question=FOUNDERS, tenant="harbor-health"), preset="bm25")
    assert "founded in 2006" in harbor.answer and all(s.doc_id.startswith("harbor-") for s in harbor.sources)
    [turn] = [t for t in svc.history.turns("alice", "acme-robotics") if t.question == FOUNDERS][-1:]
    assert turn.answer == response.answer and turn.payload["preset"] == "default"


def test_ask_in_croatian_reports_the_questions_language(svc):
    root = svc.user_for("root")
    question = "Koliko se često moraju mijenjati lozinke?"
    response = svc.ask(root, QueryRequest(question=question, tenant="lastavica-logistika"), preset="bm25")
    assert response.detected_language == "hr" and "svakih 120 dana" in response.answer
    assert response.sources[0].doc_id == "lastavica-008" and all(
        s.doc_id.startswith("lastavica-") for s in response.sources
    )
    assert (
        svc.ask(root, QueryRequest(question="Tko?", tenant="lastavica-logistika")).detected_language is None
    )  # < 3 words


def test_ask_for_another_tenant_is_refused_before_retrieval(svc):
    alice = svc.user_for("alice")
    steps = svc.ask_steps(alice, QueryRequest(question=FOUNDERS, tenant="harbor-health"))
    with pytest.raises(AccessDeniedError, match="'alice' may not access tenant 'harbor-health'"):
        next(steps)
    with pytest.raises(AccessDeniedError, match="Not signed in"):
        svc.ask(svc.user_for("mallory"), QueryRequest(question=FOUNDERS, tenant="acme-robotics"))
    assert svc.history.turns("alice", "harbor-health") == []


def test_steps_report_progress_and_follow_ups_use_the_history(svc):
    root = svc.user_for("root")
    svc.history.clear("root", "harbor-health")
    first = QueryRequest(
        question="How many paid vacation days does a full-time employee get each year?", tenant="harbor-health"
    )
    stages = [e.stage for e in svc.ask_steps(root, first, preset="dense")]
    assert stages == ["retrieved", "answered"]
    follow = svc.ask(root, QueryRequest(question="And for part-time staff?", tenant="harbor-health"), preset="dense")
    last = svc.history.turns("root", "harbor-health")[-1]
    assert last.payload["retrieval_query"] == f"{first.question} And for part-time staff?"
    assert last.payload["condensed"] == "concat"  # the extractive preset has no LLM to condense with
    assert all(s.doc_id.startswith("harbor-") for s in follow.sources)


def test_a_croatian_follow_up_is_searched_with_the_conversation(svc):
    """Five Croatian words with no English opening: the old English-only heuristic searched them alone."""
    root = svc.user_for("root")
    svc.history.clear("root", "lastavica-logistika")
    first = "U kojoj se aplikaciji prijavljuju poslovni troškovi?"
    assert "Račun+" in svc.ask(root, QueryRequest(question=first, tenant="lastavica-logistika"), preset="bm25").answer
    follow_up = "Do kada to moram napraviti?"
    alone = svc.pipeline("bm25").retriever.retrieve([Query(follow_up, "lastavica-logistika")], 5)[0]
    assert "lastavica-005" not in [h.doc_id for h in alone[:3]]  # the follow-up alone does not find the policy
    response = svc.ask(root, QueryRequest(question=follow_up, tenant="lastavica-logistika"), preset="bm25")
    assert response.sources[0].doc_id == "lastavica-005"  # the expenses policy, found with the conversation
    assert response.trace["notes"] == {"standalone": f"{first} {follow_up}", "condensed": "concat"}
    assert svc.history.turns("root", "lastavica-logistika")[-1].payload["retrieval_query"] == f"{first} {follow_up}"


def test_presets(svc):
    assert list(svc.presets)[0] == "default" and {"hybrid", "dense", "bm25"} <= set(svc.presets)
    with pytest.raises(ConfigError, match="Unknown preset 'bm52'. Did you mean: 'bm25'"):
        svc.pipeline("bm52")


def test_a_method_preset_answers_with_its_method_and_records_it(dashboard_home, users_file):
    """A preset may pick a RAG method (`ragbench dashboard --preset refine=method=refine,retriever=bm25`); method=refine
    needs no LLM (the embedder picks sentences), so it runs with the extractive generator here."""
    from ragbench.dashboard.service import DashboardService, parse_presets

    presets = parse_presets("refine=method=refine,retriever=bm25,method.max_sentences=2;bm25=retriever=bm25")
    service = DashboardService.from_overrides(
        [f"home={dashboard_home}", "generator=extractive"], users_file=str(users_file), presets=presets
    )
    try:
        alice = service.user_for("alice")
        service.history.clear("alice", "acme-robotics")
        request = QueryRequest(question=FOUNDERS, tenant="acme-robotics")
        stages = [e.stage for e in service.ask_steps(alice, request, preset="refine", remember=False)]
        assert stages[-1] == "answered"
        refined = service.ask(alice, request, preset="refine", remember=False)
        plain = service.ask(alice, request, preset="bm25", remember=False)
        assert refined.trace["method"] == "refine" and plain.trace["method"] == "standard"
        kept = [s["text"] for s in refined.trace["steps"] if s["step"] == "kept"]
        assert 1 <= len(kept) <= 2 and refined.trace["values"]["compression_ratio"] < 1
        assert refined.answer.strip() in kept  # the extractive generator saw only the kept sentences
        assert [s.doc_id for s in refined.sources] == [s.doc_id for s in plain.sources]  # the same retrieval
    finally:
        service.close()


def _wait(jobs, ticket, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        sub = jobs.submission(ticket)
        if sub.state in ("finished", "error"):
            return jobs.job(ticket)
        time.sleep(0.2)
    raise AssertionError(f"job {ticket} did not finish in {timeout} s")


def test_upload_job_records_each_document_and_goes_on_after_a_bad_one(svc, tmp_path):
    files = [
        ("kiosk.md", b"# Kiosk\n\nThe lobby kiosk of Harbor Health sells lemon ginger tea for 2 euros."),
        ("broken.pdf", b"this is not a pdf"),
        ("malware.exe", b"MZ\x00\x00"),
        ("notes.txt", b"Harbor Health parking permits are renewed every March."),
    ]
    sub = svc.jobs.submit_files("harbor-health", files, user="hank")
    job = _wait(svc.jobs, sub.ticket)
    assert job.status == "completed" and job.total == 4 and job.completed == 2 and job.failed == 2
    by_key = {d.key: d for d in job.documents}
    assert by_key["upload:kiosk.md"].status == "completed" and by_key["upload:kiosk.md"].chunks == 1
    assert "not a readable PDF" in by_key["upload:broken.pdf"].error
    assert "unsupported content type" in by_key["upload:malware.exe"].error
    answer = svc.ask(
        svc.user_for("hank"), QueryRequest(question="What does the lobby kiosk sell?", tenant="harbor-health")
    )
    assert "lemon ginger tea" in answer.answer
    assert any(j.job_id == job.job_id for j in svc.jobs.list(["harbor-health"]))


def test_upload_of_unreadable_files_gets_a_job_with_per_file_outcomes(svc):
    """Files a loader cannot read (issue 13) fail alone with their reason; the rest are ingested."""
    import json

    files = [
        ("ferry.txt", b"Harbor Health staff ride the harbour ferry for free."),
        (
            "records.jsonl",
            (
                json.dumps({"id": "r1", "text": "The Harbor Health pharmacy opens at seven."})
                + "\n"
                + json.dumps({"id": "r2", "text": "Numeric language.", "language": 5})
                + "\n"
            ).encode(),
        ),
        ("deep.jsonl", b"[" * 200_000 + b"\n"),
        ("cp1252.jsonl", b'{"id": "c1", "text": "caf\xe9 au lait"}\n'),
    ]
    sub = svc.jobs.submit_files("harbor-health", files, user="hank")
    job = _wait(svc.jobs, sub.ticket)
    by_key = {d.key: d for d in job.documents}
    assert sub.state == "finished" and job.status == "completed"
    assert (job.total, job.completed, job.failed) == (5, 2, 3), {k: (d.status, d.error) for k, d in by_key.items()}
    assert by_key["upload:ferry.txt"].status == "completed"
    assert by_key["upload:records.jsonl#r1"].status == "completed"

    def failed(prefix):  # the loaders may fail a record themselves or the dashboard the rest of the file
        [doc] = [d for k, d in by_key.items() if k.startswith(prefix)]
        assert doc.status == "failed"
        return doc.error

    assert "language" in failed("upload:records.jsonl#r2") and "5" in failed("upload:records.jsonl#r2")
    assert "nested too deeply" in failed("upload:deep.jsonl")
    assert "invalid UTF-8" in failed("upload:cp1252.jsonl")
    answer = svc.ask(
        svc.user_for("hank"), QueryRequest(question="When does the pharmacy open?", tenant="harbor-health")
    )
    assert "seven" in answer.answer


def test_upload_over_the_limit_is_refused_with_the_limit(svc):
    from ragbench.errors import DatasetError

    with pytest.raises(DatasetError, match=r"big.txt 20.0 MiB.*over the 20 MiB limit per upload"):
        svc.jobs.submit_files("harbor-health", [("big.txt", b"x" * (20 * 2**20 + 1))], user="hank")


def test_folder_job(svc, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Acme's rooftop garden grows basil and mint for the canteen.")
    (folder / "empty.txt").write_text("   ")
    sub = svc.jobs.submit_folder("acme-robotics", folder, user="root")
    job = _wait(svc.jobs, sub.ticket)
    assert (job.completed, job.failed) == (1, 1) and job.settings["path"] == str(folder.resolve())
    with pytest.raises(Exception, match="does not exist"):
        svc.jobs.submit_folder("acme-robotics", tmp_path / "missing", user="root")


def test_health_probes(svc):
    from ragbench.dashboard.health import probe_all, probe_llm, tenant_counts

    by_name = {h.service: h for h in probe_all(svc.parts)}
    assert by_name["LanceDB"].ok is True and "tenants" in by_name["LanceDB"].detail
    assert by_name["MLflow"].ok is True and "mlflow.db" in by_name["MLflow"].detail
    assert by_name["LLM endpoint"].ok is None  # the extractive generator needs none
    assert by_name["GPU"].ok in (None, True)

    from ragbench.generators import OpenAIGenerator

    down = probe_llm(OpenAIGenerator("http://127.0.0.1:9/v1", model="x"), timeout=0.5)  # discard port: nothing listens
    assert down.ok is False and down.label == "DOWN"
    assert "127.0.0.1:9/v1: down" in down.detail and "circuit breaker closed" in down.detail
    counts = {r["tenant"]: r for r in tenant_counts(svc.parts.store, ["acme-robotics"])}
    assert counts["acme-robotics"]["documents"] >= 35 and counts["acme-robotics"]["chunks"] >= 35


def test_experiments_runs_and_comparison(svc):
    from ragbench.dashboard.experiments import compare_runs, quality_latency_points, recent_runs

    rows = recent_runs(svc.parts.tracker)
    names = [r["name"] for r in rows]
    assert names[:2] == ["demo-bm25", "demo-hybrid"]  # newest first
    hybrid, bm25 = rows[1], rows[0]
    assert 0 < hybrid["ndcg@10"] <= 1 and hybrid["p50_ms"] > 0
    cmp = {r["metric"]: r for r in compare_runs(svc.parts.tracker, hybrid["run_id"], bm25["run_id"], n_resamples=500)}
    nd = cmp["ndcg@10"]
    assert nd["n_paired"] == 12
    assert nd["a"] == pytest.approx(hybrid["ndcg@10"]) and nd["b"] == pytest.approx(bm25["ndcg@10"])
    assert nd["diff"] == pytest.approx(nd["b"] - nd["a"])
    assert nd["a_lo"] <= nd["a"] <= nd["a_hi"] and nd["diff_lo"] <= nd["diff"] <= nd["diff_hi"]
    assert len(quality_latency_points(rows)) == len(rows)
    with pytest.raises(ConfigError, match="two different runs"):
        compare_runs(svc.parts.tracker, hybrid["run_id"], hybrid["run_id"])
