"""A run whose answers fail ends loudly: `ragbench run` against a real always-500 HTTP server on
127.0.0.1 (``FaultyLLMServer``) opens the circuit breaker after ``failure_threshold`` requests, fails
with a one-line error naming the rate, a reason and the fix, marks the MLflow (sqlite) run FAILED,
and still prints the report table with its answer failures."""

import os
import re
import subprocess
import sys

import pytest

from ragbench.errors import MetricFailureRateError
from ragbench.evaluation.evaluate import build_report
from ragbench.evaluation.report import format_report
from ragbench.evaluation.run import _check_failure_rates
from ragbench.types import Answer, QuestionResult, Sample
from tests.support.llm_faults import FaultyLLMServer

N = 12


def _result(i: int, tenant: str, error: str | None = None) -> QuestionResult:
    answer = Answer("", error=error) if error else Answer("Oslo", completion_tokens=2)
    r = QuestionResult(Sample(f"q{i}", "Where?", tenant, answers=("Oslo",)), [], answer, timings_ms={"total_ms": 1.0})
    if not error:
        r.metrics["f1"] = 1.0
    return r


def test_failure_rate_check_counts_failed_answers_with_an_example_reason():
    results = [_result(i, "acme", error="TransientError: HTTP 500" if i < 2 else None) for i in range(10)]
    report = build_report(results, ["f1"])
    assert report.overall["answers.failed"] == 2 and report.overall["answers.failure_rate"] == pytest.approx(0.2)
    _check_failure_rates(report, 0.2)  # at the limit: allowed
    with pytest.raises(MetricFailureRateError) as info:
        _check_failure_rates(report, 0.05)
    message = str(info.value)
    assert "allowed: 5.0%" in message and "answers: 20.0% failed (2 of 10" in message
    assert "'TransientError: HTTP 500'" in message and "max_failure_rate" in message and "generator" in message
    assert info.value.report is report  # so the CLI can still print the table


def test_report_table_has_an_answer_failures_column():
    results = [
        _result(i, "acme" if i < 6 else "globex", error="IncompleteResponseError: cut" if i in (1, 7, 8) else None)
        for i in range(10)
    ]
    table = format_report(build_report(results, ["f1"])).splitlines()
    cells = lambda line: re.split(r"\s{2,}", line.strip())  # columns are separated by two or more spaces
    header = cells(table[0])
    col = header.index("failed_answers")
    rows = {cells(line)[0]: cells(line) for line in table[2:]}
    assert (rows["acme"][col], rows["globex"][col], rows["ALL"][col]) == ("1", "2", "3")


@pytest.mark.integration
def test_run_against_an_always_500_server_opens_the_breaker_and_fails_loudly(tmp_path):
    home = tmp_path / "home"
    with FaultyLLMServer("http500") as fake:
        cmd = [
            sys.executable,
            "-m",
            "ragbench.cli",
            "run",
            "generator=openai",
            f"generator.base_url={fake.base_url}",
            "generator.model=null",
            "generator.backoff_s=0.01",
            "retriever=bm25",
            f"max_queries={N}",
            f"home={home}",
            "progress=false",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=400, env=dict(os.environ))
        posts = fake.posts
    print(
        f"\nalways-500 run: rc {proc.returncode}, {posts} chat requests for {N} questions; stderr: {proc.stderr.strip()}"
    )
    # 5 failures open the breaker (3 attempts of question 1, 2 of question 2); the other questions fail fast
    assert posts == 5
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("error: Too many items failed (allowed: 5.0%): answers: 100.0% failed")
    assert "HTTP 500" in error and "max_failure_rate" in error
    header = next(re.split(r"\s{2,}", line.strip()) for line in proc.stdout.splitlines() if "failed_answers" in line)
    all_row = next(re.split(r"\s{2,}", line.strip()) for line in proc.stdout.splitlines() if line.startswith("ALL"))
    assert all_row[header.index("failed_answers")] == str(N)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    [run] = client.search_runs([client.get_experiment_by_name("ragbench").experiment_id])
    assert run.info.status == "FAILED"
    assert run.data.metrics["counts/failed"] == N and run.data.metrics["counts/questions"] == N
