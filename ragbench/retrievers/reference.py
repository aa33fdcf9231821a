"""Reference retrievers for the floor and ceiling of a quality table.

:class:`NoRetriever` retrieves nothing (closed-book, "naive generation": the model answers from
what it knows). :class:`OracleRetriever` returns the gold passages of each question from the
dataset's qrels (the answer quality a perfect retriever would allow).
"""

from __future__ import annotations

from collections.abc import Sequence

from ragbench.errors import ConfigError
from ragbench.types import Hit, Query


class NoRetriever:
    """Retrieves nothing, so the generator answers closed-book (pair it with ``prompt=closed_book``).

    Example:
        >>> NoRetriever().retrieve([Query("Who founded Acme?", "acme")], k=5)
        [[]]
    """

    name = "none"

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        return [[] for _ in queries]

    def __repr__(self) -> str:
        return "NoRetriever()"


class OracleRetriever:
    """The gold passages of each dataset question (qrels), most relevant first, at most ``k``.

    Args:
        dataset: The run's dataset (injected by ``build``): its samples' ``relevant`` grades and
            its documents' texts.

    Raises (on retrieve):
        ConfigError: A query is not one of the dataset's questions, or the dataset has no qrels.

    Example:
        >>> OracleRetriever(dataset).retrieve([sample.to_query()], k=3)  # doctest: +SKIP
    """

    name = "oracle"

    def __init__(self, dataset) -> None:
        self.samples = {(s.tenant, s.id): s for s in dataset.samples}
        self.documents = {(d.tenant, d.id): d for d in dataset.documents}
        if not any(s.relevant for s in self.samples.values()):
            raise ConfigError(
                f"retriever=oracle needs gold passages (qrels), but dataset {dataset.name!r} has none. "
                "Use a dataset with qrels (demo, hotpotqa, musique, beir_scifact)."
            )

    def _gold(self, query: Query, k: int) -> list[Hit]:
        sample = self.samples.get((query.tenant, query.id))
        if sample is None:
            raise ConfigError(
                f"retriever=oracle answers only the dataset's own questions; got question id {query.id!r} "
                f"of tenant {query.tenant!r}."
            )
        ranked = sorted(sample.relevant.items(), key=lambda item: (-item[1], item[0]))
        hits = []
        for doc_id, grade in ranked:
            doc = self.documents.get((query.tenant, doc_id))
            if doc is None or grade <= 0:
                continue
            hits.append(
                Hit(
                    chunk_id=f"{doc_id}#gold",
                    doc_id=doc_id,
                    tenant=query.tenant,
                    text=doc.text,
                    score=float(grade),
                    rank=len(hits),
                    title=doc.title,
                )
            )
        return hits[:k]

    def retrieve(self, queries: Sequence[Query], k: int) -> list[list[Hit]]:
        return [self._gold(q, k) for q in queries]

    def __repr__(self) -> str:
        return f"OracleRetriever(questions={len(self.samples)})"
