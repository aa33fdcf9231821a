"""The reference methods: standard RAG, closed-book (the floor) and oracle context (the ceiling)."""

from __future__ import annotations

from collections.abc import Sequence

from ragbench.generators.prompts import PromptTemplate
from ragbench.methods.base import Batch, MethodResult, check_prompt_support, generate_step, retrieve_step
from ragbench.protocols import Generator, Retriever
from ragbench.types import Query


def answer_from_retrieval(
    batch: Batch,
    retriever: Retriever,
    generator: Generator,
    items: Sequence[int],
    k: int,
    *,
    search: Sequence[str] | None = None,
) -> None:
    """Retrieve ``k`` hits with each item's question (or its ``search`` text), then answer the question from them."""
    texts = list(search) if search is not None else [batch.queries[i].text for i in items]
    hits = retrieve_step(batch, retriever, items, texts, k)
    answers = generate_step(batch, generator, items, [hits[i] for i in items])
    for i in items:
        batch.hits[i], batch.answers[i] = hits[i], answers[i]


class Standard:
    """Standard RAG: retrieve ``k`` chunks with the question, answer from them (one LLM call).

    Example:
        >>> Standard(retriever, generator).run([Query("Who founded Acme?", "acme")], k=5)[0].trace.llm_calls  # doctest: +SKIP
        1
    """

    name = "standard"

    def __init__(self, retriever: Retriever, generator: Generator) -> None:
        self.retriever, self.generator = retriever, generator

    def run(self, queries: Sequence[Query], k: int, *, search: Sequence[str] | None = None) -> list[MethodResult]:
        """Answer each query from the ``k`` chunks retrieved with its text, or with its ``search`` text when given
        (one per query: e.g. a follow-up is searched with the previous question prepended, but answered itself)."""
        batch = Batch(self.name, list(queries))
        if search is not None and len(search) != len(batch.queries):
            raise ValueError(f"Standard.run: {len(search)} search texts for {len(batch.queries)} queries")
        answer_from_retrieval(batch, self.retriever, self.generator, range(len(batch.queries)), k, search=search)
        return batch.results()

    def __repr__(self) -> str:
        return f"Standard(retriever={self.retriever!r}, generator={self.generator!r})"


class ClosedBook:
    """Closed-book ("naive generation"): the question alone, no retrieval. The floor of a methods table.

    Args:
        generator: Answers the question.
        prompt: The template it answers with (``configs/prompt/closed_book.yaml`` in ``method=closed_book``;
            ``None``: the generator's own, shown no sources).
    """

    name = "closed_book"

    def __init__(self, generator: Generator, *, prompt: PromptTemplate | None = None) -> None:
        if prompt is not None:
            check_prompt_support(generator, self.name)
        self.generator, self.prompt = generator, prompt

    def run(self, queries: Sequence[Query], k: int) -> list[MethodResult]:
        batch = Batch(self.name, list(queries))
        items = range(len(batch.queries))
        answers = generate_step(batch, self.generator, items, [[] for _ in items], prompt=self.prompt)
        for i in items:
            batch.answers[i] = answers[i]
        return batch.results()

    def __repr__(self) -> str:
        return f"ClosedBook(generator={self.generator!r})"


class Oracle:
    """Oracle context: each question's gold passages (qrels) instead of retrieval. The ceiling of a table.

    Args:
        generator: Answers from the gold passages.
        dataset: The run's dataset (injected by ``build``); it must have qrels.

    Raises:
        ConfigError: The dataset has no qrels (e.g. ``flashrag_nq``), or a question is not the dataset's.
    """

    name = "oracle"

    def __init__(self, generator: Generator, dataset) -> None:
        from ragbench.errors import ConfigError
        from ragbench.retrievers.reference import OracleRetriever

        if not any(s.relevant for s in dataset.samples):
            raise ConfigError(
                f"method=oracle answers from the gold passages (qrels), but dataset {dataset.name!r} has none. "
                "Use a dataset with qrels (demo, hotpotqa, musique, beir_scifact)."
            )
        self.retriever, self.generator = OracleRetriever(dataset), generator

    def run(self, queries: Sequence[Query], k: int) -> list[MethodResult]:
        batch = Batch(self.name, list(queries))
        answer_from_retrieval(batch, self.retriever, self.generator, range(len(batch.queries)), k)
        return batch.results()

    def __repr__(self) -> str:
        return f"Oracle({self.retriever!r}, generator={self.generator!r})"
