"""Experiment tracking: MLflow with a local sqlite backend, or no tracking."""

from ragbench.tracking.mlflow import MLflowTracker, NullTracker, flatten_config

__all__ = ["MLflowTracker", "NullTracker", "flatten_config"]
