"""Loaders: turn a file, a folder or a stream into documents, one :class:`Item` at a time.

Every item is something that becomes (at most) one document: a file, or one record of
a JSONL file. Items are produced lazily -- a folder is walked and a JSONL file read line
by line -- so memory stays bounded whatever the corpus size. :meth:`Item.load` reads and
parses the item and raises :class:`DocumentError` (with the reason and the fix) for bad
input; the job records that item as failed and goes on with the rest.

Rules for bad input: empty or whitespace-only text, binary content (a NUL byte in a
text format), invalid UTF-8, files above ``max_bytes`` (default 20 MiB), a JSONL line
that is not valid UTF-8 or a JSON object with a string ``text`` and correctly typed fields
(see :mod:`ragbench.ingestion._jsonl`), and unsupported extensions all fail with a reason,
each alone. Nothing is decoded lossily.

Symbolic links inside a folder are never followed: a link whose target lies outside the
folder fails with a reason (it could expose any file the process can read, e.g.
``/etc/passwd``); a link to something inside the folder is skipped, since its target is
ingested under its own path. A path given explicitly (the folder or file itself) may be a link.

Document ids come from a content hash: ``content_hash(key, text)`` where ``key`` names
the source (path, or ``path#record-id``). Re-ingesting unchanged content gives the same
id; a changed file gives a new id and replaces the old document's chunks.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from ragbench.errors import DatasetError
from ragbench.ingestion import _jsonl
from ragbench.ingestion._items import DocumentError, Item, Parsed, failing

__all__ = [
    "CONTENT_TYPES",
    "MAX_BYTES",
    "DocumentError",
    "Item",
    "Parsed",
    "count_items",
    "decode_text",
    "iter_jsonl",
    "iter_path",
    "iter_stream",
]

MAX_BYTES = 20 * 1024 * 1024

CONTENT_TYPES = {
    ".txt": "text/plain",
    ".text": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".jsonl": "application/jsonl",
}


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
            f"{where}: invalid UTF-8 at byte {exc.start} ({data[exc.start : exc.start + 4]!r}). "
            "Re-save the file as UTF-8 (e.g. iconv -f cp1250 -t utf-8)."
        ) from exc


def _open_nofollow(path: Path) -> IO[bytes]:
    """Open for reading without following a link (a file swapped for a link after the walk fails)."""
    try:
        return os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb")
    except OSError as exc:
        raise DocumentError(
            f"{path}: cannot be read ({exc.strerror or exc}); it was moved, replaced by a link, "
            "or is not readable by this user."
        ) from exc


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    with _open_nofollow(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > max_bytes:
            raise DocumentError(
                f"{path}: {size / 2**20:.1f} MiB is over the {max_bytes / 2**20:.0f} MiB limit for one document. "
                "Split the file, or raise the limit (max_bytes / --max-bytes)."
            )
        return fh.read()


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
        raise DocumentError(
            f"{where}: not a readable PDF ({exc}). Check that the file is a valid, unencrypted PDF."
        ) from exc
    return Parsed("\n\n".join(pages), title=str(meta_title) or title, metadata={"pages": len(pages)})


def _parse_docx(data: bytes, where: str, title: str) -> Parsed:
    import zipfile

    from docx import Document as DocxDocument

    try:
        doc = DocxDocument(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(
            f"{where}: not a readable .docx ({exc}). Re-save it from a word processor as .docx."
        ) from exc
    text = "\n".join(p.text for p in doc.paragraphs)
    return Parsed(text, title=doc.core_properties.title or title)


PARSERS: dict[str, Callable[[bytes, str, str], Parsed]] = {
    "text/plain": _parse_text,
    "text/markdown": _parse_markdown,
    "text/html": _parse_html,
    "application/pdf": _parse_pdf,
    CONTENT_TYPES[".docx"]: _parse_docx,
}


def _file_item(path: Path, max_bytes: int) -> Item:
    suffix = path.suffix.lower()
    content_type = CONTENT_TYPES.get(suffix, "application/octet-stream")
    try:
        size = path.lstat().st_size
    except OSError:  # gone since the walk: reading it fails with the reason
        size = 0
    parser = PARSERS.get(content_type)
    if parser is None:
        supported = ", ".join(sorted(CONTENT_TYPES))
        reader = failing(
            f"{path}: unsupported extension {suffix or '(none)'!r}. Supported: {supported}. "
            "Convert the file or rename it if it is plain text."
        )
    else:

        def reader() -> Parsed:
            return parser(_read_bytes(path, max_bytes), str(path), path.stem)

    return Item(key=str(path), source=str(path), content_type=content_type, size=size, reader=reader)


def iter_jsonl(lines, *, source: str, max_bytes: int = MAX_BYTES) -> Iterator[Item]:
    """One item per non-blank JSONL line (read lazily; lines as ``str`` or ``bytes``), each validated alone.

    Example:
        >>> [i.key for i in iter_jsonl(['{"id": "a", "text": "Hi."}', '{"text": 5}'], source="s")]
        ['s#a', 's#line-2']
    """
    return _jsonl.iter_jsonl(lines, source=source, max_bytes=max_bytes)


def _jsonl_file_items(path: Path, max_bytes: int) -> Iterator[Item]:
    try:
        fh = _open_nofollow(path)
    except DocumentError as exc:
        yield Item(f"{path}#unreadable", str(path), "application/jsonl", 0, failing(str(exc)))
        return
    with fh:
        yield from iter_jsonl(_jsonl.bounded_lines(fh, max_bytes), source=str(path), max_bytes=max_bytes)


def _walk(root: Path) -> list[tuple[Path, str | None]]:
    """``(path, None)`` for regular files and symbolic links under ``root`` (hidden names skipped),
    ``(folder, reason)`` for a folder that cannot be listed; sorted. Links are listed as links,
    never followed (no descent into a linked folder). Other kinds (FIFOs, sockets) are skipped."""
    out: list[tuple[Path, str | None]] = []
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_symlink() or entry.is_file(follow_symlinks=False):
                        out.append((Path(entry.path), None))
                    elif entry.is_dir(follow_symlinks=False):
                        folders.append(Path(entry.path))
        except OSError as exc:
            out.append(
                (
                    folder,
                    f"{folder}: folder cannot be listed ({exc.strerror or exc}); its files were "
                    "not ingested. Give this user read access to it.",
                )
            )
    return sorted(out, key=lambda pair: pair[0])


def _link_item(link: Path, root: Path) -> Item | None:
    """The failing item of a link out of ``root``; ``None`` for a link inside it (skipped)."""
    target = Path(os.path.realpath(link))
    if target == root or target.is_relative_to(root):
        return None
    return Item(
        str(link),
        str(link),
        "inode/symlink",
        0,
        failing(
            f"{link}: symbolic link to {target}, outside {root}: not followed (a link out of the ingested folder "
            "could expose any file this process can read). Copy the file into the folder to ingest it."
        ),
    )


def _files(root: Path) -> Iterator[Path | Item]:
    """What :func:`iter_path` reads: ``root`` itself, or the files, refused links and unreadable folders under it."""
    if not root.is_dir():
        yield root
        return
    for path, problem in _walk(root):
        if problem is not None:
            yield Item(f"{path}/", str(path), "inode/directory", 0, failing(problem))
        elif path.is_symlink():
            if (item := _link_item(path, root)) is not None:
                yield item
        else:
            yield path


def iter_path(path: str | Path, *, max_bytes: int = MAX_BYTES) -> Iterator[Item]:
    """Items of a file or (recursively, hidden files skipped, links not followed) a folder, in a stable order.

    Example:
        >>> [item.content_type for item in iter_path("notes.md")]  # doctest: +SKIP
        ['text/markdown']
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"Input path {str(root)!r} does not exist: give a file or a folder to ingest.")
    for file in _files(root.resolve()):
        if isinstance(file, Item):
            yield file
        elif file.suffix.lower() == ".jsonl":
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
    if content_type in ("application/jsonl", "application/x-ndjson"):  # each line decoded alone
        yield from iter_jsonl(_jsonl.bounded_lines(stream, max_bytes), source=name, max_bytes=max_bytes)
        return
    parser = PARSERS.get(content_type)
    data = stream.read(max_bytes + 1)
    if parser is None:
        reader = failing(f"{name}: unsupported content type {content_type!r}. Supported: {', '.join(PARSERS)}.")
    elif len(data) > max_bytes:
        reader = failing(f"{name}: stream is over the {max_bytes}-byte limit for one document.")
    else:

        def reader() -> Parsed:
            return parser(data, name, name)

    yield Item(key=name, source=name, content_type=content_type, size=len(data), reader=reader)


def count_items(path: str | Path) -> int:
    """How many items :func:`iter_path` yields, counted cheaply (JSONL lines are not parsed)."""
    total = 0
    for file in _files(Path(path).expanduser().resolve()):
        if isinstance(file, Path) and file.suffix.lower() == ".jsonl":
            try:
                with _open_nofollow(file) as fh:
                    total += sum(1 for line in _jsonl.bounded_lines(fh, MAX_BYTES) if line.strip())
            except DocumentError:
                total += 1
        else:
            total += 1
    return total
