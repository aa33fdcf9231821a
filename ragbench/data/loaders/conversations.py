"""Multi-turn question sets: follow-up questions with the conversation before them.

Format (one JSON object per line)::

    {"_id": "conv-en-01", "tenant": "acme-robotics", "language": "en",
     "history": [{"question": "How many vacation days?", "answer": "25 days."}],
     "question": "And how many can be carried over?", "answers": ["5"], "relevant": {"acme-001": 1}}

The documents come from a folder of per-tenant BEIR folders (``corpus``, e.g. ``datasets/demo``);
``relevant`` must name documents of the follow-up's tenant there.
"""

from __future__ import annotations

from pathlib import Path

from ragbench.data.dataset import Dataset
from ragbench.data.loaders._io import check_file, iter_jsonl, require_fields
from ragbench.errors import DatasetError
from ragbench.tenancy import validate_tenant_id
from ragbench.types import Document, Sample


def _documents(corpus: Path, tenants: set[str]) -> list[Document]:
    """The documents of ``tenants`` from ``<corpus>/<tenant>/corpus.jsonl`` (BEIR corpus files)."""
    docs = []
    for tenant in sorted(tenants):
        path = check_file(corpus / tenant / "corpus.jsonl", f"tenant {tenant!r}'s BEIR corpus")
        for lineno, record in iter_jsonl(path):
            require_fields(path, lineno, record, {"_id": (str, int), "text": str})
            docs.append(
                Document(
                    id=str(record["_id"]),
                    tenant=tenant,
                    text=record["text"],
                    title=str(record.get("title") or ""),
                    source=str(path),
                    metadata=record.get("metadata") or {},
                )
            )
    return docs


def _history(path: Path, lineno: int, raw: list) -> tuple[tuple[str, str], ...]:
    turns = []
    for n, turn in enumerate(raw, 1):
        if (
            not isinstance(turn, dict)
            or not isinstance(turn.get("question"), str)
            or not isinstance(turn.get("answer"), str)
        ):
            raise DatasetError(
                f'{path}:{lineno}: history turn {n} must be {{"question": str, "answer": str}}, got {turn!r:.120}.'
            )
        turns.append((turn["question"], turn["answer"]))
    if not turns:
        raise DatasetError(f"{path}:{lineno}: history is empty; a follow-up needs at least one earlier turn.")
    return tuple(turns)


def load_conversations(
    path: str | Path, *, corpus: str | Path, name: str | None = None, max_queries: int | None = None
) -> Dataset:
    """Load follow-up questions (``path``, JSONL) over the documents of ``corpus`` (per-tenant BEIR folders).

    Example:
        >>> ds = load_conversations("datasets/conversations/conversations.jsonl", corpus="datasets/demo")  # doctest: +SKIP
        >>> ds.samples[0].history  # doctest: +SKIP
        (('How many paid vacation days does a full-time employee get?', '25 days per year.'),)
    """
    path = check_file(path, "a conversations JSONL")
    samples = []
    for lineno, record in iter_jsonl(path):
        require_fields(
            path,
            lineno,
            record,
            {"_id": str, "tenant": str, "history": list, "question": str, "answers": list, "relevant": dict},
        )
        samples.append(
            Sample(
                id=record["_id"],
                question=record["question"],
                tenant=validate_tenant_id(record["tenant"]),
                answers=tuple(str(a) for a in record["answers"]),
                relevant={str(k): int(v) for k, v in record["relevant"].items()},
                language=record.get("language"),
                history=_history(path, lineno, record["history"]),
            )
        )
    tenants = {s.tenant for s in samples}
    documents = _documents(Path(corpus).expanduser(), tenants)
    known = {(d.tenant, d.id) for d in documents}
    for s in samples:
        missing = sorted(doc for doc in s.relevant if (s.tenant, doc) not in known)
        if missing:
            raise DatasetError(
                f"{path}: {s.id!r} names documents {missing} that tenant {s.tenant!r} does not have in {corpus}."
            )
    return Dataset(name or path.parent.name, documents, samples, {"path": str(path), "corpus": str(corpus)}).head(
        max_queries
    )
