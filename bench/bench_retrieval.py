"""BGE-M3 retrieval on 20k+ chunks with the tiny BGE-M3 (CPU, a few minutes).

Prints, in one run:
  * query latency p50/p95 for each mode (m3_dense, m3_sparse, m3_colbert, m3_all), query encoding included;
  * the ratio of ragbench's store call to the raw LanceDB call it wraps, measured side by side on the
    same query vectors (dense: LanceDBStore.search_vector; ColBERT: M3Search.colbert), goal <= 1.5;
  * vector index build time and ANN recall@10 against exact search on the benchmark queries, goal >= 0.95.

The corpus is the sentences of the shared datasets' passages (SciFact, HotpotQA, MuSiQue, FlashRAG),
topped up with adjacent-sentence pairs until it reaches --chunks. The model is random, so the figures
measure speed and index quality, not retrieval quality.

    python bench/bench_retrieval.py [--chunks 20000] [--queries 100]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from ragbench.paths import shared_data_dir

SOURCES = [
    "beir_scifact/corpus.jsonl",
    "hotpotqa_sample100/beir/corpus.jsonl",
    "musique_sample100/beir/corpus.jsonl",
    "flashrag_quickstart/corpus/sample_data.jsonl",
]
TENANT = "bench"
QUERY_SOURCES = ["hotpotqa_sample100/beir/queries.jsonl", "beir_scifact/queries.jsonl"]


def _jsonl_texts(path: Path, key: str) -> list[str]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            out.append(str(row.get(key) or row.get("contents") or ""))
    return out


def corpus(n: int) -> list[str]:
    """``n`` distinct sentence chunks from the shared passages (pairs of sentences once singles run out)."""
    root = shared_data_dir()
    sentences: list[str] = []
    for rel in SOURCES:
        if (root / rel).exists():
            for text in _jsonl_texts(root / rel, "text"):
                sentences += [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 25]
    chunks = list(dict.fromkeys(sentences))
    i = 0
    while len(chunks) < n and i + 1 < len(sentences):
        chunks.append(f"{sentences[i]} {sentences[i + 1]}")
        i += 1
    if len(chunks) < n:
        raise SystemExit(f"only {len(chunks)} chunks available from {root}; lower --chunks")
    return chunks[:n]


def queries(n: int) -> list[str]:
    root = shared_data_dir()
    out: list[str] = []
    for rel in QUERY_SOURCES:
        if (root / rel).exists():
            out += _jsonl_texts(root / rel, "text")
    return out[:n]


def pct(values: list[float]) -> str:
    return f"p50 {np.percentile(values, 50):8.2f} ms   p95 {np.percentile(values, 95):8.2f} ms"


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - start) * 1000


def side_by_side(ours, raw, inputs) -> tuple[list[float], list[float]]:
    """Alternate the two calls on the same inputs (after one warm-up each) so load affects both alike."""
    ours(inputs[0]), raw(inputs[0])
    a, b = [], []
    for x in inputs:
        a.append(timed(ours, x))
        b.append(timed(raw, x))
    return a, b


def setup(work: Path, texts: list[str]):
    """Tiny BGE-M3, a store with IVF_PQ, and the corpus ingested through ragbench's indexing path."""
    from ragbench.data.chunking import WholeDocumentChunker
    from ragbench.embedders.bge_m3 import BGEM3Embedder
    from ragbench.ingestion.datasets import index_documents
    from ragbench.stores import LanceDBStore
    from ragbench.testing.tiny_bge_m3 import build
    from ragbench.types import Document

    model = build(work / "tiny-bge-m3", hidden=32, heads=2, initializer_range=0.5)
    emb = BGEM3Embedder(
        model,
        torch_threads=1,
        batch_size=256,
        passage_max_length=48,
        query_max_length=48,
        cache_dir=str(work / "cache"),
    )
    store = LanceDBStore(
        work / "db",
        space=emb.space,
        vector_index="ivf_pq",
        index_params={"num_partitions": 64, "num_sub_vectors": 8},
        search_params={"nprobes": 16, "refine_factor": 10},
        recall_sample=100,
    )
    docs = [Document(id=f"c{i}", tenant=TENANT, text=t) for i, t in enumerate(texts)]
    start = time.perf_counter()
    stats = index_documents(
        docs, tenant=TENANT, store=store, embedder=emb, chunker=WholeDocumentChunker(), batch_size=2048
    )
    print(
        f"ingest: {time.perf_counter() - start:.1f} s ({emb.forward_texts} texts encoded); "
        f"IVF_PQ build {stats.index['vector_index_build_s']:.2f} s, FTS build {stats.index['fts_build_s']:.2f} s"
    )
    print(f"ANN recall@10 on 100 stored vectors as queries: {stats.index['ann_recall@10']:.3f}")
    return emb, store


