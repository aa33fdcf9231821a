"""Flat question files: FlashRAG JSONL, EXAMS multiple choice (Croatian/Serbian), local HF ``datasets`` folders."""

from __future__ import annotations

from pathlib import Path

from ragbench.data.dataset import Dataset
from ragbench.data.loaders._io import check_file, iter_jsonl, require_fields
from ragbench.errors import DatasetError
from ragbench.tenancy import validate_tenant_id
from ragbench.types import Document, Sample

EXAMS_LANGUAGES = {"Croatian": "hr", "Serbian": "sr", "Macedonian": "mk", "Bulgarian": "bg"}


def _flashrag_corpus(path: Path, tenant: str, language: str | None) -> list[Document]:
    docs = []
    for lineno, record in iter_jsonl(path):
        require_fields(path, lineno, record, {"id": (str, int), "contents": str})
        title, _, text = record["contents"].partition("\n")
        docs.append(
            Document(
                id=str(record["id"]),
                tenant=tenant,
                text=text if text else title,
                title=title.strip().strip('"') if text else "",
                source=str(path),
                language=language,
            )
        )
    return docs


def load_flashrag(
    path: str | Path,
    *,
    corpus: str | Path | None = None,
    tenant: str = "flashrag",
    name: str | None = None,
    language: str | None = "en",
    max_queries: int | None = None,
) -> Dataset:
    """Load a FlashRAG dataset JSONL (``id``, ``question``, ``golden_answers``) and optionally its corpus
    JSONL (``id``, ``contents`` = ``"Title"\\ntext``). FlashRAG gives no gold passages.

    Example:
        >>> ds = load_flashrag("../shared/data/flashrag_quickstart/nq/test.jsonl",
        ...                    corpus="../shared/data/flashrag_quickstart/corpus/sample_data.jsonl")  # doctest: +SKIP
        >>> len(ds.samples), len(ds.documents)  # doctest: +SKIP
        (17, 1000)
    """
    tenant = validate_tenant_id(tenant)
    path = check_file(path, "a FlashRAG dataset JSONL")
    samples = []
    for lineno, record in iter_jsonl(path):
        require_fields(path, lineno, record, {"id": (str, int), "question": str, "golden_answers": list})
        if not all(isinstance(a, str) for a in record["golden_answers"]):
            raise DatasetError(
                f"{path}:{lineno}: golden_answers must be a list of strings, got {record['golden_answers']!r}."
            )
        samples.append(
            Sample(
                id=str(record["id"]),
                question=record["question"],
                tenant=tenant,
                answers=tuple(record["golden_answers"]),
                language=language,
                metadata=record.get("metadata") or {},
            )
        )
    docs = _flashrag_corpus(check_file(corpus, "a FlashRAG corpus JSONL"), tenant, language) if corpus else []
    return Dataset(name or path.parent.name, docs, samples, {"path": str(path), "format": "flashrag"}).head(max_queries)


def _exams_question(path: Path, lineno: int, record: dict) -> tuple[str, list[dict], str]:
    require_fields(path, lineno, record, {"id": str, "question": dict, "answerKey": str})
    question = require_fields(path, lineno, record["question"], {"stem": str, "choices": list})
    choices = [require_fields(path, lineno, c, {"text": str, "label": str}) for c in question["choices"]]
    labels = [c["label"] for c in choices]
    if record["answerKey"] not in labels:
        raise DatasetError(f"{path}:{lineno}: answerKey {record['answerKey']!r} is not one of the choices {labels}.")
    return question["stem"], choices, record["answerKey"]


def format_choices(stem: str, choices: list[dict]) -> str:
    """The question as asked: the stem, then one ``A) text`` line per choice.

    Example:
        >>> format_choices("2+2?", [{"label": "A", "text": "4"}, {"label": "B", "text": "5"}])
        '2+2?\\nA) 4\\nB) 5'
    """
    return "\n".join([stem, *(f"{c['label']}) {c['text']}" for c in choices)])


