"""Prompts of a method's intermediate LLM steps, and how their outputs are read.

A :class:`StepPrompt` is configuration (``method.<x>_prompt: {system: ..., user: ...}``): a system
message and a user template whose ``{fields}`` the method fills in. Outputs are read leniently,
because small models decorate them: labels such as ``Search query:`` and list numbering are removed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ragbench.errors import ConfigError

_LABEL = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)]|[A-Za-z][A-Za-z -]{0,30}:)\s*")
_QUOTES = "\"'“”„«»`"


@dataclass(frozen=True)
class StepPrompt:
    """A step's chat prompt: ``system`` and a ``user`` template with ``{field}`` placeholders.

    Example:
        >>> p = StepPrompt("Rewrite as a search query.", "Question: {question}")
        >>> p.messages(question="Who founded Acme?")[1]
        {'role': 'user', 'content': 'Question: Who founded Acme?'}
    """

    system: str
    user: str

    def fields(self) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.user) if name}

    def messages(self, **values: str) -> list[dict[str, str]]:
        out = [{"role": "user", "content": self.user.format(**values)}]
        return [{"role": "system", "content": self.system}, *out] if self.system else out


def step_prompt(
    value: StepPrompt | Mapping[str, Any] | None, default: StepPrompt, *, setting: str, fields: Sequence[str]
) -> StepPrompt:
    """``value`` (a StepPrompt or a ``{system, user}`` mapping from the config) or ``default``, checked:
    its user template may use only ``fields``."""
    if value is None:
        prompt = default
    elif isinstance(value, StepPrompt):
        prompt = value
    elif isinstance(value, Mapping) and set(value) <= {"system", "user"}:
        prompt = StepPrompt(str(value.get("system", default.system)), str(value.get("user", default.user)))
    else:
        raise ConfigError(f"{setting} must be a mapping with keys system and user, got {value!r:.200}.")
    unknown = sorted(prompt.fields() - set(fields))
    if unknown:
        raise ConfigError(f"{setting}.user uses unknown field(s) {unknown}; available: {', '.join(fields)}.")
    return prompt


def clean_line(line: str) -> str:
    """A line without list numbering, a leading label (``Query:``) or surrounding quotes."""
    previous = None
    line = line.strip()
    while previous != line:  # "1. Query: ..." has both, '"Q: ..."' a label inside quotes
        previous, line = line, _LABEL.sub("", line, count=1).strip().strip(_QUOTES).strip()
    return line


def first_line(text: str) -> str:
    """The first non-empty line of ``text``, cleaned (``""`` when there is none).

    Example:
        >>> first_line("Search query: acme founder year\\nExplanation: ...")
        'acme founder year'
    """
    for line in text.splitlines():
        if cleaned := clean_line(line):
            return cleaned
    return ""


def lines(text: str, limit: int, *, exclude: Sequence[str] = ()) -> list[str]:
    """Up to ``limit`` distinct cleaned lines of ``text`` (case-insensitive), none equal to ``exclude``.

    Example:
        >>> lines("1. who wrote Dune\\n2. Dune author\\n3. who wrote Dune", 5)
        ['who wrote Dune', 'Dune author']
    """
    seen = {e.strip().casefold() for e in exclude}
    out: list[str] = []
    for line in text.splitlines():
        cleaned = clean_line(line)
        if cleaned and cleaned.casefold() not in seen:
            seen.add(cleaned.casefold())
            out.append(cleaned)
        if len(out) >= limit:
            break
    return out
