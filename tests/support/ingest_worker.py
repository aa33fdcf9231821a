"""A separate process that ingests a folder: used by the crash (kill -9) and concurrency tests.

    python -m tests.support.ingest_worker STORE_URI TENANT PATH [--batch-size N] [--max-words N]
        [--maintain-every-rows N]

Lexical store (no embedder), so the process starts in about a second. Prints ``READY``
once imports are done (then, with ``--wait-go``, waits for a line on stdin) and
``DONE <job_id> ...`` at the end.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ingest_worker")
    parser.add_argument("store")
    parser.add_argument("tenant")
    parser.add_argument("path")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-words", type=int, default=12)
    parser.add_argument("--maintain-every-rows", type=int, default=0, help="store.maintain_every_rows")
    parser.add_argument("--wait-go", action="store_true", help="After READY, wait for a line on stdin.")
    args = parser.parse_args(argv)
    from ragbench.data.chunking import SentenceChunker
    from ragbench.ingestion.ingest import ingest_path
    from ragbench.language import detect_language
    from ragbench.stores.lancedb import LanceDBStore

    detect_language("Warm up: Zagreb je grad. Београд је град. The city.")  # loads lingua models
    import lancedb  # noqa: F401 - loaded before READY so a kill lands inside the job

    store = LanceDBStore(args.store, maintain_every_rows=args.maintain_every_rows)
    store.tenant_db(args.tenant)  # connect before READY too
    print("READY", flush=True)
    if args.wait_go:
        sys.stdin.readline()
    job = ingest_path(
        args.path,
        tenant=args.tenant,
        store=store,
        embedder=None,
        chunker=SentenceChunker(max_words=args.max_words, overlap=1),
        batch_size=args.batch_size,
    )
    print("DONE", job.job_id, job.status, job.completed, job.skipped, job.failed, flush=True)
    return 0 if job.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
