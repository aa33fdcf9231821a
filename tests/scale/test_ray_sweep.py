"""`ragbench run -m ... executor=ray`: the sweep's trials run as Ray tasks and give what a local sweep gives
(one Ray instance per session: conftest)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ragbench.cli import main
from ragbench.tracking import MLflowTracker

SWEEP = [
    "progress=false",
    "generator=extractive",
    "retriever=bm25",
    "max_queries=8",
    "k=2,5",
    "metrics.names=[ndcg@10,recall@5]",
]
SEARCH = ["--search", "ndcg@10"]
TIMING = ("latency", "throughput", "seconds", "_ms", "per_s", "gpu/", "system/")


def _sweep_runs(home: Path):
    """The sweep's parent run and its children by ``k``."""
    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("ragbench").experiment_id])
    [parent] = [r for r in runs if r.data.tags.get("ragbench.kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 3 and len(children) == 2
    return client, parent, {r.data.params["k"]: r for r in children}


def _quality(metrics: dict[str, float]) -> dict[str, float]:
    """Every logged metric that does not depend on timing (latency, throughput, index and build seconds):
    the retrieval metrics with their CIs, per tenant and language, counts, index chunk counts."""
    return {k: v for k, v in metrics.items() if not any(part in k for part in TIMING) and not k.endswith("_s")}


def test_sweep_on_ray_matches_local(ray_cluster, tmp_path, capsys):
    """A 2-trial BM25 sweep on the demo: on Ray, the same per-trial metrics (to 1e-9), per-question tables,
    run names, tags and best trial as the local sweep; each trial a nested MLflow run, FINISHED, that ran in
    a Ray worker (its checkpoint records another pid) while MLflow was written by this process only."""
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    assert main(["run", "-m", f"home={local}", *SWEEP, *SEARCH]) == 0
    ray_args = ["executor=ray", f"executor.address={ray_cluster}"]
    assert main(["run", "-m", f"home={on_ray}", *SWEEP, *ray_args, *SEARCH]) == 0
    out = capsys.readouterr().out
    assert "[1/2] k=2" in out and "[2/2] k=5" in out

    client, parent, trials = _sweep_runs(on_ray)
    local_client, local_parent, local_trials = _sweep_runs(local)
    assert trials.keys() == local_trials.keys() == {"2", "5"}
    for k, run in trials.items():
        expected = local_trials[k]
        assert run.info.status == "FINISHED" and run.info.run_name == expected.info.run_name
        assert run.info.run_name.startswith("demo·") and run.info.run_name.endswith(f"·k={k}")
        assert "executor" not in run.info.run_name  # where a trial ran is not part of its name
        got, want = _quality(run.data.metrics), _quality(expected.data.metrics)
        assert got.keys() == want.keys() and "retrieval/ndcg_at_10" in got and len(got) > 20, sorted(got)
        for key, value in want.items():
            assert got[key] == pytest.approx(value, abs=1e-9), (k, key)
        same_tags = ("dataset", "method", "retriever", "generator")
        assert {t: run.data.tags[t] for t in same_tags} == {t: expected.data.tags[t] for t in same_tags}
        rows = _per_question(on_ray, run.info.run_id)
        assert rows == _per_question(local, expected.info.run_id) and len(rows) == 8
        owner = json.loads((on_ray / "runs" / run.info.run_id / "config.json").read_text())
        assert owner["run_id"] == run.info.run_id and owner["pid"] != os.getpid()  # ran in a Ray worker
    assert trials["5"].data.metrics["retrieval/ndcg_at_10"] != trials["2"].data.metrics["retrieval/ndcg_at_10"]
    best_k = next(k for k, r in trials.items() if r.info.run_id == parent.data.tags["ragbench.best_run_id"])
    local_best = next(
        k for k, r in local_trials.items() if r.info.run_id == local_parent.data.tags["ragbench.best_run_id"]
    )
    assert best_k == local_best
    assert parent.data.metrics["sweep/trials"] == 2 and parent.data.metrics["sweep/failed_trials"] == 0


def _kill_once_generator(marker: Path) -> list[str]:
    """Overrides that wrap the extractive generator in KillOnceGenerator: the first trial to generate
    SIGKILLs its Ray worker once (never this process, the driver)."""
    return [
        "generator._target_=ragbench.testing.faults.KillOnceGenerator",
        "~generator.max_sentences",
        "~generator.rank_prior",
        "+generator.inner={_target_:ragbench.generators.ExtractiveGenerator,max_sentences:1,rank_prior:0.05}",
        f"+generator.marker={marker}",
        f"+generator.driver_pid={os.getpid()}",
    ]


def test_killed_trial_worker_changes_nothing(ray_cluster, tmp_path):
    """A trial's Ray worker SIGKILLed while it answers: the trial is run again (executor.max_retries) in
    another worker, and every trial's metrics (to 1e-9) and per-question table are the local sweep's.
    (With executor.max_retries=0 the same sweep fails with Ray's WorkerCrashedError: checked by hand.)"""
    local, on_ray, marker = tmp_path / "local", tmp_path / "ray", tmp_path / "killed"
    assert main(["run", "-m", f"home={local}", *SWEEP, *SEARCH]) == 0
    ray_args = ["executor=ray", f"executor.address={ray_cluster}", *_kill_once_generator(marker)]
    assert main(["run", "-m", f"home={on_ray}", *SWEEP, *ray_args, *SEARCH]) == 0
    assert marker.exists()
    killed = int(marker.read_text())
    assert killed != os.getpid()  # the kill happened in a Ray worker

    _, parent, trials = _sweep_runs(on_ray)
    _, _, local_trials = _sweep_runs(local)
    assert trials.keys() == local_trials.keys() == {"2", "5"}
    for k, run in trials.items():
        assert run.info.status == "FINISHED"
        got, want = _quality(run.data.metrics), _quality(local_trials[k].data.metrics)
        assert got.keys() == want.keys() and "retrieval/ndcg_at_10" in got and len(got) > 20, sorted(got)
        for key, value in want.items():
            assert got[key] == pytest.approx(value, abs=1e-9), (k, key)
        rows = _per_question(on_ray, run.info.run_id)
        assert rows == _per_question(local, local_trials[k].info.run_id) and len(rows) == 8
        owner = json.loads((on_ray / "runs" / run.info.run_id / "config.json").read_text())
        assert owner["pid"] not in (killed, os.getpid())  # finished in a live worker: the killed one was rerun
    assert parent.data.metrics["sweep/trials"] == 2 and parent.data.metrics["sweep/failed_trials"] == 0


def _per_question(home: Path, run_id: str) -> list[tuple]:
    """The per-question table logged to MLflow, without its timing columns."""
    frame = MLflowTracker(root=home).load_table(run_id)
    keep = [c for c in frame.columns if not any(t in c for t in ("ms", "latency", "seconds", "run_id"))]
    return [tuple(str(v) for v in row) for row in frame[sorted(keep)].itertuples(index=False)]


def test_executor_cannot_be_swept(tmp_path, capsys):
    assert main(["run", "-m", f"home={tmp_path}", "executor=local,ray", "k=2,5", "generator=extractive"]) == 2
    err = capsys.readouterr().err
    assert "error: executor is swept, but the executor only says where trials run" in err
    assert "executor=ray" in err and "Traceback" not in err and not (tmp_path / "mlflow.db").exists()
