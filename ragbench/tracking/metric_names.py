"""The names evaluation metrics get in MLflow: ``/``-grouped, headline metrics first.

A report says ``ndcg@10``, ``f1.ci_low``, ``latency.total_ms.p50``, ``questions`` and
``tenant.<t>.f1``; MLflow shows ``retrieval/ndcg_at_10``, ``quality/f1/ci_low``,
``latency/p50_ms``, ``counts/questions`` and ``tenant/<t>/f1``, so its UI folds them into groups.
The other figures a run logs follow the same rule through their first segment: telemetry
(``throughput.generate.output_tokens_per_s`` -> ``throughput/generate/output_tokens_per_s``,
``gpu.0.utilization_pct.mean`` -> ``gpu/0/utilization_pct/mean``; :class:`GroupedSink`), a sweep
parent's ``sweep.trials``, DSPy's ``dspy.before.f1`` and a pipeline stage's ``stage.seconds``.
:func:`mlflow_key` is the one mapping; everything that reads a run's metrics back from MLflow
(the runs table, the dashboard) goes through it with the ragbench name it wants.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ragbench.tracking.mlflow import metric_key

# Report fields that are counts, by their MLflow name.
_COUNTS = {
    "questions": "counts/questions",
    "answers.failed": "counts/failed",
    "answers.cached": "counts/cached",
    "answers.failure_rate": "counts/failure_rate",
    "resumed_questions": "counts/resumed_questions",
}
# Suffixes a metric's summary adds (``f1.ci_low``, ``ndcg@10.n``, ...).
_METRIC_SUFFIXES = frozenset({"ci_low", "ci_high", "n", "failed", "failure_rate", "judge_std"})
# First segments that already name a group: ``generate.tokens_per_s`` becomes ``generate/tokens_per_s``.
_GROUPS = frozenset(
    {"isolation", "generate", "method", "index", "throughput", "gpu", "system", "answers"}
    | {"sweep", "dspy", "stage", "pipeline"}  # a sweep parent's, DSPy's and notebook pipelines' own figures
)
# Groups a scoped key (per tenant, per language) drops: ``tenant/acme/f1``, not ``tenant/acme/quality/f1``.
_DROPPED_IN_SCOPE = ("quality/", "retrieval/", "counts/")


def _group(base: str) -> str:
    """``retrieval`` for rank-cut metrics (``ndcg@10``), ``quality`` for answer and judge metrics."""
    return "retrieval" if "@" in base else "quality"


def _latency(key: str) -> str:
    """``latency.total_ms.p50`` -> ``latency/p50_ms``; ``latency.retrieve_ms.p95`` -> ``latency/retrieve/p95_ms``."""
    parts = key.split(".")
    if len(parts) != 3 or not parts[1].endswith("_ms"):
        return "/".join(metric_key(p) for p in parts)
    stage, pct = parts[1].removesuffix("_ms"), parts[2]
    return f"latency/{pct}_ms" if stage == "total" else f"latency/{metric_key(stage)}/{pct}_ms"


def mlflow_key(key: str, *, scope: str | None = None) -> str:
    """The MLflow name of a report field; ``scope`` (e.g. ``tenant/acme``) prefixes a per-tenant one.

    Example:
        >>> mlflow_key("ndcg@10"), mlflow_key("f1.ci_low"), mlflow_key("latency.total_ms.p50")
        ('retrieval/ndcg_at_10', 'quality/f1/ci_low', 'latency/p50_ms')
        >>> mlflow_key("f1", scope="tenant/acme-robotics"), mlflow_key("questions")
        ('tenant/acme-robotics/f1', 'counts/questions')
    """
    name = _unscoped(key)
    if scope is None:
        return name
    for group in _DROPPED_IN_SCOPE:
        if name.startswith(group):
            name = name[len(group) :]
            break
    return f"{metric_key(scope)}/{name}"


def _unscoped(key: str) -> str:
    if key in _COUNTS:
        return _COUNTS[key]
    if key.startswith("latency."):
        return _latency(key)
    head, _, rest = key.partition(".")
    if rest and head in _GROUPS:
        return "/".join(metric_key(p) for p in key.split("."))
    base, _, suffix = key.rpartition(".") if key.rpartition(".")[2] in _METRIC_SUFFIXES else (key, "", "")
    return f"{_group(base)}/{metric_key(base)}" + (f"/{suffix}" if suffix else "")


def headline_keys(metric_names: Sequence[str]) -> list[str]:
    """Report fields logged first: each configured metric's mean and CI, latency p50/p95, questions, failures."""
    out = [f"{m}{s}" for m in metric_names for s in ("", ".ci_low", ".ci_high")]
    return [*out, "latency.total_ms.p50", "latency.total_ms.p95", "questions", "answers.failed"]


def mlflow_metrics(
    overall: Mapping[str, float],
    *,
    metric_names: Sequence[str] = (),
    scoped: Iterable[tuple[str, Mapping[str, float]]] = (),
) -> dict[str, float]:
    """Report fields under their MLflow names, in logging order: headline metrics, then the other overall
    fields, then each scope's (``("tenant/acme", values)``). NaN values (a CI of one value) are left out.

    Example:
        >>> list(mlflow_metrics({"questions": 3, "f1": 0.5, "f1.n": 3}, metric_names=["f1"]))
        ['quality/f1', 'counts/questions', 'quality/f1/n']
    """
    heads = [k for k in headline_keys(metric_names) if k in overall]
    ordered = [(k, None, overall[k]) for k in heads]
    ordered += [(k, None, v) for k, v in overall.items() if k not in heads]
    ordered += [(k, scope, v) for scope, values in scoped for k, v in values.items()]
    return {mlflow_key(k, scope=scope): float(v) for k, scope, v in ordered if v is not None and v == v}


class GroupedSink:
    """Wraps a tracker so telemetry (``throughput.*``, ``gpu.*`` metrics and series) is logged under
    :func:`mlflow_key` names; params and tags pass through unchanged.

    Example:
        >>> telemetry.log_to(GroupedSink(tracker))  # doctest: +SKIP
    """

    def __init__(self, sink: Any) -> None:
        self.sink = sink

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.sink.log_params(params)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self.sink.set_tags(tags)

    def log_metrics(self, metrics: Mapping[str, float]) -> None:
        self.sink.log_metrics({mlflow_key(k): v for k, v in metrics.items()})

    def log_series(self, series: Mapping[str, Sequence[tuple[int, float, float]]]) -> None:
        self.sink.log_series({mlflow_key(k): v for k, v in series.items()})
