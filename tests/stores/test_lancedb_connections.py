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


def test_evicted_tenant_keeps_its_checked_text_index_until_its_table_changes(tmp_path, monkeypatch):
    """Reopening an evicted tenant does not check its full-text index again (that check per reopen
    made text search on a random one of 1,000 tenants slower, docs/scale.md); a write, here by
    another store as another process would, changes the version and so is checked once."""
    from ragbench.stores import lancedb as lancedb_store

    store = LanceDBStore(tmp_path / "db", space="s", max_open_tenants=1)
    _write(store, "a", 0)
    store.search_text("a", "aword0", k=1)
    checked = store._fts_ready["a"]
    _write(store, "b", 1)
    assert store.open_tenants() == ["b"] and store._fts_ready["a"] == checked  # evicted, mark kept
    assert [h.doc_id for h in store.search_text("a", "aword0", k=1)] == ["a-d0"]

    other = LanceDBStore(tmp_path / "db", space="s")
    other.upsert(
        "a", [Chunk(id="a-new#0", doc_id="a-new", tenant="a", text="freshword")], np.eye(1, 8, dtype=np.float32)
    )
    assert [h.doc_id for h in store.search_text("a", "freshword", k=1)] == ["a-new"]
    assert store._fts_ready["a"] > checked  # the new version was checked

    monkeypatch.setattr(lancedb_store, "FTS_MARKS", 2)  # bounded: the least recently checked goes first
    _write(store, "c", 2)
    store.search_text("b", "bword0", k=1)
    store.search_text("c", "cword0", k=1)
    assert list(store._fts_ready) == ["b", "c"]


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


TOUCH_ALL = """
import json, os, resource, sys
import numpy as np
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[2]), int(sys.argv[3])))
from ragbench.errors import StoreError
from ragbench.stores import LanceDBStore
store = LanceDBStore(sys.argv[1], space="s")
out = {"limit": list(resource.getrlimit(resource.RLIMIT_NOFILE)), "touched": 0}
try:
    for tenant in store.tenants():
        hits = store.search_text(tenant, "orchard", 3) + store.search_vector(tenant, np.ones(8, np.float32), 3)
        assert {h.tenant for h in hits} == {tenant}
        out["touched"] += 1
except StoreError as exc:
    out["error"] = str(exc)
out["fds"] = len(os.listdir("/proc/self/fd"))
print(json.dumps(out))
"""


def test_a_process_touching_more_tenants_than_its_soft_file_limit_raises_it_or_says_how(tmp_path):
    """Each tenant touched keeps its full-text index files open (LanceDB's shared index cache), so 120
    tenants need more than 64 open files. The store raises the soft limit to the hard one; where the
    hard limit is the wall, the search fails with a StoreError that says so (not LanceDB's os error 24)."""
    import json
    import subprocess
    import sys

    store = LanceDBStore(tmp_path / "db", space="s")
    rng = np.random.default_rng(0)
    for i in range(120):
        tenant = f"t{i:03d}"
        texts = [f"orchard {j} of tenant {i}: apples and pears" for j in range(1000)]
        chunks = [
            Chunk(id=f"{tenant}-{j}", doc_id=f"{tenant}-d{j}", tenant=tenant, text=t) for j, t in enumerate(texts)
        ]
        store.upsert(tenant, chunks, rng.normal(size=(1000, 8)).astype(np.float32))
        store.build_indexes(tenant)

    def touch(soft: int, hard: int) -> dict:
        cmd = [sys.executable, "-c", TOUCH_ALL, str(tmp_path / "db"), str(soft), str(hard)]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    raised = touch(64, 4096)
    assert raised["limit"] == [4096, 4096] and raised["touched"] == 120 and "error" not in raised
    assert raised["fds"] > 120  # one or more open files per tenant touched: more than the 64 it started with
    walled = touch(64, 64)
    assert walled["limit"] == [64, 64] and 0 < walled["touched"] < 120
    assert "ran out of open files (limit 64, hard limit 64)" in walled["error"] and "ulimit -Hn" in walled["error"]
