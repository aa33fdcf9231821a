"""GPU readings through NVML (``nvidia-ml-py``, imported as ``pynvml`` only when sampling starts).

:class:`NvmlSource` reads every GPU; :class:`GpuSampler` samples it in a background thread;
:func:`reading_from_nvml` and :func:`readings_from_smi` convert pynvml's structs and
``nvidia-smi``'s CSV into one :class:`GpuReading` type, which the dashboard's GPU probe shows too.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from ragbench.errors import ConfigError, RagbenchError

MIB = 2**20
Series = dict[str, list[tuple[int, float, float]]]  # name -> [(step, epoch seconds, value)]


@dataclass(frozen=True)
class GpuReading:
    """One GPU at one moment, in the units the metrics use (%, MiB, W; ``at`` in epoch seconds)."""

    index: int
    name: str
    utilization_pct: float
    memory_used_mib: float
    memory_total_mib: float
    power_w: float | None = None
    at: float = 0.0

    def values(self) -> dict[str, float]:
        """This reading as series points: ``{"gpu.0.utilization_pct": 37.0, ...}``."""
        p = f"gpu.{self.index}."
        out = {f"{p}utilization_pct": self.utilization_pct, f"{p}memory_used_mib": self.memory_used_mib}
        if self.power_w is not None:
            out[f"{p}power_w"] = self.power_w
        return out

    def describe(self) -> str:
        """One line, as the dashboard's Monitor tab shows it: ``GPU0 NVIDIA H200: 37% util, 20.0/140.4 GiB``."""
        return (
            f"GPU{self.index} {self.name}: {self.utilization_pct:g}% util, "
            f"{self.memory_used_mib / 1024:.1f}/{self.memory_total_mib / 1024:.1f} GiB"
        )


def reading_from_nvml(
    index: int, name: str | bytes, *, memory: Any, utilization: Any, power_mw: int | None, at: float = 0.0
) -> GpuReading:
    """Convert what pynvml returns (``c_nvmlMemory_t`` in bytes, ``c_nvmlUtilization_t`` in %, milliwatts)."""
    return GpuReading(
        index=index,
        name=name.decode() if isinstance(name, bytes) else str(name),
        utilization_pct=float(utilization.gpu),
        memory_used_mib=memory.used / MIB,
        memory_total_mib=memory.total / MIB,
        power_w=None if power_mw is None else power_mw / 1000,
        at=at,
    )


def readings_from_smi(text: str, *, at: float = 0.0) -> list[GpuReading]:
    """Parse ``nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total
    --format=csv,noheader,nounits`` (MiB, %); power is not queried."""
    out = []
    for line in filter(None, (ln.strip() for ln in text.splitlines())):
        idx, name, util, used, total = (c.strip() for c in line.split(","))
        out.append(GpuReading(int(idx), name, float(util), float(used), float(total), None, at))
    return out


class GpuUnavailable(RagbenchError):
    """No GPU telemetry here; the message says why (no nvidia-ml-py, no NVML library or driver, no device)."""


class NvmlSource:
    """Reads every GPU through NVML.

    Args:
        nvml: The ``pynvml`` module (imported on :meth:`open` by default); tests pass a recorded
            one (:class:`tests.support.nvml.RecordedNvml`).

    Example:
        >>> source = NvmlSource()
        >>> names = source.open()  # doctest: +SKIP
        >>> source.read()  # doctest: +SKIP
        [GpuReading(index=0, name='NVIDIA H200', utilization_pct=37.0, ...)]
    """

    def __init__(self, nvml: Any = None) -> None:
        self.nvml = nvml
        self.names: list[str] = []
        self.driver_version = ""
        self._handles: list[Any] = []

    def open(self) -> list[str]:
        """Initialise NVML; returns the device names or raises :class:`GpuUnavailable` saying why."""
        if self.nvml is None:
            try:
                import pynvml
            except ImportError as exc:
                raise GpuUnavailable(f"nvidia-ml-py is not installed ({exc}); pip install nvidia-ml-py") from exc
            self.nvml = pynvml
        nv = self.nvml
        try:
            nv.nvmlInit()
        except Exception as exc:
            raise GpuUnavailable(f"no NVIDIA GPU: {exc}") from exc
        try:
            self._handles = [nv.nvmlDeviceGetHandleByIndex(i) for i in range(nv.nvmlDeviceGetCount())]
            self.names = [_text(nv.nvmlDeviceGetName(h)) for h in self._handles]
            self.driver_version = _text(nv.nvmlSystemGetDriverVersion())
        except Exception as exc:
            self.close()
            raise GpuUnavailable(f"NVML could not list the GPUs: {exc}") from exc
        if not self._handles:
            self.close()
            raise GpuUnavailable("NVML sees no GPU")
        return self.names

    def read(self, at: float | None = None) -> list[GpuReading]:
        """One reading per GPU; power is ``None`` where the device does not report it (e.g. MIG)."""
        nv, at = self.nvml, time.time() if at is None else at
        out = []
        for i, (handle, name) in enumerate(zip(self._handles, self.names, strict=True)):
            try:
                power = nv.nvmlDeviceGetPowerUsage(handle)
            except nv.NVMLError:
                power = None
            out.append(
                reading_from_nvml(
                    i,
                    name,
                    memory=nv.nvmlDeviceGetMemoryInfo(handle),
                    utilization=nv.nvmlDeviceGetUtilizationRates(handle),
                    power_mw=power,
                    at=at,
                )
            )
        return out

    def close(self) -> None:
        if self.nvml is not None:
            try:
                self.nvml.nvmlShutdown()
            except Exception:
                pass
        self._handles = []


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def gpu_snapshot(nvml: Any = None) -> list[GpuReading]:
    """Read every GPU once; raises :class:`GpuUnavailable` (with the reason) where there is none."""
    source = NvmlSource(nvml)
    source.open()
    try:
        return source.read()
    finally:
        source.close()


