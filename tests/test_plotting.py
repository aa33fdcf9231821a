"""Plots are labelled and the Pareto front is exact (matplotlib, Agg, no display)."""

import pandas as pd
import pytest

from ragbench.errors import ConfigError
from ragbench.plotting import describe, metric_bars, pareto_front, quality_vs_latency


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
