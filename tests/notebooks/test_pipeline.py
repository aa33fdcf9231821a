"""The papermill pipeline runner on real notebooks, a real kernel and MLflow sqlite.

The stage notebooks here are tiny (no heavy imports) so a failing stage and a resume
take seconds; the repository's own notebooks run in test_notebooks_run.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from ragbench.errors import ConfigError
from ragbench.notebooks.pipeline import NotebookPipeline, PipelineRun, StageError, declared_parameters
from ragbench.notebooks.spec import load_pipeline, parse_parameter


def _notebook(path: Path, params: str, *body: str) -> Path:
    nb = new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    cell = new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, *(new_code_cell(src) for src in body)]
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Three light stages; the second fails until the file `fixed` exists. Tracking in tmp_path."""
    monkeypatch.setenv("RAGBENCH_HOME", str(tmp_path / "home"))
    log = tmp_path / "executions.log"
    count = f"open({str(log)!r}, 'a').write(stage + '\\n')"
    _notebook(tmp_path / "first.ipynb", "stage = 'first'\noutput_dir = '.'\noverrides = []",
              count, "from pathlib import Path\nPath(output_dir, 'result.json').write_text('{\"answer\": 42}')")
    _notebook(tmp_path / "second.ipynb", "stage = 'second'\nmarker = ''",
              count, "x = 1", f"from pathlib import Path\nif not Path(marker).exists():\n    raise ValueError('stage two is broken')",
              "print('second ok')")
    _notebook(tmp_path / "third.ipynb", "stage = 'third'\noverrides = []",
              count, "print('overrides:', overrides)")
    spec = tmp_path / "demo-pipe.yaml"
    spec.write_text(
        "description: three light stages\n"
        "stages:\n"
        f"  - {{name: first, notebook: {tmp_path / 'first.ipynb'}}}\n"
        f"  - {{name: second, notebook: {tmp_path / 'second.ipynb'}, parameters: {{marker: {tmp_path / 'fixed'}}}}}\n"
        f"  - {{name: third, notebook: {tmp_path / 'third.ipynb'}, parameters: {{overrides: [k=3]}}}}\n"
    )
    return tmp_path, spec, log


def _mlflow(tmp_path):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'home' / 'mlflow.db'}")


def test_failing_stage_names_notebook_and_cell_then_resume_continues(project):
    tmp_path, spec, log = project
    lines: list[str] = []
    runner = NotebookPipeline(echo=lines.append, progress=False)
    with pytest.raises(StageError) as info:
        runner.run(spec, overrides=["max_queries=2"], runs_dir=tmp_path / "runs")
    err = info.value
    message = str(err)
    assert err.stage == "second" and err.cell == 4 and err.notebook == tmp_path / "second.ipynb"
    assert "second.ipynb" in message and "cell 4" in message and "ValueError: stage two is broken" in message
    assert "ragbench pipeline resume" in message and str(err.run_dir.name) in message
    assert log.read_text().split() == ["first", "second"]
    state = PipelineRun.load(err.run_dir)
    assert [s["status"] for s in state.stages] == ["done", "failed", "pending"]
    failed_nb = nbformat.read(str(err.run_dir / "02_second.ipynb"), as_version=4)
    assert any(o.get("ename") == "ValueError" for c in failed_nb.cells for o in c.get("outputs", []))

    client = _mlflow(tmp_path)
    parent = client.get_run(state.parent_run_id)
    assert parent.info.status == "FAILED"

    (tmp_path / "fixed").write_text("ok")  # the fix
    resumed = runner.resume(err.run_dir)
    assert log.read_text().split() == ["first", "second", "second", "third"]  # first was not re-run
    assert resumed.finished and resumed.parent_run_id == state.parent_run_id
    assert any("first: done earlier, skipped" in line for line in lines)
    third = nbformat.read(str(err.run_dir / "03_third.ipynb"), as_version=4)
    assert "overrides: ['k=3', 'max_queries=2']" in third.cells[-1].outputs[0]["text"]
    assert json.loads((err.run_dir / "first" / "result.json").read_text()) == {"answer": 42}

    parent = client.get_run(state.parent_run_id)
    assert parent.info.status == "FINISHED" and parent.info.run_name == "pipeline:demo-pipe"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id, "notebooks")}
    names = ["01_first", "02_second", "03_third"]
    assert artifacts == {f"notebooks/{n}.{ext}" for n in names for ext in ("ipynb", "html")}
    html = (err.run_dir / "03_third.html").read_text(encoding="utf-8")  # the executed notebook, outputs included
    assert html.lstrip().lower().startswith("<!doctype html") and "overrides: ['k=3', 'max_queries=2']" in html
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    statuses = sorted((c.info.run_name, c.info.status) for c in children)
    assert statuses == [("first", "FINISHED"), ("second", "FAILED"), ("second", "FINISHED"), ("third", "FINISHED")]
    first = next(c for c in children if c.info.run_name == "first")
    assert {a.path for a in client.list_artifacts(first.info.run_id, "outputs")} == {"outputs/result.json"}
    assert runner.resume(err.run_dir).finished  # a finished run resumes to a no-op


