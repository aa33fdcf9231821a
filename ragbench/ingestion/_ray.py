"""Ingestion on Ray (``executor=ray``): actors load, detect, chunk and embed; the driver writes.

The per-document work runs on a pool of :class:`PrepareActor` Ray actors, each holding the chunker
and the embedder for its lifetime. The pool is kept by this process and reused by every ingestion
call with the same parts (:func:`actor_pool`): all tenants of a run's dataset, and later runs,
pay the actors' start once. What the actors return goes, in the input's order, through the same
:class:`~ragbench.ingestion._runner.Runner` as a local job: the job record, the per-document
ledger and the atomic per-tenant commit are written by the driver only, so the exactly-once
protocol of :mod:`ragbench.ingestion.ingest` holds unchanged. Unchanged documents are not
embedded: the driver sends each item with what is committed for its key
(:meth:`~ragbench.ingestion._runner.Runner.committed`). A killed actor is restarted and its call
redone (``executor.max_retries``); preparing is pure, so a redone batch gives the same documents.
A killed driver leaves what any killed job leaves: a re-run skips the committed documents and
finishes the others.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain, islice

from ragbench.executor import ExecutorSettings, ensure_ray, in_order, kill_actors
from ragbench.ingestion._committed import Committed
from ragbench.ingestion._runner import Preparer, Runner, Work
from ragbench.ingestion.loaders import Item

#: Items whose committed state the driver reads at once, before sending them (at least; see :func:`_windows`).
WINDOW_ITEMS = 1024

# Test hooks: called on the driver with the worker's pid for each prepared document that comes back.
ON_ROW: list[Callable[[int], None]] = []


class PrepareActor:
    """A Ray actor: prepares batches of items of any tenant (one embedder and chunker, for its lifetime)."""

    def __init__(self, embedder, chunker, max_attempts: int, language, embed_batch: int) -> None:
        self.parts = {
            "embedder": embedder,
            "chunker": chunker,
            "max_attempts": max_attempts,
            "language": language,
            "embed_batch": embed_batch,
        }
        self.preparers: dict[str, Preparer] = {}

    def prepare(self, tenant: str, batch: list[tuple[int, Item, Committed | None]]) -> tuple[int, list[tuple]]:
        """Load, detect, chunk and embed ``batch`` (``(seq, item, committed)``); an unchanged document is
        not embedded. Returns this worker's pid and ``(seq, status, doc, chunks, vectors, seconds)`` per item."""
        start = time.perf_counter()
        preparer = self.preparers.get(tenant)
        if preparer is None:
            preparer = self.preparers[tenant] = Preparer(tenant, **self.parts)
        works = preparer.prepare([(seq, item) for seq, item, _ in batch])
        if preparer.embedder is not None:
            committed = [c for _, _, c in batch]
            fresh = [w for w, c in zip(works, committed) if w.doc is None or c is None or not c.covers(w.doc)]
            preparer.embed_each(fresh)
        seconds = (time.perf_counter() - start) / max(1, len(works))
        return os.getpid(), [(w.seq, w.status, w.doc, w.chunks, w.vectors, seconds) for w in works]


@dataclass
class _Pool:
    key: tuple
    actors: list
    keep: tuple = field(repr=False)  # the parts whose ids are in ``key``: alive, so no id is reused


_POOL: list[_Pool] = []  # the one pool kept (replaced when the parts or the Ray session change)
_SCOPES = [0]  # open pool_scope blocks: the pool outlives an ingestion call only inside one


@contextmanager
def pool_scope() -> Iterator[None]:
    """Ingestion calls inside the block reuse one actor pool; it is released (its CPUs freed) at the end.

    Outside any block each call releases its pool when it ends: idle actors would hold their CPUs
    and starve what runs next on the cluster (the evaluation's actors, a sweep's trials).
    """
    _SCOPES[0] += 1
    try:
        yield
    finally:
        _SCOPES[0] -= 1
        if _SCOPES[0] == 0:
            release_pool(_ray_module())


def _ray_module():
    import sys

    return sys.modules.get("ray")


