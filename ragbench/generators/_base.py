"""Pieces shared by the LLM generators: sampling settings, confidence, and building answers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from ragbench.errors import ConfigError
from ragbench.generators._citations import parse_citations, strip_citations
from ragbench.tenancy import validate_tenant_id
from ragbench.types import Answer, Hit


@dataclass(frozen=True)
class Sampling:
    """Sampling settings shared by every LLM generator (greedy by default, for reproducible runs)."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 64
    seed: int | None = 0
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.temperature < 0 or not 0 < self.top_p <= 1 or self.max_tokens < 1:
            raise ConfigError(
                f"Sampling(temperature={self.temperature}, top_p={self.top_p}, max_tokens={self.max_tokens}): "
                "temperature must be >= 0, top_p in (0, 1] and max_tokens >= 1."
            )

    def to_dict(self) -> dict:
        out = asdict(self)
        out["stop"] = list(self.stop) or None
        return out


def confidence_from_logprobs(logprobs: Sequence[float]) -> float | None:
    """The geometric mean of the generated tokens' probabilities, ``exp(mean(logprob))``, in [0, 1].

    It is the model's average per-token certainty about what it wrote (a perplexity
    inverse): 1 when every token was certain, near 0 when the text was a guess.

    Example:
        >>> round(confidence_from_logprobs([math.log(0.5), math.log(0.5)]), 3)
        0.5
    """
    values = [lp for lp in logprobs if lp is not None and math.isfinite(lp)]
    if not values:
        return None
    return round(math.exp(sum(values) / len(values)), 6)


def cache_salt(tenant: str, secret: str = "") -> str:
    """The per-tenant prefix-cache salt sent with every request (one tenant cannot probe another's cache).

    Example:
        >>> cache_salt("acme") != cache_salt("globex")
        True
    """
    from ragbench.types import content_hash

    return "t-" + content_hash(secret, validate_tenant_id(tenant), length=24)


def warn_if_random(model_dir: str) -> bool:
    """True (and a warning on stderr) when ``model_dir`` is a random-weight test model: its answers are noise.

    Random-weight models are only ever used when a config names one (``llm=tiny_random``); runs that
    use one are tagged ``llm.random_weights=true`` so no quality figure of theirs is mistaken for real.
    """
    from pathlib import Path

    from ragbench.models import model_info
    from ragbench.testing.tiny_qwen2 import STAMP

    random = bool(model_info(model_dir).get("random_weights")) or (Path(model_dir) / STAMP).is_file()
    if random:
        import warnings

        warnings.warn(
            f"{model_dir} has RANDOM weights (a test model): its answers are noise and say nothing about quality. "
            "Use llm=smollm2_135m (or any real model folder) for answer-quality figures.",
            RandomWeightsWarning,
            stacklevel=3,
        )
    return random


class RandomWeightsWarning(UserWarning):
    """A generator or judge runs on a random-weight test model."""


def prompt_token_ids(tokenizer, messages: list[dict]) -> list[int]:
    """The token ids a model sees for chat ``messages``.

    Instruct models get their chat template (with the assistant turn opened). Base models without
    a chat template (e.g. Gemma 3 270M) are prompted completion-style: the turns as plain text,
    ending in a new line, after the tokenizer's BOS token.
    """
    if getattr(tokenizer, "chat_template", None):
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        return list(ids["input_ids"] if isinstance(ids, Mapping) else ids)
    text = "\n\n".join(m["content"] for m in messages if m.get("content")) + "\n"
    return list(tokenizer(text)["input_ids"])


def load_tokenizer(model_dir: str):
    """The model folder's tokenizer (transformers; no engine needed)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir)


def failed(reason: str, **timings: float) -> Answer:
    """An answer recorded as failed (never scored)."""
    return Answer(text="", error=reason, timings=dict(timings))


def build_answer(
    text: str,
    sources: Sequence[Hit],
    *,
    prompt_tokens: int,
    completion_tokens: int,
    logprobs: Sequence[float] = (),
    ttft_ms: float | None = None,
    total_ms: float,
    queue_ms: float | None = None,
) -> Answer:
    """An answer with citations parsed from ``[n]`` markers (removed from the text, so answer
    metrics score the words only) and a log-probability confidence."""
    citations, _invalid = parse_citations(text, sources)
    timings = {"total_ms": total_ms}
    if ttft_ms is not None:
        timings["ttft_ms"] = ttft_ms
    if queue_ms is not None:  # waiting for a concurrency slot, not part of total_ms
        timings["queue_ms"] = queue_ms
    return Answer(
        text=strip_citations(text),
        citations=citations,
        confidence=confidence_from_logprobs(logprobs),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        timings=timings,
    )
