"""LlamaIndex side of bench_ingest.py: an ``IngestionPipeline`` into LanceDB with ragbench's own embedder.

    python bench/_llama_ingest.py TEXTS_JSON URI [--embedder minilm|static] [--batch N]
    python bench/_llama_ingest.py --corpus CORPUS_JSONL URI [--embedder ...] [--batch N] [--chunk-size T]

Run by bench_ingest.py with an interpreter that has llama-index-core and
llama-index-vector-stores-lancedb (``make bench-llama`` builds ``.venv-llama``). Reads a JSON
list of chunk texts, turns them into ``TextNode``s and runs
``IngestionPipeline(transformations=[embedding], vector_store=LanceDBVectorStore(...))``, where
``embedding`` is a LlamaIndex ``BaseEmbedding`` around the same embedder object ragbench uses:

- ``minilm`` (default): ``SentenceTransformerEmbedder()``, the packaged all-MiniLM-L6-v2;
- ``static``: ``ragbench.embedders.static.static_embedder()``, the same class on a
  StaticEmbedding model that costs next to nothing, to measure LlamaIndex's own overhead.

``--batch`` is LlamaIndex's ``embed_batch_size`` (default: LlamaIndex's own, 10 in
llama-index-core 0.14); the ragbench embedder keeps its own batch size (64) inside each call.
The embedder and a first LanceDB write are warmed up first (as bench_ingest.py does for
ragbench's side); only ``pipeline.run`` is timed. Prints exactly one line on
stdout: ``SECONDS <s> ROWS <n>`` (rows: the LanceDB table's ``count_rows()``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.schema import TextNode
from llama_index.vector_stores.lancedb import LanceDBVectorStore

TABLE = "chunks"
WARM_UP_TABLE = "warm_up"
WARM_UP_TEXTS = 256  # as bench_ingest.py warms up ragbench's side


def _minilm():
    from ragbench.embedders import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def _static():
    from ragbench.embedders.static import static_embedder

    return static_embedder()


EMBEDDERS: dict[str, Callable[[], Any]] = {"minilm": _minilm, "static": _static}


class RagbenchEmbedding(BaseEmbedding):
    """A ragbench ``Embedder`` (``embed_documents`` / ``embed_queries``) as a LlamaIndex embedding.

    Example:
        >>> RagbenchEmbedding(SentenceTransformerEmbedder(), embed_batch_size=64)  # doctest: +SKIP
    """

    _embedder: Any = PrivateAttr()

    def __init__(self, embedder: Any, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.model_id, **kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "RagbenchEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_queries([query])[0].tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_documents(texts).tolist()


def _warm_up(embedding: BaseEmbedding, texts: list[str], db: Any) -> None:
    """Pay what a process pays once, not per node: the first forward passes, LanceDB's first table write."""
    embedding.get_text_embedding_batch(texts[:WARM_UP_TEXTS])
    store = LanceDBVectorStore(connection=db, table_name=WARM_UP_TABLE, mode="overwrite")
    IngestionPipeline(transformations=[embedding], vector_store=store).run(nodes=[TextNode(text=t) for t in texts[:8]])
    db.drop_table(WARM_UP_TABLE)


def run(texts: list[str], uri: str, *, embedder: Any, batch: int | None) -> tuple[float, int]:
    """Ingest ``texts`` with a LlamaIndex pipeline into LanceDB at ``uri``; (seconds of ``pipeline.run``, rows)."""
    import lancedb

    embedding = RagbenchEmbedding(embedder, **({"embed_batch_size": batch} if batch else {}))
    db = lancedb.connect(uri)
    for name in (TABLE, WARM_UP_TABLE):
        # LanceDBVectorStore opens an existing table and appends to it even with mode="overwrite"
        # (it overwrites only when it creates the table): start from none, so reruns count the same.
        db.drop_table(name, ignore_missing=True)
    _warm_up(embedding, texts, db)
    store = LanceDBVectorStore(uri=uri, table_name=TABLE, mode="overwrite")
    pipeline = IngestionPipeline(transformations=[embedding], vector_store=store)
    nodes = [TextNode(text=t, id_=f"n{i}") for i, t in enumerate(texts)]
    start = time.perf_counter()
    pipeline.run(nodes=nodes)
    seconds = time.perf_counter() - start
    return seconds, store.table.count_rows()


def run_corpus(corpus: str, uri: str, *, embedder: Any, batch: int | None, chunk_size: int) -> tuple[float, int]:
    """The whole job the LlamaIndex way: read the JSONL corpus into ``Document``s, split them with
    ``SentenceSplitter`` (its standard chunker) and embed, in one ``IngestionPipeline`` into
    LanceDB. Reading, splitting, embedding and writing are timed."""
    import lancedb
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    embedding = RagbenchEmbedding(embedder, **({"embed_batch_size": batch} if batch else {}))
    db = lancedb.connect(uri)
    for name in (TABLE, WARM_UP_TABLE):
        db.drop_table(name, ignore_missing=True)
    lines = Path(corpus).read_text(encoding="utf-8").splitlines()
    _warm_up(embedding, [json.loads(line)["text"] for line in lines[:WARM_UP_TEXTS]], db)
    store = LanceDBVectorStore(uri=uri, table_name=TABLE, mode="overwrite")
    splitter = SentenceSplitter(chunk_size=chunk_size, chunk_overlap=chunk_size // 8)
    pipeline = IngestionPipeline(transformations=[splitter, embedding], vector_store=store)
    start = time.perf_counter()
    documents = []
    with open(corpus, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            documents.append(
                Document(text=record["text"], doc_id=str(record["id"]), metadata={"title": record.get("title", "")})
            )
    pipeline.run(documents=documents)
    seconds = time.perf_counter() - start
    return seconds, store.table.count_rows()


def _batch(value: str) -> int:
    n = int(value)
    if not 1 <= n <= 2048:  # BaseEmbedding.embed_batch_size accepts 1..2048
        raise argparse.ArgumentTypeError(f"--batch must be in 1..2048, got {n}")
    return n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("texts_json", help="JSON file holding a list of chunk texts (with --corpus: a JSONL corpus)")
    parser.add_argument(
        "--corpus",
        action="store_true",
        help="texts_json is a JSONL corpus (id, title, text): read, split and embed it the LlamaIndex way",
    )
    parser.add_argument("--chunk-size", type=int, default=256, help="SentenceSplitter chunk_size in tokens (--corpus)")
    parser.add_argument("uri", help="LanceDB folder to write (table 'chunks')")
    parser.add_argument("--embedder", choices=sorted(EMBEDDERS), default="minilm")
    parser.add_argument(
        "--batch", type=_batch, default=None, help="LlamaIndex embed_batch_size (default: LlamaIndex's own)"
    )
    args = parser.parse_args(argv)
    if args.corpus:
        seconds, rows = run_corpus(
            args.texts_json, args.uri, embedder=EMBEDDERS[args.embedder](), batch=args.batch, chunk_size=args.chunk_size
        )
    else:
        texts = json.loads(Path(args.texts_json).read_text(encoding="utf-8"))
        seconds, rows = run(texts, args.uri, embedder=EMBEDDERS[args.embedder](), batch=args.batch)
    print(f"SECONDS {seconds:.4f} ROWS {rows}", flush=True)


if __name__ == "__main__":
    main()
