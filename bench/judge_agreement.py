"""Judge-human agreement on RAGChecker's 280 human-labelled answer pairs (560 labels).

For each question, both systems' answers are scored against the gold answer by
- the LLM judge: ragas ``answer_accuracy`` on the real SmolLM2-135M-Instruct, JSON-schema constrained;
- trivial non-LLM baselines: token F1 and ROUGE-L (Unicode tokens) against the gold answer.
The preference ``score(answer 2) - score(answer 1)`` is correlated with the human labels
(correctness and overall) by Spearman and Kendall, with question-level bootstrap 95% CIs
(:mod:`ragbench.evaluation.meta`). Judge failures are counted and left out, never scored.

    .venv/bin/python bench/judge_agreement.py [--limit 280] [--workers 4] [--base-url URL --model NAME]
        [--out judge_agreement.json] [--markdown table.md]

Judge calls are cached (``--cache``), so a re-run costs nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


@contextlib.contextmanager
def _server(args):
    if args.base_url:
        yield args.base_url, args.model
        return
    from ragbench.models import default_models_dir, ensure_model
    from ragbench.serving import VLLMServer

    path = ensure_model(default_models_dir() / "smollm2-135m-instruct")
    with VLLMServer(path, served_model_name="smollm2-135m-instruct", max_model_len=2048, watch=False) as server:
        yield server.base_url, "smollm2-135m-instruct"


def _judge_scores(pairs, base_url, model, args):
    from ragbench.judge import Judge, JudgeError
    from ragbench.judge.ragas_metrics import RagasJudgeMetric
    from ragbench.types import Answer, QuestionResult, Sample

    def one(pair):
        judge = Judge(base_url, model=model, cache_dir=args.cache, max_tokens=64, timeout_s=120)
        metric = RagasJudgeMetric("answer_accuracy", judge)  # one per worker: its call counter is not shared
        sample = Sample(id=str(pair.key), question=pair.question, tenant="meta", answers=(pair.gold,))
        values = []
        for text in (pair.answer1, pair.answer2):
            result = QuestionResult(sample=sample, hits=[], answer=Answer(text=text))
            try:
                values.append(metric(sample, result)["answer_accuracy"])
            except JudgeError as exc:
                return pair.key, None, str(exc)[:200]
        return pair.key, tuple(values), None

    scores, errors = {}, {}
    done = 0
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        for key, value, error in pool.map(one, pairs):
            done += 1
            if error:
                errors[key] = error
            else:
                scores[key] = value
            if done % 20 == 0:
                print(f"  judged {done}/{len(pairs)} questions ({len(errors)} failed)", file=sys.stderr, flush=True)
    return scores, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="human_labeled_data.json (default: the shared copy)")
    parser.add_argument("--limit", type=int, default=None, help="Only the first N questions.")
    parser.add_argument("--workers", type=int, default=4, help="Judge requests in flight (vLLM batches them).")
    parser.add_argument("--base-url", default=None, help="A running judge server (default: start one on SmolLM2).")
    parser.add_argument("--model", default=None, help="Its served model name.")
    parser.add_argument("--cache", default=str(Path(".ragbench") / "judge_cache"), help="Judge call cache folder.")
    parser.add_argument("--out", default=None, help="Write all figures as JSON here.")
    parser.add_argument("--markdown", default=None, help="Write the table as Markdown here.")
    args = parser.parse_args()
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    from ragbench.evaluation.meta import agreement, load_human_pairs, markdown, score_pairs
    from ragbench.metrics.answer import token_f1
    from ragbench.metrics.text import rouge_l
    from ragbench.paths import shared_data_dir

    data = Path(args.data or shared_data_dir() / "ragchecker_examples" / "meta_evaluation" / "human_labeled_data.json")
    pairs = load_human_pairs(data)[: args.limit]
    start = time.perf_counter()
    with _server(args) as (base_url, model):
        judged, errors = _judge_scores(pairs, base_url, model, args)
    seconds = time.perf_counter() - start
    metrics = {
        "answer_accuracy (LLM judge, SmolLM2-135M)": judged,
        "token F1 vs gold": score_pairs(pairs, lambda q, a, g: token_f1(a, [g])),
        "ROUGE-L vs gold": score_pairs(pairs, lambda q, a, g: rouge_l(a, [g])),
        "answer length (chars)": score_pairs(pairs, lambda q, a, g: float(len(a))),
    }
    rows = [
        agreement(name, pairs, scores, label=label)
        for label in ("correctness_label", "overall_label")
        for name, scores in metrics.items()
    ]
    table = markdown(rows)
    print(table)
    print(
        f"{len(pairs)} questions; judge: {len(judged)} scored, {len(errors)} failed "
        f"({len(errors) / max(1, len(pairs)):.1%}); {seconds:.0f} s"
    )
    if errors:
        print("first judge failures:", *list(errors.items())[:3], sep="\n  ")
    if args.out:
        Path(args.out).write_text(
            json.dumps(
                {
                    "rows": [r.__dict__ for r in rows],
                    "judge_failed": len(errors),
                    "judge_errors": errors,
                    "questions": len(pairs),
                    "seconds": seconds,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    if args.markdown:
        Path(args.markdown).write_text(table + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
