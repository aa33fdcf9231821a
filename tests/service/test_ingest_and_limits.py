"""Ingestion jobs through the API, polled to completion; per-tenant rate limits (429 with Retry-After, then
recovery), counted in one place by two server processes on the same home."""

from __future__ import annotations

import base64
import time

import pytest

from tests.support.service import call, served_api

pytestmark = [pytest.mark.integration]

DOCS = [
    {
        "id": "p1",
        "title": "Drone Pilot Licence",
        "text": "Every field engineer at Quota Co must hold a drone pilot "
        "licence of class B2, renewed every 24 months at the Wexham flight school.",
    },
    {
        "id": "p2",
        "title": "Coffee Machine",
        "text": "The coffee machine on floor 3 is descaled every Friday by the facilities team.",
    },
]


def poll(api, key, job_id, *, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        view = call(api, "GET", f"/v1/jobs/{job_id}", key=key)
        assert view.status_code == 200, view.text
        if view.json()["state"] in ("finished", "error"):
            return view.json()
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {view.json()}")


@pytest.fixture(scope="module")
def quota_key(keys):
    return keys["store"].create("quota-app", tenants=["quota-co"])[0]


@pytest.fixture(scope="module")
def ingested(api, quota_key):
    """quota-co's documents, ingested through the API (a JSONL file with a bad record, and a text file)."""
    bad_jsonl = b'{"id": "ok", "text": "Badges are renewed yearly."}\n{"id": "bad", "text": 5}\n'
    resp = call(
        api,
        "POST",
        "/v1/tenants/quota-co/ingest",
        key=quota_key,
        json={
            "documents": DOCS,
            "files": [
                {"name": "badges.jsonl", "content_base64": base64.b64encode(bad_jsonl).decode()},
                {"name": "parking.txt", "content_base64": base64.b64encode(b"Visitors park in lot C.").decode()},
            ],
        },
    )
    assert resp.status_code == 202, resp.text
    accepted = resp.json()
    assert accepted["tenant"] == "quota-co" and accepted["poll"] == f"/v1/jobs/{accepted['job_id']}"
    return accepted["job_id"], poll(api, quota_key, accepted["job_id"])


def test_an_ingest_job_is_polled_to_completion_with_per_document_outcomes(api, keys, quota_key, ingested):
    job_id, view = ingested
    assert view["state"] == "finished" and view["tenant"] == "quota-co"
    job = view["job"]
    assert job["status"] == "completed" and job["progress"] == 1.0
    outcomes = {d["key"].split(":", 1)[1]: (d["status"], d["error"]) for d in job["documents"]}
    assert outcomes["api-documents.jsonl#p1"][0] == outcomes["api-documents.jsonl#p2"][0] == "completed"
    assert outcomes["badges.jsonl#ok"][0] == outcomes["parking.txt"][0] == "completed"
    assert outcomes["badges.jsonl#bad"][0] == "failed" and "'text'" in outcomes["badges.jsonl#bad"][1]
    assert (job["completed"], job["failed"]) == (4, 1)
    listed = call(api, "GET", "/v1/tenants/quota-co/documents", key=quota_key).json()
    assert listed["total"] == 5 and {d["status"] for d in listed["documents"]} == {"completed", "failed"}
    answer = call(
        api,
        "POST",
        "/v1/query",
        key=quota_key,
        json={"tenant": "quota-co", "question": "Which drone licence must field engineers hold?", "k": 2},
    ).json()
    assert "class B2" in answer["answer"] and answer["sources"][0]["title"] == "Drone Pilot Licence"
    # another tenant's key cannot see that the job exists
    hidden = call(api, "GET", f"/v1/jobs/{job_id}", key=keys["acme"])
    unknown = call(api, "GET", "/v1/jobs/0123456789ab", key=keys["acme"])
    assert hidden.status_code == unknown.status_code == 404
    assert call(api, "GET", f"/v1/jobs/{job_id}", key=keys["admin"]).status_code == 200


def test_bad_ingest_requests_are_refused_with_reasons(api, quota_key, keys):
    empty = call(api, "POST", "/v1/tenants/quota-co/ingest", key=quota_key, json={})
    assert empty.status_code == 400 and "Nothing to ingest" in empty.json()["error"]
    bad64 = call(
        api,
        "POST",
        "/v1/tenants/quota-co/ingest",
        key=quota_key,
        json={"files": [{"name": "a.txt", "content_base64": "not base64!"}]},
    )
    assert bad64.status_code == 400 and "base64" in bad64.json()["error"]
    other = call(api, "POST", "/v1/tenants/acme-robotics/ingest", key=quota_key, json={"documents": DOCS})
    assert other.status_code == 403


def _set_limits(service_home, tenant, **settings):
    from ragbench.config import compose, instantiate
    from ragbench.ingestion.tenants import update_settings

    store = instantiate(compose([f"home={service_home}", "retriever=bm25"]).store)
    update_settings(store, tenant, **settings)


def _ask(url, key, question="Which drone licence must field engineers hold?"):
    return call(url, "POST", "/v1/query", key=key, json={"tenant": "quota-co", "question": question, "k": 2})


def test_requests_over_the_tenant_limit_get_429_then_recover(api, service_home, quota_key, keys, ingested):
    # a second server process on the same home: the limit is counted once for both
    with served_api(service_home, log=service_home.parent / "api-2.log") as second:  # warmed: models loaded
        _set_limits(service_home, "quota-co", api_requests_limit="3/10 seconds", api_tokens_limit=None)
        try:
            first = [_ask(url, quota_key).status_code for url in (api, second, api)]
            refused = _ask(second, quota_key)
            assert first == [200, 200, 200] and refused.status_code == 429, (first, refused.text)
            wait = int(refused.headers["retry-after"])
            assert 1 <= wait <= 10 and "3 requests per 10 second" in refused.json()["error"]
            assert _ask(api, quota_key).status_code == 429
            other = call(api, "POST", "/v1/query", key=keys["acme"], json={"tenant": "acme-robotics", "question": "q"})
            assert other.status_code == 200  # limits are per tenant
            time.sleep(wait + 0.5)
            assert _ask(second, quota_key).status_code == 200
        finally:
            _set_limits(service_home, "quota-co", api_requests_limit=None)


def test_generated_tokens_over_the_tenant_limit_get_429_then_recover(api, service_home, quota_key, ingested):
    _set_limits(service_home, "quota-co", api_tokens_limit="15/6 seconds")
    try:
        answer = _ask(api, quota_key)
        assert answer.status_code == 200 and len(answer.json()["answer"].split()) >= 15  # extractive: 1 token a word
        refused = _ask(api, quota_key)
        assert refused.status_code == 429 and "generated tokens" in refused.json()["error"]
        time.sleep(int(refused.headers["retry-after"]) + 0.5)
        assert _ask(api, quota_key).status_code == 200
    finally:
        _set_limits(service_home, "quota-co", api_tokens_limit=None)
