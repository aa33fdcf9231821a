"""Iterative retrieval with chain-of-thought (IRCoT, Trivedi et al., 2023) for multi-hop questions.

Round 0 retrieves with the question. Each round the LLM writes the next reasoning sentence from
the passages collected so far; a sentence with the answer marker ("So the answer is:") ends the
loop, any other one is the next search query. The loop stops at the answer or after ``max_rounds``
sentences. As in IRCoT's "reader" setting, the generator then answers the question from every
passage collected (the rankings of all rounds fused with RRF), not from the reasoning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ragbench.methods.base import (
    Batch,
    MethodResult,
    check_positive,
    generate_step,
    llm_step,
    resolve_llm,
    retrieve_step,
)
from ragbench.methods.steps import StepPrompt, first_line, step_prompt
from ragbench.protocols import ChatLLM, Generator, Retriever
from ragbench.retrievers.fusion import rrf_fuse
from ragbench.types import Hit, Query

MARKER = "So the answer is:"
REASON_PROMPT = StepPrompt(
    system="You answer a question that needs several steps, one step at a time, using the numbered sources. "
    "Write only the next step as one short sentence. When you know the answer, write: "
    f"{MARKER} <answer>",
    user="Sources:\n{sources}\n\nQuestion: {question}\nSteps so far: {thoughts}\nNext step:",
)


class Iterative:
    """IRCoT-style loop: reason one sentence, retrieve with it, until the answer marker or ``max_rounds``.

    Per question the trace holds the sentences (``steps``), the search queries, ``method.rounds``
    (sentences written) and ``method.stopped`` (``answer`` or ``round_limit``).

    Args:
        retriever, generator: The run's parts (injected by ``build``); the generator reads the final answer.
        llm: The LLM that reasons (default: the generator's own engine).
        max_rounds: Most reasoning sentences (each followed by a retrieval unless it gives the answer).
        max_sources: Passages shown to each reasoning step (the best fused ones).
        max_source_chars: Each passage is cut to this many characters in a reasoning step.
        marker: The text that announces the answer.
        prompt: The reasoning prompt (``{sources}``, ``{question}``, ``{thoughts}``).
        max_tokens: Most tokens of one reasoning sentence.
    """

    name = "iterative"

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        *,
        llm: ChatLLM | None = None,
        max_rounds: int = 3,
        max_sources: int = 3,
        max_source_chars: int = 500,
        marker: str = MARKER,
        prompt: StepPrompt | Mapping[str, Any] | None = None,
        max_tokens: int = 48,
    ) -> None:
        check_positive(
            self.name,
            max_rounds=max_rounds,
            max_sources=max_sources,
            max_source_chars=max_source_chars,
            max_tokens=max_tokens,
        )
        if not str(marker).strip():
            from ragbench.errors import ConfigError

            raise ConfigError(f"method=iterative: marker must be a non-empty text (e.g. {MARKER!r}), got {marker!r}.")
        self.retriever, self.generator = retriever, generator
        self.llm = resolve_llm(llm, generator, self.name)
        self.prompt = step_prompt(
            prompt, REASON_PROMPT, setting="method.prompt", fields=("sources", "question", "thoughts")
        )
        self.max_rounds, self.max_sources, self.max_source_chars = max_rounds, max_sources, max_source_chars
        self.marker, self.max_tokens = str(marker), max_tokens

    def _sources(self, hits: Sequence[Hit]) -> str:
        return (
            "\n".join(
                f"[{n}] {h.title + ': ' if h.title else ''}{h.text[: self.max_source_chars]}"
                for n, h in enumerate(hits[: self.max_sources], 1)
            )
            or "(none)"
        )

    def run(self, queries: Sequence[Query], k: int) -> list[MethodResult]:
        batch = Batch(self.name, list(queries))
        items = batch.active()
        first = retrieve_step(batch, self.retriever, items, [batch.queries[i].text for i in items], k)
        rankings = {i: [first[i]] for i in items}
        thoughts: dict[int, list[str]] = {i: [] for i in items}
        going = list(items)
        for _ in range(self.max_rounds):
            going = self._round(batch, going, rankings, thoughts, k)
        items = batch.active()
        for i in items:
            batch.traces[i].values["rounds"] = float(len(thoughts[i]))
            batch.traces[i].notes.setdefault("stopped", "round_limit")
        pools = {i: rrf_fuse(rankings[i], k) for i in items}
        answers = generate_step(batch, self.generator, items, [pools[i] for i in items])
        for i in items:
            batch.hits[i], batch.answers[i] = pools[i], answers[i]
        return batch.results()

    def _round(
        self, batch: Batch, going: list[int], rankings: dict[int, list], thoughts: dict[int, list[str]], k: int
    ) -> list[int]:
        """One reasoning sentence for each question still going, then a retrieval for those without the answer."""
        going = batch.active(going)
        prompts = [
            self.prompt.messages(
                sources=self._sources(rrf_fuse(rankings[i], k)),
                question=batch.queries[i].text,
                thoughts=" ".join(thoughts[i]) or "(none)",
            )
            for i in going
        ]
        texts = llm_step(batch, self.llm, "reason", going, prompts, max_tokens=self.max_tokens, stop=("\n",))
        search = []
        for i in batch.active(going):
            sentence = first_line(texts[i]) if self.marker.casefold() not in texts[i].casefold() else texts[i].strip()
            thoughts[i].append(sentence)
            if self.marker.casefold() in sentence.casefold():
                batch.traces[i].notes["stopped"] = "answer"
            elif sentence:
                search.append(i)
            else:  # the model wrote nothing: no query to search with
                batch.traces[i].notes["stopped"] = "empty"
        hits = retrieve_step(batch, self.retriever, search, [thoughts[i][-1] for i in search], k)
        for i in search:
            rankings[i].append(hits[i])
        return search

    def __repr__(self) -> str:
        return f"Iterative(max_rounds={self.max_rounds}, retriever={self.retriever!r}, generator={self.generator!r})"
