"""A full disk (ENOSPC) and a read-only home, for real: `ragbench ingest` and `ragbench run` print
one clear line (what failed, where, what to do), exit 2, never a traceback, and a re-run after
freeing space gives exactly the expected rows.

The faults are real file systems, not patched calls: each scenario runs in its own user and mount
namespace (``unshare --user --map-root-user --mount``, which needs no root where unprivileged user
namespaces are enabled) on a small tmpfs that fills up, or on a read-only bind mount. The mounts
vanish with the namespace; the home is copied out for the checks. Where namespaces are unavailable
the tests are skipped, saying why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]

UNSHARE = ["unshare", "--user", "--map-root-user", "--mount"]
CLI = f"{sys.executable} -m ragbench.cli"
LEXICAL = "generator=extractive retriever=bm25 progress=false"
# lance / MLflow log lines, and the run's own "GPU metrics: on|off (...)" status line (issue 20)
LOG_LINE = re.compile(r"^\[\S+ +(WARN|INFO)|^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (INFO|WARNING) |^GPU metrics: (on|off) \(")


def _namespaces_work(tmp: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run([*UNSHARE, "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {tmp}"], capture_output=True)
    return probe.returncode == 0


@pytest.fixture
def namespace(tmp_path):
    """Run a bash script in a fresh user+mount namespace; returns its CompletedProcess."""
    probe = tmp_path / "probe"
    probe.mkdir()
    if not _namespaces_work(probe):
        pytest.skip(
            "needs `unshare --user --map-root-user --mount` (unprivileged user namespaces) to mount a "
            "small tmpfs or a read-only bind for real disk faults"
        )

    def run(script: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*UNSHARE, "bash", "-c", "set -u\n" + script],
            capture_output=True,
            text=True,
            timeout=900,
            env=dict(os.environ),
        )

    return run


def _read(out: Path, name: str) -> str:
    return (out / name).read_text()


def _one_error_line(stderr: str) -> str:
    """The stderr of a failed command: one ``error:`` line and nothing else but library log lines."""
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip() and not LOG_LINE.match(line)]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def _docs(root: Path, n: int = 60) -> Path:
    """``n`` documents of ~8 KB of incompressible text each."""
    root.mkdir()
    for i in range(n):
        (root / f"d{i:02d}.txt").write_text(f"Document {i} is about harbour office {i}. " + os.urandom(6000).hex())
    return root


def test_disk_full_during_ingest_is_one_line_and_a_rerun_gives_exactly_the_rows(tmp_path, namespace):
    docs, out, home = _docs(tmp_path / "docs"), tmp_path / "out", tmp_path / "home"
    out.mkdir()
    home.mkdir()
    cmd = f"{CLI} ingest --tenant acme --path {docs} {LEXICAL} home={home} index_batch_size=10"
    proc = namespace(f"""
        mount -t tmpfs -o size=3m tmpfs {home}
        head -c 2300k /dev/zero > {home}/filler        # about 770 KB left: the job fills the disk mid-way
        {cmd} > {out}/out1 2> {out}/err1; echo $? > {out}/rc1
        rm {home}/filler                                  # free the space
        {cmd} > {out}/out2 2> {out}/err2; echo $? > {out}/rc2
        cp -a {home}/. {out}/home/
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    error = _one_error_line(_read(out, "err1"))
    print(f"\nfull disk: rc {_read(out, 'rc1').strip()}; {error}\nre-run: {_read(out, 'out2').strip()}")
    assert _read(out, "rc1").strip() == "2"
    assert (
        f"could not write to {home}/lancedb: no space left on the disk" in error
        and "run the same command again" in error
    )
    assert _read(out, "rc2").strip() == "0", _read(out, "err2")[-2000:]

    from ragbench.ingestion.jobs import list_jobs
    from ragbench.ingestion.loaders import iter_path
    from ragbench.stores.lancedb import LanceDBStore

    store = LanceDBStore(out / "home" / "lancedb")
    expected = {item.load("acme", language=None).id + "#0" for item in iter_path(docs)}
    chunk_ids = store.tenant_db("acme").open_table(store.table_name).to_arrow().column("chunk_id").to_pylist()
    assert len(chunk_ids) == 60 and set(chunk_ids) == expected  # exactly the rows, none twice
    second, first = list_jobs(store, "acme")
    assert first.status == "failed" and first.completed < 60 and second.status == "completed"
    assert second.completed + second.skipped == 60 and second.skipped == first.completed  # nothing done twice


