"""The query API on the real model: SmolLM2-135M-Instruct behind a real vLLM server (session fixture
``real_llm_server``), reached through a TCP proxy that can be cut (the fault: the endpoint dies)."""

from __future__ import annotations

import time

import httpx
import pytest

from ragbench.generators._citations import strip_citations
from ragbench.schema import QueryResponse
from tests.support.net import TcpProxy
from tests.support.service import call, served_api, sse_events

pytestmark = [pytest.mark.integration, pytest.mark.slow]

QUESTION = {"tenant": "acme-robotics", "question": "How many vacation days do employees get?", "k": 3}


@pytest.fixture(scope="module")
def llm_api(service_home, keys, real_llm_server):
    proxy = TcpProxy("127.0.0.1", real_llm_server.port)
    overrides = (
        "generator=openai",
        f"generator.base_url={proxy.base_url}",
        "generator.max_tokens=48",
        "generator.retries=0",
        "generator.timeout_s=120",
    )
    with (
        proxy,
        served_api(
            service_home, ["--trace-sample", "1"], overrides=overrides, log=service_home.parent / "api-llm.log"
        ) as url,
    ):
        yield url, proxy


def _trace(service_home, request_id, timeout=300):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{service_home / 'mlflow.db'}")
    exp = client.get_experiment_by_name("ragbench")
    deadline = time.time() + timeout
    while time.time() < deadline:  # the server exports traces asynchronously
        found = client.search_traces(locations=[exp.experiment_id], filter_string=f"tags.request_id = '{request_id}'")
        if found and len(found[0].data.spans) >= 3:
            return found[0]
        time.sleep(1)
    raise AssertionError(f"no trace for request {request_id}")


def test_stream_sends_the_real_models_tokens_as_they_come(llm_api, keys, service_home):
    url, _ = llm_api
    with (
        httpx.Client(base_url=url, timeout=180) as client,
        client.stream(
            "POST",
            "/v1/query/stream",
            json=QUESTION,
            headers={"Authorization": f"Bearer {keys['acme']}", "X-Request-ID": "llm-stream-1"},
        ) as resp,
    ):
        assert resp.status_code == 200
        events = list(sse_events(resp.iter_lines()))
    names = [n for n, _ in events]
    tokens = [d["text"] for n, d in events if n == "token"]
    assert names[0] == "sources" and names[-1] == "answer" and len(tokens) >= 3, events[-1]
    final = QueryResponse.model_validate(events[-1][1])
    assert final.error is None and final.answer and strip_citations("".join(tokens)) == final.answer
    assert final.timings.generate_ms > 0 and [s.doc_id for s in final.sources][0] == "acme-001"
    trace = _trace(service_home, "llm-stream-1")
    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"query", "retrieve", "generate"} and trace.info.tags["tenant"] == "acme-robotics"
    generate = spans["generate"].attributes
    assert generate["mlflow.llm.model"] == "smollm2-135m-instruct"
    usage = generate["mlflow.chat.tokenUsage"]
    assert usage["input_tokens"] > 50 and len(tokens) <= usage["output_tokens"] <= 48
    assert trace.info.token_usage["output_tokens"] == usage["output_tokens"]


def test_readyz_turns_unhealthy_when_the_llm_endpoint_dies_and_recovers(llm_api, keys):
    url, proxy = llm_api
    ready = call(url, "GET", "/readyz")
    assert ready.status_code == 200 and {c["service"]: c["ok"] for c in ready.json()["checks"]}["LLM endpoint"] is True
    proxy.cut()
    try:
        down = call(url, "GET", "/readyz")
        assert down.status_code == 503 and down.json()["status"] == "unavailable"
        llm = next(c for c in down.json()["checks"] if c["service"] == "LLM endpoint")
        assert llm["ok"] is False and "down" in llm["detail"] and "unreachable" in llm["detail"]
        failed = call(url, "POST", "/v1/query", key=keys["acme"], json=QUESTION)
        assert failed.status_code == 502 and "EndpointUnreachableError" in failed.json()["error"]
        assert failed.json()["answer"] == "" and failed.json()["sources"]  # a failure is never an answer
    finally:
        proxy.restore()
    deadline = time.time() + 30
    while (back := call(url, "GET", "/readyz")).status_code != 200 and time.time() < deadline:
        time.sleep(0.5)
    assert back.status_code == 200 and back.json()["status"] == "ready"
    answer = call(url, "POST", "/v1/query", key=keys["acme"], json=QUESTION)
    assert answer.status_code == 200 and answer.json()["answer"]


def test_a_trace_as_the_mlflow_ui_shows_it(llm_api, keys, service_home, browser):
    """Screenshot for review: the streamed real-model query's trace in `mlflow ui` (Chromium, Playwright)."""
    import os
    import signal
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    from tests.support.dashboard import free_port

    trace = _trace(service_home, "llm-stream-1") if _has(service_home, "llm-stream-1") else None
    if trace is None:  # this test alone: make the trace first
        test_stream_sends_the_real_models_tokens_as_they_come(llm_api, keys, service_home)
        trace = _trace(service_home, "llm-stream-1")
    port = free_port()
    ui = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "ui",
            "--backend-store-uri",
            f"sqlite:///{service_home / 'mlflow.db'}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},  # no job worker pool for a viewer
    )
    shots = (
        Path(os.environ.get("RAGBENCH_TEST_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts")
        / "screenshots"
    )
    shots.mkdir(parents=True, exist_ok=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                time.sleep(1)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        try:
            page.goto(
                f"http://127.0.0.1:{port}/#/experiments/{trace.info.experiment_id}/traces"
                f"?selectedEvaluationId={trace.info.trace_id}"
            )
            page.get_by_text("generate", exact=True).first.wait_for(timeout=300_000)
            page.get_by_text("generate", exact=True).first.click()
            page.get_by_text("Attributes", exact=True).first.click()
            page.mouse.move(5, 995)
            # the span header's model id (the same text also sits in hidden elements)
            page.locator("text=smollm2-135m-instruct >> visible=true").first.wait_for(timeout=300_000)
            text = page.inner_text("body")
            page.screenshot(path=str(shots / "mlflow-trace-smollm2.png"))
        finally:
            page.close()
        assert "retrieve" in text and "query" in text and f"{trace.info.token_usage['total_tokens']} tokens" in text
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(timeout=30)


def _has(service_home, request_id) -> bool:
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{service_home / 'mlflow.db'}")
    exp = client.get_experiment_by_name("ragbench")
    return bool(client.search_traces(locations=[exp.experiment_id], filter_string=f"tags.request_id = '{request_id}'"))
