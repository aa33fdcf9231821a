"""RecordingTracker: a run logged through it and replayed is the run logged directly (MLflow sqlite on disk)."""

from __future__ import annotations

import pickle
from contextlib import nullcontext

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from ragbench.tracking import MLflowTracker
from ragbench.tracking.recorder import RecordingTracker


def _log(tracker, tmp_path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("hello")
    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    tracker.log_config({"k": 5, "retriever": {"_target_": "x.Bm25"}})
    tracker.log_metrics({"ndcg@10": 0.5, "recall@5": 0.75})
    tracker.log_params({"seed": 7})
    tracker.set_tags({"stage": "eval"})
    tracker.log_series({"throughput.qps": [(0, 1_700_000_000.0, 2.0), (1, 1_700_000_001.0, 3.0)]})
    tracker.log_table([{"id": "q1", "f1": 0.5}, {"id": "q2", "f1": 1.0}], "per_question")
    tracker.log_artifact(note, "notes")
    tracker.log_figure(figure, "figures/ci_forest.png")
    plt.close(figure)


def _snapshot(tracker: MLflowTracker, run_id: str) -> dict:
    run = tracker.client.get_run(run_id)
    tags = {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.") or k == "mlflow.parentRunId"}
    artifacts = sorted(
        a.path
        for top in tracker.client.list_artifacts(run_id)
        for a in ([top] if not top.is_dir else tracker.client.list_artifacts(run_id, top.path))
    )
    history = [(m.step, m.value) for m in tracker.client.get_metric_history(run_id, "throughput.qps")]
    return {
        "name": run.info.run_name,
        "status": run.info.status,
        "metrics": run.data.metrics,
        "params": run.data.params,
        "tags": tags,
        "artifacts": artifacts,
        "history": history,
        "table": tracker.load_table(run_id).to_dict("records"),
    }


@pytest.mark.parametrize("fails", [False, True])
def test_replayed_run_equals_the_directly_logged_run(tmp_path, fails):
    """Metrics, params, tags, series, table, artifacts, figure, name, parent and status (FINISHED, or FAILED
    when the run raised) are the same, and the recording crosses a process boundary (it pickles)."""
    tracker = MLflowTracker(root=tmp_path / "mlruns")
    with tracker.start_run(run_name="sweep") as parent:
        with pytest.raises(RuntimeError) if fails else nullcontext():
            with tracker.start_run(run_name="demo·k=5", tags={"dataset": "demo"}, parent_run_id=parent) as run_id:
                _log(tracker, tmp_path)
                if fails:
                    raise RuntimeError("boom")
        reserved = tracker.client.create_run(tracker.experiment_id(), tags={"mlflow.parentRunId": parent}).info.run_id
        recorder = RecordingTracker(reserved)
        with pytest.raises(RuntimeError) if fails else nullcontext():
            with recorder.start_run(run_name="demo·k=5", tags={"dataset": "demo"}, parent_run_id=parent) as got:
                assert got == reserved and recorder.status == "RUNNING"
                _log(recorder, tmp_path)
                if fails:
                    raise RuntimeError("boom")
        assert tracker.client.get_run(reserved).data.metrics == {}  # nothing reached MLflow before the replay
        pickle.loads(pickle.dumps(recorder)).replay(tracker)
    expected = _snapshot(tracker, run_id)
    assert expected["status"] == ("FAILED" if fails else "FINISHED") and expected["metrics"]["ndcg_at_10"] == 0.5
    assert _snapshot(tracker, reserved) == expected
