"""ragbench: build, evaluate and compare multi-tenant RAG pipelines.

The front door (everything a notebook needs after ``import ragbench``):

    >>> import ragbench
    >>> cfg = ragbench.compose(["retriever=bm25", "k=5"])          # Hydra config with overrides
    >>> parts = ragbench.build(cfg)                                # the object graph, built lazily
    >>> parts.pipeline.ask(ragbench.QueryRequest(question="Who founded the company?", tenant="acme-robotics"))  # doctest: +SKIP
    >>> ragbench.ingest(parts)                                     # index the dataset's tenants  # doctest: +SKIP
    >>> exp = ragbench.run(parts)                                  # index, evaluate, log to MLflow  # doctest: +SKIP
    >>> exp.per_tenant(); exp.per_question(); exp.plot()           # doctest: +SKIP
    >>> ragbench.compare(exp, other).rows()                        # paired CIs and p-values  # doctest: +SKIP
    >>> ragbench.evaluate(dataset, pipeline, ["f1", "match"])      # no MLflow, just the report  # doctest: +SKIP

Also here: ``run_variants`` (several configurations side by side), ``RAGPipeline``, ``Experiment``,
the plain data types, and the submodules ``plotting``, ``views`` (notebook tables) and ``programs`` (DSPy). The package
root stays light: each name is imported on first use, heavy libraries only inside the components.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from ragbench.errors import RagbenchError
from ragbench.types import Answer, Chunk, Document, Embeddings, Hit, Query, QuestionResult, Sample

__version__ = "0.1.0"

# lance's Rust deprecation warnings ("WARN lance::dataset::scanner") are not the user's to act on; set
# LANCEDB_LOG=warn to see them. Read once, when lancedb is imported.
os.environ.setdefault("LANCEDB_LOG", "error")

_LAZY = {
    "compose": "ragbench.config",
    "build": "ragbench.config",
    "Components": "ragbench.config",
    "run": "ragbench.evaluation.experiment",
    "run_variants": "ragbench.evaluation.experiment",
    "compare": "ragbench.evaluation.experiment",
    "Experiment": "ragbench.evaluation.experiment",
    "evaluate": "ragbench.evaluation.evaluate",
    "ingest": "ragbench.evaluation.run:ingest_dataset",
    "EvaluationReport": "ragbench.evaluation.evaluate",
    "RAGPipeline": "ragbench.pipelines.rag",
    "QueryRequest": "ragbench.schema",
    "QueryResponse": "ragbench.schema",
}
_SUBMODULES = {"plotting": "ragbench.plotting", "views": "ragbench.evaluation.views", "programs": "ragbench.programs"}

__all__ = [
    "Answer",
    "Chunk",
    "Components",
    "Document",
    "Embeddings",
    "EvaluationReport",
    "Experiment",
    "Hit",
    "Query",
    "QueryRequest",
    "QueryResponse",
    "QuestionResult",
    "RAGPipeline",
    "RagbenchError",
    "Sample",
    "__version__",
    "build",
    "compare",
    "compose",
    "evaluate",
    "ingest",
    "plotting",
    "programs",
    "run",
    "run_variants",
    "views",
]

if TYPE_CHECKING:
    from ragbench import plotting, programs
    from ragbench.config import Components, build, compose
    from ragbench.evaluation import views
    from ragbench.evaluation.evaluate import EvaluationReport, evaluate
    from ragbench.evaluation.experiment import Experiment, compare, run, run_variants
    from ragbench.evaluation.run import ingest_dataset as ingest
    from ragbench.pipelines.rag import RAGPipeline
    from ragbench.schema import QueryRequest, QueryResponse


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, _, attr = _LAZY[name].partition(":")
        value = getattr(importlib.import_module(module), attr or name)
    elif name in _SUBMODULES:
        value = importlib.import_module(_SUBMODULES[name])
    else:
        raise AttributeError(f"module 'ragbench' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
