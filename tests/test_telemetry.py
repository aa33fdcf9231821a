"""GPU telemetry and throughput: NVML readings replayed through the real conversion and sampling code
(no GPU here), the real 'no GPU' path, texts/s of real embedders, and the two sinks (JSON, MLflow)
writing the same names."""

from __future__ import annotations

import json

import pytest

from ragbench.errors import ConfigError
from ragbench.telemetry import GpuReading, GpuSampler, JsonSink, NvmlSource, RunTelemetry, Throughput
from ragbench.types import Answer, QuestionResult, Sample
from tests.support.nvml import H200_ROUNDS, RecordedNvml


def _sampled(nvml: RecordedNvml) -> GpuSampler:
    """Four rounds: start, two samples, stop (no thread, so the count is exact)."""
    sampler = GpuSampler(NvmlSource(nvml))
    assert sampler.start(background=False) is True
    sampler.sample()
    sampler.sample()
    sampler.stop()
    return sampler


def test_recorded_h200_readings_are_converted_and_summarised():
    nvml = RecordedNvml(H200_ROUNDS)
    sampler = _sampled(nvml)
    assert nvml.initialised == 0  # NVML shut down again
    assert [r[0].utilization_pct for r in sampler.readings] == [0.0, 37.0, 98.0, 100.0]
    second = sampler.readings[1][0]
    assert second == GpuReading(0, "NVIDIA H200", 37.0, 20480.0, 143771.0, 301.25, at=second.at)
    assert second.describe() == "GPU0 NVIDIA H200: 37% util, 20.0/140.4 GiB"  # as the dashboard shows it
    summary = sampler.summary()
    assert summary == pytest.approx(
        {
            "gpu.samples": 4.0,
            "gpu.0.utilization_pct.mean": 58.75,
            "gpu.0.utilization_pct.max": 100.0,
            "gpu.0.memory_used_mib.max": 61952.0,
            "gpu.0.memory_total_mib": 143771.0,
            "gpu.0.power_w.mean": (74.512 + 301.25 + 688.0 + 700.25) / 4,
            "gpu.0.power_w.max": 700.25,
        }
    )
    series = sampler.series()
    assert [(step, v) for step, _, v in series["gpu.0.utilization_pct"]] == [(0, 0.0), (1, 37.0), (2, 98.0), (3, 100.0)]
    assert [v for _, _, v in series["gpu.0.memory_used_mib"]] == [512.0, 20480.0, 61440.0, 61952.0]
    assert sampler.params() == {"gpu.count": "1", "gpu.device_name": "NVIDIA H200", "gpu.driver_version": "570.172.08"}
    assert sampler.tags() == {"gpu.metrics": "on"}
    # a window of time keeps only the samples taken in it
    at = [r[0].at for r in sampler.readings]
    assert sampler.summary(at[1], at[2])["gpu.samples"] == 2.0


def test_two_gpus_without_power_readings():
    rounds = [
        [
            {"gpu": 10, "used": 2**30, "power_mw": None},
            {"gpu": 90, "used": 2 * 2**30, "total": 80 * 2**30, "power_mw": None},
        ]
    ] * 2
    sampler = _sampled(RecordedNvml(rounds, names=["NVIDIA H200", "NVIDIA A100 80GB"]))
    summary = sampler.summary()
    assert summary["gpu.1.utilization_pct.mean"] == 90.0 and summary["gpu.1.memory_total_mib"] == 80 * 1024
    assert summary["gpu.0.memory_used_mib.max"] == 1024.0
    assert not any("power" in k for k in summary) and not any("power" in k for k in sampler.series())
    assert sampler.params()["gpu.count"] == "2"
    assert sampler.params()["gpu.device_name"] == "NVIDIA A100 80GB, NVIDIA H200"


def test_without_a_gpu_metrics_are_off_and_say_why():
    import pynvml

    real = RunTelemetry("auto")  # the real nvidia-ml-py on this machine, which has no NVIDIA driver
    with real:
        assert real.gpu.on is False
    assert real.status_line().startswith("GPU metrics: off (no NVIDIA GPU: ")
    assert "NVML Shared Library Not Found" in real.status_line()
    assert real.gpu.tags()["gpu.metrics"].startswith("off: no NVIDIA GPU")
    assert real.gpu.params() == {"gpu.count": "0"} and real.metrics() == {}

    no_driver = GpuSampler(NvmlSource(RecordedNvml(H200_ROUNDS, init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)))
    assert no_driver.start() is False and "Driver Not Loaded" in no_driver.status_line()

    nvml = RecordedNvml(H200_ROUNDS)
    with RunTelemetry("false", source=NvmlSource(nvml)) as off:
        pass
    assert off.status_line() == "GPU metrics: off (system_metrics=false)" and nvml.initialised == 0
    assert nvml.position == 0 and not off.gpu.readings  # NVML was never read


