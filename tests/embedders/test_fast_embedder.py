"""The fast static embedder of ragbench.testing: offline, real sentence-transformers path, deterministic."""

import os

import numpy as np
import pytest

from ragbench.embedders import SentenceTransformerEmbedder
from ragbench.embedders.static import static_embedder
from ragbench.errors import ConfigError
from ragbench.protocols import Embedder

TEXTS = [
    "vector databases store dense embeddings for similarity search",
    "tenant data must stay isolated in a multi tenant system",
    "the quick brown fox jumps over the lazy dog",
]


@pytest.fixture(scope="module")
def static(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("RAGBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    return static_embedder()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


def test_static_embedder_is_a_ragbench_embedder_built_offline(static):
    assert os.environ["HF_HUB_OFFLINE"] == "1"  # tests/conftest.py: a hub call would fail, not download
    assert type(static) is SentenceTransformerEmbedder and isinstance(static, Embedder)
    assert static.dim == 384 and static.model_id == "ragbench-testing/static-random-d384-s0"
    assert static.space == "ragbench-testing/static-random-d384-s0@v1"
    assert type(static.model[0]).__name__ == "StaticEmbedding"


def test_static_vectors_are_normalised_float32_and_deterministic(static):
    docs = static.embed_documents(TEXTS + [TEXTS[0]])
    assert docs.dtype == np.float32 and docs.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(docs[0], docs[3])  # same text, same vector
    np.testing.assert_array_equal(static.embed_queries(TEXTS[:1])[0], docs[0])
    assert np.abs(docs[0] @ docs[1:3].T).max() < 0.9  # different texts differ
    np.testing.assert_array_equal(static_embedder().embed_documents(TEXTS), docs[:3])  # rebuilt from the cache
    assert static.embed_documents([]).shape == (0, 384)


def test_static_embedder_seed_changes_vectors_and_bad_dim_is_rejected(static):
    other = static_embedder(seed=1)
    assert not np.allclose(other.embed_documents(TEXTS[:1]), static.embed_documents(TEXTS[:1]))
    with pytest.raises(ConfigError, match="dim must be >= 1, got 0"):
        static_embedder(dim=0)
