"""DSPy programs over ragbench parts: a RAG ``dspy.Module``, any ragbench RAG method as a ``dspy.Module``, a metric
bridge and a BootstrapFewShot helper.

``dspy`` is imported only when one of these names is first used.

Example:
    >>> from ragbench.programs import RAGProgram, make_lm  # doctest: +SKIP
    >>> program = RAGProgram(retriever, tenant="acme-robotics", lm=make_lm(server.base_url, "tiny-qwen2"))  # doctest: +SKIP
"""

from __future__ import annotations

_EXPORTS = {
    "RAGProgram": "ragbench.programs.rag",
    "GenerateAnswer": "ragbench.programs.rag",
    "make_lm": "ragbench.programs.rag",
    "MethodProgram": "ragbench.programs.method",
    "MethodAnswerFailed": "ragbench.programs.method",
    "dspy_metric": "ragbench.programs.bridge",
    "examples_from_dataset": "ragbench.programs.bridge",
    "bootstrap": "ragbench.programs.optimize",
    "score_program": "ragbench.programs.optimize",
    "optimize_rag": "ragbench.programs.experiment",
    "OptimizeResult": "ragbench.programs.experiment",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'ragbench.programs' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_EXPORTS[name]), name)
