"""Compare two runs question by question: deltas, 95% bootstrap CIs and paired permutation p-values.

Only questions both runs answered are compared, and for each metric only the questions
both runs could score (a judge failure in either run leaves that pair out, and the count
says so). The comparison is logged to MLflow as its own run, tagged with both run ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ragbench._table import TextTable
from ragbench.errors import ConfigError
from ragbench.evaluation.stats import PairedResult, paired_comparison

COMPARE_FIGURE = "figures/delta_forest.png"


@dataclass
class Comparison:
    """The paired comparison of run B against run A (deltas are B - A)."""

    run_a: str
    run_b: str
    shared_questions: int
    only_a: int
    only_b: int
    results: list[PairedResult] = field(default_factory=list)

    def text(self) -> str:
        """The comparison as a plain-text table (see :func:`format_comparison`)."""
        return format_comparison(self)

    def rows(self) -> list[dict]:
        return [r.as_dict() for r in self.results]

    def flat_metrics(self) -> dict[str, float]:
        """The comparison's MLflow metrics: per metric ``<group>/<metric>/delta``, ``/low``, ``/high``,
        ``/p_value``, ``/n``, ``/mean_a``, ``/mean_b`` (names from :func:`ragbench.tracking.metric_names.mlflow_key`),
        then ``counts/shared_questions``, ``counts/only_a``, ``counts/only_b``."""
        from ragbench.tracking.metric_names import mlflow_key

        out: dict[str, float] = {}
        for r in self.results:
            values = r.as_dict()
            for k in ("delta", "low", "high", "p_value", "n", "mean_a", "mean_b"):
                if values[k] == values[k]:
                    out[f"{mlflow_key(r.metric)}/{k}"] = values[k]
        out.update(
            {
                "counts/shared_questions": self.shared_questions,
                "counts/only_a": self.only_a,
                "counts/only_b": self.only_b,
            }
        )
        return out

    def figure(self):
        """Forest plot of each metric's delta (B - A) with its 95% paired CI; ``None`` without results."""
        from ragbench.plotting import ci_forest

        if not self.results:
            return None
        values = {}
        for r in self.results:
            values.update({r.metric: r.delta, f"{r.metric}.ci_low": r.low, f"{r.metric}.ci_high": r.high})
        names = [r.metric for r in self.results]
        title = f"B - A: {self.run_b[:8]} vs {self.run_a[:8]} ({self.shared_questions} shared questions)"
        return ci_forest(values, names, title=title, xlabel="delta (B - A) with 95% paired CI", reference=0.0)


def _metric_columns(frame) -> list[str]:
    return [c[len("metric.") :] for c in frame.columns if c.startswith("metric.") and not c.endswith(".judge_std")]


def compare_tables(run_a: str, table_a, run_b: str, table_b, *, metrics: Sequence[str] | None = None) -> Comparison:
    """Pair two per-question tables (pandas, as logged by a run) on ``question_id`` and test every metric.

    Example:
        >>> cmp = compare_tables("a", df_a, "b", df_b)  # doctest: +SKIP
        >>> cmp.results[0].p_value  # doctest: +SKIP
    """
    ids_a, ids_b = set(table_a["question_id"].astype(str)), set(table_b["question_id"].astype(str))
    shared = [q for q in dict.fromkeys(table_a["question_id"].astype(str)) if q in ids_b]  # run A's order
    if not shared:
        raise ConfigError(f"Runs {run_a!r} and {run_b!r} share no question ids: compare runs on the same dataset.")
    common = [m for m in _metric_columns(table_a) if m in set(_metric_columns(table_b))]
    if metrics:
        unknown = [m for m in metrics if m not in common]
        if unknown:
            raise ConfigError(f"Metric(s) {unknown} are not in both runs. Metrics both runs have: {', '.join(common)}.")
        common = list(metrics)
    a = table_a.assign(question_id=table_a["question_id"].astype(str)).set_index("question_id").loc[shared]
    b = table_b.assign(question_id=table_b["question_id"].astype(str)).set_index("question_id").loc[shared]
    results = []
    for metric in common:
        col = f"metric.{metric}"
        both = a[col].notna() & b[col].notna()
        results.append(paired_comparison(metric, a.loc[both, col].to_numpy(float), b.loc[both, col].to_numpy(float)))
    return Comparison(run_a, run_b, len(shared), len(ids_a - ids_b), len(ids_b - ids_a), results)


def compare_runs(
    tracker, run_a: str, run_b: str, *, metrics: Sequence[str] | None = None, log: bool = True
) -> Comparison:
    """Load both runs' per-question tables from ``tracker`` (MLflow), compare them and log the comparison.

    Example:
        >>> cmp = compare_runs(MLflowTracker(root=".ragbench"), "3f2a...", "9c1b...")  # doctest: +SKIP
        >>> print(format_comparison(cmp))  # doctest: +SKIP
    """
    if not hasattr(tracker, "load_table"):
        raise ConfigError(f"compare needs a tracker that stores runs (tracking=mlflow); got {tracker!r}.")
    if hasattr(tracker, "resolve_run"):  # id prefixes and run names, as `ragbench compare` accepts them
        run_a, run_b = tracker.resolve_run(run_a), tracker.resolve_run(run_b)
    tables = []
    for run_id in (run_a, run_b):
        try:
            tables.append(tracker.load_table(run_id))
        except Exception as exc:
            raise ConfigError(
                f"Could not load the per-question table of run {run_id!r} from {tracker!r}: {exc}. "
                "Pass run ids printed by `ragbench run` and the same home/tracking overrides."
            ) from exc
    comparison = compare_tables(run_a, tables[0], run_b, tables[1], metrics=metrics)
    if log:
        tags = {"ragbench.compare.run_a": run_a, "ragbench.compare.run_b": run_b, "ragbench.kind": "comparison"}
        with tracker.start_run(run_name=f"compare-{run_a[:8]}-vs-{run_b[:8]}", tags=tags):
            tracker.log_metrics(comparison.flat_metrics())
            figure = comparison.figure()
            if figure is not None:
                tracker.log_figure(figure, COMPARE_FIGURE)
            tracker.log_table(comparison.rows(), "comparison")
    return comparison


def comparison_table(comparison: Comparison) -> TextTable:
    """Metric, n, means of A and B, delta with its 95% CI, and the p-value."""
    header = ["metric", "n", "A", "B", "delta (B-A)", "95% CI", "p-value"]
    rows = [
        [
            r.metric,
            str(r.n),
            f"{r.mean_a:.4f}",
            f"{r.mean_b:.4f}",
            f"{r.delta:+.4f}",
            f"[{r.low:+.4f}, {r.high:+.4f}]",
            f"{r.p_value:.4g}",
        ]
        for r in comparison.results
    ]
    return TextTable(header, rows, title="B - A, paired")


def comparison_heading(comparison: Comparison) -> str:
    """Which runs are A and B, and how many questions they share."""
    return (
        f"A = {comparison.run_a}\nB = {comparison.run_b}\n{comparison.shared_questions} shared questions "
        f"({comparison.only_a} only in A, {comparison.only_b} only in B); paired bootstrap CI, "
        "paired permutation p-value (two-sided)"
    )


def format_comparison(comparison: Comparison) -> str:
    """A plain-text table: the heading, then :func:`comparison_table`."""
    return comparison_heading(comparison) + "\n" + comparison_table(comparison).plain()
