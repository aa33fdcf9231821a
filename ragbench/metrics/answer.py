"""Answer metrics: SQuAD-style exact match and token F1 (official v1.1 normalisation), and match
(a gold answer contained in the output: FlashRAG's ``acc``, BERGEN's ``Match``)."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and English articles, squeeze whitespace (SQuAD v1.1).

    Example:
        >>> normalize_answer("The  Eiffel Tower!")
        'eiffel tower'
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised gold answer."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def _f1(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """Best token-overlap F1 of the prediction against any gold answer.

    Example:
        >>> round(token_f1("25 days of leave", ["25 days"]), 4)
        0.6667
    """
    return max((_f1(prediction, g) for g in golds), default=0.0)


def match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 if any normalised gold answer occurs in the normalised prediction (FlashRAG's ``acc``).

    Generative answers are often right but wordy ("The answer is 25 days."), which EM scores 0 and
    F1 penalises; match tells whether the answer was found at all.

    Example:
        >>> match("Full-time staff get 25 days of paid leave.", ["25 days"])
        1.0
        >>> match("About 20.", ["25 days", "25"])
        0.0
    """
    pred = normalize_answer(prediction)
    return float(any((gold := normalize_answer(g)) and gold in pred for g in golds))
