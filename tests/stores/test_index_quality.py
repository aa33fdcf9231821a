"""Vector index type/params by config, build time and ANN recall@10 vs exact, returned for logging."""

import numpy as np
import pytest

from ragbench.errors import ConfigError
from ragbench.stores import LanceDBStore
from ragbench.types import Chunk


def _fill(store, n=600, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, dim)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    chunks = [Chunk(id=f"d{i}#0", doc_id=f"d{i}", tenant="acme", text=f"text {i}") for i in range(n)]
    store.upsert("acme", chunks, v)
    return v


def test_exact_search_has_recall_one_and_no_build(tmp_path):
    store = LanceDBStore(tmp_path / "db", space="s", vector_index="none", recall_sample=10)
    _fill(store)
    stats = store.build_indexes("acme")
    assert stats["vector_indexed"] == 0.0 and stats["vector_index_build_s"] == 0.0
    assert stats["ann_recall@10"] == 1.0 and stats["ann_recall_queries"] == 10.0


def test_ivf_pq_with_params_records_build_time_and_recall(tmp_path):
    coarse = LanceDBStore(
        tmp_path / "a",
        space="s",
        vector_index="ivf_pq",
        recall_sample=30,
        index_params={"num_partitions": 8, "num_sub_vectors": 2},
        search_params={"nprobes": 1},
    )
    vectors = _fill(coarse)
    stats = coarse.build_indexes("acme")
    assert stats["vector_indexed"] == 1.0 and stats["vector_index_build_s"] > 0
    assert 0.0 < stats["ann_recall@10"] < 1.0  # 2-byte PQ codes, one partition probed: lossy
    refined = LanceDBStore(
        tmp_path / "a",
        space="s",
        vector_index="ivf_pq",
        recall_sample=30,
        search_params={"nprobes": 8, "refine_factor": 50},
    )
    from ragbench.stores.index_quality import ann_recall

    better = ann_recall(refined._table("acme"), k=10, sample=30, search_params=refined.search_params)
    assert better["ann_recall@10"] > stats["ann_recall@10"] and better["ann_recall@10"] >= 0.95
    hits = refined.search_vector("acme", vectors[3], k=1)
    assert hits[0].doc_id == "d3"


def test_bad_index_settings_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="Unknown search param 'probes'"):
        LanceDBStore(tmp_path / "b", space="s", search_params={"probes": 3})
    store = LanceDBStore(tmp_path / "b", space="s", vector_index="ivf_pq", index_params={"partitions": 4})
    _fill(store, n=300)
    with pytest.raises(ConfigError, match="do not fit a ivf_pq index.*Accepted: .*num_partitions"):
        store.build_indexes("acme")
