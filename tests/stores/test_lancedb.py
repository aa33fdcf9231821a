"""LanceDB store on disk: per-tenant isolation, upserts, search, safe filters, clear errors."""

import numpy as np
import pytest

from ragbench.errors import ConfigError, StoreError, TenantError, TenantNotFoundError
from ragbench.stores import LanceDBStore
from ragbench.stores._columns import space_slug
from ragbench.types import Chunk


def _chunks(tenant, texts, prefix="d"):
    return [
        Chunk(id=f"{prefix}{i}#0", doc_id=f"{prefix}{i}", tenant=tenant, text=t, title=f"T{i}")
        for i, t in enumerate(texts)
    ]


def _vectors(n, dim=8, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture
def store(tmp_path):
    return LanceDBStore(tmp_path / "db", space="test-space")


TEXTS_A = ["vacation policy gives 25 days", "password rotation every 90 days", "robot arm payload 12 kg"]
TEXTS_B = ["vacation policy gives 22 days", "password rotation every 60 days", "clinic opens at 7am"]


def test_tenants_are_separate_directories_and_never_mix(store, tmp_path):
    store.upsert("acme", _chunks("acme", TEXTS_A, "a"), _vectors(3))
    store.upsert("harbor", _chunks("harbor", TEXTS_B, "h"), _vectors(3, seed=1))
    assert store.tenants() == ["acme", "harbor"]
    assert (tmp_path / "db" / "tenants" / "acme").is_dir()
    hits = store.search_text("acme", "vacation days", k=10)
    assert hits and all(h.tenant == "acme" and h.doc_id.startswith("a") for h in hits)
    vhits = store.search_vector("harbor", _vectors(3)[0], k=10)
    assert len(vhits) == 3 and all(h.tenant == "harbor" for h in vhits)


def test_vector_search_scores_are_cosine_similarity(store):
    vecs = _vectors(3)
    store.upsert("acme", _chunks("acme", TEXTS_A, "a"), vecs)
    hits = store.search_vector("acme", vecs[1], k=3)
    assert hits[0].doc_id == "a1"
    expected = sorted((float(vecs[1] @ v) for v in vecs), reverse=True)
    assert [h.score for h in hits] == pytest.approx(expected, abs=1e-5)
    assert [h.rank for h in hits] == [0, 1, 2]


def test_upsert_replaces_by_chunk_id_and_tracks_hashes(store):
    store.upsert("acme", _chunks("acme", TEXTS_A, "a"), _vectors(3))
    before = store.chunk_hashes("acme")
    changed = _chunks("acme", ["vacation policy gives 30 days"], "a")
    store.upsert("acme", changed, _vectors(1))
    assert store.count("acme") == 3
    after = store.chunk_hashes("acme")
    assert after["a0#0"] != before["a0#0"] and after["a1#0"] == before["a1#0"]
    assert "30 days" in store.search_text("acme", "vacation", k=1)[0].text
    store.delete_chunks("acme", ["a0#0"])
    assert store.count("acme") == 2


def test_filters_bind_values_so_injection_finds_nothing(store):
    store.upsert("acme", _chunks("acme", TEXTS_A, "a"), _vectors(3))
    evil = "x' OR '1'='1"
    assert store.search_text("acme", "days", k=10, filters={"doc_id": evil}) == []
    assert store.search_vector("acme", _vectors(1)[0], k=10, filters={"doc_id": evil}) == []
    only = store.search_vector("acme", _vectors(1)[0], k=10, filters={"doc_id": ["a2"]})
    assert [h.doc_id for h in only] == ["a2"]
    with pytest.raises(ConfigError, match="Cannot filter on 'tenant'"):
        store.search_text("acme", "days", k=3, filters={"tenant": "harbor"})


def test_unknown_tenant_and_bad_ids(store):
    store.upsert("acme", _chunks("acme", TEXTS_A, "a"), _vectors(3))
    with pytest.raises(TenantNotFoundError, match="Did you mean: 'acme'.*ragbench ingest"):
        store.search_text("acmee", "days", k=3)
    for bad in ["../x", "a'b", ""]:
        with pytest.raises(TenantError):
            store.search_text(bad, "days", k=3)
    with pytest.raises(StoreError, match="belongs to tenant 'harbor'"):
        store.upsert("acme", _chunks("harbor", ["x"]), _vectors(1))


def test_spaces_use_separate_tables(tmp_path):
    a = LanceDBStore(tmp_path, space="model-a@1")
    b = LanceDBStore(tmp_path, space="model-b@1")
    a.upsert("acme", _chunks("acme", TEXTS_A), _vectors(3))
    assert a.table_name != b.table_name
    assert a.has_tenant("acme") and not b.has_tenant("acme")


def test_build_indexes_reports_timings_and_builds_vector_index_above_threshold(tmp_path):
    store = LanceDBStore(tmp_path, space="s", index_min_rows=300)
    n = 400
    chunks = [Chunk(id=f"d{i}#0", doc_id=f"d{i}", tenant="acme", text=f"text number {i}") for i in range(n)]
    store.upsert("acme", chunks, _vectors(n, dim=16))
    stats = store.build_indexes("acme")
    assert stats["rows"] == n and stats["fts_build_s"] > 0 and stats["vector_index_build_s"] > 0
    small = LanceDBStore(tmp_path / "small", space="s")
    small.upsert("acme", chunks[:10], _vectors(10, dim=16))
    assert small.build_indexes("acme")["vector_index_build_s"] == 0.0


def test_invalid_vector_index_option(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean: 'ivf_pq'"):
        LanceDBStore(tmp_path, vector_index="ivfpq")


def test_unknown_tenant_lists_the_tenants_of_every_embedding_space(tmp_path):
    """A BM25 query for a tenant ingested with an embedder used to say "Known tenants: none"."""
    dense = LanceDBStore(tmp_path, space="minilm@abc")
    dense.upsert("acme", _chunks("acme", TEXTS_A, "a"), _vectors(3))
    lexical = LanceDBStore(tmp_path, space="lexical")
    lexical.upsert("harbor", _chunks("harbor", TEXTS_B, "h"))
    slug = space_slug("minilm@abc")
    assert lexical.spaces_by_tenant() == {"acme": [slug], "harbor": ["lexical"]}
    with pytest.raises(TenantNotFoundError) as err:
        lexical.search_text("acme", "days", k=3)
    message = str(err.value)
    assert f"It has chunks only in {slug}." in message
    assert f"Known tenants (spaces): acme ({slug}), harbor (lexical)." in message
