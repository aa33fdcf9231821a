"""A notebook stage that runs a real evaluation: the evaluation's MLflow run is nested under the stage's run
(itself a child of the pipeline's parent run), and the executed notebook is logged as HTML too."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from ragbench.notebooks.pipeline import NotebookPipeline
from ragbench.tracking.parent import PARENT_RUN_ENV, inherited_parent, nested_under

EVALUATE = (
    "from ragbench.config import build, compose\n"
    "from ragbench.evaluation.run import run_experiment\n"
    "result = run_experiment(build(compose(['generator=extractive', 'retriever=bm25', 'max_queries=3',\n"
    "                                       'progress=false', 'metrics.names=[ndcg@10,f1]', *overrides])))\n"
    "print('run', result.run_id)"
)


def test_parent_is_inherited_only_for_the_same_tracking_uri():
    class Tracker:
        tracking_uri = "sqlite:////tmp/a/mlflow.db"

    with nested_under("abc123", "sqlite:////tmp/a/mlflow.db"):
        assert inherited_parent(Tracker()) == "abc123"
        Tracker.tracking_uri = "sqlite:////tmp/other/mlflow.db"
        assert inherited_parent(Tracker()) is None  # a run id from another store would point nowhere
    import os

    assert PARENT_RUN_ENV not in os.environ


@pytest.mark.slow
def test_notebook_evaluation_run_is_nested_under_the_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGBENCH_HOME", str(tmp_path / "home"))
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    params = new_code_cell("overrides = []")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell(EVALUATE)]
    nbformat.write(nb, str(tmp_path / "evaluate.ipynb"))
    spec = tmp_path / "eval-pipe.yaml"
    spec.write_text(f"stages:\n  - {{name: evaluate, notebook: {tmp_path / 'evaluate.ipynb'}}}\n")

    run = NotebookPipeline(echo=lambda _: None, progress=False).run(spec, runs_dir=tmp_path / "runs")

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'home' / 'mlflow.db'}")
    stage_id = run.stages[0]["mlflow_run_id"]
    assert client.get_run(stage_id).data.tags["mlflow.parentRunId"] == run.parent_run_id
    stage_metrics = client.get_run(stage_id).data.metrics  # grouped like every other figure (issue 17)
    assert stage_metrics["stage/seconds"] > 0 and stage_metrics["stage/failed"] == 0 and "seconds" not in stage_metrics
    assert client.get_run(run.parent_run_id).data.metrics == {"pipeline/stages_done": 1.0}
    executed = nbformat.read(str(run.run_dir / "01_evaluate.ipynb"), as_version=4)
    printed = "".join(o.get("text", "") for o in executed.cells[-1].outputs if o.get("name") == "stdout")
    [eval_id] = re.findall(r"^run ([0-9a-f]{32})$", printed, flags=re.M)
    evaluation = client.get_run(eval_id)
    assert evaluation.data.tags["mlflow.parentRunId"] == stage_id and evaluation.data.tags["dataset"] == "demo"
    assert evaluation.data.metrics["counts/questions"] == 3
    html = Path(run.run_dir / "01_evaluate.html")
    assert html.is_file() and f"run {eval_id}" in html.read_text(encoding="utf-8")
    logged = {a.path: a.file_size for a in client.list_artifacts(stage_id, "notebooks")}
    assert set(logged) == {"notebooks/01_evaluate.ipynb", "notebooks/01_evaluate.html"}
    assert logged["notebooks/01_evaluate.html"] > 10_000
