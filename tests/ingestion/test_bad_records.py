"""One bad record never sinks a job (real files, real LanceDB on disk, the real writer thread):
a JSONL record with a wrongly typed field, a line nested too deeply to parse, or a line of invalid
UTF-8 fails alone with its reason, and every other record is ingested and recorded."""

from __future__ import annotations

import io
import itertools
import json

import pytest

from ragbench.data.chunking import SentenceChunker
from ragbench.data.loaders._io import iter_jsonl as dataset_jsonl
from ragbench.errors import DatasetError
from ragbench.ingestion.ingest import ingest_items, ingest_path
from ragbench.ingestion.jobs import get_job
from ragbench.ingestion.loaders import Item, Parsed, iter_path, iter_stream
from ragbench.stores.lancedb import LanceDBStore

CHUNKER = SentenceChunker(max_words=50)
GOOD = [
    json.dumps({"id": f"ok{i}", "text": f"Record {i} is about harbour number {i}.", "language": "en"})
    for i in range(19)
]
BAD = {  # key suffix -> (line, what its reason must say)
    "lang5": (
        json.dumps({"id": "lang5", "text": "Bad language.", "language": 5}),
        "field 'language' must be a language code",
    ),
    "title7": (
        json.dumps({"id": "title7", "text": "Bad title.", "title": 7}),
        "field 'title' must be a string or null, got int 7",
    ),
    "meta": (
        json.dumps({"id": "meta", "text": "Bad metadata.", "metadata": "x"}),
        "field 'metadata' must be an object",
    ),
    "langword": (
        json.dumps({"id": "langword", "text": "Bad code.", "language": "the english one"}),
        "field 'language' must be a language code",
    ),
    "text5": (json.dumps({"id": "text5", "text": 5}), "field 'text' must be a string"),
    "deep": ("[" * 200_000, "nested too deeply to parse"),
    "utf8": (b'{"id": "utf8", "text": "caf\xe9 au lait"}', "invalid UTF-8 at byte 27 of the line"),
}


def _jsonl_bytes() -> bytes:
    lines = []
    for good, (_, (bad, _)) in itertools.zip_longest(GOOD, BAD.items(), fillvalue=(None, (None, None))):
        for line in (good, bad):
            if line is not None:
                lines.append(line if isinstance(line, bytes) else line.encode())
    return b"\n".join(lines) + b"\n"


def _failures(store, tenant, job) -> dict[str, str]:
    return {d.key: d.error for d in get_job(store, tenant, job.job_id).documents if d.status == "failed"}


def test_bad_records_in_a_jsonl_file_fail_alone_and_the_rest_is_recorded(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_bytes(_jsonl_bytes())
    store = LanceDBStore(tmp_path / "store")
    job = ingest_path(path, tenant="acme", store=store, embedder=None, chunker=CHUNKER)
    assert (job.status, job.total, job.done, job.completed, job.failed) == ("completed", 26, 26, 19, 7)
    assert store.count("acme") == 19
    failures = _failures(store, "acme", job)
    for name, (_, expected) in BAD.items():
        if name in ("deep", "utf8"):  # no id could be read: the key is the line
            name = next(k for k, r in failures.items() if expected in r)
            assert "#line-" in name
            continue
        assert expected in failures[f"{path}#{name}"], failures[f"{path}#{name}"]
    assert all(f"{path}:" in reason for reason in failures.values())  # every reason names file and line
    hits = store.search_text("acme", "harbour number 7", k=3)
    assert hits and hits[0].doc_id == next(
        d.doc_id for d in get_job(store, "acme", job.job_id).documents if d.key.endswith("#ok7")
    )


def test_uploaded_jsonl_with_bad_lines_gives_per_line_outcomes(tmp_path):
    items = list(iter_stream(io.BytesIO(_jsonl_bytes()), name="upload:records.jsonl", content_type="application/jsonl"))
    assert len(items) == 26  # building the items raises nothing: each bad line is an item that fails
    store = LanceDBStore(tmp_path / "store")
    job = ingest_items(items, tenant="acme", store=store, embedder=None, chunker=CHUNKER)
    assert (job.status, job.completed, job.failed) == ("completed", 19, 7)
    reasons = " | ".join(_failures(store, "acme", job).values())
    assert "invalid UTF-8" in reasons and "nested too deeply" in reasons and "'language'" in reasons


def test_a_loader_that_yields_a_wrong_type_fails_that_item_not_the_job(tmp_path):
    (tmp_path / "a.txt").write_text("A fine document.", encoding="utf-8")
    odd = Item("custom#1", "custom", "text/plain", 3, reader=lambda: Parsed("Odd text.", language=5))
    store = LanceDBStore(tmp_path / "store")
    job = ingest_items(
        [*iter_path(tmp_path / "a.txt"), odd], tenant="acme", store=store, embedder=None, chunker=CHUNKER
    )
    assert (job.status, job.completed, job.failed) == ("completed", 1, 1)
    assert "field 'language' has the wrong type (int" in _failures(store, "acme", job)["custom#1"]


@pytest.mark.parametrize(
    "line, expected",
    [
        (b"[" * 200_000, "nested too deeply"),
        (b'{"_id": "x", "text": "caf\xe9"}', "invalid UTF-8 at byte 25"),
    ],
)
def test_dataset_files_name_the_bad_line_instead_of_a_traceback(tmp_path, line, expected):
    path = tmp_path / "corpus.jsonl"
    path.write_bytes(b'{"_id": "a", "text": "fine"}\n' + line + b"\n")
    with pytest.raises(DatasetError, match=f"corpus.jsonl:2: .*{expected}"):
        list(dataset_jsonl(path))
