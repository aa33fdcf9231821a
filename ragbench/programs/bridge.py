"""Turn ragbench datasets and metrics into DSPy examples and metrics."""

from __future__ import annotations

import os
from collections.abc import Callable

from ragbench.data.dataset import Dataset
from ragbench.errors import require
from ragbench.generators._citations import strip_citations
from ragbench.types import Answer, QuestionResult, Sample


def examples_from_dataset(dataset: Dataset, *, limit: int | None = None, with_answers_only: bool = True) -> list:
    """``dspy.Example`` per sample (inputs: ``question``, ``tenant``; labels: ``answer``, ``answers``, ``relevant``).

    Example:
        >>> examples_from_dataset(load_tenant_folders("datasets/demo"), limit=2)[0].question  # doctest: +SKIP
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
    dspy = require("dspy", package="dspy")
    out = []
    for s in dataset.samples:
        if with_answers_only and not s.answers:
            continue
        ex = dspy.Example(
            question=s.question,
            tenant=s.tenant,
            answer=s.answers[0] if s.answers else "",
            answers=list(s.answers),
            relevant=dict(s.relevant),
            id=s.id,
            language=s.language,
        )
        out.append(ex.with_inputs("question", "tenant"))
        if limit is not None and len(out) >= limit:
            break
    return out


def dspy_metric(metric, *, threshold: float = 0.5) -> Callable:
    """A DSPy metric ``(example, prediction, trace=None)`` from a ragbench metric name (``"f1"``,
    ``"recall@5"``) or :class:`~ragbench.protocols.Metric`.

    It scores the prediction exactly as ``ragbench run`` would (same metric code, same
    sample and result shapes, ``[n]`` citation markers removed from the answer). Evaluation gets the float; while an optimizer bootstraps
    (``trace`` is set) it gets ``score >= threshold``, the pass/fail DSPy expects there.
    A metric that does not apply (e.g. no gold answer) scores 0.

    Example:
        >>> import dspy
        >>> m = dspy_metric("f1")
        >>> m(dspy.Example(question="q", tenant="acme", answers=["25 days"]), dspy.Prediction(answer="25 days [1]"))
        1.0
    """
    if isinstance(metric, str):
        from ragbench.metrics.registry import get_metric

        metric = get_metric(metric)
    name = metric.name

    def score(example, prediction, trace=None) -> float | bool:
        answers = tuple(example.get("answers") or ([example.answer] if example.get("answer") else []))
        sample = Sample(
            id=example.get("id") or "",
            question=example.question,
            tenant=example.get("tenant") or "",
            answers=answers,
            relevant=dict(example.get("relevant") or {}),
            language=example.get("language"),
        )
        result = QuestionResult(
            sample=sample,
            hits=list(prediction.get("hits") or []),
            answer=Answer(text=strip_citations(prediction.answer or "")),
        )
        value = float(metric(sample, result).get(name, 0.0))
        return value >= threshold if trace is not None else value

    score.__name__ = f"ragbench_{name}"
    return score
