"""The low-confidence marker of an answer: is anything retrieved actually about the question?

Retrieval always returns ``k`` chunks, even for a question the tenant's documents do not cover,
and the generator then answers from unrelated text. Retrievers' own scores cannot say so: BM25
scores are unbounded and depend on the corpus, hybrid RRF scores depend only on ranks. So the
marker uses one comparable number for every preset, the *relevance*: the highest cosine similarity
between the question and the retrieved chunks, both embedded by the dashboard's embedder (the one
its store's vectors come from; MiniLM by default).

The rule: an answer is marked low-confidence when nothing was retrieved, or when its relevance is
below ``min_relevance`` (:data:`DEFAULT_MIN_RELEVANCE`, set with ``RAGBENCH_DASHBOARD_MIN_RELEVANCE``
or ``ragbench dashboard --min-relevance``). Without an embedder (a lexical-only base config) only
the "nothing retrieved" half applies, and the answer says so.

Why 0.35: docs/dashboard.md lists the relevances measured on the demo tenants with MiniLM, on-topic
questions against off-topic ones; 0.35 lies between the two groups.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ragbench.errors import ConfigError
from ragbench.types import Hit

ENV_MIN_RELEVANCE = "RAGBENCH_DASHBOARD_MIN_RELEVANCE"
DEFAULT_MIN_RELEVANCE = 0.35


@dataclass(frozen=True)
class Relevance:
    """How well the retrieved chunks match the question.

    Attributes:
        score: Highest question-chunk cosine similarity (``None`` without an embedder or chunks).
        low: True when the answer should carry the low-confidence marker.
        reason: Why it is low (shown next to the marker); empty when it is not.
    """

    score: float | None
    low: bool
    reason: str = ""


def min_relevance_from_env(default: float = DEFAULT_MIN_RELEVANCE) -> float:
    """``RAGBENCH_DASHBOARD_MIN_RELEVANCE`` as a number in [0, 1], else ``default``."""
    text = os.environ.get(ENV_MIN_RELEVANCE, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    return check_min_relevance(value, given=text)


def check_min_relevance(value: float, *, given: object = None) -> float:
    """``value`` if it is a cosine threshold in [0, 1]; otherwise a :class:`ConfigError` saying how to fix it."""
    if not 0.0 <= value <= 1.0:
        raise ConfigError(
            f"min_relevance must be a number between 0 and 1 (a cosine similarity), got {given if given is not None else value!r}. "
            f"Use e.g. {DEFAULT_MIN_RELEVANCE} (the default), or 0 to mark only answers with no sources."
        )
    return float(value)


def assess(embedder: Any, question: str, hits: Sequence[Hit], *, min_relevance: float) -> Relevance:
    """The :class:`Relevance` of ``hits`` for ``question`` under the rule of this module.

    Example:
        >>> assess(None, "Who founded the company?", [], min_relevance=0.35)
        Relevance(score=None, low=True, reason='no sources were retrieved')
    """
    if not hits:
        return Relevance(None, True, "no sources were retrieved")
    if embedder is None:
        return Relevance(None, False)
    q = _dense(embedder.embed_queries([question]))[0]
    docs = _dense(embedder.embed_documents([h.text for h in hits]))
    score = float(np.max(docs @ q / (np.linalg.norm(docs, axis=1) * np.linalg.norm(q) + 1e-12)))
    if score < min_relevance:
        return Relevance(
            score,
            True,
            f"the best source matches the question with similarity {score:.2f}, below {min_relevance:.2f}: "
            "the documents may not cover this question",
        )
    return Relevance(score, False)


def _dense(vectors: Any) -> np.ndarray:
    """Dense vectors of an embedder's output (an array, or :class:`~ragbench.types.Embeddings`)."""
    return np.asarray(getattr(vectors, "dense", vectors), dtype=np.float32)
