"""Embedders: turn texts into vectors (see :class:`ragbench.protocols.Embedder`)."""

from ragbench.embedders.sentence_transformers import SentenceTransformerEmbedder, default_model_path

__all__ = ["SentenceTransformerEmbedder", "default_model_path"]
