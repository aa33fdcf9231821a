"""Context refining: compress the retrieved passages before the generator reads them.

``mode="extractive"`` (RECOMP-extractive style, without a trained encoder): the passages are split
into sentences, each is embedded with the run's embedder, and the sentences most similar to the
question's embedding are kept (best first) while they fit ``max_chars``. ``mode="summary"``
(RECOMP-abstractive style): the LLM summarises the passages for the question. Either way the
generator sees one source, the refined text, and ``method.compression_ratio`` is its length in
characters over that of the retrieved passages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ragbench._text import split_sentences
from ragbench.errors import ConfigError
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
from ragbench.methods.steps import StepPrompt, step_prompt
from ragbench.protocols import ChatLLM, Embedder, Generator, Retriever
from ragbench.types import Hit, Query

MODES = ("extractive", "summary")
SUMMARY_PROMPT = StepPrompt(
    system="Summarise the passages in two or three sentences, keeping only the facts that help answer the question. "
    "Write in the language of the question.",
    user="Passages:\n{sources}\n\nQuestion: {question}\nSummary:",
)


def select_sentences(
    question_vec: np.ndarray, sentences: Sequence[str], vectors: np.ndarray, *, max_sentences: int, max_chars: int
) -> list[tuple[int, float]]:
    """Indices and cosine scores of the sentences kept: best first, while they fit ``max_chars`` (ties: earlier first).

    Example:
        >>> q = np.array([1.0, 0.0]); v = np.array([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]])
        >>> select_sentences(q, ["a", "b", "c"], v, max_sentences=2, max_chars=100)
        [(1, 1.0), (2, 0.6)]
    """
    scores = vectors @ question_vec if len(sentences) else np.zeros(0)
    kept, used = [], 0
    for j in sorted(range(len(sentences)), key=lambda j: (-float(scores[j]), j)):
        size = len(sentences[j]) + (1 if kept else 0)
        if len(kept) >= max_sentences or used + size > max_chars:
            continue
        kept.append((j, round(float(scores[j]), 6)))
        used += size
    return kept


class Refine:
    """Retrieve ``k`` passages, compress them (extractive sentence selection or an LLM summary), then answer.

    Args:
        retriever, generator: The run's parts (injected by ``build``).
        embedder: Embeds the question and the sentences (``mode=extractive``; injected by ``build``).
        mode: ``extractive`` or ``summary``.
        max_sentences: Most sentences kept (extractive).
        max_chars: Most characters of refined text (extractive; keep it within the prompt's
            ``max_source_chars`` so that the generator sees every kept sentence).
        llm: The LLM that summarises (summary; default: the generator's own engine).
        prompt: The summary prompt (``{sources}``, ``{question}``).
        max_tokens: Most tokens of a summary.
        max_source_chars: Each passage is cut to this many characters in the summary prompt.
    """

    name = "refine"

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator,
        *,
        embedder: Embedder | None = None,
        mode: str = "extractive",
        max_sentences: int = 5,
        max_chars: int = 600,
        llm: ChatLLM | None = None,
        prompt: StepPrompt | Mapping[str, Any] | None = None,
        max_tokens: int = 96,
        max_source_chars: int = 400,
    ) -> None:
        if mode not in MODES:
            raise ConfigError(f"method=refine: unknown mode {mode!r}. Valid: {', '.join(MODES)}.")
        check_positive(
            self.name,
            max_sentences=max_sentences,
            max_chars=max_chars,
            max_tokens=max_tokens,
            max_source_chars=max_source_chars,
        )
        if mode == "extractive" and embedder is None:
            raise ConfigError(
                "method=refine mode=extractive selects sentences by embedding, but the run has no embedder. "
                "Set embedder=minilm (or another embedder config), or use method.mode=summary."
            )
        self.retriever, self.generator, self.embedder, self.mode = retriever, generator, embedder, mode
        self.llm = resolve_llm(llm, generator, self.name) if mode == "summary" else None
        self.prompt = step_prompt(prompt, SUMMARY_PROMPT, setting="method.prompt", fields=("sources", "question"))
        self.max_sentences, self.max_chars, self.max_tokens = max_sentences, max_chars, max_tokens
        self.max_source_chars = max_source_chars

    def run(self, queries: Sequence[Query], k: int) -> list[MethodResult]:
        batch = Batch(self.name, list(queries))
        items = batch.active()
        hits = retrieve_step(batch, self.retriever, items, [batch.queries[i].text for i in items], k)
        refined = (
            self._extract(batch, items, hits) if self.mode == "extractive" else self._summarise(batch, items, hits)
        )
        items = batch.active()
        for i in items:
            original = sum(len(h.text) for h in hits[i])
            batch.traces[i].values["compression_ratio"] = round(len(refined[i]) / original, 6) if original else 0.0
        contexts = [
            [note(batch.queries[i].tenant, 0, "Selected from the retrieved passages", refined[i])] if refined[i] else []
            for i in items
        ]
        answers = generate_step(batch, self.generator, items, contexts)
        for i in items:
            batch.hits[i], batch.answers[i] = hits[i], answers[i]
        return batch.results()

    def _extract(self, batch: Batch, items: list[int], hits: dict[int, list[Hit]]) -> dict[int, str]:
        """Each question's kept sentences (best first), recorded in its trace as ``kept`` steps."""
        out = {}
        with batch.stage("refine_ms", items):
            for i in items:
                language = batch.queries[i].language  # Croatian rules keep "dr. sc." and "npr." inside a sentence
                sentences = [(h, s) for h in hits[i] for s in split_sentences(h.text, language)]
                texts = [s for _, s in sentences]
                vectors = self.embedder.embed_documents(texts) if texts else np.zeros((0, 1))
                question = self.embedder.embed_queries([batch.queries[i].text])[0]
                kept = select_sentences(
                    question, texts, vectors, max_sentences=self.max_sentences, max_chars=self.max_chars
                )
                for j, score in kept:
                    batch.traces[i].steps.append(
                        {"step": "kept", "text": texts[j], "doc_id": sentences[j][0].doc_id, "score": f"{score:.4f}"}
                    )
                batch.traces[i].values["kept_sentences"] = float(len(kept))
                batch.traces[i].values["candidate_sentences"] = float(len(texts))
                out[i] = " ".join(texts[j] for j, _ in kept)
        return out

    def _summarise(self, batch: Batch, items: list[int], hits: dict[int, list[Hit]]) -> dict[int, str]:
        sources = {
            i: "\n".join(f"[{n}] {h.text[: self.max_source_chars]}" for n, h in enumerate(hits[i], 1)) for i in items
        }
        prompts = [self.prompt.messages(sources=sources[i] or "(none)", question=batch.queries[i].text) for i in items]
        texts = llm_step(batch, self.llm, "summary", items, prompts, max_tokens=self.max_tokens)
        return {i: " ".join(t.split()) for i, t in texts.items()}

    def __repr__(self) -> str:
        return f"Refine(mode={self.mode!r}, retriever={self.retriever!r}, generator={self.generator!r})"
