"""Labelled plots for notebooks and reports (matplotlib, imported lazily).

Every function returns a :class:`matplotlib.figure.Figure` with a title, axis labels
(with units) and a label on every point or bar, so a saved PNG explains itself. The
figures are created without pyplot: show one by making it the last expression of a
notebook cell, save it with ``fig.savefig(path)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ragbench.errors import ConfigError

LATENCY_LABELS = {
    "latency.total_ms.p50": "median latency per question (ms)",
    "latency.total_ms.p95": "95th-percentile latency per question (ms)",
    "latency.retrieve_ms.p50": "median retrieval latency (ms)",
    "latency.generate_ms.p50": "median generation latency (ms)",
    "method.tokens": "LLM tokens per question (prompt + completion, every call)",
    "method.llm_calls": "LLM calls per question",
}


def _columns(table, *names: str) -> None:
    missing = [n for n in names if n not in table.columns]
    if missing:
        raise ConfigError(f"Plot needs column(s) {missing}, but the table has: {', '.join(map(str, table.columns))}.")


def pareto_front(qualities: Sequence[float], costs: Sequence[float], *, higher_is_better: bool = True) -> list[bool]:
    """Which points are Pareto-optimal: no other point is at least as good in both and better in one.

    Quality is maximised (or minimised with ``higher_is_better=False``); cost is minimised.

    Example:
        >>> pareto_front([0.5, 0.7, 0.6], [10.0, 30.0, 40.0])
        [True, True, False]
    """
    if len(qualities) != len(costs):
        raise ConfigError(
            f"pareto_front got {len(qualities)} qualities but {len(costs)} costs; give one of each per point."
        )
    sign = 1.0 if higher_is_better else -1.0
    q = [sign * float(v) for v in qualities]
    c = [float(v) for v in costs]
    front = []
    for i in range(len(q)):
        dominated = any(q[j] >= q[i] and c[j] <= c[i] and (q[j] > q[i] or c[j] < c[i]) for j in range(len(q)) if j != i)
        front.append(not dominated)
    return front


def _figure(width: float = 6.4, height: float = 4.2):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def quality_vs_latency(
    table,
    *,
    quality: str = "ndcg@10",
    latency: str = "latency.total_ms.p50",
    label: str = "variant",
    title: str | None = None,
    higher_is_better: bool = True,
):
    """Scatter quality against latency (or cost), one labelled point per row, Pareto front drawn; with
    ``<quality>.ci_low``/``.ci_high`` columns in the table, each point gets its 95% CI as an error bar.

    Args:
        table: A DataFrame with the ``quality``, ``latency`` and ``label`` columns
            (e.g. :meth:`ragbench.evaluation.experiment.Variants.table`).

    Example:
        >>> fig = quality_vs_latency(comparison.table(), quality="ndcg@10")  # doctest: +SKIP
        >>> fig.savefig("quality_vs_latency.png")  # doctest: +SKIP
    """
    _columns(table, quality, latency, label)
    data = table.dropna(subset=[quality, latency])
    if data.empty:
        raise ConfigError(f"No row has both {quality!r} and {latency!r}: nothing to plot.")
    front = pareto_front(list(data[quality]), list(data[latency]), higher_is_better=higher_is_better)
    fig = _figure()
    ax = fig.add_subplot()
    colors = ["tab:blue" if f else "tab:gray" for f in front]
    low, high = f"{quality}.ci_low", f"{quality}.ci_high"
    if low in data.columns and high in data.columns:  # 95% CI error bars where the table has them
        below = (data[quality] - data[low]).fillna(0.0).clip(lower=0.0)
        above = (data[high] - data[quality]).fillna(0.0).clip(lower=0.0)
        ax.errorbar(data[latency], data[quality], yerr=[below, above], fmt="none", ecolor="tab:gray", capsize=3)
    ax.scatter(data[latency], data[quality], c=colors, s=60, zorder=3)
    for x, y, name in zip(data[latency], data[quality], data[label]):
        ax.annotate(str(name), (x, y), textcoords="offset points", xytext=(6, 4), fontsize=9)
    points = sorted((x, y) for x, y, f in zip(data[latency], data[quality], front) if f)
    if len(points) > 1:
        ax.plot(*zip(*points), linestyle="--", color="tab:blue", label="Pareto front", zorder=2)
        ax.legend(loc="best")
    direction = "higher is better" if higher_is_better else "lower is better"
    ax.set_xlabel(LATENCY_LABELS.get(latency, latency))
    ax.set_ylabel(f"{quality} ({direction})")
    ax.set_title(title or f"{quality} vs {LATENCY_LABELS.get(latency, latency)}")
    ax.grid(True, alpha=0.3)
    return fig


def metric_bars(
    table, metrics: Sequence[str], *, label: str = "tenant", title: str | None = None, ylabel: str = "score"
):
    """Grouped bars: one group per row (e.g. tenant), one bar per metric, values written on the bars."""
    _columns(table, label, *metrics)
    if not metrics:
        raise ConfigError("metric_bars needs at least one metric column, e.g. ['ndcg@10', 'f1'].")
    fig = _figure(max(6.4, 1.6 * len(table) * max(1, len(metrics)) / 2), 4.2)
    ax = fig.add_subplot()
    width = 0.8 / len(metrics)
    positions = range(len(table))
    for m, metric in enumerate(metrics):
        xs = [p + (m - (len(metrics) - 1) / 2) * width for p in positions]
        values = [float(v) if v is not None else 0.0 for v in table[metric]]
        bars = ax.bar(xs, values, width=width, label=metric)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(list(positions), [str(v) for v in table[label]])
    ax.set_xlabel(label)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{', '.join(metrics)} per {label}")
    ax.legend(loc="lower right")
    ax.grid(True, axis="y", alpha=0.3)
    return fig


def ci_forest(
    values: Mapping[str, float],
    metrics: Sequence[str],
    *,
    title: str | None = None,
    xlabel: str = "mean with 95% confidence interval",
    reference: float | None = None,
):
    """Forest plot: one row per metric, its mean as a dot and its 95% CI as a horizontal bar.

    Args:
        values: Report fields (``report.overall``): ``<metric>``, ``<metric>.ci_low``, ``<metric>.ci_high``.
        metrics: The metrics to draw, top to bottom; ones without a mean are left out.
        reference: Where to draw a dashed vertical line (e.g. ``0.0`` for deltas).

    Example:
        >>> fig = ci_forest({"f1": 0.5, "f1.ci_low": 0.4, "f1.ci_high": 0.6}, ["f1"])
        >>> describe(fig)["axes"][0]["annotations"]
        ['0.500 [0.400, 0.600]']
    """
    shown = [m for m in metrics if values.get(m) == values.get(m) and values.get(m) is not None]
    if not shown:
        raise ConfigError(f"ci_forest: none of {list(metrics)} has a mean in the values given; nothing to plot.")
    fig = _figure(6.4, max(2.4, 0.5 * len(shown) + 1.4))
    ax = fig.add_subplot()
    for row, metric in enumerate(reversed(shown)):
        mean = float(values[metric])
        low, high = values.get(f"{metric}.ci_low", mean), values.get(f"{metric}.ci_high", mean)
        low, high = (mean if v is None or v != v else float(v) for v in (low, high))
        ax.plot([low, high], [row, row], color="tab:blue", linewidth=2)
        ax.plot([mean], [row], "o", color="tab:blue")
        ax.annotate(f"{mean:.3f} [{low:.3f}, {high:.3f}]", (high, row), textcoords="offset points", xytext=(6, -3))
    if reference is not None:
        ax.axvline(reference, color="tab:gray", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(shown)), list(reversed(shown)))
    ax.set_xlabel(xlabel)
    ax.set_title(title or "Headline metrics with 95% CIs")
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def describe(fig: Any) -> dict[str, Any]:
    """Title, axis labels and point/bar labels of a figure made here (used by tests and reports)."""
    out: dict[str, Any] = {"axes": []}
    for ax in fig.axes:
        out["axes"].append(
            {
                "title": ax.get_title(),
                "xlabel": ax.get_xlabel(),
                "ylabel": ax.get_ylabel(),
                "annotations": [t.get_text() for t in ax.texts],
                "legend": [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else [],
            }
        )
    return out
