"""Optimize a DSPy RAG program (:mod:`ragbench.programs`) against a ragbench metric, before/after logged.

The LM is an OpenAI-compatible server: ``$RAGBENCH_LLM_BASE_URL`` (with ``$RAGBENCH_LLM_NAME``,
its served model name) if set, else a vLLM server that :func:`optimize_rag` starts on
:func:`ragbench.notebooks.lab.local_llm_model` and stops when done. The fallback model is the
tiny random Qwen2 (offline, for smoke runs): its requests carry a vLLM ``structured_outputs``
regex so that it writes in DSPy's format; its answers are still noise.

Example:
    >>> parts = build(compose(["retriever=bm25"]))  # doctest: +SKIP
    >>> ingest_dataset(parts)  # doctest: +SKIP
    >>> result = optimize_rag(parts, tenant="acme-robotics", metric="f1")  # doctest: +SKIP
    >>> result.table()  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ragbench.config import Components
from ragbench.errors import ConfigError
from ragbench.tenancy import validate_tenant_id

# Makes the random tiny Qwen2 answer in DSPy's ChatAdapter format (a few words and one citation).
TINY_FORMAT = r"\[\[ ## answer ## \]\]\n[a-z]{2,8}( [a-z]{2,8}){0,3} \[[1-3]\]\n\n\[\[ ## completed ## \]\]"


@dataclass
class LocalLM:
    """Where the LM is served: base URL, served model name and extra request body."""

    base_url: str
    name: str
    extra_body: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def local_lm() -> Iterator[LocalLM]:
    """Yield the configured LM server, or start a vLLM server on the local model and stop it afterwards."""
    base_url = os.environ.get("RAGBENCH_LLM_BASE_URL")
    if base_url:
        name = os.environ.get("RAGBENCH_LLM_NAME")
        if not name:
            raise ConfigError("RAGBENCH_LLM_BASE_URL is set but RAGBENCH_LLM_NAME is not: set it to the served model name.")
        yield LocalLM(base_url, name)
        return
    from ragbench.notebooks.lab import local_llm_model
    from ragbench.serving import VLLMServer

    model = local_llm_model()
    tiny = not os.environ.get("RAGBENCH_LLM_MODEL")
    server = VLLMServer(model, served_model_name="local-llm", max_model_len=1024, watch=False,
                        env={"VLLM_ENABLE_V1_MULTIPROCESSING": "0"})
    with server:
        yield LocalLM(server.base_url, "local-llm", {"structured_outputs": {"regex": TINY_FORMAT}} if tiny else {})


@dataclass
class OptimizeResult:
    """Scores before and after optimization on the dev questions, with the chosen demos."""

    metric: str
    before: dict[str, float]
    after: dict[str, float]
    demos: list[dict[str, str]]
    rows: list[dict[str, Any]]
    run_id: str | None = None

    def table(self):
        """One row per program (``before``, ``after``): score, questions answered and failed calls."""
        import pandas as pd

        return pd.DataFrame([{"program": "before", **self.before}, {"program": "after", **self.after}])

    def per_question(self):
        """Dev questions with both answers and scores, side by side."""
        import pandas as pd

        return pd.DataFrame(self.rows)


def _answer_all(program, devset, metric) -> list[dict[str, Any]]:
    rows = []
    for ex in devset:
        try:
            pred = program(**ex.inputs())
        except Exception as exc:  # noqa: BLE001 - a failed call is recorded; the other questions go on
            rows.append({"answer": None, "score": None, "error": f"{type(exc).__name__}: {exc}"})
            continue
        rows.append({"answer": pred.answer, "score": float(metric(ex, pred)), "error": None})
    return rows


def _summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    scores = [r["score"] for r in rows if r["score"] is not None]
    return {"score": sum(scores) / len(scores) if scores else 0.0, "n": float(len(scores)),
            "failed": float(len(rows) - len(scores))}


def optimize_rag(
    parts: Components, *, tenant: str, metric: str = "f1", train: int = 4, dev: int = 3, k: int = 3,
    max_demos: int = 1, max_tokens: int = 64, max_passage_chars: int = 160,
) -> OptimizeResult:
    """Build a :class:`ragbench.programs.RAGProgram` on ``parts.retriever``, score it, tune it, score it again.

    The tenant's first ``train`` questions train ``BootstrapFewShot``; the next ``dev`` are scored
    before and after with the ragbench metric ``metric``. The result is logged to ``parts.tracker``
    (metrics ``before.score``/``after.score``, table ``dspy_before_after``).
    """
    from ragbench.programs import RAGProgram, bootstrap, dspy_metric, examples_from_dataset, make_lm

    tenant = validate_tenant_id(tenant)
    examples = [e for e in examples_from_dataset(parts.dataset) if e.tenant == tenant]
    if len(examples) < train + dev:
        raise ConfigError(f"Tenant {tenant!r} has {len(examples)} questions with answers; train={train} + dev={dev} "
                          f"need {train + dev}. Lower them, or pick a tenant of {parts.dataset.tenants}.")
    scorer = dspy_metric(metric)
    trainset, devset = examples[:train], examples[train:train + dev]
    with local_lm() as served:
        lm = make_lm(served.base_url, served.name, tenant=tenant, max_tokens=max_tokens, extra_body=served.extra_body)
        program = RAGProgram(parts.retriever, tenant=tenant, k=k, lm=lm, max_passage_chars=max_passage_chars)
        before = _answer_all(program, devset, scorer)
        compiled = bootstrap(program, trainset, scorer, max_bootstrapped_demos=max_demos, max_labeled_demos=max_demos)
        after = _answer_all(compiled, devset, scorer)
    demos = [{"question": d.get("question", ""), "answer": d.get("answer", "")} for d in compiled.generate.demos]
    rows = [{"question": ex.question, "gold": " | ".join(ex.answers), "before": b["answer"], "after": a["answer"],
             f"before.{metric}": b["score"], f"after.{metric}": a["score"]} for ex, b, a in zip(devset, before, after)]
    result = OptimizeResult(metric, _summary(before), _summary(after), demos, rows)
    tags = {"ragbench.kind": "dspy-optimize", "ragbench.dataset": parts.dataset.name, "ragbench.tenant": tenant}
    with parts.tracker.start_run(run_name=f"dspy-bootstrap-{metric}", tags=tags) as run_id:
        parts.tracker.log_config({"metric": metric, "train": train, "dev": dev, "k": k, "max_demos": max_demos,
                                  "lm": served.name, "retriever": repr(parts.retriever)})
        parts.tracker.log_metrics({**{f"before.{key}": v for key, v in result.before.items()},
                                   **{f"after.{key}": v for key, v in result.after.items()}, "demos": len(demos)})
        parts.tracker.log_table(rows, "dspy_before_after")
    result.run_id = run_id
    return result
