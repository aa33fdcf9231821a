"""Kept for notebooks written against it: the DSPy experiment lives in :mod:`ragbench.programs.experiment`."""

from ragbench.programs.experiment import OptimizeResult, optimize_rag, served_llm

__all__ = ["OptimizeResult", "optimize_rag", "served_llm"]
