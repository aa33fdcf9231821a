"""Ingestion benchmarks, printed side by side in one run.

1. Throughput: ``ingest_path`` (load, detect language, chunk, embed, write to LanceDB, record
   the job) against the raw embedder encoding the same chunk texts (goal >= 0.90), also
   with language detection switched off.
2. LlamaIndex: an ``IngestionPipeline`` reading the same corpus, splitting it with its
   SentenceSplitter and writing it with the same embedder into LanceDB, at LlamaIndex's
   default embedding batch (10) and at ours (256) (goal: ragbench >= 2x faster). Needs ``make bench-llama`` (``.venv-llama``) or ``--llama-python``;
   reported as unavailable otherwise.
   Both run twice: with MiniLM (CPU-bound: both sides wait on the same forward passes) and
   with a fast static embedder (overhead-bound, as with a GPU model).
3. Peak RSS and peak Python heap of a process ingesting synthetic corpora of growing size
   (lexical store, so the run is short): should stay flat as the corpus grows.

    python bench/bench_ingest.py [--docs 400] [--static-docs 3000] [--rss-sizes 2000,8000,32000] [--llama-python PY]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _corpus(tmp: Path, n: int) -> Path:
    from ragbench.paths import shared_data_dir

    src = shared_data_dir() / "beir_scifact" / "corpus.jsonl"
    out = tmp / "scifact.jsonl"
    with src.open(encoding="utf-8") as fin, out.open("w", encoding="utf-8") as fout:
        for i, line in enumerate(fin):
            if i == n:
                break
            r = json.loads(line)
            fout.write(json.dumps({"id": r["_id"], "title": r.get("title", ""), "text": r["text"]}) + "\n")
    return out


def _ingest(path: Path, store_dir: Path, embedder, chunker, *, language=True, limit=None) -> tuple[float, object]:
    from itertools import islice

    from ragbench.ingestion.ingest import ingest_items
    from ragbench.ingestion.loaders import iter_path
    from ragbench.language import detect_language
    from ragbench.stores.lancedb import LanceDBStore

    store = LanceDBStore(store_dir, space=embedder.space)
    start = time.perf_counter()
    job = ingest_items(
        islice(iter_path(path), limit),
        tenant="bench",
        store=store,
        embedder=embedder,
        chunker=chunker,
        language=detect_language if language else None,
    )
    return time.perf_counter() - start, job


def _embedder(name: str):
    if name == "static":
        from ragbench.embedders.static import static_embedder

        return static_embedder()
    from ragbench.embedders import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def throughput(tmp: Path, n_docs: int, llama_python: str | None, embedder_name: str = "minilm") -> None:
    """ragbench's ingest job against the raw embedder and LlamaIndex, on the same corpus and model."""
    from ragbench.data.chunking import SentenceChunker
    from ragbench.ingestion.loaders import iter_path
    from ragbench.language import detect_language

    path = _corpus(tmp, n_docs)
    chunker = SentenceChunker(max_words=200, overlap=1)
    embedder = _embedder(embedder_name)
    texts = [c.content for item in iter_path(path) for c in chunker([item.load("bench", language=None)])]
    # Warm up what any process pays once (not per document): the first forward pass, the
    # language models' load, LanceDB's import and runtime start.
    embedder.embed_documents(texts[:256])
    detect_language("warm up the detector: Zagreb je grad. Београд је град.")
    _ingest(path, tmp / f"warm-{embedder_name}", embedder, chunker, limit=8)
    start = time.perf_counter()
    for i in range(0, len(texts), 256):
        embedder.embed_documents(texts[i : i + 256])
    raw = time.perf_counter() - start
    ours, job = _ingest(path, tmp / f"a-{embedder_name}", embedder, chunker)
    assert job.chunks_created == len(texts), (job.chunks_created, len(texts))
    ours_nolang, _ = _ingest(path, tmp / f"b-{embedder_name}", embedder, chunker, language=False)
    model = {"minilm": "all-MiniLM-L6-v2", "static": "static embedder (fast, like a GPU model: overhead-bound)"}
    print(f"corpus: {n_docs} SciFact documents -> {len(texts)} chunks, {model[embedder_name]}, SentenceChunker(200)")
    print(f"  raw embedder encode (256/call)   {raw:7.2f} s  {len(texts) / raw:8.1f} chunks/s")
    print(
        f"  ragbench ingest job              {ours:7.2f} s  {len(texts) / ours:8.1f} chunks/s  "
        f"ratio vs raw {raw / ours:.3f} (goal >= 0.90)"
    )
    print(
        f"  ragbench ingest job, no langdet  {ours_nolang:7.2f} s  {len(texts) / ours_nolang:8.1f} chunks/s  "
        f"ratio vs raw {raw / ours_nolang:.3f}"
    )
    for batch in (None, 256):
        llama(tmp, path, ours, llama_python, embedder_name, batch)


