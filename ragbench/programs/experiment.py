"""Optimize a DSPy RAG program against a ragbench metric and measure the effect on held-out questions.

The tenant's questions are split once (seeded shuffle) into a training split, on which
``BootstrapFewShot`` picks demos, and a held-out split, on which the unoptimized and the optimized
program are both scored with the same ragbench metric. Before and after get means with 95%
bootstrap intervals, and their difference a paired CI and permutation p-value; a failed LM call
is counted as failed, never scored. Everything is logged to the run's tracker (MLflow).

The LM is the configured ``llm`` served by a vLLM server started for the call (or any
OpenAI-compatible server given by ``$RAGBENCH_LLM_BASE_URL`` and ``$RAGBENCH_LLM_NAME``). Its
output is constrained to DSPy's ChatAdapter format with a vLLM ``structured_outputs`` regex,
so a small model's answers are parsed instead of failing on format.

Example:
    >>> parts = build(compose(["retriever=bm25"]))  # doctest: +SKIP
    >>> ingest_dataset(parts)  # doctest: +SKIP
    >>> result = optimize_rag(parts, tenant="acme-robotics", metric="f1", train=8)  # doctest: +SKIP
    >>> result.table()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragbench.errors import ConfigError
from ragbench.tenancy import validate_tenant_id

# DSPy's ChatAdapter output format: one answer field of up to 120 characters, then the end marker.
ANSWER_FORMAT = r"\[\[ ## answer ## \]\]\n[^\n\[\]]{1,120}( \[[1-9]\])?\n\n\[\[ ## completed ## \]\]"
# A random-weight test model writes only a few lowercase words (smoke runs of the code path).
RANDOM_MODEL_FORMAT = r"\[\[ ## answer ## \]\]\n[a-z]{2,8}( [a-z]{2,8}){0,3} \[[1-3]\]\n\n\[\[ ## completed ## \]\]"


@dataclass
class ServedLM:
    """Where the LM is served: base URL, served model name and the extra request body."""

    base_url: str
    name: str
    extra_body: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def served_llm(llm_cfg) -> Iterator[ServedLM]:
    """``$RAGBENCH_LLM_BASE_URL`` (+ ``$RAGBENCH_LLM_NAME``) if set, else a vLLM server on the configured llm."""
    base_url = os.environ.get("RAGBENCH_LLM_BASE_URL")
    if base_url:
        name = os.environ.get("RAGBENCH_LLM_NAME")
        if not name:
            raise ConfigError(
                "RAGBENCH_LLM_BASE_URL is set but RAGBENCH_LLM_NAME is not: set it to the served model name."
            )
        yield ServedLM(base_url, name, {"structured_outputs": {"regex": ANSWER_FORMAT}})
        return
    from ragbench.generators._base import warn_if_random
    from ragbench.models import ensure_model
    from ragbench.serving import VLLMServer

    model = str(ensure_model(str(llm_cfg.path)))
    regex = RANDOM_MODEL_FORMAT if warn_if_random(model) else ANSWER_FORMAT
    server = VLLMServer(
        model,
        served_model_name=str(llm_cfg.served_name),
        max_model_len=int(llm_cfg.max_model_len),
        watch=False,
        env={"VLLM_ENABLE_V1_MULTIPROCESSING": "0"},
    )
    with server:
        yield ServedLM(server.base_url, server.served_model_name, {"structured_outputs": {"regex": regex}})


def split_examples(examples: Sequence, *, train: int, heldout: int | None = None, seed: int = 0) -> tuple[list, list]:
    """A seeded shuffle split into ``train`` examples and ``heldout`` (default: all the rest) examples.

    Example:
        >>> split_examples(list(range(10)), train=3, seed=0)[0]
        [7, 3, 2]
    """
    if train < 1:
        raise ConfigError(f"train must be >= 1, got {train}.")
    order = list(examples)
    random.Random(seed).shuffle(order)
    rest = order[train:] if heldout is None else order[train : train + heldout]
    if len(order) < train + 1 or not rest:
        raise ConfigError(
            f"{len(examples)} questions cannot make train={train} and a held-out split of "
            f"{heldout or 'the rest'}: lower train."
        )
    return order[:train], rest


def score_each(program, examples: Sequence, metric: Callable) -> list[dict[str, Any]]:
    """One row per example: the answer and its score, or the error of a failed call (never scored)."""
    rows = []
    for ex in examples:
        try:
            pred = program(**ex.inputs())
        except Exception as exc:
            rows.append({"id": ex.get("id"), "answer": None, "score": None, "error": f"{type(exc).__name__}: {exc}"})
            continue
        rows.append({"id": ex.get("id"), "answer": pred.answer, "score": float(metric(ex, pred)), "error": None})
    return rows


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Mean with its 95% CI over the answered questions; ``failed`` counts failed calls (mean None if none answered)."""
    from ragbench.evaluation.stats import mean_ci

    scores = [r["score"] for r in rows if r["score"] is not None]
    out: dict[str, float | None] = {"n": float(len(scores)), "failed": float(len(rows) - len(scores))}
    if not scores:
        return {**out, "score": None, "ci_low": None, "ci_high": None}
    ci = mean_ci(scores)
    return {**out, "score": ci.mean, "ci_low": ci.low, "ci_high": ci.high}


