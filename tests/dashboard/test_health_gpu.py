"""GPU probe: no GPU here, so NVML readings are replayed (tests.support.nvml) and nvidia-smi's CSV
output is parsed from a stand-in script; both show the same line per GPU."""

from __future__ import annotations

import os
import stat

from ragbench.dashboard.health import probe_gpu


def test_no_gpu_is_not_used(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi; nvidia-ml-py is installed but finds no driver
    h = probe_gpu()
    assert h.ok is None and h.label == "not used" and "nvidia-smi" in h.detail
    assert "NVML Shared Library Not Found" in h.detail


def test_nvml_readings_are_shown():
    from tests.support.nvml import H200_ROUNDS, RecordedNvml

    nvml = RecordedNvml([[H200_ROUNDS[1][0], H200_ROUNDS[0][0]]], names=["NVIDIA H200", "NVIDIA H200"])
    h = probe_gpu(nvml)
    assert h.ok is True
    assert h.detail == "GPU0 NVIDIA H200: 37% util, 20.0/140.4 GiB; GPU1 NVIDIA H200: 0% util, 0.5/140.4 GiB"


def test_nvidia_smi_output_is_parsed(monkeypatch, tmp_path):
    fake = tmp_path / "nvidia-smi"  # a stand-in printing what nvidia-smi prints for this query
    fake.write_text("#!/bin/sh\necho '0, NVIDIA H200, 37, 20480, 143771'\necho '1, NVIDIA H200, 0, 512, 143771'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/bin:/usr/bin")
    h = probe_gpu()
    assert h.ok is True
    assert h.detail == "GPU0 NVIDIA H200: 37% util, 20.0/140.4 GiB; GPU1 NVIDIA H200: 0% util, 0.5/140.4 GiB"
    fake.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    broken = probe_gpu()
    assert broken.ok is False and "CalledProcessError" in broken.detail
