"""The ragbench command line, run as a real subprocess on the demo data."""

import json
import os
import subprocess
import sys

import pytest


def ragbench(*args, home, check=True):
    env = {**os.environ, "RAGBENCH_HOME": str(home)}
    fast = [] if any(a.startswith("generator=") for a in args) else ["generator=extractive"]  # not about LLMs
    proc = subprocess.run(
        [sys.executable, "-m", "ragbench.cli", *args, *fast, "progress=false"]
        if args[0] in {"run", "ingest", "query"}
        else [sys.executable, "-m", "ragbench.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"ragbench {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli")
    out = ragbench("ingest", home=home).stdout
    assert (
        "acme-robotics: 35 documents" in out and "harbor-health" in out and "lastavica-logistika: 20 documents" in out
    )
    return home


def test_help_lists_commands_and_imports_nothing_heavy():
    proc = subprocess.run([sys.executable, "-m", "ragbench.cli", "--help"], capture_output=True, text=True, check=True)
    for cmd in ("run", "ingest", "query", "schema"):
        assert cmd in proc.stdout
    code = (
        "import sys, ragbench.cli; ragbench.cli.build_parser(); "
        "heavy = {'torch', 'lancedb', 'mlflow', 'sentence_transformers', 'FlagEmbedding', 'vllm', 'ragas', "
        "'hydra', 'panel', 'papermill', 'dspy', 'pandas', 'ray'}; print(sorted(heavy & set(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", f"ragbench.cli imports heavy modules at start-up: {loaded}"


def test_query_answers_from_the_tenant(home):
    proc = ragbench(
        "query", "--tenant", "acme-robotics", "--json", "How many vacation days do employees get?", home=home
    )
    response = json.loads(proc.stdout)
    assert response["tenant"] == "acme-robotics" and response["answer"]
    assert response["sources"] and all(s["doc_id"].startswith("acme-") for s in response["sources"])
    assert any(s["cited"] for s in response["sources"])
    assert response["timings"]["total_ms"] >= response["timings"]["retrieve_ms"] > 0


def test_query_in_croatian_reports_the_language_and_answers_from_croatian_sources(home):
    from ragbench.language import detect_languages

    proc = ragbench(
        "query", "--tenant", "lastavica-logistika", "--json", "Koliko se često moraju mijenjati lozinke?", home=home
    )
    response = json.loads(proc.stdout)
    assert response["detected_language"] == "hr"
    assert response["sources"][0]["doc_id"] == "lastavica-008"  # Lozinke i dvofaktorska prijava
    assert all(s["doc_id"].startswith("lastavica-") for s in response["sources"])
    assert set(detect_languages([s["text"] for s in response["sources"]])) == {"hr"}
    assert "svakih 120 dana" in response["answer"]
    plain = ragbench(
        "query", "--tenant", "acme-robotics", "How often do passwords have to be changed?", home=home
    ).stdout
    assert "question language: en" in plain and "acme-013" in plain  # Password and MFA Policy


def test_query_follow_up_with_history_searches_with_the_conversation(home, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(
        json.dumps(
            [{"question": "U kojoj se aplikaciji prijavljuju poslovni troškovi?", "answer": "U aplikaciji Račun+."}],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    out = ragbench(
        "query", "--tenant", "lastavica-logistika", "--history", str(history), "Do kada to moram napraviti?", home=home
    ).stdout.splitlines()
    assert out[1] == "searched for: U kojoj se aplikaciji prijavljuju poslovni troškovi? Do kada to moram napraviti?"
    assert "lastavica-005" in out[2] and "20 dana" in out[0]  # the expenses policy, found only with the conversation
    history.write_text('[{"question": "Q?"}]')
    bad = ragbench("query", "--tenant", "acme-robotics", "--history", str(history), "And?", home=home, check=False)
    assert bad.returncode == 2 and "turn 1 is {'question': 'Q?'}; expected a JSON list of" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_query_unknown_tenant_is_a_clear_error(home):
    proc = ragbench("query", "--tenant", "acme-robotic", "What?", home=home, check=False)
    assert proc.returncode == 2
    assert "Tenant 'acme-robotic' has no documents" in proc.stderr and "Did you mean: 'acme-robotics'" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("tenant", ["../x", "a'b", ""])
def test_query_invalid_tenant_is_a_clear_error(home, tenant):
    proc = ragbench("query", "--tenant", tenant, "What?", home=home, check=False)
    assert proc.returncode == 2 and "tenant" in proc.stderr.lower() and "Traceback" not in proc.stderr


def test_run_unknown_option_and_missing_dataset(home):
    proc = ragbench("run", "retriever=hybird", home=home, check=False)
    assert proc.returncode == 2 and "Did you mean: 'hybrid'" in proc.stderr
    proc = ragbench("run", "dataset=beir_scifact", "dataset.path=/no/such/dir", home=home, check=False)
    assert proc.returncode == 2 and "'/no/such/dir' does not exist" in proc.stderr


def test_run_prints_table_and_run_id(home):
    proc = ragbench("run", "retriever=bm25", "max_queries=10", home=home)
    assert "ALL" in proc.stdout and "MLflow run id:" in proc.stdout and "ndcg@10" in proc.stdout
