"""Citation parsing: ``[1]``, ``[2, 3]``, ``[1][4]`` in an answer -> the cited sources' document ids."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ragbench.types import Hit

_CITE = re.compile(r"\[(\s*\d+\s*(?:[,;]\s*\d+\s*)*)\]")


def cited_numbers(text: str) -> list[int]:
    """Source numbers cited in ``text``, in order of first mention.

    Example:
        >>> cited_numbers("Oslo [2]. It is cold [1, 2][3].")
        [2, 1, 3]
    """
    seen: dict[int, None] = {}
    for match in _CITE.finditer(text):
        for part in re.split(r"[,;]", match.group(1)):
            seen.setdefault(int(part), None)
    return list(seen)


def strip_citations(text: str) -> str:
    """``text`` without its ``[n]`` markers (the cited sources live in ``Answer.citations``).

    Example:
        >>> strip_citations("Oslo [2], near the harbour [1, 3].")
        'Oslo, near the harbour.'
    """
    return re.sub(r"\s*" + _CITE.pattern, "", text).strip()


def parse_citations(text: str, sources: Sequence[Hit]) -> tuple[tuple[str, ...], list[int]]:
    """Map ``[n]`` markers to the document ids of ``sources`` (numbered from 1).

    Returns the cited document ids (each once, in order of mention) and the numbers
    that point at no source (a model inventing ``[7]`` with 3 sources): those are
    dropped, never guessed.

    Example:
        >>> hits = [Hit("c1", "d1", "t", "a", 1.0), Hit("c2", "d2", "t", "b", 0.5)]
        >>> parse_citations("Yes [2][9].", hits)
        (('d2',), [9])
    """
    ids: dict[str, None] = {}
    invalid = []
    for n in cited_numbers(text):
        if 1 <= n <= len(sources):
            ids.setdefault(sources[n - 1].doc_id, None)
        else:
            invalid.append(n)
    return tuple(ids), invalid
