"""Tune a DSPy program against a ragbench dataset with BootstrapFewShot."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from ragbench.errors import require


def score_program(program, devset: Sequence, metric: Callable) -> dict[str, float]:
    """Mean metric over ``devset`` (a failed call counts as failed, not as 0).

    Returns ``{"score": mean over answered (None if none was), "n": answered, "failed": failed calls}``.
    """
    values, failed = [], 0
    for ex in devset:
        try:
            pred = program(**ex.inputs())
        except Exception:
            failed += 1
            continue
        values.append(float(metric(ex, pred)))
    return {"score": sum(values) / len(values) if values else None, "n": float(len(values)), "failed": float(failed)}


def bootstrap(
    program,
    trainset: Sequence,
    metric: Callable,
    *,
    max_bootstrapped_demos: int = 2,
    max_labeled_demos: int = 2,
    max_rounds: int = 1,
):
    """Compile ``program`` with ``dspy.BootstrapFewShot`` (demos that pass ``metric`` are kept).

    Example:
        >>> compiled = bootstrap(program, examples[:8], dspy_metric("f1"))  # doctest: +SKIP
        >>> len(compiled.generate.demos)  # doctest: +SKIP
        2
    """
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no network at import
    dspy = require("dspy", package="dspy")
    optimizer = dspy.BootstrapFewShot(
        metric=metric,
        max_bootstrapped_demos=max_bootstrapped_demos,
        max_labeled_demos=max_labeled_demos,
        max_rounds=max_rounds,
        max_errors=len(trainset) + 1,
    )
    return optimizer.compile(program, trainset=list(trainset))
