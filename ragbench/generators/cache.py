"""The LLM generators' persistent cache: an identical question costs one generation, across runs.

A key holds everything that decides an answer: the model id and the revision of its weights,
the exact prompt the model sees (token ids or chat messages), the sampling settings and seed,
and the output constraint (JSON schema). Only successful answers are stored. The raw model text
is kept, so citations are parsed again against the sources of the run that reads the entry.

Answers read from the cache carry ``Answer.cached = True`` and the timings of the run that
generated them; runs count them (``answers.cached``), so latency figures are never mistaken
for fresh ones.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from ragbench.cache import CallCache, cache_key
from ragbench.types import Answer, Hit


@lru_cache(maxsize=64)
def model_revision(model_dir: str) -> str:
    """A fingerprint of a model folder's weights and tokenizer.

    Catalogue models (``ragbench models prepare``) use their manifest's recorded checksums; other
    folders hash ``config.json`` plus the names, sizes and modification times of their files.
    """
    from ragbench.models import model_info

    folder = Path(model_dir)
    files = model_info(folder).get("files")
    if files:
        basis = json.dumps({k: v["sha256"] for k, v in files.items()}, sort_keys=True)
    else:
        entries = []
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if path.is_file():
                stat = path.stat()
                entries.append([path.name, stat.st_size, int(stat.st_mtime)])
        config = folder / "config.json"
        basis = json.dumps([entries, config.read_text(encoding="utf-8") if config.is_file() else ""])
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


class GenerationCache:
    """Generated answers in ``<folder>/generation_cache.sqlite``.

    Example:
        >>> cache = GenerationCache("/tmp/rb-gen")  # doctest: +SKIP
        >>> key = cache.key("smollm2@abc", [1, 2, 3], {"temperature": 0.0, "seed": 0})  # doctest: +SKIP
    """

    def __init__(self, folder: str | Path) -> None:
        self.store = CallCache(folder, "generation_cache.sqlite")

    @staticmethod
    def key(model: str, prompt: Any, settings: Mapping[str, Any]) -> str:
        return cache_key(model, json.dumps(prompt, sort_keys=True, ensure_ascii=False), settings)

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored raw output (``text``, token counts, ``confidence``, ``timings``) or ``None``."""
        hit = self.store.get(key)
        return json.loads(hit) if hit is not None else None

    def put(self, key: str, answer: Answer, raw_text: str, *, model: str) -> None:
        """Store a successful answer's raw text and facts; failed answers are never stored."""
        if not answer.ok:
            return
        record = {
            "text": raw_text,
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "confidence": answer.confidence,
            "timings": dict(answer.timings),
        }
        self.store.put(key, json.dumps(record, ensure_ascii=False), model=model)

    @property
    def hits(self) -> int:
        return self.store.hits

    @property
    def misses(self) -> int:
        return self.store.misses

    def __len__(self) -> int:
        return len(self.store)

    def __repr__(self) -> str:
        return f"GenerationCache({str(self.store.path)!r})"


def answer_from_record(record: Mapping[str, Any], sources: Sequence[Hit]) -> Answer:
    """Rebuild a cached answer against this run's sources (citations parsed again)."""
    from ragbench.generators._citations import parse_citations, strip_citations

    citations, _invalid = parse_citations(record["text"], sources)
    return Answer(
        text=strip_citations(record["text"]),
        citations=citations,
        confidence=record.get("confidence"),
        prompt_tokens=int(record.get("prompt_tokens", 0)),
        completion_tokens=int(record.get("completion_tokens", 0)),
        timings=dict(record.get("timings") or {}),
        cached=True,
    )


def open_cache(cache_dir: str | Path | None) -> GenerationCache | None:
    """A cache in ``cache_dir``, or ``None`` when caching is off (``cache_dir`` null)."""
    return GenerationCache(cache_dir) if cache_dir else None
