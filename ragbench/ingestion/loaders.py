"""Loaders: turn a file, a folder or a stream into documents, one :class:`Item` at a time.

Every item is something that becomes (at most) one document: a file, or one record of
a JSONL file. Items are produced lazily -- a folder is walked and a JSONL file read line
by line -- so memory stays bounded whatever the corpus size. :meth:`Item.load` reads and
parses the item and raises :class:`DocumentError` (with the reason and the fix) for bad
input; the job records that item as failed and goes on with the rest.

Rules for bad input: empty or whitespace-only text, binary content (a NUL byte in a
text format), invalid UTF-8, files above ``max_bytes`` (default 20 MiB), a JSONL line
that is not a JSON object with a ``text`` field, and unsupported extensions all fail
with a reason. Nothing is decoded lossily.

Document ids come from a content hash: ``content_hash(key, text)`` where ``key`` names
the source (path, or ``path#record-id``). Re-ingesting unchanged content gives the same
id; a changed file gives a new id and replaces the old document's chunks.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ragbench.errors import DatasetError
from ragbench.ingestion.language import detect_language
from ragbench.types import Document, content_hash

MAX_BYTES = 20 * 1024 * 1024

CONTENT_TYPES = {
    ".txt": "text/plain", ".text": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown",
    ".html": "text/html", ".htm": "text/html", ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".jsonl": "application/jsonl",
}


class DocumentError(DatasetError):
    """One input document cannot be ingested (the rest of the job goes on)."""


@dataclass(frozen=True)
class Parsed:
    """What a loader extracted from an item."""

    text: str
    title: str = ""
    language: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Item:
    """One unit of input that becomes one document.

    Attributes:
        key: Stable identity of the source (a path, or ``path#record-id``).
        source: Where it came from (the file path or stream name).
        content_type: MIME type of the source.
        size: Size in bytes of the raw input.
        reader: Zero-argument callable returning :class:`Parsed` or raising :class:`DocumentError`.
    """

    key: str
    source: str
    content_type: str
    size: int
    reader: Callable[[], Parsed] = field(repr=False, compare=False)
    doc_id: str | None = None

    def load(self, tenant: str, *, language: Callable[[str], str | None] | None = detect_language) -> Document:
        """Parse the item into a :class:`Document` of ``tenant`` (language detected unless given).

        The document id is ``doc_id`` when the item has one (a dataset's own ids, which its
        qrels refer to), else the content hash of key and text.
        """
        parsed = self.reader()
        text = parsed.text.strip()
        if not text:
            raise DocumentError(f"{self.key}: no text to ingest (empty or whitespace only). Remove the file or add text.")
        lang = parsed.language or (language(text) if language else None)
        meta = {"key": self.key, "content_type": self.content_type, "size": self.size, **parsed.metadata}
        return Document(
            id=self.doc_id or content_hash(self.key, text), tenant=tenant, text=text, title=parsed.title,
            source=self.source, language=lang, metadata=meta,
        )

    @classmethod
    def from_document(cls, doc: Document) -> Item:
        """An item for an already-parsed document (a dataset's), keeping its id, title and language.

        Example:
            >>> item = Item.from_document(Document(id="d1", tenant="acme", text="Hello.", source="demo"))
            >>> item.key, item.load("acme", language=None).id
            ('doc:d1', 'd1')
        """
        parsed = Parsed(doc.text, title=doc.title, language=doc.language, metadata=dict(doc.metadata))
        return cls(key=f"doc:{doc.id}", source=doc.source or "dataset", content_type="text/plain",
                   size=len(doc.text.encode("utf-8")), reader=lambda: parsed, doc_id=doc.id)


# ----------------------------------------------------------------------- decoding
def decode_text(data: bytes, where: str) -> str:
    """UTF-8 text of ``data``; binary or invalid UTF-8 raises :class:`DocumentError`."""
    if b"\x00" in data[:8192]:
        raise DocumentError(
            f"{where}: looks binary (NUL byte in the first 8 KiB), not text. Ingest text, md, html, pdf, "
            "docx or jsonl files; convert other formats to one of these first."
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            f"{where}: invalid UTF-8 at byte {exc.start} ({data[exc.start:exc.start + 4]!r}). "
            "Re-save the file as UTF-8 (e.g. iconv -f cp1250 -t utf-8)."
        ) from exc


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    size = path.stat().st_size
    if size > max_bytes:
        raise DocumentError(
            f"{path}: {size / 2**20:.1f} MiB is over the {max_bytes / 2**20:.0f} MiB limit for one document. "
            "Split the file, or raise the limit (max_bytes / --max-bytes)."
        )
    return path.read_bytes()


def _parse_text(data: bytes, where: str, title: str) -> Parsed:
    return Parsed(decode_text(data, where), title=title)


def _parse_markdown(data: bytes, where: str, title: str) -> Parsed:
    text = decode_text(data, where)
    for line in text.splitlines():
        if line.startswith("# "):
            return Parsed(text, title=line[2:].strip())
    return Parsed(text, title=title)


def _parse_html(data: bytes, where: str, title: str) -> Parsed:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data, where), "html.parser")
    for tag in soup(["script", "style", "noscript"]):
        tag.decompose()
    page_title = soup.title.get_text(strip=True) if soup.title else ""
    body = soup.body or soup
    return Parsed(body.get_text("\n", strip=True), title=page_title or title)


def _parse_pdf(data: bytes, where: str, title: str) -> Parsed:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(f"{where}: not a readable PDF ({exc}). Check that the file is a valid, unencrypted PDF.") from exc
    return Parsed("\n\n".join(pages), title=str(meta_title) or title, metadata={"pages": len(pages)})


def _parse_docx(data: bytes, where: str, title: str) -> Parsed:
    import zipfile

    from docx import Document as DocxDocument

    try:
        doc = DocxDocument(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"{where}: not a readable .docx ({exc}). Re-save it from a word processor as .docx.") from exc
    text = "\n".join(p.text for p in doc.paragraphs)
    return Parsed(text, title=doc.core_properties.title or title)


PARSERS: dict[str, Callable[[bytes, str, str], Parsed]] = {
    "text/plain": _parse_text, "text/markdown": _parse_markdown, "text/html": _parse_html,
    "application/pdf": _parse_pdf, CONTENT_TYPES[".docx"]: _parse_docx,
}


def _failing(message: str) -> Callable[[], Parsed]:
    def reader() -> Parsed:
        raise DocumentError(message)

    return reader


def _file_item(path: Path, max_bytes: int) -> Item:
    suffix = path.suffix.lower()
    content_type = CONTENT_TYPES.get(suffix, "application/octet-stream")
    size = path.stat().st_size
    parser = PARSERS.get(content_type)
    if parser is None:
        supported = ", ".join(sorted(CONTENT_TYPES))
        reader = _failing(f"{path}: unsupported extension {suffix or '(none)'!r}. Supported: {supported}. "
                          "Convert the file or rename it if it is plain text.")
    else:
        def reader() -> Parsed:
            return parser(_read_bytes(path, max_bytes), str(path), path.stem)
    return Item(key=str(path), source=str(path), content_type=content_type, size=size, reader=reader)


def _record_item(line: str, lineno: int, source: str, max_bytes: int) -> Item:
    where = f"{source}:{lineno}"
    size = len(line.encode("utf-8"))
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        reader = _failing(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}). "
                          'Each line must be one JSON object such as {"id": "a1", "text": "..."}.')
        return Item(f"{source}#line-{lineno}", source, "application/json", size, reader)
    rid = record.get("id", record.get("_id")) if isinstance(record, dict) else None
    key = f"{source}#{rid}" if rid is not None else f"{source}#line-{lineno}"

    def reader() -> Parsed:
        if not isinstance(record, dict):
            raise DocumentError(f"{where}: expected a JSON object, got {type(record).__name__}.")
        text = record.get("text", record.get("content"))
        if not isinstance(text, str):
            raise DocumentError(f"{where}: a record needs a string 'text' (or 'content') field; "
                                f"got keys {sorted(record)}.")
        if size > max_bytes:
            raise DocumentError(f"{where}: record of {size} bytes is over the {max_bytes}-byte limit.")
        meta = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
        if rid is not None:
            meta = {**meta, "record_id": str(rid)}
        return Parsed(text, title=str(record.get("title") or ""), language=record.get("language") or None,
                      metadata=meta)

    return Item(key, source, "application/json", size, reader)


def iter_jsonl(stream: IO[str], *, source: str, max_bytes: int = MAX_BYTES) -> Iterator[Item]:
    """One item per non-blank line of a JSONL text stream (read lazily)."""
    for lineno, line in enumerate(stream, start=1):
        if line.strip():
            yield _record_item(line, lineno, source, max_bytes)


def _jsonl_file_items(path: Path, max_bytes: int) -> Iterator[Item]:
    try:
        with path.open(encoding="utf-8") as fh:
            yield from iter_jsonl(fh, source=str(path), max_bytes=max_bytes)
    except UnicodeDecodeError as exc:
        reader = _failing(f"{path}: invalid UTF-8 ({exc.reason}); records after that point were not read. "
                          "Re-save the file as UTF-8.")
        yield Item(f"{path}#decode-error", str(path), "application/jsonl", path.stat().st_size, reader)


def _files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    for child in sorted(path.rglob("*")):
        if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
            yield child


def iter_path(path: str | Path, *, max_bytes: int = MAX_BYTES) -> Iterator[Item]:
    """Items of a file or (recursively, hidden files skipped) a folder, in a stable order.

    Example:
        >>> [item.content_type for item in iter_path("notes.md")]  # doctest: +SKIP
        ['text/markdown']
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"Input path {str(root)!r} does not exist: give a file or a folder to ingest.")
    for file in _files(root.resolve()):
        if file.suffix.lower() == ".jsonl":
            yield from _jsonl_file_items(file, max_bytes)
        else:
            yield _file_item(file, max_bytes)


def iter_stream(
    stream: IO[bytes], *, name: str, content_type: str = "text/plain", max_bytes: int = MAX_BYTES
) -> Iterator[Item]:
    """Items of a binary stream: JSONL gives one per record, any other type one document.

    Example:
        >>> items = list(iter_stream(io.BytesIO(b'{"id": 1, "text": "Hi."}'), name="s", content_type="application/jsonl"))
        >>> items[0].key
        's#1'
    """
    if content_type in ("application/jsonl", "application/x-ndjson"):
        yield from iter_jsonl(io.TextIOWrapper(stream, encoding="utf-8"), source=name, max_bytes=max_bytes)
        return
    parser = PARSERS.get(content_type)
    data = stream.read(max_bytes + 1)
    if parser is None:
        reader = _failing(f"{name}: unsupported content type {content_type!r}. Supported: {', '.join(PARSERS)}.")
    elif len(data) > max_bytes:
        reader = _failing(f"{name}: stream is over the {max_bytes}-byte limit for one document.")
    else:
        def reader() -> Parsed:
            return parser(data, name, name)
    yield Item(key=name, source=name, content_type=content_type, size=len(data), reader=reader)


def count_items(path: str | Path) -> int:
    """How many items :func:`iter_path` yields, counted cheaply (JSONL lines are not parsed)."""
    root = Path(path).expanduser()
    total = 0
    for file in _files(root.resolve()):
        if file.suffix.lower() == ".jsonl":
            with file.open("rb") as fh:
                total += sum(1 for line in fh if line.strip())
        else:
            total += 1
    return total