class GpuSampler:
    """Samples every GPU every ``interval_s`` in a background thread while started.

    Args:
        source: Where readings come from (:class:`NvmlSource` by default).
        interval_s: Seconds between samples.
        off_reason: Set to keep sampling off (e.g. ``"system_metrics=false"``).

    Example:
        >>> with GpuSampler(interval_s=0.5) as gpu:  # doctest: +SKIP
        ...     work()
        >>> gpu.summary()["gpu.0.utilization_pct.mean"]  # doctest: +SKIP
    """

    def __init__(self, source: NvmlSource | None = None, *, interval_s: float = 1.0, off_reason: str = "") -> None:
        if interval_s <= 0:
            raise ConfigError(f"interval_s must be > 0 seconds, got {interval_s}.")
        self.source = source or NvmlSource()
        self.interval_s = interval_s
        self.off_reason = off_reason or "not started"
        self.on = False
        self.readings: list[list[GpuReading]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._keep_off = bool(off_reason)

    def start(self, *, background: bool = True) -> bool:
        """Open NVML and take a first sample; returns whether GPU metrics are on."""
        if self._keep_off or self.on:
            return self.on
        try:
            self.source.open()
        except GpuUnavailable as exc:
            self.off_reason = str(exc)
            return False
        self.on, self.off_reason = True, ""
        self.sample()
        if background:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="ragbench-gpu-sampler", daemon=True)
            self._thread.start()
        return True

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self) -> None:
        """Take one sample now (the thread calls this; so can a caller between phases)."""
        if self.on:
            try:
                self.readings.append(self.source.read())
            except Exception as exc:
                self.off_reason = f"last read failed: {exc}"

    def stop(self) -> None:
        """Stop the thread, take a last sample and close NVML (idempotent)."""
        if not self.on:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.sample()
        self.source.close()
        self.on = False
        self.off_reason = self.off_reason or "stopped"

    def __enter__(self) -> GpuSampler:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def sampled(self) -> bool:
        """True once at least one sample was taken (GPU metrics were on)."""
        return bool(self.readings)

    def params(self) -> dict[str, str]:
        names = self.source.names
        if not (self.on or self.sampled) or not names:
            return {"gpu.count": "0"}
        return {
            "gpu.count": str(len(names)),
            "gpu.device_name": ", ".join(sorted(set(names))),
            "gpu.driver_version": self.source.driver_version,
        }

    def tags(self) -> dict[str, str]:
        return {"gpu.metrics": "on" if (self.on or self.sampled) else f"off: {self.off_reason}"}

    def status_line(self) -> str:
        """``GPU metrics: on (1 x NVIDIA H200, ...)`` or ``GPU metrics: off (<reason>)``."""
        if self.on or self.sampled:
            names = self.source.names
            return (
                f"GPU metrics: on ({len(names)} x {', '.join(sorted(set(names)))}, driver "
                f"{self.source.driver_version}; NVML sampled every {self.interval_s:g} s)"
            )
        return f"GPU metrics: off ({self.off_reason})"

    def series(self) -> Series:
        out: Series = {}
        for step, round_ in enumerate(list(self.readings)):
            for reading in round_:
                for name, value in reading.values().items():
                    out.setdefault(name, []).append((step, reading.at, value))
        return out

    def summary(self, start: float | None = None, end: float | None = None) -> dict[str, float]:
        """Mean/max per GPU over the samples taken between epoch seconds ``start`` and ``end``."""
        rounds = [
            r
            for r in list(self.readings)
            if r and (start is None or r[0].at >= start) and (end is None or r[0].at <= end)
        ]
        if not rounds:
            return {}
        out: dict[str, float] = {"gpu.samples": float(len(rounds))}
        for i in range(len(rounds[0])):
            device = [r[i] for r in rounds if len(r) > i]
            p = f"gpu.{i}."
            util = [d.utilization_pct for d in device]
            out.update(
                {
                    f"{p}utilization_pct.mean": sum(util) / len(util),
                    f"{p}utilization_pct.max": max(util),
                    f"{p}memory_used_mib.max": max(d.memory_used_mib for d in device),
                    f"{p}memory_total_mib": device[-1].memory_total_mib,
                }
            )
            power = [d.power_w for d in device if d.power_w is not None]
            if power:
                out.update({f"{p}power_w.mean": sum(power) / len(power), f"{p}power_w.max": max(power)})
        return out
