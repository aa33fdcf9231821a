"""A sweep as a quality table: every trial's means with 95% CIs and its paired test against a baseline.

``ragbench run -m dataset=demo,hotpotqa experiment=closed_book,rag_bm25 --baseline experiment=closed_book``
compares each trial with the trial that differs from it only in the baseline's value (the same
dataset, say): deltas, their bootstrap CIs and paired permutation p-values on shared questions
(:func:`ragbench.evaluation.compare.compare_tables`). ``--markdown FILE`` writes the table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ragbench.errors import ConfigError
from ragbench.evaluation.stats import PairedResult
from ragbench.evaluation.sweep import SweepResult, Trial

LATENCY = ("latency.total_ms.p50", "latency.total_ms.p95")
COST = ("method.llm_calls", "method.tokens")  # per question, from the RAG method's traces


@dataclass
class TableRow:
    """One trial: its overrides without the constant ones, and its comparison with the baseline trial."""

    trial: Trial
    label: dict[str, str]
    baseline: Trial | None = None
    paired: dict[str, PairedResult] = field(default_factory=dict)


def _parse(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key or not value:
        raise ConfigError(f"--baseline takes KEY=VALUE of a swept key, e.g. experiment=closed_book; got {item!r}.")
    return key, value


def _as_dict(overrides: Sequence[str]) -> dict[str, str]:
    return dict(o.partition("=")[::2] for o in overrides)


def compare_to_baseline(result: SweepResult, baseline: str, metrics: Sequence[str]) -> list[TableRow]:
    """Pair every trial with its baseline trial (same overrides but ``baseline``'s value) and test ``metrics``."""
    import pandas as pd

    from ragbench.evaluation.compare import compare_tables

    key, value = _parse(baseline)
    settings = [_as_dict(t.overrides) for t in result.trials]
    if not any(s.get(key) == value for s in settings):
        raise ConfigError(f"No trial has {baseline}: the baseline must be one of the swept values of {key!r}.")
    varying = [k for k in dict.fromkeys(k for s in settings for k in s) if len({s.get(k) for s in settings}) > 1]
    rows = []
    for trial, s in zip(result.trials, settings):
        row = TableRow(trial, {k: s.get(k, "") for k in varying})
        want = {**s, key: value}
        base = next((t for t, o in zip(result.trials, settings) if o == want), None)
        if base is not None and base is not trial and not base.error and not trial.error and trial.rows and base.rows:
            row.baseline = base
            cmp = compare_tables(
                base.run_id or "baseline", pd.DataFrame(base.rows), trial.run_id or "trial", pd.DataFrame(trial.rows)
            )
            row.paired = {r.metric: r for r in cmp.results if r.metric in metrics}
        rows.append(row)
    return rows


def _mean_ci(metrics: dict, name: str) -> str:
    if name not in metrics:
        return "-"
    low, high = metrics.get(f"{name}.ci_low"), metrics.get(f"{name}.ci_high")
    ci = f" [{low:.3f}, {high:.3f}]" if low is not None and low == low else ""
    return f"{metrics[name]:.3f}{ci}"


def _delta(p: PairedResult | None) -> str:
    if p is None:
        return ""
    return f"{p.delta:+.3f} (p={p.p_value:.3g})"


def markdown_table(rows: Sequence[TableRow], metrics: Sequence[str], *, baseline: str) -> str:
    """The table as Markdown: one row per trial, metric means with CIs, deltas vs the baseline, latency, LLM calls
    and tokens per question (the RAG method's cost), tokens/s."""
    label_keys = list(rows[0].label) if rows else []
    head = [
        *label_keys,
        "n",
        *metrics,
        *(f"Δ{m} vs {baseline.partition('=')[2]}" for m in metrics),
        "p50 ms",
        "p95 ms",
        "LLM calls/q",
        "tokens/q",
        "tokens/s",
        "MLflow run",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        t = row.trial
        if t.error:
            cells = [
                *row.label.values(),
                "",
                *(["n/a"] * len(metrics)),
                *([""] * len(metrics)),
                "",
                "",
                "",
                "",
                "",
                f"failed: {t.error[:120]}",
            ]
        else:
            m = t.metrics
            cells = [
                *row.label.values(),
                str(int(m.get("questions", 0))),
                *(_mean_ci(m, x) for x in metrics),
                *(_delta(row.paired.get(x)) for x in metrics),
                *(f"{m[k]:.0f}" if k in m else "-" for k in LATENCY),
                *(f"{m[k]:.2f}" if k == COST[0] and k in m else f"{m[k]:.0f}" if k in m else "-" for k in COST),
                f"{m['generate.tokens_per_s']:.1f}" if "generate.tokens_per_s" in m else "-",
                f"`{t.run_id}`",
            ]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)
