"""A scripted LLM for tests of RAG methods' mechanics (no model): replies chosen by rules on the prompt.

Methods' control flow depends on what the LLM writes (how many sub-questions, whether a reasoning
step gives the answer). No real model writes a chosen text on demand, so tests of that control flow
script the replies; tests of what a model does use the real one.

Example:
    >>> llm = ScriptedLLM([("Search query", "acme founder"), ("", "I do not know.")])
    >>> llm.complete([[{"role": "user", "content": "Question: Who?\\nSearch query:"}]], tenants=["acme"])[0].text
    'acme founder'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ragbench.types import Completion

Reply = str | Completion | Callable[[list[dict]], "str | Completion"]


class ScriptedLLM:
    """Replies by the first rule whose text occurs in the prompt's last user message (``""`` matches all).

    A reply is a string, a :class:`Completion` (e.g. one with ``error`` set, to test failures) or a function
    of the messages. Stop strings cut the reply as an engine would. Token counts are word counts.
    Every prompt is kept in ``calls``.
    """

    def __init__(self, rules: Sequence[tuple[str, Reply]]) -> None:
        self.rules = list(rules)
        self.calls: list[list[dict]] = []

    def _reply(self, messages: list[dict]) -> Completion:
        last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        for needle, reply in self.rules:
            if needle in last:
                reply = reply(messages) if callable(reply) else reply
                return reply if isinstance(reply, Completion) else Completion(text=str(reply))
        raise AssertionError(f"ScriptedLLM has no rule for the prompt {last!r:.300}")

    def complete(
        self,
        prompts: Sequence[Sequence[Mapping[str, str]]],
        *,
        tenants: Sequence[str],
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> list[Completion]:
        assert len(prompts) == len(tenants), "one tenant per prompt"
        out = []
        for prompt in prompts:
            messages = [dict(m) for m in prompt]
            self.calls.append(messages)
            reply = self._reply(messages)
            if not reply.ok:
                out.append(reply)
                continue
            text = reply.text
            for s in stop:
                text = text.split(s)[0]
            words = sum(len(m["content"].split()) for m in messages)
            out.append(Completion(text=text, prompt_tokens=words, completion_tokens=len(text.split())))
        return out

    def __repr__(self) -> str:
        return f"ScriptedLLM(rules={len(self.rules)})"
