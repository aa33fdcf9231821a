"""The plain-text report of a run: one row per tenant (and per language), metric means with 95% CIs."""

from __future__ import annotations

from ragbench._table import TextTable
from ragbench.evaluation.evaluate import EvaluationReport


def _cell(values: dict, metric: str) -> str:
    if metric not in values:
        return "-"
    low, high = values.get(f"{metric}.ci_low"), values.get(f"{metric}.ci_high")
    text = f"{values[metric]:.4f}"
    if low is not None and low == low:
        text += f" [{low:.3f},{high:.3f}]"
    if values.get(f"{metric}.failed"):
        text += f" ({int(values[f'{metric}.failed'])} failed)"
    return text


def report_table(report: EvaluationReport) -> TextTable:
    """The report as a table: one row per tenant, one per language (when there are several) and one overall;
    failed answers, metric means with 95% CIs, latency columns."""
    cols = [*report.metric_names, "latency.total_ms.p50", "latency.total_ms.p95", "latency.total_ms.p99"]
    header = [
        "tenant / language",
        "questions",
        "failed_answers",
        *[c.replace("latency.total_ms.", "total_ms.") for c in cols],
        "cross_tenant_hits",
    ]
    languages = (
        [(f"language {lang}", v) for lang, v in report.per_language.items()] if len(report.per_language) > 1 else []
    )
    rows = []
    for name, values in [*report.per_tenant.items(), *languages, ("ALL", report.overall)]:
        cells = [name, f"{int(values['questions'])}", f"{int(values.get('answers.failed', 0))}"]
        cells += [
            _cell(values, c) if not c.startswith("latency") else (f"{values[c]:.1f}" if c in values else "-")
            for c in cols
        ]
        cells.append(f"{int(values['isolation.cross_tenant_hits'])}")
        rows.append(cells)
    return TextTable(header, rows, title="Evaluation: means with 95% CIs")


def format_report(report: EvaluationReport) -> str:
    """The report as plain text (for files and pipes; the CLI shows :func:`report_table` with rich in a terminal)."""
    return report_table(report).plain()


#: CSS of the notebook report: right-aligned figures, failed cells and rows highlighted.
_FAILED_CSS = "background-color: #fde2e1; color: #9b1c1c; font-weight: bold"


def report_style(report: EvaluationReport):
    """The report as a styled pandas DataFrame (what a notebook shows; the terminal keeps rich).

    Same rows and cells as :func:`report_table` (means with 95% CIs as ``0.1538 [0.000,0.308]``);
    failed answers and metrics with failed items are highlighted, the caption names the run's CIs.

    Example:
        >>> report_style(experiment.report)  # doctest: +SKIP
        <pandas.io.formats.style.Styler ...>
    """
    import pandas as pd

    table = report_table(report)
    frame = pd.DataFrame(table.rows, columns=table.header).set_index(table.header[0])

    def failed(column: pd.Series) -> list[str]:
        if column.name == "failed_answers":
            return [_FAILED_CSS if value != "0" else "" for value in column]
        return [_FAILED_CSS if "failed)" in value else "" for value in column]

    return (
        frame.style.apply(failed)
        .set_caption(table.title)
        .set_table_styles([{"selector": "td", "props": "text-align: right; font-family: monospace"}])
        .set_table_attributes('class="rb-report"')
    )
