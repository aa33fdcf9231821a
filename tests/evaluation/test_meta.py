"""Meta-evaluation on RAGChecker's human labels: grouping, correlations equal scipy, failures left out."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from ragbench.evaluation.meta import HumanPair, agreement, load_human_pairs, score_pairs
from ragbench.metrics.answer import token_f1
from tests.conftest import require_shared


def _pairs(labels):
    return [
        HumanPair(
            i,
            "toy",
            f"q{i}",
            "gold",
            "a",
            "b",
            {"correctness_label": tuple(lab), "completeness_label": (0,), "overall_label": (0,)},
        )
        for i, lab in enumerate(labels)
    ]


def test_correlation_over_every_label_equals_scipy_and_failures_are_left_out():
    labels = [(2, 1), (-1, -2), (0, 1), (1, 1), (-2, -1), (1, 0)]
    pairs = _pairs(labels)
    scores = {0: (0.1, 0.9), 1: (0.8, 0.2), 2: (0.5, 0.5), 3: (0.2, 0.6), 4: (0.9, 0.1), 5: None}
    a = agreement("toy", pairs, scores, n_resamples=200)
    diffs = [s2 - s1 for k, (s1, s2) in ((k, v) for k, v in scores.items() if v) for _ in labels[k]]
    flat = [x for k in range(5) for x in labels[k]]
    assert (a.n_pairs, a.n_labels, a.failed) == (5, 10, 1)
    assert a.spearman == pytest.approx(spearmanr(diffs, flat).statistic)
    assert a.kendall == pytest.approx(kendalltau(diffs, flat).statistic)
    assert a.spearman_low <= a.spearman <= a.spearman_high and a.spearman > 0.8


def test_a_constant_metric_agrees_with_nobody():
    pairs = _pairs([(1, 2), (-1, -1), (0, 1)])
    a = agreement("constant", pairs, {p.key: (0.5, 0.5) for p in pairs}, n_resamples=50)
    assert a.spearman == 0.0 and a.kendall == 0.0


def test_ragchecker_pairs_load_and_a_trivial_baseline_is_measured():
    path = require_shared("ragchecker_examples") / "meta_evaluation" / "human_labeled_data.json"
    pairs = load_human_pairs(path)
    assert len(pairs) == 280 and all(len(p.labels["correctness_label"]) == 2 for p in pairs)
    assert {p.dataset.split("/")[0] for p in pairs} >= {"kiwi", "clapnq", "novelqa", "robustqa"}
    assert all(-2 <= x <= 2 for p in pairs for x in p.labels["overall_label"])
    scores = score_pairs(pairs, lambda q, a, g: token_f1(a, [g]))
    a = agreement("token_f1", pairs, scores, label="correctness_label", n_resamples=200)
    assert (a.n_pairs, a.n_labels, a.failed) == (280, 560, 0)
    assert -1 < a.spearman_low <= a.spearman <= a.spearman_high < 1 and np.isfinite(a.kendall)
