"""BGE-M3 embedder on the tiny model: the real FlagEmbedding path, one pass for three outputs, the cache."""

import numpy as np
import pytest

from ragbench.embedders.bge_m3 import BGEM3Embedder
from ragbench.errors import ConfigError, ModelError
from ragbench.protocols import ColumnEmbedder, Embedder
from ragbench.types import Embeddings

TEXTS = [
    "vector databases store dense embeddings for similarity search",
    "tenant data must stay isolated in a multi tenant system",
    "the quick brown fox jumps over the lazy dog",
]


@pytest.fixture(scope="module")
def flag_model(tiny_bge_m3):
    from FlagEmbedding import BGEM3FlagModel

    return BGEM3FlagModel(tiny_bge_m3, use_fp16=False, devices="cpu")


def test_missing_folder_fails_before_flagembedding_is_called(tmp_path, monkeypatch):
    import ragbench.embedders.bge_m3 as mod

    monkeypatch.setattr(mod, "require", lambda *a, **k: pytest.fail("FlagEmbedding must not be reached"))
    with pytest.raises(ModelError, match="does not exist.*never downloads weights.*embedder.model="):
        BGEM3Embedder(str(tmp_path / "no-such-model"))


def test_bad_settings_are_rejected(tiny_bge_m3):
    with pytest.raises(ConfigError, match="batch_size must be >= 1, got 0"):
        BGEM3Embedder(tiny_bge_m3, batch_size=0)


def test_one_pass_gives_the_three_outputs_flagembedding_gives(tiny_bge_m3, flag_model):
    emb = BGEM3Embedder(tiny_bge_m3, torch_threads=1)
    assert isinstance(emb, Embedder) and emb.dim == 64 and emb.space.endswith("@local")
    out = emb.encode_documents(TEXTS)
    assert emb.forward_calls == 1 and emb.forward_texts == 3
    ref = flag_model.encode(TEXTS, return_dense=True, return_sparse=True, return_colbert_vecs=True)
    np.testing.assert_allclose(out.dense, ref["dense_vecs"], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(out.dense, axis=1), 1.0, atol=1e-5)
    for mine, theirs in zip(out.sparse, ref["lexical_weights"]):
        assert mine and mine == pytest.approx({int(t): float(w) for t, w in theirs.items()})
        assert not {0, 1, 2, 3} & set(mine)  # <s>, <pad>, </s>, <unk> carry no lexical weight
    for text, mine, theirs in zip(TEXTS, out.colbert, ref["colbert_vecs"]):
        n_tokens = len(flag_model.tokenizer(text)["input_ids"])
        assert mine.shape == (n_tokens - 1, 64)  # every token but <s>
        np.testing.assert_allclose(mine, theirs, atol=1e-5)


def test_document_columns_are_an_explicit_embeddings_value(tiny_bge_m3):
    emb = BGEM3Embedder(tiny_bge_m3, torch_threads=1)
    assert isinstance(emb, ColumnEmbedder) and isinstance(emb, Embedder)
    dense = emb.embed_documents(TEXTS)
    assert type(dense) is np.ndarray and dense.shape == (3, 64)  # plain vectors for every plain consumer
    columns = emb.embed_document_columns(TEXTS)
    assert isinstance(columns, Embeddings) and len(columns) == 3
    np.testing.assert_allclose(columns.dense, dense)
    assert sorted(columns.extras) == ["colbert", "sparse_ids", "sparse_weights"]
    assert all(len(col) == 3 for col in columns.extras.values())
    both = Embeddings.concat([emb.embed_document_columns(TEXTS[:2]), emb.embed_document_columns(TEXTS[2:])])
    assert [len(c) for c in both.extras["colbert"]] == [len(c) for c in columns.extras["colbert"]]
    tail = columns.rows(1, 3)
    assert len(tail) == 2 and [len(c) for c in tail.extras["colbert"]] == [
        len(c) for c in columns.extras["colbert"][1:]
    ]
    with pytest.raises(ValueError, match="different extra columns"):
        Embeddings.concat([columns, Embeddings(dense)])
    np.testing.assert_allclose(emb.embed_queries(TEXTS[:1]), emb.encode_queries(TEXTS[:1]).dense)


def test_cache_skips_re_encoding_across_instances(tiny_bge_m3, tmp_path):
    first = BGEM3Embedder(tiny_bge_m3, cache_dir=str(tmp_path / "cache"), torch_threads=1)
    a = first.encode_documents([*TEXTS, TEXTS[0]])
    assert first.forward_texts == 3  # the repeated text is encoded once
    second = BGEM3Embedder(tiny_bge_m3, cache_dir=str(tmp_path / "cache"))
    b = second.encode_documents([*TEXTS, TEXTS[0]])
    assert second.forward_texts == 0 and second.forward_calls == 0 and second.cache.hits == 4
    np.testing.assert_allclose(a.dense, b.dense, atol=1e-6)
    assert [s == pytest.approx(t) for s, t in zip(a.sparse, b.sparse)] == [True] * 4
    for x, y in zip(a.colbert, b.colbert):
        np.testing.assert_allclose(x, y, atol=1e-6)
    mixed = second.encode_documents(["a new text about search", TEXTS[1]])
    assert second.forward_texts == 1
    np.testing.assert_allclose(mixed.dense[1], a.dense[1], atol=1e-6)
    other_revision = BGEM3Embedder(tiny_bge_m3, cache_dir=str(tmp_path / "cache"), revision="v2")
    other_revision.encode_documents(TEXTS)
    assert other_revision.forward_texts == 3  # another model revision never reads these vectors
