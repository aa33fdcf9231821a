"""Query rewriting: the LLM turns the question into a search query; the answer is to the question."""

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
from ragbench.types import Query

REWRITE_PROMPT = StepPrompt(
    system="Rewrite the question as a short search query made of its key words and names, in the language of the "
    "question. Output only the query.",
    user="Question: {question}\nSearch query:",
)


class Rewrite:
    """Rewrite-retrieve-read: one LLM call rewrites the question into a search query; retrieval uses it.

    An empty rewrite falls back to the question (``method.fallback`` = 1 in the per-question table).

    Args:
        retriever, generator: The run's parts (injected by ``build``).
        llm: The LLM of the rewrite step (default: the generator's own engine).
        prompt: The rewrite step's prompt (``{question}``).
        max_tokens: Most tokens of a rewrite.

    Example:
        >>> r = Rewrite(retriever, generator).run([Query("Who founded Acme?", "acme")], k=5)[0]  # doctest: +SKIP
        >>> r.trace.queries  # doctest: +SKIP
        ['Acme founder']
    """

    name = "rewrite"

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        *,
        llm: ChatLLM | None = None,
        prompt: StepPrompt | Mapping[str, Any] | None = None,
        max_tokens: int = 48,
    ) -> None:
        check_positive(self.name, max_tokens=max_tokens)
        self.retriever, self.generator = retriever, generator
        self.llm = resolve_llm(llm, generator, self.name)
        self.prompt = step_prompt(prompt, REWRITE_PROMPT, setting="method.prompt", fields=("question",))
        self.max_tokens = max_tokens

    def run(self, queries: Sequence[Query], k: int) -> list[MethodResult]:
        batch = Batch(self.name, list(queries))
        items = batch.active()
        texts = llm_step(
            batch,
            self.llm,
            "rewrite",
            items,
            [self.prompt.messages(question=batch.queries[i].text) for i in items],
            max_tokens=self.max_tokens,
        )
        items = batch.active()
        search = []
        for i in items:
            rewritten = first_line(texts[i])
            batch.traces[i].values["fallback"] = float(not rewritten)
            search.append(rewritten or batch.queries[i].text)
        hits = retrieve_step(batch, self.retriever, items, search, k)
        answers = generate_step(batch, self.generator, items, [hits[i] for i in items])
        for i in items:
            batch.hits[i], batch.answers[i] = hits[i], answers[i]
        return batch.results()

    def __repr__(self) -> str:
        return f"Rewrite(retriever={self.retriever!r}, generator={self.generator!r})"
