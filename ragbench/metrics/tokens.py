"""Text normalisation for answer metrics that reads every script (the default), plus its rule.

Rule (``tokenizer="unicode"``, the default of EM, F1, match, ROUGE-L and BLEU):

1. NFKC normalisation, then Unicode case folding (``"Ǆ"`` -> ``"ǆ"``, ``"ß"`` -> ``"ss"``).
2. A token is a run of letters, combining marks and digits of any script (Unicode categories
   ``L*``, ``M*``, ``N*``): ``"Čakovec"``, ``"Београд"``, ``"नमस्ते"`` stay whole, where an
   ASCII-only rule keeps ``"akovec"`` and nothing of the other two.
3. Han, Hiragana and Katakana characters are one token each (Chinese and Japanese do not
   put spaces between words; MLQA's "mixed segmentation" does the same).
4. ROUGE-L and BLEU split tokens at everything else (punctuation, symbols, spaces), as
   ``rouge_score`` does. EM, F1 and match *delete* punctuation and symbols and split at
   spaces (as SQuAD and MLQA do, so ``"1,000"`` equals ``"1000"``), then drop the articles
   of the question's language (:data:`ARTICLES`; English when it is unknown, as SQuAD).

On ASCII text this gives exactly the English references (SQuAD v1.1 normalisation,
``rouge_score``'s tokenizer); they stay available by name (``tokenizer="squad"``,
``"ascii"``, ``"13a"``) and the reference tests check them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

# Articles removed by EM/F1/match, per ISO 639-1 code (MLQA's evaluation lists for en, es, de,
# plus fr and it). Languages without articles (hr, sr, ...) lose nothing.
ARTICLES: dict[str, frozenset[str]] = {
    "en": frozenset({"a", "an", "the"}),
    "de": frozenset({"ein", "eine", "einen", "einem", "eines", "einer", "der", "die", "das", "den", "dem", "des"}),
    "es": frozenset({"un", "una", "unos", "unas", "el", "la", "los", "las"}),
    "fr": frozenset({"le", "la", "les", "l", "un", "une", "des"}),
    "it": frozenset({"il", "lo", "la", "i", "gli", "le", "l", "un", "uno", "una"}),
}
_CJK_RANGES = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x323AF))


def fold(text: str) -> str:
    """NFKC, then Unicode case folding.

    Example:
        >>> fold("ČAKOVEC Straße")
        'čakovec strasse'
    """
    return unicodedata.normalize("NFKC", text).casefold()


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _CJK_RANGES)


def _split(text: str, keep: Callable[[str], bool]) -> list[str]:
    tokens: list[str] = []
    word: list[str] = []
    for ch in text:
        if _is_cjk(ch):
            tokens.extend(["".join(word), ch] if word else [ch])
            word = []
        elif keep(ch):
            word.append(ch)
        elif word:
            tokens.append("".join(word))
            word = []
    if word:
        tokens.append("".join(word))
    return tokens


def word_tokens(text: str) -> list[str]:
    """Folded runs of letters, marks and digits (any script); Han/Kana one character each.

    Example:
        >>> word_tokens("Grad je Čakovec, a ne Београд-2!")
        ['grad', 'je', 'čakovec', 'a', 'ne', 'београд', '2']
        >>> word_tokens("नमस्ते दुनिया, 北京市")
        ['नमस्ते', 'दुनिया', '北', '京', '市']
    """
    return _split(fold(text), lambda ch: unicodedata.category(ch)[0] in "LMN")


def answer_tokens(text: str, *, language: str | None = None) -> list[str]:
    """EM/F1 tokens: folded, punctuation and symbols deleted, split at spaces, articles dropped.

    Args:
        text: An answer.
        language: ISO 639-1 code whose articles (:data:`ARTICLES`) are dropped; ``None`` drops
            the English ones (SQuAD's rule).

    Example:
        >>> answer_tokens("The Eiffel-Tower, 1,000 m!")
        ['eiffeltower', '1000', 'm']
        >>> answer_tokens("A u Čakovcu?", language="hr")
        ['a', 'u', 'čakovcu']
    """
    kept = "".join(ch for ch in fold(text) if unicodedata.category(ch)[0] not in "PS")
    articles = ARTICLES.get(language or "en", frozenset())
    return [t for t in _split(kept, lambda ch: not ch.isspace()) if t not in articles]
