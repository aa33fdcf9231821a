"""Question decomposition (self-ask style): sub-questions answered in turn, then the final answer.

One LLM call splits the question into at most ``max_sub_questions`` simpler ones. They are
answered in order: each is retrieved (its search text carries the earlier sub-answers, so "that
director" can find the director's name) and answered with the earlier question/answer pairs shown
as a note. The final answer sees all sub-answers (a note) and the fused passages of every sub-question.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ragbench.methods.base import (
    Batch,
    MethodResult,
    check_positive,
    generate_step,
    llm_step,
    note,
    resolve_llm,
    retrieve_step,
)
from ragbench.methods.steps import StepPrompt, lines, step_prompt
from ragbench.protocols import ChatLLM, Generator, Retriever
from ragbench.retrievers.fusion import rrf_fuse
from ragbench.types import Query

DECOMPOSE_PROMPT = StepPrompt(
    system="Split the question into at most {n} simpler questions that answer it step by step, one per line, in "
    "the language of the question. Output only the questions.",
    user="Question: {question}\nSimpler questions:",
)


def _facts(questions: Sequence[str], answers: Sequence[str]) -> str:
    return "\n".join(f"{q} {a}" for q, a in zip(questions, answers))


class Decompose:
    """Self-ask style decomposition (plan first, then answer the sub-questions in order).

    Args:
        retriever, generator: The run's parts (injected by ``build``); the generator answers each
            sub-question and the question.
        llm: The LLM of the decomposition step (default: the generator's own engine).
        max_sub_questions: Most sub-questions kept (a model that writes none answers the question itself).
        carry_answers: Add the earlier sub-answers to each sub-question's search text.
        prompt: The decomposition prompt (``{question}``, ``{n}``; ``{n}`` may also appear in ``system``).
        max_tokens: Most tokens of the decomposition.
    """

    name = "decompose"

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        *,
        llm: ChatLLM | None = None,
        max_sub_questions: int = 3,
        carry_answers: bool = True,
        prompt: StepPrompt | Mapping[str, Any] | None = None,
        max_tokens: int = 96,
    ) -> None:
        check_positive(self.name, max_sub_questions=max_sub_questions, max_tokens=max_tokens)
        self.retriever, self.generator = retriever, generator
        self.llm = resolve_llm(llm, generator, self.name)
        self.prompt = step_prompt(prompt, DECOMPOSE_PROMPT, setting="method.prompt", fields=("question", "n"))
        self.max_sub_questions, self.carry_answers, self.max_tokens = max_sub_questions, bool(carry_answers), max_tokens

    def _messages(self, question: str) -> list[dict]:
        n = str(self.max_sub_questions)
        return [{**m, "content": m["content"].replace("{n}", n)} for m in self.prompt.messages(question=question, n=n)]

    def run(self, queries: Sequence[Query], k: int) -> list[MethodResult]:
        batch = Batch(self.name, list(queries))
        items = batch.active()
        texts = llm_step(
            batch,
            self.llm,
            "decompose",
            items,
            [self._messages(batch.queries[i].text) for i in items],
            max_tokens=self.max_tokens,
        )
        rankings: dict[int, list] = {}
        for i in batch.active():
            subs = lines(texts[i], self.max_sub_questions) or [batch.queries[i].text]
            batch.traces[i].sub_questions.extend(subs)
            rankings[i] = []
        for turn in range(self.max_sub_questions):
            self._answer_turn(batch, turn, k, rankings)
        items = batch.active()
        fused = {i: rrf_fuse(rankings[i], k) for i in items}
        contexts = [
            [
                note(
                    batch.queries[i].tenant,
                    0,
                    "Answers to simpler questions",
                    _facts(batch.traces[i].sub_questions, batch.traces[i].sub_answers),
                ),
                *fused[i],
            ]
            for i in items
        ]
        answers = generate_step(batch, self.generator, items, contexts)
        for i in items:
            batch.hits[i], batch.answers[i] = fused[i], answers[i]
        return batch.results()

    def _answer_turn(self, batch: Batch, turn: int, k: int, rankings: dict[int, list]) -> None:
        """Retrieve and answer sub-question ``turn`` of every question that has one (earlier answers as a note)."""
        items = [i for i in batch.active() if turn < len(batch.traces[i].sub_questions)]
        if not items:
            return
        subs = {i: batch.traces[i].sub_questions[turn] for i in items}
        search = [" ".join([subs[i], *batch.traces[i].sub_answers]) if self.carry_answers else subs[i] for i in items]
        hits = retrieve_step(batch, self.retriever, items, search, k, stage="sub_retrieve_ms")
        contexts, asked = [], []
        for i in items:
            trace, query = batch.traces[i], batch.queries[i]
            earlier = _facts(trace.sub_questions[:turn], trace.sub_answers)
            contexts.append(([note(query.tenant, 0, "Earlier answers", earlier)] if earlier else []) + hits[i])
            asked.append(replace(query, text=subs[i]))
            rankings[i].append(hits[i])
        answers = generate_step(batch, self.generator, items, contexts, queries=asked, stage="sub_answer_ms")
        for i in items:
            if not answers[i].ok:
                batch.fail(i, f"sub-question {turn + 1}", answers[i].error or "unknown error")
                continue
            batch.traces[i].sub_answers.append(answers[i].text.strip())

    def __repr__(self) -> str:
        return f"Decompose(max_sub_questions={self.max_sub_questions}, retriever={self.retriever!r})"
