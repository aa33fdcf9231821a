"""Metrics: retrieval metrics from qrels, answer EM/F1, latency percentiles, and their catalogue."""

from ragbench.metrics.answer import exact_match, normalize_answer, token_f1
from ragbench.metrics.latency import percentiles, stage_latencies
from ragbench.metrics.registry import (
    AnswerMetric,
    MetricSuite,
    RetrievalMetric,
    available_metrics,
    get_metric,
    register_metric,
)
from ragbench.metrics.retrieval import (
    average_precision_at_k,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

__all__ = [
    "AnswerMetric",
    "MetricSuite",
    "RetrievalMetric",
    "available_metrics",
    "average_precision_at_k",
    "exact_match",
    "get_metric",
    "hit_rate_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "normalize_answer",
    "percentiles",
    "precision_at_k",
    "recall_at_k",
    "register_metric",
    "stage_latencies",
    "token_f1",
]
