"""Shared pieces of the LLM generators' ``complete()`` (a RAG method's intermediate steps).

A step's prompt is plain chat messages (no sources, no fitting rule): it must fit the model's
context with its output, else that item fails alone with the reason. Steps use the generator's
sampling settings (greedy by default) with their own ``max_tokens`` and ``stop``, and its
generation cache: an identical step costs one call across runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ragbench.generators._base import Sampling
from ragbench.types import Answer, Completion


def check_prompts(
    prompts: Sequence[Sequence[Mapping[str, str]]], tenants: Sequence[str]
) -> tuple[list[list[dict[str, str]]], list[str]]:
    """The prompts as lists of ``{"role", "content"}`` dicts, one tenant each; a malformed call raises ValueError."""
    prompts, tenants = [list(p) for p in prompts], [str(t) for t in tenants]
    if len(prompts) != len(tenants):
        raise ValueError(f"{len(prompts)} prompts but {len(tenants)} tenants: pass one tenant per prompt.")
    for prompt in prompts:
        if not prompt or any(
            not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str) for m in prompt
        ):
            raise ValueError(
                f"A prompt must be a non-empty list of {{'role': str, 'content': str}} messages; got {prompt!r:.200}."
            )
    return [[dict(m) for m in p] for p in prompts], tenants


def step_sampling(sampling: Sampling, max_tokens: int | None, stop: Sequence[str]) -> Sampling:
    """The generator's sampling with a step's own output limit and stop strings."""
    return replace(sampling, max_tokens=int(max_tokens or sampling.max_tokens), stop=tuple(stop))


def cache_settings(sampling: Sampling) -> dict:
    """Generation-cache settings of a step (marked as a completion, so they never match an answer's)."""
    return {**sampling.to_dict(), "kind": "complete"}


def too_long(prompt_tokens: int, sampling: Sampling, max_model_len: int) -> Completion | None:
    """A failed completion when the prompt plus the step's output does not fit the model's context."""
    if prompt_tokens + sampling.max_tokens <= max_model_len:
        return None
    return Completion(
        text="",
        prompt_tokens=prompt_tokens,
        error=(
            f"prompt too long: {prompt_tokens} prompt tokens + {sampling.max_tokens} output tokens exceed the "
            f"model context of {max_model_len}. Give the step shorter inputs (fewer or shorter sources) or use "
            "a model with a longer context (max_model_len)."
        ),
    )


def from_record(record: Mapping) -> Completion:
    """A completion read from the generation cache."""
    return Completion(
        text=record["text"],
        prompt_tokens=int(record.get("prompt_tokens", 0)),
        completion_tokens=int(record.get("completion_tokens", 0)),
        confidence=record.get("confidence"),
        ms=float((record.get("timings") or {}).get("total_ms", 0.0)),
        cached=True,
    )


def store(cache, key: str, completion: Completion, *, model: str) -> None:
    """Put a successful completion in the generation cache (its raw text)."""
    if cache is None or key is None or not completion.ok:
        return
    as_answer = Answer(
        text=completion.text,
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        confidence=completion.confidence,
        timings={"total_ms": completion.ms},
    )
    cache.put(key, as_answer, completion.text, model=model)
