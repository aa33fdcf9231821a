"""Reading JSON and JSONL with line numbers, so a malformed file's first bad line is named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ragbench.errors import DatasetError


def check_file(path: str | Path, what: str) -> Path:
    """``path`` as a Path if it is a file, else a :class:`DatasetError` saying what was expected."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DatasetError(f"{what} file {str(p)!r} does not exist. Point the loader's path at {what}.")
    return p


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict]]:
    """``(line number, object)`` for each non-empty line; a bad line (invalid UTF-8, not JSON, nested
    too deeply, not an object) raises :class:`DatasetError` naming it: a dataset is all or nothing,
    since its qrels refer to every record."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DatasetError(
                    f"{path}:{lineno}: invalid UTF-8 at byte {exc.start} of the line. Re-save the file as UTF-8."
                ) from exc
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(
                    f"{path}:{lineno}: not valid JSON ({exc.msg}). Each line must be one JSON object."
                ) from exc
            except RecursionError as exc:
                raise DatasetError(
                    f"{path}:{lineno}: not valid JSON (nested too deeply to parse). Each line must be one JSON object."
                ) from exc
            if not isinstance(record, dict):
                raise DatasetError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}.")
            yield lineno, record


def iter_json_array(path: Path) -> Iterator[tuple[int, object]]:
    """``(line number where it starts, element)`` for each element of a top-level JSON list."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: invalid UTF-8 at byte {exc.start}. Re-save the file as UTF-8.") from exc
    decoder = json.JSONDecoder()

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    def skip(pos: int) -> int:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        return pos

    pos = skip(0)
    if not text.startswith("[", pos):
        raise DatasetError(
            f"{path}:{line_of(pos)}: expected a JSON list of records ('['), got {text[pos : pos + 20]!r}."
        )
    pos = skip(pos + 1)
    if text.startswith("]", pos):
        return
    while True:
        try:
            element, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno}).") from exc
        except RecursionError as exc:
            raise DatasetError(f"{path}:{line_of(pos)}: not valid JSON (nested too deeply to parse).") from exc
        yield line_of(pos), element
        pos = skip(end)
        if text.startswith("]", pos):
            return
        if not text.startswith(",", pos):
            raise DatasetError(
                f"{path}:{line_of(pos)}: expected ',' or ']' between records, got {text[pos : pos + 20]!r}."
            )
        pos = skip(pos + 1)


def require_fields(path: Path, lineno: int, record: object, fields: dict[str, type | tuple[type, ...]]) -> dict:
    """Check ``record`` is an object with ``fields`` of the given types; name the line if not."""
    if not isinstance(record, dict):
        raise DatasetError(f"{path}:{lineno}: expected a JSON object, got {type(record).__name__}.")
    for name, kind in fields.items():
        if name not in record:
            raise DatasetError(f"{path}:{lineno}: record lacks field {name!r}; required: {sorted(fields)}.")
        if not isinstance(record[name], kind):
            expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise DatasetError(
                f"{path}:{lineno}: field {name!r} should be {expected}, got {type(record[name]).__name__} "
                f"({str(record[name])[:60]!r})."
            )
    return record
