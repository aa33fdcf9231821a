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


def markdown(text: str) -> str:
    """``text`` rendered as Markdown (CommonMark) with any raw HTML in it escaped, not rendered.

    Example:
        >>> markdown("**bold** <script>x</script>")
        '<p><strong>bold</strong> &lt;script&gt;x&lt;/script&gt;</p>\\n'
    """
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).render(text)


def source_title(source: Any, doc: dict[str, Any] | None = None) -> str:
    """A readable title for a source: its title, its document's title, the uploaded file's name (with the
    record id for a JSONL record), or the source file's name; the document id only when nothing else is known.

    Example:
        >>> from types import SimpleNamespace as S
        >>> source_title(S(title="", doc_id="9f2c41ab"), {"key": "upload:lockers.md", "title": ""})
        'lockers.md'
    """
    doc = doc or {}
    key = str(doc.get("key") or "")
    uploaded = key.split(":", 1)[1] if key.startswith("upload:") else ""  # a file name, or file#record
    path = str(doc.get("source") or "").replace("\\", "/").rsplit("/", 1)[-1]
    return getattr(source, "title", "") or str(doc.get("title") or "") or uploaded or path or source.doc_id


def sources(items: Sequence[Any], docs: dict[str, dict[str, Any]] | None = None) -> str:
    """An answer's sources as titled cards: title, score, language, cited mark, document id and the
    chunk text rendered as Markdown. ``docs`` maps document ids to their ingestion records (title,
    file name, language)."""
    if not items:
        return '<p class="rb-sources-empty">No sources retrieved.</p>'
    docs = docs or {}
    out = []
    for s in items:
        doc = docs.get(s.doc_id) or {}
        cited = ' <span class="rb-cited">cited</span>' if getattr(s, "cited", False) else ""
        lang = f'<span class="rb-lang">{esc(doc["language"])}</span>' if doc.get("language") else ""
        text = s.text if len(s.text) <= 600 else s.text[:600] + "…"
        out.append(
            f'<div class="rb-source"><div class="rb-source-head"><span class="rb-rank">{s.rank + 1}</span>'
            f'<span class="rb-source-title">{esc(source_title(s, doc))}</span>{cited}</div>'
            f'<div class="rb-source-meta"><span class="rb-score">score {s.score:.4f}</span>{lang}'
            f'<code class="rb-doc-id">{esc(s.doc_id)}</code></div>'
            f'<div class="rb-chunk">{markdown(text)}</div></div>'
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
.rb-answer { font-size: 17px; line-height: 1.55; color: #1a1a1a; max-width: 60em; }
.rb-answer p { margin: 0 0 6px; }
.rb-answer.rb-streaming { white-space: pre-wrap; }
.rb-stage { font-size: 13px; color: #556; }
.rb-standalone { font-size: 13px; color: #345; margin-left: 8px; }
.rb-history-empty { color: #667; margin: 0; }
/* Bootstrap's loading-skeleton class .placeholder also names ChatMessage's content column: undo its grey veil */
.bk-panel-models-layout-Column.placeholder { background-color: transparent; opacity: 1; cursor: auto; }
.rb-source { border: 1px solid #d8dee4; border-left: 4px solid #4a7; border-radius: 6px; padding: 8px 12px;
  margin: 8px 0; font-size: 14px; background: white; box-shadow: 0 1px 2px rgba(0,0,0,.06); max-width: 60em; }
.rb-source-head { display: flex; align-items: center; gap: 8px; font-size: 15px; font-weight: 600; }
.rb-rank { background: #e8eef4; color: #345; border-radius: 10px; padding: 0 7px; font-size: 12px; }
.rb-source-meta { color: #667; font-size: 12px; margin: 2px 0 4px; display: flex; gap: 10px; }
.rb-lang { text-transform: uppercase; }
.rb-doc-id { color: #889; font-size: 11px; }
.rb-cited { background: #4a7; color: white; border-radius: 3px; padding: 0 4px; font-size: 11px; font-weight: normal; }
.rb-chunk { color: #333; line-height: 1.45; }
.rb-chunk p { margin: 4px 0; }
.rb-chunk h1, .rb-chunk h2, .rb-chunk h3, .rb-chunk h4 { font-size: inherit; font-weight: 600; margin: 4px 0; }
.rb-error { color: #b00; }
.rb-low-confidence { background: #fff3cd; border: 1px solid #e0a800; color: #6b4e00; border-radius: 4px;
  padding: 4px 8px; margin: 4px 0; font-size: 13px; display: inline-block; }
"""
