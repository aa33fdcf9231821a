"""Retrievers: ``retrieve(queries, k) -> list[list[Hit]]`` (see :class:`ragbench.protocols.Retriever`)."""

from ragbench.retrievers.bm25 import BM25Retriever
from ragbench.retrievers.dense import DenseRetriever
from ragbench.retrievers.fusion import HybridRetriever, rrf_fuse
from ragbench.retrievers.reference import NoRetriever, OracleRetriever

__all__ = ["BM25Retriever", "DenseRetriever", "HybridRetriever", "NoRetriever", "OracleRetriever", "rrf_fuse"]
