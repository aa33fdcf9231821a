"""The query API over HTTP on 127.0.0.1: answers per tenant, streaming, keys and tenant scopes, hostile
input, OpenAPI. One real ``ragbench serve`` process (API keys, extractive generator) for the module."""

from __future__ import annotations

import json

import httpx
import pytest

from ragbench.schema import QueryResponse, json_schema
from tests.support.service import call, sse_events

pytestmark = [pytest.mark.integration]

VACATION = "How many vacation days do employees get?"


def ask(api, key, tenant="acme-robotics", question=VACATION, headers=None, **extra):
    return call(
        api, "POST", "/v1/query", key=key, json={"tenant": tenant, "question": question, **extra}, headers=headers or {}
    )


@pytest.mark.parametrize(
    ("tenant", "question", "prefix", "expect"),
    [
        ("acme-robotics", VACATION, "acme-", "25 days"),
        ("harbor-health", "When does the main clinic open on Saturdays?", "harbor-", None),
    ],
)
def test_query_answers_each_tenant_from_its_own_documents(api, keys, tenant, question, prefix, expect):
    key = keys["acme" if tenant == "acme-robotics" else "harbor"]
    resp = ask(api, key, tenant, question, k=4, headers={"X-Request-ID": f"test-{tenant}"})
    assert resp.status_code == 200, resp.text
    body = QueryResponse.model_validate(resp.json())
    assert resp.headers["x-request-id"] == f"test-{tenant}"
    assert body.tenant == tenant and body.answer and body.error is None
    assert len(body.sources) == 4 and all(s.doc_id.startswith(prefix) for s in body.sources)
    assert any(s.cited for s in body.sources)
    assert body.timings.total_ms >= body.timings.retrieve_ms > 0 and body.detected_language == "en"
    if expect:
        assert expect in body.answer and body.sources[0].doc_id == "acme-001"


def test_stream_sends_sources_then_tokens_then_the_same_answer(api, keys):
    with (
        httpx.Client(base_url=api, timeout=120) as client,
        client.stream(
            "POST",
            "/v1/query/stream",
            headers={"Authorization": f"Bearer {keys['acme']}"},
            json={"tenant": "acme-robotics", "question": VACATION, "k": 3},
        ) as resp,
    ):
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        events = list(sse_events(resp.iter_lines()))
    names = [name for name, _ in events]
    assert names[0] == "sources" and names[-1] == "answer" and "token" in names, names
    assert [s["doc_id"] for s in events[0][1]["sources"]][0] == "acme-001"
    final = QueryResponse.model_validate(events[-1][1])
    assert "".join(d["text"] for n, d in events if n == "token") == final.answer
    assert [s.doc_id for s in final.sources] == [s["doc_id"] for s in events[0][1]["sources"]]
    assert final.answer == ask(api, keys["acme"], k=3).json()["answer"]  # same pipeline as /v1/query


def test_keys_are_scoped_to_their_tenants(api, keys):
    other = ask(api, keys["acme"], "harbor-health", "When does the clinic open?")
    assert other.status_code == 403 and "may not access tenant 'harbor-health'" in other.json()["error"]
    assert ask(api, keys["harbor"], "harbor-health", "When does the clinic open?").status_code == 200
    assert ask(api, keys["admin"], "harbor-health", "When does the clinic open?").status_code == 200
    listed = call(api, "GET", "/v1/tenants", key=keys["acme"]).json()
    assert listed["tenants"] == ["acme-robotics"] and listed["role"] == "user"
    assert call(api, "GET", "/v1/tenants", key=keys["admin"]).json()["tenants"] == [
        "acme-robotics",
        "harbor-health",
        "lastavica-logistika",
    ]
    docs = call(api, "GET", "/v1/tenants/harbor-health/documents", key=keys["acme"])
    assert docs.status_code == 403


def test_missing_unknown_and_revoked_keys_get_the_same_401(api, keys):
    store = keys["store"]
    key, record = store.create("short-lived", tenants=["acme-robotics"])
    assert ask(api, key).status_code == 200
    assert store.revoke(record.key_id)
    answers = [
        ask(api, key),
        ask(api, None),
        ask(api, "rbk_000000000000_" + "x" * 43),
        ask(api, "garbage"),
        ask(api, key[:-1] + ("a" if key[-1] != "a" else "b")),
        call(api, "POST", "/v1/query", headers={"X-API-Key": key}, json={"tenant": "acme-robotics", "question": "q"}),
    ]
    assert {r.status_code for r in answers} == {401}
    assert len({r.json()["error"] for r in answers}) == 1  # nothing says whether a key exists
    assert answers[0].headers["www-authenticate"] == "Bearer"
    assert call(api, "GET", "/v1/jobs/0123456789ab", key=key).status_code == 401


