"""LLM-judge metrics: a cached, JSON-constrained :class:`Judge` and ragas metrics on it."""

from ragbench.judge.cache import JudgeCache, cache_key
from ragbench.judge.client import Judge, JudgeError

__all__ = ["Judge", "JudgeCache", "JudgeError", "cache_key"]
