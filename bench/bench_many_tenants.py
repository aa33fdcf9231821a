"""1,000 tenants: query latency over random tenants vs one tenant, open files and RSS (issue 19).

1. Build: ``--tenants`` tenant databases (default 1,000) of ``--chunks`` chunks each (default 1,000)
   through ragbench's store (:meth:`LanceDBStore.upsert` + :meth:`LanceDBStore.build_indexes`: one
   LanceDB directory per tenant, full-text index, exact vector search below 100k rows). The texts are
   synthetic (deterministic); each tenant holds its own random sample of a pool embedded once with
   the static embedder (:func:`ragbench.embedders.static.static_embedder`).
2. Query, in a fresh process per setting of ``max_open_tenants`` (the store's bounded LRU of tenant
   connections; the largest setting behaves as the store did before the LRU: one connection per
   tenant ever touched): first every tenant once in random order (cold first touch), printing open
   file descriptors (``/proc/self/fd``) and RSS as tenants are touched; then ``--queries`` query
   pairs, each a query to the one fixed tenant and a query to a random tenant, alternated so that
   both see the same machine load. Vector (``search_vector``, query vectors embedded beforehand) and
   full-text (``search_text``) searches; latencies are the store call alone.

Goal (issue 19): p50 over random tenants <= 1.2 x the one-tenant p50; open files and RSS bounded.
The script prints figures and never asserts them.

    python bench/bench_many_tenants.py [--tenants 1000] [--chunks 1000] [--queries 1000]
        [--max-open 256,100000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

VOCAB = [f"w{i}" for i in range(5_000)]
POOL = 20_000


def _tenant(i: int) -> str:
    return f"t{i:05d}"


def _text(i: int) -> str:
    return " ".join(random.Random(i).choices(VOCAB, k=30)).capitalize() + "."


def build(store_dir: Path, n_tenants: int, n_chunks: int) -> None:
    """Write the tenants through the store's own API."""
    from ragbench.embedders.static import static_embedder
    from ragbench.stores.lancedb import LanceDBStore
    from ragbench.types import Chunk

    embedder = static_embedder()
    texts = [_text(i) for i in range(POOL)]
    vectors = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
    store = LanceDBStore(store_dir, space=embedder.space)
    start = time.perf_counter()
    for t in range(n_tenants):
        tenant = _tenant(t)
        picks = random.Random(t).sample(range(POOL), n_chunks)
        chunks = [Chunk(id=f"d{p}#0", doc_id=f"d{p}", tenant=tenant, text=texts[p], title=f"doc {p}") for p in picks]
        store.upsert(tenant, chunks, vectors[picks])
        store.build_indexes(tenant)
        if (t + 1) % max(1, n_tenants // 10) == 0:
            print(f"  built {t + 1:5d} tenants ({time.perf_counter() - start:6.1f} s)")
    (store_dir / "bench.json").write_text(json.dumps({"space": embedder.space, "tenants": n_tenants}))


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _pct(values: list[float]) -> str:
    ms = np.asarray(values) * 1000
    return f"p50 {np.percentile(ms, 50):6.2f} ms  p95 {np.percentile(ms, 95):6.2f} ms"


def query_worker(store_dir: Path, max_open: int, n_queries: int) -> None:
    """In a fresh process: touch every tenant, then alternate one-tenant and random-tenant queries."""
    from ragbench.embedders.static import static_embedder
    from ragbench.memory import rss_mib
    from ragbench.stores.lancedb import LanceDBStore

    meta = json.loads((store_dir / "bench.json").read_text())
    n = meta["tenants"]
    words = [" ".join(random.Random(-i).choices(VOCAB, k=3)) for i in range(200)]
    qvecs = np.asarray(static_embedder().embed_queries(words), dtype=np.float32)
    store = LanceDBStore(store_dir, space=meta["space"], max_open_tenants=max_open)
    one, rng = _tenant(0), random.Random(7)
    for q in range(20):  # warm up the one tenant and the code paths
        store.search_vector(one, qvecs[q], k=10)
        store.search_text(one, words[q], k=10)
    base_fds, base_rss = _fds(), rss_mib()
    print(f"max_open_tenants={max_open}: after warm-up on one tenant: {base_fds} open fds, RSS {base_rss:.1f} MiB")
    order = list(range(n))
    rng.shuffle(order)
    marks = {m for m in (1, 10, 100, 250, 500, 1000, 2000, 5000, n) if m <= n}
    cold = []
    for touched, t in enumerate(order, 1):
        start = time.perf_counter()
        store.search_vector(_tenant(t), qvecs[touched % 200], k=10)
        store.search_text(_tenant(t), words[touched % 200], k=10)
        cold.append(time.perf_counter() - start)
        if touched in marks:
            print(
                f"  {touched:5d} tenants touched: {_fds():5d} open fds (+{_fds() - base_fds}), RSS {rss_mib():7.1f} MiB "
                f"(+{rss_mib() - base_rss:6.1f}), {len(store.open_tenants())} connections open"
            )
    print(f"  first touch (vector + text, cold): {_pct(cold)}")
    lat: dict[tuple[str, str], list[float]] = {(w, m): [] for w in ("one", "random") for m in ("vector", "text")}
    for q in range(n_queries):
        for who, tenant in (("one", one), ("random", _tenant(rng.randrange(n)))):
            start = time.perf_counter()
            store.search_vector(tenant, qvecs[q % 200], k=10)
            mid = time.perf_counter()
            store.search_text(tenant, words[q % 200], k=10)
            lat[(who, "vector")].append(mid - start)
            lat[(who, "text")].append(time.perf_counter() - mid)
    for mode in ("vector", "text"):
        p1, pr = (float(np.percentile(lat[(w, mode)], 50)) for w in ("one", "random"))
        print(
            f"  {mode:6s} one tenant {_pct(lat[('one', mode)])} | random of {n} {_pct(lat[('random', mode)])} "
            f"| ratio p50 {pr / p1:.2f} (goal <= 1.2)"
        )
    print(f"  after {n_queries} query pairs: {_fds()} open fds, RSS {rss_mib():.1f} MiB, peak fds seen: see above")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--chunks", type=int, default=1000, help="chunks per tenant (<= 20,000)")
    parser.add_argument("--queries", type=int, default=1000, help="query pairs (one tenant + random tenant)")
    parser.add_argument("--max-open", default="256,100000", help="store.max_open_tenants settings to compare")
    parser.add_argument("--dir", help="store folder (kept and reused if built); a temporary one by default")
    parser.add_argument("--query-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if args.query_worker:
        query_worker(Path(args.query_worker[0]), int(args.query_worker[1]), int(args.query_worker[2]))
        return
    tmp = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="rb-bench-tenants-"))
    try:
        if not (tmp / "bench.json").is_file():
            print(f"building {args.tenants} tenants x {args.chunks} chunks at {tmp}")
            build(tmp, args.tenants, args.chunks)
        for max_open in args.max_open.split(","):
            worker = [sys.executable, __file__, "--query-worker", str(tmp), max_open, str(args.queries)]
            subprocess.run(worker, check=True)
    finally:
        if not args.dir:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
