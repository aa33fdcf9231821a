"""The judge's persistent call cache: :class:`ragbench.cache.CallCache` in ``judge_cache.sqlite``."""

from __future__ import annotations

from pathlib import Path

from ragbench.cache import CallCache, cache_key

__all__ = ["JudgeCache", "cache_key"]


class JudgeCache(CallCache):
    """Judge answers keyed on (judge model, prompt, settings), in ``<folder>/judge_cache.sqlite``.

    Example:
        >>> cache = JudgeCache("/tmp/rb-judge")  # doctest: +SKIP
        >>> cache.put("k", "{}"); cache.get("k")  # doctest: +SKIP
        '{}'
    """

    def __init__(self, folder: str | Path) -> None:
        super().__init__(folder, "judge_cache.sqlite")
