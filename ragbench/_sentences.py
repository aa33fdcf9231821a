"""Sentence splitting with pysbd (rule-based, offline), per language.

pysbd has no South Slavic rules: Croatian, Serbian, Bosnian and Slovene text is split with its Slovak
rules (ordinals such as ``3. kat`` and Central European abbreviations) plus the common abbreviations of
those languages (``npr.``, ``tj.``, ``dr. sc.``). Other languages pysbd lacks use its English rules. A
piece that starts in lower case is joined to the one before (pysbd splits ``10. u mjesecu`` otherwise).
"""

from __future__ import annotations

from functools import lru_cache

_SOUTH_SLAVIC = frozenset({"hr", "sr", "bs", "sl", "sh", "cnr"})
_EXTRA_ABBREVIATIONS = (
    "npr", "tj", "itd", "i sl", "dr", "sc", "prof", "doc", "mr", "st", "kr", "pr", "g", "god", "br", "sv",
    "ul", "tel", "mil", "mlrd", "kn", "min", "sl", "usp", "odn", "izv", "tzv", "čl", "st", "str",
)  # fmt: skip
_PREPOSITIVE = ("dr", "prof", "sc", "mr", "doc", "ing", "sv")


def _south_slavic():
    from pysbd.languages import LANGUAGE_CODES

    slovak = LANGUAGE_CODES["sk"]

    class SouthSlavic(slovak):
        iso_code = "hr"

        class Abbreviation(slovak.Abbreviation):
            ABBREVIATIONS = [*slovak.Abbreviation.ABBREVIATIONS, *_EXTRA_ABBREVIATIONS]
            PREPOSITIVE_ABBREVIATIONS = [*slovak.Abbreviation.PREPOSITIVE_ABBREVIATIONS, *_PREPOSITIVE]

    return SouthSlavic


@lru_cache(maxsize=32)
def _segmenter(language: str):
    import pysbd
    from pysbd.languages import LANGUAGE_CODES

    if language in _SOUTH_SLAVIC:
        segmenter = pysbd.Segmenter(language="sk", clean=False)
        segmenter.language_module = _south_slavic()  # this segmenter only; pysbd's tables stay as they are
        return segmenter
    return pysbd.Segmenter(language=language if language in LANGUAGE_CODES else "en", clean=False)


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Split prose into sentences; abbreviations (``Dr.``, ``e.g.``, ``npr.``) do not end one.

    Args:
        text: The prose.
        language: ISO 639-1 code of the text (``None``: English rules).

    Example:
        >>> split_sentences("Dr. Smith leads the lab. It is in Oslo.")
        ['Dr. Smith leads the lab.', 'It is in Oslo.']
        >>> split_sentences("Ured je na 3. katu, npr. u sobi 2. Otvoren je danas.", "hr")
        ['Ured je na 3. katu, npr. u sobi 2.', 'Otvoren je danas.']
    """
    return list(_split(text, (language or "en").lower()))


@lru_cache(maxsize=8192)  # the same chunks come back for many questions
def _split(text: str, language: str) -> tuple[str, ...]:
    merged: list[str] = []
    for part in (x.strip() for x in _segmenter(language).segment(text.strip()) if text.strip()):
        if merged and part and part[0].islower():  # "10. u mjesecu": a sentence never starts in lower case
            merged[-1] = f"{merged[-1]} {part}"
        elif part:
            merged.append(part)
    return tuple(merged)
