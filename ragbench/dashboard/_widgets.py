"""Widgets the dashboard's views share (built lazily: Panel and pandas load with the page, not the CLI)."""

from __future__ import annotations

from typing import Any


def frame(rows: list[dict[str, Any]], columns: list[str], *, digits: int | None = None):
    """``rows`` as a DataFrame of exactly ``columns`` (missing keys become empty cells), numbers rounded
    to ``digits`` when given."""
    import pandas as pd

    table = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    return table if digits is None else table.round(digits)


def checkbox_table(columns: list[str], css_class: str):
    """An empty read-only Tabulator over ``columns``: sortable, header filters, 15 rows a page, rows
    ticked with checkboxes (its ``selection`` is what the view acts on)."""
    import panel as pn

    return pn.widgets.Tabulator(
        frame([], columns),
        selectable="checkbox",
        disabled=True,
        show_index=False,
        header_filters=True,
        pagination="local",
        page_size=15,
        sizing_mode="stretch_width",
        css_classes=[css_class],
    )
