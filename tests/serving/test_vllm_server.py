"""A real vLLM server on the tiny Qwen2: generation, streaming, JSON schema, tenant cache isolation,
and fault tests (unreachable endpoint, malformed JSON, rate limits, a server killed mid-run).

One session server (``vllm_server`` in tests/conftest.py) serves every test; the kill test runs
last in this module and waits until the supervisor has it back.
"""

import json
import os
import signal
import time

import httpx
import pytest

from ragbench.errors import ModelError
from ragbench.generators import OpenAIGenerator
from ragbench.resilience import check_endpoint
from ragbench.serving import VLLMServer, free_port
from ragbench.types import Hit, Query
from tests.support.net import FakeMalformedLLMServer, TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HITS = [
    Hit("c1", "leave", "acme", "Staff get 25 days of paid leave per year.", 1.0, rank=0, title="Leave policy"),
    Hit("c2", "office", "acme", "The office is in Oslo, near the harbour.", 0.5, rank=1, title="Office"),
]


def queries(n, tenant="acme"):
    return [Query(f"How many days of leave, case {i}?", tenant, id=f"q{i}") for i in range(n)]


def test_server_is_healthy_and_reports_status(vllm_server):
    status = vllm_server.status()
    assert status["state"] == "ready" and status["healthy"] and status["name"] == "tiny-qwen2"
    assert status["base_url"] == vllm_server.base_url and vllm_server.base_url.endswith("/v1")
    assert check_endpoint(vllm_server.base_url).status == "up"


def test_unknown_model_path_is_a_clear_error():
    with pytest.raises(ModelError, match="does not exist.*never downloads weights"):
        VLLMServer("/nonexistent/model").start()
    with pytest.raises(ModelError, match="does not exist"):
        OpenAIGenerator  # noqa: B018 - the server side is what checks paths
        from ragbench.generators import VLLMGenerator

        VLLMGenerator("/nonexistent/model")


def test_streamed_generation_has_tokens_timings_and_confidence(vllm_server):
    gen = OpenAIGenerator(vllm_server.base_url, max_tokens=12, concurrency=4)
    answers = gen.generate(queries(6), [HITS] * 6)
    assert gen.model == "tiny-qwen2" and gen.max_model_len == 1024  # asked from /v1/models
    assert all(a.ok for a in answers), [a.error for a in answers]
    for a in answers:
        assert a.completion_tokens == 12 and a.prompt_tokens > 50
        assert 0 < a.timings["ttft_ms"] <= a.timings["total_ms"]
        assert 0 < a.confidence <= 1
    # Greedy decoding: the same prompt gives the same answer, streamed or not.
    plain = OpenAIGenerator(vllm_server.base_url, max_tokens=12, stream=False).generate(queries(1), [HITS])[0]
    assert plain.ok and "ttft_ms" not in plain.timings
    assert (plain.text, plain.completion_tokens) == (answers[0].text, answers[0].completion_tokens)
    assert plain.confidence == pytest.approx(answers[0].confidence, rel=1e-3)


def test_json_schema_constrains_the_output(vllm_server):
    schema = {"type": "string", "enum": ["yes", "no", "unknown"]}
    gen = OpenAIGenerator(vllm_server.base_url, max_tokens=8, json_schema=schema)
    answers = gen.generate(queries(3), [HITS] * 3)
    assert all(a.ok for a in answers), [a.error for a in answers]
    assert all(json.loads(a.text) in schema["enum"] for a in answers), [a.text for a in answers]


def test_prompt_longer_than_context_is_fitted_or_refused(vllm_server):
    long_hits = [Hit(f"c{i}", f"d{i}", "acme", "harbour " * 60, 1.0 - i / 10, rank=i) for i in range(6)]
    gen = OpenAIGenerator(vllm_server.base_url, max_tokens=8)  # token estimate; the server has the last word
    fitted, refused, normal = gen.generate(
        [Query("Where?", "acme"), Query("why " * 1500, "acme"), Query("Leave?", "acme")], [long_hits, HITS, HITS]
    )
    assert fitted.ok and 200 < fitted.prompt_tokens <= 1024 - 8  # lowest-ranked sources dropped, some kept
    assert not refused.ok and "prompt too long" in refused.error and "only 1016 fit" in refused.error
    assert normal.ok  # the others go on


