"""MLflow runs for the Experiments tab: a recent-runs table, a two-run comparison with
bootstrap confidence intervals, and quality vs latency points.

Confidence intervals come from the runs' per-question tables (``per_question.json``)
through :mod:`ragbench.evaluation.stats`: a bootstrap interval of each run's mean, and
a paired bootstrap interval and permutation p-value of the difference over the
questions both runs answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ragbench.errors import ConfigError

QUALITY = ("ndcg@10", "recall@10", "mrr@10", "f1", "em")
LATENCY = "latency.total_ms.p50"


def _key(name: str) -> str:
    from ragbench.tracking.metric_names import mlflow_key

    return mlflow_key(name)


def recent_runs(tracker: Any, *, limit: int = 50) -> list[dict[str, Any]]:
    """The newest runs of the tracker's experiment as flat rows (run id, name, status, main metrics)."""
    client = tracker.client
    exp = client.get_experiment_by_name(tracker.experiment)
    if exp is None:
        return []
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.start_time DESC"], max_results=limit)
    rows = []
    for run in runs:
        m = run.data.metrics
        row = {
            "run_id": run.info.run_id,
            "name": run.info.run_name,
            "status": run.info.status,
            "started": _when(run.info.start_time),
            "dataset": run.data.tags.get("dataset", ""),
        }
        row.update({name: m.get(_key(name)) for name in QUALITY})
        row["p50_ms"] = m.get(_key(LATENCY))
        row["p95_ms"] = m.get(_key("latency.total_ms.p95"))
        rows.append(row)
    return rows


def _when(ms: int | None) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


def compare_runs(
    tracker: Any,
    run_a: str,
    run_b: str,
    *,
    metrics: Sequence[str] = QUALITY,
    n_resamples: int = 2000,
) -> list[dict[str, Any]]:
    """Per metric: each run's mean with a 95% bootstrap CI, and B - A paired on shared questions.

    Uses :mod:`ragbench.evaluation.stats` (``mean_ci``, ``paired_comparison``). Rows have
    ``metric, a, a_lo, a_hi, b, b_lo, b_hi, diff, diff_lo, diff_hi, p_value, n_paired, significant``
    (the difference's interval excludes 0).
    """
    from ragbench.evaluation.stats import mean_ci, paired_comparison

    if run_a == run_b:
        raise ConfigError(f"Pick two different runs to compare (both are {run_a!r}).")
    ta, tb = tracker.load_table(run_a), tracker.load_table(run_b)
    rows = []
    for name in metrics:
        col = f"metric.{name}"
        if col not in ta.columns or col not in tb.columns:
            continue
        a, b = ta[["question_id", col]].dropna(), tb[["question_id", col]].dropna()
        paired = a.merge(b, on="question_id", suffixes=("_a", "_b"))
        ca, cb = (
            mean_ci(a[col].to_numpy(), n_resamples=n_resamples),
            mean_ci(b[col].to_numpy(), n_resamples=n_resamples),
        )
        d = paired_comparison(
            name, paired[f"{col}_a"].to_numpy(), paired[f"{col}_b"].to_numpy(), n_resamples=n_resamples
        )
        rows.append(
            {
                "metric": name,
                "a": ca.mean,
                "a_lo": ca.low,
                "a_hi": ca.high,
                "b": cb.mean,
                "b_lo": cb.low,
                "b_hi": cb.high,
                "diff": d.delta,
                "diff_lo": d.low,
                "diff_hi": d.high,
                "p_value": d.p_value,
                "n_paired": d.n,
                "significant": bool(d.n and (d.low > 0 or d.high < 0)),
            }
        )
    return rows


def quality_latency_points(rows: Sequence[dict[str, Any]], *, quality: str = "ndcg@10") -> list[dict[str, Any]]:
    """``{name, run_id, quality, latency_ms}`` for runs that have both numbers (for the scatter plot)."""
    return [
        {"name": r["name"], "run_id": r["run_id"], "quality": r[quality], "latency_ms": r["p50_ms"]}
        for r in rows
        if r.get(quality) is not None and r.get("p50_ms") is not None
    ]
