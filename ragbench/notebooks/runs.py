"""Pull evaluation runs from MLflow into a table, and pick runs to compare.

The significance test itself is :func:`ragbench.evaluation.compare.compare_runs`
(paired bootstrap CI and permutation p-value on the per-question tables).

Example:
    >>> tracker = tracker_for(["home=.ragbench"])  # doctest: +SKIP
    >>> table = runs_table(tracker, dataset="demo")  # doctest: +SKIP
    >>> run_a, run_b = pick_pair(table)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

from ragbench.errors import ConfigError

# MLflow metric keys (see ragbench.tracking.mlflow.metric_key) shown by default, by table column.
DEFAULT_METRICS = ("recall@10", "mrr@10", "ndcg@10", "em", "f1", "latency.total_ms.p50", "latency.total_ms.p95")


def tracker_for(overrides: Sequence[str] = (), *, config_name: str = "config"):
    """The tracker the config with ``overrides`` would log to (``home=...``, ``tracking=...``)."""
    from ragbench.config import build, compose

    return build(compose(list(overrides), config_name=config_name)).tracker


def runs_table(tracker, *, dataset: str | None = None, metrics: Sequence[str] = DEFAULT_METRICS, max_results: int = 200):
    """Evaluation runs (newest first) with their metrics; runs tagged ``ragbench.kind`` (comparisons, sweeps, DSPy) are left out.

    Columns: ``run_id``, ``run_name``, ``label`` (name plus short id), ``dataset``, ``start_time``
    and one column per metric (named as in ragbench, e.g. ``ndcg@10``).
    """
    import pandas as pd

    from ragbench.tracking.mlflow import metric_key

    if not hasattr(tracker, "client"):
        raise ConfigError(f"Pulling runs needs an MLflow tracker (tracking=mlflow), got {tracker!r}.")
    client = tracker.client
    found = client.search_runs([tracker.experiment_id()], max_results=max_results, order_by=["attributes.start_time DESC"])
    rows = []
    for run in found:  # filtered here, not in a filter string built from user text
        tags = run.data.tags
        if "dataset" not in tags or (dataset and tags["dataset"] != dataset) or "ragbench.kind" in tags:
            continue
        row = {"run_id": run.info.run_id, "run_name": run.info.run_name or "",
               "label": f"{run.info.run_name or 'run'} ({run.info.run_id[:6]})",
               "dataset": run.data.tags.get("dataset", ""), "start_time": pd.Timestamp(run.info.start_time, unit="ms")}
        row.update({m: run.data.metrics.get(metric_key(m)) for m in metrics})
        rows.append(row)
    return pd.DataFrame(rows, columns=["run_id", "run_name", "label", "dataset", "start_time", *metrics])


def pick_pair(table, run_a: str | None = None, run_b: str | None = None) -> tuple[str, str]:
    """The two run ids to compare: the ones given, else the two newest runs of ``table`` (A older, B newer)."""
    if run_a and run_b:
        return run_a, run_b
    ids = list(table["run_id"]) if len(table) else []
    if len(ids) < 2:
        raise ConfigError(
            f"Need two runs to compare, found {len(ids)} in MLflow for this dataset. Run two configurations first "
            "(e.g. notebook 02, or `ragbench run retriever=bm25` and `ragbench run retriever=dense`)."
        )
    newest = [i for i in ids if i not in (run_a, run_b)]
    chosen_b = run_b or newest.pop(0)
    chosen_a = run_a or next(i for i in newest if i != chosen_b)
    return chosen_a, chosen_b
