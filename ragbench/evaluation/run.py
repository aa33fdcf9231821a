"""One evaluation run end to end: index the dataset if needed, evaluate, log, report.

Results are checkpointed per question under ``<home>/runs/<run id>/``; ``resume=true``
continues the newest unfinished run with the same configuration (``resume=<run id>`` a
given one) in the same MLflow run, asking only the questions not yet finished.
"""

from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ragbench.config import Components
from ragbench.errors import ConfigError, MetricFailureRateError
from ragbench.evaluation.evaluate import EvaluationReport, evaluate
from ragbench.ingestion.datasets import IndexStats, index_documents

if TYPE_CHECKING:
    from ragbench.telemetry import RunTelemetry


@dataclass
class RunResult:
    """What :func:`run_experiment` returns: the report, indexing stats and the tracking run id."""

    report: EvaluationReport
    index_stats: list[IndexStats] = field(default_factory=list)
    run_id: str | None = None
    run_name: str = ""
    seconds: float = 0.0
    run_dir: Path | None = None
    resumed: int = 0  # questions taken from the checkpoint instead of being asked again


def ingest_dataset(parts: Components) -> list[IndexStats]:
    """Index every tenant's documents of the run's dataset (skipping unchanged chunks)."""
    from ragbench.executor import ExecutorSettings
    from ragbench.ingestion.ingest import one_actor_pool

    ds = parts.dataset
    executor = ExecutorSettings.from_config(parts.cfg.get("executor"))
    with one_actor_pool():  # executor=ray: one pool of actors for every tenant
        return [
            index_documents(
                ds.documents_of(tenant),
                tenant=tenant,
                store=parts.store,
                embedder=parts.embedder,
                chunker=parts.chunker,
                batch_size=parts.settings.index_batch_size,
                commit_seconds=float(parts.settings.index_commit_seconds),
                progress=parts.settings.progress,
                executor=executor,
            )
            for tenant in ds.tenants
        ]


def llm_tags(generator) -> dict[str, str]:
    """``llm.model`` (name@weights revision) and ``llm.random_weights`` for runs whose generator is an LLM."""
    if not hasattr(generator, "random_weights"):
        return {}
    return {
        "llm.model": str(getattr(generator, "model_id", "")),
        "llm.random_weights": str(bool(generator.random_weights)).lower(),
    }


def _index_metrics(stats: list[IndexStats]) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in stats:
        prefix = f"index.{s.tenant}"
        out.update(
            {
                f"{prefix}.chunks": s.chunks,
                f"{prefix}.written": s.written,
                f"{prefix}.embedded": s.embedded,
                f"{prefix}.seconds": s.seconds,
                f"{prefix}.failed_documents": s.failed,
            }
        )
        out.update({f"{prefix}.{k}": v for k, v in s.index.items()})
    return out


def _resume_folder(runs_dir: Path, fingerprint: str, resume) -> Path | None:
    """The run folder to continue: ``resume`` is false, true (newest matching unfinished run) or a run id."""
    from ragbench.evaluation.checkpoint import find_resumable

    if resume in (None, False, "false", "False", ""):
        return None
    if resume is True or str(resume).lower() == "true":
        return find_resumable(runs_dir, fingerprint)
    folder = runs_dir / str(resume)
    if not (folder / "config.json").exists():
        known = sorted(p.name for p in runs_dir.iterdir()) if runs_dir.is_dir() else []
        raise ConfigError(
            f"resume={resume!r}: no checkpointed run with that id under {runs_dir}. "
            f"Known runs: {', '.join(known[-10:]) or 'none'}. Use resume=true for the newest unfinished run."
        )
    return folder


