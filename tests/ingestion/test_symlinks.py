"""Folder ingestion does not follow symbolic links out of the folder (real files, real links, real
LanceDB on disk, and the real `ragbench ingest` command): ``leak.txt -> /etc/passwd`` and links to
files or folders outside fail with a reason and nothing of theirs is searchable; links inside the
folder are skipped (their targets are ingested under their own paths, once)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ragbench.data.chunking import SentenceChunker
from ragbench.ingestion.ingest import ingest_path
from ragbench.ingestion.jobs import get_job
from ragbench.ingestion.loaders import count_items
from ragbench.stores.lancedb import LanceDBStore


def _tree(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Zebrafinch payroll figures are confidential.", encoding="utf-8")
    corpus = tmp_path / "docs"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "good.txt").write_text("The harbour office opens at nine.", encoding="utf-8")
    (corpus / "sub" / "inside.txt").write_text("Staff get twenty five days of leave.", encoding="utf-8")
    (corpus / "leak.txt").symlink_to("/etc/passwd")
    (corpus / "secret-link.txt").symlink_to(outside / "secret.txt")
    (corpus / "relative-out.md").symlink_to(Path("..") / "outside" / "secret.txt")
    (corpus / "outdir").symlink_to(outside, target_is_directory=True)
    (corpus / "dangling.txt").symlink_to(tmp_path / "nope.txt")
    (corpus / "alias.txt").symlink_to(corpus / "sub" / "inside.txt")  # inside: skipped, target ingested once
    (corpus / "subdir-link").symlink_to(corpus / "sub", target_is_directory=True)
    return corpus


def test_links_out_of_the_folder_are_not_followed(tmp_path):
    corpus, store = _tree(tmp_path), LanceDBStore(tmp_path / "store")
    job = ingest_path(corpus, tenant="acme", store=store, embedder=None, chunker=SentenceChunker(max_words=50))
    docs = {Path(d.key).name: d for d in get_job(store, "acme", job.job_id).documents}
    assert {k for k, d in docs.items() if d.status == "completed"} == {"good.txt", "inside.txt"}
    refused = {k: d.error for k, d in docs.items() if d.status == "failed"}
    assert set(refused) == {"leak.txt", "secret-link.txt", "relative-out.md", "outdir", "dangling.txt"}
    assert all("outside" in r and "not followed" in r for r in refused.values()), refused
    assert "symbolic link to /etc/passwd" in refused["leak.txt"]
    assert job.total == count_items(corpus) == job.done == 7 and job.status == "completed"
    assert store.count("acme") == 2
    for probe in ("root", "Zebrafinch payroll", "nologin"):
        assert all("payroll" not in h.text and "root:" not in h.text for h in store.search_text("acme", probe, k=5))


def test_ragbench_ingest_reports_the_refused_link(tmp_path):
    corpus = _tree(tmp_path)
    home = tmp_path / "home"
    cmd = [
        sys.executable,
        "-m",
        "ragbench.cli",
        "ingest",
        "--tenant",
        "acme",
        "--path",
        str(corpus),
        "generator=extractive",
        f"home={home}",
        "progress=false",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "2 ingested" in proc.stdout and "5 failed" in proc.stdout
    assert f"failed {corpus / 'leak.txt'}: {corpus / 'leak.txt'}: symbolic link to /etc/passwd" in proc.stdout


def test_a_folder_that_cannot_be_listed_fails_alone(tmp_path):
    """The walk goes on past a folder it may not read (as a plain `rglob` did). Root reads anything, so as
    root the check runs in a user namespace without a uid mapping, where file permissions apply."""
    corpus = tmp_path / "docs"
    (corpus / "locked").mkdir(parents=True)
    (corpus / "locked" / "x.txt").write_text("Hidden by permissions.", encoding="utf-8")
    (corpus / "ok.txt").write_text("Readable text.", encoding="utf-8")
    prefix = []
    if os.geteuid() == 0:
        if shutil.which("unshare") is None or subprocess.run(["unshare", "--user", "true"]).returncode:
            pytest.skip("running as root needs `unshare --user` to drop the permission override")
        prefix = ["unshare", "--user"]
    code = (
        "from ragbench.ingestion.loaders import iter_path\n"
        "for i in iter_path('" + str(corpus) + "'):\n"
        "    try:\n        i.reader(); print('ok', i.key)\n"
        "    except Exception as e:\n        print('failed', i.key, e)\n"
    )
    (corpus / "locked").chmod(0)
    try:
        proc = subprocess.run(
            [*prefix, sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=dict(os.environ)
        )
    finally:
        (corpus / "locked").chmod(0o755)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines() == [
        f"failed {corpus / 'locked'}/ {corpus / 'locked'}: folder cannot be listed (Permission denied); its files "
        "were not ingested. Give this user read access to it.",
        f"ok {corpus / 'ok.txt'}",
    ]
