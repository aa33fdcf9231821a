"""What an evaluation run leaves in MLflow besides its config: ``/``-grouped metrics (headline ones first),
the question table as the run's input dataset, and a forest plot of the headline metrics with their CIs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ragbench.evaluation.evaluate import EvaluationReport

FOREST_FIGURE = "figures/ci_forest.png"


def run_metrics(report: EvaluationReport, extra: Mapping[str, float] | None = None) -> dict[str, float]:
    """The report's metrics (plus ``extra`` overall fields) under their MLflow names, headline metrics first.

    Example:
        >>> list(run_metrics(report))[:3]  # doctest: +SKIP
        ['retrieval/ndcg_at_10', 'retrieval/ndcg_at_10/ci_low', 'retrieval/ndcg_at_10/ci_high']
    """
    from ragbench.tracking.metric_names import mlflow_metrics

    scoped = [
        *((f"tenant/{tenant}", values) for tenant, values in report.per_tenant.items()),
        *((f"language/{lang}", values) for lang, values in report.per_language.items()),
    ]
    return mlflow_metrics({**report.overall, **(extra or {})}, metric_names=report.metric_names, scoped=scoped)


def question_frame(report: EvaluationReport):
    """The questions the run asked as a DataFrame: id, tenant, language, question, gold answers, relevant docs."""
    import json

    import pandas as pd

    rows = [
        {
            "question_id": r.sample.id,
            "tenant": r.sample.tenant,
            "language": r.sample.language or "",
            "question": r.sample.question,
            "answers": json.dumps(list(r.sample.answers), ensure_ascii=False),
            "relevant": json.dumps(r.sample.relevant, sort_keys=True),
        }
        for r in report.results
    ]
    return pd.DataFrame(rows, columns=["question_id", "tenant", "language", "question", "answers", "relevant"])


def log_evaluation(tracker: Any, report: EvaluationReport, *, dataset: str, extra: Mapping[str, float]) -> None:
    """Log the run's metrics, its question table as input dataset ``dataset`` (context ``evaluation``) and,
    when a metric has a mean, the CI forest plot (``figures/ci_forest.png``)."""
    from ragbench.plotting import ci_forest

    tracker.log_metrics(run_metrics(report, extra))
    if report.results:
        tracker.log_input(question_frame(report), name=dataset, context="evaluation")
    shown = [m for m in report.metric_names if m in report.overall]
    if shown:
        tracker.log_figure(ci_forest(report.overall, shown, title=f"{dataset}: means with 95% CIs"), FOREST_FIGURE)
