"""What an evaluation run leaves in MLflow, read back from its sqlite store: ``/``-grouped metric names with
the headline metrics first, the question table as input dataset, and the CI forest plot."""

import pytest

from ragbench.config import build
from ragbench.evaluation.run import run_experiment
from ragbench.tracking.metric_names import mlflow_key, mlflow_metrics

METRICS = ["ndcg@10", "recall@10", "f1"]


def test_report_fields_map_to_grouped_names():
    assert mlflow_key("ndcg@10") == "retrieval/ndcg_at_10"
    assert mlflow_key("ndcg@10.ci_low") == "retrieval/ndcg_at_10/ci_low"
    assert mlflow_key("f1.failure_rate") == "quality/f1/failure_rate"
    assert mlflow_key("faithfulness.judge_std") == "quality/faithfulness/judge_std"
    assert mlflow_key("latency.total_ms.p50") == "latency/p50_ms"
    assert mlflow_key("latency.retrieve_ms.p95") == "latency/retrieve/p95_ms"
    assert mlflow_key("questions") == "counts/questions" and mlflow_key("answers.failed") == "counts/failed"
    assert mlflow_key("generate.tokens_per_s") == "generate/tokens_per_s"
    assert mlflow_key("index.hotpotqa.ann_recall_at_10") == "index/hotpotqa/ann_recall_at_10"
    assert mlflow_key("f1", scope="tenant/acme-robotics") == "tenant/acme-robotics/f1"
    assert mlflow_key("recall@10.ci_high", scope="language/hr") == "language/hr/recall_at_10/ci_high"
    assert mlflow_key("latency.total_ms.p95", scope="tenant/a") == "tenant/a/latency/p95_ms"


def test_a_runs_other_figures_are_grouped_too():
    """Telemetry, a sweep parent's counts, DSPy's scores and a notebook stage's time (issue 17)."""
    assert mlflow_key("throughput.generate.output_tokens_per_s") == "throughput/generate/output_tokens_per_s"
    assert mlflow_key("gpu.0.utilization_pct.mean") == "gpu/0/utilization_pct/mean"
    assert mlflow_key("sweep.trials") == "sweep/trials" and mlflow_key("stage.seconds") == "stage/seconds"
    assert mlflow_key("dspy.before.f1") == "dspy/before/f1" and mlflow_key("dspy.paired_n") == "dspy/paired_n"


def test_grouped_sink_logs_telemetry_under_grouped_names():
    from ragbench.telemetry import JsonSink
    from ragbench.tracking.metric_names import GroupedSink

    class Recorder(JsonSink):
        def write(self) -> None:  # keep it in memory
            pass

    sink = Recorder("unused.json")
    grouped = GroupedSink(sink)
    grouped.log_metrics({"throughput.evaluate.questions_per_s": 2.5, "gpu.samples": 4.0})
    grouped.log_series({"gpu.0.utilization_pct": [(0, 1.0, 37.0)]})
    grouped.set_tags({"gpu.metrics": "on"})
    grouped.log_params({"gpu.count": "1"})
    assert sink.data["metrics"] == {"throughput/evaluate/questions_per_s": 2.5, "gpu/samples": 4.0}
    assert sink.data["series"] == {"gpu/0/utilization_pct": [[0, 1.0, 37.0]]}
    assert sink.data["tags"] == {"gpu.metrics": "on"} and sink.data["params"] == {"gpu.count": "1"}  # unchanged


def test_headline_metrics_come_first_and_nan_is_left_out():
    overall = {"questions": 4.0, "f1.n": 4.0, "latency.total_ms.p50": 3.0, "f1.ci_low": float("nan"), "f1": 0.5}
    out = mlflow_metrics(overall, metric_names=["f1"], scoped=[("tenant/a", {"f1": 0.25})])
    assert list(out) == ["quality/f1", "latency/p50_ms", "counts/questions", "quality/f1/n", "tenant/a/f1"]


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory):
    from ragbench.config import compose

    home = tmp_path_factory.mktemp("layout")
    cfg = compose(
        [f"home={home}", "progress=false", "generator=extractive", "retriever=bm25", "max_queries=12"]
        + [f"metrics.names=[{','.join(METRICS)}]"]
    )
    parts = build(cfg)
    result = run_experiment(parts)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(parts.tracker.tracking_uri)
    return client, client.get_run(result.run_id), result, parts