def test_cache_salt_isolates_tenants_prefix_cache(vllm_server):
    prompt = "Sources: " + "The harbour office opens at nine and closes at five. " * 12
    body = {"model": "tiny-qwen2", "messages": [{"role": "user", "content": prompt}], "max_tokens": 1}

    def cached(salt):
        r = httpx.post(f"{vllm_server.base_url}/chat/completions", json={**body, "cache_salt": salt}, timeout=30)
        r.raise_for_status()
        return (r.json()["usage"].get("prompt_tokens_details") or {}).get("cached_tokens") or 0

    from ragbench.generators._base import cache_salt

    acme, globex = cache_salt("acme"), cache_salt("globex")
    first, again, other = cached(acme), cached(acme), cached(globex)
    print(f"\ncached prompt tokens: acme first {first}, acme again {again}, globex same prompt {other}")
    assert first == 0 and again >= 64 and other == 0


@pytest.mark.parametrize("mode", ["body", "stream", "schema"])
def test_malformed_json_is_a_clear_per_item_error(mode):
    with FakeMalformedLLMServer(mode) as fake:
        gen = OpenAIGenerator(fake.base_url, stream=(mode == "stream"), retries=2, backoff_s=0.01)
        answers = gen.generate(queries(3), [HITS] * 3)
    assert len(answers) == 3 and all(not a.ok for a in answers)
    assert all(a.error.startswith("MalformedResponseError") for a in answers), answers[0].error
    assert fake.requests == 3  # malformed answers are not retried
    assert gen.guard.breaker.state == "closed"  # the endpoint is up; it does not trip the circuit


def test_unreachable_server_fails_each_item_with_reason():
    gen = OpenAIGenerator(f"http://127.0.0.1:{free_port()}/v1", backoff_s=0.01)
    answers = gen.generate(queries(4), [HITS] * 4)
    assert len(answers) == 4 and all("unreachable" in a.error and "ragbench serve-llm" in a.error for a in answers)


def test_circuit_opens_fails_fast_and_half_open_probe_recovers(vllm_server):
    with TcpProxy("127.0.0.1", vllm_server.port) as proxy:
        gen = OpenAIGenerator(
            proxy.base_url, max_tokens=4, concurrency=1, retries=0, failure_threshold=3, reset_timeout_s=2.0
        )
        assert all(a.ok for a in gen.generate(queries(2), [HITS] * 2))
        calls_up = gen.guard.breaker.snapshot()["calls"]
        proxy.cut()
        start = time.perf_counter()
        down = gen.generate(queries(8), [HITS] * 8)
        down_s = time.perf_counter() - start
        kinds = [a.error.split(":")[0] for a in down]
        assert kinds == ["EndpointUnreachableError"] * 3 + ["CircuitOpenError"] * 5
        fast = [a.timings["total_ms"] for a in down[3:]]  # printed, not asserted: a shared machine's clock
        stats = gen.guard.breaker.snapshot()
        # while down the breaker let exactly 3 calls reach the endpoint; the 5 refusals never called it
        assert gen.guard.breaker.state == "open" and stats["calls"] - calls_up == 3
        assert (stats["failures"], stats["rejected"], stats["opened"]) == (3, 5, 1)
        proxy.restore()
        time.sleep(2.1)
        assert gen.guard.breaker.state == "half_open"
        back = gen.generate(queries(3), [HITS] * 3)
        assert all(a.ok for a in back) and gen.guard.breaker.state == "closed"
    print(
        f"\ncircuit: 3 failures opened it; 5 calls refused in {max(fast):.2f} ms max each; "
        f"8 calls while down took {down_s:.2f} s; after 2 s the half-open probe succeeded and it closed; "
        f"stats {gen.guard.breaker.snapshot()}"
    )


