"""Multi-query retrieval (RAG-Fusion): n LLM paraphrases of the question, each retrieved, fused with RRF."""

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
)
from ragbench.methods.steps import StepPrompt, lines, step_prompt
from ragbench.protocols import ChatLLM, Generator, Retriever
from ragbench.retrievers.fusion import rrf_fuse
from ragbench.types import Query

MULTI_QUERY_PROMPT = StepPrompt(
    system="Write {n} different search queries for the question, each worded differently, one per line, in the "
    "language of the question. Output only the queries.",
    user="Question: {question}\nSearch queries:",
)


class MultiQuery:
    """One LLM call writes ``n_queries`` paraphrases; each (and the question) is retrieved; rankings fuse with RRF.

    The model may write fewer distinct lines than asked: ``method.paraphrases`` counts those used.

    Args:
        retriever, generator: The run's parts (injected by ``build``).
        llm: The LLM of the paraphrase step (default: the generator's own engine).
        n_queries: Paraphrases asked for.
        include_question: Retrieve with the question too.
        prompt: The step's prompt (``{question}``, ``{n}``; ``{n}`` may also appear in ``system``).
        max_tokens: Most tokens of the step's output.
        candidates: Hits taken from each ranking before fusing (at least ``k``).
        rrf_k: The RRF constant.
    """

    name = "multi_query"

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        *,
        llm: ChatLLM | None = None,
        n_queries: int = 3,
        include_question: bool = True,
        prompt: StepPrompt | Mapping[str, Any] | None = None,
        max_tokens: int = 96,
        candidates: int = 20,
        rrf_k: int = 60,
    ) -> None:
        check_positive(self.name, n_queries=n_queries, max_tokens=max_tokens, candidates=candidates, rrf_k=rrf_k)
        self.retriever, self.generator = retriever, generator
        self.llm = resolve_llm(llm, generator, self.name)
        self.prompt = step_prompt(prompt, MULTI_QUERY_PROMPT, setting="method.prompt", fields=("question", "n"))
        self.n_queries, self.include_question = n_queries, bool(include_question)
        self.max_tokens, self.candidates, self.rrf_k = max_tokens, candidates, rrf_k

    def _messages(self, question: str) -> list[dict]:
        msgs = self.prompt.messages(question=question, n=str(self.n_queries))
        return [{**m, "content": m["content"].replace("{n}", str(self.n_queries))} for m in msgs]

    def run(self, queries: Sequence[Query], k: int) -> list[MethodResult]:
        batch = Batch(self.name, list(queries))
        items = batch.active()
        texts = llm_step(
            batch,
            self.llm,
            "paraphrase",
            items,
            [self._messages(batch.queries[i].text) for i in items],
            max_tokens=self.max_tokens,
        )
        items = batch.active()
        owners, search = [], []
        for i in items:
            question = batch.queries[i].text
            paraphrases = lines(texts[i], self.n_queries, exclude=[question])
            batch.traces[i].values["paraphrases"] = float(len(paraphrases))
            for text in ([question] if self.include_question or not paraphrases else []) + paraphrases:
                owners.append(i)
                search.append(text)
        rankings = self._retrieve(batch, owners, search, max(k, self.candidates))
        fused = {i: rrf_fuse(rankings[i], k, rrf_k=self.rrf_k) for i in items}
        answers = generate_step(batch, self.generator, items, [fused[i] for i in items])
        for i in items:
            batch.hits[i], batch.answers[i] = fused[i], answers[i]
        return batch.results()

    def _retrieve(self, batch: Batch, owners: list[int], search: list[str], depth: int) -> dict[int, list]:
        """One retriever call for every (question, search text) pair; each question's rankings in order."""
        from dataclasses import replace

        out: dict[int, list] = {i: [] for i in dict.fromkeys(owners)}
        if not owners:
            return out
        with batch.stage("retrieve_ms", list(out)):
            lists = self.retriever.retrieve([replace(batch.queries[i], text=t) for i, t in zip(owners, search)], depth)
        for i, text, ranking in zip(owners, search, lists, strict=True):
            batch.traces[i].retrieval_rounds += 1
            batch.traces[i].queries.append(text)
            out[i].append(ranking)
        return out

    def __repr__(self) -> str:
        return f"MultiQuery(n_queries={self.n_queries}, retriever={self.retriever!r}, generator={self.generator!r})"
