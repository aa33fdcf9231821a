"""Run notebook pipelines with papermill, log them to MLflow, resume after a failure.

Each run gets a folder ``<runs_dir>/<pipeline>/<timestamp>/`` holding the executed
notebooks (``01_<stage>.ipynb``, ...), one output folder per stage (passed to the
notebook as ``output_dir``) and ``pipeline.json``, the state that ``resume`` reads.
In MLflow a parent run ``pipeline:<name>`` holds one child run per stage; every
executed notebook is an artifact of both, as ``.ipynb`` and as ``.html``. Runs a notebook
starts (evaluations, sweeps, DSPy) are nested under its stage's run (:mod:`ragbench.tracking.parent`).

Hydra overrides given to the pipeline (``max_queries=5 retriever=bm25``) are appended
to each stage's ``overrides`` parameter, and also pick the tracker (``home=...``,
``tracking=none``), so the pipeline's runs land beside the notebooks' own runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ragbench.errors import ConfigError, RagbenchError
from ragbench.notebooks.spec import PipelineSpec, Stage, load_pipeline
from ragbench.protocols import Tracker
from ragbench.tracking.metric_names import mlflow_key
from ragbench.tracking.parent import nested_under

STATE_FILE = "pipeline.json"


class StageError(RagbenchError):
    """A pipeline stage (a notebook) failed; the message names the notebook and the cell."""

    def __init__(self, message: str, *, stage: str, notebook: Path, cell: int | None, run_dir: Path) -> None:
        super().__init__(message)
        self.stage, self.notebook, self.cell, self.run_dir = stage, notebook, cell, run_dir


@dataclass
class PipelineRun:
    """The state of one pipeline run, saved as ``pipeline.json`` in its folder."""

    pipeline: str
    source: str
    run_dir: Path
    overrides: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    stages: list[dict[str, Any]] = field(default_factory=list)
    parent_run_id: str | None = None
    created: str = ""

    @property
    def finished(self) -> bool:
        return all(s["status"] == "done" for s in self.stages)

    def notebooks(self) -> list[Path]:
        """Executed notebooks of the stages that ran, in stage order."""
        return [self.run_dir / s["output"] for s in self.stages if s["status"] in ("done", "failed")]

    def save(self) -> None:
        data = {k: v for k, v in self.__dict__.items() if k != "run_dir"}
        tmp = self.run_dir / f"{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
        tmp.replace(self.run_dir / STATE_FILE)

    @classmethod
    def load(cls, run_dir: str | Path) -> PipelineRun:
        run_dir = Path(run_dir).expanduser().resolve()
        path = run_dir / STATE_FILE
        if not path.is_file():
            raise ConfigError(f"{run_dir} is not a pipeline run folder (no {STATE_FILE}). Give a folder such as runs/quickstart/<timestamp>.")
        return cls(run_dir=run_dir, **json.loads(path.read_text(encoding="utf-8")))


def _new_run_dir(runs_dir: Path, pipeline: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = runs_dir / pipeline
    path, n = base / stamp, 1
    while path.exists():
        n += 1
        path = base / f"{stamp}-{n}"
    path.mkdir(parents=True)
    return path.resolve()


def latest_run_dir(runs_dir: str | Path, pipeline: str, *, unfinished: bool = True) -> Path:
    """The newest run folder of ``pipeline`` under ``runs_dir`` (only unfinished ones by default)."""
    folder = Path(runs_dir) / pipeline
    runs = sorted((p for p in folder.glob("*") if (p / STATE_FILE).is_file()), key=lambda p: p.stat().st_mtime)
    if unfinished:
        runs = [p for p in runs if not PipelineRun.load(p).finished]
    if not runs:
        what = "unfinished run" if unfinished else "run"
        raise ConfigError(f"No {what} of pipeline {pipeline!r} under {folder.resolve()}. Start one with: ragbench pipeline run {pipeline}")
    return runs[-1].resolve()


def _tracker(overrides: Sequence[str]) -> Tracker:
    from ragbench.config import build, compose

    return build(compose(list(overrides))).tracker


def _stage_parameters(stage: Stage, run: PipelineRun, out_dir: Path, declared: Sequence[str]) -> dict[str, Any]:
    params = {**stage.parameters, **run.parameters}
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise ConfigError(
            f"Stage {stage.name!r}: notebook {stage.notebook.name} has no parameter(s) {unknown}. "
            f"Its parameters cell declares: {', '.join(declared) or '(none)'}. Fix the pipeline file or the -p options."
        )
    if run.overrides and "overrides" in declared:  # a stage without the parameter uses no config
        params["overrides"] = [*list(params.get("overrides") or []), *run.overrides]
    if "output_dir" in declared:
        params["output_dir"] = str(out_dir)
    return params


def declared_parameters(notebook: str | Path) -> list[str]:
    """Names assigned in the notebook's cell tagged ``parameters``, in order.

    Raises:
        ConfigError: the notebook has no ``parameters`` cell, or it is not valid Python.
    """
    import ast

    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise ConfigError(f"Notebook {notebook} has no cell tagged 'parameters'; papermill needs one. "
                          "Tag the cell that holds the defaults (JupyterLab: property inspector > cell tags).")
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as exc:
        raise ConfigError(f"The parameters cell of {notebook} is not valid Python: {exc}") from exc
    names = [t.id for node in tree.body if isinstance(node, (ast.Assign, ast.AnnAssign))
             for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)]
    return list(dict.fromkeys(names))


def _cell_error(exc: Exception, output: Path) -> tuple[int | None, str]:
    """Map papermill's failing cell to its 1-based number in the source notebook, with a description."""
    import nbformat

    index = getattr(exc, "cell_index", None)
    if index is None:
        return None, f"{type(exc).__name__}: {exc}"
    nb = nbformat.read(str(output), as_version=4)
    injected = [i for i, c in enumerate(nb.cells) if "injected-parameters" in c.get("metadata", {}).get("tags", [])]
    number = index + 1 - (1 if injected and index > injected[0] else 0)
    first_line = next((ln for ln in str(exc.source).splitlines() if ln.strip()), "")
    return number, f"{exc.ename}: {exc.evalue}\n  cell {number} (In [{exc.exec_count}]) starts: {first_line}"


