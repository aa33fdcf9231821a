"""HotpotQA and MuSiQue in their original JSON formats: gold answers and gold passages.

Both files are JSON lists of questions, each carrying its own candidate paragraphs. The
documents of the dataset are the unique paragraphs over all questions; a question's
relevant documents are its supporting paragraphs.
"""

from __future__ import annotations

from pathlib import Path

from ragbench.data.dataset import Dataset
from ragbench.data.loaders._io import check_file, iter_json_array, require_fields
from ragbench.errors import DatasetError
from ragbench.tenancy import validate_tenant_id
from ragbench.types import Document, Sample, content_hash


def _hotpot_context(path: Path, lineno: int, record: dict) -> dict[str, str]:
    paragraphs = {}
    for entry in record["context"]:
        ok = isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and isinstance(entry[1], list)
        if not ok:
            raise DatasetError(
                f"{path}:{lineno}: question {record['_id']!r} has a context entry that is not "
                f"[title, [sentences]]: {str(entry)[:80]!r}."
            )
        paragraphs[entry[0]] = "".join(str(s) for s in entry[1])
    return paragraphs


def load_hotpotqa(
    path: str | Path,
    *,
    tenant: str = "hotpotqa",
    name: str = "hotpotqa",
    language: str | None = "en",
    max_queries: int | None = None,
) -> Dataset:
    """Load an official HotpotQA file (e.g. ``hotpot_dev_distractor_v1.json``); document id = paragraph title.

    Example:
        >>> ds = load_hotpotqa("../shared/data/hotpotqa_sample100/original/hotpotqa_train.json")  # doctest: +SKIP
        >>> len(ds.samples), len(ds.documents)  # doctest: +SKIP
        (100, 994)
    """
    tenant = validate_tenant_id(tenant)
    path = check_file(path, "a HotpotQA JSON")
    fields = {"_id": str, "question": str, "answer": str, "supporting_facts": list, "context": list}
    docs: dict[str, Document] = {}
    samples = []
    for lineno, record in iter_json_array(path):
        require_fields(path, lineno, record, fields)
        paragraphs = _hotpot_context(path, lineno, record)
        for title, text in paragraphs.items():
            if title in docs and docs[title].text != text:
                raise DatasetError(
                    f"{path}:{lineno}: paragraph {title!r} has a different text than in an earlier question."
                )
            docs.setdefault(
                title, Document(id=title, tenant=tenant, text=text, title=title, source=str(path), language=language)
            )
        gold = {fact[0] for fact in record["supporting_facts"] if isinstance(fact, list) and fact}
        missing = sorted(gold - set(paragraphs))
        if missing:
            raise DatasetError(f"{path}:{lineno}: supporting facts name paragraphs not in the context: {missing}.")
        samples.append(
            Sample(
                id=record["_id"],
                question=record["question"],
                tenant=tenant,
                answers=(record["answer"],),
                relevant={t: 1 for t in sorted(gold)},
                language=language,
                metadata={k: record[k] for k in ("type", "level", "supporting_facts") if k in record},
            )
        )
    return Dataset(name, list(docs.values()), samples, {"path": str(path), "format": "hotpotqa"}).head(max_queries)


def load_musique(
    path: str | Path,
    *,
    tenant: str = "musique",
    name: str = "musique",
    language: str | None = "en",
    answerable_only: bool = True,
    max_queries: int | None = None,
) -> Dataset:
    """Load an official MuSiQue file (``musique_ans_v1.0_dev.jsonl`` as a list, or HippoRAG's JSON list).

    Gold answers are ``answer`` plus ``answer_aliases``; relevant documents are the paragraphs
    with ``is_supporting``. Document ids are ``musique-<hash of title and text>``.

    Example:
        >>> ds = load_musique("../shared/data/musique_sample100/original/musique_train.json")  # doctest: +SKIP
        >>> len(ds.documents)  # doctest: +SKIP
        1890
    """
    tenant = validate_tenant_id(tenant)
    path = check_file(path, "a MuSiQue JSON")
    fields = {"id": str, "question": str, "answer": str, "paragraphs": list}
    docs: dict[str, Document] = {}
    samples = []
    records = _musique_records(path)
    for lineno, record in records:
        require_fields(path, lineno, record, fields)
        if answerable_only and record.get("answerable") is False:
            continue
        relevant = {}
        for para in record["paragraphs"]:
            require_fields(path, lineno, para, {"title": str, "paragraph_text": str})
            doc_id = "musique-" + content_hash(para["title"], para["paragraph_text"], length=12)
            docs.setdefault(
                doc_id,
                Document(
                    id=doc_id,
                    tenant=tenant,
                    text=para["paragraph_text"],
                    title=para["title"],
                    source=str(path),
                    language=language,
                ),
            )
            if para.get("is_supporting"):
                relevant[doc_id] = 1
        aliases = [a for a in record.get("answer_aliases") or [] if isinstance(a, str)]
        samples.append(
            Sample(
                id=record["id"],
                question=record["question"],
                tenant=tenant,
                answers=tuple(dict.fromkeys([record["answer"], *aliases])),
                relevant=relevant,
                language=language,
                metadata={"question_decomposition": record.get("question_decomposition", [])},
            )
        )
    if not samples:
        raise DatasetError(f"{path}: no answerable question found (answerable_only={answerable_only}).")
    return Dataset(name, list(docs.values()), samples, {"path": str(path), "format": "musique"}).head(max_queries)


def _musique_records(path: Path):
    """The official release is JSONL; HippoRAG's sample is one JSON list: accept both."""
    from ragbench.data.loaders._io import iter_jsonl

    with path.open(encoding="utf-8") as fh:
        head = fh.read(64).lstrip()
    return iter_json_array(path) if head.startswith("[") else iter_jsonl(path)
