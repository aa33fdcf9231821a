"""Plots are labelled and the Pareto front is exact (matplotlib, Agg, no display)."""

import pandas as pd
import pytest

from ragbench.errors import ConfigError
from ragbench.plotting import ci_forest, describe, metric_bars, pareto_front, quality_vs_latency


def test_pareto_front_exact():
    # (quality, cost): c dominates d (better and cheaper); e ties a on cost with lower quality.
    q = [0.50, 0.70, 0.90, 0.60, 0.40]
    c = [10.0, 20.0, 50.0, 30.0, 10.0]
    assert pareto_front(q, c) == [True, True, True, False, False]
    assert pareto_front(q, c, higher_is_better=False) == [False, False, False, False, True]
    assert pareto_front([0.5, 0.5], [1.0, 1.0]) == [True, True]  # equal points do not dominate each other
    with pytest.raises(ConfigError, match="2 qualities but 1 costs"):
        pareto_front([1, 2], [1])


def test_quality_vs_latency_is_labelled():
    table = pd.DataFrame(
        {"variant": ["bm25", "dense", "hybrid"], "ndcg@10": [0.6, 0.7, 0.8], "latency.total_ms.p50": [5.0, 12.0, 8.0]}
    )
    fig = quality_vs_latency(table)
    [ax] = describe(fig)["axes"]
    assert ax["xlabel"] == "median latency per question (ms)" and ax["ylabel"] == "ndcg@10 (higher is better)"
    assert ax["title"] and ax["annotations"] == ["bm25", "dense", "hybrid"] and ax["legend"] == ["Pareto front"]
    line = fig.axes[0].lines[0]  # the front: bm25 (fastest) and hybrid (best); dense is dominated by hybrid
    assert list(line.get_xdata()) == [5.0, 8.0] and list(line.get_ydata()) == [0.6, 0.8]


def test_metric_bars_are_labelled_with_values():
    table = pd.DataFrame({"tenant": ["a", "b"], "ndcg@10": [0.5, 1.0], "f1": [0.25, 0.75]})
    fig = metric_bars(table, ["ndcg@10", "f1"], label="tenant")
    [ax] = describe(fig)["axes"]
    assert ax["xlabel"] == "tenant" and ax["ylabel"] == "score" and ax["legend"] == ["ndcg@10", "f1"]
    assert sorted(ax["annotations"]) == ["0.25", "0.50", "0.75", "1.00"]


def test_missing_column_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"needs column\(s\) \['ndcg@10'\].*has: variant"):
        quality_vs_latency(pd.DataFrame({"variant": ["x"], "latency.total_ms.p50": [1.0]}))


def test_quality_vs_latency_draws_ci_bars_when_the_table_has_them():
    table = pd.DataFrame(
        {
            "variant": ["bm25", "dense"],
            "ndcg@10": [0.6, 0.7],
            "ndcg@10.ci_low": [0.5, 0.65],
            "ndcg@10.ci_high": [0.75, 0.8],
            "latency.total_ms.p50": [5.0, 12.0],
        }
    )
    ax = quality_vs_latency(table).axes[0]
    [bars] = ax.containers  # one errorbar container: a vertical segment per point, from ci_low to ci_high
    segments = sorted(tuple(map(tuple, seg)) for seg in bars.lines[2][0].get_segments())
    assert segments == [((5.0, 0.5), (5.0, 0.75)), ((12.0, 0.65), (12.0, 0.8))]
    front = next(line for line in ax.lines if line.get_label() == "Pareto front")
    assert list(front.get_xdata()) == [5.0, 12.0]


def test_ci_forest_has_one_row_per_metric_with_its_interval():
    values = {"ndcg@10": 0.6, "ndcg@10.ci_low": 0.5, "ndcg@10.ci_high": 0.7, "f1": 0.25, "f1.ci_low": 0.2}
    fig = ci_forest(values, ["ndcg@10", "f1", "em"], reference=0.0)
    [ax] = describe(fig)["axes"]
    assert ax["annotations"] == ["0.250 [0.200, 0.250]", "0.600 [0.500, 0.700]"]  # em has no mean: left out
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["f1", "ndcg@10"]  # first metric on top
    with pytest.raises(ConfigError, match=r"none of \['em'\] has a mean"):
        ci_forest(values, ["em"])
