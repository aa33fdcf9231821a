"""Loaders for BEIR-format folders: ``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``.

Gold answers are read, when present, from a query's ``answers`` list, or from
``metadata.answers`` / ``metadata.answer`` (as in the shared HotpotQA/MuSiQue samples).
Malformed input raises :class:`DatasetError` naming the file and the first bad line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ragbench.data.dataset import Dataset
from ragbench.data.loaders._io import iter_jsonl
from ragbench.errors import DatasetError
from ragbench.tenancy import validate_tenant_id
from ragbench.types import Document, Sample


def _read_jsonl(path: Path, required: tuple[str, ...]) -> Iterator[dict]:
    for lineno, record in iter_jsonl(path):
        missing = [key for key in required if key not in record]
        if missing:
            raise DatasetError(f"{path}:{lineno}: missing field(s) {missing}; required: {list(required)}.")
        yield record


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """Read a BEIR qrels TSV (header ``query-id corpus-id score``) into ``{qid: {doc_id: grade}}``."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.rstrip("\n\r").split("\t")
            if lineno == 1 and parts[0] == "query-id":
                continue
            if not line.strip():
                continue
            if len(parts) != 3:
                raise DatasetError(
                    f"{path}:{lineno}: expected 3 tab-separated fields (query-id, corpus-id, score), got {len(parts)}."
                )
            try:
                grade = int(float(parts[2]))
            except ValueError as exc:
                raise DatasetError(f"{path}:{lineno}: score {parts[2]!r} is not a number.") from exc
            qrels.setdefault(parts[0], {})[parts[1]] = grade
    return qrels


def _answers(record: dict) -> tuple[str, ...]:
    meta = record.get("metadata") or {}
    raw = record.get("answers", meta.get("answers", meta.get("answer")))
    if raw is None:
        return ()
    raw = [raw] if isinstance(raw, str) else list(raw)
    return tuple(str(a) for a in raw if str(a).strip())


def _check_folder(path: Path, split: str) -> Path:
    if not path.is_dir():
        raise DatasetError(
            f"Dataset folder {str(path)!r} does not exist. Point dataset.path at a BEIR folder "
            "(corpus.jsonl, queries.jsonl, qrels/<split>.tsv)."
        )
    qrels = path / "qrels" / f"{split}.tsv"
    for needed in (path / "corpus.jsonl", path / "queries.jsonl", qrels):
        if not needed.is_file():
            raise DatasetError(
                f"BEIR folder {str(path)!r} lacks {needed.relative_to(path)}: expected corpus.jsonl, queries.jsonl and qrels/{split}.tsv."
            )
    return qrels


def load_beir(
    path: str | Path,
    *,
    tenant: str,
    split: str = "test",
    name: str | None = None,
    language: str | None = None,
    max_queries: int | None = None,
) -> Dataset:
    """Load a BEIR folder for one tenant; only queries that have qrels in ``split`` are kept.

    Example:
        >>> ds = load_beir("../shared/data/beir_scifact", tenant="scifact")  # doctest: +SKIP
        >>> len(ds.samples)  # doctest: +SKIP
        210
    """
    tenant = validate_tenant_id(tenant)
    path = Path(path).expanduser()
    qrels = read_qrels(_check_folder(path, split))
    documents = [
        Document(
            id=str(r["_id"]),
            tenant=tenant,
            text=str(r["text"]),
            title=str(r.get("title") or ""),
            source=str(path / "corpus.jsonl"),
            language=language,
            metadata=r.get("metadata") or {},
        )
        for r in _read_jsonl(path / "corpus.jsonl", ("_id", "text"))
    ]
    doc_ids = {d.id for d in documents}
    samples = []
    for r in _read_jsonl(path / "queries.jsonl", ("_id", "text")):
        qid = str(r["_id"])
        if qid not in qrels:
            continue
        unknown = sorted(set(qrels[qid]) - doc_ids)
        if unknown:
            raise DatasetError(
                f"{path}/qrels/{split}.tsv: query {qid!r} refers to documents not in corpus.jsonl: {unknown[:5]}."
            )
        samples.append(
            Sample(
                id=qid,
                question=str(r["text"]),
                tenant=tenant,
                answers=_answers(r),
                relevant=qrels[qid],
                language=language,
                metadata=r.get("metadata") or {},
            )
        )
    if not samples:
        raise DatasetError(f"No query in {path}/queries.jsonl has qrels in qrels/{split}.tsv.")
    ds = Dataset(name or path.name, documents, samples, {"path": str(path), "split": split})
    return ds.head(max_queries)


def load_tenant_folders(
    path: str | Path,
    *,
    split: str = "test",
    name: str | None = None,
    language: str | None = None,
    max_queries_per_tenant: int | None = None,
) -> Dataset:
    """Load a folder whose sub-folders are BEIR folders, one per tenant (named by the sub-folder).

    Example:
        >>> ds = load_tenant_folders("datasets/demo")  # doctest: +SKIP
        >>> ds.tenants  # doctest: +SKIP
        ['acme-robotics', 'harbor-health']
    """
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DatasetError(f"Dataset folder {str(path)!r} does not exist: expected one BEIR sub-folder per tenant.")
    tenant_dirs = sorted(p for p in path.iterdir() if p.is_dir())
    if not tenant_dirs:
        raise DatasetError(f"Dataset folder {str(path)!r} has no tenant sub-folders.")
    documents: list[Document] = []
    samples: list[Sample] = []
    for tdir in tenant_dirs:
        part = load_beir(tdir, tenant=tdir.name, split=split, language=language, max_queries=max_queries_per_tenant)
        documents.extend(part.documents)
        samples.extend(part.samples)
    return Dataset(name or path.name, documents, samples, {"path": str(path), "split": split})
