"""DataFrame views for notebooks: outputs saved to disk, indexing statistics, a response's sources, what
each tenant holds, a tenant-isolation matrix, the same question answered per tenant, and MLflow's runs
of a dataset (with two of them picked to compare)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ragbench.config import Components
from ragbench.errors import ConfigError
from ragbench.types import Query


def save_outputs(output_dir: str | Path, **items: Any) -> list[Path]:
    """Save DataFrames (``.csv``), figures (``.png``) and dicts (``.json``) into ``output_dir``.

    Example:
        >>> save_outputs("out", summary={"ndcg@10": 0.9})  # doctest: +SKIP
        [PosixPath('out/summary.json')]
    """
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, item in items.items():
        if hasattr(item, "to_csv"):
            path = folder / f"{name}.csv"
            item.to_csv(path, index=False)
        elif hasattr(item, "savefig"):
            path = folder / f"{name}.png"
            item.savefig(path, dpi=100, bbox_inches="tight")
        elif isinstance(item, (Mapping, list)):
            path = folder / f"{name}.json"
            path.write_text(json.dumps(item, indent=2, default=str), encoding="utf-8")
        else:
            raise ConfigError(
                f"save_outputs cannot save {name}={type(item).__name__}: give a DataFrame, a Figure, a dict or a list."
            )
        written.append(path)
    return written


def index_table(stats: Sequence[Any]):
    """Indexing statistics (:class:`ragbench.ingestion.datasets.IndexStats`) as a DataFrame, one row per tenant."""
    import dataclasses

    import pandas as pd

    return pd.DataFrame([{k: v for k, v in dataclasses.asdict(s).items() if k != "index"} for s in stats])


def sources_table(response: Any):
    """The sources of a :class:`ragbench.schema.QueryResponse`: rank, document, score, cited, text."""
    import pandas as pd

    cols = ["rank", "doc_id", "title", "score", "cited", "text"]
    return pd.DataFrame([s.model_dump() for s in response.sources], columns=cols)


def inventory(parts: Components):
    """One row per tenant of the dataset: documents, questions, chunks in its store and its store folder."""
    import pandas as pd

    stored = set(parts.store.tenants())
    rows = []
    for tenant, counts in parts.dataset.summary().items():
        rows.append(
            {
                "tenant": tenant,
                "documents": counts["documents"],
                "questions": counts["questions"],
                "chunks_in_store": parts.store.count(tenant) if tenant in stored else 0,
                "store_folder": f"tenants/{tenant}/",
            }
        )
    return pd.DataFrame(rows)


def isolation_matrix(parts: Components, *, k: int | None = None):
    """Ask every tenant's questions on behalf of every tenant and count hits from other tenants' documents.

    Row ``asked_as`` x column ``questions_of``: how many retrieved chunks did NOT belong to
    ``asked_as``. Isolation holds when every cell is 0 (retrieval never crosses tenants,
    even for another tenant's questions).
    """
    import pandas as pd

    k = int(k or parts.settings.k)
    tenants = parts.dataset.tenants
    owned = {(d.tenant, d.id) for d in parts.dataset.documents}
    cells = {}
    for asked_as in tenants:
        for questions_of in tenants:
            queries = [
                Query(text=s.question, tenant=asked_as, id=s.id)
                for s in parts.dataset.samples
                if s.tenant == questions_of
            ]
            hits = parts.retriever.retrieve(queries, k) if queries else []
            cells[(asked_as, questions_of)] = sum(
                1 for per_query in hits for h in per_query if h.tenant != asked_as or (asked_as, h.doc_id) not in owned
            )
    frame = pd.DataFrame(
        [[cells[(a, q)] for q in tenants] for a in tenants],
        index=pd.Index(tenants, name="asked_as"),
        columns=pd.Index(tenants, name="questions_of"),
    )
    return frame


def same_question(parts: Components, questions: Sequence[str] | None = None, *, sources: int = 2):
    """Ask the same questions as each tenant: answers and sources side by side.

    With ``questions=None`` the dataset's isolation probes (questions worded identically in
    several tenants) are used.
    """
    import pandas as pd

    if questions is None:
        by_text: dict[str, set[str]] = {}
        for s in parts.dataset.samples:
            by_text.setdefault(s.question, set()).add(s.tenant)
        questions = [q for q, ts in by_text.items() if len(ts) > 1]
    tenants = parts.dataset.tenants
    rows = []
    for question in questions:
        row = {"question": question}
        outputs = parts.pipeline.run([Query(text=question, tenant=t) for t in tenants])
        for tenant, (hits, answer, _) in zip(tenants, outputs, strict=True):
            row[f"{tenant}: answer"] = answer.text
            row[f"{tenant}: sources"] = ", ".join(list(dict.fromkeys(h.doc_id for h in hits))[:sources])
        rows.append(row)
    return pd.DataFrame(rows)


# Metrics shown by default, by their ragbench names (read from MLflow under ragbench.tracking.metric_names.mlflow_key).
DEFAULT_METRICS = ("recall@10", "mrr@10", "ndcg@10", "em", "f1", "latency.total_ms.p50", "latency.total_ms.p95")


def runs_table(
    tracker, *, dataset: str | None = None, metrics: Sequence[str] = DEFAULT_METRICS, max_results: int = 200
):
    """Evaluation runs (newest first) with their metrics; runs tagged ``ragbench.kind`` (comparisons, sweeps, DSPy) are left out.

    Columns: ``run_id``, ``run_name``, ``label`` (name plus short id), ``dataset``, ``start_time``
    and one column per metric (named as in ragbench, e.g. ``ndcg@10``).
    """
    import pandas as pd

    from ragbench.tracking.metric_names import mlflow_key

    if not hasattr(tracker, "client"):
        raise ConfigError(f"Pulling runs needs an MLflow tracker (tracking=mlflow), got {tracker!r}.")
    client = tracker.client
    found = client.search_runs(
        [tracker.experiment_id()], max_results=max_results, order_by=["attributes.start_time DESC"]
    )
    rows = []
    for run in found:  # filtered here, not in a filter string built from user text
        tags = run.data.tags
        if "dataset" not in tags or (dataset and tags["dataset"] != dataset) or "ragbench.kind" in tags:
            continue
        row = {
            "run_id": run.info.run_id,
            "run_name": run.info.run_name or "",
            "label": f"{run.info.run_name or 'run'} ({run.info.run_id[:6]})",
            "dataset": run.data.tags.get("dataset", ""),
            "start_time": pd.Timestamp(run.info.start_time, unit="ms"),
        }
        row.update({m: run.data.metrics.get(mlflow_key(m)) for m in metrics})
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
