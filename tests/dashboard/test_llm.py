"""An LLM preset in the dashboard service, against the session's real vLLM server (tiny Qwen2),
and the Monitor's LLM health with circuit-breaker state, up and down."""

from __future__ import annotations

import pytest

from ragbench.schema import QueryRequest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def llm_svc(dashboard_home, vllm_server, tiny_qwen2):
    from ragbench.dashboard.service import DashboardService

    presets = {
        "llm": [
            "generator=openai",
            f"generator.base_url={vllm_server.base_url}",
            "generator.model=tiny-qwen2",
            "generator.max_tokens=8",
            f"generator.tokenizer={tiny_qwen2}",
        ],
        "dead-llm": [
            "generator=openai",
            "generator.base_url=http://127.0.0.1:9/v1",
            "generator.model=x",
            "generator.retries=0",
            "generator.failure_threshold=1",
            "generator.connect_timeout_s=1",
        ],
    }
    service = DashboardService.from_overrides([f"home={dashboard_home}", "generator=extractive"], presets=presets)
    yield service
    service.close()


def test_llm_preset_answers_and_reports_healthy_endpoint(llm_svc, vllm_server):
    from ragbench.dashboard.health import probe_all

    admin = llm_svc.user_for(None)  # open mode: the local admin
    request = QueryRequest(question="Who founded the company?", tenant="acme-robotics", k=2)  # fits 512 tokens
    response = llm_svc.ask(admin, request, preset="llm")
    assert response.error is None  # the random tiny model's text is junk (often empty), but the call succeeded
    assert all(s.doc_id.startswith("acme-") for s in response.sources)
    assert response.timings.generate_ms > 0
    rows = [h for h in probe_all(llm_svc.parts, generators=llm_svc.generators()) if h.service == "LLM endpoint"]
    served = [h for h in rows if vllm_server.base_url in h.detail]
    assert len(served) == 1 and served[0].ok is True and "circuit breaker closed" in served[0].detail


def test_dead_endpoint_fails_the_answer_and_opens_the_circuit(llm_svc):
    from ragbench.dashboard.health import probe_llm

    admin = llm_svc.user_for(None)
    response = llm_svc.ask(
        admin, QueryRequest(question="Who founded the company?", tenant="acme-robotics"), preset="dead-llm"
    )
    assert response.error and response.answer == ""
    assert response.sources  # retrieval still worked; only generation failed
    dead = llm_svc.pipeline("dead-llm").generator
    health = probe_llm(dead, timeout=0.5)
    assert health.ok is False and "circuit breaker open" in health.detail and "127.0.0.1:9" in health.detail


def test_llm_answer_streams_token_events(llm_svc):
    """The Ask tab's event stream: retrieval first, then growing text as tokens arrive, then the answer."""
    admin = llm_svc.user_for(None)
    request = QueryRequest(question="Who founded the company?", tenant="acme-robotics", k=2)
    events = list(llm_svc.ask_steps(admin, request, preset="llm"))
    kinds = [e.stage for e in events]
    assert kinds[0] == "retrieved" and kinds[-1] == "answered"
    tokens = [e for e in events if e.stage == "token"]
    assert tokens, kinds  # the openai generator streams: at least one partial answer was shown
    texts = [e.text for e in tokens]
    assert all(later.startswith(earlier) for earlier, later in zip(texts, texts[1:]))  # text only grows
    assert events[-1].response.error is None
