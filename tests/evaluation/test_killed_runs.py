"""A killed run that is not resumed must not stay RUNNING in MLflow: a real `ragbench run` is
SIGKILLed mid-run; the next run (another config) finds its checkpoint folder without DONE and its
process gone, marks it KILLED in MLflow (sqlite) and says how to resume it; resuming it finishes it.
The generator is a real HTTP server on 127.0.0.1 that answers slowly (``FaultyLLMServer`` with a
delay), so the kill lands mid-run whatever the machine's speed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.llm_faults import FaultyLLMServer

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _cli(home: Path, *overrides: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ragbench.cli", "run", f"home={home}", "progress=false", "retriever=bm25", *overrides],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def _status(home: Path, run_id: str) -> str:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}").get_run(run_id).info.status


def _kill_after(proc: subprocess.Popen, home: Path, questions: int) -> Path:
    deadline = time.monotonic() + 900  # a wait, not a timing claim: the other xdist worker may hold both cores
    while time.monotonic() < deadline and proc.poll() is None:
        found = list((home / "runs").glob("*/results.jsonl")) if (home / "runs").exists() else []
        if found and found[0].read_bytes().count(b"\n") >= questions:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
            return found[0].parent
        time.sleep(0.05)
    ended = proc.poll()
    proc.kill()
    why = f"exited with {ended}" if ended is not None else "had not written them after 900 s (killed by the test)"
    raise AssertionError(f"the run {why} before {questions} answers: {proc.communicate()[1][-2000:]}")


def test_killed_run_is_marked_killed_by_the_next_run_and_can_be_resumed(tmp_path):
    home = tmp_path / "home"
    with FaultyLLMServer("ok", delay_s=0.5) as slow:
        llm = ["generator=openai", f"generator.base_url={slow.base_url}", "generator.model=null", "max_queries=8"]
        run_dir = _kill_after(_cli(home, *llm), home, 2)
        killed = run_dir.name
        assert not (run_dir / "DONE").exists() and _status(home, killed) == "RUNNING"  # what a kill leaves

        other = _cli(home, "generator=extractive", "max_queries=3")  # another config, same home
        out, err = other.communicate(timeout=300)
        assert other.returncode == 0, err[-3000:]
        assert _status(home, killed) == "KILLED"
        notice = next(line for line in err.splitlines() if killed in line)
        print(f"\nthe next run's notice: {notice}")
        assert "was killed" in notice and f"resume={killed}" in notice and "marked KILLED in MLflow" in notice

        resumed = _cli(home, *llm, f"resume={killed}")
        out, err = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, err[-3000:]
    assert killed in out and "was killed" not in err  # told once; the resumed run is not reported again
    assert _status(home, killed) == "FINISHED" and (run_dir / "DONE").exists()
    assert (run_dir / "results.jsonl").read_bytes().count(b"\n") >= 8
