"""Retrieval metrics: exact values on tiny data, and agreement with pytrec_eval (trec_eval)."""

import math
import random

import pytest
import pytrec_eval

from ragbench.metrics import (
    average_precision_at_k,
    get_metric,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

RANKED = ["d3", "d1", "d9", "d2", "d7"]
QRELS = {"d1": 2, "d2": 1, "d5": 1, "d8": 0}


def test_exact_values_on_tiny_data():
    assert recall_at_k(RANKED, QRELS, 2) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, QRELS, 5) == pytest.approx(2 / 3)
    assert precision_at_k(RANKED, QRELS, 5) == pytest.approx(2 / 5)
    assert mrr_at_k(RANKED, QRELS, 10) == pytest.approx(0.5)
    assert mrr_at_k(RANKED, QRELS, 1) == 0.0
    assert hit_rate_at_k(RANKED, QRELS, 1) == 0.0 and hit_rate_at_k(RANKED, QRELS, 2) == 1.0
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(RANKED, QRELS, 5) == pytest.approx(dcg / idcg, abs=1e-12)
    assert average_precision_at_k(RANKED, QRELS, 5) == pytest.approx((1 / 2 + 2 / 4) / 3)


def test_no_relevant_documents_scores_zero():
    assert ndcg_at_k(["a"], {"b": 0}, 10) == 0.0
    assert recall_at_k(["a"], {}, 10) == 0.0


MEASURES = {
    "ndcg_cut_10": ndcg_at_k,
    "recall_10": recall_at_k,
    "P_10": precision_at_k,
    "map_cut_10": average_precision_at_k,
}


def _trec(run_lists, qrels):
    """Scores that make trec_eval keep our order: strictly decreasing per query."""
    run = {q: {d: float(len(docs) - i) for i, d in enumerate(docs)} for q, docs in run_lists.items()}
    return pytrec_eval.RelevanceEvaluator(qrels, set(MEASURES) | {"recip_rank"}).evaluate(run)


def test_agrees_with_pytrec_eval_on_random_graded_runs():
    rng = random.Random(7)
    docs = [f"d{i}" for i in range(40)]
    qrels, runs = {}, {}
    for q in range(60):
        qrels[f"q{q}"] = {d: rng.choice([0, 1, 1, 2, 3]) for d in rng.sample(docs, rng.randint(1, 8))}
        runs[f"q{q}"] = rng.sample(docs, rng.randint(1, 20))
    reference = _trec(runs, qrels)
    for q, ranked in runs.items():
        for name, fn in MEASURES.items():
            assert fn(ranked, qrels[q], 10) == pytest.approx(reference[q][name], abs=1e-9), (q, name)
        # trec_eval's recip_rank has no cut-off: compare on a run cut at 10
        assert mrr_at_k(ranked, qrels[q], 10) == pytest.approx(
            _trec({q: ranked[:10]}, {q: qrels[q]})[q]["recip_rank"], abs=1e-9
        )


def test_metric_names_and_errors():
    assert get_metric("recall@5").name == "recall@5"
    with pytest.raises(KeyError, match="Did you mean: 'ndcg@10'"):
        get_metric("ndgc@10")
    with pytest.raises(ValueError, match="needs a rank cut-off"):
        get_metric("ndcg")
    with pytest.raises(ValueError, match="takes no '@k'"):
        get_metric("f1@3")
