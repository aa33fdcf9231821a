"""ragas judge metrics scored by the real instruct model (SmolLM2-135M-Instruct on a vLLM server, JSON-schema
constrained): every item is scored in [0, 1] or counted as failed with its reason; failure rates are reported.

The answers come from the extractive generator and each question keeps k=3 chunks: the test is about the judge, and
context_precision makes one judge call per retrieved chunk (k=10 made it the slowest test of the suite)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JUDGED = ["faithfulness", "answer_relevancy", "context_precision", "context_recall", "answer_accuracy"]
N = 6


def test_ragas_metrics_on_the_real_judge_report_values_and_failure_rates(real_llm_server, tmp_path):
    from ragbench.config import build, compose
    from ragbench.evaluation.report import format_report
    from ragbench.evaluation.run import run_experiment

    parts = build(
        compose(
            [
                f"home={tmp_path}",
                "progress=false",
                "retriever=bm25",
                "generator=extractive",
                "k=3",
                f"max_queries={N}",
                "metrics=ragas",
                f"judge.base_url={real_llm_server.base_url}",
                "judge.model=smollm2-135m-instruct",
                "judge.max_tokens=256",
                "judge.max_string_chars=120",
                "judge.max_list_items=4",
                "judge.timeout_s=180",
                "max_failure_rate=1.0",
            ]
        )
    )
    result = run_experiment(parts)
    overall, results = result.report.overall, result.report.results
    rates = {}
    for name in JUDGED:
        valid = [r.metrics[name] for r in results if name in r.metrics]
        failed = [r.metric_errors[name] for r in results if name in r.metric_errors]
        assert len(valid) + len(failed) == N, name  # scored or counted as failed, never dropped
        assert all(0.0 <= v <= 1.0 for v in valid) and all(reason for reason in failed)
        assert overall[f"{name}.failed"] == len(failed) and overall[f"{name}.n"] == len(valid)
        rates[name] = overall[f"{name}.failure_rate"]
    print("\nreal-judge failure rates:", rates)
    print(format_report(result.report))
    assert overall["answer_accuracy.n"] > 0 and overall["answer_relevancy.n"] > 0  # the real judge does score
    assert parts.metrics.judge.calls > 0
