"""Evaluate a pipeline on a dataset: per-question results and aggregate metrics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ragbench.data.dataset import Dataset
from ragbench.metrics.latency import stage_latencies
from ragbench.pipelines.rag import RAGPipeline
from ragbench.types import QuestionResult, Sample

MetricFn = Callable[[Sample, QuestionResult], dict[str, float]]


@dataclass
class EvaluationReport:
    """Per-question results plus aggregates: ``overall`` and one dict per tenant."""

    results: list[QuestionResult]
    overall: dict[str, float]
    per_tenant: dict[str, dict[str, float]]
    metric_names: list[str] = field(default_factory=list)

    def rows(self) -> list[dict]:
        return [r.to_row() for r in self.results]

    def flat_metrics(self) -> dict[str, float]:
        """Overall metrics plus ``tenant.<t>.<metric>`` entries, for logging."""
        out = dict(self.overall)
        for tenant, values in self.per_tenant.items():
            out.update({f"tenant.{tenant}.{k}": v for k, v in values.items()})
        return out


def aggregate(results: Sequence[QuestionResult], metric_names: Sequence[str]) -> dict[str, float]:
    """Means over the questions each metric applies to, with counts, failures and latency percentiles.

    Keys: ``<metric>`` (mean), ``<metric>.n`` (questions scored), ``questions``,
    ``answers.failed``, ``isolation.cross_tenant_hits`` and ``latency.<stage>.p50/p95``.
    """
    out: dict[str, float] = {"questions": float(len(results))}
    for name in metric_names:
        values = [r.metrics[name] for r in results if name in r.metrics]
        out[f"{name}.n"] = float(len(values))
        if values:
            out[name] = sum(values) / len(values)
    out["answers.failed"] = float(sum(1 for r in results if r.answer is not None and not r.answer.ok))
    out["isolation.cross_tenant_hits"] = float(
        sum(1 for r in results for h in r.hits if h.tenant != r.sample.tenant)
    )
    out.update(stage_latencies([r.timings_ms for r in results]))
    return out


def evaluate(
    dataset: Dataset, pipeline: RAGPipeline, metrics: MetricFn, *, metric_names: Sequence[str],
    batch_size: int = 1, progress: bool = False,
) -> EvaluationReport:
    """Answer every sample, score it, and aggregate overall and per tenant.

    With ``batch_size=1`` (the default) stage timings are true per-question latencies.
    """
    samples = list(dataset.samples)
    results: list[QuestionResult] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(samples), desc="evaluate", unit="q")
    for i in range(0, len(samples), batch_size):
        batch = samples[i : i + batch_size]
        outputs = pipeline.run([s.to_query() for s in batch])
        for sample, (hits, answer, timing) in zip(batch, outputs, strict=True):
            result = QuestionResult(sample=sample, hits=hits, answer=answer, timings_ms=timing)
            result.metrics = metrics(sample, result)
            results.append(result)
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    names = list(metric_names)
    per_tenant = {
        t: aggregate([r for r in results if r.sample.tenant == t], names)
        for t in sorted({r.sample.tenant for r in results})
    }
    return EvaluationReport(results, aggregate(results, names), per_tenant, names)
