"""A fast static sentence-transformers embedder for benchmarks (random token vectors; see
:mod:`ragbench.testing.fast_embedder`): the real embedding code path at next to no model cost."""

from __future__ import annotations

from ragbench.embedders.sentence_transformers import SentenceTransformerEmbedder
from ragbench.testing.fast_embedder import RECIPE_VERSION, static_embedder_path


def static_embedder(*, dim: int = 384, seed: int = 0, batch_size: int = 64) -> SentenceTransformerEmbedder:
    """A :class:`SentenceTransformerEmbedder` on the static random model (see the module docstring).

    Args:
        dim: Embedding dimension.
        seed: Seed of the random token vectors: the same seed gives the same vectors.
        batch_size: Texts per forward pass, as in :class:`SentenceTransformerEmbedder`.

    Example:
        >>> emb = static_embedder(seed=1)  # doctest: +SKIP
        >>> emb.model_id, emb.dim  # doctest: +SKIP
        ('ragbench-testing/static-random-d384-s1', 384)
    """
    return SentenceTransformerEmbedder(
        str(static_embedder_path(dim=dim, seed=seed)),
        model_id=f"ragbench-testing/static-random-d{dim}-s{seed}",
        revision=f"v{RECIPE_VERSION}",
        batch_size=batch_size,
    )
