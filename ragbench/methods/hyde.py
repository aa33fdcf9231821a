"""HyDE (Gao et al., 2022): retrieve with a hypothetical answer passage the LLM writes first.

The hypothetical passage is embedded like a document, so a dense retriever matches it against
passages that look like answers rather than questions (a hybrid retriever also searches its words).
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
from ragbench.methods.steps import StepPrompt, step_prompt
from ragbench.protocols import ChatLLM, Generator, Retriever
from ragbench.types import Query

HYDE_PROMPT = StepPrompt(
    system="Write a short passage, like one from an encyclopedia or a handbook, that answers the question. "
    "Write it in the language of the question.",
    user="Question: {question}\nPassage:",
)


class HyDE:
    """Hypothetical document embeddings: the LLM writes a passage answering the question; retrieval searches with it.

    An empty passage falls back to the question (``method.fallback`` = 1).

    Args:
        retriever, generator: The run's parts (injected by ``build``).
        llm: The LLM that writes the passage (default: the generator's own engine).
        prompt: The passage step's prompt (``{question}``).
        max_tokens: Most tokens of the passage.
        include_question: Search with the question followed by the passage (the HyDE paper averages the
            question's embedding with the passages'); ``False`` searches with the passage alone.
    """

    name = "hyde"

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        *,
        llm: ChatLLM | None = None,
        prompt: StepPrompt | Mapping[str, Any] | None = None,
        max_tokens: int = 96,
        include_question: bool = True,
    ) -> None:
        check_positive(self.name, max_tokens=max_tokens)
        self.retriever, self.generator = retriever, generator
        self.llm = resolve_llm(llm, generator, self.name)
        self.prompt = step_prompt(prompt, HYDE_PROMPT, setting="method.prompt", fields=("question",))
        self.max_tokens, self.include_question = max_tokens, bool(include_question)

    def run(self, queries: Sequence[Query], k: int) -> list[MethodResult]:
        batch = Batch(self.name, list(queries))
        items = batch.active()
        texts = llm_step(
            batch,
            self.llm,
            "hyde",
            items,
            [self.prompt.messages(question=batch.queries[i].text) for i in items],
            max_tokens=self.max_tokens,
        )
        items = batch.active()
        search = []
        for i in items:
            passage = " ".join(texts[i].split())
            batch.traces[i].values["fallback"] = float(not passage)
            question = batch.queries[i].text
            search.append(f"{question} {passage}" if passage and self.include_question else passage or question)
        hits = retrieve_step(batch, self.retriever, items, search, k)
        answers = generate_step(batch, self.generator, items, [hits[i] for i in items])
        for i in items:
            batch.hits[i], batch.answers[i] = hits[i], answers[i]
        return batch.results()

    def __repr__(self) -> str:
        return f"HyDE(retriever={self.retriever!r}, generator={self.generator!r})"
