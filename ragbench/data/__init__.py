"""Datasets and their loaders."""

from ragbench.data.beir import load_beir, load_tenant_folders, read_qrels
from ragbench.data.dataset import Dataset

__all__ = ["Dataset", "load_beir", "load_tenant_folders", "read_qrels"]
