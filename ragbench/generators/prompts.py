"""Prompts as configuration: system prompt, numbered sources, answer language, and a fitting rule.

Fitting rule (stated once, applied by every LLM generator): only the ``max_sources``
highest-ranked sources are offered (all when ``None``); each is cut to
``max_source_chars`` characters; then, if the prompt plus ``max_tokens`` of answer
does not fit the model's context, the lowest-ranked sources are dropped one by one.
If the question alone (with no sources) still does not fit, the item is refused
with :class:`PromptTooLongError`: it is recorded as failed, never silently cut.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ragbench.errors import ConfigError, GenerationError
from ragbench.types import Hit, Query

LANGUAGE_NAMES = {
    "en": "English",
    "hr": "Croatian",
    "sr": "Serbian",
    "bs": "Bosnian",
    "mk": "Macedonian",
    "bg": "Bulgarian",
    "sl": "Slovenian",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
}
LANGUAGE_MODES = ("auto", "detect", "question")


class PromptTooLongError(GenerationError):
    """The question alone does not fit in the model's context."""


def estimate_tokens(text: str) -> int:
    """A conservative token count when no tokenizer is at hand: one token per 3 UTF-8 bytes, rounded up."""
    return math.ceil(len(text.encode("utf-8")) / 3)


@dataclass(frozen=True)
class PromptTemplate:
    """How a question and its retrieved sources become chat messages.

    Args:
        system: The system prompt.
        source_template: One source; fields ``n`` (1-based), ``title``, ``text``, ``doc_id``.
        user_template: The user turn; fields ``sources``, ``question``, ``language_instruction``.
        answer_language: ``auto`` (the query's ``language`` if set, else "the question's language"),
            ``detect`` (detect the question's language offline), ``question`` (always "the
            question's language") or an ISO 639-1 code to force one language.
        language_instruction: Used when the language is known; field ``language``.
        same_language_instruction: Used when it is not.
        max_source_chars: Each source is cut to this many characters.
        max_sources: At most this many sources, highest-ranked first (``None``: all retrieved).
        no_sources: Shown in place of sources when nothing was retrieved.
        history_turns: A follow-up's conversation (``Query.history``) is shown as this many earlier
            user/assistant turns before the question (0: the prompt shows no conversation). Turns are
            dropped, oldest first, before the question is refused as too long.
        history_answer_chars: Each earlier answer is cut to this many characters.

    Example:
        >>> p = PromptTemplate(system="Answer from the sources.")
        >>> msgs = p.messages(Query("Where?", "t", language="en"), [Hit("c", "d", "t", "In Oslo.", 1.0)])
        >>> print(msgs[1]["content"])
        Sources:
        [1] In Oslo.
        <BLANKLINE>
        Question: Where?
        Answer in English. Cite sources as [n].
    """

    system: str = (
        "You answer questions using only the numbered sources. Cite the sources you use as [n]. "
        "If the sources do not contain the answer, say that you do not know."
    )
    source_template: str = "[{n}] {title}{text}"
    user_template: str = "Sources:\n{sources}\n\nQuestion: {question}\n{language_instruction} Cite sources as [n]."
    answer_language: str = "auto"
    language_instruction: str = "Answer in {language}."
    same_language_instruction: str = "Answer in the language of the question."
    max_source_chars: int = 2000
    max_sources: int | None = None
    no_sources: str = "(no sources were found)"
    history_turns: int = 0
    history_answer_chars: int = 400

    def __post_init__(self) -> None:
        if self.answer_language not in LANGUAGE_MODES and self.answer_language not in LANGUAGE_NAMES:
            raise ConfigError(
                f"answer_language {self.answer_language!r} is not valid: use one of {LANGUAGE_MODES} or an "
                f"ISO 639-1 code among {', '.join(LANGUAGE_NAMES)}."
            )
        if self.max_source_chars < 1:
            raise ConfigError(f"max_source_chars must be >= 1, got {self.max_source_chars}.")
        if self.history_turns < 0 or self.history_answer_chars < 1:
            raise ConfigError(
                f"history_turns must be >= 0 and history_answer_chars >= 1, got {self.history_turns} "
                f"and {self.history_answer_chars}."
            )
        if self.max_sources is not None and self.max_sources < 0:
            raise ConfigError(f"max_sources must be >= 0 or null (all sources), got {self.max_sources}.")

    def language_for(self, query: Query) -> str | None:
        """The ISO code the answer should be in, or ``None`` for "the question's language"."""
        mode = self.answer_language
        if mode in LANGUAGE_NAMES:
            return mode
        if mode == "auto":
            return query.language
        if mode == "detect":
            try:
                from ragbench.language import detect_language
            except ImportError:  # pragma: no cover - detection module not installed
                return query.language
            return query.language or detect_language(query.text)
        return None

    def format_sources(self, hits: Sequence[Hit]) -> str:
        if not hits:
            return self.no_sources
        parts = []
        for n, hit in enumerate(hits, 1):
            title = f"{hit.title}\n" if hit.title else ""
            text = hit.text[: self.max_source_chars]
            parts.append(self.source_template.format(n=n, title=title, text=text, doc_id=hit.doc_id))
        return "\n\n".join(parts)

    def conversation(self, query: Query, turns: int | None = None) -> list[dict[str, str]]:
        """The last ``turns`` (default ``history_turns``) earlier turns of ``query`` as user/assistant messages."""
        n = self.history_turns if turns is None else min(turns, self.history_turns)
        out: list[dict[str, str]] = []
        for question, answer in list(query.history)[-n:] if n else []:
            out += [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer[: self.history_answer_chars]},
            ]
        return out

    def messages(self, query: Query, hits: Sequence[Hit], *, turns: int | None = None) -> list[dict[str, str]]:
        """Chat messages for one question: system, the conversation so far (if the template shows one), user."""
        code = self.language_for(query)
        if code:
            instruction = self.language_instruction.format(language=LANGUAGE_NAMES.get(code, code))
        else:
            instruction = self.same_language_instruction
        user = self.user_template.format(
            sources=self.format_sources(hits), question=query.text, language_instruction=instruction
        )
        return [
            {"role": "system", "content": self.system},
            *self.conversation(query, turns),
            {"role": "user", "content": user},
        ]

    def fit(
        self, query: Query, hits: Sequence[Hit], *, count_tokens: Callable[[list[dict]], int], budget: int
    ) -> tuple[list[dict[str, str]], list[Hit]]:
        """Messages that fit in ``budget`` prompt tokens, dropping the lowest-ranked sources first.

        Returns the messages and the sources kept (numbered 1..n in the prompt).

        Raises:
            PromptTooLongError: Even with no sources the prompt needs more than ``budget`` tokens.
        """
        kept = list(hits) if self.max_sources is None else list(hits)[: self.max_sources]
        msgs = self.messages(query, kept)
        if count_tokens(msgs) <= budget:
            return msgs, kept
        lo, hi = 0, len(kept) - 1  # the longest prefix that fits has lo..hi sources (more tokens with more)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count_tokens(self.messages(query, kept[:mid])) <= budget:
                lo = mid
            else:
                hi = mid - 1
        msgs = self.messages(query, kept[:lo])
        used = count_tokens(msgs)
        turns = min(len(query.history), self.history_turns)
        while used > budget and turns > 0:  # then the oldest turns of the conversation
            turns -= 1
            msgs = self.messages(query, [], turns=turns)
            used = count_tokens(msgs)
        if used > budget:
            raise PromptTooLongError(
                f"The question alone needs {used} prompt tokens but only {budget} fit "
                "(model context minus max_tokens for the answer). Shorten the question, lower "
                "max_tokens, or use a model with a longer context (max_model_len)."
            )
        return msgs, kept[:lo]
