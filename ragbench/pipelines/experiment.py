"""One evaluation run end to end: index the dataset if needed, evaluate, log, report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ragbench.config import Components
from ragbench.data.ingest import IndexStats, index_documents
from ragbench.pipelines.evaluate import EvaluationReport, evaluate


@dataclass
class RunResult:
    """What :func:`run_experiment` returns: the report, indexing stats and the tracking run id."""

    report: EvaluationReport
    index_stats: list[IndexStats] = field(default_factory=list)
    run_id: str | None = None
    seconds: float = 0.0


def ingest_dataset(parts: Components) -> list[IndexStats]:
    """Index every tenant's documents of the run's dataset (skipping unchanged chunks)."""
    ds = parts.dataset
    return [
        index_documents(
            ds.documents_of(tenant), tenant=tenant, store=parts.store, embedder=parts.embedder,
            chunker=parts.chunker, batch_size=int(parts.cfg.index_batch_size), progress=bool(parts.cfg.progress),
        )
        for tenant in ds.tenants
    ]


def _index_metrics(stats: list[IndexStats]) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in stats:
        prefix = f"index.{s.tenant}"
        out.update({f"{prefix}.chunks": s.chunks, f"{prefix}.embedded": s.embedded, f"{prefix}.seconds": s.seconds})
        out.update({f"{prefix}.{k}": v for k, v in s.index.items()})
    return out


def run_experiment(parts: Components) -> RunResult:
    """Run the configured evaluation and log it to the configured tracker."""
    from omegaconf import OmegaConf

    start = time.perf_counter()
    cfg = parts.cfg
    stats = ingest_dataset(parts)
    report = evaluate(
        parts.dataset, parts.pipeline, parts.metrics, metric_names=parts.metrics.names,
        batch_size=int(cfg.batch_size), progress=bool(cfg.progress),
    )
    tracker = parts.tracker
    ds_name = parts.dataset.name
    run_name = cfg.get("run_name") or f"{ds_name}-{cfg.retriever._target_.rsplit('.', 1)[-1]}"
    tags = {"dataset": ds_name, "retriever": repr(parts.retriever), "generator": repr(parts.generator)}
    with tracker.start_run(run_name=run_name, tags=tags) as run_id:
        tracker.log_config(OmegaConf.to_container(cfg, resolve=True))
        tracker.log_metrics({**report.flat_metrics(), **_index_metrics(stats)})
        tracker.log_table(report.rows(), "per_question")
    return RunResult(report=report, index_stats=stats, run_id=run_id, seconds=time.perf_counter() - start)


def format_report(report: EvaluationReport) -> str:
    """A plain-text table: one row per tenant and one overall; metrics, n and latency columns."""
    cols = [*report.metric_names, "latency.total_ms.p50", "latency.total_ms.p95"]
    header = ["tenant", "questions", *[c.replace("latency.total_ms.", "total_ms.") for c in cols], "cross_tenant_hits"]
    rows = []
    for name, values in [*report.per_tenant.items(), ("ALL", report.overall)]:
        cells = [name, f"{int(values['questions'])}"]
        cells += [f"{values[c]:.4f}" if c in values else "-" for c in cols]
        cells.append(f"{int(values['isolation.cross_tenant_hits'])}")
        rows.append(cells)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])
