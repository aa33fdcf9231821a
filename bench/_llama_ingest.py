"""LlamaIndex side of bench_ingest.py: IngestionPipeline -> LanceDB with the same MiniLM.

Run by bench_ingest.py with an interpreter that has llama-index-core and
llama-index-vector-stores-lancedb (``--llama-python``). Reads chunk texts from a JSON
file, prints ``SECONDS <s> ROWS <n>`` for the timed pipeline run (model load excluded).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(texts_file: str, uri: str) -> None:
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.lancedb import LanceDBVectorStore

    from ragbench.embedders import SentenceTransformerEmbedder

    inner = SentenceTransformerEmbedder()
    inner.embed_documents(["warm up"] * 64)

    class RagbenchEmbedding(BaseEmbedding):
        """The same MiniLM object ragbench uses, behind LlamaIndex's embedding interface."""

        def _get_text_embeddings(self, texts):
            return inner.embed_documents(texts).tolist()

        def _get_text_embedding(self, text):
            return self._get_text_embeddings([text])[0]

        def _get_query_embedding(self, query):
            return inner.embed_queries([query])[0].tolist()

        async def _aget_query_embedding(self, query):
            return self._get_query_embedding(query)

    texts = json.loads(Path(texts_file).read_text(encoding="utf-8"))
    nodes = [TextNode(text=t, id_=f"n{i}") for i, t in enumerate(texts)]
    store = LanceDBVectorStore(uri=uri, table_name="chunks", mode="overwrite")
    pipeline = IngestionPipeline(transformations=[RagbenchEmbedding(embed_batch_size=64)], vector_store=store)
    start = time.perf_counter()
    pipeline.run(nodes=nodes)
    seconds = time.perf_counter() - start
    print(f"SECONDS {seconds:.4f} ROWS {store.table.count_rows()}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