def report_recall(store, table, dense: np.ndarray) -> None:
    """ANN recall@10 against exact search on the benchmark queries, without and with refinement."""
    from ragbench.stores.index_quality import apply_search_params

    def top(vec, exact: bool, params) -> set[str]:
        q = table.search(vec, vector_column_name="vector").distance_type("cosine").select(["chunk_id"]).limit(10)
        q = q.bypass_vector_index() if exact else apply_search_params(q, params)
        return set(q.to_arrow().column("chunk_id").to_pylist())

    for label, params in (
        ("LanceDB default search params, PQ codes only", {}),
        ("nprobes 16, refine_factor 10", store.search_params),
    ):
        recall = np.mean([len(top(v, False, params) & top(v, True, {})) / 10 for v in dense])
        goal = "  (goal >= 0.95)" if params else ""
        print(f"ANN recall@10 vs exact on {len(dense)} queries ({label}): {recall:.3f}{goal}")


def report_ratios(store, table, search, qenc, n_native: int) -> None:
    """ragbench's store calls against the raw LanceDB calls they wrap, side by side on the same inputs."""
    from ragbench.stores.index_quality import apply_search_params

    cols = ["chunk_id", "doc_id", "tenant", "title", "text", "_distance"]

    def raw_dense(vec):
        q = table.search(vec, vector_column_name="vector").distance_type("cosine").select(cols).limit(10)
        return apply_search_params(q, store.search_params).to_arrow()

    def raw_colbert(mat):
        return table.search(mat, vector_column_name="colbert").distance_type("cosine").select(cols).limit(10).to_arrow()

    ours, raw = side_by_side(lambda v: store.search_vector(TENANT, v, 10), raw_dense, list(qenc.dense))
    print(
        f"dense   store.search_vector {pct(ours)} | raw LanceDB {pct(raw)} | "
        f"ratio p50 {np.median(ours) / np.median(raw):.2f} (goal <= 1.5)"
    )
    ours, raw = side_by_side(lambda m: search.colbert(TENANT, m, 10), raw_colbert, qenc.colbert[:n_native])
    print(
        f"colbert M3Search.colbert     {pct(ours)} | raw LanceDB {pct(raw)} | "
        f"ratio p50 {np.median(ours) / np.median(raw):.2f}  ({n_native} queries: exhaustive multivector scan)"
    )


def report_modes(emb, store, search, qs: list[str]) -> None:
    """End-to-end latency of each M3 mode, query encoding included."""
    from ragbench.retrievers.m3 import M3Retriever
    from ragbench.types import Query

    for mode in ("dense", "sparse", "colbert", "all"):
        retriever = M3Retriever(emb, store, mode=mode, candidates=100)
        retriever.search = search  # share the sparse view built already
        retriever.retrieve([Query(qs[0], tenant=TENANT)], 10)
        lat = [timed(retriever.retrieve, [Query(q, tenant=TENANT)], 10) for q in qs]
        print(f"m3_{mode:<8} retrieve k=10        {pct(lat)}")
    enc_ms = [timed(emb.encode_queries, [q]) for q in qs]
    print(f"query encoding alone (in all)   {pct(enc_ms)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--native-colbert-queries", type=int, default=5)
    args = parser.parse_args()
    from ragbench.stores.m3 import M3Search

    work = Path(tempfile.mkdtemp(prefix="rb-bench-retrieval-"))
    texts, qs = corpus(args.chunks), queries(args.queries)
    print(f"corpus: {len(texts)} chunks, {len(qs)} queries, tiny BGE-M3 (hidden 32), work dir {work}")
    emb, store = setup(work, texts)
    table, qenc, search = store._table(TENANT), emb.encode_queries(qs), M3Search(store)
    report_recall(store, table, qenc.dense)
    report_ratios(store, table, search, qenc, max(1, args.native_colbert_queries))
    sparse_load = timed(search.sparse, TENANT, qenc.sparse[0], 10)
    print(
        f"sparse  inverted (CSC) view of {len(texts)} chunks built on first query in {sparse_load:.0f} ms "
        "(no LanceDB counterpart: in-memory over the stored columns)"
    )
    report_modes(emb, store, search, qs)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
