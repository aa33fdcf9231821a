"""A ragbench RAG method as a DSPy module: evaluate it with DSPy, or call it from a larger DSPy program.

:class:`MethodProgram` runs any :class:`~ragbench.methods.Method` (``parts.method``: rewrite, HyDE,
decompose, iterative, ...) on its own parts (the run's retriever, generator and LLM) and returns a
``dspy.Prediction`` with the answer, the hits and the method's trace, so DSPy's tools
(:func:`~ragbench.programs.dspy_metric`, ``dspy.Evaluate``, :func:`~ragbench.programs.score_program`)
score it exactly as ``ragbench run`` does.

The method's LLM calls go to the ragbench generator it was built with, not to a ``dspy.LM``: DSPy
optimizers have no predictor to tune in it (``named_predictors()`` is empty). To optimize prompts
with DSPy, use :class:`~ragbench.programs.RAGProgram`.

A failed answer raises :class:`MethodAnswerFailed` instead of returning an empty prediction.
:func:`~ragbench.programs.score_program` counts it as failed and leaves it out of the mean;
``dspy.Evaluate`` averages a failed call in as its ``failure_score`` (0 by default), so prefer
``score_program`` for figures.

Example:
    >>> parts = build(compose(["method=hyde", "generator=transformers"]))  # doctest: +SKIP
    >>> program = MethodProgram.from_parts(parts, tenant="acme-robotics")  # doctest: +SKIP
    >>> program(question="Who founded the company?").trace.queries  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ragbench.errors import ConfigError, GenerationError, require
from ragbench.tenancy import validate_tenant_id
from ragbench.types import Query

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # litellm must not reach the network at import
dspy = require("dspy", package="dspy")


class MethodAnswerFailed(GenerationError):
    """The method could not answer a question (a failed LLM step or answer); it must not be scored."""


def _turns(history: Any) -> tuple[tuple[str, str], ...]:
    """``[(question, answer), ...]`` or ``[{"question": ..., "answer": ...}, ...]`` as the ``Query.history`` turns."""
    if not history:
        return ()
    turns = []
    for turn in history:
        if isinstance(turn, dict) and {"question", "answer"} <= set(turn):
            turns.append((str(turn["question"]), str(turn["answer"])))
        elif isinstance(turn, Sequence) and not isinstance(turn, str) and len(turn) == 2:
            turns.append((str(turn[0]), str(turn[1])))
        else:
            raise ConfigError(
                f"history turn {turn!r} is neither (question, answer) nor {{'question': ..., 'answer': ...}}. "
                "Pass the earlier turns oldest first in one of those shapes."
            )
    return tuple(turns)


class MethodProgram(dspy.Module):
    """Answer with a ragbench RAG method inside DSPy.

    Args:
        method: Any :class:`~ragbench.methods.Method` (e.g. ``parts.method``).
        tenant: Default tenant of the questions (an example may carry its own ``tenant``).
        k: Chunks per retrieval.

    ``forward(question, tenant=None, history=None)`` returns a ``dspy.Prediction`` with ``answer`` (the
    text, ``[n]`` markers kept), ``hits``, ``citations``, ``trace`` (the method's
    :class:`~ragbench.types.MethodTrace`) and ``timings`` (ms per stage). ``history`` (earlier turns,
    oldest first) makes the question a follow-up for a conversational method.
    """

    def __init__(self, method, *, tenant: str, k: int = 5) -> None:
        super().__init__()
        if not callable(getattr(method, "run", None)):
            raise ConfigError(
                f"MethodProgram needs a ragbench method (with run(queries, k)), got {method!r}. "
                "Pass parts.method from ragbench.build(...), or use MethodProgram.from_parts(parts, tenant=...)."
            )
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ConfigError(f"k must be a whole number >= 1, got {k!r}.")
        self.method = method
        self.tenant = validate_tenant_id(tenant)
        self.k = k

    @classmethod
    def from_parts(cls, parts, *, tenant: str, k: int | None = None) -> MethodProgram:
        """The configured method of built parts (``ragbench.build``), with the run's ``k`` unless given."""
        return cls(parts.method, tenant=tenant, k=int(k if k is not None else parts.cfg.k))

    def forward(self, question: str, tenant: str | None = None, history: Any = None):
        query = Query(text=question, tenant=validate_tenant_id(tenant or self.tenant), history=_turns(history))
        [result] = self.method.run([query], self.k)
        answer = result.answer
        if answer is None or not answer.ok:
            reason = answer.error if answer is not None else "no answer"
            raise MethodAnswerFailed(f"method={self.method.name} failed on {question!r}: {reason}")
        return dspy.Prediction(
            answer=answer.text,
            hits=result.hits,
            citations=list(answer.citations),
            trace=result.trace,
            timings=result.timings,
        )

    def __repr__(self) -> str:
        return f"MethodProgram(method={self.method.name}, tenant={self.tenant!r}, k={self.k})"
