"""executor=ray vs executor=local on the same machine and data (issue 19).

Ingestion: ``--docs`` synthetic documents (3 sentences each, one chunk per document) through
:func:`ragbench.ingestion.ingest.ingest_items` into a fresh LanceDB tenant, with the static embedder
(the sentence-transformers code path at next to no model cost: shows the engine's overhead) and with
MiniLM (shows the model's cost): local, Ray with 1 actor (1 CPU, then every core), Ray with 2 actors.

Evaluation: the SciFact questions (``--questions``, BM25, extractive answers, the default metrics)
on one ingested store: the local per-question loop vs the Ray one (1 and 2 actors).

Ingestion on Ray is timed twice per pool size: ``cold`` (the first call with these parts: it starts
the actor pool) and ``warm`` (the same parts again, into a fresh store: the pool the process keeps
is reused, as by a run's other tenants). The time to the first prepared document is printed apart.
Evaluation figures include their actors' start (one pool per run). Ratios are
throughput(ray) / throughput(local); the goals are >= 0.8 with one worker. Prints the figures and
the machine's load (1-minute load average, cores); asserts nothing.

    python bench/bench_ray.py [--docs 2000] [--questions 300] [--embedders static,minilm]
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

VOCAB = [f"w{i}" for i in range(5_000)]
#: (actors, CPUs each): one actor on one CPU (Ray's default), one actor holding every core (as the local
#: process does: Ray sets an actor's OMP/torch threads to its CPUs, so a 1-CPU actor embeds on one thread),
#: and two actors of one CPU.
POOLS = [(1, 1.0), (1, float(os.cpu_count() or 1)), (2, 1.0)]


@functools.cache
def chunker():
    """One chunker for every run: the same parts, so the actor pool the process keeps is reused."""
    from ragbench.data.chunking import WholeDocumentChunker

    return WholeDocumentChunker()


def documents(n: int):
    from ragbench.types import Document

    for i in range(n):
        rng = random.Random(i)
        text = " ".join(" ".join(rng.choices(VOCAB, k=20)).capitalize() + "." for _ in range(3))
        yield Document(id=f"d{i}", tenant="bench", text=text, source="synthetic", language="en")


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def ingest_once(root: Path, embedder, n: int, executor) -> tuple[float, float]:
    """Seconds to ingest ``n`` documents into a fresh store, and seconds until the first prepared
    document came back from Ray (the actor pool's start; 0 locally)."""
    from ragbench.ingestion import _ray
    from ragbench.ingestion.ingest import ingest_items
    from ragbench.ingestion.loaders import Item
    from ragbench.stores.lancedb import LanceDBStore

    store = LanceDBStore(Path(tempfile.mkdtemp(dir=root)), space=embedder.space)
    first: list[float] = []
    hook = lambda pid: first or first.append(time.perf_counter())
    _ray.ON_ROW.append(hook)
    start = time.perf_counter()
    job = ingest_items(
        (Item.from_document(d) for d in documents(n)),
        tenant="bench",
        store=store,
        embedder=embedder,
        chunker=chunker(),
        language=None,
        executor=executor,
    )
    seconds = time.perf_counter() - start
    _ray.ON_ROW.remove(hook)
    assert job.completed == n and store.count("bench") == n, (job, store.count("bench"))
    return seconds, (first[0] - start if first else 0.0)


def bench_ingest(root: Path, n: int, names: list[str], address: str) -> None:
    from ragbench.embedders import SentenceTransformerEmbedder
    from ragbench.embedders.static import static_embedder
    from ragbench.executor import ExecutorSettings
    from ragbench.ingestion.ingest import one_actor_pool

    for name in names:
        embedder = static_embedder() if name == "static" else SentenceTransformerEmbedder()
        embedder.embed_documents(["warm up"] * 8)
        local, _ = ingest_once(root, embedder, n, None)
        print(f"ingest {name:6s} local      : {n / local:8.1f} docs/s ({local:.1f} s; {load()})", flush=True)
        for actors, cpus in POOLS:
            ex = ExecutorSettings(kind="ray", address=address, actors=actors, batch_size=256, actor_cpus=cpus)
            with one_actor_pool():  # as a run's tenants: the second call reuses the first one's actors
                for run in ("cold", "warm"):
                    seconds, startup = ingest_once(root, embedder, n, ex)
                    print(
                        f"ingest {name:6s} ray x{actors} {cpus:g} cpu {run}: {n / seconds:8.1f} docs/s ({seconds:.1f} s; ratio to "
                        f"local {local / seconds:.2f}; of which {startup:.1f} s to the first prepared document; without "
                        f"it {n / (seconds - startup):.1f} docs/s, ratio {local / (seconds - startup):.2f}; {load()})",
                        flush=True,
                    )


def bench_evaluate(root: Path, questions: int, address: str) -> None:
    from omegaconf import OmegaConf

    from ragbench.config import build, compose
    from ragbench.evaluation._ray import ray_answerer
    from ragbench.evaluation.evaluate import evaluate
    from ragbench.evaluation.run import ingest_dataset
    from ragbench.executor import ExecutorSettings

    cfg = compose(
        [f"home={root / 'eval'}", "dataset=beir_scifact", "retriever=bm25", "generator=extractive", "progress=false"]
        + [f"max_queries={questions}"]
    )
    parts = build(cfg)
    ingest_dataset(parts)
    parts.warm_up(list(parts.dataset.tenants))
    n = len(parts.dataset.samples)
    start = time.perf_counter()
    evaluate(parts.dataset, parts.pipeline, parts.metrics)
    local = time.perf_counter() - start
    print(f"evaluate local      : {n / local:8.1f} questions/s ({local:.1f} s; {load()})", flush=True)
    config = OmegaConf.to_container(cfg, resolve=True)
    from ragbench.evaluation import _ray

    for actors, cpus in POOLS:
        ex = ExecutorSettings(kind="ray", address=address, actors=actors, batch_size=32, actor_cpus=cpus)
        first: list[float] = []
        hook = lambda pid, first=first: first or first.append(time.perf_counter())
        _ray.ON_BATCH.append(hook)
        start = time.perf_counter()
        evaluate(parts.dataset, parts.pipeline, parts.metrics, answer=ray_answerer(config, ex))
        seconds = time.perf_counter() - start
        _ray.ON_BATCH.remove(hook)
        startup = first[0] - start - 32 * local / n  # minus the first batch's own (local-speed) work
        print(
            f"evaluate ray x{actors} {cpus:g} cpu: {n / seconds:8.1f} questions/s ({seconds:.1f} s; ratio to local "
            f"{local / seconds:.2f}; about {startup:.1f} s of pool start (first batch back minus its work); "
            f"without it ratio {local / (seconds - startup):.2f}; {load()})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--embedders", default="static,minilm")
    parser.add_argument("--skip", choices=["ingest", "evaluate"], default=None)
    args = parser.parse_args()
    import ray

    from ragbench.executor import start_ray

    start_ray(ray, num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    address = ray.get_runtime_context().gcs_address
    print(f"Ray {ray.__version__}, num_cpus=2; {load()}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="bench_ray_") as tmp:
            if args.skip != "ingest":
                bench_ingest(Path(tmp), args.docs, args.embedders.split(","), address)
            if args.skip != "evaluate":
                bench_evaluate(Path(tmp), args.questions, address)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
