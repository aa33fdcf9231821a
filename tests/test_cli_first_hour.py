"""The first hour of a new user, on the CLI: honest numbers, quiet output, what to do next (issue 17)."""

import os
import subprocess
import sys

import pytest


def ragbench(*args, home, check=True):
    env = {k: v for k, v in os.environ.items() if k not in ("LANCEDB_LOG", "MLFLOW_CONFIGURE_LOGGING")}
    env["RAGBENCH_HOME"] = str(home)
    fast = [] if any(a.startswith("generator=") for a in args) else ["generator=extractive"]  # not about LLMs
    command = [sys.executable, "-m", "ragbench.cli", *args]
    if args[0] in {"run", "ingest", "query"}:
        command += [*fast, "progress=false"]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"ragbench {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


NOISE = ("WARN  lance", "INFO mlflow", "Loading weights")


@pytest.fixture(scope="module")
def dense_home(tmp_path_factory):
    """The demo indexed with MiniLM (the default retriever is hybrid), and the ingest's own output."""
    home = tmp_path_factory.mktemp("first-hour")
    return home, ragbench("ingest", home=home)


def test_ingest_is_quiet_and_counts_embedded_chunks(dense_home):
    _, proc = dense_home
    assert "acme-robotics: 35 documents, 35 chunks (35 indexed, 35 embedded; 0 unchanged;" in proc.stdout
    for noise in NOISE:  # the ingest printed ~120 lance WARN lines and a "Loading weights" bar
        assert noise not in proc.stdout + proc.stderr


def test_bm25_ingest_says_indexed_not_embedded(tmp_path):
    out = ragbench("ingest", "retriever=bm25", home=tmp_path).stdout
    assert "acme-robotics: 35 documents, 35 chunks (35 indexed, full-text only, none embedded;" in out
    assert "35 embedded" not in out


def test_ingest_of_a_missing_path_creates_nothing(tmp_path):
    proc = ragbench("ingest", "--tenant", "newco", "--path", str(tmp_path / "missing"), home=tmp_path, check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"error: Input path '{tmp_path / 'missing'}' does not exist; nothing was ingested and no tenant or job "
        "was created. Give an existing file or folder with --path."
    ]
    assert not list(tmp_path.rglob("newco")), "a stray tenant folder was created"


def test_query_reports_the_load_as_its_own_stage(dense_home):
    home, _ = dense_home
    out = ragbench("query", "--tenant", "acme-robotics", "How many vacation days?", home=home).stdout
    [timings] = [line for line in out.splitlines() if "retrieve" in line]
    assert timings.startswith("load ") and "ms (models and tables, once per process), then retrieve " in timings


def test_warm_up_loads_the_query_embedder_before_any_question_is_timed(dense_home):
    from ragbench.config import build, compose
    from ragbench.schema import QueryRequest

    home, _ = dense_home
    parts = build(compose([f"home={home}", "generator=extractive", "retriever=dense"]))
    assert parts.warm_up(["acme-robotics"]) > 0
    assert parts.embedder._model is not None and parts.embedder.forward_texts == 1  # loaded, one warm-up text
    parts.pipeline.ask(QueryRequest(question="How many vacation days?", tenant="acme-robotics"))
    assert parts.embedder.forward_texts == 2  # the question itself: no load inside the retrieve timer


def test_run_is_quiet_names_metrics_by_k_and_ends_with_what_to_do_next(dense_home):
    home, _ = dense_home
    proc = ragbench("run", "retriever=bm25", "k=5", "max_queries=4", home=home)
    out = proc.stdout
    assert "recall@5" in out and "ndcg@5" in out and "@10" not in out
    for noise in NOISE:
        assert noise not in out + proc.stderr
    *_, name_line, ui_line = out.strip().splitlines()
    assert name_line.startswith("run '") and "MLflow run id: " in name_line
    assert ui_line == f"see it in MLflow: mlflow ui --backend-store-uri sqlite:///{home}/mlflow.db"
    log = (home / "logs" / "ragbench.log").read_text()
    assert "mlflow" in log or "alembic" in log  # MLflow's INFO lines went to the log file


def test_verbose_restores_the_libraries_output(tmp_path):
    proc = ragbench("run", "-v", "retriever=bm25", "max_queries=2", home=tmp_path)
    assert "INFO mlflow.store.db.utils: Creating initial MLflow database tables" in proc.stderr  # a new MLflow db
    assert not (tmp_path / "logs" / "ragbench.log").exists()


VLLM_NOISE = (
    "(MainProcess pid=",  # every vLLM log line: "... INFO ... [default_loader.py:501] Loading weights took"
    "Loading weights took",
    "cpu_worker.py",  # "CPU backend doesn't allow to use `torch.set_num_threads` ..."
    "Engine 000: Avg prompt throughput",
    "Loading safetensors checkpoint shards",
    "FutureWarning",
    "Triton not available",
    "Warning: NUMA binding",
)


@pytest.mark.slow
@pytest.mark.integration
def test_run_with_the_in_process_vllm_engine_is_quiet(tmp_path, real_llm):
    """The default generator (SmolLM2 in-process vLLM) on 2 demo questions: vLLM's chatter goes to the log file."""
    proc = ragbench("run", "generator=vllm", "retriever=bm25", "max_queries=2", home=tmp_path)
    for noise in VLLM_NOISE:
        assert noise not in proc.stdout + proc.stderr, noise
    assert "ALL " in proc.stdout and "run 'demo" in proc.stdout  # the report itself is still there
    log = (tmp_path / "logs" / "ragbench.log").read_text()
    assert "vllm" in log and "Loading weights took" in log  # routed, not lost
