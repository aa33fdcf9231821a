"""The evaluation dataset: documents (each owned by a tenant) and samples (questions with gold)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragbench.types import Document, Sample


@dataclass(frozen=True)
class Dataset:
    """Documents to ingest and samples to evaluate, possibly across several tenants.

    Example:
        >>> ds = Dataset("toy", [Document("d1", "acme", "text")], [Sample("q1", "what?", "acme")])
        >>> ds.tenants
        ['acme']
    """

    name: str
    documents: Sequence[Document]
    samples: Sequence[Sample]
    metadata: dict = field(default_factory=dict)

    @property
    def tenants(self) -> list[str]:
        return sorted({d.tenant for d in self.documents} | {s.tenant for s in self.samples})

    def documents_of(self, tenant: str) -> list[Document]:
        return [d for d in self.documents if d.tenant == tenant]

    def summary(self) -> dict[str, dict[str, int]]:
        docs = Counter(d.tenant for d in self.documents)
        qs = Counter(s.tenant for s in self.samples)
        return {t: {"documents": docs[t], "questions": qs[t]} for t in self.tenants}

    def head(self, max_samples: int | None) -> Dataset:
        """The same dataset with at most ``max_samples`` samples (all documents kept)."""
        if max_samples is None or max_samples >= len(self.samples):
            return self
        return Dataset(self.name, self.documents, list(self.samples)[:max_samples], dict(self.metadata))
