"""Resume: kill -9 a real `ragbench run` at a random question, resume it, and compare with an
uninterrupted run: identical per-question results and one MLflow run."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragbench.config import build, compose
from ragbench.evaluation.run import run_experiment
from tests.conftest import require_shared

pytestmark = [pytest.mark.slow, pytest.mark.integration]

N = 60
OVERRIDES = [
    "generator=extractive",
    "dataset=hotpotqa",
    "retriever=bm25",
    f"max_queries={N}",
    "progress=false",
    "metrics.names=[recall@10,ndcg@10,f1,rouge_l,bleu]",
]


def _cli(home: Path, *extra: str) -> subprocess.Popen:
    code = "import sys; from ragbench.cli import main; sys.exit(main())"
    return subprocess.Popen(
        [sys.executable, "-c", code, "run", f"home={home}", *OVERRIDES, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ),
    )


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def _stable(run_dir: Path) -> dict:
    """Per-question results without timings (which differ between any two runs)."""
    out = {}
    for line in (run_dir / "results.jsonl").read_text().splitlines():
        row = json.loads(line)
        row.pop("timings_ms")
        row["answer"].pop("timings")
        out[row["sample"]["id"]] = row
    return out


def test_kill_9_then_resume_equals_uninterrupted_run(tmp_path):
    require_shared("hotpotqa_sample100")
    home = tmp_path / "home"
    stop_at = random.Random().randint(3, N // 2)
    proc = _cli(home)
    deadline = time.monotonic() + 600
    results = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = list((home / "runs").glob("*/results.jsonl")) if (home / "runs").exists() else []
        if found and _lines(found[0]) >= stop_at:
            results = found[0]
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.002)
    proc.wait(30)
    assert results is not None, f"run ended before question {stop_at}: {proc.stdout.read()[-2000:]}"
    run_dir = results.parent
    done_before = _lines(results)
    assert 0 < done_before < N and not (run_dir / "DONE").exists()

    resumed = _cli(home, "resume=true")
    out, _ = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, out[-3000:]
    assert run_dir.name in out  # same run id printed
    assert (run_dir / "DONE").exists() and len(_stable(run_dir)) == N

    reference = run_experiment(build(compose([f"home={tmp_path / 'ref'}", *OVERRIDES])))
    assert _stable(run_dir) == _stable(reference.run_dir)

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    exp = client.get_experiment_by_name("ragbench")
    runs = client.search_runs([exp.experiment_id])
    assert [r.info.run_id for r in runs] == [run_dir.name]
    assert runs[0].info.status == "FINISHED"
    assert runs[0].data.metrics["counts/resumed_questions"] >= done_before - 1  # a torn last line is re-asked
    assert runs[0].data.metrics["retrieval/ndcg_at_10"] == pytest.approx(reference.report.overall["ndcg@10"])


def test_resume_refuses_another_config_and_unknown_ids(tmp_path, compose_cfg):
    from ragbench.errors import ConfigError

    require_shared("hotpotqa_sample100")
    first = run_experiment(build(compose_cfg("dataset=hotpotqa", "retriever=bm25", "max_queries=3", "tracking=none")))
    with pytest.raises(ConfigError, match="configuration differs"):
        run_experiment(
            build(
                compose_cfg(
                    "dataset=hotpotqa",
                    "retriever=bm25",
                    "max_queries=4",
                    "tracking=none",
                    f"resume={first.run_dir.name}",
                )
            )
        )
    with pytest.raises(ConfigError, match="no checkpointed run with that id"):
        run_experiment(build(compose_cfg("dataset=hotpotqa", "retriever=bm25", "tracking=none", "resume=nope")))
