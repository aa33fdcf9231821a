"""Warm-cache re-run vs first run of a judged evaluation (goal: re-run <= 5% of the first run's time).

Starts a real vLLM CPU server on the tiny Qwen2 (long-context copy) as the ragas judge, then runs
the same evaluation twice in one home: HotpotQA (shared), BM25, extractive answers, ragas metrics.
The first run indexes the corpus and calls the judge; the identical re-run finds the index
unchanged and every judge call in the cache. Prints both times and their ratio.

    .venv/bin/python bench/bench_cache.py [--questions 8]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the judge harness lives in tests/support


def _run(overrides: list[str]) -> tuple[float, object, int]:
    from ragbench.config import build, compose
    from ragbench.evaluation.run import run_experiment

    parts = build(compose(overrides))
    t0 = time.perf_counter()
    result = run_experiment(parts)
    return time.perf_counter() - t0, result, parts.metrics.judge.calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=8)
    parser.add_argument("--profile", default=None, help="Write a cProfile of the warm re-run to this file.")
    args = parser.parse_args()
    from ragbench.serving import VLLMServer
    from tests.support.judge import tiny_qwen2_long_context

    with tempfile.TemporaryDirectory() as tmp:
        model = tiny_qwen2_long_context(Path(tmp) / "tiny-judge")
        outputs = json.dumps({"backend": "xgrammar", "disable_any_whitespace": True})
        with VLLMServer(
            model,
            served_model_name="tiny-judge",
            max_model_len=4096,
            watch=False,
            env={"VLLM_ENABLE_V1_MULTIPROCESSING": "0"},
            extra_args=["--structured-outputs-config", outputs],
        ) as server:
            overrides = [
                f"home={Path(tmp) / 'home'}",
                "progress=false",
                "dataset=hotpotqa",
                "retriever=bm25",
                "k=3",
                f"max_queries={args.questions}",
                "metrics=ragas",
                f"judge.base_url={server.base_url}",
                "judge.max_tokens=160",
                "judge.max_string_chars=40",
                "judge.max_list_items=3",
                "max_failure_rate=1.0",
                "judge.model=tiny-judge",  # named: a warm re-run needs no server
            ]
            first_s, first, first_calls = _run(overrides)
            if args.profile:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            warm_s, warm, warm_calls = _run(overrides)
            if args.profile:
                profiler.disable()
                profiler.dump_stats(args.profile)
    same = [r.metrics for r in first.report.results] == [r.metrics for r in warm.report.results]
    print(f"questions: {args.questions}; judge calls: first run {first_calls}, warm re-run {warm_calls}")
    print(f"first run:     {first_s:8.2f} s (indexing + retrieval + judge calls)")
    print(f"warm re-run:   {warm_s:8.2f} s (index unchanged, judge calls from the cache)")
    print(f"ratio warm/first: {warm_s / first_s:.3%} (goal <= 5%); identical metrics: {same}")


if __name__ == "__main__":
    main()