def load_exams(
    path: str | Path,
    *,
    tenant: str | None = None,
    name: str | None = None,
    max_queries: int | None = None,
) -> Dataset:
    """Load EXAMS multiple-choice questions (ARC-style JSONL). Gold answers: the key's label and its text.

    Choice ``para`` passages (retrieved by the EXAMS authors, not gold) become documents
    ``<question id>/<label>``. The language comes from ``info.language`` (hr, sr, mk, bg);
    the tenant defaults to ``exams-<language>``.

    Example:
        >>> ds = load_exams("../shared/data/exams_south_slavic/with_paragraphs/dev_hr_with_para.jsonl")  # doctest: +SKIP
        >>> ds.samples[0].answers  # doctest: +SKIP
        ('B', 'tireotropni hormon')
    """
    path = check_file(path, "an EXAMS JSONL")
    samples, docs = [], []
    for lineno, record in iter_jsonl(path):
        stem, choices, key = _exams_question(path, lineno, record)
        lang_name = (record.get("info") or {}).get("language")
        language = EXAMS_LANGUAGES.get(lang_name, lang_name.lower()[:2] if isinstance(lang_name, str) else None)
        owner = validate_tenant_id(tenant or f"exams-{language or 'xx'}")
        gold = next(c["text"] for c in choices if c["label"] == key)
        samples.append(
            Sample(
                id=record["id"],
                question=format_choices(stem, choices),
                tenant=owner,
                answers=(key, gold),
                language=language,
                metadata={
                    "choices": [{"label": c["label"], "text": c["text"]} for c in choices],
                    "answer_key": key,
                    **(record.get("info") or {}),
                },
            )
        )
        docs += [
            Document(
                id=f"{record['id']}/{c['label']}",
                tenant=owner,
                text=c["para"],
                title=c["text"],
                source=str(path),
                language=language,
            )
            for c in choices
            if c.get("para")
        ]
    if not samples:
        raise DatasetError(f"{path}: no questions found.")
    return Dataset(name or path.stem, docs, samples, {"path": str(path), "format": "exams"}).head(max_queries)


def load_hf_folder(
    path: str | Path,
    *,
    tenant: str,
    split: str | None = None,
    question_field: str = "question",
    answers_field: str = "answers",
    id_field: str | None = "id",
    context_field: str | None = None,
    name: str | None = None,
    language: str | None = None,
    max_queries: int | None = None,
) -> Dataset:
    """Load a folder written by Hugging Face ``datasets`` (``save_to_disk``); fields are named by argument.

    ``answers_field`` may hold a string, a list of strings, or SQuAD's ``{"text": [...]}``.
    With ``context_field``, each row's context becomes a document ``<id>/ctx`` marked relevant.

    Example:
        >>> ds = load_hf_folder("data/my_qa", tenant="acme", split="test")  # doctest: +SKIP
    """
    from datasets import DatasetDict, load_from_disk

    tenant = validate_tenant_id(tenant)
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"HF datasets folder {str(folder)!r} does not exist (expected a `save_to_disk` folder).")
    data = load_from_disk(str(folder))
    if isinstance(data, DatasetDict):
        if split not in data:
            raise DatasetError(f"{folder}: split {split!r} not found; splits: {sorted(data)}. Set split=...")
        data = data[split]
    missing = [f for f in (question_field, answers_field, id_field, context_field) if f and f not in data.column_names]
    if missing:
        raise DatasetError(
            f"{folder}: column(s) {missing} not found; columns: {data.column_names}. Set the *_field arguments."
        )
    samples, docs = [], []
    for row_no, row in enumerate(data):
        qid = str(row[id_field]) if id_field else str(row_no)
        answers = _hf_answers(folder, row_no, row[answers_field])
        if not isinstance(row[question_field], str) or not row[question_field].strip():
            raise DatasetError(f"{folder}: row {row_no} (id {qid!r}): {question_field!r} is empty or not text.")
        relevant = {}
        if context_field and row[context_field]:
            docs.append(
                Document(
                    id=f"{qid}/ctx", tenant=tenant, text=str(row[context_field]), source=str(folder), language=language
                )
            )
            relevant = {f"{qid}/ctx": 1}
        samples.append(
            Sample(
                id=qid,
                question=row[question_field],
                tenant=tenant,
                answers=answers,
                relevant=relevant,
                language=language,
            )
        )
    return Dataset(name or folder.name, docs, samples, {"path": str(folder), "format": "hf"}).head(max_queries)


def _hf_answers(folder: Path, row_no: int, raw) -> tuple[str, ...]:
    if isinstance(raw, dict) and "text" in raw:
        raw = raw["text"]
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
        raise DatasetError(
            f"{folder}: row {row_no}: answers must be text, a list of text or {{'text': [...]}}; got {raw!r}."
        )
    return tuple(raw)
