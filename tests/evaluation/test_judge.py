"""ragas LLM-judge metrics end to end against a real vLLM CPU server on the tiny Qwen2 (meaningless but
JSON-constrained output): every item is either scored in [0, 1] or counted as failed with its reason;
re-runs hit the cache; a killed server and a garbage-speaking server give failures, never averaged."""

import json
import math
import os
import signal

import pytest

from ragbench.config import build, compose
from ragbench.errors import MetricFailureRateError
from ragbench.evaluation.evaluate import aggregate
from ragbench.evaluation.run import run_experiment
from ragbench.judge import Judge
from ragbench.metrics import MetricSuite
from tests.conftest import require_shared
from tests.support.judge import FakeGarbageLLMServer, tiny_qwen2_long_context

pytestmark = [pytest.mark.slow, pytest.mark.integration]

JUDGED = ["faithfulness", "answer_relevancy", "context_precision", "context_recall"]
N = 3


@pytest.fixture(scope="module")
def judge_server(tmp_path_factory):
    from ragbench.serving import VLLMServer

    model = tiny_qwen2_long_context(tmp_path_factory.mktemp("judge") / "tiny-judge")
    server = VLLMServer(
        model,
        served_model_name="tiny-judge",
        max_model_len=4096,
        max_restarts=0,
        watch=False,
        env={"VLLM_ENABLE_V1_MULTIPROCESSING": "0"},
        extra_args=["--structured-outputs-config", json.dumps({"backend": "xgrammar", "disable_any_whitespace": True})],
    )
    with server:
        yield server


def _overrides(home, server, *extra):
    return [
        f"home={home}",
        "progress=false",
        "generator=extractive",
        "dataset=hotpotqa",
        "retriever=bm25",
        f"max_queries={N}",
        "k=3",
        "metrics=ragas",
        f"judge.base_url={server.base_url}",
        "judge.max_tokens=160",
        "judge.max_string_chars=40",
        "judge.max_list_items=3",
        "judge.timeout_s=120",
        *extra,
    ]


@pytest.fixture(scope="module")
def judged_run(judge_server, tmp_path_factory):
    require_shared("hotpotqa_sample100")
    home = tmp_path_factory.mktemp("judged")
    parts = build(compose(_overrides(home, judge_server, "max_failure_rate=1.0")))
    return home, parts, run_experiment(parts)


def test_ragas_metrics_end_to_end(judged_run):
    _, parts, result = judged_run
    overall, results = result.report.overall, result.report.results
    assert parts.metrics.judge.calls > 0
    for name in JUDGED:
        valid = [r.metrics[name] for r in results if name in r.metrics]
        failed = [r.metric_errors[name] for r in results if name in r.metric_errors]
        assert len(valid) + len(failed) == N, name  # every item scored or counted as failed
        assert overall[f"{name}.n"] == len(valid) and overall[f"{name}.failed"] == len(failed)
        assert overall[f"{name}.failure_rate"] == pytest.approx(len(failed) / N)
        assert all(0.0 <= v <= 1.0 for v in valid)
        assert all(reason.strip() for reason in failed)
        if valid:  # mean over valid items only, with a CI
            assert overall[name] == pytest.approx(sum(valid) / len(valid))
            assert f"{name}.ci_low" in overall
        else:
            assert name not in overall  # no NaN, no 0 standing in for failures
    assert sum(overall[f"{m}.n"] for m in JUDGED) > 0  # the constrained tiny model does produce scores
    rows = result.report.rows()
    assert any(row["metric_errors"] for row in rows)


def test_identical_rerun_is_served_from_the_cache(judged_run, judge_server):
    home, _, first = judged_run
    parts = build(compose(_overrides(home, judge_server, "max_failure_rate=1.0")))
    again = run_experiment(parts)
    assert parts.metrics.judge.calls == 0 and parts.metrics.judge.cache.hits > 0
    strip = lambda res: [(r.sample.id, r.metrics, r.metric_errors) for r in res.report.results]
    assert strip(again) == strip(first)


def test_run_fails_loudly_above_the_failure_rate(judged_run, judge_server):
    home, _, first = judged_run
    assert max(first.report.failure_rates().values()) > 0.05  # the tiny judge fails on some items
    with pytest.raises(MetricFailureRateError, match=r"allowed: 5\.0%.*failed \(e\.g\."):
        run_experiment(build(compose(_overrides(home, judge_server))))


def _scored(results, judge):
    suite = MetricSuite(JUDGED, judge=judge, judge_embedder=None)
    out = []
    for r in results:
        import copy

        r = copy.copy(r)
        r.metrics, r.metric_errors = suite.score_with_errors(r.sample, r)
        out.append(r)
    return out


@pytest.mark.parametrize("mode", ["text", "body", "wrong_json"])
def test_garbage_server_failures_are_counted_not_averaged(judged_run, mode):
    results = judged_run[2].report.results
    with FakeGarbageLLMServer(mode) as fake:
        scored = _scored(results, Judge(fake.base_url, timeout_s=10))
        assert fake.requests >= N
    overall = aggregate(scored, JUDGED)
    for name in ("faithfulness", "context_precision", "context_recall"):
        assert overall[f"{name}.n"] == 0 and overall[f"{name}.failed"] == N and overall[f"{name}.failure_rate"] == 1.0
        assert name not in overall
    reasons = {r.metric_errors["faithfulness"] for r in scored}
    expected = {"text": "unparsable judge output", "body": "invalid response", "wrong_json": "unparsable judge output"}[
        mode
    ]
    assert all(expected in reason for reason in reasons), reasons
    assert all("answer_relevancy needs an embedder" in r.metric_errors["answer_relevancy"] for r in scored)


def test_killed_server_failures_are_counted_not_averaged(judged_run, judge_server, tmp_path):
    results = judged_run[2].report.results
    judge = Judge(judge_server.base_url, max_tokens=160, max_string_chars=40, max_list_items=3, timeout_s=20)
    before = _scored(results[:1], judge)  # server alive
    os.killpg(os.getpgid(judge_server.pid), signal.SIGKILL)
    judge_server._proc.wait(30)
    after = _scored(results[1:], judge)
    scored = before + after
    assert all("connection failed" in r.metric_errors["context_precision"] for r in after)
    overall = aggregate(scored, ["context_precision"])
    assert overall["context_precision.failed"] == N - 1
    valid = [r.metrics["context_precision"] for r in before if "context_precision" in r.metrics]
    assert overall["context_precision.n"] == len(valid)
    if valid:
        assert overall["context_precision"] == pytest.approx(valid[0]) and not math.isnan(overall["context_precision"])
