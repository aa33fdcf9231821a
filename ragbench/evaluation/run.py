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
from ragbench.ingestion.datasets import IndexStats, index_documents
from ragbench.errors import ConfigError, MetricFailureRateError
from ragbench.evaluation.evaluate import EvaluationReport, evaluate

if TYPE_CHECKING:
    from ragbench.telemetry import RunTelemetry

DEFAULT_MAX_FAILURE_RATE = 0.05


@dataclass
class RunResult:
    """What :func:`run_experiment` returns: the report, indexing stats and the tracking run id."""

    report: EvaluationReport
    index_stats: list[IndexStats] = field(default_factory=list)
    run_id: str | None = None
    seconds: float = 0.0
    run_dir: Path | None = None
    resumed: int = 0  # questions taken from the checkpoint instead of being asked again


def ingest_dataset(parts: Components) -> list[IndexStats]:
    """Index every tenant's documents of the run's dataset (skipping unchanged chunks)."""
    ds = parts.dataset
    return [
        index_documents(
            ds.documents_of(tenant), tenant=tenant, store=parts.store, embedder=parts.embedder,
            chunker=parts.chunker, batch_size=int(parts.cfg.index_batch_size),
            commit_seconds=float(parts.cfg.get("index_commit_seconds", 5.0)), progress=bool(parts.cfg.progress),
        )
        for tenant in ds.tenants
    ]


def llm_tags(generator) -> dict[str, str]:
    """``llm.model`` (name@weights revision) and ``llm.random_weights`` for runs whose generator is an LLM."""
    if not hasattr(generator, "random_weights"):
        return {}
    return {"llm.model": str(getattr(generator, "model_id", "")),
            "llm.random_weights": str(bool(generator.random_weights)).lower()}


def _index_metrics(stats: list[IndexStats]) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in stats:
        prefix = f"index.{s.tenant}"
        out.update({f"{prefix}.chunks": s.chunks, f"{prefix}.embedded": s.embedded, f"{prefix}.seconds": s.seconds,
                    f"{prefix}.failed_documents": s.failed})
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
        ["Fix the judge (server, model, timeout)"] if set(bad) - {"answers"} else [])
    raise MetricFailureRateError(
        f"Too many items failed (allowed: {max_rate:.1%}): {detail}. Per-item reasons are in the per-question "
        f"table (error, metric_errors). {'; '.join(fixes)}, or raise max_failure_rate.", report=report,
    )


def run_experiment(parts: Components, *, parent_run_id: str | None = None) -> RunResult:
    """Run the configured evaluation (resuming if ``cfg.resume``), log it, and enforce ``max_failure_rate``.

    GPU telemetry and per-stage throughput (:mod:`ragbench.telemetry`) go to the tracker and to
    ``telemetry.json`` in the run folder; a line on stderr says whether GPU metrics are on.
    """
    from ragbench.telemetry import RunTelemetry

    with RunTelemetry(parts.cfg.get("system_metrics", "auto"), embedder=parts.embedder) as telemetry:
        print(telemetry.status_line(), file=sys.stderr)
        return _run(parts, parent_run_id, telemetry)


def _run(parts: Components, parent_run_id: str | None, telemetry: RunTelemetry) -> RunResult:
    from omegaconf import OmegaConf

    from ragbench.evaluation.checkpoint import Checkpoint, config_fingerprint, mark_killed_runs
    from ragbench.evaluation.system import system_metrics
    from ragbench.telemetry import JsonSink

    start = time.perf_counter()
    cfg = parts.cfg
    config = OmegaConf.to_container(cfg, resolve=True)
    fingerprint = config_fingerprint(config)
    runs_dir = Path(cfg.home) / "runs"
    folder = _resume_folder(runs_dir, fingerprint, cfg.get("resume"))
    mark_killed_runs(runs_dir, tracker=parts.tracker, keep=folder)  # dead runs must not stay RUNNING
    stats = ingest_dataset(parts)
    if hasattr(parts.generator, "warmup"):  # load model weights before any question is timed
        parts.generator.warmup()
    tracker = parts.tracker
    ds_name = parts.dataset.name
    run_name = cfg.get("run_name") or f"{ds_name}-{cfg.get('variant') or cfg.retriever._target_.rsplit('.', 1)[-1]}"
    tags = {"dataset": ds_name, "retriever": repr(parts.retriever), "generator": repr(parts.generator),
            **llm_tags(parts.generator), **telemetry.gpu.tags()}
    with tracker.start_run(run_name=run_name, tags=tags, run_id=folder.name if folder else None,
                           parent_run_id=parent_run_id) as run_id:
        if folder is None:
            checkpoint = Checkpoint(runs_dir / (run_id or uuid.uuid4().hex), fingerprint=fingerprint).open(run_id=run_id)
            tracker.log_config(config)
        else:
            checkpoint = Checkpoint(folder, fingerprint=fingerprint).open(resuming=True)
        resumed = len(checkpoint.load())
        try:
            with (system_metrics(tracker, run_id, cfg.get("system_metrics", "auto"), gpu_sampled=telemetry.gpu.on),
                  telemetry.throughput.timed("evaluate") as counts):
                report = evaluate(
                    parts.dataset, parts.pipeline, parts.metrics, metric_names=parts.metrics.names,
                    batch_size=int(cfg.batch_size), progress=bool(cfg.progress), checkpoint=checkpoint,
                )
                counts["questions"] = len(report.results) - resumed
        finally:
            checkpoint.close()
        telemetry.record_answers(report.results)
        telemetry.finish()
        for sink in (tracker, JsonSink(checkpoint.folder / "telemetry.json")):
            telemetry.log_to(sink, params=folder is None or sink is not tracker)
        tracker.log_metrics({**report.flat_metrics(), **_index_metrics(stats), "resumed_questions": resumed})
        tracker.log_table(report.rows(), "per_question")
        checkpoint.finish()
        _check_failure_rates(report, float(cfg.get("max_failure_rate", DEFAULT_MAX_FAILURE_RATE)))
    return RunResult(report=report, index_stats=stats, run_id=run_id, seconds=time.perf_counter() - start,
                     run_dir=checkpoint.folder, resumed=resumed)
