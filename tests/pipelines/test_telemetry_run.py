"""A real run on this CPU machine: it says GPU metrics are off (stderr, MLflow tag and param) and logs
per-stage throughput to MLflow (``throughput/<stage>/<unit>``, metric_names.mlflow_key) and to
telemetry.json (the telemetry's own dotted names)."""

import json

import pytest

from ragbench.config import build
from ragbench.evaluation.run import run_experiment
from ragbench.tracking.metric_names import mlflow_key


def test_cpu_run_says_gpu_metrics_are_off_and_logs_throughput(compose_cfg, capsys):
    from mlflow.tracking import MlflowClient

    parts = build(compose_cfg("retriever=dense", "max_queries=12"))
    result = run_experiment(parts)
    err = capsys.readouterr().err
    assert "GPU metrics: off (no NVIDIA GPU: NVML Shared Library Not Found)" in err

    run = MlflowClient(parts.tracker.tracking_uri).get_run(result.run_id)
    assert run.data.tags["gpu.metrics"] == "off: no NVIDIA GPU: NVML Shared Library Not Found"
    assert run.data.params["gpu.count"] == "0"
    metrics = run.data.metrics
    assert not any(k.startswith(("gpu", "system/gpu")) for k in metrics)
    assert not any(k.startswith("throughput.") for k in metrics)  # grouped with "/" like every other figure
    assert metrics["throughput/evaluate/questions"] == 12 and metrics["throughput/evaluate/questions_per_s"] > 0
    embedded = sum(s.embedded for s in result.index_stats)
    assert embedded > 0 and metrics["throughput/embed_documents/texts"] == embedded
    assert metrics["throughput/embed_queries/texts"] == 12  # the dense retriever embeds each question once
    assert metrics["throughput/embed_queries/texts_per_s"] > 0

    saved = json.loads((result.run_dir / "telemetry.json").read_text())
    assert saved["tags"] == {"gpu.metrics": run.data.tags["gpu.metrics"]} and saved["params"] == {"gpu.count": "0"}
    assert {k: run.data.metrics[mlflow_key(k)] for k in saved["metrics"]} == pytest.approx(saved["metrics"])
    assert "embed_documents" not in vars(parts.embedder)  # the embedder is no longer watched