class NotebookPipeline:
    """Execute a pipeline's notebooks in order into a run folder, tracking each one.

    Args:
        echo: Where progress lines go (``print`` by default).
        progress: Show papermill's per-cell progress bar.
        kernel_name: Jupyter kernel; ``None`` uses the notebook's own (``python3``).

    Example:
        >>> runner = NotebookPipeline()  # doctest: +SKIP
        >>> run = runner.run("quickstart", overrides=["max_queries=10"])  # doctest: +SKIP
        >>> run.notebooks()  # doctest: +SKIP
        [PosixPath('runs/quickstart/20261129-190000/01_quickstart.ipynb')]
    """

    def __init__(self, *, echo: Callable[[str], None] = print, progress: bool = True, kernel_name: str | None = None) -> None:
        self.echo = echo
        self.progress = progress
        self.kernel_name = kernel_name

    def run(
        self, pipeline: str | Path, *, overrides: Sequence[str] = (), parameters: Mapping[str, Any] | None = None,
        runs_dir: str | Path = "runs",
    ) -> PipelineRun:
        """Start a new run of ``pipeline`` (a name in ``configs/pipeline`` or a .yaml path)."""
        spec = load_pipeline(pipeline)
        run_dir = _new_run_dir(Path(runs_dir).expanduser(), spec.name)
        run = PipelineRun(
            pipeline=spec.name, source=str(spec.source), run_dir=run_dir, overrides=list(overrides),
            parameters=dict(parameters or {}), created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            stages=[{"name": s.name, "notebook": str(s.notebook), "output": f"{i:02d}_{s.name}.ipynb", "status": "pending"}
                    for i, s in enumerate(spec.stages, 1)],
        )
        run.save()
        return self._execute(spec, run)

    def resume(self, run_dir: str | Path) -> PipelineRun:
        """Continue a run from its first stage that is not done (the pipeline file is re-read)."""
        run = PipelineRun.load(run_dir)
        if run.finished:
            self.echo(f"pipeline {run.pipeline!r} in {run.run_dir} already finished; nothing to resume")
            return run
        spec = load_pipeline(run.source)
        by_name = {s["name"]: s for s in run.stages}
        run.stages = [by_name.get(s.name) or {"name": s.name, "status": "pending"} for s in spec.stages]
        for i, (entry, stage) in enumerate(zip(run.stages, spec.stages, strict=True), 1):
            entry.update(notebook=str(stage.notebook), output=f"{i:02d}_{stage.name}.ipynb")
        return self._execute(spec, run)

    def _execute(self, spec: PipelineSpec, run: PipelineRun) -> PipelineRun:
        for stage in spec.stages:  # check every stage's parameters before running anything
            _stage_parameters(stage, run, run.run_dir, declared_parameters(stage.notebook))
        tracker = _tracker(run.overrides)
        tags = {"ragbench.pipeline": spec.name, "ragbench.run_dir": str(run.run_dir)}
        with tracker.start_run(run_name=f"pipeline:{spec.name}", tags=tags, run_id=run.parent_run_id) as parent:
            if parent and not run.parent_run_id:
                run.parent_run_id = parent
                run.save()
                tracker.log_config({"pipeline": spec.name, "source": str(spec.source), "overrides": run.overrides,
                                    "parameters": run.parameters, "stages": [s.name for s in spec.stages]})
            total = len(spec.stages)
            for i, (stage, entry) in enumerate(zip(spec.stages, run.stages, strict=True), 1):
                if entry["status"] == "done":
                    self.echo(f"[{i}/{total}] {stage.name}: done earlier, skipped")
                    continue
                self._stage(stage, entry, run, tracker, position=f"[{i}/{total}]")
            if parent:
                tracker.log_metrics({mlflow_key("pipeline.stages_done"): float(total)})
        self.echo(f"pipeline {spec.name!r} finished: {run.run_dir}")
        return run

    def _stage(self, stage: Stage, entry: dict, run: PipelineRun, tracker: Tracker, *, position: str) -> None:
        output = run.run_dir / entry["output"]
        out_dir = run.run_dir / stage.name
        out_dir.mkdir(exist_ok=True)
        params = _stage_parameters(stage, run, out_dir, declared_parameters(stage.notebook))
        self.echo(f"{position} {stage.name}: {_short(stage.notebook)} -> {_short(output)}")
        entry.update(status="running", parameters=params, error=None)
        run.save()
        start = time.perf_counter()
        with tracker.start_run(run_name=stage.name, parent_run_id=run.parent_run_id,
                    tags={"ragbench.pipeline": run.pipeline, "ragbench.notebook": str(stage.notebook)}) as child:
            entry["mlflow_run_id"] = child
            with nested_under(child, getattr(tracker, "tracking_uri", None)):  # the notebook's runs nest here
                error = self._papermill(stage, output, params, out_dir)
            entry["seconds"] = round(time.perf_counter() - start, 3)
            self._log_stage(tracker, child, stage, output, out_dir, params, entry["seconds"], failed=error is not None)
            if error is not None:
                entry.update(status="failed", error=str(error))
                run.save()
                raise error
        entry["status"] = "done"
        run.save()
        self.echo(f"{position} {stage.name}: done in {entry['seconds']:.1f}s")

    def _papermill(self, stage: Stage, output: Path, params: dict, out_dir: Path) -> StageError | None:
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        import logging

        # papermill's own parameter parser cannot read some valid lines (e.g. "=" inside strings); we
        # read the parameters cell with ast instead, so its warnings are noise.
        logging.getLogger("papermill.translators").setLevel(logging.ERROR)
        try:
            pm.execute_notebook(
                str(stage.notebook), str(output), parameters=params, kernel_name=self.kernel_name,
                progress_bar=self.progress, cwd=str(out_dir),
            )
        except PapermillExecutionError as exc:
            cell, detail = _cell_error(exc, output)
            return self._error(stage, output, cell, detail)
        except Exception as exc:  # noqa: BLE001 - kernel missing, bad notebook: still a failed stage
            if type(exc).__name__ == "NoSuchKernel":
                detail = f"{exc}. Install the kernel with: python -m ipykernel install --sys-prefix (or pass --kernel NAME)"
            else:
                detail = f"{type(exc).__name__}: {exc}"
            return self._error(stage, output, None, detail)
        return None

    def _error(self, stage: Stage, output: Path, cell: int | None, detail: str) -> StageError:
        run_dir = output.parent
        where = f"cell {cell}" if cell is not None else "before any cell ran"
        message = (
            f"Stage {stage.name!r} failed in notebook {_short(stage.notebook)} at {where}: {detail}\n"
            f"  executed notebook (with the traceback): {_short(output)}\n"
            f"  fix the cause, then continue from this stage: ragbench pipeline resume {_short(run_dir)}"
        )
        return StageError(message, stage=stage.name, notebook=stage.notebook, cell=cell, run_dir=run_dir)

    @staticmethod
    def _log_stage(tracker, child, stage: Stage, output: Path, out_dir: Path, params: dict, seconds: float, *, failed: bool) -> None:
        if not child:
            return
        tracker.log_config({"notebook": str(stage.notebook), "parameters": params})
        tracker.log_metrics({mlflow_key("stage.seconds"): seconds, mlflow_key("stage.failed"): float(failed)})
        if output.is_file():
            files = [output, *([html] if (html := notebook_html(output)) else [])]
            parent = tracker.client.get_run(child).data.tags.get("mlflow.parentRunId")
            for path in files:
                tracker.log_artifact(path, "notebooks")
                if parent:  # the parent run holds every executed notebook too
                    tracker.client.log_artifact(parent, str(path), "notebooks")
        if any(out_dir.iterdir()):
            tracker.client.log_artifacts(child, str(out_dir), "outputs")


def notebook_html(notebook: Path) -> Path | None:
    """Write the executed ``notebook`` as HTML beside it (nbconvert's ``HTMLExporter``, outputs and figures
    included, readable without Jupyter); ``None`` with a warning on stderr when the export fails."""
    import sys

    import nbformat
    from nbconvert import HTMLExporter

    target = notebook.with_suffix(".html")
    try:
        body, _ = HTMLExporter().from_notebook_node(nbformat.read(str(notebook), as_version=4))
        target.write_text(body, encoding="utf-8")
    except Exception as exc:  # noqa: BLE001 - the .ipynb is still logged; the HTML copy is a convenience
        print(f"warning: could not export {notebook.name} as HTML ({type(exc).__name__}: {exc}); "
              "the executed .ipynb is logged", file=sys.stderr)
        return None
    return target


def _short(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
