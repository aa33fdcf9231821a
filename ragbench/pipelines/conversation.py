"""Follow-up questions in a conversation: the one rule the query API, the pipeline and the dashboard share.

A follow-up (a short question, or one that starts like "and ...", "what about ...") is searched
together with the previous user question, so "And for contractors?" after "How many vacation days
do employees get?" still finds the vacation policy.
"""

from __future__ import annotations

from collections.abc import Sequence

from ragbench.schema import ChatTurn

FOLLOW_UP_STARTS = ("and ", "what about", "how about", "also", "it ", "its ", "they ", "that ", "this ", "those ")
#: Questions of at most this many words count as follow-ups.
FOLLOW_UP_WORDS = 4


def follow_up(question: str, previous: str | None) -> str:
    """``question`` joined to the ``previous`` question when it is a follow-up, else ``question``.

    Example:
        >>> follow_up("And for contractors?", "How many vacation days?")
        'How many vacation days? And for contractors?'
        >>> follow_up("Who founded the company in 1998?", "How many vacation days?")
        'Who founded the company in 1998?'
    """
    if not previous or not previous.strip():
        return question
    q = question.strip().lower()
    if len(q.split()) <= FOLLOW_UP_WORDS or q.startswith(FOLLOW_UP_STARTS):
        return f"{previous} {question}"
    return question


def conversation_question(question: str, history: Sequence[ChatTurn] | None) -> str:
    """The question to search and answer, given earlier turns (the last user turn is the previous question).

    Example:
        >>> conversation_question("And contractors?", [ChatTurn(role="user", content="Vacation days?"),
        ...                                             ChatTurn(role="assistant", content="25.")])
        'Vacation days? And contractors?'
    """
    previous = next((t.content for t in reversed(history or ()) if t.role == "user" and t.content.strip()), None)
    return follow_up(question, previous)


def chat_pairs(history: Sequence[ChatTurn] | None) -> tuple[tuple[str, str], ...]:
    """Earlier chat turns as ``(question, answer)`` pairs, oldest first (a user turn without an answer gets ``""``).

    Example:
        >>> chat_pairs([ChatTurn(role="user", content="Vacation days?"), ChatTurn(role="assistant", content="25.")])
        (('Vacation days?', '25.'),)
    """
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for turn in history or ():
        if turn.role == "user":
            if question is not None:
                pairs.append((question, ""))
            question = turn.content
        elif question is not None:
            pairs.append((question, turn.content))
            question = None
    if question is not None:
        pairs.append((question, ""))
    return tuple(pairs)
