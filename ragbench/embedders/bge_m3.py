"""BGE-M3 through ``FlagEmbedding.BGEM3FlagModel``: dense, sparse and ColBERT outputs in one pass.

:class:`BGEM3Embedder` implements the :class:`ragbench.protocols.Embedder` protocol
(``model_id``, ``dim``, ``space``, ``embed_documents``, ``embed_queries``) and adds
:meth:`BGEM3Embedder.encode_queries` / :meth:`BGEM3Embedder.encode_documents`, which
return all three outputs of one forward pass as an :class:`M3Output`.

How the sparse and ColBERT outputs reach the store: :meth:`BGEM3Embedder.embed_document_columns`
returns an explicit :class:`ragbench.types.Embeddings` (the dense vectors plus named per-chunk
``sparse_ids``, ``sparse_weights`` and ``colbert`` columns); ingestion passes it to the store,
which writes those columns next to ``vector`` (see :mod:`ragbench.stores.m3`).
``embed_documents`` returns the dense vectors only, as every embedder does.

Models load from local folders only: a path that does not exist raises
:class:`ragbench.errors.ModelError` before FlagEmbedding is called (it would otherwise
try a hub download).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragbench.embedders.m3_output import M3Output
from ragbench.errors import ConfigError, ModelError, require
from ragbench.models.prepare import check_model_dir
from ragbench.types import Embeddings, content_hash

EXTRA_COLUMNS = ("sparse_ids", "sparse_weights", "colbert")


BGE_M3_HINT = (
    "pass e.g. embedder.model=/path/to/bge-m3 (a folder with config.json, the tokenizer, colbert_linear.pt "
    "and sparse_linear.pt); for tests, build a tiny one with ragbench.testing.tiny_bge_m3.build(path)"
)


class BGEM3Embedder:
    """BGE-M3 embedder: dense vectors, sparse lexical weights and ColBERT vectors from one forward pass.

    Args:
        model: Path to a local BGE-M3 folder.
        model_id: Name recorded in runs and caches (default: the folder name).
        revision: Revision recorded with ``model_id`` (part of the store space and cache key).
        query_max_length: Token limit for queries.
        passage_max_length: Token limit for documents.
        batch_size: Texts per forward pass.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:0"`` ...
        use_fp16: Half precision (GPU only; ignored on CPU, where FlagEmbedding runs float32).
        cache_dir: Folder of the on-disk embedding cache (:mod:`ragbench.embedders.cache`);
            ``None`` disables it.
        torch_threads: If set, ``torch.set_num_threads`` when the model loads (process-wide;
            1 is fastest for tiny models on a busy CPU).

    Example:
        >>> emb = BGEM3Embedder("/models/bge-m3", revision="5617a9f")  # doctest: +SKIP
        >>> out = emb.encode_queries(["what is rag?"])  # doctest: +SKIP
        >>> out.dense.shape, len(out.sparse), out.colbert[0].shape  # doctest: +SKIP
        ((1, 1024), 1, (5, 1024))
    """

    def __init__(
        self,
        model: str,
        *,
        model_id: str | None = None,
        revision: str = "local",
        query_max_length: int = 512,
        passage_max_length: int = 512,
        batch_size: int = 32,
        device: str | None = "cpu",
        use_fp16: bool = False,
        cache_dir: str | None = None,
        torch_threads: int | None = None,
    ) -> None:
        for name, value in (
            ("batch_size", batch_size),
            ("query_max_length", query_max_length),
            ("passage_max_length", passage_max_length),
        ):
            if int(value) < 1:
                raise ConfigError(f"{name} must be >= 1, got {value}.")
        self.model_path = str(check_model_dir(model, what="BGE-M3 model", hint=BGE_M3_HINT))
        self.model_id = model_id or Path(self.model_path).resolve().name
        self.revision = revision
        self.query_max_length = int(query_max_length)
        self.passage_max_length = int(passage_max_length)
        self.batch_size = int(batch_size)
        self.device = device or "cpu"
        self.use_fp16 = bool(use_fp16) and not self.device.startswith("cpu")
        self.cache_dir = cache_dir
        self.torch_threads = torch_threads
        self._model = None
        self._cache = None
        self._dim: int | None = None
        self.forward_texts = 0  # texts run through the model so far (tests count re-encoding)
        self.forward_calls = 0  # encode calls that reached the model

    # ------------------------------------------------------------------ model
    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            fe = require("FlagEmbedding", package="FlagEmbedding")
            if self.torch_threads:
                import torch

                torch.set_num_threads(int(self.torch_threads))
            try:
                self._model = fe.BGEM3FlagModel(
                    self.model_path,
                    use_fp16=self.use_fp16,
                    devices=self.device,
                    batch_size=self.batch_size,
                    query_max_length=self.query_max_length,
                    passage_max_length=self.passage_max_length,
                )
            except Exception as exc:
                raise ModelError(
                    f"Could not load BGE-M3 from {self.model_path!r}: {exc}. The folder needs config.json, "
                    "model weights, the tokenizer, colbert_linear.pt and sparse_linear.pt."
                ) from exc
        return self._model

    @property
    def dim(self) -> int:
        if self._dim is None:  # read from config.json: no need to load the weights
            import json

            config = json.loads((Path(self.model_path) / "config.json").read_text(encoding="utf-8"))
            self._dim = int(config["hidden_size"])
        return self._dim

    @property
    def space(self) -> str:
        """Identity of the vector space: model id and revision."""
        return f"{self.model_id}@{self.revision}"

    @property
    def cache(self):
        """The on-disk embedding cache (``None`` when ``cache_dir`` is unset)."""
        if self._cache is None and self.cache_dir:
            from ragbench.embedders.cache import EmbeddingCache

            key = f"{self.space}|m3|passage_max_length={self.passage_max_length}"
            self._cache = EmbeddingCache(self.cache_dir, namespace=key)
        return self._cache

    def _run(self, texts: Sequence[str], max_length: int) -> M3Output:
        if not texts:
            return M3Output.concat([], self.dim)
        out = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            max_length=max_length,
            return_dense=True,
            return_sparse=True,
            return_colbert_vecs=True,
        )
        self.forward_texts += len(texts)
        self.forward_calls += 1
        sparse = [{int(t): float(w) for t, w in lw.items()} for lw in out["lexical_weights"]]
        colbert = [np.asarray(c, dtype=np.float32) for c in out["colbert_vecs"]]
        return M3Output(np.asarray(out["dense_vecs"], dtype=np.float32).reshape(len(texts), -1), sparse, colbert)

    # ----------------------------------------------------------------- public
    def encode_queries(self, texts: Sequence[str]) -> M3Output:
        """All three representations of queries (never cached: queries are cheap and many are unique)."""
        return self._run(texts, self.query_max_length)

    def encode_documents(self, texts: Sequence[str]) -> M3Output:
        """All three representations of documents, reusing the embedding cache when configured."""
        cache = self.cache
        if cache is None:
            return self._run(texts, self.passage_max_length)
        keys = [content_hash(t, length=32) for t in texts]
        found = cache.get(keys)
        unique: dict[str, int] = {}  # each missing text encoded once, even if repeated
        for i, key in enumerate(keys):
            if key not in found:
                unique.setdefault(key, i)
        if unique:
            fresh = self._run([texts[i] for i in unique.values()], self.passage_max_length)
            cache.put(list(unique), fresh)
            found.update({key: fresh.take([j]) for j, key in enumerate(unique)})
        return M3Output.concat([found[key] for key in keys], self.dim)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Dense vectors of ``texts`` (what retrievers and every plain consumer need)."""
        return self.encode_documents(texts).dense

    def embed_document_columns(self, texts: Sequence[str]) -> Embeddings:
        """Dense vectors plus the sparse and ColBERT columns the store writes next to them."""
        out = self.encode_documents(texts)
        return Embeddings(out.dense, out.columns())

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_queries(texts).dense

    def __repr__(self) -> str:
        return f"BGEM3Embedder(model_id={self.model_id!r}, revision={self.revision!r}, device={self.device!r})"
