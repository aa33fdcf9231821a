"""Pipelines: answering queries. :class:`RAGPipeline` retrieves, then generates, timing each stage."""

from ragbench.pipelines.rag import RAGPipeline

__all__ = ["RAGPipeline"]
