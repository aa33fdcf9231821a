"""Run and compare configurations from a notebook, and turn results into tables.

The notebooks in ``notebooks/`` stay thin by calling these helpers: a notebook says
*which* configuration to run (config name, overrides, dataset); this module runs it
with :func:`ragbench.evaluation.run.run_experiment` and shapes the results.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragbench.config import Components
from ragbench.errors import ConfigError
from ragbench.evaluation.run import RunResult

LATENCY = ("latency.total_ms.p50", "latency.total_ms.p95")


@dataclass
class Experiment:
    """One configuration run end to end: its components and its :class:`RunResult`."""

    name: str
    parts: Components
    result: RunResult

    @property
    def report(self):
        return self.result.report

    def summary(self, metrics: Sequence[str] | None = None) -> dict[str, Any]:
        """Overall metrics and latency percentiles, with the MLflow run id."""
        overall = self.report.overall
        names = list(metrics or self.report.metric_names)
        row: dict[str, Any] = {"variant": self.name, "questions": int(overall["questions"])}
        row.update({m: overall.get(m) for m in [*names, *LATENCY]})
        row["answers.failed"] = int(overall.get("answers.failed", 0))
        row["run_id"] = self.result.run_id
        return row

    def per_question(self):
        """The per-question table (one row per question) as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.report.rows())

    def per_tenant(self, metrics: Sequence[str] | None = None):
        """One row per tenant: question count, metrics, latency and cross-tenant hits."""
        import pandas as pd

        names = [*(metrics or self.report.metric_names), *LATENCY, "isolation.cross_tenant_hits"]
        rows = [{"tenant": t, "questions": int(v["questions"]), **{m: v.get(m) for m in names}}
                for t, v in self.report.per_tenant.items()]
        return pd.DataFrame(rows)


def _overrides(overrides: Sequence[str], dataset: str | None) -> list[str]:
    if isinstance(overrides, str):
        raise ConfigError(f"overrides must be a list of key=value strings, got the string {overrides!r}; write [{overrides!r}].")
    return [*([f"dataset={dataset}"] if dataset else []), *overrides]


def run_config(
    overrides: Sequence[str] = (), *, dataset: str | None = None, config_name: str = "config", name: str | None = None,
) -> Experiment:
    """Compose, build and run one configuration; returns an :class:`Experiment`.

    Example:
        >>> exp = run_config(["max_queries=10"], dataset="demo")  # doctest: +SKIP
        >>> exp.summary()["ndcg@10"]  # doctest: +SKIP
        1.0
    """
    from ragbench.config import build, compose
    from ragbench.evaluation.run import run_experiment

    parts = build(compose(_overrides(overrides, dataset), config_name=config_name))
    return Experiment(name or parts.cfg.get("run_name") or parts.dataset.name, parts, run_experiment(parts))


@dataclass
class Comparison:
    """Several :class:`Experiment` runs of one dataset, keyed by variant name."""

    experiments: dict[str, Experiment]

    def table(self, metrics: Sequence[str] | None = None):
        """One row per variant: metrics, latency p50/p95 and the MLflow run id."""
        import pandas as pd

        return pd.DataFrame([e.summary(metrics) for e in self.experiments.values()])

    def answers(self, *, limit: int | None = 5, sources: int = 2):
        """Answers side by side: one row per question, per variant its answer and top sources."""
        import pandas as pd

        first = next(iter(self.experiments.values()))
        rows = []
        for i, base in enumerate(first.report.results[:limit]):
            row = {"question_id": base.sample.id, "tenant": base.sample.tenant, "question": base.sample.question,
                   "gold": " | ".join(base.sample.answers)}
            for name, exp in self.experiments.items():
                result = exp.report.results[i]
                row[f"{name}: answer"] = result.answer.text if result.answer else None
                row[f"{name}: sources"] = ", ".join(result.ranked_doc_ids[:sources])
            rows.append(row)
        return pd.DataFrame(rows)


def compare(
    variants: Mapping[str, Sequence[str]], *, overrides: Sequence[str] = (), dataset: str | None = None,
    config_name: str = "config",
) -> Comparison:
    """Run each variant (its own overrides on top of the shared ``overrides``) on one dataset.

    Each variant is logged to MLflow with ``run_name=<variant>``.

    Example:
        >>> cmp = compare({"bm25": ["retriever=bm25"], "dense": ["retriever=dense"]}, dataset="demo")  # doctest: +SKIP
        >>> cmp.table()[["variant", "ndcg@10"]]  # doctest: +SKIP
    """
    if not isinstance(variants, Mapping) or not variants:
        raise ConfigError(f"variants must be a non-empty mapping of name -> overrides, got {variants!r}; "
                          "e.g. {'bm25': ['retriever=bm25'], 'dense': ['retriever=dense']}.")
    experiments = {}
    for name, extra in variants.items():
        extra = _overrides(extra, None)
        experiments[name] = run_config([*overrides, f"run_name={name}", *extra], dataset=dataset,
                                       config_name=config_name, name=name)
    return Comparison(experiments)


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
            raise ConfigError(f"save_outputs cannot save {name}={type(item).__name__}: give a DataFrame, a Figure, a dict or a list.")
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


LLM_GENERATORS = ("generator=transformers", "generator=vllm")


def local_llm_model() -> str:
    """A local model folder for LLM variants: ``$RAGBENCH_LLM_MODEL``, else the tiny random Qwen2.

    The tiny Qwen2 (:mod:`ragbench.testing.tiny_qwen2`, built once into the cache) has random
    weights: its answers are nonsense, but every code path is real. Point
    ``RAGBENCH_LLM_MODEL`` at a real local model for meaningful answers.
    """
    import os

    env = os.environ.get("RAGBENCH_LLM_MODEL")
    if env:
        return env
    from ragbench.testing.tiny_qwen2 import tiny_qwen2_path

    return str(tiny_qwen2_path())


def with_llm_model(variants: Mapping[str, Sequence[str]], model: str | None = None) -> dict[str, list[str]]:
    """Add ``generator.model=<folder>`` to variants that pick a local LLM generator and name no model.

    Example:
        >>> with_llm_model({"x": ["generator=extractive"], "y": ["generator=transformers"]}, "/m")
        {'x': ['generator=extractive'], 'y': ['generator=transformers', 'generator.model=/m']}
    """
    out = {}
    for name, extra in variants.items():
        extra = list(extra)
        wants = any(o in LLM_GENERATORS for o in extra) and not any(o.startswith("generator.model=") for o in extra)
        out[name] = [*extra, f"generator.model={model or local_llm_model()}"] if wants else extra
    return out