@dataclass
class OptimizeResult:
    """Held-out scores before and after optimization, their paired comparison, and the chosen demos."""

    metric: str
    before: dict[str, float | None]
    after: dict[str, float | None]
    paired: Any  # ragbench.evaluation.stats.PairedResult on questions answered by both
    demos: list[dict[str, str]]
    rows: list[dict[str, Any]]
    train_ids: list[str]
    run_id: str | None = None

    def table(self):
        """One row per program (``before``, ``after``): mean, CI, answered and failed questions."""
        import pandas as pd

        return pd.DataFrame([{"program": "before", **self.before}, {"program": "after", **self.after}])

    def per_question(self):
        """Held-out questions with both answers and scores, side by side."""
        import pandas as pd

        return pd.DataFrame(self.rows)


def _paired(metric: str, before: list[dict], after: list[dict]):
    from ragbench.evaluation.stats import paired_comparison

    both = [
        (b["score"], a["score"]) for b, a in zip(before, after) if b["score"] is not None and a["score"] is not None
    ]
    return paired_comparison(metric, [b for b, _ in both], [a for _, a in both])


def optimize_rag(
    parts,
    *,
    tenant: str | None = None,
    metric: str = "f1",
    train: int = 8,
    heldout: int | None = None,
    k: int = 3,
    max_demos: int = 2,
    max_tokens: int = 48,
    max_passage_chars: int = 400,
    seed: int = 0,
) -> OptimizeResult:
    """Score a :class:`~ragbench.programs.RAGProgram` on held-out questions, tune it on the training split, score again.

    Args:
        parts: Built components (``ragbench.build``): the retriever, dataset, llm config and tracker are used.
        tenant: Whose questions (default: the dataset's first tenant).
        metric: A ragbench metric name (``f1``, ``match``, ...), scored exactly as ``ragbench run`` scores it.
        train: Questions in the training split; ``heldout``: questions held out (default: all the rest).
        k, max_passage_chars: Passages per question and their length in the prompt.
        max_demos: Most demos BootstrapFewShot may keep.
        seed: Seed of the split.
    """
    from ragbench.programs import RAGProgram, bootstrap, dspy_metric, examples_from_dataset, make_lm

    tenant = validate_tenant_id(tenant or parts.dataset.tenants[0])
    examples = [e for e in examples_from_dataset(parts.dataset) if e.tenant == tenant]
    trainset, heldset = split_examples(examples, train=train, heldout=heldout, seed=seed)
    scorer = dspy_metric(metric)
    with served_llm(parts.cfg.llm) as served:
        lm = make_lm(served.base_url, served.name, tenant=tenant, max_tokens=max_tokens, extra_body=served.extra_body)
        program = RAGProgram(parts.retriever, tenant=tenant, k=k, lm=lm, max_passage_chars=max_passage_chars)
        before = score_each(program, heldset, scorer)
        compiled = bootstrap(program, trainset, scorer, max_bootstrapped_demos=max_demos, max_labeled_demos=max_demos)
        after = score_each(compiled, heldset, scorer)
    demos = [{"question": d.get("question", ""), "answer": d.get("answer", "")} for d in compiled.generate.demos]
    rows = [
        {
            "question": ex.question,
            "gold": " | ".join(ex.answers),
            "before": b["answer"],
            "after": a["answer"],
            f"before.{metric}": b["score"],
            f"after.{metric}": a["score"],
            "before.error": b["error"],
            "after.error": a["error"],
        }
        for ex, b, a in zip(heldset, before, after)
    ]
    result = OptimizeResult(
        metric,
        summarize(before),
        summarize(after),
        _paired(metric, before, after),
        demos,
        rows,
        [str(e.get("id")) for e in trainset],
    )
    result.run_id = _log(parts, result, tenant=tenant, served=served.name, k=k, max_demos=max_demos, seed=seed)
    return result


def _log(parts, result: OptimizeResult, **settings) -> str | None:
    tags = {
        "ragbench.kind": "dspy-optimize",
        "ragbench.dataset": parts.dataset.name,
        "ragbench.tenant": settings["tenant"],
    }
    numbers = {
        f"{side}.{key}": v
        for side, values in (("before", result.before), ("after", result.after))
        for key, v in values.items()
        if v is not None
    }
    p = result.paired
    numbers.update(
        {
            "delta": p.delta,
            "delta.ci_low": p.low,
            "delta.ci_high": p.high,
            "delta.p_value": p.p_value,
            "paired_n": p.n,
            "demos": len(result.demos),
        }
    )
    from ragbench.tracking.parent import inherited_parent

    parent = inherited_parent(parts.tracker)  # a notebook stage of a pipeline
    with parts.tracker.start_run(run_name=f"dspy-bootstrap-{result.metric}", tags=tags, parent_run_id=parent) as run_id:
        parts.tracker.log_config(
            {
                "metric": result.metric,
                "train": len(result.train_ids),
                "heldout": len(result.rows),
                "lm": settings["served"],
                "retriever": repr(parts.retriever),
                **{k: v for k, v in settings.items() if k not in ("tenant", "served")},
            }
        )
        from ragbench.tracking.metric_names import mlflow_key

        parts.tracker.log_metrics({mlflow_key(f"dspy.{k}"): v for k, v in numbers.items() if v == v})  # dspy/before/f1
        parts.tracker.log_table(result.rows, "dspy_before_after")
    return run_id
