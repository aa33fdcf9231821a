"""MLflow runs for the Experiments tab: a recent-runs table, a two-run comparison with
bootstrap confidence intervals, and quality vs latency points.

Confidence intervals come from the runs' per-question tables (``per_question.json``)
through :mod:`ragbench.evaluation.stats`: a bootstrap interval of each run's mean, and
a paired bootstrap interval and permutation p-value of the difference over the
questions both runs answered.

Only *finished evaluation runs* can be compared: status FINISHED, a ``dataset`` tag, no
``ragbench.kind`` tag (sweep parents, comparisons, DSPy runs) and a ``per_question.json``
artifact. Pipeline-stage runs, sweep parents and failed or killed runs are listed but never
offered, and run B is always of run A's dataset (different questions cannot be paired).
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
        row["ndcg@10_lo"], row["ndcg@10_hi"] = m.get(_key("ndcg@10.ci_low")), m.get(_key("ndcg@10.ci_high"))
        row["p95_ms"] = m.get(_key("latency.total_ms.p95"))
        row["kind"] = run_kind(run)
        row["comparable"] = row["kind"] == "evaluation" and run.info.status == "FINISHED" and _has_table(client, run)
        rows.append(row)
    return rows


def run_kind(run: Any) -> str:
    """``evaluation`` (a run with a ``dataset`` tag), the ``ragbench.kind`` tag (``sweep``, ``comparison``, ...),
    ``pipeline stage``, ``pipeline`` or ``other``."""
    tags = run.data.tags
    if "ragbench.kind" in tags:
        return tags["ragbench.kind"]
    if "dataset" in tags:
        return "evaluation"
    if "ragbench.notebook" in tags:
        return "pipeline stage"
    return "pipeline" if "ragbench.pipeline" in tags else "other"


def _has_table(client: Any, run: Any, name: str = "per_question.json") -> bool:
    try:
        return any(f.path == name for f in client.list_artifacts(run.info.run_id))
    except Exception:  # an unreadable artifact store: the run cannot be compared
        return False


def comparable_runs(rows: Sequence[dict[str, Any]], *, dataset: str | None = None) -> list[dict[str, Any]]:
    """The rows of :func:`recent_runs` that :func:`compare_runs` can use (of ``dataset`` when given)."""
    return [r for r in rows if r.get("comparable") and (dataset is None or r["dataset"] == dataset)]


def default_pair(rows: Sequence[dict[str, Any]]) -> tuple[str, str] | None:
    """Run ids ``(A, B)`` to compare by default: the newest comparable run (B) and the newest earlier
    comparable run of the same dataset (A); ``None`` when no dataset has two.

    Example:
        >>> rows = [{"run_id": "r3", "dataset": "x", "comparable": True}, {"run_id": "r2", "dataset": "y", "comparable": True},
        ...         {"run_id": "r1", "dataset": "x", "comparable": True}]
        >>> default_pair(rows)
        ('r1', 'r3')
    """
    done = comparable_runs(rows)
    for i, newer in enumerate(done):
        older = next((r for r in done[i + 1 :] if r["dataset"] == newer["dataset"]), None)
        if older is not None:
            return older["run_id"], newer["run_id"]
    return None


def check_comparable(tracker: Any, run_a: str, run_b: str) -> None:
    """Raise :class:`ConfigError` unless both runs are finished evaluation runs of the same dataset."""
    client = tracker.client
    runs = {}
    for ref in (run_a, run_b):
        run = client.get_run(ref)
        why = None
        if run_kind(run) != "evaluation":
            why = f"it is a {run_kind(run)} run, not an evaluation run"
        elif run.info.status != "FINISHED":
            why = f"its status is {run.info.status}"
        elif not _has_table(client, run):
            why = "it has no per_question.json (per-question scores)"
        if why:
            raise ConfigError(
                f"Run {run.info.run_name or ref!r} ({ref[:8]}) cannot be compared: {why}. "
                "Pick two finished evaluation runs (`ragbench run`) of the same dataset."
            )
        runs[ref] = run
    da, db = (runs[r].data.tags["dataset"] for r in (run_a, run_b))
    if da != db:
        raise ConfigError(
            f"Run A is on dataset {da!r} and run B on {db!r}: per-question scores pair only within one dataset. "
            "Pick two runs of the same dataset."
        )


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
    check_comparable(tracker, run_a, run_b)
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


def quality_latency_points(
    rows: Sequence[dict[str, Any]], *, dataset: str | None = None, quality: str = "ndcg@10"
) -> list[dict[str, Any]]:
    """``{name, run_id, dataset, quality, latency_ms, lo, hi, pareto}`` for the finished runs that have both
    numbers, of one ``dataset`` when given (quality on different datasets is not comparable). ``lo``/``hi``
    are the quality's 95% interval when the run logged one (else None); ``pareto`` marks the runs that no
    other run beats on both quality and latency.

    Example:
        >>> rows = [{"name": "a", "run_id": "1", "dataset": "d", "status": "FINISHED", "ndcg@10": 0.5, "p50_ms": 10.0},
        ...         {"name": "b", "run_id": "2", "dataset": "d", "status": "FINISHED", "ndcg@10": 0.4, "p50_ms": 20.0}]
        >>> [(p["name"], p["pareto"]) for p in quality_latency_points(rows, dataset="d")]
        [('a', True), ('b', False)]
    """
    points = [
        {
            "name": r["name"],
            "run_id": r["run_id"],
            "dataset": r.get("dataset", ""),
            "quality": r[quality],
            "latency_ms": r["p50_ms"],
            "lo": r.get(f"{quality}_lo"),
            "hi": r.get(f"{quality}_hi"),
        }
        for r in rows
        if r.get(quality) is not None
        and r.get("p50_ms") is not None
        and r.get("status", "FINISHED") == "FINISHED"
        and (dataset is None or r.get("dataset", "") == dataset)
    ]
    for p in points:
        p["pareto"] = not any(
            o["quality"] >= p["quality"]
            and o["latency_ms"] <= p["latency_ms"]
            and (o["quality"] > p["quality"] or o["latency_ms"] < p["latency_ms"])
            for o in points
        )
    return points


def plot_datasets(rows: Sequence[dict[str, Any]], *, quality: str = "ndcg@10") -> list[str]:
    """The datasets that have runs to plot, the newest run's first."""
    return list(dict.fromkeys(p["dataset"] for p in quality_latency_points(rows, quality=quality)))
