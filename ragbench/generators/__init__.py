"""Generators: ``generate(queries, contexts) -> list[Answer]`` (see :class:`ragbench.protocols.Generator`).

Heavy libraries (vllm, transformers, httpx) load only when a generator first runs.
"""

from ragbench.generators.extractive import ExtractiveGenerator
from ragbench.generators.openai import OpenAIGenerator
from ragbench.generators.prompts import PromptTemplate, PromptTooLongError
from ragbench.generators.transformers import TransformersGenerator
from ragbench.generators.vllm import VLLMGenerator

__all__ = [
    "ExtractiveGenerator",
    "OpenAIGenerator",
    "PromptTemplate",
    "PromptTooLongError",
    "TransformersGenerator",
    "VLLMGenerator",
]
