"""Answer metrics: exact match and token F1, and match (a gold answer contained in the output:
FlashRAG's ``acc``, BERGEN's ``Match``), for answers in any script.

``tokenizer="unicode"`` (the default) normalises by the rule of :mod:`ragbench.metrics.tokens`
(NFKC, case folding, punctuation and symbols of every script deleted, the language's articles
dropped). ``tokenizer="squad"`` is the official SQuAD v1.1 normalisation (lower case, ASCII
punctuation and English articles removed), kept by name for English results comparable with
published ones; both agree on ASCII text.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from ragbench.errors import ConfigError, suggest
from ragbench.metrics.tokens import answer_tokens

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)
TOKENIZERS = ("unicode", "squad")


def _squad(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def normalize_answer(text: str, *, language: str | None = None, tokenizer: str = "unicode") -> str:
    """The normalised answer that EM, F1 and match compare (tokens joined by single spaces).

    Args:
        text: An answer.
        language: ISO 639-1 code of the answer (its articles are dropped; ``None``: English).
        tokenizer: ``"unicode"`` (every script) or ``"squad"`` (SQuAD v1.1, English).

    Example:
        >>> normalize_answer("The  Eiffel Tower!")
        'eiffel tower'
        >>> normalize_answer("«Čakovec»", language="hr"), normalize_answer("«Čakovec»", tokenizer="squad")
        ('čakovec', '«čakovec»')
    """
    if tokenizer == "unicode":
        return " ".join(answer_tokens(text, language=language))
    if tokenizer == "squad":
        return _squad(text)
    raise ConfigError(
        f"Unknown answer tokenizer {tokenizer!r}.{suggest(tokenizer, TOKENIZERS)} Valid: {', '.join(TOKENIZERS)}."
    )


def exact_match(
    prediction: str, golds: Sequence[str], *, language: str | None = None, tokenizer: str = "unicode"
) -> float:
    """1.0 if the normalised prediction equals any normalised gold answer.

    Example:
        >>> exact_match("Београд.", ["београд"])
        1.0
    """
    pred = normalize_answer(prediction, language=language, tokenizer=tokenizer)
    return float(any(pred == normalize_answer(g, language=language, tokenizer=tokenizer) for g in golds))


def _f1(pred_tokens: list[str], gold_tokens: list[str]) -> float:
    same = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def token_f1(
    prediction: str, golds: Sequence[str], *, language: str | None = None, tokenizer: str = "unicode"
) -> float:
    """Best token-overlap F1 of the prediction against any gold answer.

    Example:
        >>> round(token_f1("25 days of leave", ["25 days"]), 4)
        0.6667
        >>> round(token_f1("Osnovala ju je Nevenka Šimić.", ["Nevenka Šimić"], language="hr"), 4)
        0.5714
    """
    pred = normalize_answer(prediction, language=language, tokenizer=tokenizer).split()
    return max(
        (_f1(pred, normalize_answer(g, language=language, tokenizer=tokenizer).split()) for g in golds), default=0.0
    )


def match(prediction: str, golds: Sequence[str], *, language: str | None = None, tokenizer: str = "unicode") -> float:
    """1.0 if any normalised gold answer occurs in the normalised prediction (FlashRAG's ``acc``).

    Generative answers are often right but wordy ("The answer is 25 days."), which EM scores 0 and
    F1 penalises; match tells whether the answer was found at all.

    Example:
        >>> match("Full-time staff get 25 days of paid leave.", ["25 days"])
        1.0
        >>> match("About 20.", ["25 days", "25"])
        0.0
        >>> match("Zaposlenici imaju 24 dana godišnjeg odmora.", ["24 dana"], language="hr")
        1.0
    """
    pred = normalize_answer(prediction, language=language, tokenizer=tokenizer)
    return float(
        any((gold := normalize_answer(g, language=language, tokenizer=tokenizer)) and gold in pred for g in golds)
    )
