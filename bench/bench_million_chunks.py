"""A million chunks into one tenant: peak RSS and throughput as the table grows (issue 19).

Ingests ``--chunks`` synthetic chunks (deterministic text: ``--chunks-per-doc`` sentences of 30
words from a 20,000-word vocabulary per document, one chunk per sentence) with the static embedder
(:func:`ragbench.embedders.static.static_embedder`: the real sentence-transformers code path, next to
no model cost) through ragbench's own job runner (:func:`ragbench.ingestion.ingest.ingest_items`) into
one LanceDB tenant, as ONE job. At each checkpoint (default 100k, 300k, 1M chunks) it prints the
chunks fed so far, the throughput of the segment since the previous checkpoint, RSS now and peak RSS
(VmHWM), each also as MiB above the baseline (the process after loading the embedder and LanceDB).
The end of the job (full-text and vector index build) is reported on its own line.

Checkpoints are taken when the document generator is asked for the document past the checkpoint;
the runner reads at most one batch (<= 2,048 chunks) ahead, so a segment's count is exact to that.

Goals (issue 19): peak RSS <= 1.5 GB above the model at every checkpoint, and segment throughput
does not fall as the table grows. The script prints figures and never asserts them.

    python bench/bench_million_chunks.py [--chunks 1000000] [--checkpoints 100000,300000]
        [--chunks-per-doc 10] [--vector-index auto|none] [--maintain-every-rows 50000|0]
        [--index-cache-mib 512] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TENANT = "million"
VOCAB = [f"w{i}" for i in range(20_000)]


def synthetic_lines(n_docs: int, chunks_per_doc: int, *, seed: int = 0) -> Iterator[str]:
    """JSONL lines of ``n_docs`` documents, each ``chunks_per_doc`` sentences of 30 words (same seed,
    same text)."""
    for i in range(n_docs):
        rng = random.Random(seed * 1_000_003 + i)
        sentences = [" ".join(rng.choices(VOCAB, k=30)).capitalize() + "." for _ in range(chunks_per_doc)]
        yield json.dumps({"id": f"d{i}", "title": f"doc {i}", "text": " ".join(sentences)}) + "\n"


class StoreTimes:
    """Seconds spent in the per-batch store calls (and, as a control, in the embedder), to show where
    a segment's time goes."""

    CALLS = {
        "chunks": ("replace_documents", "chunk_doc_ids", "maintain"),
        "ledger": ("select", "upsert", "append", "maintain"),
    }

    def __init__(self, store, embedder) -> None:
        from ragbench.ingestion import _tables

        # the control: embedding costs the same per chunk whatever the table size, so when its
        # time per call rises too, the machine got busier (shared cores), not the table slower
        embedder.embed_documents = self._timed("embed_documents (control)", embedder.embed_documents)

        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        for name in self.CALLS["chunks"]:
            setattr(store, name, self._timed(name, getattr(store, name)))
        for name in self.CALLS["ledger"]:
            setattr(_tables, name, self._timed(f"ledger.{name}", getattr(_tables, name)))

    def _timed(self, name: str, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
                self.calls[name] = self.calls.get(name, 0) + 1

        return timed

    def take(self) -> str:
        """Seconds, calls and ms per call since the last take, per store call; then reset."""
        out = ", ".join(
            f"{k} {v:.1f} s / {self.calls[k]} = {1000 * v / self.calls[k]:.0f} ms"
            for k, v in sorted(self.seconds.items())
        )
        self.seconds.clear()
        self.calls.clear()
        return out


class Checkpoints:
    """Wraps the line generator; records time, RSS and peak RSS when a checkpoint's chunk count is reached."""

    def __init__(
        self,
        lines: Iterator[str],
        chunks_per_doc: int,
        marks: list[int],
        baseline: float,
        times: StoreTimes,
        cache_mib: Callable[[], float],
    ) -> None:
        self.lines, self.per_doc, self.marks, self.baseline = lines, chunks_per_doc, sorted(marks), baseline
        self.times, self.cache_mib = times, cache_mib
        self.start = self.last_time = time.perf_counter()
        self.last_chunks = 0

    def __iter__(self) -> Iterator[str]:
        fed = 0
        for line in self.lines:
            if self.marks and fed >= self.marks[0]:
                self.report(fed, self.marks.pop(0))
            yield line
            fed += self.per_doc
        self.fed = fed
        self.report(fed, fed)  # everything fed (the last batch commits and the indexes build after this)

    def report(self, fed: int, mark: int) -> None:
        from ragbench.memory import peak_rss_mib, rss_mib

        now = time.perf_counter()
        rate = (fed - self.last_chunks) / (now - self.last_time)
        rss, peak = rss_mib(), peak_rss_mib()
        print(
            f"  {mark:>9,d} chunks  {now - self.start:7.1f} s  segment {self.last_chunks:>9,d}-{fed:<9,d} "
            f"{rate:7.0f} chunks/s  RSS {rss:7.1f} MiB (+{rss - self.baseline:6.1f})  "
            f"peak {peak:7.1f} MiB (+{peak - self.baseline:6.1f})  LanceDB caches {self.cache_mib():6.1f} MiB\n      calls in this segment (s, "
            f"writer thread and main thread): {self.times.take()}"
        )
        self.last_chunks, self.last_time = fed, now


def run(
    store_dir: Path,
    *,
    chunks: int,
    marks: list[int],
    per_doc: int,
    vector_index: str,
    maintain_every_rows: int,
    index_cache_mib: int,
) -> None:
    from ragbench.data.chunking import SentenceChunker
    from ragbench.embedders.static import static_embedder
    from ragbench.ingestion.ingest import ingest_items
    from ragbench.ingestion.loaders import iter_jsonl
    from ragbench.memory import peak_rss_mib, rss_mib
    from ragbench.stores.lancedb import LanceDBStore

    embedder = static_embedder()
    embedder.embed_documents(["warm up the embedder"] * 64)
    store = LanceDBStore(
        store_dir,
        space=embedder.space,
        vector_index=vector_index,
        maintain_every_rows=maintain_every_rows,
        index_cache_mib=index_cache_mib,
    )
    store.tenant_db(TENANT)  # LanceDB loaded: the baseline is "the model" plus the libraries

    def cache_mib() -> float:  # what LanceDB's shared session (index + metadata caches) holds now
        return store._dbs._session.size_bytes / 2**20

    baseline = rss_mib()
    print(f"baseline after loading the static embedder and LanceDB: RSS {baseline:.1f} MiB (peak {peak_rss_mib():.1f})")
    n_docs = -(-chunks // per_doc)
    times = StoreTimes(store, embedder)
    feed = Checkpoints(
        synthetic_lines(n_docs, per_doc), per_doc, [m for m in marks if m < chunks], baseline, times, cache_mib
    )
    stats: dict = {}
    ingest_items(
        iter_jsonl(iter(feed), source="synthetic"),
        tenant=TENANT,
        store=store,
        embedder=embedder,
        chunker=SentenceChunker(max_words=40, overlap=0),
        language=None,
        index_stats=stats,
    )
    end = time.perf_counter()
    index_s = stats.get("fts_build_s", 0.0) + stats.get("vector_index_build_s", 0.0)
    rows = store.count(TENANT)
    print(
        f"  job done: {rows:,d} rows in the table, {end - feed.start:.1f} s in all "
        f"({rows / (end - feed.start - index_s):.0f} chunks/s overall without the index build); index build: "
        f"full-text {stats.get('fts_build_s', 0.0):.1f} s, vector {stats.get('vector_index_build_s', 0.0):.1f} s "
        f"({stats.get('vector_index', vector_index)}); lookup maintenance (every {maintain_every_rows:,d} rows) "
        f"{stats.get('maintain_runs', 0)} times, {stats.get('maintain_s', 0.0):.1f} s; final RSS {rss_mib():.1f} MiB, "
        f"peak {peak_rss_mib():.1f} MiB (+{peak_rss_mib() - baseline:.1f} above the baseline); LanceDB caches "
        f"{cache_mib():.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--checkpoints", default="100000,300000", help="comma-separated chunk counts")
    parser.add_argument("--chunks-per-doc", type=int, default=10)
    parser.add_argument("--vector-index", default="auto", help="store.vector_index: auto (IVF_PQ from 100k rows), none")
    parser.add_argument(
        "--maintain-every-rows",
        type=int,
        default=50_000,
        help="store.maintain_every_rows: rebuild the BTree lookup indexes every this many rows (0: never)",
    )
    parser.add_argument(
        "--index-cache-mib", type=int, default=512, help="store.index_cache_mib (LanceDB's index cache)"
    )
    parser.add_argument("--dir", help="store folder (kept); a temporary one (removed) by default")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    marks = [int(m) for m in args.checkpoints.split(",") if m.strip()]
    tmp = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="rb-bench-million-"))
    print(f"ingesting {args.chunks:,d} synthetic chunks ({args.chunks_per_doc} per document) into one tenant at {tmp}")
    try:
        run(
            tmp,
            chunks=args.chunks,
            marks=marks,
            per_doc=args.chunks_per_doc,
            vector_index=args.vector_index,
            maintain_every_rows=args.maintain_every_rows,
            index_cache_mib=args.index_cache_mib,
        )
    finally:
        if not args.dir:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
