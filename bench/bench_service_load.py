"""Load test of the query API: N concurrent clients for S seconds against ``ragbench serve`` on the demo tenants.

A ``ragbench serve`` process is started here on a temporary home with the demo dataset (API keys, limits off
so the load is not refused). First the same questions are answered one at a time by the in-process pipeline
(``RAGPipeline.ask``, no HTTP) and by the service (one client), side by side (each question both ways in turn,
the order alternating), so the service's own overhead shows as a ratio of p50s; then ``--clients`` clients
(threads with keep-alive connections) send questions for ``--seconds``. It prints requests/s, p50/p95/p99,
errors and the server's memory (RSS of uvicorn and its workers) at the start and end of the load.

    python bench/bench_service_load.py                          # extractive generator, 50 clients, 60 s
    python bench/bench_service_load.py --generator openai       # SmolLM2 behind a local vLLM server
    python bench/bench_service_load.py --clients 10 --seconds 20 --trace-sample 0
    python bench/bench_service_load.py --clients 1 --seconds 5 --trace-sample 1   # the overhead of tracing all
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the service harness lives in tests/support

from tests.support.dashboard import free_port
from tests.support.service import start_api, stop_api

ROOT = Path(__file__).resolve().parents[1]
TENANTS = ("acme-robotics", "harbor-health", "lastavica-logistika")


def demo_questions() -> list[tuple[str, str]]:
    """``(tenant, question)`` pairs from the demo dataset, tenants interleaved."""
    per = []
    for tenant in TENANTS:
        lines = (ROOT / "datasets" / "demo" / tenant / "queries.jsonl").read_text().splitlines()
        per.append([(tenant, json.loads(line)["text"]) for line in lines if line.strip()])
    return [q for group in zip(*per) for q in group]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn's workers), MiB."""
    import psutil

    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


def side_by_side(overrides: list[str], client, questions: list[tuple[str, str]], rounds: int) -> tuple[float, float]:
    """p50 ms of ``RAGPipeline.ask`` (in this process) and of ``POST /v1/query`` (one client) on ``questions``.

    Measured side by side: each question is asked both ways in turn, the order alternating, ``rounds``
    times over, so a noisy moment of the shared machine falls on both (after one warm-up call each)."""
    from ragbench.config import build, compose
    from ragbench.schema import QueryRequest

    pipeline = build(compose([*overrides, "progress=false"])).pipeline

    def local(tenant: str, question: str) -> None:
        pipeline.ask(QueryRequest(tenant=tenant, question=question))

    def served(tenant: str, question: str) -> None:
        client.post("/v1/query", json={"tenant": tenant, "question": question}).raise_for_status()

    for ask in (local, served):
        ask(*questions[0])
    lat: dict[str, list[float]] = {"local": [], "served": []}
    for n, (tenant, question) in enumerate(questions * rounds):
        for ask in (local, served) if n % 2 == 0 else (served, local):
            t0 = time.perf_counter()
            ask(tenant, question)
            lat[ask.__name__].append((time.perf_counter() - t0) * 1000)
    return percentile(lat["local"], 50), percentile(lat["served"], 50)


def run_load(url: str, key: str, questions, *, clients: int, seconds: float, pid: int) -> dict:
    """``clients`` threads send questions for ``seconds``; latencies, errors and memory samples."""
    import httpx

    results: list[tuple[int, float, str]] = []
    memory: list[float] = [rss_mb(pid)]
    stop = time.perf_counter() + seconds
    lock = threading.Lock()

    def client(i: int) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=headers, timeout=300) as http:
            n = i
            while time.perf_counter() < stop:
                tenant, question = questions[n % len(questions)]
                n += clients
                t0 = time.perf_counter()
                try:
                    resp = http.post("/v1/query", json={"tenant": tenant, "question": question})
                    error = "" if resp.status_code == 200 else f"HTTP {resp.status_code}: {resp.text[:200]}"
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                with lock:
                    results.append((i, (time.perf_counter() - t0) * 1000, error))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(2)
        memory.append(rss_mb(pid))
    wall = time.perf_counter() - start
    lat = [ms for _, ms, _ in results]
    errors = [e for *_, e in results if e]
    return {
        "requests": len(results),
        "rps": len(results) / wall,
        "p50_ms": percentile(lat, 50),
        "p95_ms": percentile(lat, 95),
        "p99_ms": percentile(lat, 99),
        "errors": len(errors),
        "first_errors": errors[:3],
        "rss_start_mb": memory[0],
        "rss_end_mb": memory[-1],
        "rss_max_mb": max(memory),
        "rss_median_mb": statistics.median(memory),
        "rss_samples_mb": [round(m) for m in memory],  # every 2 s
    }


