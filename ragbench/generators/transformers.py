"""Local Hugging Face ``transformers`` generation for small models (no server, no vLLM)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path

from ragbench.errors import ConfigError
from ragbench.generators import _complete
from ragbench.generators._base import (
    Sampling,
    build_answer,
    confidence_from_logprobs,
    failed,
    load_tokenizer,
    prompt_token_ids,
    warn_if_random,
)
from ragbench.generators.cache import answer_from_record, model_revision, open_cache
from ragbench.generators.prompts import PromptTemplate, PromptTooLongError
from ragbench.models import ensure_model
from ragbench.types import Answer, Completion, Hit, Query


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
        cache_dir: Folder of the generation cache (``None``: no cache).

    Example:
        >>> gen = TransformersGenerator("/models/tiny-qwen2", max_tokens=16)  # doctest: +SKIP
        >>> gen.generate([Query("Where?", "acme")], [[hit]])[0].completion_tokens  # doctest: +SKIP
        16
    """

    name = "transformers"

    def __init__(
        self,
        model: str,
        *,
        prompt: PromptTemplate | None = None,
        max_model_len: int | None = None,
        batch_size: int = 8,
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_tokens: int = 64,
        seed: int | None = 0,
        stop: Sequence[str] = (),
        device: str = "cpu",
        cache_dir: str | None = None,
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
        self.cache = open_cache(cache_dir)

    @cached_property
    def model_id(self) -> str:
        """The model's folder name and weights revision (generation-cache keys)."""
        return f"{Path(self.model_path).name}@{model_revision(self.model_path)}"

    @cached_property
    def tokenizer(self):
        tok = load_tokenizer(self.model_path)
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
        return prompt_token_ids(self.tokenizer, messages)

    def warmup(self) -> None:
        """Load the tokenizer, and the model unless a generation cache may make it unneeded (then the
        model loads on the first cache miss, reported as the answer's ``load_ms``)."""
        self._ids([{"role": "user", "content": "hi"}])
        if self.cache is None:
            self._load_model()

    def _load_model(self) -> float:
        """Load the model (one short generation) if needed; the milliseconds it took (0 when loaded)."""
        if "model" in self.__dict__:
            return 0.0
        start = time.perf_counter()
        self._generate_batch([self._ids([{"role": "user", "content": "hi"}])])
        return (time.perf_counter() - start) * 1000

    def generate(
        self, queries: Sequence[Query], contexts: Sequence[Sequence[Hit]], *, prompt: PromptTemplate | None = None
    ) -> list[Answer]:
        """Answer in batches of ``batch_size``; a failed item gets ``Answer.error``.

        ``prompt`` answers with another template than the configured one (e.g. a closed-book draft)."""
        queries, contexts = list(queries), list(contexts)
        if len(queries) != len(contexts):
            raise ValueError(f"{len(queries)} queries but {len(contexts)} contexts: pass one context list per query.")
        answers: list[Answer | None] = [None] * len(queries)
        ready = []
        budget = self.max_model_len - self.sampling.max_tokens
        for i, (query, hits) in enumerate(zip(queries, contexts)):
            try:
                msgs, kept = (prompt or self.prompt).fit(
                    query, hits, count_tokens=lambda m: len(self._ids(m)), budget=budget
                )
            except PromptTooLongError as exc:
                answers[i] = failed(f"prompt too long: {exc}")
                continue
            ids = self._ids(msgs)
            key = self.cache.key(self.model_id, ids, self.sampling.to_dict()) if self.cache is not None else None
            if key is not None and (record := self.cache.get(key)) is not None:
                answers[i] = answer_from_record(record, kept)
                continue
            ready.append((i, ids, kept, key))
        load_ms = self._load_model() if ready else 0.0
        for b in range(0, len(ready), self.batch_size):
            batch = ready[b : b + self.batch_size]
            try:
                outs = self._generate_batch([ids for _, ids, _, _ in batch])
            except Exception as exc:
                outs = [failed(f"transformers generation error: {type(exc).__name__}: {exc}")] * len(batch)
            for (i, ids, kept, key), out in zip(batch, outs):
                if isinstance(out, Answer):
                    answers[i] = out
                    continue
                text = out.pop("text")
                answers[i] = build_answer(text, kept, prompt_tokens=len(ids), **out)
                if key is not None:
                    self.cache.put(key, answers[i], text, model=self.model_id)
        if load_ms:  # the one-time model load: its own stage, not a question's latency
            for i, *_ in ready:
                answers[i].timings["load_ms"] = load_ms
        return answers  # type: ignore[return-value]

    def complete(
        self,
        prompts: Sequence[Sequence[Mapping[str, str]]],
        *,
        tenants: Sequence[str],
        max_tokens: int | None = None,
        stop: Sequence[str] = (),
    ) -> list[Completion]:
        """Complete chat prompts with this generator's model (a RAG method's steps), ``batch_size`` at a time.

        Steps share the model, the sampling settings (with their own ``max_tokens`` and ``stop``) and
        the generation cache. ``tenants`` are accepted for the protocol (no prefix cache to isolate here).
        """
        prompts, tenants = _complete.check_prompts(prompts, tenants)
        sampling = _complete.step_sampling(self.sampling, max_tokens, stop)
        settings = _complete.cache_settings(sampling)
        out: list[Completion | None] = [None] * len(prompts)
        todo: list[tuple[int, list[int], str | None]] = []
        for i, messages in enumerate(prompts):
            ids = self._ids(messages)
            key = self.cache.key(self.model_id, ids, settings) if self.cache is not None else None
            if key is not None and (record := self.cache.get(key)) is not None:
                out[i] = _complete.from_record(record)
            else:
                todo.append((i, ids, key))
        load_ms = self._load_model() if todo else 0.0
        fits = []
        for i, ids, key in todo:
            if (refused := _complete.too_long(len(ids), sampling, self.max_model_len)) is not None:
                out[i] = refused
            else:
                fits.append((i, ids, key))
        for b in range(0, len(fits), self.batch_size):
            batch = fits[b : b + self.batch_size]
            try:
                results = self._generate_batch([ids for _, ids, _ in batch], sampling)
            except Exception as exc:
                results = [{"error": f"transformers generation error: {type(exc).__name__}: {exc}"}] * len(batch)
            for (i, ids, key), res in zip(batch, results):
                if "error" in res:
                    out[i] = Completion(text="", error=res["error"], load_ms=load_ms)
                    continue
                out[i] = Completion(
                    text=res["text"],
                    prompt_tokens=len(ids),
                    completion_tokens=res["completion_tokens"],
                    confidence=confidence_from_logprobs(res["logprobs"]),
                    ms=res["total_ms"],
                    load_ms=load_ms,
                )
                _complete.store(self.cache, key, out[i], model=self.model_id)
        return out  # type: ignore[return-value]

    def _generate_batch(self, prompts: list[list[int]], sampling: Sampling | None = None) -> list[dict]:
        import torch
        from transformers import LogitsProcessor, LogitsProcessorList

        first: list[float] = []

        class _FirstToken(LogitsProcessor):
            def __call__(self, input_ids, scores):
                if not first:
                    first.append(time.perf_counter())
                return scores

        s = sampling or self.sampling
        enc = self.tokenizer.pad({"input_ids": prompts}, return_tensors="pt").to(self.device)
        if s.seed is not None:
            torch.manual_seed(s.seed)
        start = time.perf_counter()
        with torch.no_grad():
            out = self.model.generate(
                **enc,
                max_new_tokens=s.max_tokens,
                do_sample=s.temperature > 0,
                temperature=s.temperature or None,
                top_p=s.top_p if s.temperature > 0 else None,
                output_scores=True,
                return_dict_in_generate=True,
                pad_token_id=self.tokenizer.pad_token_id,
                logits_processor=LogitsProcessorList([_FirstToken()]),
            )
        total_ms = (time.perf_counter() - start) * 1000
        ttft_ms = (first[0] - start) * 1000 if first else None
        new = out.sequences[:, enc["input_ids"].shape[1] :]
        scores = self.model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
        results = []
        eos = self.tokenizer.eos_token_id
        for row, lp in zip(new.tolist(), scores.tolist()):
            n = next((j + 1 for j, t in enumerate(row) if t == eos), len(row))
            text = self.tokenizer.decode(row[:n], skip_special_tokens=True)
            for stop in s.stop:
                text = text.split(stop)[0]
            results.append(
                {"text": text, "completion_tokens": n, "logprobs": lp[:n], "ttft_ms": ttft_ms, "total_ms": total_ms}
            )
        return results

    def __repr__(self) -> str:
        return f"TransformersGenerator(model={self.model_path!r}, max_tokens={self.sampling.max_tokens})"