def _check_failure_rates(report: EvaluationReport, max_rate: float) -> None:
    """Raise :class:`MetricFailureRateError` when failed answers or unscorable items exceed ``max_rate``."""
    rates = dict(report.failure_rates())
    failed = [r.answer.error for r in report.results if r.answer is not None and not r.answer.ok]
    if failed:  # a failed answer is never scored: it counts like a judge failure
        rates["answers"] = report.overall["answers.failure_rate"]
    bad = {m: r for m, r in rates.items() if r > max_rate}
    if not bad:
        return

    def example(m: str) -> str:
        if m == "answers":
            return f"{len(failed)} of {len(report.results)}; e.g. {failed[0][:200]!r}"
        return f"e.g. {next(r.metric_errors[m] for r in report.results if m in r.metric_errors)[:200]!r}"

    detail = "; ".join(f"{m}: {rate:.1%} failed ({example(m)})" for m, rate in bad.items())
    fixes = (["Fix the generator (is its server up? base_url, model, timeout_s)"] if "answers" in bad else []) + (
        ["Fix the judge (server, model, timeout)"] if set(bad) - {"answers"} else []
    )
    raise MetricFailureRateError(
        f"Too many items failed (allowed: {max_rate:.1%}): {detail}. Per-item reasons are in the per-question "
        f"table (error, metric_errors). {'; '.join(fixes)}, or raise max_failure_rate.",
        report=report,
    )


def run_experiment(
    parts: Components, *, parent_run_id: str | None = None, index_stats: list[IndexStats] | None = None
) -> RunResult:
    """Run the configured evaluation (resuming if ``resume`` is set), log it, and enforce ``max_failure_rate``.

    Every part is built first (:meth:`Components.check`), so a bad setting fails before anything is
    ingested or logged. GPU telemetry and per-stage throughput (:mod:`ragbench.telemetry`) go to the
    tracker and to ``telemetry.json`` in the run folder; a line on stderr says whether GPU metrics are on.
    Run inside a notebook pipeline's stage, the run is nested under the stage's run
    (:mod:`ragbench.tracking.parent`). ``index_stats``: the dataset was already ingested (by a sweep's
    driver, :mod:`ragbench.evaluation._ray_sweep`) with these stats; it is not ingested again here.
    """
    from ragbench.telemetry import RunTelemetry
    from ragbench.tracking.parent import inherited_parent

    parts.check()
    parent_run_id = parent_run_id or inherited_parent(parts.tracker)  # e.g. a notebook stage of a pipeline
    with RunTelemetry(parts.settings.system_metrics, embedder=parts.embedder) as telemetry:
        print(telemetry.status_line(), file=sys.stderr)
        return _run(parts, parent_run_id, telemetry, index_stats)


def run_name(parts: Components) -> str:
    """``run_name`` if set, else ``<dataset>-<variant>``, else ``<dataset>-<method>`` for a method other than
    standard RAG, else ``<dataset>-<retriever class>``."""
    settings = parts.settings
    method = method_name(parts)
    variant = settings.variant or (method if method != "standard" else type(parts.retriever).__name__)
    return settings.run_name or f"{parts.dataset.name}-{variant}"


def method_name(parts: Components) -> str:
    """The name of the run's RAG method (``standard`` without a ``method`` config)."""
    return getattr(parts.pipeline.method, "name", "standard")


def _run(
    parts: Components, parent_run_id: str | None, telemetry: RunTelemetry, index_stats: list[IndexStats] | None
) -> RunResult:
    from omegaconf import OmegaConf

    from ragbench.evaluation.checkpoint import config_fingerprint, mark_killed_runs

    start = time.perf_counter()
    settings = parts.settings
    config = OmegaConf.to_container(parts.cfg, resolve=True)
    fingerprint = config_fingerprint(config)
    runs_dir = settings.home / "runs"
    folder = _resume_folder(runs_dir, fingerprint, settings.resume)
    mark_killed_runs(runs_dir, tracker=parts.tracker, keep=folder)  # dead runs must not stay RUNNING
    stats = ingest_dataset(parts) if index_stats is None else index_stats
    with telemetry.throughput.paused():  # a warm-up embedding is not the run's throughput
        if _ray_answer(parts) is None:
            parts.warm_up()  # load the query embedder and the generator's weights before any question is timed
        else:
            parts.check()  # executor=ray: the actors load the models (EvalActor); here only validate
    tags = {
        "dataset": parts.dataset.name,
        "method": method_name(parts),
        "retriever": repr(parts.retriever),
        "generator": repr(parts.generator),
        **llm_tags(parts.generator),
        **telemetry.gpu.tags(),
    }
    name = run_name(parts)
    with parts.tracker.start_run(
        run_name=name, tags=tags, run_id=folder.name if folder else None, parent_run_id=parent_run_id
    ) as run_id:
        checkpoint = _checkpoint(parts, runs_dir, folder, fingerprint, run_id, config)
        try:
            report, resumed = _evaluate(parts, checkpoint, telemetry, run_id)
        finally:
            checkpoint.close()
        _log(parts, report, stats, resumed, telemetry, checkpoint, first=folder is None)
        checkpoint.finish()
        _check_failure_rates(report, settings.max_failure_rate)
    return RunResult(
        report=report,
        index_stats=stats,
        run_id=run_id,
        run_name=name,
        seconds=time.perf_counter() - start,
        run_dir=checkpoint.folder,
        resumed=resumed,
    )


