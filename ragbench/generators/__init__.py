"""Generators: ``generate(queries, contexts) -> list[Answer]`` (see :class:`ragbench.protocols.Generator`)."""

from ragbench.generators.extractive import ExtractiveGenerator

__all__ = ["ExtractiveGenerator"]
