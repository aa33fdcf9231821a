"""Sweeps on Ray (``ragbench run -m ... executor=ray``): every trial a Ray task, run in parallel.

What each side does, and why:

- **The driver ingests** every trial's dataset first, one trial after the other, exactly as a local
  sweep does before each trial (on Ray actors too when ``executor=ray``): there stays one writer
  per tenant, so trials never write the same LanceDB tables at once. A trial sharing the
  previous one's index finds it unchanged and skips it, as locally.
- **The driver reserves each trial's MLflow child run** (created under the sweep's parent) and
  passes its id to the task, so the trial's checkpoint folder (``<home>/runs/<run id>``) is named
  after its MLflow run, as in a local sweep.
- **A Ray task runs the trial** (:func:`~ragbench.evaluation.run.run_experiment`, in-process inside
  the task: ``executor=local`` there) with a :class:`~ragbench.tracking.recorder.RecordingTracker`
  instead of MLflow, and returns the report and the recorded calls.
- **The driver replays** each trial's calls into its child run, in the trials' order. Only the
  driver writes MLflow: MLflow's sqlite backend is one writer (several processes writing one sqlite
  file fail with "database is locked"), and the same code works unchanged with a tracking server.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragbench.errors import ConfigError, RagbenchError
from ragbench.evaluation.sweep import RunMany, Trial
from ragbench.executor import ExecutorSettings, ensure_ray


@dataclass
class _Prepared:
    """A trial made ready on the driver: its resolved config (``executor=local``), index stats and run id."""

    overrides: list[str]
    config: dict[str, Any] = field(default_factory=dict, repr=False)
    stats: list = field(default_factory=list, repr=False)
    run_id: str | None = None
    error: str | None = None


def check_not_swept(axes: Sequence[tuple[str, list[str]]]) -> None:
    """``executor`` says where trials run, not what they measure: sweeping it is an error."""
    swept = [key for key, _ in axes if key.partition(".")[0] == "executor"]
    if swept:
        raise ConfigError(
            f"{swept[0]} is swept, but the executor only says where trials run (their results are the same). "
            "Give it once: `ragbench run -m ... executor=ray` runs every trial as a Ray task."
        )


def ray_trials(executor: ExecutorSettings, tracker: Any) -> RunMany:
    """A ``run_many(combos, parent_run_id)`` for :func:`~ragbench.evaluation.sweep.run_sweep` on Ray.

    Each task reserves ``executor.actor_cpus`` CPUs; a trial whose worker dies is run again from the
    start up to ``executor.max_retries`` times (a trial is a pure function of its config).

    Example:
        >>> run_sweep(overrides, experiment_trial, tracker=tracker, run_many=ray_trials(settings, tracker))  # doctest: +SKIP
    """

    def run_many(combos: list[list[str]], parent: str | None) -> list[Trial]:
        ray = ensure_ray(executor)
        prepared = [_prepare(list(combo), tracker, parent) for combo in combos]
        task = ray.remote(_trial).options(num_cpus=executor.actor_cpus, max_retries=executor.max_retries)
        refs = [None if p.error else task.remote(p.config, parent, p.run_id, p.stats) for p in prepared]
        return _gather(ray, prepared, refs, tracker)

    return run_many


def _prepare(overrides: list[str], tracker: Any, parent: str | None) -> _Prepared:
    """Compose and check the trial, ingest its dataset here, reserve its child run."""
    from omegaconf import OmegaConf, open_dict

    from ragbench.config import build
    from ragbench.evaluation.naming import compose_named
    from ragbench.evaluation.run import ingest_dataset

    try:
        cfg = compose_named(overrides)
        parts = build(cfg).check()
        stats = ingest_dataset(parts)
    except RagbenchError as exc:  # as experiment_trial: the trial fails alone
        return _Prepared(overrides, error=str(exc))
    with open_dict(cfg):
        cfg.executor = OmegaConf.create({"kind": "local"})  # inside its task the trial runs in-process
    run_id = None
    if getattr(tracker, "client", None) is not None and getattr(tracker, "experiment_id", None) is not None:
        tags = {"mlflow.parentRunId": parent} if parent else {}
        run_id = tracker.client.create_run(tracker.experiment_id(), run_name=cfg.get("run_name"), tags=tags).info.run_id
    return _Prepared(overrides, OmegaConf.to_container(cfg, resolve=True), stats, run_id)


def _gather(ray, prepared: list[_Prepared], refs: list, tracker: Any) -> list[Trial]:
    """Each trial's result, in order; its recorded MLflow calls replayed into its reserved run."""
    trials: list[Trial] = []
    try:
        for p, ref in zip(prepared, refs):
            if ref is None:
                trials.append(Trial(p.overrides, error=p.error))
                continue
            recorder, outcome, error = ray.get(ref)
            recorder.replay(tracker)
            if recorder.status is None and p.run_id:  # failed before its run started: none, as locally
                tracker.client.delete_run(p.run_id)
            if error is not None:
                trials.append(Trial(p.overrides, run_id=recorder.run_id, error=error))
            else:
                metrics, rows = outcome
                trials.append(Trial(p.overrides, run_id=p.run_id, metrics=metrics, rows=rows))
    except BaseException:
        for p in prepared[len(trials) :]:  # an unexpected error (a bug, Ray itself): no run stays RUNNING
            if p.run_id:
                tracker.client.set_terminated(p.run_id, status="FAILED")
        raise
    return trials


def _trial(config: dict[str, Any], parent: str | None, run_id: str | None, stats: list):
    """The Ray task: one trial in this worker, logging into a recorder; returns (recorder, (metrics, rows), error)."""
    from omegaconf import OmegaConf

    from ragbench.config import build
    from ragbench.evaluation.run import run_experiment
    from ragbench.tracking.recorder import RecordingTracker

    recorder = RecordingTracker(run_id)
    try:
        parts = build(OmegaConf.create(config))
        parts.tracker = recorder
        if run_id:  # a retried task (its worker died) starts again from nothing
            shutil.rmtree(Path(parts.settings.home) / "runs" / run_id, ignore_errors=True)
        result = run_experiment(parts, parent_run_id=parent, index_stats=stats)
    except RagbenchError as exc:
        return recorder, None, str(exc)
    return recorder, (dict(result.report.overall), result.report.rows()), None
