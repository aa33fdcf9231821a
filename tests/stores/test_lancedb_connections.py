"""The store keeps at most ``max_open_tenants`` tenant connections (least recently used dropped) and
still answers every tenant correctly after its connection was dropped."""

import numpy as np
import pytest

from ragbench.errors import ConfigError
from ragbench.stores import LanceDBStore
from ragbench.types import Chunk


def _write(store, tenant, seed):
    vecs = np.random.default_rng(seed).normal(size=(3, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    words = [f"{tenant}word{i}" for i in range(3)]
    chunks = [Chunk(id=f"{tenant}-d{i}#0", doc_id=f"{tenant}-d{i}", tenant=tenant, text=w) for i, w in enumerate(words)]
    store.upsert(tenant, chunks, vecs)
    return vecs


def test_least_recently_used_tenant_connection_is_dropped_and_reopened(tmp_path):
    store = LanceDBStore(tmp_path / "db", space="s", max_open_tenants=2)
    vecs = {t: _write(store, t, seed) for seed, t in enumerate(["a", "b", "c"])}
    assert store.open_tenants() == ["b", "c"]  # "a" was the least recently used
    store.search_vector("b", vecs["b"][0], k=1)  # "b" is now the most recently used
    assert store.open_tenants() == ["c", "b"]

    for tenant in ["a", "b", "c", "a"]:  # each evicted in turn, reopened, and answers its own rows
        hits = store.search_vector(tenant, vecs[tenant][1], k=3)
        assert [h.doc_id for h in hits][0] == f"{tenant}-d1"
        assert hits[0].score == pytest.approx(1.0, abs=1e-5) and {h.tenant for h in hits} == {tenant}
        text_hits = store.search_text(tenant, f"{tenant}word2", k=3)
        assert [h.doc_id for h in text_hits] == [f"{tenant}-d2"]
        assert len(store.open_tenants()) <= 2 and store.open_tenants()[-1] == tenant
    assert store.open_tenants() == ["c", "a"]


def test_evicted_tenant_forgets_its_checked_text_index(tmp_path):
    store = LanceDBStore(tmp_path / "db", space="s", max_open_tenants=1)
    _write(store, "a", 0)
    store.search_text("a", "aword0", k=1)
    assert "a" in store._fts_ready  # checked once per table version while its connection is open
    _write(store, "b", 1)
    assert store.open_tenants() == ["b"] and "a" not in store._fts_ready
    assert [h.doc_id for h in store.search_text("a", "aword0", k=1)] == ["a-d0"]


def test_max_open_tenants_below_one_is_refused_with_how_to_fix(tmp_path):
    with pytest.raises(ConfigError, match=r"max_open_tenants must be >= 1, got 0.*e\.g\. 256"):
        LanceDBStore(tmp_path / "db", max_open_tenants=0)


def test_threads_sharing_a_small_connection_pool_each_get_their_tenants_rows(tmp_path):
    """Service threads and the ingest writer thread share one store: evictions under concurrent use
    must neither fail nor mix tenants (the pool is locked)."""
    from concurrent.futures import ThreadPoolExecutor

    store = LanceDBStore(tmp_path / "db", space="s", max_open_tenants=2)
    tenants = ["a", "b", "c", "d", "e"]
    vecs = {t: _write(store, t, seed) for seed, t in enumerate(tenants)}

    def ask(i):
        tenant = tenants[i % len(tenants)]
        hits = store.search_vector(tenant, vecs[tenant][i % 3], k=3)
        return tenant, i % 3, [h.doc_id for h in hits], {h.tenant for h in hits}

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(ask, range(60)))
    for tenant, row, doc_ids, seen in answers:
        assert doc_ids[0] == f"{tenant}-d{row}" and seen == {tenant}
    assert len(store.open_tenants()) == 2