@pytest.mark.parametrize("tenant", ["../etc", "ACME", "a__b", "acme' OR '1'='1", "x" * 64, "", "acme\x00", "ácme", 5])
def test_hostile_tenant_ids_are_refused_in_the_body(api, keys, tenant):
    resp = ask(api, keys["admin"], tenant)
    assert resp.status_code == 422 and "tenant" in resp.json()["error"], resp.text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/tenants/ACME/documents",
        "/v1/tenants/a__b/documents",
        "/v1/tenants/acme'%20OR%201=1/documents",
        "/v1/tenants/%2E%2E/documents",
    ],
)
def test_hostile_tenant_ids_are_refused_in_the_path(api, keys, path):
    resp = call(api, "GET", path, key=keys["admin"])
    assert resp.status_code in (404, 422), resp.text
    assert "Invalid tenant id" in resp.json()["error"] or resp.status_code == 404


@pytest.mark.parametrize(
    "filters",
    [
        {"tenant": "harbor-health"},  # not a filter column: tenants are never filtered, only scoped
        {"doc_id = 'x' OR 1=1 --": "y"},  # SQL as a column name
        {"language": {"$ne": "hr"}},  # operators are not a thing
        {"doc_id": []},  # empty IN
        {"doc_id": ["a"] * 101},  # too many values
        {"title": "x" * 1001},  # too long
    ],
)
def test_hostile_filters_are_refused(api, keys, filters):
    resp = ask(api, keys["acme"], filters=filters)
    assert resp.status_code == 422 and "filters" in resp.json()["error"], resp.text


def test_filters_narrow_the_sources_and_are_bound_as_literals(api, keys):
    only = ask(api, keys["acme"], k=5, filters={"doc_id": ["acme-003", "acme-004"]}).json()
    assert {s["doc_id"] for s in only["sources"]} == {"acme-003", "acme-004"}
    injected = ask(api, keys["acme"], k=5, filters={"doc_id": "x' OR '1'='1"})
    assert injected.status_code == 200 and injected.json()["sources"] == []  # a literal that matches nothing
    english = ask(
        api,
        keys["admin"],
        "lastavica-logistika",
        "Koliko se često moraju mijenjati lozinke?",
        filters={"language": "en"},
    ).json()
    assert english["sources"] == []  # the Croatian tenant's documents are all Croatian


def test_history_turns_a_follow_up_into_the_previous_question(api, keys):
    plain = ask(api, keys["acme"], question="And for part-time staff?", k=1).json()
    follow = ask(
        api,
        keys["acme"],
        question="And for part-time staff?",
        k=1,
        history=[{"role": "user", "content": VACATION}, {"role": "assistant", "content": "25 days."}],
    ).json()
    assert follow["sources"][0]["doc_id"] == "acme-001" != plain["sources"][0]["doc_id"]
    assert follow["question"] == "And for part-time staff?"


def test_bad_bodies_get_reasons(api, keys):
    not_json = call(
        api, "POST", "/v1/query", key=keys["acme"], content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 422 and "JSON" in not_json.json()["error"]
    form = call(
        api,
        "POST",
        "/v1/query",
        key=keys["acme"],
        content=b"tenant=acme-robotics&question=q",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 422  # a cross-site form cannot post a query
    big = call(
        api,
        "POST",
        "/v1/query",
        key=keys["acme"],
        content=b'{"question": "' + b"x" * 2**20 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert big.status_code == 413 and "1048576-byte limit" in big.json()["error"]
    long_history = ask(api, keys["acme"], history=[{"role": "user", "content": "y"}] * 21)
    assert long_history.status_code == 422 and "history" in long_history.json()["error"]
    extra = ask(api, keys["acme"], preset="hybrid")
    assert extra.status_code == 422 and "preset" in extra.json()["error"]
    no_docs = ask(api, keys["admin"], "nobody-here")
    assert no_docs.status_code == 404 and "no documents" in no_docs.json()["error"]


def test_openapi_is_built_from_the_models_ragbench_schema_prints(api):
    doc = call(api, "GET", "/openapi.json").json()
    assert {
        "/v1/query",
        "/v1/query/stream",
        "/v1/tenants/{tenant}/ingest",
        "/v1/jobs/{job_id}",
        "/healthz",
        "/readyz",
    } <= set(doc["paths"])
    components = doc["components"]["schemas"]
    cli = json.loads(json.dumps(json_schema()["$defs"]).replace("#/$defs/", "#/components/schemas/"))
    for name in ("QueryRequest", "QueryResponse", "ChatTurn", "Source", "StageTimings"):
        assert components[name] == cli[name], name
    query = doc["paths"]["/v1/query"]["post"]
    assert query["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/QueryRequest"
    }
    assert query["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/QueryResponse")
    assert {"401", "403", "404", "422", "429", "502", "503"} <= set(query["responses"])
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_health_routes_need_no_key(api):
    assert call(api, "GET", "/healthz").json() == {"status": "ok"}
    ready = call(api, "GET", "/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    checks = {c["service"]: c["ok"] for c in ready.json()["checks"]}
    assert checks == {"LanceDB": True, "LLM endpoint": None, "MLflow": True, "rate limits": True}
