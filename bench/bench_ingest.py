"""Ingestion benchmarks, printed side by side in one run.

1. Throughput: ``ingest_path`` (load, detect language, chunk, embed, write to LanceDB, record
   the job) against the raw embedder encoding the same chunk texts (goal >= 0.90), also
   with language detection switched off.
2. LlamaIndex: an ``IngestionPipeline`` writing the same chunks with the same MiniLM into
   LanceDB (goal: ragbench >= 2x faster). Needs an interpreter with llama-index-core and
   llama-index-vector-stores-lancedb (``--llama-python``); reported as unavailable otherwise.
3. Peak RSS of a process ingesting synthetic corpora of growing size (lexical store, so the
   run is short): should stay flat as the corpus grows.

    python bench/bench_ingest.py [--docs 400] [--rss-sizes 2000,8000,32000] [--llama-python PY]
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
    from ragbench.config import shared_data_dir

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
    from ragbench.ingestion.language import detect_language
    from ragbench.ingestion.loaders import iter_path
    from ragbench.stores.lancedb import LanceDBStore

    store = LanceDBStore(store_dir, space=embedder.space)
    start = time.perf_counter()
    job = ingest_items(islice(iter_path(path), limit), tenant="bench", store=store, embedder=embedder,
                       chunker=chunker, language=detect_language if language else None)
    return time.perf_counter() - start, job


def throughput(tmp: Path, n_docs: int, llama_python: str | None) -> None:
    from ragbench.data.chunking import SentenceChunker
    from ragbench.embedders import SentenceTransformerEmbedder
    from ragbench.ingestion.language import detect_language
    from ragbench.ingestion.loaders import iter_path

    path = _corpus(tmp, n_docs)
    chunker = SentenceChunker(max_words=200, overlap=1)
    embedder = SentenceTransformerEmbedder()
    texts = [c.content for item in iter_path(path) for c in chunker([item.load("bench", language=None)])]
    # Warm up what any process pays once (not per document): the first forward pass, the
    # language models' load, LanceDB's import and runtime start.
    embedder.embed_documents(texts[:256])
    detect_language("warm up the detector: Zagreb je grad. Београд је град.")
    _ingest(path, tmp / "store-warm", embedder, chunker, limit=8)
    start = time.perf_counter()
    for i in range(0, len(texts), 256):
        embedder.embed_documents(texts[i:i + 256])
    raw = time.perf_counter() - start
    ours, job = _ingest(path, tmp / "store-a", embedder, chunker)
    assert job.chunks_created == len(texts), (job.chunks_created, len(texts))
    ours_nolang, _ = _ingest(path, tmp / "store-b", embedder, chunker, language=False)
    print(f"corpus: {n_docs} SciFact documents -> {len(texts)} chunks, all-MiniLM-L6-v2, SentenceChunker(200)")
    print(f"  raw embedder encode          {raw:7.2f} s  {len(texts) / raw:7.1f} chunks/s")
    print(f"  ragbench ingest (job)        {ours:7.2f} s  {len(texts) / ours:7.1f} chunks/s  ratio vs raw {raw / ours:.3f} (goal >= 0.90)")
    print(f"  ragbench ingest, no langdet  {ours_nolang:7.2f} s  {len(texts) / ours_nolang:7.1f} chunks/s  ratio vs raw {raw / ours_nolang:.3f}")
    llama(tmp, texts, ours, llama_python)


def llama(tmp: Path, texts: list[str], ours: float, llama_python: str | None) -> None:
    python = llama_python or sys.executable
    probe = subprocess.run([python, "-c", "import llama_index.core, llama_index.vector_stores.lancedb"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        print("  LlamaIndex IngestionPipeline: UNAVAILABLE (no llama-index-core / llama-index-vector-stores-lancedb "
              f"in {python}; pass --llama-python)")
        return
    (tmp / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    out = subprocess.run([python, str(ROOT / "bench" / "_llama_ingest.py"), str(tmp / "texts.json"), str(tmp / "llama")],
                         capture_output=True, text=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("SECONDS")), None)
    if line is None:
        print(f"  LlamaIndex IngestionPipeline: FAILED\n{out.stderr[-2000:]}")
        return
    seconds, rows = float(line.split()[1]), int(line.split()[3])
    print(f"  LlamaIndex IngestionPipeline {seconds:7.2f} s  {rows / seconds:7.1f} chunks/s  ({rows} rows; same chunks, "
          f"same MiniLM) -> ragbench is {seconds / ours:.2f}x as fast (goal >= 2x)")


def _rss_worker(n: int, store_dir: str) -> None:
    """Child process: ingest n synthetic documents (lexical store), print peak RSS in MiB."""
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
    start = time.perf_counter()
    job = ingest_items(iter_jsonl(lines(), source="synthetic"), tenant="rss", store=store, embedder=None,
                       chunker=SentenceChunker(max_words=40, overlap=0), language=None)
    peak = peak_rss_mib()
    print(f"RSS {base:.1f} {peak:.1f} {job.chunks_created} {time.perf_counter() - start:.1f}")


def rss(tmp: Path, sizes: list[int]) -> None:
    print("peak RSS while ingesting synthetic corpora (lexical store, language detection off):")
    peaks = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--rss-worker", str(n), str(tmp / f"rss-{n}")],
                             capture_output=True, text=True, check=True)
        base, peak, chunks, secs = out.stdout.split("RSS ")[1].split()
        peaks.append(float(peak))
        print(f"  {n:7d} docs ({int(chunks):7d} chunks, {float(secs):6.1f} s): peak RSS {float(peak):7.1f} MiB "
              f"(after imports {float(base):6.1f} MiB)")
    print(f"  peak RSS ratio, largest / smallest corpus ({sizes[-1] // sizes[0]}x the documents): {peaks[-1] / peaks[0]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=400)
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
        throughput(tmp, args.docs, args.llama_python)
        rss(tmp, [int(s) for s in args.rss_sizes.split(",")])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
