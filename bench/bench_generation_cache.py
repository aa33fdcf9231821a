"""Identical re-run of an LLM evaluation vs its first run (goal: re-run <= 5% of the first run's time).

The real model (SmolLM2-135M-Instruct, in-process vLLM engine) answers every question of a dataset
in a fresh home: the first run indexes the corpus, loads the engine and generates every answer.
The identical re-run (new components, same home) finds the index unchanged and every answer in
the generation cache: it never loads the engine. Both runs are timed inside one process (imports
excluded, as a notebook or sweep re-runs), then the re-run is repeated as a new CLI process
(imports included) to show what a user waits at the terminal. Answers and metrics must be equal.

    .venv/bin/python bench/bench_generation_cache.py [--dataset demo] [--questions 52]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(overrides: list[str]):
    from ragbench.config import build, compose
    from ragbench.evaluation.run import run_experiment

    parts = build(compose(overrides))
    start = time.perf_counter()
    result = run_experiment(parts)
    return time.perf_counter() - start, result, parts.generator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="demo")
    parser.add_argument("--retriever", default="bm25")
    parser.add_argument("--questions", type=int, default=None, help="At most this many questions (default: all).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        overrides = [
            f"home={tmp}/home",
            f"dataset={args.dataset}",
            f"retriever={args.retriever}",
            "generator=vllm",
            "llm=smollm2_135m",
            "progress=false",
            "tracking=mlflow",
        ]
        if args.questions:
            overrides.append(f"max_queries={args.questions}")
        first_s, first, gen = _run(overrides)
        second_s, second, gen2 = _run(overrides)
        same_answers = [r.answer.text for r in first.report.results] == [r.answer.text for r in second.report.results]
        metrics = [m for m in first.report.metric_names if m in first.report.overall]
        same_metrics = all(first.report.overall[m] == second.report.overall[m] for m in metrics)
        cached = int(second.report.overall["answers.cached"])
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "ragbench.cli", "run", *overrides],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cli_s = time.perf_counter() - start
        n = int(first.report.overall["questions"])
        print(f"dataset {args.dataset}, retriever {args.retriever}, {n} questions, model {gen.model_id}")
        print(f"first run (index, engine load, {n} generations): {first_s:8.2f} s")
        print(
            f"identical re-run, same process ({cached}/{n} cached, engine loaded: {gen2.loaded}): {second_s:8.2f} s"
            f"  -> ratio {second_s / first_s:.4f} (goal <= 0.05)"
        )
        print(
            f"identical re-run as a new `ragbench run` process (imports included): {cli_s:8.2f} s"
            f"  -> ratio {cli_s / first_s:.4f}"
        )
        print(f"answers identical: {same_answers}; metrics identical: {same_metrics}")
        print(f"cache file: {Path(gen2.cache.store.path).name}, entries {len(gen2.cache)}")


if __name__ == "__main__":
    main()
