"""Offline language detection with ``lingua-language-detector``, built lazily and once.

The detector knows a fixed set of languages (:data:`LANGUAGES`: English, the South
Slavic languages, Slovenian and the large Western European ones) and returns ISO 639-1
codes. Rule for Serbo-Croatian, which lingua cannot split reliably by vocabulary:

* Cyrillic-script text: lingua chooses among Serbian (``sr``), Macedonian (``mk``)
  and Bulgarian (``bg``) -- lingua's Serbian model is Cyrillic and works well there.
* Latin-script text that lingua labels Croatian, Bosnian or Serbian is reported as
  ``hr``: Latin Serbian and Bosnian are not distinguishable from Croatian by lingua
  (on EXAMS it labels 11 of 538 Croatian paragraphs Bosnian). Callers who know better
  pass a language hint (a JSONL record's ``language`` field, ``--language``).

Rule for short texts (questions): a text with fewer than :data:`MIN_WORDS` (3) words that
contain letters gets ``None`` ("cannot tell"), never a guess. Measured on the first n words of
real questions (EXAMS hr: 538 stems, EXAMS sr Cyrillic: 282, the English demo: 52): one word is
right for 88.5 % (hr), 63.8 % (sr) and 96.2 % (en) of them, two words for 97.0 / 77.3 / 100 %,
three words for 97.4 / 94.4 / 98.1 %; whole questions for 537/538, 281/282 and 52/52.
The same detector and rules serve documents (ingestion) and questions (query API, evaluation
runs), so a question and the documents it is asked about are judged alike.
"""

from __future__ import annotations

import re
from functools import lru_cache

LANGUAGES = ("en", "hr", "sr", "bs", "mk", "bg", "sl", "de", "fr", "es", "it")
_LATIN_HBS = {"hr", "bs", "sr"}
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
MIN_WORDS = 3  # fewer words with letters: None (see the module docstring for the measurements)
MAX_CHARS = 500  # detection reads the first MAX_CHARS characters (~75 words). On SciFact (3000 docs)
# and EXAMS hr/sr (538 + 278 paragraphs) 400, 600, 1000 and 4000 characters all give the same, all-right
# answers; 500 costs ~0.17 ms per document (4000: ~0.6 ms).


@lru_cache(maxsize=1)
def _detector():
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, code.upper()) for code in LANGUAGES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def script_of(text: str) -> str:
    """``"cyrillic"`` if Cyrillic letters outnumber Latin ones, else ``"latin"``."""
    return "cyrillic" if len(_CYRILLIC.findall(text)) > len(_LATIN.findall(text)) else "latin"


def _sample(text: str) -> str | None:
    sample = text[:MAX_CHARS]
    words = sum(1 for word in sample.split() if _LATIN.search(word) or _CYRILLIC.search(word))
    return sample if words >= MIN_WORDS else None


def _code(found, sample: str) -> str | None:
    if found is None:
        return None
    code = found.iso_code_639_1.name.lower()
    if code in _LATIN_HBS and script_of(sample) == "latin":
        return "hr"
    return code


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, or ``None`` when it has fewer than 3 words to judge.

    Example:
        >>> detect_language("Zagreb je glavni grad Republike Hrvatske i najveći grad u državi.")
        'hr'
        >>> detect_language("Београд је главни и највећи град Србије.")
        'sr'
        >>> detect_language("Koliko dana?") is None  # too short to tell (MIN_WORDS)
        True
    """
    sample = _sample(text)
    return None if sample is None else _code(_detector().detect_language_of(sample), sample)


def detect_languages(texts: list[str]) -> list[str | None]:
    """:func:`detect_language` of each text, detected in parallel on all cores (same results).

    Example:
        >>> detect_languages(["Zagreb je glavni grad Hrvatske.", "The capital of France is Paris.", "123"])
        ['hr', 'en', None]
    """
    samples = [_sample(t) for t in texts]
    todo = [s for s in samples if s is not None]
    found = iter(_detector().detect_languages_in_parallel_of(todo) if todo else [])
    return [None if s is None else _code(next(found), s) for s in samples]
