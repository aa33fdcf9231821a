"""Pipelines: answering queries (:class:`RAGPipeline`) and evaluating on a dataset."""

from ragbench.pipelines.evaluate import EvaluationReport, aggregate, evaluate
from ragbench.pipelines.rag import RAGPipeline

__all__ = ["EvaluationReport", "RAGPipeline", "aggregate", "evaluate"]