def llama(
    tmp: Path, corpus: Path, ours: float, llama_python: str | None, embedder_name: str, batch: int | None
) -> None:
    """The same job the LlamaIndex way: read the same JSONL corpus into Documents, SentenceSplitter
    (320 tokens, about our 200 words: the chunk counts match within 1%), the same embedder class
    and model, LanceDB vector store, one IngestionPipeline. LlamaIndex does no language detection,
    keeps no job records and builds no full-text index; ragbench does all three."""
    python = llama_python or sys.executable
    label = f"LlamaIndex pipeline, batch {batch or '10 (default)'}"
    probe = subprocess.run(
        [python, "-c", "import llama_index.core, llama_index.vector_stores.lancedb"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        print(f"  {label}: UNAVAILABLE (no llama-index in {python}; run `make bench-llama`, or pass --llama-python)")
        return
    cmd = [
        python,
        str(ROOT / "bench" / "_llama_ingest.py"),
        str(corpus),
        str(tmp / "llama"),
        "--corpus",
        "--chunk-size",
        "320",
        "--embedder",
        embedder_name,
        *(["--batch", str(batch)] if batch else []),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("SECONDS")), None)
    if line is None:
        print(f"  {label}: FAILED\n{out.stderr[-2000:]}")
        return
    seconds, rows = float(line.split()[1]), int(line.split()[3])
    print(
        f"  {label:32s} {seconds:7.2f} s  {rows / seconds:8.1f} chunks/s  ({rows} chunks) "
        f"-> ragbench is {seconds / ours:.2f}x as fast on the same corpus (goal >= 2x)"
    )


def _rss_worker(n: int, store_dir: str) -> None:
    """Child process: ingest n synthetic documents (lexical store), print peak RSS and peak
    Python heap (tracemalloc: what ragbench itself holds) in MiB."""
    import tracemalloc

    from ragbench.data.chunking import SentenceChunker
    from ragbench.ingestion.ingest import ingest_items
    from ragbench.ingestion.loaders import iter_jsonl
    from ragbench.memory import peak_rss_mib
    from ragbench.stores.lancedb import LanceDBStore

    words = [f"w{i}" for i in range(5000)]
    rng = random.Random(n)

    def lines():
        for i in range(n):
            text = " ".join(". ".join(" ".join(rng.choices(words, k=12)) for _ in range(5)).split())
            yield json.dumps({"id": i, "text": text.capitalize() + "."}) + "\n"

    store = LanceDBStore(store_dir)
    store.tenant_db("rss")
    base = peak_rss_mib()
    tracemalloc.start()
    start = time.perf_counter()
    job = ingest_items(
        iter_jsonl(lines(), source="synthetic"),
        tenant="rss",
        store=store,
        embedder=None,
        chunker=SentenceChunker(max_words=40, overlap=0),
        language=None,
    )
    seconds = time.perf_counter() - start
    heap = tracemalloc.get_traced_memory()[1] / 2**20
    peak = peak_rss_mib()
    print(f"RSS {base:.1f} {peak:.1f} {job.chunks_created} {seconds:.1f} {heap:.1f}")


def rss(tmp: Path, sizes: list[int]) -> None:
    print("peak memory while ingesting synthetic corpora (lexical store, language detection off, one process each):")
    peaks, heaps = [], []
    for n in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--rss-worker", str(n), str(tmp / f"rss-{n}")],
            capture_output=True,
            text=True,
            check=True,
        )
        base, peak, chunks, secs, heap = out.stdout.split("RSS ")[1].split()
        peaks.append(float(peak))
        heaps.append(float(heap))
        print(
            f"  {n:7d} docs ({int(chunks):7d} chunks, {float(secs):6.1f} s): peak RSS {float(peak):7.1f} MiB "
            f"(after imports {float(base):6.1f}), peak Python heap {float(heap):6.1f} MiB"
        )
    growth = sizes[-1] // sizes[0]
    print(
        f"  ratio largest / smallest corpus ({growth}x the documents): peak RSS {peaks[-1] / peaks[0]:.3f}, "
        f"Python heap {heaps[-1] / heaps[0]:.3f} (goal: flat)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=400)
    parser.add_argument("--static-docs", type=int, default=3000, help="corpus size for the fast static embedder")
    parser.add_argument("--rss-sizes", default="2000,8000,32000")
    parser.add_argument("--llama-python", default=os.environ.get("RAGBENCH_LLAMA_PYTHON"))
    parser.add_argument("--rss-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when piped to a file
    if args.rss_worker:
        _rss_worker(int(args.rss_worker[0]), args.rss_worker[1])
        return
    tmp = Path(tempfile.mkdtemp(prefix="rb-bench-ingest-"))
    try:
        throughput(tmp, args.docs, args.llama_python, "minilm")
        throughput(tmp, args.static_docs, args.llama_python, "static")
        rss(tmp, [int(s) for s in args.rss_sizes.split(",")])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
