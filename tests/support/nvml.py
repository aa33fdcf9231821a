"""A recorded NVML: replays pynvml readings so GPU telemetry can be tested on a machine without a GPU.

:class:`RecordedNvml` answers the part of the ``pynvml`` API that
:class:`ragbench.telemetry.NvmlSource` calls, returning pynvml's own ctypes structs
(``c_nvmlMemory_t`` in bytes, ``c_nvmlUtilization_t`` in %) and raising pynvml's own errors,
so the conversion code sees what a real device returns. Reading a value that was already read
in the current round moves to the next recorded round; past the end the last round repeats.

Example:
    >>> nvml = RecordedNvml(H200_ROUNDS, names=["NVIDIA H200"])  # doctest: +SKIP
    >>> NvmlSource(nvml).open()  # doctest: +SKIP
    ['NVIDIA H200']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# One H200 (143,771 MiB as nvidia-smi reports it; NVML gives bytes) going from idle to a full
# encode and back. Values in NVML's units: utilisation %, memory bytes, power milliwatts (None: the
# device does not report power, as under MIG).
H200_TOTAL_BYTES = 143_771 * 2**20
H200_ROUNDS: list[list[dict[str, Any]]] = [
    [{"gpu": 0, "used": 512 * 2**20, "power_mw": 74_512}],
    [{"gpu": 37, "used": 20_480 * 2**20, "power_mw": 301_250}],
    [{"gpu": 98, "used": 61_440 * 2**20, "power_mw": 688_000}],
    [{"gpu": 100, "used": 61_952 * 2**20, "power_mw": 700_250}],
]


class RecordedNvml:
    """Replays recorded per-device readings through the pynvml API (see the module docstring).

    Args:
        rounds: One list per sampling round, one dict per device with ``gpu`` (%), ``used``
            (bytes), optional ``total`` (bytes, default an H200's) and ``power_mw`` (None: not supported).
        names: Device names (their count is the device count).
        driver: The driver version string.
        init_error: An NVML error code (e.g. ``pynvml.NVML_ERROR_DRIVER_NOT_LOADED``) that ``nvmlInit`` raises.
    """

    def __init__(
        self,
        rounds: Sequence[Sequence[dict[str, Any]]],
        *,
        names: Sequence[str] = ("NVIDIA H200",),
        driver: str = "570.172.08",
        init_error: int | None = None,
    ) -> None:
        import pynvml

        self._pynvml = pynvml
        self.NVMLError = pynvml.NVMLError
        self.rounds, self.names = [list(r) for r in rounds], list(names)
        self.driver, self.init_error = driver, init_error
        self.position = 0
        self._seen: set[tuple[int, str]] = set()
        self.initialised = 0

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise self._pynvml.NVMLError(self.init_error)
        self.initialised += 1

    def nvmlShutdown(self) -> None:
        self.initialised -= 1

    def nvmlDeviceGetCount(self) -> int:
        return len(self.names)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:
        return self.names[handle]

    def nvmlSystemGetDriverVersion(self) -> str:
        return self.driver

    def _now(self, handle: int, what: str) -> dict[str, Any]:
        if (handle, what) in self._seen:
            self.position, self._seen = self.position + 1, set()
        self._seen.add((handle, what))
        return self.rounds[min(self.position, len(self.rounds) - 1)][handle]

    def nvmlDeviceGetUtilizationRates(self, handle: int):
        return self._pynvml.c_nvmlUtilization_t(gpu=self._now(handle, "utilization")["gpu"], memory=0)

    def nvmlDeviceGetMemoryInfo(self, handle: int):
        now = self._now(handle, "memory")
        total = now.get("total", H200_TOTAL_BYTES)
        return self._pynvml.c_nvmlMemory_t(total=total, free=total - now["used"], used=now["used"])

    def nvmlDeviceGetPowerUsage(self, handle: int) -> int:
        power = self._now(handle, "power").get("power_mw")
        if power is None:
            raise self._pynvml.NVMLError(self._pynvml.NVML_ERROR_NOT_SUPPORTED)
        return power
