"""Chunkers: split documents into retrievable chunks.

``WholeDocumentChunker`` keeps each document as one chunk (right for passage
corpora such as BEIR). ``SentenceChunker`` packs whole sentences into chunks of at
most ``max_words`` words with ``overlap`` sentences shared between neighbours.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ragbench._text import split_sentences
from ragbench.errors import ConfigError
from ragbench.types import Chunk, Document


def _chunk(doc: Document, text: str, position: int) -> Chunk:
    return Chunk(
        id=f"{doc.id}#{position}", doc_id=doc.id, tenant=doc.tenant, text=text, title=doc.title,
        position=position, language=doc.language, metadata={"source": doc.source} if doc.source else {},
    )


class WholeDocumentChunker:
    """One chunk per document."""

    def __call__(self, documents: Iterable[Document]) -> Iterator[Chunk]:
        for doc in documents:
            yield _chunk(doc, doc.text, 0)

    def __repr__(self) -> str:
        return "WholeDocumentChunker()"


class SentenceChunker:
    """Pack sentences into chunks of at most ``max_words`` words, overlapping by ``overlap`` sentences.

    A single sentence longer than ``max_words`` is split at word boundaries.

    Example:
        >>> doc = Document("d", "t", "One two. Three four. Five six.")
        >>> [c.text for c in SentenceChunker(max_words=4, overlap=1)([doc])]
        ['One two. Three four.', 'Three four. Five six.']
    """

    def __init__(self, *, max_words: int = 200, overlap: int = 1) -> None:
        if max_words < 1 or overlap < 0:
            raise ConfigError(f"max_words must be >= 1 and overlap >= 0, got {max_words}, {overlap}.")
        self.max_words = max_words
        self.overlap = overlap

    def _units(self, text: str) -> list[str]:
        units = []
        for sent in split_sentences(text):
            words = sent.split()
            for i in range(0, len(words), self.max_words):
                units.append(" ".join(words[i : i + self.max_words]))
        return units

    def _next_start(self, units: list[str], start: int, end: int) -> int:
        """Back up ``overlap`` units, unless that leaves no room for the next unit (then no overlap)."""
        back = max(end - self.overlap, start + 1)
        words = sum(len(u.split()) for u in units[back:end]) + len(units[end].split())
        return back if words <= self.max_words else end

    def __call__(self, documents: Iterable[Document]) -> Iterator[Chunk]:
        for doc in documents:
            units = self._units(doc.text)
            start, position = 0, 0
            while start < len(units):
                end, words = start, 0
                while end < len(units) and (end == start or words + len(units[end].split()) <= self.max_words):
                    words += len(units[end].split())
                    end += 1
                yield _chunk(doc, " ".join(units[start:end]), position)
                position += 1
                if end >= len(units):
                    break
                start = self._next_start(units, start, end)

    def __repr__(self) -> str:
        return f"SentenceChunker(max_words={self.max_words}, overlap={self.overlap})"
