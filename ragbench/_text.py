"""Small text utilities shared by generators and metrics (no heavy imports)."""

from __future__ import annotations

import re

from ragbench._sentences import split_sentences

_WORD_RE = re.compile(r"\w+", re.UNICODE)

__all__ = ["STOPWORDS", "content_words", "split_sentences"]

STOPWORDS = frozenset(
    "a an the of to in on at for from by with and or but is are was were be been being do does did "
    "what which who whom whose when where why how how many much that this these those it its as "
    "there their they them he she his her we our you your i me my not no can could should would will "
    "shall may might must has have had than then so if into about per any each all some".split()
)


def content_words(text: str) -> list[str]:
    """Lower-cased word tokens without stop words."""
    return [w for w in _WORD_RE.findall(text.lower()) if w not in STOPWORDS]
