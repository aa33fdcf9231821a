"""Tenants API and CLI (`ragbench tenants ...`, `ragbench ingest --tenant --path`), TokenChunker."""

from __future__ import annotations

import json

import pytest

from ragbench.cli import main
from ragbench.data.chunking import TokenChunker
from ragbench.errors import ConfigError, TenantError, TenantNotFoundError
from ragbench.ingestion.ingest import ingest_path
from ragbench.ingestion.tenants import create_tenant, delete_tenant, describe_tenant, list_tenants, update_settings
from ragbench.stores.lancedb import LanceDBStore
from ragbench.types import Document


def test_tenant_lifecycle(tmp_path):
    store = LanceDBStore(tmp_path / "store")
    record = create_tenant(store, "acme", settings={"default_pipeline": "retriever=bm25"})
    assert record["settings"] == {"default_pipeline": "retriever=bm25"}
    with pytest.raises(TenantError, match="already exists"):
        create_tenant(store, "acme")
    with pytest.raises(TenantError, match="Invalid tenant id 'Bad Id'"):
        create_tenant(store, "Bad Id")
    assert update_settings(store, "acme", language="hr")["settings"] == {
        "default_pipeline": "retriever=bm25",
        "language": "hr",
    }
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("Zagreb je glavni grad Hrvatske. Ima mnogo muzeja.", encoding="utf-8")
    (tmp_path / "docs" / "b.txt").write_text("The harbour clinic opens at eight. Bring your card.", encoding="utf-8")
    (tmp_path / "docs" / "c.bin").write_bytes(b"\x00\x01")
    ingest_path(tmp_path / "docs", tenant="acme", store=store, embedder=None, chunker=TokenChunker(max_tokens=64))
    info = describe_tenant(store, "acme")
    assert info["documents"] == 2 and info["documents_by_status"] == {"completed": 2, "failed": 1}
    assert info["languages"] == {"hr": 1, "en": 1} and info["jobs"] == 1
    assert info["chunks"] == {store.table_name: 2} and info["settings"]["language"] == "hr"
    assert list_tenants(store) == ["acme"]
    delete_tenant(store, "acme")
    assert list_tenants(store) == []
    with pytest.raises(TenantNotFoundError, match="Tenant 'acme' does not exist.*ragbench tenants create acme"):
        describe_tenant(store, "acme")


def test_cli_tenants_and_ingest_path(tmp_path, capsys):
    home = f"home={tmp_path / 'home'}"
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Leave\n\nStaff get 25 days of leave.", encoding="utf-8")
    (tmp_path / "docs" / "bad.jsonl").write_text("{oops\n", encoding="utf-8")
    assert main(["tenants", "create", "acme", "--default-pipeline", "retriever=bm25", "--set", "owner=ops", home]) == 0
    assert json.loads(capsys.readouterr().out)["settings"] == {"default_pipeline": "retriever=bm25", "owner": "ops"}
    assert (
        main(["ingest", "--tenant", "acme", "--path", str(tmp_path / "docs"), home, "retriever=bm25", "progress=false"])
        == 0
    )
    out = capsys.readouterr().out
    assert "completed: 2/2 documents, 1 ingested, 0 unchanged, 1 failed" in out and "not valid JSON" in out
    assert main(["tenants", "list", home]) == 0 and capsys.readouterr().out.split() == ["acme"]
    assert main(["tenants", "describe", "acme", home]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["documents"] == 1 and info["recent_jobs"][0]["done"] == 2
    assert main(["tenants", "delete", "acme", home]) == 2  # needs --yes
    assert main(["tenants", "delete", "acme", "--yes", home]) == 0
    assert main(["tenants", "describe", "acme", home]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["ingest", "--tenant", "acme", home]) == 2
    assert "needs both --tenant and --path" in capsys.readouterr().err


def test_token_chunker_windows_overlap_and_spans():
    text = "Alpha beta, gamma delta. Epsilon zeta eta theta iota kappa."
    chunks = list(TokenChunker(max_tokens=5, overlap=2)([Document("d", "t", text, title="T", language="el")]))
    assert [c.text for c in chunks] == [
        "Alpha beta, gamma delta",
        "gamma delta. Epsilon zeta",
        "Epsilon zeta eta theta iota",
        "theta iota kappa.",
    ]
    assert [c.id for c in chunks] == ["d#0", "d#1", "d#2", "d#3"]
    assert all(c.text in text and c.language == "el" and c.doc_id == "d" for c in chunks)
    one = list(TokenChunker(max_tokens=100, overlap=10)([Document("d", "t", text)]))
    assert [c.text for c in one] == [text]
    hf = list(TokenChunker(max_tokens=4, overlap=0, tokenizer="packaged:all-MiniLM-L6-v2")([Document("d", "t", text)]))
    assert "".join(c.text for c in hf).replace(" ", "") == text.replace(" ", "")
    with pytest.raises(ConfigError, match="overlap < max_tokens"):
        TokenChunker(max_tokens=4, overlap=4)
