"""GPU telemetry and per-stage throughput for every run, logged to MLflow or to a JSON file.

A :class:`GpuSampler` reads NVML (``nvidia-ml-py``, imported as ``pynvml`` only when sampling
starts) in a background thread: utilisation, memory used/total and power of every GPU.
:class:`Throughput` times stages and divides counts by seconds (embedding texts/s,
generation prompt and output tokens/s, questions/s). :class:`RunTelemetry` combines both for
one run. Without a GPU (no driver, no NVML library, no device) sampling is off and
:meth:`GpuSampler.status_line` says why; nothing fails.

Names, identical in every sink (an MLflow tracker or :class:`JsonSink`):

- params ``gpu.count``, ``gpu.device_name``, ``gpu.driver_version``; tag ``gpu.metrics``
  (``on`` or ``off: <reason>``);
- series, one point per sample: ``gpu.<i>.utilization_pct``, ``gpu.<i>.memory_used_mib``,
  ``gpu.<i>.power_w``;
- metrics: ``gpu.<i>.utilization_pct.mean/.max``, ``gpu.<i>.memory_used_mib.max``,
  ``gpu.<i>.memory_total_mib``, ``gpu.<i>.power_w.mean/.max``, ``gpu.samples``, and
  ``throughput.<stage>.seconds``, ``throughput.<stage>.<unit>``,
  ``throughput.<stage>.<unit>_per_s``.

This package imports nothing heavy (no torch, MLflow, LanceDB or Hydra): ``bench/gpu_check.py``
runs it on GPU machines that have none of those.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from typing import Any

from ragbench.errors import ConfigError
from ragbench.telemetry.gpu import (
    GpuReading,
    GpuSampler,
    GpuUnavailable,
    NvmlSource,
    gpu_snapshot,
    reading_from_nvml,
    readings_from_smi,
)
from ragbench.telemetry.throughput import JsonSink, TelemetrySink, Throughput

__all__ = [
    "GpuReading",
    "GpuSampler",
    "GpuUnavailable",
    "JsonSink",
    "NvmlSource",
    "RunTelemetry",
    "TelemetrySink",
    "Throughput",
    "gpu_snapshot",
    "reading_from_nvml",
    "readings_from_smi",
]

_SETTINGS = ("auto", "true", "false")


class RunTelemetry:
    """GPU sampling and per-stage throughput for one run; a context manager.

    Args:
        setting: ``system_metrics``: ``auto``/``true`` sample GPUs when NVML sees one, ``false`` never.
        embedder: Watch this embedder's calls (texts/s) while the block runs.
        source: NVML source (tests pass a recorded one).
        interval_s: Seconds between GPU samples.

    Example:
        >>> with RunTelemetry("auto", embedder=emb) as tel:  # doctest: +SKIP
        ...     print(tel.status_line())
        ...     with tel.throughput.timed("evaluate") as counts:
        ...         counts["questions"] = len(run_questions())
        ...     tel.log_to(tracker)
    """

    def __init__(
        self, setting: Any = "auto", *, embedder: Any = None, source: NvmlSource | None = None, interval_s: float = 1.0
    ) -> None:
        text = str(setting).lower()
        if text not in _SETTINGS:
            raise ConfigError(
                f"system_metrics={setting!r}: use auto (GPU metrics when a GPU is present; MLflow "
                "CPU metrics only with a GPU), true or false."
            )
        self.gpu = GpuSampler(
            source, interval_s=interval_s, off_reason="system_metrics=false" if text == "false" else ""
        )
        self.throughput = Throughput()
        self.embedder = embedder
        self._stack = ExitStack()

    def __enter__(self) -> RunTelemetry:
        self.gpu.start()
        if self.embedder is not None:
            self._stack.enter_context(self.throughput.watch(self.embedder))
        return self

    def __exit__(self, *exc) -> None:
        self.finish()

    def finish(self) -> None:
        """Stop sampling and un-watch the embedder (idempotent)."""
        self.gpu.stop()
        self._stack.close()

    def status_line(self) -> str:
        return self.gpu.status_line()

    def record_answers(self, results: Iterable[Any]) -> None:
        """Generation prompt and output tokens over generation seconds, from per-question results
        (answers generated in this run only: a cached answer cost no generation)."""
        results = [r for r in results if getattr(r, "answer", None) is not None and not r.answer.cached]
        seconds = sum(r.timings_ms.get("generate_ms", 0.0) for r in results) / 1000
        self.throughput.add(
            "generate",
            seconds,
            prompt_tokens=sum(r.answer.prompt_tokens for r in results),
            output_tokens=sum(r.answer.completion_tokens for r in results),
        )

    def metrics(self) -> dict[str, float]:
        return {**self.throughput.metrics(), **self.gpu.summary()}

    def log_to(self, sink: TelemetrySink, *, params: bool = True) -> None:
        """Write tags, params (unless ``params=False``, e.g. on resume), metrics and GPU series."""
        sink.set_tags(self.gpu.tags())
        if params:
            sink.log_params(self.gpu.params())
        sink.log_metrics(self.metrics())
        series = self.gpu.series()
        if series:
            sink.log_series(series)
