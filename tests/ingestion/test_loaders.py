"""Loaders for every supported type, and the bad-input rules (R5) inside one real job."""

from __future__ import annotations

import io
import json

import pytest

from ragbench.data.chunking import SentenceChunker
from ragbench.errors import DatasetError
from ragbench.ingestion.ingest import ingest_path
from ragbench.ingestion.jobs import get_job
from ragbench.ingestion.loaders import iter_path, iter_stream
from ragbench.stores.lancedb import LanceDBStore
from ragbench.types import content_hash
from tests.support.ingestion import make_docx, make_pdf


def _load(path):
    (item,) = list(iter_path(path))
    return item.load("acme")


def test_each_format_gives_text_title_type_and_language(tmp_path):
    (tmp_path / "a.txt").write_text("Plain text about robots. It has two sentences.", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Handbook\n\nVacation is 25 days a year.", encoding="utf-8")
    (tmp_path / "c.html").write_text(
        "<html><head><title>Policy</title><style>p{}</style></head><body><p>Zagreb je glavni grad "
        "Hrvatske i najveći grad u državi.</p><script>var x=1;</script></body></html>",
        encoding="utf-8",
    )
    make_pdf(
        tmp_path / "d.pdf",
        "Die Katze schläft auf dem Sofa.\nDer Hund spielt im Garten.".encode("ascii", "replace").decode(),
        title="Tiere",
    )
    make_docx(tmp_path / "e.docx", ["Le chat dort sur le canapé.", "Le chien joue dans le jardin."], title="Animaux")
    docs = {p.name: _load(p) for p in sorted(tmp_path.iterdir())}
    assert docs["a.txt"].title == "a" and docs["a.txt"].language == "en"
    assert docs["a.txt"].metadata["content_type"] == "text/plain"
    assert docs["b.md"].title == "Handbook" and "25 days" in docs["b.md"].text
    assert docs["c.html"].title == "Policy" and docs["c.html"].text.startswith("Zagreb je glavni grad")
    assert "var x" not in docs["c.html"].text and docs["c.html"].language == "hr"
    assert docs["d.pdf"].title == "Tiere" and docs["d.pdf"].language == "de"
    assert docs["d.pdf"].metadata["pages"] == 1
    assert docs["e.docx"].text == "Le chat dort sur le canapé.\nLe chien joue dans le jardin."
    assert docs["e.docx"].title == "Animaux" and docs["e.docx"].language == "fr"
    a = docs["a.txt"]
    assert a.id == content_hash(str(tmp_path / "a.txt"), a.text)
    assert a.metadata["size"] == (tmp_path / "a.txt").stat().st_size


def test_jsonl_records_and_streams(tmp_path):
    records = [
        {"id": "r1", "text": "First record.", "title": "One", "language": "sr", "metadata": {"x": 1}},
        {"_id": 7, "content": "Second record."},
        {"text": "No id here."},
    ]
    path = tmp_path / "recs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n\n", encoding="utf-8")
    items = list(iter_path(path))
    assert [i.key for i in items] == [f"{path}#r1", f"{path}#7", f"{path}#line-3"]
    first = items[0].load("acme")
    assert (first.title, first.language, first.metadata["x"], first.metadata["record_id"]) == ("One", "sr", 1, "r1")
    (item,) = list(iter_stream(io.BytesIO(b"Streamed text body."), name="upload-1"))
    assert item.load("acme").text == "Streamed text body."
    items = list(iter_stream(io.BytesIO(path.read_bytes()), name="s", content_type="application/jsonl"))
    assert [i.key for i in items] == ["s#r1", "s#7", "s#line-3"]


def test_bad_inputs_fail_with_reasons_and_the_rest_completes(tmp_path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "good.txt").write_text("A good document. It is fine.", encoding="utf-8")
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "blank.md").write_text("  \n\t\n", encoding="utf-8")
    (corpus / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (corpus / "latin2.txt").write_bytes("Čakovec je grad.".encode("cp1250"))
    with (corpus / "huge.txt").open("wb") as fh:  # 50 MB: over the 20 MiB default limit
        fh.write(b"word " * (10 * 1024 * 1024))
    (corpus / "mixed.jsonl").write_text(
        '{"id": "ok", "text": "Valid record."}\n{"id": "bad", "text": \n[1, 2]\n{"id": "notext", "body": "x"}\n',
        encoding="utf-8",
    )
    (corpus / "image.png").write_bytes(b"\x89PNG")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    store = LanceDBStore(tmp_path / "store")
    job = ingest_path(corpus, tenant="acme", store=store, embedder=None, chunker=SentenceChunker(max_words=50))
    status = {d.key.rsplit("/", 1)[-1]: d for d in get_job(store, "acme", job.job_id).documents}
    assert job.status == "completed" and job.total == job.done == 12
    assert {k for k, d in status.items() if d.status == "completed"} == {"good.txt", "mixed.jsonl#ok"}
    reasons = {k: d.error for k, d in status.items() if d.status == "failed"}
    assert "no text" in reasons["empty.txt"] and "no text" in reasons["blank.md"]
    assert "binary" in reasons["binary.txt"]
    assert "invalid UTF-8 at byte 0" in reasons["latin2.txt"] and "iconv" in reasons["latin2.txt"]
    assert "50.0 MiB is over the 20 MiB limit" in reasons["huge.txt"]
    assert "not valid JSON" in reasons["mixed.jsonl#line-2"]
    assert "expected a JSON object, got list" in reasons["mixed.jsonl#line-3"]
    assert "'text'" in reasons["mixed.jsonl#notext"]
    assert "unsupported extension '.png'" in reasons["image.png"] and ".docx" in reasons["image.png"]
    assert "not a readable PDF" in reasons["broken.pdf"]
    assert all(d.attempts == 1 for d in status.values() if d.status == "failed")  # input errors: no retries
    assert job.failed == 10 and store.count("acme") == 2


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        list(iter_path(tmp_path / "nope"))
