"""Questions/s of batched generation vs one-at-a-time requests, on the same model in one run.

Two paths, each measured both ways with the same prompts and sampling:

* offline: ``VLLMGenerator`` (in-process ``vllm.LLM``) with all questions in one ``generate``
  call vs one ``generate`` call per question;
* server: ``OpenAIGenerator`` against a ``VLLMServer`` with ``--concurrency`` requests in
  flight vs one request at a time.

Goal: batched / one-at-a-time >= 8 on each path. Default model: the tiny Qwen2 (built offline).

    python bench/bench_generation.py [--model DIR] [--batch 64] [--single 16] [--max-tokens 32]
"""

from __future__ import annotations

import argparse
import gc
import os
import time

GOAL = 8.0


def _workload(n: int):
    from ragbench.types import Hit, Query

    hits = [
        Hit("c1", "leave", "acme", "Staff get 25 days of paid leave per year.", 1.0, rank=0, title="Leave"),
        Hit("c2", "office", "acme", "The office is in Oslo, near the harbour.", 0.5, rank=1, title="Office"),
    ]
    queries = [
        Query(f"Question {i}: how many days of leave do staff get?", "acme" if i % 2 else "globex") for i in range(n)
    ]
    return queries, [hits] * n


def _rate(gen, n: int, *, one_at_a_time: bool) -> tuple[float, int]:
    """Questions/s and completion tokens for ``n`` questions."""
    queries, contexts = _workload(n)
    start = time.perf_counter()
    if one_at_a_time:
        answers = [a for q, c in zip(queries, contexts) for a in gen.generate([q], [c])]
    else:
        answers = gen.generate(queries, contexts)
    seconds = time.perf_counter() - start
    failed = [a.error for a in answers if not a.ok]
    if failed:
        raise SystemExit(f"{len(failed)} items failed, e.g. {failed[0]}")
    return n / seconds, sum(a.completion_tokens for a in answers)


def _report(name: str, single: tuple[float, int], batched: tuple[float, int], args) -> float:
    ratio = batched[0] / single[0]
    print(
        f"{name:8s} one-at-a-time {single[0]:7.2f} q/s ({args.single} q) | batched {batched[0]:7.2f} q/s "
        f"({args.batch} q) | ratio {ratio:5.1f}x (goal >= {GOAL:g}) {'OK' if ratio >= GOAL else 'BELOW GOAL'}"
    )
    return ratio


def bench_offline(model: str, args) -> float:
    from ragbench.generators import VLLMGenerator

    gen = VLLMGenerator(model, max_tokens=args.max_tokens, max_model_len=512)
    gen.warmup()
    _rate(gen, 4, one_at_a_time=False)  # warm the batched path too
    single = _rate(gen, args.single, one_at_a_time=True)
    batched = _rate(gen, args.batch, one_at_a_time=False)
    ratio = _report("offline", single, batched, args)
    del gen.engine
    gc.collect()
    return ratio


def bench_server(model: str, args) -> float:
    from ragbench.generators import OpenAIGenerator
    from ragbench.serving import VLLMServer

    with VLLMServer(model, served_model_name="bench", max_model_len=512) as server:
        one = OpenAIGenerator(server.base_url, max_tokens=args.max_tokens, concurrency=1, stream=True)
        many = OpenAIGenerator(server.base_url, max_tokens=args.max_tokens, concurrency=args.concurrency, stream=True)
        _rate(many, 4, one_at_a_time=False)  # warm-up
        single = _rate(one, args.single, one_at_a_time=True)
        batched = _rate(many, args.batch, one_at_a_time=False)
        return _report("server", single, batched, args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="Local model folder (default: the tiny Qwen2).")
    parser.add_argument("--batch", type=int, default=64, help="Questions in the batched runs.")
    parser.add_argument("--single", type=int, default=16, help="Questions in the one-at-a-time runs.")
    parser.add_argument("--concurrency", type=int, default=64, help="Requests in flight for the server run.")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--only", choices=("offline", "server"), default=None)
    args = parser.parse_args()
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.model is None:
        from ragbench.testing.tiny_qwen2 import tiny_qwen2_path

        args.model = str(tiny_qwen2_path())
    print(f"model {args.model}, max_tokens {args.max_tokens}, {os.cpu_count()} CPUs")
    ratios = []
    if args.only in (None, "offline"):
        ratios.append(bench_offline(args.model, args))
    if args.only in (None, "server"):
        ratios.append(bench_server(args.model, args))
    return 0 if all(r >= GOAL for r in ratios) else 1


if __name__ == "__main__":
    raise SystemExit(main())
