"""The unit of ingestion: an :class:`Item` (one future document) and the error of one bad item.

Shared by the loaders (:mod:`ragbench.ingestion.loaders`, :mod:`ragbench.ingestion._jsonl`) and
the job runner; import them from :mod:`ragbench.ingestion.loaders`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ragbench.errors import DatasetError
from ragbench.language import detect_language
from ragbench.types import Document, content_hash


class DocumentError(DatasetError):
    """One input document cannot be ingested (the rest of the job goes on)."""


@dataclass(frozen=True)
class Parsed:
    """What a loader extracted from an item."""

    text: str
    title: str = ""
    language: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def failing(message: str) -> Callable[[], Parsed]:
    """A reader that fails its item with ``message`` (the job records it and goes on)."""

    def reader() -> Parsed:
        raise DocumentError(message)

    return reader


def _check_types(key: str, parsed: Parsed) -> None:
    """Whatever a loader produced, a wrongly typed field fails this item here, not the job's commit."""
    wrong = [
        (name, value)
        for name, value, kinds in (
            ("text", parsed.text, (str,)),
            ("title", parsed.title, (str,)),
            ("language", parsed.language, (str, type(None))),
            ("metadata", parsed.metadata, (dict,)),
        )
        if not isinstance(value, kinds)
    ]
    if wrong:
        name, value = wrong[0]
        raise DocumentError(
            f"{key}: field {name!r} has the wrong type ({type(value).__name__}: {str(value)[:60]!r}); "
            "text, title and language must be strings and metadata an object."
        )


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
        _check_types(self.key, parsed)
        text = parsed.text.strip()
        if not text:
            raise DocumentError(
                f"{self.key}: no text to ingest (empty or whitespace only). Remove the file or add text."
            )
        lang = parsed.language or (language(text) if language else None)
        meta = {"key": self.key, "content_type": self.content_type, "size": self.size, **parsed.metadata}
        return Document(
            id=self.doc_id or content_hash(self.key, text),
            tenant=tenant,
            text=text,
            title=parsed.title,
            source=self.source,
            language=lang,
            metadata=meta,
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
        return cls(
            key=f"doc:{doc.id}",
            source=doc.source or "dataset",
            content_type="text/plain",
            size=len(doc.text.encode("utf-8")),
            reader=lambda: parsed,
            doc_id=doc.id,
        )
