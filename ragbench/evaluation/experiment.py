"""The experiment API a notebook user meets first: run a configuration, run variants side by side,
compare two runs question by question. ``import ragbench`` exposes these as ``ragbench.run``,
``ragbench.run_variants`` and ``ragbench.compare``.

Example:
    >>> import ragbench
    >>> bm25 = ragbench.run(["retriever=bm25", "generator=extractive"], dataset="demo")  # doctest: +SKIP
    >>> bm25.per_tenant()  # doctest: +SKIP
    >>> dense = ragbench.run(["retriever=dense", "generator=extractive"], dataset="demo")  # doctest: +SKIP
    >>> ragbench.compare(bm25, dense).rows()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ragbench.config import Components, build, compose
from ragbench.errors import ConfigError
from ragbench.evaluation.compare import Comparison, compare_tables
from ragbench.evaluation.run import RunResult, run_experiment
from ragbench.evaluation.table import COST

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
        """Overall metrics, latency percentiles and the RAG method's LLM calls and tokens per question, with the
        MLflow run id."""
        overall = self.report.overall
        names = list(metrics or self.report.metric_names)
        row: dict[str, Any] = {"variant": self.name, "questions": int(overall["questions"])}
        row.update({m: overall.get(m) for m in [*names, *LATENCY, *COST]})
        row["answers.failed"] = int(overall.get("answers.failed", 0))
        row["run_id"] = self.result.run_id
        return row

    def text(self) -> str:
        """The report as printed by ``ragbench run``: one row per tenant (and language), means with 95% CIs."""
        from ragbench.evaluation.report import format_report

        return format_report(self.report)

    def style(self):
        """The report as a styled pandas DataFrame: means with 95% CIs, failures highlighted."""
        from ragbench.evaluation.report import report_style

        return report_style(self.report)

    def _repr_html_(self) -> str:
        """A notebook shows an experiment as its styled report (the terminal's ``ragbench run`` uses rich)."""
        return self.style().to_html()

    def per_question(self):
        """The per-question table (one row per question) as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.report.rows())

    def plot(self, quality: str | None = None):
        """Per-tenant bars of the run's answer metrics, or of ``quality`` (a matplotlib Figure)."""
        from ragbench import plotting

        names = (
            [quality] if quality else [m for m in self.report.metric_names if "@" not in m] or self.report.metric_names
        )
        return plotting.metric_bars(self.per_tenant(names), names, title=f"{self.name}: per tenant")

    def per_tenant(self, metrics: Sequence[str] | None = None):
        """One row per tenant: question count, metrics, latency and cross-tenant hits."""
        import pandas as pd

        names = [*(metrics or self.report.metric_names), *LATENCY, "isolation.cross_tenant_hits"]
        rows = [
            {"tenant": t, "questions": int(v["questions"]), **{m: v.get(m) for m in names}}
            for t, v in self.report.per_tenant.items()
        ]
        return pd.DataFrame(rows)


def _overrides(overrides: Sequence[str], dataset: str | None) -> list[str]:
    if isinstance(overrides, str):
        raise ConfigError(
            f"overrides must be a list of key=value strings, got the string {overrides!r}; write [{overrides!r}]."
        )
    return [*([f"dataset={dataset}"] if dataset else []), *overrides]


def run(
    overrides: Sequence[str] | Components = (),
    *,
    dataset: str | None = None,
    config_name: str = "config",
    name: str | None = None,
) -> Experiment:
    """Run one configuration (index if needed, evaluate, log to MLflow); an :class:`Experiment`.

    ``overrides`` are Hydra overrides to compose and build, or already built :class:`Components`.

    Example:
        >>> exp = run(["max_queries=10"], dataset="demo")  # doctest: +SKIP
        >>> exp.summary()["ndcg@10"]  # doctest: +SKIP
        1.0
    """
    if isinstance(overrides, Components):
        parts = overrides
        return Experiment(name or parts.settings.run_name or parts.dataset.name, parts, run_experiment(parts))
    parts = build(compose(_overrides(overrides, dataset), config_name=config_name))
    return Experiment(name or parts.cfg.get("run_name") or parts.dataset.name, parts, run_experiment(parts))


@dataclass
class Variants:
    """Several :class:`Experiment` runs of one dataset, keyed by variant name."""

    experiments: dict[str, Experiment]

    def table(self, metrics: Sequence[str] | None = None):
        """One row per variant: metrics, latency p50/p95 and the MLflow run id."""
        import pandas as pd

        return pd.DataFrame([e.summary(metrics) for e in self.experiments.values()])

    def against(self, baseline: str, metrics: Sequence[str] | None = None):
        """Each other variant paired with ``baseline`` on the questions both answered: one row per variant and metric
        with both means, the difference (variant - baseline), its 95% bootstrap CI and permutation p-value.

        Example:
            >>> methods.against("standard", ["f1", "match"])  # doctest: +SKIP
        """
        import pandas as pd

        if baseline not in self.experiments:
            raise ConfigError(
                f"No variant named {baseline!r} to compare against. Variants: {', '.join(self.experiments)}."
            )
        base = self.experiments[baseline]
        base_id, base_table = base.result.run_id or baseline, pd.DataFrame(base.report.rows())  # read once
        rows = []
        for name, exp in self.experiments.items():
            if name == baseline:
                continue
            paired = compare_tables(
                base_id, base_table, exp.result.run_id or name, pd.DataFrame(exp.report.rows()), metrics=metrics
            )
            rows.extend({"variant": name, "baseline": baseline, **r} for r in paired.rows())
        return pd.DataFrame(rows)

    def steps(self, *, limit: int | None = 3):
        """What each variant's RAG method did, question by question: one row per question and variant with the
        search queries it sent, its intermediate LLM outputs (rewrites, sub-questions, reasoning sentences, ...),
        its LLM calls and tokens, and the answer (or the error of a failed one).

        Example:
            >>> methods.steps(limit=2)[["variant", "queries", "llm_calls"]]  # doctest: +SKIP
        """
        import pandas as pd

        first = next(iter(self.experiments.values()))
        by_id = {name: {r.sample.id: r for r in exp.report.results} for name, exp in self.experiments.items()}
        rows = []
        for base in first.report.results[:limit]:
            for name in self.experiments:
                result = by_id[name].get(base.sample.id)
                if result is None:  # a variant that did not answer this question (another max_queries, say)
                    continue
                trace, answer = result.trace, result.answer
                rows.append(
                    {
                        "question_id": base.sample.id,
                        "question": base.sample.question,
                        "variant": name,
                        "queries": " | ".join(trace.queries) if trace else "",
                        "steps": " | ".join(f"{s['step']}: {s['text']}" for s in trace.steps) if trace else "",
                        "llm_calls": trace.llm_calls if trace else 0,
                        "tokens": trace.prompt_tokens + trace.completion_tokens if trace else 0,
                        "answer": (answer.text if answer.ok else f"failed: {answer.error}") if answer else None,
                    }
                )
        return pd.DataFrame(rows)

    def answers(self, *, limit: int | None = 5, sources: int = 2):
        """Answers side by side: one row per question, per variant its answer and top sources."""
        import pandas as pd

        first = next(iter(self.experiments.values()))
        rows = []
        for i, base in enumerate(first.report.results[:limit]):
            row = {
                "question_id": base.sample.id,
                "tenant": base.sample.tenant,
                "question": base.sample.question,
                "gold": " | ".join(base.sample.answers),
            }
            for name, exp in self.experiments.items():
                result = exp.report.results[i]
                row[f"{name}: answer"] = result.answer.text if result.answer else None
                row[f"{name}: sources"] = ", ".join(result.ranked_doc_ids[:sources])
            rows.append(row)
        return pd.DataFrame(rows)


def run_variants(
    variants: Mapping[str, Sequence[str]],
    *,
    overrides: Sequence[str] = (),
    dataset: str | None = None,
    config_name: str = "config",
) -> Variants:
    """Run each variant (its own overrides on top of the shared ``overrides``) on one dataset.

    Each variant is logged to MLflow with ``run_name=<variant>``.

    Example:
        >>> both = run_variants({"bm25": ["retriever=bm25"], "dense": ["retriever=dense"]}, dataset="demo")  # doctest: +SKIP
        >>> both.table()[["variant", "ndcg@10"]]  # doctest: +SKIP
    """
    if not isinstance(variants, Mapping) or not variants:
        raise ConfigError(
            f"variants must be a non-empty mapping of name -> overrides, got {variants!r}; "
            "e.g. {'bm25': ['retriever=bm25'], 'dense': ['retriever=dense']}."
        )
    experiments = {}
    for name, extra in variants.items():
        extra = _overrides(extra, None)
        experiments[name] = run(
            [*overrides, f"run_name={name}", *extra], dataset=dataset, config_name=config_name, name=name
        )
    return Variants(experiments)


def compare(
    a: Experiment | str, b: Experiment | str, *, metrics: Sequence[str] | None = None, tracker=None
) -> Comparison:
    """Question-by-question comparison of run B against run A: deltas, 95% CIs, paired permutation p-values.

    ``a`` and ``b`` are :class:`Experiment` objects, or MLflow run ids (read through ``tracker``, by default
    the configured one). Only questions both runs answered are compared.

    Example:
        >>> compare(bm25, dense, metrics=["ndcg@10"]).rows()  # doctest: +SKIP
    """
    import pandas as pd

    def table(x):
        if isinstance(x, Experiment):
            return x.result.run_id or x.name, pd.DataFrame(x.report.rows())
        source = tracker or build(compose([])).tracker
        return x, source.load_table(x, "per_question")

    (name_a, frame_a), (name_b, frame_b) = table(a), table(b)
    return compare_tables(name_a, frame_a, name_b, frame_b, metrics=metrics)