def test_tenant_rate_limit_refuses_or_waits(vllm_server):
    refuse = OpenAIGenerator(vllm_server.base_url, max_tokens=2, rate_per_s=1, burst=2, rate_limit_mode="refuse")
    answers = refuse.generate(queries(6, "acme") + queries(2, "globex"), [HITS] * 8)
    acme, globex = answers[:6], answers[6:]
    assert sum(a.ok for a in acme) == 2 and all(a.ok for a in globex)
    assert all(a.error.startswith("RateLimitError: Tenant 'acme' exceeded") for a in acme if not a.ok)
    wait = OpenAIGenerator(vllm_server.base_url, max_tokens=2, rate_per_s=4, burst=2, rate_limit_mode="wait")
    start = time.perf_counter()
    waited = wait.generate(queries(6, "acme"), [HITS] * 6)
    elapsed = time.perf_counter() - start
    stats = wait.guard.limiter.stats["acme"]
    assert all(a.ok for a in waited) and stats["granted"] == 6 and stats["refused"] == 0
    assert stats["waited_s"] > 0  # callers beyond the burst of 2 waited for tokens (the limiter's account, no clock)
    print(
        f"\nrate limit: refuse mode 2/6 acme granted, 4 refused, globex 2/2; "
        f"wait mode 6 calls at 4/s burst 2 took {elapsed:.2f} s; stats {wait.guard.limiter.stats}"
    )


def test_ragbench_run_with_openai_server_logs_tokens_per_s_and_ttft_to_mlflow(vllm_server, tmp_path, capsys):
    from ragbench.cli import main

    home = tmp_path / "home"
    assert (
        main(
            [
                "run",
                "generator=openai",
                f"generator.base_url={vllm_server.base_url}",
                "generator.model=tiny-qwen2",
                "generator.max_tokens=16",
                "retriever=bm25",
                "max_queries=4",
                f"home={home}",
                "progress=false",
            ]
        )
        == 0
    )
    assert "MLflow run id" in capsys.readouterr().out
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
    run = mlflow.search_runs(experiment_names=["ragbench"]).iloc[0]
    with capsys.disabled():
        print(
            f"\nopenai run: tokens/s {run['metrics.generate/tokens_per_s']:.1f}, "
            f"TTFT p50 {run['metrics.latency/ttft/p50_ms']:.1f} ms, p95 {run['metrics.latency/ttft/p95_ms']:.1f} ms"
        )
    assert run["metrics.counts/questions"] == 4 and run["metrics.counts/failed"] == 0
    assert run["metrics.generate/tokens_per_s"] > 0
    assert 0 < run["metrics.latency/ttft/p50_ms"] <= run["metrics.latency/ttft/p95_ms"]


def test_zz_server_killed_mid_run_is_restarted_and_the_run_completes(vllm_server):
    """Runs last: SIGKILL the server between batches; the supervisor restarts it on the same port."""
    gen = OpenAIGenerator(
        vllm_server.base_url,
        max_tokens=4,
        retries=1,
        backoff_s=0.2,
        failure_threshold=3,
        reset_timeout_s=3.0,
        timeout_s=20,
    )
    old_pid, restarts = vllm_server.pid, vllm_server.restarts
    answers, killed_at, recovered_at = [], None, None
    deadline = time.monotonic() + 600
    batch = 0
    while time.monotonic() < deadline:
        out = gen.generate(queries(2), [HITS] * 2)
        answers += out
        batch += 1
        if batch == 2:
            os.kill(vllm_server.pid, signal.SIGKILL)
            killed_at = time.monotonic()
        if killed_at and all(a.ok for a in out) and batch > 2:
            recovered_at = time.monotonic()
            break
        time.sleep(0.5)
    failed = [a for a in answers if not a.ok]
    print(
        f"\nkill mid-run: {len(answers)} items, {len(failed)} failed while down "
        f"({sorted({a.error.split(':')[0] for a in failed})}), back after {recovered_at - killed_at:.1f} s, "
        f"restarts {vllm_server.restarts}, events {[e for _, e in vllm_server.events[-3:]]}"
    )
    assert recovered_at is not None, vllm_server.log_tail()
    assert vllm_server.restarts == restarts + 1 and vllm_server.pid != old_pid
    assert vllm_server.state == "ready" and vllm_server.healthy()
    assert failed and all(a.error for a in failed) and answers[-1].ok and answers[0].ok
