"""Conversational questions: a follow-up plus its conversation becomes a standalone question.

:class:`Condenser` asks the LLM to rewrite the follow-up so that it can be understood without the
conversation (in the follow-up's own language; the prompt says so, no word list is involved).
``mode="concat"`` instead searches with the previous question followed by the follow-up (no LLM;
what a dashboard without an LLM generator does). :class:`Conversational` runs any other method on
the standalone question; the generator also receives the conversation (``Query.history``), which
prompts with ``history_turns > 0`` show as earlier chat turns. A concatenation is only searched: with standard
RAG inside, the generator answers the follow-up itself (an unrelated next question is not answered as the previous one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ragbench.errors import ConfigError
from ragbench.methods.base import Batch, Method, MethodResult, check_positive, resolve_llm
from ragbench.methods.standard import Standard
from ragbench.methods.steps import StepPrompt, first_line, step_prompt
from ragbench.protocols import ChatLLM, Generator, Retriever
from ragbench.types import Completion, Query

MODES = ("llm", "concat")
CONDENSE_PROMPT = StepPrompt(
    system="Rewrite the last question so that it can be understood without the conversation: replace words such "
    "as it, they, there, that with what they refer to. Keep the language of the last question. Output only "
    "the rewritten question.",
    user="Conversation:\n{conversation}\n\nLast question: {question}\nRewritten question:",
)


@dataclass(frozen=True)
class Condensed:
    """A standalone question: ``how`` it was made (``none``: no history, ``llm``, ``concat``, ``concat_fallback``:
    the LLM wrote nothing usable) and the LLM call, if any."""

    question: str
    how: str
    completion: Completion | None = None


class Condenser:
    """Turn follow-ups into standalone questions with an LLM (or by concatenation).

    Args:
        llm: The LLM that condenses (``mode=llm``).
        mode: ``llm`` or ``concat``.
        max_turns: Earlier turns shown to the LLM (the most recent ones).
        max_answer_chars: Each earlier answer is cut to this many characters.
        prompt: The condensing prompt (``{conversation}``, ``{question}``).
        max_tokens: Most tokens of a standalone question.

    Example:
        >>> c = Condenser(None, mode="concat")
        >>> c.condense([Query("And for contractors?", "acme", history=(("How many vacation days?", "25."),))])[0].question
        'How many vacation days? And for contractors?'
    """

    def __init__(
        self,
        llm: ChatLLM | None,
        *,
        mode: str = "llm",
        max_turns: int = 3,
        max_answer_chars: int = 300,
        prompt: StepPrompt | Mapping[str, Any] | None = None,
        max_tokens: int = 64,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"Unknown conversational mode {mode!r}. Valid: {', '.join(MODES)}.")
        check_positive("conversational", max_turns=max_turns, max_answer_chars=max_answer_chars, max_tokens=max_tokens)
        if mode == "llm" and llm is None:
            raise ConfigError(
                "Conversational mode=llm needs an LLM to condense follow-ups; pass one or use mode=concat."
            )
        self.llm, self.mode = llm, mode
        self.max_turns, self.max_answer_chars, self.max_tokens = max_turns, max_answer_chars, max_tokens
        self.prompt = step_prompt(prompt, CONDENSE_PROMPT, setting="method.prompt", fields=("conversation", "question"))

    def messages(self, query: Query) -> list[dict[str, str]]:
        turns = list(query.history)[-self.max_turns :]
        conversation = "\n".join(f"User: {q}\nAssistant: {a[: self.max_answer_chars]}" for q, a in turns)
        return self.prompt.messages(conversation=conversation, question=query.text)

    @staticmethod
    def concat(query: Query) -> str:
        return f"{query.history[-1][0]} {query.text}"

    def condense(self, queries: Sequence[Query]) -> list[Condensed]:
        """One :class:`Condensed` per query, in order; queries without history are unchanged (no LLM call)."""
        out: list[Condensed | None] = [Condensed(q.text, "none") if not q.history else None for q in queries]
        todo = [i for i, c in enumerate(out) if c is None]
        if self.mode == "concat":
            for i in todo:
                out[i] = Condensed(self.concat(queries[i]), "concat")
            return out  # type: ignore[return-value]
        completions = (
            self.llm.complete(
                [self.messages(queries[i]) for i in todo],
                tenants=[queries[i].tenant for i in todo],
                max_tokens=self.max_tokens,
                stop=("\n",),
            )
            if todo
            else []
        )
        for i, completion in zip(todo, completions, strict=True):
            text = first_line(completion.text) if completion.ok else ""
            if completion.ok and not text:  # nothing usable: search with both questions rather than the bare follow-up
                out[i] = Condensed(self.concat(queries[i]), "concat_fallback", completion)
            else:
                out[i] = Condensed(text, "llm", completion)
        return out  # type: ignore[return-value]


class Conversational:
    """Condense each follow-up into a standalone question, then answer it with ``inner`` (default: standard RAG).

    The inner method searches and answers with the standalone question; the generator also receives the
    conversation (``Query.history``; shown when its prompt has ``history_turns > 0``). Queries without history
    pass through unchanged. The trace adds ``method.standalone`` and ``method.condensed`` (how: none, llm, concat,
    concat_fallback) and counts the condensing call.

    Args:
        retriever, generator: The run's parts (injected by ``build``).
        inner: The method that answers the standalone question (``None``: :class:`Standard`).
        llm: The LLM that condenses (default: the generator's own engine; ``mode=concat`` needs none).
        mode, max_turns, max_answer_chars, prompt, max_tokens: :class:`Condenser` settings.
    """

    name = "conversational"

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        *,
        inner: Method | None = None,
        llm: ChatLLM | None = None,
        mode: str = "llm",
        max_turns: int = 3,
        max_answer_chars: int = 300,
        prompt: StepPrompt | Mapping[str, Any] | None = None,
        max_tokens: int = 64,
    ) -> None:
        self.inner = inner or Standard(retriever, generator)
        llm = resolve_llm(llm, generator, self.name) if mode == "llm" else None
        self.condenser = Condenser(
            llm, mode=mode, max_turns=max_turns, max_answer_chars=max_answer_chars, prompt=prompt, max_tokens=max_tokens
        )

    def run(self, queries: Sequence[Query], k: int) -> list[MethodResult]:
        queries = list(queries)
        batch = Batch(self.name, queries)
        with batch.stage("condense_ms", range(len(queries))) as box:
            condensed = self.condenser.condense(queries)
            box["load_ms"] = max((c.completion.load_ms for c in condensed if c.completion), default=0.0)
        failed = {i for i, c in enumerate(condensed) if c.completion is not None and not c.completion.ok}
        todo = [i for i in range(len(queries)) if i not in failed]
        inner = self._run_inner(queries, condensed, todo, k) if todo else []
        results = dict(zip(todo, inner, strict=True))
        out = []
        for i, cond in enumerate(condensed):
            result = results.get(i) or MethodResult([], None, {}, batch.traces[i])
            trace = result.trace
            trace.method = self.name
            trace.notes["inner"] = self.inner.name
            trace.count(cond.completion)
            if cond.completion is not None:
                trace.steps.insert(0, {"step": "condense", "text": cond.completion.text.strip()})
            trace.notes.update({"standalone": cond.question, "condensed": cond.how})
            if i in failed:
                batch.fail(i, "condense", cond.completion.error or "unknown error")
                result.answer = batch.answers[i]
            timings = {**result.timings, "condense_ms": batch.timings[i].get("condense_ms", 0.0)}
            timings["total_ms"] = timings.get("total_ms", 0.0) + timings["condense_ms"]
            if batch.load_ms:
                timings["load_ms"] = max(timings.get("load_ms", 0.0), batch.load_ms)
            out.append(MethodResult(result.hits, result.answer, timings, trace))
        return out

    def _run_inner(self, queries: list[Query], condensed: list[Condensed], todo: list[int], k: int) -> list:
        """The inner method on the standalone questions. A concatenation is a search text, not a question: with
        standard RAG inside, it is only searched and the follow-up itself (with its conversation) is answered."""
        if isinstance(self.inner, Standard):
            asked = [
                queries[i] if condensed[i].how.startswith("concat") else replace(queries[i], text=condensed[i].question)
                for i in todo
            ]
            return self.inner.run(asked, k, search=[condensed[i].question for i in todo])
        return self.inner.run([replace(queries[i], text=condensed[i].question) for i in todo], k)

    def __repr__(self) -> str:
        return f"Conversational(mode={self.condenser.mode!r}, inner={self.inner!r})"
