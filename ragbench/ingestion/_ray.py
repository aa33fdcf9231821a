"""Ingestion on Ray (``executor=ray``): actors load, detect, chunk and embed; the driver writes.

The per-document work runs on Ray Data (``map_batches`` with a pool of :class:`PrepareActor`,
each holding the chunker and the embedder). What they return goes, in the input's order,
through the same :class:`~ragbench.ingestion._runner.Runner` as a local job: the job record,
the per-document ledger and the atomic per-tenant commit are written by the driver only, so
the exactly-once protocol of :mod:`ragbench.ingestion.ingest` holds unchanged. A killed actor
is restarted and its batch redone (``executor.max_retries``); preparing is pure, so a redone
batch gives the same documents. A killed driver leaves what any killed job leaves: a re-run
skips the committed documents and finishes the others.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ragbench.executor import ExecutorSettings, ensure_ray, map_actors
from ragbench.ingestion._runner import Preparer, Runner, Work
from ragbench.ingestion.loaders import Item

# Test hooks: called on the driver with the worker's pid for each prepared document that comes back.
ON_ROW: list[Callable[[int], None]] = []


class PrepareActor:
    """A Ray actor: prepares batches of items (one :class:`Preparer`, one embedder, for its lifetime)."""

    def __init__(self, tenant: str, embedder, chunker, max_attempts: int, language, embed_batch: int) -> None:
        self.preparer = Preparer(
            tenant,
            embedder=embedder,
            chunker=chunker,
            max_attempts=max_attempts,
            language=language,
            embed_batch=embed_batch,
        )

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from ray import cloudpickle

        start = time.perf_counter()
        pairs = [(int(seq), cloudpickle.loads(blob)) for seq, blob in zip(batch["seq"], batch["item"])]
        committed = [cloudpickle.loads(blob) for blob in batch["committed"]]
        works = self.preparer.prepare(pairs)
        if self.preparer.embedder is not None:  # an unchanged document is skipped by the driver: not embedded
            fresh = [w for w, c in zip(works, committed) if w.doc is None or c is None or not c.covers(w.doc)]
            self.preparer.embed_each(fresh)
        seconds = (time.perf_counter() - start) / max(1, len(works))
        out = [cloudpickle.dumps((w.status, w.doc, w.chunks, w.vectors, seconds)) for w in works]
        return {"seq": [w.seq for w in works], "pid": [os.getpid()] * len(works), "work": out}


def _dataset(ray, runner: Runner, items: list[Item], executor: ExecutorSettings):
    from ray import cloudpickle

    committed = runner.committed(items)  # decided here, before dispatch, by the rule of the local plan
    rows = [
        {"seq": seq, "item": cloudpickle.dumps(item), "committed": cloudpickle.dumps(committed.get(item.key))}
        for seq, item in enumerate(items)
    ]
    return map_actors(
        ray.data.from_items(rows),
        PrepareActor,
        constructor={
            "tenant": runner.tenant,
            "embedder": runner.embedder,
            "chunker": runner.chunker,
            "max_attempts": runner.max_attempts,
            "language": runner.language,
            "embed_batch": runner.embed_batch,
        },
        executor=executor,
    )


def ray_batches(runner: Runner, items: Iterable[Item], pacer, executor: ExecutorSettings) -> Iterator[list[Work]]:
    """Prepared items from Ray actors, in the input's order, in batches of about ``pacer.target`` chunks.

    The same batching as the local path (:func:`ragbench.ingestion.ingest._batches`); the runner
    then plans and commits each batch on the driver with the actors' vectors.
    """
    from ray import cloudpickle

    ray = ensure_ray(executor)
    items = list(items)
    if not items:
        return
    runner.prepared = True
    batch: list[Work] = []
    chunks = 0
    for row in _dataset(ray, runner, items, executor).iter_rows():
        seq = int(row["seq"])
        for hook in list(ON_ROW):
            hook(int(row["pid"]))
        status, doc, chunk_list, vectors, seconds = cloudpickle.loads(row["work"])
        work = Work(seq, items[seq], status, doc=doc, chunks=chunk_list, vectors=vectors)
        work.started -= seconds  # the actor's share of this document's time
        batch.append(work)
        chunks += len(work.chunks)
        if chunks >= pacer.target or len(batch) >= pacer.most:
            yield batch
            batch, chunks = [], 0
    if batch:
        yield batch
