"""Cross-encoder reranking through ``FlagEmbedding.FlagReranker`` (e.g. bge-reranker-v2-m3)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from ragbench.embedders.bge_m3 import BGE_M3_HINT
from ragbench.errors import ConfigError, ModelError, require
from ragbench.models.prepare import check_model_dir
from ragbench.rerankers.base import reorder
from ragbench.types import Hit, Query


class FlagEmbeddingReranker:
    """Score (query, chunk) pairs with a local cross-encoder and reorder by that score.

    Args:
        model: Path to a local reranker folder (e.g. ``bge-reranker-v2-m3``).
        batch_size: Pairs per forward pass.
        max_length: Token limit of a (query, passage) pair.
        device: ``"cpu"``, ``"cuda"`` ...
        use_fp16: Half precision (GPU only).
        normalize: Map scores to (0, 1) with a sigmoid.

    Example:
        >>> rr = FlagEmbeddingReranker("/models/bge-reranker-v2-m3")  # doctest: +SKIP
        >>> rr.rerank([Query("what is rag?", tenant="acme")], [hits], k=5)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 32,
        max_length: int = 512,
        device: str | None = "cpu",
        use_fp16: bool = False,
        normalize: bool = False,
    ) -> None:
        if batch_size < 1 or max_length < 1:
            raise ConfigError(f"batch_size and max_length must be >= 1, got {batch_size}, {max_length}.")
        self.model_path = str(
            check_model_dir(
                model,
                what="Reranker model",
                hint=BGE_M3_HINT.replace("embedder.model=/path/to/bge-m3", "reranker.model=/path/to/bge-reranker"),
            )
        )
        self.batch_size = int(batch_size)
        self.max_length = int(max_length)
        self.device = device or "cpu"
        self.use_fp16 = bool(use_fp16) and not self.device.startswith("cpu")
        self.normalize = bool(normalize)
        self._model = None
        self.pairs_scored = 0

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            fe = require("FlagEmbedding", package="FlagEmbedding")
            try:
                self._model = fe.FlagReranker(
                    self.model_path,
                    use_fp16=self.use_fp16,
                    devices=self.device,
                    batch_size=self.batch_size,
                    max_length=self.max_length,
                )
            except Exception as exc:
                raise ModelError(f"Could not load the reranker from {self.model_path!r}: {exc}") from exc
        return self._model

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Cross-encoder scores of (query, passage) pairs."""
        if not pairs:
            return []
        scores = self.model.compute_score(
            list(pairs), batch_size=self.batch_size, max_length=self.max_length, normalize=self.normalize
        )
        self.pairs_scored += len(pairs)
        return [float(s) for s in (scores if isinstance(scores, list) else [scores])]

    def rerank(self, queries: Sequence[Query], hits: Sequence[Sequence[Hit]], k: int) -> list[list[Hit]]:
        pairs = [(q.text, f"{h.title}\n{h.text}" if h.title else h.text) for q, hs in zip(queries, hits) for h in hs]
        scores = self.score(pairs)
        out, start = [], 0
        for hs in hits:
            out.append(reorder(hs, scores[start : start + len(hs)], k, key="cross_encoder"))
            start += len(hs)
        return out

    def __repr__(self) -> str:
        return f"FlagEmbeddingReranker(model={os.path.basename(self.model_path)!r})"