def _llm_server(args):
    """A vLLM server on SmolLM2 (``--generator openai`` without ``--llm-url``), else ``None``."""
    if args.generator != "openai" or args.llm_url:
        return None
    from ragbench.models import default_models_dir, ensure_model
    from ragbench.serving import VLLMServer

    model = ensure_model(default_models_dir() / "smollm2-135m-instruct")
    return VLLMServer(model, served_model_name="smollm2-135m-instruct", max_model_len=2048)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generator", default="extractive", choices=("extractive", "openai"))
    parser.add_argument("--llm-url", default=None, help="A running OpenAI-compatible server (with --generator openai).")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=1, help="ragbench serve --workers (default 1).")
    parser.add_argument(
        "--trace-sample", default="0.1", help="ragbench serve --trace-sample (default 0.1, its default)."
    )
    parser.add_argument("--baseline-n", type=int, default=60, help="Questions of the one-at-a-time comparison.")
    parser.add_argument("--baseline-rounds", type=int, default=2, help="Times each is asked both ways (default 2).")
    parser.add_argument("--out", default=None, help="Also write the figures as JSON to this file.")
    args = parser.parse_args(argv)
    import httpx

    from ragbench.config import build, compose
    from ragbench.evaluation.run import ingest_dataset
    from ragbench.service.keys import KeyStore
    from ragbench.service.settings import service_dir

    llm = _llm_server(args)
    with tempfile.TemporaryDirectory(prefix="rb-service-load-") as tmp:
        if llm is not None:
            llm.start()
        try:
            home = Path(tmp) / "home"
            overrides = [f"home={home}", f"generator={args.generator}"]
            if args.generator == "openai":
                overrides += [f"generator.base_url={args.llm_url or llm.base_url}", "generator.max_tokens=48"]
            ingest_dataset(build(compose([f"home={home}", "progress=false", "generator=extractive"])))
            key = KeyStore(service_dir(home) / "keys.db").create("bench", role="admin")[0]
            questions = demo_questions()
            port = free_port()
            serve_args = [
                "--requests-limit",
                "none",
                "--tokens-limit",
                "none",
                "--workers",
                str(args.workers),
                "--trace-sample",
                args.trace_sample,
            ]
            proc = start_api(home, port=port, log=Path(tmp) / "api.log", args=serve_args, overrides=overrides[1:])
            url = f"http://127.0.0.1:{port}"
            try:
                with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=300) as http:
                    baseline, service = side_by_side(
                        overrides, http, questions[: args.baseline_n], args.baseline_rounds
                    )
                load = run_load(url, key, questions, clients=args.clients, seconds=args.seconds, pid=proc.pid)
            finally:
                stop_api(proc)
        finally:
            if llm is not None:
                llm.stop()
    figures = {
        "generator": args.generator,
        "clients": args.clients,
        "seconds": args.seconds,
        "workers": args.workers,
        "trace_sample": args.trace_sample,
        "questions": len(questions),
        "in_process_p50_ms": baseline,
        "service_p50_ms": service,
        "overhead_ratio": service / baseline,
        **load,
    }
    print(
        f"{args.generator}: one at a time, in-process p50 {baseline:.1f} ms, service p50 {service:.1f} ms "
        f"(x{service / baseline:.2f}; goal <= 1.2)"
    )
    print(
        f"{args.clients} clients x {args.seconds:.0f} s: {load['requests']} requests, {load['rps']:.1f} req/s, "
        f"p50 {load['p50_ms']:.0f} ms, p95 {load['p95_ms']:.0f} ms, p99 {load['p99_ms']:.0f} ms, "
        f"{load['errors']} errors {load['first_errors']}"
    )
    print(
        f"server memory (uvicorn + workers): {load['rss_start_mb']:.0f} MiB at the start, "
        f"{load['rss_end_mb']:.0f} MiB at the end, {load['rss_max_mb']:.0f} MiB at most"
    )
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2))
    return 1 if load["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