def test_disk_full_during_run_is_one_line_and_a_rerun_finishes(tmp_path, namespace):
    out, home = tmp_path / "out", tmp_path / "home"
    out.mkdir()
    home.mkdir()
    run = f"{CLI} run {LEXICAL} home={home}"
    proc = namespace(f"""
        mount -t tmpfs -o size=16m tmpfs {home}
        {run} max_queries=5 > {out}/out0 2> {out}/err0; echo $? > {out}/rc0   # a first run, with space
        cat /dev/zero > {home}/filler 2>/dev/null                            # the disk is now full
        {run} max_queries=8 > {out}/out1 2> {out}/err1; echo $? > {out}/rc1
        rm {home}/filler
        {run} max_queries=8 > {out}/out2 2> {out}/err2; echo $? > {out}/rc2
        cp -a {home}/. {out}/home/
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _read(out, "rc0").strip() == "0", _read(out, "err0")[-2000:]
    error = _one_error_line(_read(out, "err1"))
    print(f"\nfull disk: {error}")
    assert _read(out, "rc1").strip() == "2" and f"ragbench run could not write to {home}" in error
    assert "no space left on the disk" in error
    assert _read(out, "rc2").strip() == "0", _read(out, "err2")[-2000:]

    from mlflow.tracking import MlflowClient

    from ragbench.stores.lancedb import LanceDBStore

    client = MlflowClient(tracking_uri=f"sqlite:///{out / 'home' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("ragbench").experiment_id])
    assert "RUNNING" not in {r.info.status for r in runs}
    finished = [r for r in runs if r.info.status == "FINISHED"]
    assert sorted(r.data.metrics["counts/questions"] for r in finished) == [5, 8]
    rerun = next(r for r in finished if r.data.metrics["counts/questions"] == 8)
    assert (out / "home" / "runs" / rerun.info.run_id / "results.jsonl").read_text().count("\n") == 8
    store = LanceDBStore(out / "home" / "lancedb")
    for tenant in ("acme-robotics", "harbor-health"):
        ids = store.tenant_db(tenant).open_table(store.table_name).to_arrow().column("chunk_id").to_pylist()
        assert len(ids) == len(set(ids)) == 35


def test_read_only_home_is_one_line_for_ingest_and_run(tmp_path, namespace):
    docs, out, home = _docs(tmp_path / "docs", 3), tmp_path / "out", tmp_path / "home"
    out.mkdir()
    home.mkdir()
    proc = namespace(f"""
        {CLI} run {LEXICAL} max_queries=2 home={home} > {out}/out0 2> {out}/err0; echo $? > {out}/rc0
        mount --bind {home} {home} && mount -o remount,ro,bind {home}
        {CLI} ingest --tenant acme --path {docs} {LEXICAL} home={home} > {out}/out1 2> {out}/err1; echo $? > {out}/rc1
        {CLI} run {LEXICAL} max_queries=3 home={home} > {out}/out2 2> {out}/err2; echo $? > {out}/rc2
    """)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _read(out, "rc0").strip() == "0", _read(out, "err0")[-2000:]
    for n, command in (("1", "ingest"), ("2", "run")):
        error = _one_error_line(_read(out, f"err{n}"))
        print(f"\nread-only home, {command}: {error}")
        assert _read(out, f"rc{n}").strip() == "2"
        assert re.search(rf"could not write to {re.escape(str(home))}\S*: the file system is read-only", error), error
        assert "Set home= (or RAGBENCH_HOME) to a writable folder" in error
