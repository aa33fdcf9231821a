"""Small HTML renderers for the views (escaped; no logic beyond formatting)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def fmt(value: Any, digits: int = 4) -> str:
    if isinstance(value, float):
        return "–" if value != value else f"{value:.{digits}f}"  # NaN shows as a dash
    return esc(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str], *, css: str, empty: str = "Nothing yet.") -> str:
    """An HTML table of ``rows`` (one ``<tr class="{css}-row">`` per row) or an ``empty`` note.

    Example:
        >>> table([{"a": 1}], ["a"], css="t")
        '<table class="t"><thead><tr><th>a</th></tr></thead><tbody><tr class="t-row"><td>1</td></tr></tbody></table>'
    """
    if not rows:
        return f'<p class="{css}-empty">{esc(empty)}</p>'
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        f'<tr class="{css}-row">' + "".join(f"<td>{fmt(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def sources(items: Sequence[Any]) -> str:
    """Cited sources of an answer: title, document id, score, cited mark and chunk text."""
    if not items:
        return '<p class="rb-sources-empty">No sources retrieved.</p>'
    out = []
    for s in items:
        cited = ' <span class="rb-cited">cited</span>' if getattr(s, "cited", False) else ""
        text = s.text if len(s.text) <= 400 else s.text[:400] + "…"
        out.append(
            f'<div class="rb-source"><b>[{s.rank + 1}] {esc(s.title or s.doc_id)}</b>{cited}'
            f' <code class="rb-doc-id">{esc(s.doc_id)}</code> <span class="rb-score">score {s.score:.4f}</span>'
            f'<div class="rb-chunk">{esc(text)}</div></div>'
        )
    return "".join(out)


def low_confidence(reason: str | None, relevance: float | None, *, short: bool = False) -> str:
    """The visible low-confidence marker of an answer ('' when ``reason`` is empty)."""
    if not reason:
        return ""
    if short:
        return f'<span class="rb-low-confidence" title="{esc(reason)}">⚠ low confidence</span>'
    score = f" (relevance {relevance:.2f})" if relevance is not None else ""
    return (
        f'<div class="rb-low-confidence" role="alert">⚠ <b>Low confidence</b>{score}: {esc(reason)}. '
        "Check the sources before relying on this answer.</div>"
    )


CSS = """
table.rb-table, table.rb-runs, table.rb-compare, table.rb-health, table.rb-tenants, table.rb-docs, table.rb-jobs
  { border-collapse: collapse; font-size: 13px; }
table td, table th { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
.rb-source { border-left: 3px solid #4a7; padding: 4px 8px; margin: 6px 0; font-size: 13px; }
.rb-cited { background: #4a7; color: white; border-radius: 3px; padding: 0 4px; font-size: 11px; }
.rb-chunk { color: #444; margin-top: 2px; }
.rb-turn { border-bottom: 1px dashed #ccc; padding: 4px 0; font-size: 13px; }
.rb-error { color: #b00; }
.rb-low-confidence { background: #fff3cd; border: 1px solid #e0a800; color: #6b4e00; border-radius: 4px;
  padding: 4px 8px; margin: 4px 0; font-size: 13px; display: inline-block; }
"""