def actor_pool(ray, runner: Runner, executor: ExecutorSettings) -> list:
    """The :class:`PrepareActor` handles for ``runner``'s parts: the kept pool when the parts (the same
    embedder, chunker and settings objects) and the Ray session are the same, else a new pool.

    Actors start in the background; the first call waits for them. A replaced pool's actors are killed.
    """
    context = ray.get_runtime_context()
    key = (
        context.gcs_address,
        context.get_node_id(),
        context.get_job_id(),
        id(runner.embedder),
        id(runner.chunker),
        id(runner.language),
        runner.max_attempts,
        runner.embed_batch,
        executor.actors,
        executor.actor_cpus,
        executor.max_retries,
    )
    if _POOL and _POOL[0].key == key:
        return _POOL[0].actors
    release_pool(ray)
    remote = ray.remote(PrepareActor).options(
        num_cpus=executor.actor_cpus, max_restarts=executor.max_retries, max_task_retries=executor.max_retries
    )
    args = (runner.embedder, runner.chunker, runner.max_attempts, runner.language, runner.embed_batch)
    actors = [remote.remote(*args) for _ in range(executor.actors)]
    _POOL.append(_Pool(key, actors, keep=(runner.embedder, runner.chunker, runner.language)))
    return actors


def release_pool(ray=None) -> None:
    """Kill the kept actors (if Ray is still up) and forget them."""
    while _POOL:
        kill_actors(ray, _POOL.pop().actors)


def _prepared(ray, actors: list, tenant: str, calls_rows: Iterator[list[tuple]]) -> Iterator[tuple[int, tuple, Item]]:
    """``(pid, prepared row, item)`` in the input's order, for each call's rows (``(seq, item, committed)``)
    of ``calls_rows``, read only as calls are sent: at most two calls in flight per actor (bounded memory)."""
    send = lambda actor, rows: actor.prepare.remote(tenant, rows)
    for rows, (pid, out) in in_order(ray, actors, calls_rows, send):
        yield from ((pid, row, item) for row, (_, item, _) in zip(out, rows))


def _windows(runner: Runner, items: Iterable[Item], window: int) -> Iterator[list[tuple[int, Item, Committed | None]]]:
    """The input as ``(seq, item, committed)`` rows, ``window`` items at a time: what is committed for a
    window's keys is read just before its items are sent, so the driver never lists the whole input."""
    it, seq = iter(items), 0
    while part := list(islice(it, window)):
        committed = runner.committed(part)  # decided before dispatch, by the rule of the local plan
        yield [(seq + i, item, committed.get(item.key)) for i, item in enumerate(part)]
        seq += len(part)


def _calls(windows: Iterator[list[tuple]], batch_size: int) -> Iterator[list[tuple]]:
    for rows in windows:
        yield from (rows[start : start + batch_size] for start in range(0, len(rows), batch_size))


def ray_batches(runner: Runner, items: Iterable[Item], pacer, executor: ExecutorSettings) -> Iterator[list[Work]]:
    """Prepared items from Ray actors, in the input's order, in batches of about ``pacer.target`` chunks.

    The same batching as the local path (``_Pacer.batches`` in :mod:`ragbench.ingestion.ingest`); the runner
    then plans and commits each batch on the driver with the actors' vectors. The input is read a window
    of items at a time (:func:`_windows`), so the driver's memory does not grow with the corpus.
    """
    ray = ensure_ray(executor)
    it = iter(items)
    first = next(it, None)
    if first is None:
        return
    runner.prepared = True
    actors = actor_pool(ray, runner, executor)  # a new pool's actors start while the ledger is read
    window = max(WINDOW_ITEMS, 4 * executor.batch_size * executor.actors)
    calls = _calls(_windows(runner, chain([first], it), window), executor.batch_size)
    try:
        yield from pacer.batches(_works(_prepared(ray, actors, runner.tenant, calls)))
    finally:
        if _SCOPES[0] == 0:
            release_pool(ray)


def _works(prepared: Iterator[tuple[int, tuple, Item]]) -> Iterator[Work]:
    """The actors' rows as the runner's ``Work`` items, in the input's order."""
    for pid, (seq, status, doc, chunk_list, vectors, seconds), item in prepared:
        for hook in list(ON_ROW):
            hook(pid)
        work = Work(seq, item, status, doc=doc, chunks=chunk_list, vectors=vectors)
        work.started -= seconds  # the actor's share of this document's time
        yield work
