"""What an MLflow trace of one query costs: in the caller, and in MLflow's background export to the store.

Each round starts one process per span batch size (MLflow reads ``MLFLOW_ASYNC_TRACE_LOGGING_MAX_SPAN_BATCH_SIZE``
once, when it sets up tracing), rounds alternate the sizes so a noisy machine hurts them alike. A process
records ``--traces`` traces shaped like the service's (a ``query`` root with ``retrieve`` (5 documents) and
``generate`` (token usage) spans) through :class:`ragbench.tracking.traces.Tracer` into a fresh sqlite store,
then flushes. It reports the caller's time per trace and the time until every trace is written (the
export's work, done on background threads of the same process: on the service, beside the next request).

    python bench/bench_trace_export.py                       # batch sizes 5 (MLflow's default) and 100 (ragbench's)
    python bench/bench_trace_export.py --sizes 1 5 100 --traces 80 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from ragbench.tracking.traces import Tracer, documents
from ragbench.types import Hit
import mlflow

uri, n = sys.argv[1], int(sys.argv[2])
mlflow.set_tracking_uri(uri)
tracer = Tracer(uri, mlflow.set_experiment("bench").experiment_id, sample=1.0)
hits = [Hit(chunk_id=f"c{i}", doc_id=f"d{i}", text="word " * 200, score=0.5, rank=i, title="t", tenant="acme")
        for i in range(5)]

def one(i):
    t = tracer.start("query", key=f"r{i}", inputs={"question": "Why?"}, tags={"tenant": "acme", "request_id": f"r{i}"})
    with t.span("retrieve", "RETRIEVER", inputs={"queries": ["Why?"], "k": 5}) as span:
        span.set_outputs(documents(hits))
    with t.span("generate", "LLM", inputs={"questions": ["Why?"]}) as span:
        span.set_attributes({"mlflow.chat.tokenUsage": {"input_tokens": 900, "output_tokens": 40, "total_tokens": 940},
                             "mlflow.llm.model": "bench"})
        span.set_outputs(["Because."])
    t.end(outputs={"answer": "Because."})

for i in range(5):  # warm-up: tables, sessions, imports
    one(-1 - i)
tracer.flush()
start = time.perf_counter()
for i in range(n):
    one(i)
called = time.perf_counter()
tracer.flush()
done = time.perf_counter()
client = mlflow.MlflowClient(uri)
written = len(client.search_traces(locations=[tracer.experiment_id], max_results=1000))
time.sleep(6)  # past MLflow's 5 s batch interval: a trace the flush missed would be written by now
late = len(client.search_traces(locations=[tracer.experiment_id], max_results=1000))
print(json.dumps({"caller_ms": 1000 * (called - start) / n, "total_ms": 1000 * (done - start) / n,
                  "written": written, "late": late}))
"""


def one_run(size: int, traces: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="rb-trace-bench-") as tmp:
        env = {**os.environ, "MLFLOW_ASYNC_TRACE_LOGGING_MAX_SPAN_BATCH_SIZE": str(size)}
        done = subprocess.run(
            [sys.executable, "-c", CHILD, f"sqlite:///{tmp}/mlflow.db", str(traces)],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"batch size {size}: the child failed:\n{done.stderr[-3000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        # MLflow logs a trace it could not write (e.g. sqlite "database is locked" past its retries) and goes on
        row["export_warnings"] = sum("Failed to" in line for line in done.stderr.splitlines())
        return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 100], help="Span batch sizes to compare.")
    parser.add_argument("--traces", type=int, default=60, help="Traces per process.")
    parser.add_argument("--rounds", type=int, default=3, help="Processes per size (alternating).")
    parser.add_argument("--out", default=None, help="Also write the figures as JSON to this file.")
    args = parser.parse_args(argv)
    runs: dict[int, list[dict[str, float]]] = {s: [] for s in args.sizes}
    for _ in range(args.rounds):
        for size in args.sizes:
            runs[size].append(one_run(size, args.traces))
    print(
        f"{'batch':>6} {'caller ms/trace':>16} {'until written ms/trace':>23} {'written (min)':>14} {'6 s later':>10} {'warnings':>9}"
    )
    figures = {}
    for size, rows in runs.items():
        caller = statistics.median(r["caller_ms"] for r in rows)
        total = statistics.median(r["total_ms"] for r in rows)
        written = min(int(r["written"]) for r in rows)
        late = min(int(r["late"]) for r in rows)
        warnings = sum(r["export_warnings"] for r in rows)
        figures[size] = {"caller_ms": caller, "total_ms": total, "written_min": written, "late_min": late, "runs": rows}
        print(f"{size:>6} {caller:>16.2f} {total:>23.1f} {written:>14} {late:>10} {warnings:>9}")
    base = args.sizes[0]
    for size in args.sizes[1:]:
        print(f"batch {size} vs {base}: export time ratio {figures[size]['total_ms'] / figures[base]['total_ms']:.2f}")
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
