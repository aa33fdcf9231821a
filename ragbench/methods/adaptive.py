"""Adaptive retrieval: retrieve only when the model is unsure of its closed-book draft.

Every question first gets a closed-book draft answer. Its confidence (the geometric mean of the
generated tokens' probabilities, :func:`ragbench.generators._base.confidence_from_logprobs`) decides:
at or above ``threshold`` the draft is the answer (one LLM call, no retrieval); below it the
question is answered by standard RAG. ``method.retrieved`` (0/1 per question; its mean is the
retrieval rate) and ``method.draft_confidence`` are recorded. Like FLARE's and SKR's triggers, the
rule needs no training; unlike Adaptive-RAG it uses no trained query classifier.
"""

from __future__ import annotations

from collections.abc import Sequence

from ragbench.errors import ConfigError
from ragbench.generators.prompts import PromptTemplate
from ragbench.methods.base import Batch, MethodResult, check_prompt_support, generate_step, is_llm
from ragbench.methods.standard import answer_from_retrieval
from ragbench.protocols import Generator, Retriever
from ragbench.types import Query


class Adaptive:
    """Closed-book draft first; retrieve and answer again only when its confidence is below ``threshold``.

    Args:
        retriever, generator: The run's parts (injected by ``build``).
        threshold: Confidence in [0, 1] at or above which the draft is kept (0: never retrieve;
            above 1: always retrieve).
        draft_prompt: The closed-book template of the draft (``configs/prompt/closed_book.yaml`` in
            ``method=adaptive``; ``None``: the generator's own, shown no sources).

    Raises:
        ConfigError: A threshold outside [0, 1.01], or (on run) a generator that reports no confidence.
    """

    name = "adaptive"

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        *,
        threshold: float = 0.5,
        draft_prompt: PromptTemplate | None = None,
    ) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.01:
            raise ConfigError(
                f"method=adaptive: threshold={threshold!r} must be a number in [0, 1] (a draft confidence at or above "
                "it is kept without retrieval; 0 never retrieves, 1.01 always does)."
            )
        if draft_prompt is not None:
            check_prompt_support(generator, self.name)
        self.retriever, self.generator = retriever, generator
        self.threshold, self.draft_prompt = float(threshold), draft_prompt

    def run(self, queries: Sequence[Query], k: int) -> list[MethodResult]:
        if not is_llm(self.generator):
            raise ConfigError(
                f"method=adaptive decides from the draft answer's confidence, but {self.generator!r} is not an LLM: "
                "without sources it writes no draft, so every question would retrieve. Use an LLM generator "
                "(generator=vllm, transformers or openai), or method=standard."
            )
        batch = Batch(self.name, list(queries))
        items = batch.active()
        drafts = generate_step(
            batch, self.generator, items, [[] for _ in items], prompt=self.draft_prompt, stage="draft_ms"
        )
        unsure = []
        for i in items:
            draft, trace = drafts[i], batch.traces[i]
            if not draft.ok:
                batch.fail(i, "draft", draft.error or "unknown error")
                continue
            if draft.confidence is None:
                raise ConfigError(
                    f"method=adaptive decides from the draft answer's confidence, but {self.generator!r} gave none. Use "
                    "an LLM generator that returns log-probabilities (vllm, transformers, openai)."
                )
            trace.values["draft_confidence"] = float(draft.confidence)
            trace.steps.append({"step": "draft", "text": draft.text})
            retrieve = draft.confidence < self.threshold
            trace.values["retrieved"] = float(retrieve)
            if retrieve:
                unsure.append(i)
            else:
                batch.answers[i] = draft
        answer_from_retrieval(batch, self.retriever, self.generator, unsure, k)
        return batch.results()

    def __repr__(self) -> str:
        return f"Adaptive(threshold={self.threshold}, retriever={self.retriever!r}, generator={self.generator!r})"