def test_cli_reports_failure_and_resumes_latest_run(project):
    tmp_path, spec, log = project
    env = {**os.environ, "RAGBENCH_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "ragbench.cli", "pipeline"]
    proc = subprocess.run([*cmd, "run", str(spec), "tracking=none", "--runs-dir", str(tmp_path / "runs"), "--no-progress"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "Stage 'second' failed in notebook" in proc.stderr and "at cell 4: ValueError: stage two is broken" in proc.stderr
    assert "Traceback" not in proc.stderr
    (tmp_path / "fixed").write_text("ok")
    proc = subprocess.run([*cmd, "resume", "demo-pipe", "--runs-dir", str(tmp_path / "runs"), "--no-progress"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "[1/3] first: done earlier, skipped" in proc.stdout and "[3/3] third: done" in proc.stdout
    assert log.read_text().split() == ["first", "second", "second", "third"]
    assert "MLflow parent run id" not in proc.stdout  # tracking=none: nothing logged


def test_unknown_pipeline_and_bad_stage_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="Unknown pipeline 'quickstrat'.*Did you mean: 'quickstart'"):
        load_pipeline("quickstrat")
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages:\n  - {name: one, notebook: notebooks/missing.ipynb}\n")
    with pytest.raises(ConfigError, match="not an existing .ipynb file"):
        load_pipeline(bad)
    bad.write_text("stages:\n  - {name: One Two, notebook: notebooks/01_quickstart.ipynb}\n")
    with pytest.raises(ConfigError, match="stage name 'One Two' is invalid"):
        load_pipeline(bad)
    bad.write_text("stagse: []\n")
    with pytest.raises(ConfigError, match="unknown key.*Did you mean: 'stages'"):
        load_pipeline(bad)


def test_unknown_parameter_is_rejected_before_running(project):
    tmp_path, spec, log = project
    with pytest.raises(ConfigError, match=r"has no parameter\(s\) \['tenat'\].*declares: stage, output_dir, overrides"):
        NotebookPipeline(echo=lambda _: None, progress=False).run(
            spec, parameters={"tenat": "x"}, overrides=["tracking=none"], runs_dir=tmp_path / "runs")
    assert not log.exists()


def test_parameters_parsing_and_declared_names(tmp_path):
    assert parse_parameter("max=3") == ("max", 3)
    assert parse_parameter("overrides=[k=5, retriever=bm25]") == ("overrides", ["k=5", "retriever=bm25"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_parameter("no-equals")
    nb = _notebook(tmp_path / "p.ipynb", "a = 1\nb: int = 2  # a=b\nc = {\n  'x': ['k=1'],\n}")
    assert declared_parameters(nb) == ["a", "b", "c"]


@pytest.mark.slow
def test_cli_quickstart_on_a_fresh_folder(tmp_path):
    """`ragbench pipeline run quickstart` from an empty folder: runs/quickstart/<ts>/ and an MLflow parent run."""
    env = {**os.environ, "RAGBENCH_HOME": str(tmp_path / "home")}
    cmd = [sys.executable, "-m", "ragbench.cli", "pipeline"]
    listed = subprocess.run([*cmd, "list"], capture_output=True, text=True, env=env, check=True).stdout
    assert "quickstart" in listed and "smoke" in listed
    proc = subprocess.run([*cmd, "run", "quickstart", "retriever=bm25", "max_queries=5", "progress=false", "--no-progress"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[1/1] quickstart: done" in proc.stdout
    [run_dir] = list((tmp_path / "runs" / "quickstart").iterdir())
    executed = nbformat.read(str(run_dir / "01_quickstart.ipynb"), as_version=4)
    assert executed.metadata["papermill"]["parameters"]["overrides"] == ["retriever=bm25", "max_queries=5", "progress=false"]
    assert all(c.execution_count for c in executed.cells if c.cell_type == "code")
    parent_id = proc.stdout.split("MLflow parent run id: ")[1].split()[0]
    client = _mlflow(tmp_path)
    assert client.get_run(parent_id).info.status == "FINISHED"
    notebooks = {a.path for a in client.list_artifacts(parent_id, "notebooks")}
    assert notebooks == {"notebooks/01_quickstart.ipynb", "notebooks/01_quickstart.html"}
    [evaluation] = client.search_runs(  # the notebook's own evaluation run, nested under the stage's run
        [client.get_run(parent_id).info.experiment_id], "tags.dataset = 'demo'"
    )
    stage = client.get_run(evaluation.data.tags["mlflow.parentRunId"])
    assert stage.info.run_name == "quickstart" and stage.data.tags["mlflow.parentRunId"] == parent_id
    assert len(json.loads((run_dir / "quickstart" / "summary.json").read_text())) > 3


def test_nbval_lax_catches_a_changed_checked_output(tmp_path):
    """The nbval step is a real check: a marked cell whose output changes fails, unmarked ones may vary."""
    from tests.notebooks._nbval import run_nbval

    nb = _notebook(tmp_path / "src.ipynb", "output_dir = '.'", "# NBVAL_CHECK_OUTPUT\nprint(6 * 7)", "import time\nprint(time.time())")
    spec = tmp_path / "nbval.yaml"
    spec.write_text(f"stages:\n  - {{name: stable, notebook: {nb}}}\n")
    run = NotebookPipeline(echo=lambda _: None, progress=False).run(spec, overrides=["tracking=none"], runs_dir=tmp_path / "runs")
    [executed] = run.notebooks()
    ok = run_nbval([executed], cwd=tmp_path)
    assert ok.returncode == 0 and "4 passed" in ok.stdout  # parameters, injected parameters, 2 cells, ok.stdout[-2000:]
    changed = nbformat.read(str(executed), as_version=4)
    changed.cells[2].outputs[0]["text"] = "41\n"  # as if the notebook's result had changed
    nbformat.write(changed, str(executed))
    failed = run_nbval([executed], cwd=tmp_path)
    assert failed.returncode == 1 and "1 failed, 3 passed" in failed.stdout, failed.stdout[-2000:]