def _checkpoint(
    parts: Components, runs_dir: Path, folder: Path | None, fingerprint: str, run_id: str | None, config: dict
):
    """A new run's checkpoint (config logged once), or the resumed run's (checked to be the same config)."""
    from ragbench.evaluation.checkpoint import Checkpoint

    if folder is not None:
        return Checkpoint(folder, fingerprint=fingerprint).open(resuming=True)
    parts.tracker.log_config(config)
    return Checkpoint(runs_dir / (run_id or uuid.uuid4().hex), fingerprint=fingerprint).open(run_id=run_id)


def _evaluate(
    parts: Components, checkpoint, telemetry: RunTelemetry, run_id: str | None
) -> tuple[EvaluationReport, int]:
    from ragbench.evaluation.system import system_metrics
    from ragbench.evaluation.traced import traced

    settings = parts.settings
    resumed = len(checkpoint.load())
    answer = _ray_answer(parts)
    trace_sample = 0.0 if answer is not None else settings.trace_sample  # traces are recorded in-process only
    pipeline = traced(parts.pipeline, parts.tracker, trace_sample, run_id=run_id)
    try:
        with (
            system_metrics(parts.tracker, run_id, settings.system_metrics, gpu_sampled=telemetry.gpu.on),
            telemetry.throughput.timed("evaluate") as counts,
        ):
            report = evaluate(
                parts.dataset,
                pipeline,
                parts.metrics,
                metric_names=parts.metrics.names,
                batch_size=settings.batch_size,
                progress=settings.progress,
                checkpoint=checkpoint,
                answer=answer,
            )
            counts["questions"] = len(report.results) - resumed
    finally:
        if pipeline is not parts.pipeline:
            pipeline.tracer.flush()  # sampled traces are written before the run ends
    return report, resumed


def _ray_answer(parts: Components):
    """The Ray per-question loop for ``executor=ray`` (``None``: the local one)."""
    from ragbench.executor import ExecutorSettings

    executor = ExecutorSettings.from_config(parts.cfg.get("executor"))
    if not executor.is_ray:
        return None
    from omegaconf import OmegaConf

    from ragbench.evaluation._ray import ray_answerer

    return ray_answerer(OmegaConf.to_container(parts.cfg, resolve=True), executor)


def _log(
    parts: Components,
    report: EvaluationReport,
    stats: list[IndexStats],
    resumed: int,
    telemetry: RunTelemetry,
    checkpoint,
    *,
    first: bool,
) -> None:
    from ragbench.evaluation.tracked import log_evaluation
    from ragbench.telemetry import JsonSink
    from ragbench.tracking.metric_names import GroupedSink

    tracker = parts.tracker
    extra = {**_index_metrics(stats), "resumed_questions": float(resumed)}
    log_evaluation(tracker, report, dataset=parts.dataset.name, extra=extra)  # headline metrics first
    telemetry.record_answers(report.results)
    telemetry.finish()
    telemetry.log_to(GroupedSink(tracker), params=first)  # throughput/..., gpu/... (metric_names.mlflow_key)
    telemetry.log_to(JsonSink(checkpoint.folder / "telemetry.json"))  # the telemetry's own dotted names
    tracker.log_table(report.rows(), "per_question")
