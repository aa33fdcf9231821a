"""An extractive baseline generator: no LLM weights needed.

It answers with the retrieved sentences that best match the question and cites
their documents. A sentence's score is the IDF-weighted share of the question's
content words it contains (IDF over the candidate sentences), plus a small prior
for higher-ranked chunks. Confidence is the best sentence's score: the weighted
fraction of the question's content words that the answer covers, in [0, 1].
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence

from ragbench._text import content_words, split_sentences
from ragbench.errors import ConfigError
from ragbench.types import Answer, Hit, Query


class ExtractiveGenerator:
    """Answer with the best-matching sentences of the retrieved chunks.

    Args:
        max_sentences: Sentences in the answer.
        rank_prior: Weight of the chunk-rank prior (0 ignores retrieval order).
        no_answer: Text returned when no chunk was retrieved.

    Example:
        >>> gen = ExtractiveGenerator()
        >>> hit = Hit("c1", "d1", "t", "Staff get 25 days of leave. The office is in Oslo.", 1.0)
        >>> gen.generate([Query("How many days of leave?", "t")], [[hit]])[0].text
        'Staff get 25 days of leave.'
    """

    name = "extractive"

    def __init__(self, *, max_sentences: int = 1, rank_prior: float = 0.05, no_answer: str = "") -> None:
        if max_sentences < 1:
            raise ConfigError(f"max_sentences must be >= 1, got {max_sentences}.")
        self.max_sentences = max_sentences
        self.rank_prior = rank_prior
        self.no_answer = no_answer

    def _answer(self, query: Query, hits: Sequence[Hit]) -> Answer:
        start = time.perf_counter()
        candidates = [(hit, sent) for hit in hits for sent in split_sentences(hit.text, query.language)]
        q_words = set(content_words(query.text))
        if not candidates or not q_words:
            return Answer(text=self.no_answer, confidence=0.0, timings={"total_ms": _ms(start)})
        sent_words = [set(content_words(s)) for _, s in candidates]
        df = Counter(w for words in sent_words for w in words & q_words)
        idf = {w: math.log(1 + len(candidates) / (1 + df[w])) for w in q_words}
        total = sum(idf.values())
        scored = []
        for i, ((hit, _sentence), words) in enumerate(zip(candidates, sent_words)):
            coverage = sum(idf[w] for w in words & q_words) / total
            scored.append((coverage + self.rank_prior / (1 + hit.rank), coverage, i))
        best = sorted(scored, key=lambda s: (-s[0], s[2]))[: self.max_sentences]
        best.sort(key=lambda s: s[2])  # keep document order in the answer
        chosen = [candidates[i] for _, _, i in best]
        citations = tuple(dict.fromkeys(hit.doc_id for hit, _ in chosen))
        text = " ".join(sent for _, sent in chosen)
        confidence = max(coverage for _, coverage, _ in best)
        return Answer(
            text=text,
            citations=citations,
            confidence=round(min(1.0, confidence), 6),
            completion_tokens=len(text.split()),
            timings={"total_ms": _ms(start)},
        )

    def generate(self, queries: Sequence[Query], contexts: Sequence[Sequence[Hit]], *, prompt=None) -> list[Answer]:
        """Answer each query from its hits (``prompt`` is accepted for the protocol: there is no prompt here)."""
        return [self._answer(q, hits) for q, hits in zip(queries, contexts, strict=True)]

    def __repr__(self) -> str:
        return f"ExtractiveGenerator(max_sentences={self.max_sentences})"


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