def test_run_metrics_are_grouped_with_headline_first(logged_run):
    client, run, result, _ = logged_run
    metrics = run.data.metrics
    overall = result.report.overall
    assert metrics["retrieval/ndcg_at_10"] == pytest.approx(overall["ndcg@10"])
    assert metrics["quality/f1/ci_high"] == pytest.approx(overall["f1.ci_high"])
    assert metrics["counts/questions"] == 12 and metrics["counts/failed"] == 0
    assert metrics["latency/p95_ms"] == pytest.approx(overall["latency.total_ms.p95"])
    tenant = next(iter(result.report.per_tenant))
    assert metrics[f"tenant/{tenant}/f1"] == pytest.approx(result.report.per_tenant[tenant]["f1"])
    assert not [k for k in metrics if k in ("questions", "ndcg_at_10", "f1") or k.startswith("tenant.")]
    headline = [f"{mlflow_key(m)}{s}" for m in METRICS for s in ("", "/ci_low", "/ci_high")]
    headline += ["latency/p50_ms", "latency/p95_ms", "counts/questions", "counts/failed"]
    assert list(metrics)[: len(headline)] == headline  # MLflow returns them in the order they were logged


def test_question_table_is_the_runs_input_dataset(logged_run):
    _, run, result, _ = logged_run
    [inp] = run.inputs.dataset_inputs
    assert inp.dataset.name == "demo" and len(inp.dataset.digest) >= 8
    assert {t.key: t.value for t in inp.tags}["mlflow.data.context"] == "evaluation"
    import json

    profile = json.loads(inp.dataset.profile)
    assert profile["num_rows"] == len(result.report.results) == 12
    assert "question" in inp.dataset.schema


def test_ci_forest_figure_is_logged(logged_run):
    client, run, _, _ = logged_run
    [png] = client.list_artifacts(run.info.run_id, "figures")
    assert png.path == "figures/ci_forest.png" and png.file_size > 1000


def test_runs_table_reads_the_grouped_names_back(logged_run):
    from ragbench.evaluation.views import runs_table

    _, run, result, parts = logged_run
    [row] = runs_table(parts.tracker, metrics=["ndcg@10", "f1", "latency.total_ms.p50"]).to_dict("records")
    overall = result.report.overall
    assert row["run_id"] == run.info.run_id and row["ndcg@10"] == pytest.approx(overall["ndcg@10"])
    assert row["f1"] == pytest.approx(overall["f1"])
    assert row["latency.total_ms.p50"] == pytest.approx(overall["latency.total_ms.p50"])


def test_comparison_metrics_are_grouped_and_its_delta_forest_is_drawn():
    import pandas as pd

    from ragbench.evaluation.compare import compare_tables
    from ragbench.plotting import describe

    ids = [f"q{i}" for i in range(8)]
    a = pd.DataFrame({"question_id": ids, "metric.ndcg@10": [0.0, 1.0] * 4, "metric.f1": [0.5] * 8})
    b = pd.DataFrame({"question_id": ids, "metric.ndcg@10": [1.0] * 8, "metric.f1": [0.5] * 8})
    comparison = compare_tables("run-a", a, "run-b", b)
    flat = comparison.flat_metrics()
    assert flat["retrieval/ndcg_at_10/delta"] == pytest.approx(0.5) and flat["quality/f1/delta"] == 0.0
    assert list(flat)[:4] == [f"retrieval/ndcg_at_10/{k}" for k in ("delta", "low", "high", "p_value")]
    assert flat["counts/shared_questions"] == 8
    [ax] = describe(comparison.figure())["axes"]
    assert ax["xlabel"] == "delta (B - A) with 95% paired CI" and ax["annotations"][1].startswith("0.500 [")
