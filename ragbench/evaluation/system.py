"""System metrics next to quality: CPU, memory, disk and network through MLflow.

MLflow's ``SystemMetricsMonitor`` samples in a background thread and logs ``system/*``
metrics to the run. ``system_metrics=auto`` (the default) enables it only when a GPU is
visible, ``true`` always, ``false`` never; only MLflow trackers are supported. GPUs are
sampled by :class:`ragbench.telemetry.RunTelemetry` (``gpu.*`` metrics, also without MLflow);
when it does, MLflow's own GPU monitor is left out so NVML is read by one sampler.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ragbench.errors import ConfigError


def gpu_present() -> bool:
    """True when NVML (nvidia-ml-py) sees at least one NVIDIA GPU."""
    from ragbench.telemetry import GpuUnavailable, gpu_snapshot

    try:
        return bool(gpu_snapshot())
    except GpuUnavailable:
        return False


def _enabled(setting) -> bool:
    text = str(setting).lower()
    if text not in ("auto", "true", "false"):
        raise ConfigError(f"system_metrics={setting!r}: use auto (only with a GPU), true or false.")
    return text == "true" or (text == "auto" and gpu_present())


@contextmanager
def system_metrics(
    tracker, run_id: str | None, setting="auto", *, interval_s: float = 1.0, gpu_sampled: bool = False
) -> Iterator[bool]:
    """Sample system metrics into MLflow run ``run_id`` while the block runs; yields whether it is on.

    ``gpu_sampled``: GPUs are already sampled by :class:`ragbench.telemetry.RunTelemetry`, so
    MLflow's GPU monitor is dropped.

    Example:
        >>> with system_metrics(tracker, run_id, "true"):  # doctest: +SKIP
        ...     evaluate(...)
    """
    if run_id is None or not getattr(tracker, "tracking_uri", None) or not _enabled(setting):
        yield False
        return
    from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

    monitor = SystemMetricsMonitor(
        run_id, sampling_interval=interval_s, resume_logging=True, tracking_uri=tracker.tracking_uri
    )
    if gpu_sampled:
        from mlflow.system_metrics.metrics.gpu_monitor import GPUMonitor

        monitor.monitors = [m for m in monitor.monitors if not isinstance(m, GPUMonitor)]
    first_step = monitor._logging_step
    monitor.start()
    try:
        yield True
    finally:
        monitor.finish()
        if monitor._logging_step == first_step:  # ended before MLflow's thread published a sample
            monitor.collect_metrics()
            monitor.publish_metrics(monitor.aggregate_metrics())
            monitor.mlflow_logger.flush()
