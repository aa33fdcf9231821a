"""Evaluation people can trust: confidence intervals, paired tests, checkpoints, judges, sweeps.

Light to import: heavy libraries (scipy, ragas, mlflow) load inside the functions that use them.
"""

from ragbench.evaluation.checkpoint import Checkpoint, config_fingerprint, find_resumable
from ragbench.evaluation.stats import MeanCI, PairedResult, mean_ci, paired_comparison

__all__ = [
    "Checkpoint",
    "MeanCI",
    "PairedResult",
    "config_fingerprint",
    "find_resumable",
    "mean_ci",
    "paired_comparison",
]
