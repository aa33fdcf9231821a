"""bench/gpu_check.py on CPU: the dry run runs every step at tiny shapes and writes the JSON of figures,
with MLflow, LanceDB, vLLM, Hydra and OmegaConf made unimportable, as on the GPU machine (none of them
is installed there). Also: no GPU and no --dry-run is refused, the time budget skips steps, and SIGTERM
(what `timeout` sends) still leaves the figures measured so far."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ABSENT_ON_THE_GPU_MACHINE = ("mlflow", "lancedb", "vllm", "hydra", "omegaconf")
# Run the script as `python bench/gpu_check.py ...` would, with those packages unimportable.
PRELUDE = (
    "import runpy, sys\n"
    f"for name in {ABSENT_ON_THE_GPU_MACHINE!r}: sys.modules[name] = None\n"
    "sys.argv = ['bench/gpu_check.py', *sys.argv[1:]]\n"
    "runpy.run_path('bench/gpu_check.py', run_name='__main__')\n"
)


def _start(*args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the script finds ragbench itself
    return subprocess.Popen(
        [sys.executable, "-c", PRELUDE, *args],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _run(*args: str) -> tuple[int, str]:
    proc = _start(*args)
    out, _ = proc.communicate(timeout=300)
    return proc.returncode, out


def test_dry_run_measures_every_step(tmp_path):
    out = tmp_path / "gpu_check.json"
    rc, log = _run("--dry-run", "--out", str(out))
    assert rc == 0, log
    assert "GPU metrics: off (no NVIDIA GPU: NVML Shared Library Not Found)" in log
    fig = json.loads(out.read_text())
    assert fig["status"] == "complete" and fig["mode"] == "dry-run"
    assert fig["tags"]["gpu.metrics"].startswith("off: no NVIDIA GPU") and fig["params"]["gpu.count"] == "0"
    assert fig["params"]["device"] == "cpu" and fig["params"]["torch"]
    encode = fig["sections"]["encode"]
    assert encode["shape"] == "tiny XLM-R" and encode["complete_pass"] and encode["texts"] == 48
    assert encode["tokens_per_s"] > 0 and 0 < encode["padding_efficiency"] <= 1
    assert encode["goal_tokens_per_s"] == 300_000 and encode["ceiling_tokens_per_s"] == 650_000
    model = fig["sections"]["generate.model"]
    assert model["shape"] == "tiny Qwen2" and model["batch_1_ceiling_tokens_per_s"] > 0
    for b in (1, 8, 64):
        gen = fig["sections"][f"generate.batch_{b}"]
        assert "error" not in gen, gen
        assert gen["batch"] == b and gen["prompt_tokens_per_s"] > 0 and gen["end_to_end_output_tokens_per_s"] > 0
        assert fig["metrics"][f"throughput.generate.batch_{b}.prefill.prompt_tokens"] == b * 16
    assert fig["sections"]["generate.batch_1"]["ceiling_tokens_per_s"] == model["batch_1_ceiling_tokens_per_s"]
    assert fig["metrics"]["throughput.encode.tokens"] == encode["tokens"]
    assert fig["metrics"]["throughput.encode.tokens_per_s"] > 0


def test_without_a_gpu_the_full_check_is_refused(tmp_path):
    out = tmp_path / "gpu_check.json"
    rc, log = _run("--out", str(out))
    assert rc == 2, log
    status = json.loads(out.read_text())["status"]
    assert status.startswith("failed: no CUDA GPU visible") and "--dry-run" in status


def test_an_exhausted_budget_skips_the_remaining_steps(tmp_path):
    out = tmp_path / "gpu_check.json"
    rc, log = _run("--dry-run", "--budget-s", "0", "--out", str(out))
    assert rc == 1, log
    fig = json.loads(out.read_text())
    assert fig["status"].startswith("partial: generate.batch_1: skipped (time budget")
    assert fig["sections"]["encode"]["tokens_per_s"] > 0  # what was measured is kept
    assert fig["sections"]["generate.batch_64"]["skipped"].startswith("time budget")


def test_sigterm_leaves_the_figures_measured_so_far(tmp_path):
    out = tmp_path / "gpu_check.json"
    proc = _start("--dry-run", "--out", str(out))
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and "encode" in json.loads(out.read_text()).get("sections", {}):
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.05)
    log, _ = proc.communicate(timeout=120)
    assert proc.returncode == 124, log
    fig = json.loads(out.read_text())
    assert fig["status"].startswith("interrupted") and fig["sections"]["encode"]["tokens_per_s"] > 0