def test_bad_setting_is_rejected():
    with pytest.raises(ConfigError, match=r"system_metrics='sometimes'.*auto.*true or false"):
        RunTelemetry("sometimes")


def test_generation_and_stage_throughput():
    results = [
        QuestionResult(
            Sample(f"q{i}", "?", "acme"),
            [],
            Answer("a", prompt_tokens=100, completion_tokens=10),
            timings_ms={"generate_ms": 50.0},
        )
        for i in range(4)
    ]
    results.append(QuestionResult(Sample("q9", "?", "acme"), [], None, timings_ms={"generate_ms": 999.0}))
    tel = RunTelemetry("false")
    tel.record_answers(results)
    with tel.throughput.timed("evaluate") as counts:
        counts["questions"] = 5
    with pytest.raises(RuntimeError), tel.throughput.timed("failed_stage"):
        raise RuntimeError("a failed stage records nothing")
    m = tel.metrics()
    assert m["throughput.generate.seconds"] == pytest.approx(0.2)
    assert m["throughput.generate.prompt_tokens_per_s"] == pytest.approx(2000.0)
    assert m["throughput.generate.output_tokens_per_s"] == pytest.approx(200.0)
    assert m["throughput.evaluate.questions"] == 5 and m["throughput.evaluate.questions_per_s"] > 0
    assert not any(k.startswith("throughput.failed_stage") for k in m)


def test_embedder_calls_are_counted_once_and_unwatched_after(tiny_bge_m3):
    """BGE-M3's embed_* call its encode_*: only those are watched, so no text is counted twice."""
    from ragbench.embedders.bge_m3 import BGEM3Embedder

    emb = BGEM3Embedder(tiny_bge_m3, torch_threads=1)
    throughput = Throughput()
    with throughput.watch(emb):
        emb.embed_documents(["a cat", "a dog", "a bird"])
        emb.encode_queries(["which cat?", "which dog?"])
        emb.embed_queries(["which bird?"])
    emb.embed_documents(["not counted"])
    m = throughput.metrics()
    assert m["throughput.embed_documents.texts"] == 3 and m["throughput.embed_queries.texts"] == 3
    assert m["throughput.embed_documents.texts_per_s"] > 0
    assert "encode_documents" not in vars(emb) and "embed_documents" not in vars(emb)


def test_json_and_mlflow_sinks_hold_the_same_names(tmp_path, minilm):
    from mlflow.tracking import MlflowClient

    from ragbench.tracking.mlflow import MLflowTracker

    nvml = RecordedNvml(H200_ROUNDS)
    with RunTelemetry("auto", embedder=minilm, source=NvmlSource(nvml), interval_s=0.01) as tel:
        minilm.embed_documents(["a cat", "a dog"])
        with tel.throughput.timed("evaluate") as counts:
            counts["questions"] = 2
    assert tel.status_line().startswith("GPU metrics: on (1 x NVIDIA H200, driver 570.172.08")
    tracker = MLflowTracker(root=tmp_path / "ml")
    with tracker.start_run(run_name="telemetry") as run_id:
        tel.log_to(tracker)
    sink = JsonSink(tmp_path / "telemetry.json")
    tel.log_to(sink)
    saved = json.loads((tmp_path / "telemetry.json").read_text())

    client = MlflowClient(tracker.tracking_uri)
    run = client.get_run(run_id)
    assert run.data.params == saved["params"] == tel.gpu.params()
    assert run.data.tags["gpu.metrics"] == saved["tags"]["gpu.metrics"] == "on"
    assert set(run.data.metrics) == set(saved["metrics"]) | set(saved["series"])
    assert {
        "gpu.0.utilization_pct.mean",
        "throughput.embed_documents.texts_per_s",
        "throughput.evaluate.questions_per_s",
    } <= set(saved["metrics"])
    for name, value in saved["metrics"].items():
        assert run.data.metrics[name] == pytest.approx(value), name
    history = client.get_metric_history(run_id, "gpu.0.utilization_pct")
    assert [(m.step, m.value) for m in history] == [(p[0], p[2]) for p in saved["series"]["gpu.0.utilization_pct"]]
    assert len(history) >= 2  # first sample at start, last at stop
