"""JSONL records: one item per line, each line validated alone (a bad line never sinks the job).

A record is a JSON object; ragbench reads these fields and ignores any other:

========== ================================================= ==============================
field      type                                              notes
========== ================================================= ==============================
text       string (required; ``content`` is accepted too)    the document text
id / _id   string or integer                                 the document key (``file#id``)
title      string or null
language   ISO code such as ``"en"``, ``"hr"``, ``"pt-BR"``   null or "": detected
metadata   object or null                                    kept on the document
========== ================================================= ==============================

A line fails alone, with the line number and the reason, when it is not valid UTF-8, not
valid JSON (including nesting too deep to parse), not an object, has a wrongly typed field,
or is over the size limit. A line is never held in memory beyond that limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ragbench.ingestion._items import Item, Parsed, failing

LANGUAGE_CODE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
EXPECTED = {
    "text": "a string",
    "content": "a string",
    "id": "a string or an integer",
    "_id": "a string or an integer",
    "title": "a string or null",
    "language": 'a language code such as "en" or "hr" (or null)',
    "metadata": "an object or null",
}
EXAMPLE = '{"id": "a1", "text": "...", "title": "...", "language": "en", "metadata": {}}'


class JsonlRecord(BaseModel):
    """The fields of a JSONL record that ragbench reads (strict types; other fields are ignored)."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)
    id: str | int | None = None
    alt_id: str | int | None = Field(None, alias="_id")
    text: str | None = None
    content: str | None = None
    title: str | None = None
    language: str | None = Field(None, pattern=r"^$|" + LANGUAGE_CODE.pattern)
    metadata: dict[str, Any] | None = None


def _validate(record: dict, where: str) -> Parsed | str:
    """The record as :class:`Parsed`, or the reason it is refused."""
    try:
        rec = JsonlRecord.model_validate(record)
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        name = "_id" if field == "alt_id" else field
        value = record.get(name)
        return (
            f"{where}: field {name!r} must be {EXPECTED.get(name, 'valid')}, got {type(value).__name__} "
            f"{json.dumps(value, default=str)[:60]}. A record looks like {EXAMPLE}."
        )
    text = rec.text if "text" in record else rec.content
    if text is None:
        return f"{where}: a record needs a string 'text' (or 'content') field; got keys {sorted(record)[:20]}. Example: {EXAMPLE}"
    rid = rec.id if rec.id is not None else rec.alt_id
    meta = dict(rec.metadata or {})
    if rid is not None:
        meta["record_id"] = str(rid)
    return Parsed(text, title=rec.title or "", language=rec.language or None, metadata=meta)


def _decode(raw: str | bytes, where: str, first: bool) -> tuple[str, str | None]:
    """``(text, None)``, or ``("", reason)`` for a line that is not valid UTF-8."""
    if isinstance(raw, str):
        return raw, None
    try:
        return raw.decode("utf-8-sig" if first else "utf-8"), None
    except UnicodeDecodeError as exc:
        return "", (
            f"{where}: invalid UTF-8 at byte {exc.start} of the line ({raw[exc.start : exc.start + 4]!r}). "
            "Re-save the file as UTF-8 (e.g. iconv -f cp1250 -t utf-8); the other lines are read."
        )


def record_item(raw: str | bytes, lineno: int, source: str, max_bytes: int) -> Item | None:
    """The item of one JSONL line (``None`` for a blank line); a bad line gives an item that fails."""
    where, key = f"{source}:{lineno}", f"{source}#line-{lineno}"
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "replace"))
    if size > max_bytes:
        return Item(
            key,
            source,
            "application/json",
            size,
            failing(
                f"{where}: record of over {max_bytes} bytes is over the limit for one document. Split it, or raise "
                "the limit (max_bytes / --max-bytes)."
            ),
        )
    line, bad = _decode(raw, where, lineno == 1)
    if bad:
        return Item(key, source, "application/json", size, failing(bad))
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        why = (
            f"{exc.msg} at column {exc.colno}"
            if isinstance(exc, json.JSONDecodeError)
            else "nested too deeply to parse"
            if isinstance(exc, RecursionError)
            else str(exc)[:80]
        )
        return Item(
            key,
            source,
            "application/json",
            size,
            failing(f"{where}: not valid JSON ({why}). Each line must be one JSON object such as {EXAMPLE}."),
        )
    if not isinstance(record, dict):
        return Item(
            key,
            source,
            "application/json",
            size,
            failing(f"{where}: expected a JSON object, got {type(record).__name__}."),
        )
    rid = record.get("id", record.get("_id"))
    if isinstance(rid, (str, int)) and not isinstance(rid, bool):
        key = f"{source}#{rid}"
    parsed = _validate(record, where)
    reader = failing(parsed) if isinstance(parsed, str) else (lambda: parsed)
    return Item(key, source, "application/json", size, reader)


def bounded_lines(stream: IO[bytes], max_bytes: int) -> Iterator[bytes]:
    """Lines of a binary stream, each cut to ``max_bytes + 1`` bytes (the rest of a longer line is
    skipped unread into memory), so one huge line cannot exhaust memory."""
    while line := stream.readline(max_bytes + 1):
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
        yield line


def iter_jsonl(lines: Iterable[str] | Iterable[bytes] | IO, *, source: str, max_bytes: int) -> Iterator[Item]:
    """One item per non-blank line (read lazily); each line is decoded, parsed and validated alone."""
    for lineno, raw in enumerate(lines, start=1):
        item = record_item(raw, lineno, source, max_bytes)
        if item is not None:
            yield item
