"""ragbench: build, evaluate and compare multi-tenant RAG pipelines.

The package root stays light: heavy libraries load only inside the components that use them.
"""

from ragbench.errors import RagbenchError
from ragbench.types import Answer, Chunk, Document, Hit, Query, QuestionResult, Sample

__version__ = "0.1.0"

__all__ = ["Answer", "Chunk", "Document", "Hit", "Query", "QuestionResult", "RagbenchError", "Sample", "__version__"]
