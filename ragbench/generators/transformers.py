"""Local Hugging Face ``transformers`` generation for small models (no server, no vLLM)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import cached_property

from ragbench.errors import ConfigError
from ragbench.generators._base import Sampling, build_answer, failed, warn_if_random
from ragbench.generators.prompts import PromptTemplate, PromptTooLongError
from ragbench.models import ensure_model
from ragbench.types import Answer, Hit, Query


class TransformersGenerator:
    """Answer with ``AutoModelForCausalLM.generate`` in batches (left padding, chat template).

    Time to first token is measured per batch: the moment the first decoding step's
    logits exist (after the prompt's prefill). Confidence comes from the generated
    tokens' log-probabilities. Nothing is cached across calls, so there is no prefix
    cache to isolate between tenants.

    Args:
        model: Local model folder (nothing is downloaded).
        prompt: Prompt template.
        max_model_len: Context length (default: the model's ``max_position_embeddings``).
        batch_size: Questions per ``generate`` call.
        temperature, top_p, max_tokens, seed, stop: Sampling settings (``stop`` strings cut the text).
        device: ``cpu`` (default) or a torch device string.

    Example:
        >>> gen = TransformersGenerator("/models/tiny-qwen2", max_tokens=16)  # doctest: +SKIP
        >>> gen.generate([Query("Where?", "acme")], [[hit]])[0].completion_tokens  # doctest: +SKIP
        16
    """

    name = "transformers"

    def __init__(
        self, model: str, *, prompt: PromptTemplate | None = None, max_model_len: int | None = None,
        batch_size: int = 8, temperature: float = 0.0, top_p: float = 1.0, max_tokens: int = 64,
        seed: int | None = 0, stop: Sequence[str] = (), device: str = "cpu",
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}.")
        self.model_path = str(ensure_model(model))
        self.random_weights = warn_if_random(self.model_path)
        self.prompt = prompt or PromptTemplate()
        self._max_model_len = max_model_len
        self.batch_size = batch_size
        self.sampling = Sampling(temperature, top_p, max_tokens, seed, tuple(stop))
        self.device = device

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(self.model_path)
        tok.padding_side = "left"
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        return tok

    @cached_property
    def model(self):
        import torch
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(self.model_path, dtype=torch.float32)
        return model.to(self.device).eval()

    @property
    def max_model_len(self) -> int:
        return int(self._max_model_len or getattr(self.model.config, "max_position_embeddings", 2048))

    def _ids(self, messages: list[dict]) -> list[int]:
        ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return list(ids["input_ids"] if isinstance(ids, Mapping) else ids)

    def warmup(self) -> None:
        """Load the model and tokenizer before anything is timed."""
        self._generate_batch([self._ids([{"role": "user", "content": "hi"}])])

    def generate(self, queries: Sequence[Query], contexts: Sequence[Sequence[Hit]]) -> list[Answer]:
        """Answer in batches of ``batch_size``; a failed item gets ``Answer.error``."""
        queries, contexts = list(queries), list(contexts)
        if len(queries) != len(contexts):
            raise ValueError(f"{len(queries)} queries but {len(contexts)} contexts: pass one context list per query.")
        answers: list[Answer | None] = [None] * len(queries)
        ready = []
        budget = self.max_model_len - self.sampling.max_tokens
        for i, (query, hits) in enumerate(zip(queries, contexts)):
            try:
                msgs, kept = self.prompt.fit(query, hits, count_tokens=lambda m: len(self._ids(m)), budget=budget)
            except PromptTooLongError as exc:
                answers[i] = failed(f"prompt too long: {exc}")
                continue
            ready.append((i, self._ids(msgs), kept))
        for b in range(0, len(ready), self.batch_size):
            batch = ready[b : b + self.batch_size]
            try:
                outs = self._generate_batch([ids for _, ids, _ in batch])
            except Exception as exc:  # noqa: BLE001 - recorded per item; other batches go on
                outs = [failed(f"transformers generation error: {type(exc).__name__}: {exc}")] * len(batch)
            for (i, ids, kept), out in zip(batch, outs):
                answers[i] = out if isinstance(out, Answer) else build_answer(out.pop("text"), kept, prompt_tokens=len(ids), **out)
        return answers  # type: ignore[return-value]

    def _generate_batch(self, prompts: list[list[int]]) -> list[dict]:
        import torch
        from transformers import LogitsProcessor, LogitsProcessorList

        first: list[float] = []

        class _FirstToken(LogitsProcessor):
            def __call__(self, input_ids, scores):
                if not first:
                    first.append(time.perf_counter())
                return scores

        s = self.sampling
        enc = self.tokenizer.pad({"input_ids": prompts}, return_tensors="pt").to(self.device)
        if s.seed is not None:
            torch.manual_seed(s.seed)
        start = time.perf_counter()
        with torch.no_grad():
            out = self.model.generate(
                **enc, max_new_tokens=s.max_tokens, do_sample=s.temperature > 0,
                temperature=s.temperature or None, top_p=s.top_p if s.temperature > 0 else None,
                output_scores=True, return_dict_in_generate=True, pad_token_id=self.tokenizer.pad_token_id,
                logits_processor=LogitsProcessorList([_FirstToken()]),
            )
        total_ms = (time.perf_counter() - start) * 1000
        ttft_ms = (first[0] - start) * 1000 if first else None
        new = out.sequences[:, enc["input_ids"].shape[1]:]
        scores = self.model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
        results = []
        eos = self.tokenizer.eos_token_id
        for row, lp in zip(new.tolist(), scores.tolist()):
            n = next((j + 1 for j, t in enumerate(row) if t == eos), len(row))
            text = self.tokenizer.decode(row[:n], skip_special_tokens=True)
            for stop in s.stop:
                text = text.split(stop)[0]
            results.append({"text": text, "completion_tokens": n, "logprobs": lp[:n],
                            "ttft_ms": ttft_ms, "total_ms": total_ms})
        return results

    def __repr__(self) -> str:
        return f"TransformersGenerator(model={self.model_path!r}, max_tokens={self.sampling.max_tokens})"
