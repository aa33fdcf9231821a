"""Evaluate a pipeline on a dataset: per-question results and aggregate metrics.

Each question's language is detected as ingestion detects documents' (recorded per question as
``detected_language``); per-language aggregates use it when the dataset gives no language.

Every mean comes with a 95% bootstrap interval (``<metric>.ci_low``/``.ci_high``); metrics
that can fail per item (LLM judges) report ``<metric>.failed`` and ``.failure_rate`` next to
the mean over valid items only. With a :class:`~ragbench.evaluation.checkpoint.Checkpoint`
each question is written as soon as it is scored and finished questions are skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ragbench.data.dataset import Dataset
from ragbench.errors import ConfigError
from ragbench.language import detect_languages
from ragbench.metrics.latency import stage_latencies
from ragbench.pipelines.rag import RAGPipeline
from ragbench.types import QuestionResult, Sample

MetricFn = Callable[[Sample, QuestionResult], dict[str, float]]
LATENCY_PERCENTILES = (50, 95, 99)


@dataclass
class EvaluationReport:
    """Per-question results plus aggregates: ``overall``, one dict per tenant and one per language."""

    results: list[QuestionResult]
    overall: dict[str, float]
    per_tenant: dict[str, dict[str, float]]
    metric_names: list[str] = field(default_factory=list)
    per_language: dict[str, dict[str, float]] = field(default_factory=dict)

    def rows(self) -> list[dict]:
        return [r.to_row() for r in self.results]

    def flat_metrics(self) -> dict[str, float]:
        """Overall metrics plus ``tenant.<t>.<metric>`` and ``language.<l>.<metric>`` entries, for logging."""
        out = dict(self.overall)
        for tenant, values in self.per_tenant.items():
            out.update({f"tenant.{tenant}.{k}": v for k, v in values.items()})
        for lang, values in self.per_language.items():
            out.update({f"language.{lang}.{k}": v for k, v in values.items()})
        return {k: v for k, v in out.items() if v == v}  # NaN (e.g. a CI of one value) is not logged

    def failure_rates(self) -> dict[str, float]:
        """``{metric: failure rate}`` for metrics with at least one failed item."""
        return {m: self.overall[f"{m}.failure_rate"] for m in self.metric_names if self.overall.get(f"{m}.failed")}


def _metric_summary(name: str, results: Sequence[QuestionResult]) -> dict[str, float]:
    from ragbench.evaluation.stats import mean_ci

    values = [r.metrics[name] for r in results if name in r.metrics]
    failed = sum(1 for r in results if name in r.metric_errors)
    ci = mean_ci(values)
    out = {
        f"{name}.n": float(len(values)),
        f"{name}.failed": float(failed),
        f"{name}.failure_rate": failed / (len(values) + failed) if values or failed else 0.0,
    }
    if values:
        out.update({name: ci.mean, f"{name}.ci_low": ci.low, f"{name}.ci_high": ci.high})
    std_key = f"{name}.judge_std"  # repeated judging: mean per-item spread of the k samples
    stds = [r.metrics[std_key] for r in results if std_key in r.metrics]
    if stds:
        out[std_key] = sum(stds) / len(stds)
    return out


def aggregate(results: Sequence[QuestionResult], metric_names: Sequence[str]) -> dict[str, float]:
    """Means (valid items only) with 95% CIs, counts, failures, latency percentiles and tokens/s.

    Keys: ``<metric>``, ``<metric>.ci_low/.ci_high``, ``<metric>.n`` (items scored),
    ``<metric>.failed``/``.failure_rate`` (items whose scoring failed), ``questions``,
    ``answers.failed``/``.failure_rate``, ``answers.cached`` (read from the generation cache),
    ``isolation.cross_tenant_hits``, ``latency.<stage>.p50/p95/p99``, ``generate.tokens_per_s`` (answers
    generated in this run only) and the RAG method's per-question means (``method.llm_calls``,
    ``method.tokens``, ``method.retrieval_rounds``, ``method.<figure>``; :func:`ragbench.methods.summarize`).
    """
    from ragbench.methods import summarize

    out: dict[str, float] = {"questions": float(len(results))}
    for name in metric_names:
        out.update(_metric_summary(name, results))
    out["answers.failed"] = float(sum(1 for r in results if r.answer is not None and not r.answer.ok))
    out["answers.cached"] = float(sum(1 for r in results if r.answer is not None and r.answer.cached))
    out["answers.failure_rate"] = out["answers.failed"] / len(results) if results else 0.0
    out["isolation.cross_tenant_hits"] = float(sum(1 for r in results for h in r.hits if h.tenant != r.sample.tenant))
    out.update(stage_latencies([r.timings_ms for r in results], LATENCY_PERCENTILES))
    fresh = [r for r in results if r.answer is not None and not r.answer.cached]  # generated in this run
    tokens = sum(r.answer.completion_tokens for r in fresh)
    gen_s = sum(r.timings_ms.get("generate_ms", 0.0) for r in fresh) / 1000
    if tokens and gen_s > 0:
        out["generate.tokens_per_s"] = tokens / gen_s
    out.update(summarize([r.trace for r in results if r.trace is not None]))
    return out


def score(metrics: MetricFn, sample: Sample, result: QuestionResult) -> None:
    """Score one result in place; suites with ``score_with_errors`` also record per-metric failures."""
    t0 = time.perf_counter()
    if hasattr(metrics, "score_with_errors"):
        result.metrics, result.metric_errors = metrics.score_with_errors(sample, result)
    else:
        result.metrics = metrics(sample, result)
    result.timings_ms["score_ms"] = (time.perf_counter() - t0) * 1000


def _answer_batches(pipeline, samples, batch_size, metrics, sink):
    for i in range(0, len(samples), batch_size):
        batch = samples[i : i + batch_size]
        languages = detect_languages([s.question for s in batch])  # the ingestion detector and rule
        queries = [s.to_query() for s in batch]
        if hasattr(pipeline, "run_traced"):  # a RAGPipeline: its method says what it did per question
            outputs = [(r.hits, r.answer, r.timings, r.trace) for r in pipeline.run_traced(queries)]
        else:
            outputs = [(*out, None) for out in pipeline.run(queries)]
        for sample, language, (hits, answer, timing, trace) in zip(batch, languages, outputs, strict=True):
            if answer is not None and not answer.cached:  # generator timings (ttft_ms, its own total_ms) get
                # percentiles too; a cached answer's timings are those of the run that generated it
                own = {k: v for k, v in answer.timings.items() if k != "load_ms"}
                timing = {**timing, **{(f"answer_{k}" if k in timing else k): v for k, v in own.items()}}
            result = QuestionResult(
                sample=sample, hits=hits, answer=answer, timings_ms=timing, detected_language=language, trace=trace
            )
            score(metrics, sample, result)
            sink(result)


def evaluate(
    dataset: Dataset,
    pipeline: RAGPipeline,
    metrics: MetricFn | Sequence[str],
    *,
    metric_names: Sequence[str] | None = None,
    batch_size: int = 1,
    progress: bool = False,
    checkpoint=None,
    answer: Callable[[Sequence[Sample], Callable[[QuestionResult], None]], None] | None = None,
) -> EvaluationReport:
    """Answer every sample, score it, and aggregate overall, per tenant and per language (no tracking).

    ``metrics`` is a metric suite (``MetricSuite``, or any callable with ``names``) or catalogue names
    such as ``["ndcg@10", "f1", "match"]``. With ``batch_size=1`` (the default) stage timings are true
    per-question latencies. With a ``checkpoint``, questions already in it are not asked again and
    each new result is written to it as soon as it is scored. ``answer(samples, sink)`` replaces
    the per-question loop (``executor=ray``: :func:`ragbench.evaluation._ray.ray_answerer`).

    Example:
        >>> report = evaluate(ds, pipeline, ["f1", "match"])  # doctest: +SKIP
        >>> report.overall["f1"], report.overall["f1.ci_low"]  # doctest: +SKIP
    """
    if isinstance(metrics, (list, tuple)):
        from ragbench.metrics.registry import MetricSuite

        metrics = MetricSuite(metrics)
    if metric_names is None:
        metric_names = getattr(metrics, "names", None)
        if metric_names is None:
            raise ConfigError("evaluate() needs metric_names= when metrics is a plain callable; or pass metric names.")
    samples = list(dataset.samples)
    done = checkpoint.load() if checkpoint is not None else {}
    todo = [s for s in samples if s.id not in done]
    finished: dict[str, QuestionResult] = dict(done)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(samples), initial=len(samples) - len(todo), desc="evaluate", unit="q")

    def sink(result: QuestionResult) -> None:
        if checkpoint is not None:
            checkpoint.append(result)
        finished[result.sample.id] = result
        if bar is not None:
            bar.update(1)

    try:
        if answer is not None:
            answer(todo, sink)
        else:
            _answer_batches(pipeline, todo, batch_size, metrics, sink)
    finally:
        if bar is not None:
            bar.close()
    results = [finished[s.id] for s in samples]
    return build_report(results, metric_names)


def build_report(results: list[QuestionResult], metric_names: Sequence[str]) -> EvaluationReport:
    """Aggregate finished results overall, per tenant and per language.

    A question's language is the dataset's (``Sample.language``), else the one detected from
    its text (``QuestionResult.detected_language``); questions with neither are in no language row.
    """
    names = list(metric_names)
    per_tenant = {
        t: aggregate([r for r in results if r.sample.tenant == t], names)
        for t in sorted({r.sample.tenant for r in results})
    }
    languages = sorted({r.language for r in results if r.language})  # the dataset's, else the detected one
    per_language = {lang: aggregate([r for r in results if r.language == lang], names) for lang in languages}
    return EvaluationReport(results, aggregate(results, names), per_tenant, names, per_language)
